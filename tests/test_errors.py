"""Every documented errno that applies without other protocols, the exception classes,
nn_errno(), nn_strerror(), and messages that name what was wrong."""

from __future__ import annotations

import errno as os_errno
import os
import subprocess
import sys
import threading

import pytest
from conftest import free_tcp_port

import nanopy

SOL = nanopy.NN_SOL_SOCKET


def _raises(errnum: int, fn, *args, **kw) -> nanopy.NNError:
    with pytest.raises(nanopy.NNError) as info:
        fn(*args, **kw)
    assert info.value.errno == errnum, (
        f"expected {nanopy.nn_strerror(errnum)}, got {info.value!r}"
    )
    return info.value


# ---- exception classes ---------------------------------------------------------------


def test_nnerror_is_oserror() -> None:
    assert issubclass(nanopy.NNError, OSError)


@pytest.mark.parametrize(
    "cls,builtin",
    [
        ("Timeout", TimeoutError),
        ("Again", BlockingIOError),
        ("ConnectionRefused", ConnectionRefusedError),
    ],
)
def test_error_subclass_is_also_the_builtin(cls: str, builtin: type) -> None:
    klass = getattr(nanopy, cls)
    assert issubclass(klass, nanopy.NNError)
    assert issubclass(klass, builtin)


@pytest.mark.parametrize("cls", ["StateError", "Terminated", "BadSocket", "AddressInUse"])
def test_error_subclass_is_nnerror(cls: str) -> None:
    assert issubclass(getattr(nanopy, cls), nanopy.NNError)


def test_eterm_and_efsm_values() -> None:
    assert nanopy.ETERM == 156384765
    assert nanopy.EFSM == 156384766


@pytest.mark.parametrize(
    "name",
    ["EBADF", "EINVAL", "EAGAIN", "ETIMEDOUT", "EADDRINUSE", "ENOPROTOOPT", "EMFILE",
     "ENOTSUP", "EAFNOSUPPORT", "EPROTONOSUPPORT", "ENODEV", "ENAMETOOLONG", "ECONNREFUSED"],
)
def test_os_errno_values_are_the_hosts(name: str) -> None:
    host = os_errno.EOPNOTSUPP if name == "ENOTSUP" else getattr(os_errno, name)
    assert getattr(nanopy, name) == host


def test_strerror_eterm() -> None:
    assert nanopy.nn_strerror(nanopy.ETERM) == "Nanomsg library was terminated"


def test_strerror_efsm() -> None:
    assert nanopy.nn_strerror(nanopy.EFSM) == "Operation cannot be performed in this state"


def test_strerror_os_code_is_host_strerror() -> None:
    assert nanopy.nn_strerror(nanopy.EINVAL) == os.strerror(os_errno.EINVAL)


def test_error_message_is_nn_strerror() -> None:
    err = _raises(nanopy.EBADF, nanopy.nn_recv, 100000)
    assert err.strerror == nanopy.nn_strerror(nanopy.EBADF)


def test_nn_errno_returns_last_error() -> None:
    _raises(nanopy.EAFNOSUPPORT, nanopy.nn_socket, 77, nanopy.NN_PAIR)
    assert nanopy.nn_errno() == nanopy.EAFNOSUPPORT
    _raises(nanopy.EBADF, nanopy.nn_close, 100000)
    assert nanopy.nn_errno() == nanopy.EBADF


def test_nn_errno_is_per_thread() -> None:
    _raises(nanopy.EBADF, nanopy.nn_close, 100000)

    def other() -> None:
        try:
            nanopy.nn_socket(77, nanopy.NN_PAIR)
        except nanopy.NNError:
            pass

    t = threading.Thread(target=other)
    t.start()
    t.join(5)
    assert nanopy.nn_errno() == nanopy.EBADF


# ---- EBADF ---------------------------------------------------------------------------


@pytest.mark.parametrize("sid", [-1, 100000, 511])
def test_never_opened_id_is_ebadf(sid: int) -> None:
    err = _raises(nanopy.EBADF, nanopy.nn_send, sid, b"x")
    assert isinstance(err, nanopy.BadSocket)


def _closed_pair() -> int:
    s = nanopy.nn_socket(nanopy.AF_SP, nanopy.NN_PAIR)
    nanopy.nn_close(s)
    return s


