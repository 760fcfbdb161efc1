"""NN_SOL_SOCKET and transport options: defaults, round trips, ranges and errnos
(nanomsg's option table; NN_LINGER defaults to 1000 ms and is read back as set)."""

from __future__ import annotations

import pytest

import nanopy

SOL = nanopy.NN_SOL_SOCKET


def _errno(fn, *args) -> int:
    with pytest.raises(nanopy.NNError) as info:
        fn(*args)
    return info.value.errno


@pytest.fixture
def fresh():
    """A PAIR socket with no option touched (the ``nn`` fixture sets timeouts)."""
    made = []

    def factory(protocol: int = nanopy.NN_PAIR, domain: int = nanopy.AF_SP) -> int:
        s = nanopy.nn_socket(domain, protocol)
        made.append(s)
        return s

    yield factory
    for s in made:
        try:
            nanopy.nn_setsockopt(s, SOL, nanopy.NN_LINGER, 0)
            nanopy.nn_close(s)
        except nanopy.NNError:
            pass


DEFAULTS = [
    ("NN_LINGER", 1000),
    ("NN_SNDBUF", 131072),
    ("NN_RCVBUF", 131072),
    ("NN_SNDTIMEO", -1),
    ("NN_RCVTIMEO", -1),
    ("NN_RECONNECT_IVL", 100),
    ("NN_RECONNECT_IVL_MAX", 0),
    ("NN_SNDPRIO", 8),
    ("NN_RCVPRIO", 8),
    ("NN_IPV4ONLY", 1),
    ("NN_RCVMAXSIZE", 1048576),
    ("NN_MAXTTL", 8),
]


@pytest.mark.parametrize("name,default", DEFAULTS, ids=[d[0] for d in DEFAULTS])
def test_sol_socket_option_default(fresh, name: str, default: int) -> None:
    s = fresh()
    assert nanopy.nn_getsockopt(s, SOL, getattr(nanopy, name)) == default


ROUND_TRIPS = [
    ("NN_LINGER", [0, 1, 5000]),
    ("NN_SNDBUF", [1, 4096, 1 << 20]),
    ("NN_RCVBUF", [1, 200, 1 << 20]),
    ("NN_SNDTIMEO", [-1, 0, 100, 60000]),
    ("NN_RCVTIMEO", [-1, 0, 100, 60000]),
    ("NN_RECONNECT_IVL", [0, 50, 10000]),
    ("NN_RECONNECT_IVL_MAX", [0, 1000]),
    ("NN_SNDPRIO", [1, 16]),
    ("NN_RCVPRIO", [1, 16]),
    ("NN_IPV4ONLY", [0, 1]),
    ("NN_RCVMAXSIZE", [-1, 0, 4, 1 << 30]),
    ("NN_MAXTTL", [1, 255]),
]


@pytest.mark.parametrize("name,values", ROUND_TRIPS, ids=[r[0] for r in ROUND_TRIPS])
def test_sol_socket_option_round_trip(fresh, name: str, values: list[int]) -> None:
    s = fresh()
    opt = getattr(nanopy, name)
    for v in values:
        nanopy.nn_setsockopt(s, SOL, opt, v)
        assert nanopy.nn_getsockopt(s, SOL, opt) == v


OUT_OF_RANGE = [
    ("NN_SNDBUF", 0),
    ("NN_SNDBUF", -1),
    ("NN_RCVBUF", 0),
    ("NN_RCVBUF", -1),
    ("NN_RECONNECT_IVL", -1),
    ("NN_RECONNECT_IVL_MAX", -1),
    ("NN_SNDPRIO", 0),
    ("NN_SNDPRIO", 17),
    ("NN_RCVPRIO", 0),
    ("NN_RCVPRIO", 17),
    ("NN_IPV4ONLY", 2),
    ("NN_IPV4ONLY", -1),
    ("NN_RCVMAXSIZE", -2),
    ("NN_MAXTTL", 0),
    ("NN_MAXTTL", -1),
    ("NN_MAXTTL", 256),
]


@pytest.mark.parametrize("name,value", OUT_OF_RANGE, ids=[f"{n}={v}" for n, v in OUT_OF_RANGE])
def test_sol_socket_option_out_of_range_is_einval(fresh, name: str, value: int) -> None:
    s = fresh()
    opt = getattr(nanopy, name)
    before = nanopy.nn_getsockopt(s, SOL, opt)
    assert _errno(nanopy.nn_setsockopt, s, SOL, opt, value) == nanopy.EINVAL
    assert nanopy.nn_getsockopt(s, SOL, opt) == before


