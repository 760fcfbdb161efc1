"""A short end-to-end check, also run by the wheel smoke test: PAIR over every transport."""

from __future__ import annotations

from conftest import wait_connected

import nanopy


def test_pair_roundtrip_every_transport(nn, addr, transport) -> None:
    a = nn(nanopy.NN_PAIR)
    b = nn(nanopy.NN_PAIR)
    url = addr()
    nanopy.nn_bind(a, url)
    nanopy.nn_connect(b, url)
    wait_connected(b)
    assert nanopy.nn_send(a, b"ping") == 4
    assert nanopy.nn_recv(b) == b"ping"
    nanopy.nn_send(b, memoryview(b"pong"))
    assert nanopy.nn_recv(a) == b"pong"


def test_socket_class_context_manager(transport, addr) -> None:
    url = addr()
    with nanopy.Socket(nanopy.PAIR, recv_timeout=3000) as a, nanopy.Socket(
        nanopy.PAIR, recv_timeout=3000
    ) as b:
        a.bind(url)
        b.connect(url)
        b.send(b"x" * 1000)
        assert a.recv() == b"x" * 1000
    assert a.closed and b.closed