CLOSED_CALLS = {
    "close": lambda s: nanopy.nn_close(s),
    "send": lambda s: nanopy.nn_send(s, b"x", nanopy.NN_DONTWAIT),
    "recv": lambda s: nanopy.nn_recv(s, nanopy.NN_DONTWAIT),
    "recv_into": lambda s: nanopy.nn_recv_into(s, bytearray(4), nanopy.NN_DONTWAIT),
    "sendmsg": lambda s: nanopy.nn_sendmsg(s, [b"x"], None, nanopy.NN_DONTWAIT),
    "recvmsg": lambda s: nanopy.nn_recvmsg(s, nanopy.NN_DONTWAIT),
    "bind": lambda s: nanopy.nn_bind(s, "inproc://closed-bind"),
    "connect": lambda s: nanopy.nn_connect(s, "inproc://closed-connect"),
    "shutdown": lambda s: nanopy.nn_shutdown(s, 1),
    "getsockopt": lambda s: nanopy.nn_getsockopt(s, SOL, nanopy.NN_LINGER),
    "setsockopt": lambda s: nanopy.nn_setsockopt(s, SOL, nanopy.NN_LINGER, 0),
    "get_statistic": lambda s: nanopy.nn_get_statistic(s, nanopy.NN_STAT_MESSAGES_SENT),
    "poll": lambda s: nanopy.nn_poll([(s, nanopy.NN_POLLIN)], 0),
}


@pytest.mark.parametrize("call", list(CLOSED_CALLS))
def test_call_on_closed_socket_is_ebadf(call: str) -> None:
    s = _closed_pair()
    _raises(nanopy.EBADF, CLOSED_CALLS[call], s)


def test_closed_id_is_reused_by_next_socket() -> None:
    a = nanopy.nn_socket(nanopy.AF_SP, nanopy.NN_PAIR)
    b = nanopy.nn_socket(nanopy.AF_SP, nanopy.NN_PAIR)
    nanopy.nn_close(a)
    c = nanopy.nn_socket(nanopy.AF_SP, nanopy.NN_PAIR)
    try:
        assert c == a
    finally:
        nanopy.nn_close(b)
        nanopy.nn_close(c)


# ---- nn_socket argument errors -------------------------------------------------------


@pytest.mark.parametrize("domain", [0, 3, -1, 100])
def test_bad_domain_is_eafnosupport(domain: int) -> None:
    _raises(nanopy.EAFNOSUPPORT, nanopy.nn_socket, domain, nanopy.NN_PAIR)


@pytest.mark.parametrize("protocol", [0, 17, 34, 96, 9999, -1])
def test_bad_protocol_is_einval(protocol: int) -> None:
    _raises(nanopy.EINVAL, nanopy.nn_socket, nanopy.AF_SP, protocol)


@pytest.mark.parametrize("protocol", [0, 9999])
def test_bad_protocol_raw_is_einval(protocol: int) -> None:
    _raises(nanopy.EINVAL, nanopy.nn_socket, nanopy.AF_SP_RAW, protocol)


# ---- address errors ------------------------------------------------------------------


def test_eaddrinuse_on_second_bind(nn, addr) -> None:
    url = addr()
    a = nn(nanopy.NN_PAIR)
    b = nn(nanopy.NN_PAIR)
    nanopy.nn_bind(a, url)
    err = _raises(nanopy.EADDRINUSE, nanopy.nn_bind, b, url)
    assert isinstance(err, nanopy.AddressInUse)


def test_eaddrinuse_on_same_socket_second_bind(nn, addr) -> None:
    url = addr()
    a = nn(nanopy.NN_PAIR)
    nanopy.nn_bind(a, url)
    _raises(nanopy.EADDRINUSE, nanopy.nn_bind, a, url)


@pytest.mark.parametrize("url", ["foo://bar", "zmq://127.0.0.1:5555", "TCP://127.0.0.1:5555",
                                 "Inproc://x", "udp://127.0.0.1:5555"])
@pytest.mark.parametrize("op", ["bind", "connect"])
def test_unknown_scheme_is_eprotonosupport(nn, url: str, op: str) -> None:
    s = nn(nanopy.NN_PAIR)
    _raises(nanopy.EPROTONOSUPPORT, getattr(nanopy, f"nn_{op}"), s, url)