def test_int_option_with_bytes_value_is_einval(fresh) -> None:
    s = fresh()
    assert _errno(nanopy.nn_setsockopt, s, SOL, nanopy.NN_SNDBUF, b"abc") == nanopy.EINVAL


@pytest.mark.parametrize("name", ["NN_DOMAIN", "NN_PROTOCOL", "NN_SNDFD", "NN_RCVFD"])
def test_read_only_option_set_is_enoprotoopt(fresh, name: str) -> None:
    s = fresh()
    assert _errno(nanopy.nn_setsockopt, s, SOL, getattr(nanopy, name), 1) == nanopy.ENOPROTOOPT


def test_domain_and_protocol_read_back(fresh) -> None:
    s = fresh()
    assert nanopy.nn_getsockopt(s, SOL, nanopy.NN_DOMAIN) == nanopy.AF_SP
    assert nanopy.nn_getsockopt(s, SOL, nanopy.NN_PROTOCOL) == nanopy.NN_PAIR


def test_raw_domain_reads_back_af_sp_raw(fresh) -> None:
    s = fresh(nanopy.NN_PAIR, nanopy.AF_SP_RAW)
    assert nanopy.nn_getsockopt(s, SOL, nanopy.NN_DOMAIN) == nanopy.AF_SP_RAW


@pytest.mark.parametrize("option", [0, 18, 99, 1000])
def test_unknown_sol_socket_option_get_is_enoprotoopt(fresh, option: int) -> None:
    s = fresh()
    assert _errno(nanopy.nn_getsockopt, s, SOL, option) == nanopy.ENOPROTOOPT


@pytest.mark.parametrize("option", [0, 18, 99, 1000])
def test_unknown_sol_socket_option_set_is_enoprotoopt(fresh, option: int) -> None:
    s = fresh()
    assert _errno(nanopy.nn_setsockopt, s, SOL, option, 1) == nanopy.ENOPROTOOPT


def test_sndfd_and_rcvfd_are_fds_on_pair(fresh) -> None:
    s = fresh()
    snd = nanopy.nn_getsockopt(s, SOL, nanopy.NN_SNDFD)
    rcv = nanopy.nn_getsockopt(s, SOL, nanopy.NN_RCVFD)
    assert isinstance(snd, int) and snd >= 0
    assert isinstance(rcv, int) and rcv >= 0


@pytest.mark.parametrize("proto", ["NN_SUB", "NN_PULL"])
def test_sndfd_on_receive_only_socket_is_enoprotoopt(fresh, proto: str) -> None:
    s = fresh(getattr(nanopy, proto))
    assert _errno(nanopy.nn_getsockopt, s, SOL, nanopy.NN_SNDFD) == nanopy.ENOPROTOOPT


@pytest.mark.parametrize("proto", ["NN_PUB", "NN_PUSH"])
def test_rcvfd_on_send_only_socket_is_enoprotoopt(fresh, proto: str) -> None:
    s = fresh(getattr(nanopy, proto))
    assert _errno(nanopy.nn_getsockopt, s, SOL, nanopy.NN_RCVFD) == nanopy.ENOPROTOOPT


# ---- NN_SOCKET_NAME ------------------------------------------------------------------


def test_socket_name_default_is_decimal_id(fresh) -> None:
    s = fresh()
    assert nanopy.nn_getsockopt(s, SOL, nanopy.NN_SOCKET_NAME) == str(s)


def test_socket_name_round_trip_str(fresh) -> None:
    s = fresh()
    nanopy.nn_setsockopt(s, SOL, nanopy.NN_SOCKET_NAME, "my-socket")
    assert nanopy.nn_getsockopt(s, SOL, nanopy.NN_SOCKET_NAME) == "my-socket"


def test_socket_name_accepts_bytes(fresh) -> None:
    s = fresh()
    nanopy.nn_setsockopt(s, SOL, nanopy.NN_SOCKET_NAME, b"bytes-name")
    assert nanopy.nn_getsockopt(s, SOL, nanopy.NN_SOCKET_NAME) == "bytes-name"


def test_socket_name_of_63_bytes_is_accepted(fresh) -> None:
    s = fresh()
    nanopy.nn_setsockopt(s, SOL, nanopy.NN_SOCKET_NAME, "n" * 63)
    assert nanopy.nn_getsockopt(s, SOL, nanopy.NN_SOCKET_NAME) == "n" * 63


def test_socket_name_of_64_bytes_is_einval(fresh) -> None:
    s = fresh()
    assert _errno(nanopy.nn_setsockopt, s, SOL, nanopy.NN_SOCKET_NAME, "n" * 64) == nanopy.EINVAL
    assert nanopy.nn_getsockopt(s, SOL, nanopy.NN_SOCKET_NAME) == str(s)


