"""BUS semantics (every peer gets a copy, never the sender; nanomsg tests/bus.c)."""

from __future__ import annotations

import pytest
from conftest import wait_connected

import nanopy


def _drain(s, timeout=300):
    nanopy.nn_setsockopt(s, nanopy.NN_SOL_SOCKET, nanopy.NN_RCVTIMEO, timeout)
    got = []
    while True:
        try:
            got.append(nanopy.nn_recv(s))
        except nanopy.Timeout:
            return got


def _mesh(nn, addr, domain=nanopy.AF_SP):
    """Node 1 binds a; node 2 binds b and connects a; node 3 connects a and b."""
    a, b = addr(), addr()
    n1, n2, n3 = (nn(nanopy.NN_BUS, domain=domain) for _ in range(3))
    nanopy.nn_bind(n1, a)
    nanopy.nn_bind(n2, b)
    nanopy.nn_connect(n2, a)
    nanopy.nn_connect(n3, a)
    nanopy.nn_connect(n3, b)
    for n in (n1, n2, n3):
        wait_connected(n, 2)
    return n1, n2, n3


def test_full_mesh_each_node_gets_the_other_two(nn, addr) -> None:
    nodes = _mesh(nn, addr)
    for i, n in enumerate(nodes):
        nanopy.nn_send(n, b"from-%d" % i)
    for i, n in enumerate(nodes):
        got = sorted(_drain(n))
        assert got == sorted(b"from-%d" % j for j in range(3) if j != i)


def test_bus_never_echoes_to_sender(nn, addr) -> None:
    n1, n2, _ = _mesh(nn, addr)
    nanopy.nn_send(n1, b"self?")
    assert nanopy.nn_recv(n2) == b"self?"
    assert _drain(n1) == []


def test_cooked_bus_does_not_relay(nn, addr) -> None:
    # chain a - b - c: a's message reaches b but not c
    u1, u2 = addr(), addr()
    a, b, c = (nn(nanopy.NN_BUS) for _ in range(3))
    nanopy.nn_bind(b, u1)
    nanopy.nn_bind(b, u2)
    nanopy.nn_connect(a, u1)
    nanopy.nn_connect(c, u2)
    wait_connected(b, 2)
    wait_connected(a)
    wait_connected(c)
    nanopy.nn_send(a, b"hop")
    assert nanopy.nn_recv(b) == b"hop"
    assert _drain(c) == []


def test_bus_send_without_peers_does_not_block(nn) -> None:
    s = nn(nanopy.NN_BUS)
    assert nanopy.nn_send(s, b"void", nanopy.NN_DONTWAIT) == 4


def test_raw_bus_recv_header_is_8_byte_token(nn, addr) -> None:
    url = addr()
    raw = nn(nanopy.NN_BUS, domain=nanopy.AF_SP_RAW)
    peer = nn(nanopy.NN_BUS)
    nanopy.nn_bind(raw, url)
    nanopy.nn_connect(peer, url)
    wait_connected(raw)
    wait_connected(peer)
    nanopy.nn_send(peer, b"x")
    body, hdr = nanopy.nn_recvmsg(raw)
    assert body == b"x"
    assert len(hdr) == 8


def test_raw_bus_tokens_differ_per_pipe_and_are_stable(nn, addr) -> None:
    url = addr()
    raw = nn(nanopy.NN_BUS, domain=nanopy.AF_SP_RAW)
    nanopy.nn_bind(raw, url)
    p1, p2 = nn(nanopy.NN_BUS), nn(nanopy.NN_BUS)
    nanopy.nn_connect(p1, url)
    nanopy.nn_connect(p2, url)
    wait_connected(raw, 2)
    wait_connected(p1)
    wait_connected(p2)
    tokens = {}
    for p, name in ((p1, b"p1"), (p2, b"p2"), (p1, b"p1")):
        nanopy.nn_send(p, name)
        body, hdr = nanopy.nn_recvmsg(raw)
        tokens.setdefault(body, set()).add(hdr)
    assert len(tokens[b"p1"]) == 1 and len(tokens[b"p2"]) == 1
    assert tokens[b"p1"] != tokens[b"p2"]


def test_raw_bus_send_with_token_excludes_that_pipe(nn, addr) -> None:
    url = addr()
    raw = nn(nanopy.NN_BUS, domain=nanopy.AF_SP_RAW)
    nanopy.nn_bind(raw, url)
    p1, p2 = nn(nanopy.NN_BUS), nn(nanopy.NN_BUS)
    nanopy.nn_connect(p1, url)
    nanopy.nn_connect(p2, url)
    wait_connected(raw, 2)
    wait_connected(p1)
    wait_connected(p2)
    nanopy.nn_send(p1, b"hello")
    body, token = nanopy.nn_recvmsg(raw)
    nanopy.nn_sendmsg(raw, [body], control=token)
    assert nanopy.nn_recv(p2) == b"hello"
    assert _drain(p1) == []


