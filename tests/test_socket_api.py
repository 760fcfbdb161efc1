"""nanopy.Socket, the Pythonic layer over the compiled socket type."""

from __future__ import annotations

import os
import select
import time
import types

import pytest
from conftest import free_tcp_port

import nanopy


def _url() -> str:
    return f"inproc://socket-api-{os.getpid()}-{time.monotonic_ns()}"


@pytest.fixture
def plain():
    """A nanopy.Socket with every option at its default (the ``sock`` fixture sets timeouts)."""
    made: list[nanopy.Socket] = []

    def factory(protocol: int = nanopy.PAIR, **kw) -> nanopy.Socket:
        s = nanopy.Socket(protocol, **kw)
        made.append(s)
        return s

    yield factory
    for s in made:
        if not s.closed:
            s.linger = 0
            s.close()


def _linked(sock) -> tuple[nanopy.Socket, nanopy.Socket]:
    url = _url()
    a = sock(nanopy.PAIR)
    b = sock(nanopy.PAIR)
    a.bind(url)
    b.connect(url)
    return a, b


# ---- names ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["PAIR", "PUB", "SUB", "REQ", "REP", "PUSH", "PULL", "SURVEYOR", "RESPONDENT", "BUS"]
)
def test_protocol_names_without_prefix(name: str) -> None:
    assert getattr(nanopy, name) == getattr(nanopy, f"NN_{name}")


# ---- option properties ---------------------------------------------------------------

DEFAULTS = [
    ("linger", 1000),
    ("send_buffer", 131072),
    ("recv_buffer", 131072),
    ("send_timeout", None),
    ("recv_timeout", None),
    ("reconnect_interval", 100),
    ("reconnect_interval_max", 0),
    ("send_priority", 8),
    ("recv_priority", 8),
    ("ipv4only", True),
    ("recv_max_size", 1048576),
    ("max_ttl", 8),
    ("tcp_nodelay", False),
]


@pytest.mark.parametrize("prop,default", DEFAULTS, ids=[d[0] for d in DEFAULTS])
def test_property_default(plain, prop: str, default) -> None:
    assert getattr(plain(), prop) == default


ROUND_TRIPS = [
    ("linger", 0),
    ("linger", 250),
    ("send_buffer", 4096),
    ("recv_buffer", 8192),
    ("send_timeout", 250),
    ("recv_timeout", 250),
    ("recv_timeout", 0),
    ("reconnect_interval", 50),
    ("reconnect_interval_max", 500),
    ("send_priority", 1),
    ("recv_priority", 16),
    ("ipv4only", False),
    ("recv_max_size", 4),
    ("max_ttl", 255),
    ("tcp_nodelay", True),
    ("name", "worker-1"),
]


@pytest.mark.parametrize("prop,value", ROUND_TRIPS, ids=[f"{p}={v}" for p, v in ROUND_TRIPS])
def test_property_round_trip(plain, prop: str, value) -> None:
    s = plain()
    setattr(s, prop, value)
    assert getattr(s, prop) == value


def test_property_matches_nn_getsockopt(plain) -> None:
    s = plain()
    s.recv_buffer = 4242
    assert nanopy.nn_getsockopt(s.id, nanopy.NN_SOL_SOCKET, nanopy.NN_RCVBUF) == 4242


@pytest.mark.parametrize("value", [None, -1])
def test_recv_timeout_forever(plain, value) -> None:
    s = plain(recv_timeout=100)
    s.recv_timeout = value
    assert s.recv_timeout in (None, -1)
    assert nanopy.nn_getsockopt(s.id, nanopy.NN_SOL_SOCKET, nanopy.NN_RCVTIMEO) == -1


@pytest.mark.parametrize("value", [None, -1])
def test_send_timeout_forever(plain, value) -> None:
    s = plain(send_timeout=100)
    s.send_timeout = value
    assert nanopy.nn_getsockopt(s.id, nanopy.NN_SOL_SOCKET, nanopy.NN_SNDTIMEO) == -1


def test_recv_max_size_unlimited(plain) -> None:
    s = plain()
    s.recv_max_size = -1
    assert nanopy.nn_getsockopt(s.id, nanopy.NN_SOL_SOCKET, nanopy.NN_RCVMAXSIZE) == -1


def test_name_default_is_socket_id(plain) -> None:
    s = plain()
    assert s.name == str(s.id)


