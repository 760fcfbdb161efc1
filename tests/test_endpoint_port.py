"""Binding to port 0 (the kernel picks), Endpoint.url / Endpoint.port, and the conftest
helper the other tests use instead of guessing a free port."""

from __future__ import annotations

import os
import socket as pysocket

import pytest
from conftest import bind_any_port

import nanopy


def listening_port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def test_bind_port_zero_gets_a_real_port(sock) -> None:
    s = sock(nanopy.PAIR)
    ep = s.bind("tcp://127.0.0.1:0")
    assert isinstance(ep.port, int) and 0 < ep.port < 65536
    assert ep.url == f"tcp://127.0.0.1:{ep.port}"
    assert ep.address == "tcp://127.0.0.1:0"  # what was asked for stays visible
    # Something really listens there, and it is nanopy speaking SP.
    with pysocket.create_connection(("127.0.0.1", ep.port), timeout=5) as c:
        assert c.recv(8) == b"\x00SP\x00\x00\x10\x00\x00"
    peer = sock(nanopy.PAIR)
    peer.connect(ep.url)
    peer.send(b"over port 0")
    assert s.recv() == b"over port 0"


def test_two_port_zero_binds_get_two_ports(sock) -> None:
    s = sock(nanopy.PULL)
    a, b = s.bind("tcp://127.0.0.1:0"), s.bind("tcp://127.0.0.1:0")
    assert a.port != b.port
    pushers = [sock(nanopy.PUSH, connect=url) for url in (a.url, b.url)]
    for i, p in enumerate(pushers):
        p.send(b"%d" % i)
    assert sorted(s.recv() for _ in pushers) == [b"0", b"1"]


@pytest.mark.parametrize("host", ["*", "0.0.0.0", "lo"])
def test_port_zero_keeps_the_host_as_written(sock, host) -> None:
    ep = sock(nanopy.PAIR).bind(f"tcp://{host}:0")
    assert ep.url == f"tcp://{host}:{ep.port}"
    peer = sock(nanopy.PAIR, connect=f"tcp://127.0.0.1:{ep.port}")
    peer.send(b"x")
    assert ep.socket.recv() == b"x"


def test_port_zero_ipv6(sock) -> None:
    s = sock(nanopy.PAIR, ipv4only=False)
    try:
        ep = s.bind("tcp://[::1]:0")
    except nanopy.NNError as exc:  # a host without IPv6 loopback
        from conftest import skip_or_fail

        skip_or_fail(f"no IPv6 loopback: {exc}")
    assert ep.url == f"tcp://[::1]:{ep.port}"
    peer = sock(nanopy.PAIR, ipv4only=False, connect=ep.url)
    peer.send(b"v6")
    assert s.recv() == b"v6"


def test_connecting_to_port_zero_is_invalid(sock) -> None:
    with pytest.raises(nanopy.NNError) as info:
        sock(nanopy.PAIR).connect("tcp://127.0.0.1:0")
    assert info.value.errno == nanopy.EINVAL


def test_port_of_other_endpoints(sock, tmp_ipc_dir) -> None:
    s = sock(nanopy.PAIR)
    fixed = s.bind("tcp://127.0.0.1:0").port
    dial = sock(nanopy.PAIR).connect(f"tcp://127.0.0.1:{fixed}")
    assert (dial.port, dial.url) == (fixed, f"tcp://127.0.0.1:{fixed}")
    ipc = s.bind(f"ipc://{tmp_ipc_dir}/p.ipc")
    assert (ipc.port, ipc.url) == (None, f"ipc://{tmp_ipc_dir}/p.ipc")
    inproc = s.bind("inproc://port-test")
    assert (inproc.port, inproc.url) == (None, "inproc://port-test")


def test_a_fixed_port_is_reported_as_is(sock) -> None:
    from conftest import unclaimed_tcp_port

    port = unclaimed_tcp_port()  # outside the ephemeral range: no port-0 bind can take it
    s = sock(nanopy.PAIR)
    ep = s.bind(f"tcp://127.0.0.1:{port}")
    assert (ep.port, ep.url) == (port, f"tcp://127.0.0.1:{port}")