def test_raw_bus_send_with_empty_header_reaches_all(nn, addr) -> None:
    url = addr()
    raw = nn(nanopy.NN_BUS, domain=nanopy.AF_SP_RAW)
    nanopy.nn_bind(raw, url)
    p1, p2 = nn(nanopy.NN_BUS), nn(nanopy.NN_BUS)
    nanopy.nn_connect(p1, url)
    nanopy.nn_connect(p2, url)
    wait_connected(raw, 2)
    wait_connected(p1)
    wait_connected(p2)
    nanopy.nn_sendmsg(raw, [b"all"], control=b"")
    assert nanopy.nn_recv(p1) == b"all"
    assert nanopy.nn_recv(p2) == b"all"


@pytest.mark.parametrize("length", [1, 4, 7, 9, 16])
def test_raw_bus_send_header_not_0_or_8_bytes_is_einval(nn, length) -> None:
    raw = nn(nanopy.NN_BUS, domain=nanopy.AF_SP_RAW)
    with pytest.raises(nanopy.NNError) as info:
        nanopy.nn_sendmsg(raw, [b"x"], control=b"\0" * length)
    assert info.value.errno == nanopy.EINVAL


def test_cooked_bus_sendmsg_with_control_is_einval(nn) -> None:
    s = nn(nanopy.NN_BUS)
    with pytest.raises(nanopy.NNError) as info:
        nanopy.nn_sendmsg(s, [b"x"], control=b"\0" * 8)
    assert info.value.errno == nanopy.EINVAL


def test_cooked_bus_recvmsg_header_is_empty(nn, addr) -> None:
    url = addr()
    a, b = nn(nanopy.NN_BUS), nn(nanopy.NN_BUS)
    nanopy.nn_bind(a, url)
    nanopy.nn_connect(b, url)
    wait_connected(a)
    wait_connected(b)
    nanopy.nn_send(b, b"plain")
    assert nanopy.nn_recvmsg(a) == (b"plain", b"")


def test_raw_bus_loopback_hub_connects_a_star(nn, addr) -> None:
    url = addr()
    hub = nn(nanopy.NN_BUS, domain=nanopy.AF_SP_RAW)
    nanopy.nn_bind(hub, url)
    t = __import__("threading").Thread(target=_loopback, args=(hub,), daemon=True)
    t.start()
    leaves = [nn(nanopy.NN_BUS) for _ in range(3)]
    for leaf in leaves:
        nanopy.nn_connect(leaf, url)
    wait_connected(hub, 3)
    for leaf in leaves:
        wait_connected(leaf)
    nanopy.nn_send(leaves[0], b"star")
    assert nanopy.nn_recv(leaves[1]) == b"star"
    assert nanopy.nn_recv(leaves[2]) == b"star"
    assert _drain(leaves[0]) == []
    nanopy.nn_setsockopt(hub, nanopy.NN_SOL_SOCKET, nanopy.NN_LINGER, 0)
    nanopy.nn_close(hub)
    t.join(5)
    assert not t.is_alive()


def _loopback(s):
    try:
        nanopy.nn_device(s, -1)
    except nanopy.NNError:
        pass


def test_bus_never_blocks_on_a_peer_that_does_not_read(nn, addr) -> None:
    url = addr()
    a, b = nn(nanopy.NN_BUS), nn(nanopy.NN_BUS)
    nanopy.nn_bind(a, url)
    nanopy.nn_connect(b, url)
    wait_connected(a)
    nanopy.nn_setsockopt(a, nanopy.NN_SOL_SOCKET, nanopy.NN_SNDTIMEO, 100)
    for _ in range(20000):
        nanopy.nn_send(a, b"y" * 1000)
    assert nanopy.nn_recv(b) == b"y" * 1000


def test_recv_many_on_raw_bus_returns_bodies(nn, addr) -> None:
    url = addr()
    raw = nn(nanopy.NN_BUS, domain=nanopy.AF_SP_RAW)
    peer = nn(nanopy.NN_BUS)
    nanopy.nn_bind(raw, url)
    nanopy.nn_connect(peer, url)
    wait_connected(raw)
    wait_connected(peer)
    for i in range(5):
        nanopy.nn_send(peer, b"b%d" % i)
    got: list[bytes] = []
    while len(got) < 5:
        got.extend(nanopy.recv_many(raw, 16))
    assert got == [b"b%d" % i for i in range(5)]