@pytest.mark.parametrize("prop,value", [("send_priority", 0), ("recv_priority", 17),
                                        ("send_buffer", 0), ("max_ttl", 0),
                                        ("name", "x" * 64)])
def test_bad_property_value_is_einval(plain, prop: str, value) -> None:
    s = plain()
    with pytest.raises(nanopy.NNError) as info:
        setattr(s, prop, value)
    assert info.value.errno == nanopy.EINVAL


def test_options_as_constructor_keywords(plain) -> None:
    s = plain(recv_timeout=123, linger=0, send_priority=3)
    assert (s.recv_timeout, s.linger, s.send_priority) == (123, 0, 3)


def test_raw_socket_domain(plain) -> None:
    s = plain(nanopy.PAIR, raw=True)
    assert nanopy.nn_getsockopt(s.id, nanopy.NN_SOL_SOCKET, nanopy.NN_DOMAIN) == nanopy.AF_SP_RAW


def test_cooked_socket_domain(plain) -> None:
    s = plain(nanopy.PAIR)
    assert nanopy.nn_getsockopt(s.id, nanopy.NN_SOL_SOCKET, nanopy.NN_DOMAIN) == nanopy.AF_SP


def test_bad_protocol_is_einval() -> None:
    with pytest.raises(nanopy.NNError) as info:
        nanopy.Socket(9999)
    assert info.value.errno == nanopy.EINVAL


def test_recv_fd_and_send_fd_are_pollable(sock) -> None:
    a, b = _linked(sock)
    b.send(b"x")
    r, _, _ = select.select([a.recv_fd], [], [], 5)
    assert r == [a.recv_fd]
    r, _, _ = select.select([a.send_fd], [], [], 5)
    assert r == [a.send_fd]
    assert a.recv() == b"x"


# ---- endpoints -----------------------------------------------------------------------


def test_bind_returns_endpoint(sock) -> None:
    s = sock(nanopy.PAIR)
    url = _url()
    ep = s.bind(url)
    assert isinstance(ep, nanopy.Endpoint)
    assert ep.id == 1
    assert ep.address == url


def test_connect_returns_endpoint_with_next_id(sock) -> None:
    s = sock(nanopy.PAIR)
    s.bind(_url())
    url = f"tcp://127.0.0.1:{free_tcp_port()}"
    ep = s.connect(url)
    assert isinstance(ep, nanopy.Endpoint)
    assert (ep.id, ep.address) == (2, url)


def test_endpoint_shutdown_frees_bound_address(sock) -> None:
    url = _url()
    a = sock(nanopy.PAIR)
    ep = a.bind(url)
    ep.shutdown()
    b = sock(nanopy.PAIR)
    assert b.bind(url).id == 1


def test_endpoint_shutdown_disconnects_peer(sock) -> None:
    url = _url()
    a = sock(nanopy.PAIR, send_timeout=100)
    b = sock(nanopy.PAIR)
    b.bind(url)
    ep = a.connect(url)
    a.send(b"before")
    assert b.recv() == b"before"
    ep.shutdown()
    deadline = time.monotonic() + 5
    while nanopy.nn_get_statistic(a.id, nanopy.NN_STAT_CURRENT_CONNECTIONS):
        assert time.monotonic() < deadline
        time.sleep(0.005)
    with pytest.raises(nanopy.Timeout):
        a.send(b"after")


def test_bind_bad_address_raises_nnerror(sock) -> None:
    s = sock(nanopy.PAIR)
    with pytest.raises(nanopy.NNError) as info:
        s.bind("nope://x")
    assert info.value.errno == nanopy.EPROTONOSUPPORT


def test_bind_in_use_raises_address_in_use(sock) -> None:
    url = _url()
    sock(nanopy.PAIR).bind(url)
    with pytest.raises(nanopy.AddressInUse):
        sock(nanopy.PAIR).bind(url)


# ---- lifecycle -----------------------------------------------------------------------


def test_context_manager_closes_socket() -> None:
    with nanopy.Socket(nanopy.PAIR) as s:
        sid = s.id
        assert not s.closed
    assert s.closed
    with pytest.raises(nanopy.NNError) as info:
        nanopy.nn_getsockopt(sid, nanopy.NN_SOL_SOCKET, nanopy.NN_LINGER)
    assert info.value.errno == nanopy.EBADF