def test_bind_any_port_helper(sock, nn, tcp_bind) -> None:
    s = sock(nanopy.PAIR)
    url = tcp_bind(s)
    assert url == s.endpoints[0].url
    raw = nn(nanopy.PAIR)
    raw_url = bind_any_port(raw)
    assert listening_port_of(raw_url) > 0
    nanopy.nn_connect(s.id, raw_url)
    s.send(b"nn")
    assert nanopy.nn_recv(raw) == b"nn"


def _keepalive_of_connection(local_port: int, peer_port: int) -> int:
    """SO_KEEPALIVE of this process's tcp descriptor whose local and peer ports are these."""
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        try:
            probe = pysocket.socket(fileno=os.dup(fd))
        except OSError:
            continue
        with probe:
            try:
                if probe.type != pysocket.SOCK_STREAM or probe.family not in (
                        pysocket.AF_INET, pysocket.AF_INET6):
                    continue
                if (probe.getsockname()[1], probe.getpeername()[1]) != (local_port, peer_port):
                    continue
            except OSError:
                continue
            return int(probe.getsockopt(pysocket.SOL_SOCKET, pysocket.SO_KEEPALIVE))
    raise AssertionError(f"no descriptor for the connection {local_port} <-> {peer_port}")


@pytest.mark.parametrize("side", ["accepted", "dialled"])
def test_tcp_keepalive_sets_so_keepalive(sock, side) -> None:
    """Off by default; on, every later tcp connection of the socket has SO_KEEPALIVE, on
    both accepted and dialled connections; turning it on later leaves earlier ones alone."""
    for keepalive in (False, True):
        s = sock(nanopy.PAIR)
        assert s.tcp_keepalive is False
        if keepalive:
            s.tcp_keepalive = True
        assert s.tcp_keepalive is keepalive
        with s.monitor() as mon:
            if side == "accepted":
                ep = s.bind("tcp://127.0.0.1:0")
                peer = pysocket.create_connection(("127.0.0.1", ep.port))
                peer.sendall(b"\x00SP\x00\x00\x10\x00\x00")
                ev = mon.recv(5000)
                local, remote = ep.port, peer.getsockname()[1]
            else:
                listener = pysocket.socket()
                listener.bind(("127.0.0.1", 0))
                listener.listen(1)
                s.connect(f"tcp://127.0.0.1:{listener.getsockname()[1]}")
                peer, _ = listener.accept()
                listener.close()
                peer.sendall(b"\x00SP\x00\x00\x10\x00\x00")
                ev = mon.recv(5000)
                local, remote = peer.getpeername()[1], peer.getsockname()[1]
            assert ev.kind == "connected"
            assert _keepalive_of_connection(local, remote) == int(keepalive)
            peer.close()


def test_tcp_keepalive_option_checks(sock) -> None:
    s = sock(nanopy.PAIR, tcp_keepalive=True)
    assert s.tcp_keepalive is True
    s.tcp_keepalive = False
    assert s.tcp_keepalive is False
    level, option = nanopy._core.TCP_KEEPALIVE_OPTION
    with pytest.raises(nanopy.NNError) as info:
        s.setsockopt(level, option, 2)
    assert info.value.errno == nanopy.EINVAL


@pytest.mark.parametrize("path", ["/sp", ""])
def test_ws_port_zero(sock, path) -> None:
    s = sock(nanopy.PAIR)
    ep = s.bind(f"ws://127.0.0.1:0{path}")
    assert isinstance(ep.port, int) and ep.port > 0
    assert ep.url == f"ws://127.0.0.1:{ep.port}{path}"
    peer = sock(nanopy.PAIR, connect=ep.url)
    peer.send(b"over ws port 0")
    assert s.recv() == b"over ws port 0"
    dial = peer.endpoints[0]
    assert (dial.port, dial.url) == (ep.port, ep.url)
    assert sock(nanopy.PAIR).connect("ws://127.0.0.1/x").port == 80
