"""Address grammar per transport (what each transport accepts and the errno it
raises otherwise; nanomsg's tests tcp.c, ipc.c)."""

from __future__ import annotations

import os
import socket as pysocket
import time

import pytest
from conftest import unclaimed_tcp_port, wait_connected

import nanopy

SOL = nanopy.NN_SOL_SOCKET


def _errno(fn, *args) -> int:
    with pytest.raises(nanopy.NNError) as info:
        fn(*args)
    return info.value.errno


def _exchange(a: int, b: int) -> None:
    nanopy.nn_send(b, b"ping")
    assert nanopy.nn_recv(a) == b"ping"
    nanopy.nn_send(a, b"pong")
    assert nanopy.nn_recv(b) == b"pong"


# ---- tcp: the invalid-address table of nanomsg's tests/tcp.c ------------------

CONNECT_EINVAL = [
    "tcp://*:",
    "tcp://*:1000000",
    "tcp://*:some_port",
    "tcp://127.0.0.1",
    "tcp://127.0.0.1:",
    "tcp://127.0.0.1:0",
    "tcp://127.0.0.1:65536",
    "tcp://127.0.0.1:-1",
    "tcp://127.0.0.1:12ab",
    "tcp://:5555",
    "tcp://-hostname:5555",
    "tcp://abc.123.---.#:5555",
    "tcp://[::1]:5555",
    "tcp://abc.123.:5555",
    "tcp://abc...123:5555",
    "tcp://.123:5555",
    "tcp://a..b:1",
    "tcp://.1:1",
    "tcp://" + "a" * 64 + ".com:5555",
]


@pytest.mark.parametrize("url", CONNECT_EINVAL)
def test_tcp_connect_invalid_address_is_einval(nn, url: str) -> None:
    s = nn(nanopy.NN_PAIR)
    assert _errno(nanopy.nn_connect, s, url) == nanopy.EINVAL


BIND_EINVAL = [
    "tcp://127.0.0.1:",
    "tcp://127.0.0.1:1000000",
    "tcp://127.0.0.1:65536",
    "tcp://127.0.0.1:abc",
    "tcp://127.0.0.1:-1",
    "tcp://127.0.0.1",
    "tcp://*:",
]


def test_tcp_bind_to_port_zero_takes_a_kernel_port_where_connect_is_einval(nn) -> None:
    # nanomsg refuses port 0 on both sides; nanopy binds it (the kernel picks the port) and
    # still refuses it on connect, where it can name no listener.
    s = nn(nanopy.NN_PAIR)
    eid = nanopy.nn_bind(s, "tcp://127.0.0.1:0")
    assert eid >= 1
    c = nn(nanopy.NN_PAIR)
    assert _errno(nanopy.nn_connect, c, "tcp://127.0.0.1:0") == nanopy.EINVAL


@pytest.mark.parametrize("url", BIND_EINVAL)
def test_tcp_bind_invalid_address_is_einval(nn, url: str) -> None:
    s = nn(nanopy.NN_PAIR)
    assert _errno(nanopy.nn_bind, s, url) == nanopy.EINVAL


@pytest.mark.parametrize("iface", ["eth10000", "localhost", "no-such-nic"])
def test_tcp_bind_non_literal_interface_is_enodev(nn, iface: str) -> None:
    s = nn(nanopy.NN_PAIR)
    assert _errno(nanopy.nn_bind, s, f"tcp://{iface}:{unclaimed_tcp_port()}") == nanopy.ENODEV


@pytest.mark.parametrize("iface", ["eth10000", "localhost"])
def test_tcp_connect_non_literal_local_interface_is_enodev(nn, iface: str) -> None:
    s = nn(nanopy.NN_PAIR)
    assert _errno(nanopy.nn_connect, s, f"tcp://{iface};127.0.0.1:5555") == nanopy.ENODEV


def test_tcp_bind_ipv6_literal_rejected_under_ipv4only_default(nn) -> None:
    s = nn(nanopy.NN_PAIR)
    assert _errno(nanopy.nn_bind, s, f"tcp://[::1]:{unclaimed_tcp_port()}") in (
        nanopy.ENODEV,
        nanopy.EINVAL,
    )


def test_tcp_ipv6_literal_works_with_ipv4only_off(nn) -> None:
    port = unclaimed_tcp_port()
    a = nn(nanopy.NN_PAIR)
    b = nn(nanopy.NN_PAIR)
    for s in (a, b):
        nanopy.nn_setsockopt(s, SOL, nanopy.NN_IPV4ONLY, 0)
    nanopy.nn_bind(a, f"tcp://[::1]:{port}")
    nanopy.nn_connect(b, f"tcp://[::1]:{port}")
    wait_connected(b)
    _exchange(a, b)