@pytest.mark.parametrize("url", ["inproc:x", "tcp:127.0.0.1:5555", "inproc:/x", "", "nothing"])
@pytest.mark.parametrize("op", ["bind", "connect"])
def test_address_without_scheme_separator_is_einval(nn, url: str, op: str) -> None:
    s = nn(nanopy.NN_PAIR)
    _raises(nanopy.EINVAL, getattr(nanopy, f"nn_{op}"), s, url)


def test_unknown_connect_interface_is_enodev(nn) -> None:
    s = nn(nanopy.NN_PAIR)
    _raises(nanopy.ENODEV, nanopy.nn_connect, s, "tcp://eth10000;127.0.0.1:5555")


def test_unknown_bind_interface_is_enodev(nn) -> None:
    s = nn(nanopy.NN_PAIR)
    _raises(nanopy.ENODEV, nanopy.nn_bind, s, f"tcp://eth10000:{free_tcp_port()}")


@pytest.mark.parametrize("op", ["bind", "connect"])
def test_address_of_128_chars_is_enametoolong(nn, op: str) -> None:
    s = nn(nanopy.NN_PAIR)
    url = "inproc://" + "a" * (128 - len("inproc://"))
    assert len(url) == 128
    _raises(nanopy.ENAMETOOLONG, getattr(nanopy, f"nn_{op}"), s, url)


def test_address_of_1000_chars_is_enametoolong(nn) -> None:
    s = nn(nanopy.NN_PAIR)
    _raises(nanopy.ENAMETOOLONG, nanopy.nn_connect, s, "tcp://" + "a" * 994)


def test_address_of_127_chars_is_accepted(nn) -> None:
    s = nn(nanopy.NN_PAIR)
    url = "inproc://" + "b" * (127 - len("inproc://"))
    assert nanopy.nn_bind(s, url) >= 1


def test_shutdown_unknown_endpoint_is_einval(nn) -> None:
    s = nn(nanopy.NN_PAIR)
    _raises(nanopy.EINVAL, nanopy.nn_shutdown, s, 42)


def test_shutdown_twice_is_einval(nn) -> None:
    s = nn(nanopy.NN_PAIR)
    eid = nanopy.nn_bind(s, "inproc://shutdown-twice")
    nanopy.nn_shutdown(s, eid)
    _raises(nanopy.EINVAL, nanopy.nn_shutdown, s, eid)


# ---- EAGAIN / ENOTSUP ----------------------------------------------------------------


def test_recv_dontwait_on_empty_pair_is_eagain(nn) -> None:
    s = nn(nanopy.NN_PAIR)
    err = _raises(nanopy.EAGAIN, nanopy.nn_recv, s, nanopy.NN_DONTWAIT)
    assert isinstance(err, nanopy.Again) and isinstance(err, BlockingIOError)


def test_send_dontwait_on_unconnected_pair_is_eagain(nn) -> None:
    s = nn(nanopy.NN_PAIR)
    err = _raises(nanopy.EAGAIN, nanopy.nn_send, s, b"x", nanopy.NN_DONTWAIT)
    assert isinstance(err, nanopy.Again)


@pytest.mark.parametrize("proto", ["NN_PULL", "NN_SUB"])
@pytest.mark.parametrize("domain", ["AF_SP", "AF_SP_RAW"])
def test_send_on_receive_only_socket_is_enotsup(nn, proto: str, domain: str) -> None:
    s = nn(getattr(nanopy, proto), getattr(nanopy, domain))
    _raises(nanopy.ENOTSUP, nanopy.nn_send, s, b"x", nanopy.NN_DONTWAIT)


@pytest.mark.parametrize("proto", ["NN_PUSH", "NN_PUB"])
@pytest.mark.parametrize("domain", ["AF_SP", "AF_SP_RAW"])
def test_recv_on_send_only_socket_is_enotsup(nn, proto: str, domain: str) -> None:
    s = nn(getattr(nanopy, proto), getattr(nanopy, domain))
    _raises(nanopy.ENOTSUP, nanopy.nn_recv, s, nanopy.NN_DONTWAIT)