def test_context_manager_closes_on_exception() -> None:
    with pytest.raises(RuntimeError):
        with nanopy.Socket(nanopy.PAIR) as s:
            raise RuntimeError("boom")
    assert s.closed


def test_recv_on_closed_socket_is_ebadf() -> None:
    s = nanopy.Socket(nanopy.PAIR)
    s.close()
    with pytest.raises(nanopy.NNError) as info:
        s.recv()
    assert info.value.errno == nanopy.EBADF
    assert isinstance(info.value, nanopy.BadSocket)


def test_send_on_closed_socket_is_ebadf() -> None:
    s = nanopy.Socket(nanopy.PAIR)
    s.close()
    with pytest.raises(nanopy.NNError) as info:
        s.send(b"x")
    assert info.value.errno == nanopy.EBADF


def test_close_twice_is_harmless() -> None:
    s = nanopy.Socket(nanopy.PAIR)
    s.close()
    s.close()
    assert s.closed


def test_option_on_closed_socket_is_ebadf() -> None:
    s = nanopy.Socket(nanopy.PAIR)
    s.close()
    with pytest.raises(nanopy.NNError) as info:
        s.recv_timeout = 5
    assert info.value.errno == nanopy.EBADF


# ---- data path -----------------------------------------------------------------------


def test_send_returns_size_and_recv_returns_bytes(sock) -> None:
    a, b = _linked(sock)
    assert a.send(b"hello") == 5
    got = b.recv()
    assert type(got) is bytes and got == b"hello"


def test_send_accepts_bytes_like(sock) -> None:
    a, b = _linked(sock)
    a.send(bytearray(b"ba"))
    a.send(memoryview(b"mv"))
    assert (b.recv(), b.recv()) == (b"ba", b"mv")


def test_recv_nonblocking_on_empty_raises_again(sock) -> None:
    s = sock(nanopy.PAIR)
    with pytest.raises(nanopy.Again):
        s.recv(block=False)


def test_send_nonblocking_without_peer_raises_again(sock) -> None:
    s = sock(nanopy.PAIR)
    with pytest.raises(BlockingIOError):
        s.send(b"x", block=False)


def test_recv_timeout_raises_timeout(sock) -> None:
    s = sock(nanopy.PAIR, recv_timeout=50)
    with pytest.raises(TimeoutError):
        s.recv()


def test_recv_into_fills_buffer(sock) -> None:
    a, b = _linked(sock)
    a.send(b"ABC")
    buf = bytearray(8)
    assert b.recv_into(buf) == 3
    assert bytes(buf[:3]) == b"ABC"


def test_recv_into_truncates_and_returns_full_size(sock) -> None:
    a, b = _linked(sock)
    a.send(b"ABCDEFGH")
    buf = bytearray(3)
    assert b.recv_into(buf) == 8
    assert bytes(buf) == b"ABC"


def test_sendmsg_joins_parts(sock) -> None:
    a, b = _linked(sock)
    assert a.sendmsg([b"AB", b"CD", memoryview(b"EF")]) == 6
    assert b.recv() == b"ABCDEF"


def test_recvmsg_returns_body_and_empty_header(sock) -> None:
    a, b = _linked(sock)
    a.send(b"body")
    assert b.recvmsg() == (b"body", b"")


def test_raw_pair_carries_no_header(sock) -> None:
    url = _url()
    a = sock(nanopy.PAIR, raw=True)
    b = sock(nanopy.PAIR)
    a.bind(url)
    b.connect(url)
    b.send(b"x")
    assert a.recvmsg() == (b"x", b"")


def test_socket_interoperates_with_nn_functions(sock) -> None:
    a, b = _linked(sock)
    nanopy.nn_send(a.id, b"via nn")
    assert b.recv() == b"via nn"


def test_pub_sub_quick_start_over_tcp(sock) -> None:
    url = f"tcp://127.0.0.1:{free_tcp_port()}"
    pub = sock(nanopy.PUB)
    sub = sock(nanopy.SUB, recv_timeout=200)
    pub.bind(url)
    sub.connect(url)
    sub.subscribe(b"news.")
    deadline = time.monotonic() + 5
    while True:
        pub.send(b"weather.rain")
        pub.send(b"news.today")
        try:
            assert sub.recv() == b"news.today"
            break
        except nanopy.Timeout:
            assert time.monotonic() < deadline