def test_tcp_wildcard_bind_with_ipv4only_off_accepts_ipv4(nn) -> None:
    port = unclaimed_tcp_port()
    a = nn(nanopy.NN_PAIR)
    b = nn(nanopy.NN_PAIR)
    nanopy.nn_setsockopt(a, SOL, nanopy.NN_IPV4ONLY, 0)
    nanopy.nn_bind(a, f"tcp://*:{port}")
    nanopy.nn_connect(b, f"tcp://127.0.0.1:{port}")
    wait_connected(b)
    _exchange(a, b)


def test_tcp_wildcard_bind(nn) -> None:
    port = unclaimed_tcp_port()
    a = nn(nanopy.NN_PAIR)
    b = nn(nanopy.NN_PAIR)
    nanopy.nn_bind(a, f"tcp://*:{port}")
    nanopy.nn_connect(b, f"tcp://127.0.0.1:{port}")
    wait_connected(b)
    _exchange(a, b)


def test_tcp_connect_with_local_interface(nn) -> None:
    port = unclaimed_tcp_port()
    a = nn(nanopy.NN_PAIR)
    b = nn(nanopy.NN_PAIR)
    nanopy.nn_bind(a, f"tcp://127.0.0.1:{port}")
    nanopy.nn_connect(b, f"tcp://127.0.0.1;127.0.0.1:{port}")
    wait_connected(b)
    _exchange(a, b)


def test_tcp_connect_with_wildcard_local_interface(nn) -> None:
    port = unclaimed_tcp_port()
    a = nn(nanopy.NN_PAIR)
    b = nn(nanopy.NN_PAIR)
    nanopy.nn_bind(a, f"tcp://127.0.0.1:{port}")
    nanopy.nn_connect(b, f"tcp://*;127.0.0.1:{port}")
    wait_connected(b)
    _exchange(a, b)


def test_tcp_connect_by_hostname(nn) -> None:
    port = unclaimed_tcp_port()
    a = nn(nanopy.NN_PAIR)
    b = nn(nanopy.NN_PAIR)
    nanopy.nn_bind(a, f"tcp://127.0.0.1:{port}")
    nanopy.nn_connect(b, f"tcp://localhost:{port}")
    wait_connected(b)
    _exchange(a, b)


def test_tcp_connect_to_nothing_succeeds_asynchronously(nn) -> None:
    s = nn(nanopy.NN_PAIR)
    assert nanopy.nn_connect(s, f"tcp://127.0.0.1:{unclaimed_tcp_port()}") >= 1


def test_tcp_bind_rebinds_right_after_close(nn) -> None:
    url = f"tcp://127.0.0.1:{unclaimed_tcp_port()}"
    a = nn(nanopy.NN_PAIR)
    b = nn(nanopy.NN_PAIR)
    nanopy.nn_bind(a, url)
    nanopy.nn_connect(b, url)
    wait_connected(b)
    _exchange(a, b)
    nanopy.nn_setsockopt(a, SOL, nanopy.NN_LINGER, 0)
    nanopy.nn_close(a)
    a2 = nn(nanopy.NN_PAIR)
    assert nanopy.nn_bind(a2, url) >= 1


# ---- endpoint ids --------------------------------------------------------------------


def test_endpoint_ids_start_at_one_and_increase(nn, tmp_ipc_dir) -> None:
    s = nn(nanopy.NN_PAIR)
    e1 = nanopy.nn_bind(s, f"inproc://eids-{os.getpid()}")
    e2 = nanopy.nn_connect(s, f"ipc://{tmp_ipc_dir}/eids.ipc")
    e3 = nanopy.nn_connect(s, f"tcp://127.0.0.1:{unclaimed_tcp_port()}")
    assert (e1, e2, e3) == (1, 2, 3)


def test_failed_bind_does_not_consume_endpoint_id(nn) -> None:
    s = nn(nanopy.NN_PAIR)
    with pytest.raises(nanopy.NNError):
        nanopy.nn_bind(s, "tcp://127.0.0.1:65536")
    assert nanopy.nn_bind(s, f"inproc://eid-after-fail-{os.getpid()}") == 1


def test_endpoint_ids_are_not_reused_after_shutdown(nn) -> None:
    s = nn(nanopy.NN_PAIR)
    e1 = nanopy.nn_bind(s, f"inproc://noreuse-{os.getpid()}")
    nanopy.nn_shutdown(s, e1)
    assert nanopy.nn_bind(s, f"inproc://noreuse-{os.getpid()}") == e1 + 1