# ---- EMFILE --------------------------------------------------------------------------


@pytest.mark.timeout(60)
def test_socket_table_full_is_emfile() -> None:
    opened: list[int] = []
    failure = None
    try:
        for _ in range(1000):
            try:
                opened.append(nanopy.nn_socket(nanopy.AF_SP, nanopy.NN_PAIR))
            except nanopy.NNError as exc:
                failure = exc
                break
    finally:
        for s in opened:
            nanopy.nn_close(s)
    assert failure is not None, "1000 PAIR sockets opened without EMFILE"
    assert failure.errno == nanopy.EMFILE


# Run in a fresh interpreter, where no other test holds (or is still closing) a socket, so
# the table's 512 slots are all free and the count at which EMFILE comes is exact.
_FILL_THE_TABLE = """
import nanopy
opened, err = [], None
for _ in range(1000):
    try:
        opened.append(nanopy.nn_socket(nanopy.AF_SP, nanopy.NN_PAIR))
    except nanopy.NNError as exc:
        err = exc.errno
        break
for s in opened:
    nanopy.nn_close(s)
s = nanopy.nn_socket(nanopy.AF_SP, nanopy.NN_PAIR)
nanopy.nn_close(s)
print(len(opened), err, s)
"""


@pytest.mark.timeout(60)
def test_sockets_usable_again_after_emfile() -> None:
    out = subprocess.run([sys.executable, "-c", _FILL_THE_TABLE], capture_output=True,
                         text=True, timeout=50)
    assert out.returncode == 0, out.stderr
    count, err, again = out.stdout.split()
    assert err == str(nanopy.EMFILE), f"opened {count} sockets, then errno {err}"
    assert int(count) == 512, f"EMFILE after {count} sockets, not at the 512-slot table's end"
    assert 0 <= int(again) < 512  # a socket opens again once the others are closed


# ---- out-of-C-range integers are bad arguments, not OverflowError ---------------------


def test_huge_protocol_number_is_einval() -> None:
    _raises(nanopy.EINVAL, nanopy.nn_socket, nanopy.AF_SP, 2**40)


def test_huge_domain_is_eafnosupport() -> None:
    _raises(nanopy.EAFNOSUPPORT, nanopy.nn_socket, 2**40, nanopy.NN_PAIR)


def test_huge_socket_id_is_ebadf() -> None:
    _raises(nanopy.EBADF, nanopy.nn_close, 2**40)


def test_huge_statistic_id_is_einval(nn) -> None:
    s = nn(nanopy.NN_PAIR)
    _raises(nanopy.EINVAL, nanopy.nn_get_statistic, s, 2**70)


@pytest.mark.parametrize("value", [2**31, 2**40, -(2**31) - 1])
def test_int_option_outside_c_int_is_einval(nn, value: int) -> None:
    s = nn(nanopy.NN_PAIR)
    _raises(nanopy.EINVAL, nanopy.nn_setsockopt, s, SOL, nanopy.NN_SNDBUF, value)


def test_address_with_nul_byte_is_einval(nn) -> None:
    s = nn(nanopy.NN_PAIR)
    _raises(nanopy.EINVAL, nanopy.nn_bind, s, "inproc://a\x00b")


def test_address_length_limit_counts_utf8_bytes(nn) -> None:
    s = nn(nanopy.NN_PAIR)
    url = "inproc://" + "\u00e9" * 60
    assert len(url) < 128 < len(url.encode())
    _raises(nanopy.ENAMETOOLONG, nanopy.nn_bind, s, url)


# ---- messages that say what was wrong (the errno stays nanomsg's) -------------------------


def _message(errnum: int, fn, *args, **kw) -> str:
    err = _raises(errnum, fn, *args, **kw)
    text = str(err)
    prefix = nanopy.nn_strerror(errnum)
    assert text == err.strerror
    assert text.startswith(prefix + ": "), text
    assert err.detail == text[len(prefix) + 2:]
    return text


def test_efsm_message_keeps_nanomsg_text_then_the_detail(sock) -> None:
    req = sock(nanopy.REQ)
    with pytest.raises(nanopy.StateError) as info:
        req.recv()
    assert info.value.errno == nanopy.EFSM
    assert str(info.value) == (
        "Operation cannot be performed in this state: recv() on REQ before send(): "
        "there is no request waiting for a reply"
    )