def test_socket_cannot_be_copied_or_pickled() -> None:
    import copy
    import pickle

    with nanopy.Socket(nanopy.PAIR) as s:
        for attempt in (copy.copy, copy.deepcopy, pickle.dumps):
            with pytest.raises(TypeError):
                attempt(s)


def test_send_many_reports_a_partial_batch_instead_of_raising(sock) -> None:
    # Nobody connected: the first message waits for a peer and the timeout stops the batch
    # before anything went, which is an error; once a peer takes some and then stalls,
    # the count of those that went is returned.
    url = "inproc://partial-batch"
    pull = sock(nanopy.PULL, bind=url, recv_buffer=64)
    push = sock(nanopy.PUSH, connect=url, send_timeout=100)
    with pytest.raises(nanopy.Timeout):
        nanopy.send_many(sock(nanopy.PUSH, send_timeout=50).id, [b"x"])
    sent = push.send_many([b"m" * 40] * 10)
    assert 0 < sent < 10
    assert len(pull.recv_many(100)) == sent


# ---- the compiled socket type underneath ------------------------------------------------


@pytest.mark.parametrize(
    "method",
    ["send", "recv", "recv_msg", "recv_into", "sendmsg", "recvmsg", "send_many", "recv_many",
     "setsockopt", "getsockopt", "try_send", "try_recv"],
)
def test_data_methods_are_the_compiled_ones(method: str) -> None:
    """No Python wrapper between a user's call and the compiled method."""
    from nanopy import _core

    assert issubclass(nanopy.Socket, _core.Socket)
    assert getattr(nanopy.Socket, method) is getattr(_core.Socket, method)
    assert not isinstance(getattr(nanopy.Socket, method), types.FunctionType)


def test_try_send_and_try_recv_do_not_wait(sock) -> None:
    a, b = _linked(sock)
    assert b.try_recv() is None
    assert a.try_send(b"now") == 3
    deadline = time.monotonic() + 5
    got = None
    while got is None and time.monotonic() < deadline:
        got = b.try_recv()
    assert got == b"now"


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_socket_inherited_through_fork_is_ebadf_and_never_reaches_a_new_socket(sock) -> None:
    """The child's core forgets the parent's sockets and hands their ids out again; the
    inherited object must not reach the child's new socket that got the same id."""
    inherited = sock(nanopy.PAIR)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: report through the pipe, never return into pytest
        code = 1
        try:
            fresh = nanopy.Socket(nanopy.PAIR)
            same_id = fresh.id == inherited._s
            try:
                inherited.send(b"x", block=False)
                outcome = "sent"
            except nanopy.NNError as e:
                outcome = f"{e.errno}:{e.detail}"
            inherited.close()
            fresh_alive = not fresh.closed and fresh.getsockopt(
                nanopy.NN_SOL_SOCKET, nanopy.NN_PROTOCOL) == nanopy.PAIR
            fresh.close()
            os.write(w, f"{same_id}|{outcome}|{fresh_alive}".encode())
            code = 0
        finally:
            os._exit(code)
    os.close(w)
    _, status = os.waitpid(pid, 0)
    report = os.read(r, 1000).decode()
    os.close(r)
    assert os.WEXITSTATUS(status) == 0, report
    same_id, outcome, fresh_alive = report.split("|")
    assert outcome == f"{nanopy.EBADF}:socket created in parent process"
    assert fresh_alive == "True"
    assert inherited.getsockopt(nanopy.NN_SOL_SOCKET, nanopy.NN_PROTOCOL) == nanopy.PAIR


def test_socket_vs_nn_bench_script_runs() -> None:
    """bench/socket_vs_nn.py (the Socket vs nn_* comparison) keeps working; a tiny run."""
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parent.parent / "bench" / "socket_vs_nn.py"
    out = subprocess.run([sys.executable, str(script), "--runs", "1", "--count", "2000",
                          "--transports", "inproc,ipc"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    rows = [line.split() for line in out.stdout.splitlines()
            if line.startswith(("inproc ", "ipc "))]
    assert [r[0] for r in rows[-2:]] == ["inproc", "ipc"], out.stdout
    assert all(r[-1].endswith("x") for r in rows[-2:]), out.stdout