def test_shutdown_bound_endpoint_frees_the_address(nn, addr) -> None:
    url = addr()
    a = nn(nanopy.NN_PAIR)
    eid = nanopy.nn_bind(a, url)
    nanopy.nn_shutdown(a, eid)
    b = nn(nanopy.NN_PAIR)
    for _ in range(100):
        try:
            nanopy.nn_bind(b, url)
            break
        except nanopy.AddressInUse:
            time.sleep(0.01)
    else:
        raise AssertionError("address still in use 1 s after nn_shutdown")


# ---- inproc --------------------------------------------------------------------------


def test_inproc_names_are_case_sensitive(nn) -> None:
    a = nn(nanopy.NN_PAIR)
    b = nn(nanopy.NN_PAIR, timeout=100)
    nanopy.nn_bind(a, f"inproc://Case-{os.getpid()}")
    nanopy.nn_connect(b, f"inproc://case-{os.getpid()}")
    with pytest.raises(nanopy.Timeout):
        nanopy.nn_send(b, b"x")


def test_inproc_empty_name_is_usable(nn) -> None:
    a = nn(nanopy.NN_PAIR)
    b = nn(nanopy.NN_PAIR)
    nanopy.nn_bind(a, "inproc://")
    nanopy.nn_connect(b, "inproc://")
    _exchange(a, b)


# ---- ipc -----------------------------------------------------------------------------


def test_ipc_stale_socket_file_is_replaced_on_bind(nn, tmp_ipc_dir) -> None:
    path = f"{tmp_ipc_dir}/stale.ipc"
    stale = pysocket.socket(pysocket.AF_UNIX, pysocket.SOCK_STREAM)
    stale.bind(path)
    stale.listen(1)
    stale.close()
    assert os.path.exists(path)
    a = nn(nanopy.NN_PAIR)
    b = nn(nanopy.NN_PAIR)
    nanopy.nn_bind(a, f"ipc://{path}")
    nanopy.nn_connect(b, f"ipc://{path}")
    wait_connected(b)
    _exchange(a, b)


def test_ipc_bind_on_live_listener_is_eaddrinuse(nn, tmp_ipc_dir) -> None:
    path = f"{tmp_ipc_dir}/live.ipc"
    live = pysocket.socket(pysocket.AF_UNIX, pysocket.SOCK_STREAM)
    live.bind(path)
    live.listen(1)
    try:
        s = nn(nanopy.NN_PAIR)
        assert _errno(nanopy.nn_bind, s, f"ipc://{path}") == nanopy.EADDRINUSE
    finally:
        live.close()


def test_ipc_close_unlinks_socket_file(nn, tmp_ipc_dir) -> None:
    path = f"{tmp_ipc_dir}/unlink.ipc"
    s = nanopy.nn_socket(nanopy.AF_SP, nanopy.NN_PAIR)
    nanopy.nn_bind(s, f"ipc://{path}")
    assert os.path.exists(path)
    nanopy.nn_close(s)
    assert not os.path.exists(path)


def test_ipc_shutdown_unlinks_socket_file(nn, tmp_ipc_dir) -> None:
    path = f"{tmp_ipc_dir}/unlink2.ipc"
    s = nn(nanopy.NN_PAIR)
    eid = nanopy.nn_bind(s, f"ipc://{path}")
    nanopy.nn_shutdown(s, eid)
    deadline = time.monotonic() + 2
    while os.path.exists(path) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not os.path.exists(path)


def _long_ipc_url(tmp_ipc_dir: str) -> str:
    url = f"ipc://{tmp_ipc_dir}/" + "p" * 200
    url = url[:127]
    assert len(url) - len("ipc://") >= 108
    return url


@pytest.mark.parametrize("op", ["bind", "connect"])
def test_ipc_path_too_long_for_sun_path_is_an_error(nn, tmp_ipc_dir, op: str) -> None:
    s = nn(nanopy.NN_PAIR)
    err = _errno(getattr(nanopy, f"nn_{op}"), s, _long_ipc_url(tmp_ipc_dir))
    assert err in (nanopy.ENAMETOOLONG, nanopy.EINVAL)


def test_ipc_relative_path(nn, tmp_ipc_dir, monkeypatch) -> None:
    monkeypatch.chdir(tmp_ipc_dir)
    a = nn(nanopy.NN_PAIR)
    b = nn(nanopy.NN_PAIR)
    nanopy.nn_bind(a, "ipc://relative.ipc")
    assert os.path.exists(os.path.join(tmp_ipc_dir, "relative.ipc"))
    nanopy.nn_connect(b, "ipc://relative.ipc")
    wait_connected(b)
    _exchange(a, b)