def test_efsm_message_on_the_nn_layer_too(nn) -> None:
    rep = nn(nanopy.NN_REP)
    text = _message(nanopy.EFSM, nanopy.nn_send, rep, b"x")
    assert text.endswith("send() on REP before recv(): there is no request to reply to")


def test_error_without_detail_is_nn_strerror_alone() -> None:
    err = _raises(nanopy.EBADF, nanopy.nn_recv, 100000)
    assert str(err) == nanopy.nn_strerror(nanopy.EBADF)
    assert err.detail is None


def test_nnerror_pickles_with_its_class_and_message() -> None:
    import pickle

    err = nanopy.StateError(nanopy.EFSM, "what went wrong")
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is type(err)
    assert (back.errno, str(back), back.detail) == (err.errno, str(err), err.detail)


@pytest.mark.parametrize(
    "address,errnum,reason",
    [
        ("tcp://127.0.0.1:99999", os_errno.EINVAL, "tcp://127.0.0.1:99999: port out of range"),
        ("tcp://127.0.0.1", os_errno.EINVAL, "tcp://127.0.0.1: missing port"),
        ("tcp://127.0.0.1:", os_errno.EINVAL, "tcp://127.0.0.1:: missing port"),
        ("tcp://127.0.0.1:http", os_errno.EINVAL, "port 'http' is not a number"),
        ("tcp://[::1]:5555", os_errno.ENODEV, "IPv6 address '[::1]' on a socket with ipv4only"),
        ("foo://bar", os_errno.EPROTONOSUPPORT, "foo://bar: unknown transport 'foo'"),
        ("nothing-here", os_errno.EINVAL, "nothing-here: no transport"),
        ("ipc:///tmp/" + "x" * 110, os_errno.ENAMETOOLONG, "longer than the 107"),
        ("tcp://127.0.0.1:" + "1" * 130, os_errno.ENAMETOOLONG, "longer than 127 bytes"),
        ("tcp://no-such-iface0:5555", os_errno.ENODEV, "no-such-iface0"),
        ("tcp://192.0.2.1:5555", os_errno.EADDRNOTAVAIL, "192.0.2.1:5555: address not available"),
    ],
)
def test_bad_bind_address_names_address_and_reason(sock, address: str, errnum: int,
                                                   reason: str) -> None:
    s = sock(nanopy.PAIR)
    text = _message(errnum, s.bind, address)
    assert reason in text, text


def test_address_in_use_names_the_address(sock) -> None:
    a, b = sock(nanopy.PAIR), sock(nanopy.PAIR)
    port = free_tcp_port()
    ep = a.bind(f"tcp://127.0.0.1:{port}")
    text = _message(nanopy.EADDRINUSE, b.bind, ep.address)
    assert f"tcp://127.0.0.1:{port}: address already in use" in text


def test_connect_with_bad_local_interface_names_it(nn) -> None:
    s = nn(nanopy.NN_PAIR)
    text = _message(nanopy.ENODEV, nanopy.nn_connect, s, "tcp://no-such-iface0;127.0.0.1:5555")
    assert "'no-such-iface0'" in text


def test_permission_denied_wording() -> None:
    """Binding a privileged port as a normal user: the message the core's EACCES gets (the
    test runner may be root, so the wording is checked on the message builder itself)."""
    from nanopy import _explain

    assert _explain.address_problem("tcp://*:80", os_errno.EACCES, True) == (
        "tcp://*:80: permission denied")


def test_recv_timeout_of_wrong_type_names_option_and_range(sock) -> None:
    s = sock(nanopy.PAIR)
    with pytest.raises(nanopy.NNError) as info:
        s.recv_timeout = "x"  # type: ignore[assignment]
    assert info.value.errno == nanopy.EINVAL
    assert info.value.detail == (
        "recv_timeout: expected an int number of milliseconds (-1 or None for forever), got str")
    assert s.recv_timeout == 5000  # unchanged