# ---- transport level -----------------------------------------------------------------


def test_tcp_nodelay_default_is_zero(fresh) -> None:
    s = fresh()
    assert nanopy.nn_getsockopt(s, nanopy.NN_TCP, nanopy.NN_TCP_NODELAY) == 0


def test_tcp_nodelay_round_trip(fresh) -> None:
    s = fresh()
    nanopy.nn_setsockopt(s, nanopy.NN_TCP, nanopy.NN_TCP_NODELAY, 1)
    assert nanopy.nn_getsockopt(s, nanopy.NN_TCP, nanopy.NN_TCP_NODELAY) == 1
    nanopy.nn_setsockopt(s, nanopy.NN_TCP, nanopy.NN_TCP_NODELAY, 0)
    assert nanopy.nn_getsockopt(s, nanopy.NN_TCP, nanopy.NN_TCP_NODELAY) == 0


def test_tcp_nodelay_two_is_einval(fresh) -> None:
    s = fresh()
    err = _errno(nanopy.nn_setsockopt, s, nanopy.NN_TCP, nanopy.NN_TCP_NODELAY, 2)
    assert err == nanopy.EINVAL


def test_unknown_tcp_option_is_enoprotoopt(fresh) -> None:
    s = fresh()
    assert _errno(nanopy.nn_getsockopt, s, nanopy.NN_TCP, 99) == nanopy.ENOPROTOOPT


@pytest.mark.parametrize("op", ["get", "set"])
def test_inproc_level_has_no_options(fresh, op: str) -> None:
    s = fresh()
    if op == "get":
        err = _errno(nanopy.nn_getsockopt, s, nanopy.NN_INPROC, 1)
    else:
        err = _errno(nanopy.nn_setsockopt, s, nanopy.NN_INPROC, 1, 1)
    assert err == nanopy.ENOPROTOOPT


@pytest.mark.parametrize("level", [-5, -100])
def test_unknown_transport_level_is_enoprotoopt(fresh, level: int) -> None:
    s = fresh()
    assert _errno(nanopy.nn_getsockopt, s, level, 1) == nanopy.ENOPROTOOPT


# ---- protocol options on the wrong level ---------------------------------------------


def test_sub_subscribe_on_pair_is_enoprotoopt(fresh) -> None:
    s = fresh()
    err = _errno(nanopy.nn_setsockopt, s, nanopy.NN_SUB, nanopy.NN_SUB_SUBSCRIBE, b"")
    assert err == nanopy.ENOPROTOOPT


def test_req_resend_ivl_on_pair_is_enoprotoopt(fresh) -> None:
    s = fresh()
    err = _errno(nanopy.nn_getsockopt, s, nanopy.NN_REQ, nanopy.NN_REQ_RESEND_IVL)
    assert err == nanopy.ENOPROTOOPT


def test_surveyor_deadline_on_pair_is_enoprotoopt(fresh) -> None:
    s = fresh()
    err = _errno(nanopy.nn_setsockopt, s, nanopy.NN_SURVEYOR, nanopy.NN_SURVEYOR_DEADLINE, 10)
    assert err == nanopy.ENOPROTOOPT


def test_pair_protocol_level_has_no_options(fresh) -> None:
    s = fresh()
    assert _errno(nanopy.nn_getsockopt, s, nanopy.NN_PAIR, 1) == nanopy.ENOPROTOOPT


def test_req_level_on_sub_socket_is_enoprotoopt(fresh) -> None:
    s = fresh(nanopy.NN_SUB)
    err = _errno(nanopy.nn_setsockopt, s, nanopy.NN_REQ, nanopy.NN_REQ_RESEND_IVL, 100)
    assert err == nanopy.ENOPROTOOPT


def test_sub_subscribe_get_is_enoprotoopt(fresh) -> None:
    s = fresh(nanopy.NN_SUB)
    err = _errno(nanopy.nn_getsockopt, s, nanopy.NN_SUB, nanopy.NN_SUB_SUBSCRIBE)
    assert err == nanopy.ENOPROTOOPT


def test_options_on_closed_socket_are_ebadf(fresh) -> None:
    s = fresh()
    nanopy.nn_close(s)
    assert _errno(nanopy.nn_getsockopt, s, SOL, nanopy.NN_LINGER) == nanopy.EBADF
    assert _errno(nanopy.nn_setsockopt, s, SOL, nanopy.NN_LINGER, 0) == nanopy.EBADF