@pytest.mark.parametrize(
    "prop,value,wanted",
    [
        ("send_priority", 0,
         "send_priority: expected an int from 1 (highest priority) to 16, got 0"),
        ("recv_priority", 17, "recv_priority: expected an int from 1 (highest priority) to 16"),
        ("max_ttl", 256, "max_ttl: expected an int from 1 to 255, got 256"),
        ("send_buffer", 0, "send_buffer: expected an int number of bytes, 1 or more, got 0"),
        ("recv_max_size", -2, "recv_max_size: expected an int number of bytes (-1 for no limit)"),
        ("reconnect_interval", "soon", "reconnect_interval: expected an int number of "
                                       "milliseconds, 0 or more, got str"),
        ("linger", b"1", "linger: expected an int number of milliseconds"),
        ("name", "n" * 64, "name: expected a str of at most 63 bytes, got 64 bytes"),
    ],
)
def test_option_property_errors_name_option_and_range(sock, prop: str, value: object,
                                                      wanted: str) -> None:
    s = sock(nanopy.PAIR)
    with pytest.raises(nanopy.NNError) as info:
        setattr(s, prop, value)
    assert info.value.errno == nanopy.EINVAL
    assert wanted in str(info.value), str(info.value)


def test_nn_setsockopt_bad_value_names_the_nanomsg_option(nn) -> None:
    s = nn(nanopy.NN_PAIR)
    text = _message(nanopy.EINVAL, nanopy.nn_setsockopt, s, SOL, nanopy.NN_SNDPRIO, 99)
    assert "NN_SNDPRIO: expected an int from 1 (highest priority) to 16, got 99" in text
    text = _message(nanopy.EINVAL, nanopy.nn_setsockopt, s, SOL, nanopy.NN_RCVTIMEO, "x")
    assert "NN_RCVTIMEO: expected an int number of milliseconds (-1 for forever), got str" in text


def test_unknown_option_is_enoprotoopt_naming_it(nn) -> None:
    s = nn(nanopy.NN_PAIR)
    text = _message(nanopy.ENOPROTOOPT, nanopy.nn_setsockopt, s, SOL, 999, 1)
    assert "unknown option: option 999 at level NN_SOL_SOCKET" in text
    text = _message(nanopy.ENOPROTOOPT, nanopy.nn_getsockopt, s, 12345, 1)
    assert "option 1 at level 12345" in text


def test_option_of_another_protocol_names_both(sock) -> None:
    s = sock(nanopy.PAIR)
    text = _message(nanopy.ENOPROTOOPT, s.subscribe, b"topic")
    assert "NN_SUB_SUBSCRIBE applies to SUB sockets, this one is PAIR" in text


def test_read_only_and_write_only_options_say_so(nn) -> None:
    pair, sub = nn(nanopy.NN_PAIR), nn(nanopy.NN_SUB)
    text = _message(nanopy.ENOPROTOOPT, nanopy.nn_setsockopt, pair, SOL, nanopy.NN_RCVFD, 3)
    assert "NN_RCVFD is read-only" in text
    text = _message(nanopy.ENOPROTOOPT, nanopy.nn_getsockopt, sub, nanopy.NN_SUB,
                    nanopy.NN_SUB_SUBSCRIBE)
    assert "NN_SUB_SUBSCRIBE can be set but not read" in text
    text = _message(nanopy.ENOPROTOOPT, nanopy.nn_getsockopt, sub, SOL, nanopy.NN_SNDFD)
    assert "a SUB socket does not send" in text


def test_unknown_protocol_lists_the_protocols() -> None:
    with pytest.raises(nanopy.NNError) as info:
        nanopy.Socket(999)
    assert info.value.errno == nanopy.EINVAL
    text = str(info.value)
    assert text.startswith("Invalid argument: 999 is not a protocol; nanopy has PAIR (16), ")
    for number, name in nanopy.PROTOCOL_NAMES.items():
        assert f"{name} ({number})" in text


def test_unknown_domain_names_the_domains() -> None:
    text = _message(nanopy.EAFNOSUPPORT, nanopy.nn_socket, 77, nanopy.NN_PAIR)
    assert "domain 77: expected AF_SP (1) or AF_SP_RAW (2)" in text


def test_closed_socket_says_closed(sock) -> None:
    s = sock(nanopy.PAIR)
    s.close()
    text = _message(nanopy.EBADF, s.recv)
    assert text.endswith("socket is closed")
