"""PAIR over inproc, ipc and tcp: one peer at a time, both directions, reconnection, the
receive size limit and linger (the cases of nanomsg's pair, inproc, ipc, tcp, bug777 and
separation tests)."""

from __future__ import annotations

import threading
import time

import pytest
from conftest import bind_any_port, make_address, wait_connected, wait_refused

import nanopy

SOL = nanopy.NN_SOL_SOCKET


def _connected_pair(nn, url: str, bind_first: bool = True) -> tuple[int, int]:
    """(bound, connected) PAIR sockets with one live connection."""
    a = nn(nanopy.NN_PAIR)
    b = nn(nanopy.NN_PAIR)
    if bind_first:
        nanopy.nn_bind(a, url)
        nanopy.nn_connect(b, url)
    else:
        nanopy.nn_connect(b, url)
        nanopy.nn_bind(a, url)
    wait_connected(a)
    wait_connected(b)
    return a, b


def _wait_disconnected(s: int, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while nanopy.nn_get_statistic(s, nanopy.NN_STAT_CURRENT_CONNECTIONS) != 0:
        if time.monotonic() > deadline:
            raise AssertionError(f"socket {s} kept its connection")
        time.sleep(0.005)


def test_bind_then_connect_both_directions(nn, addr) -> None:
    a, b = _connected_pair(nn, addr(), bind_first=True)
    nanopy.nn_send(b, b"hello")
    assert nanopy.nn_recv(a) == b"hello"
    nanopy.nn_send(a, b"world")
    assert nanopy.nn_recv(b) == b"world"


def test_connect_then_bind_both_directions(nn, addr) -> None:
    a, b = _connected_pair(nn, addr(), bind_first=False)
    nanopy.nn_send(b, b"hello")
    assert nanopy.nn_recv(a) == b"hello"
    nanopy.nn_send(a, b"world")
    assert nanopy.nn_recv(b) == b"world"


def test_send_returns_message_size(nn, addr) -> None:
    a, b = _connected_pair(nn, addr())
    assert nanopy.nn_send(a, b"12345") == 5
    nanopy.nn_recv(b)


def test_zero_byte_message(nn, addr) -> None:
    a, b = _connected_pair(nn, addr())
    assert nanopy.nn_send(a, b"") == 0
    assert nanopy.nn_recv(b) == b""


@pytest.mark.timeout(60)
def test_four_mib_message_with_unlimited_rcvmaxsize(nn, addr) -> None:
    url = addr()
    a = nn(nanopy.NN_PAIR)
    b = nn(nanopy.NN_PAIR)
    for s in (a, b):
        nanopy.nn_setsockopt(s, SOL, nanopy.NN_RCVMAXSIZE, -1)
    nanopy.nn_bind(a, url)
    nanopy.nn_connect(b, url)
    wait_connected(a)
    wait_connected(b)
    payload = bytes(range(256)) * (4 * 1024 * 1024 // 256)
    result: list[bytes] = []
    t = threading.Thread(target=lambda: result.append(nanopy.nn_recv(b)))
    t.start()
    assert nanopy.nn_send(a, payload) == len(payload)
    t.join(30)
    assert result and result[0] == payload


@pytest.mark.timeout(60)
def test_ten_thousand_messages_arrive_in_order(nn, addr) -> None:
    a, b = _connected_pair(nn, addr())
    n = 10_000
    errors: list[BaseException] = []

    def sender() -> None:
        try:
            for i in range(n):
                nanopy.nn_send(a, i.to_bytes(4, "big"))
        except BaseException as exc:  # reported below
            errors.append(exc)

    t = threading.Thread(target=sender)
    t.start()
    got = [int.from_bytes(nanopy.nn_recv(b), "big") for _ in range(n)]
    t.join(30)
    assert not errors
    assert got == list(range(n))


def test_second_peer_is_refused_and_first_pairing_keeps_working(nn, addr) -> None:
    url = addr()
    a, b = _connected_pair(nn, url)
    c = nn(nanopy.NN_PAIR, timeout=300)
    nanopy.nn_connect(c, url)
    wait_refused(a, url)
    nanopy.nn_send(b, b"HELLO")
    assert nanopy.nn_recv(a) == b"HELLO"
    nanopy.nn_send(a, b"THERE")
    assert nanopy.nn_recv(b) == b"THERE"
    with pytest.raises(nanopy.Timeout):
        nanopy.nn_recv(c)


def test_second_peer_does_not_receive_messages(nn, addr) -> None:
    url = addr()
    a, b = _connected_pair(nn, url)
    c = nn(nanopy.NN_PAIR, timeout=300)
    nanopy.nn_connect(c, url)
    wait_refused(a, url)
    for i in range(5):
        nanopy.nn_send(a, b"m%d" % i)
    assert [nanopy.nn_recv(b) for _ in range(5)] == [b"m%d" % i for i in range(5)]
    with pytest.raises(nanopy.Timeout):
        nanopy.nn_recv(c)


def test_bound_side_keeps_one_connection_with_second_peer(nn, addr) -> None:
    url = addr()
    a, b = _connected_pair(nn, url)
    c = nn(nanopy.NN_PAIR)
    nanopy.nn_connect(c, url)
    wait_refused(a, url)
    assert nanopy.nn_get_statistic(a, nanopy.NN_STAT_CURRENT_CONNECTIONS) == 1


@pytest.mark.timeout(30)
def test_reconnect_after_bound_side_closes_and_binds_again(nn, addr) -> None:
    url = addr()
    a, b = _connected_pair(nn, url)
    nanopy.nn_send(b, b"first")
    assert nanopy.nn_recv(a) == b"first"
    nanopy.nn_setsockopt(a, SOL, nanopy.NN_LINGER, 0)
    nanopy.nn_close(a)
    _wait_disconnected(b)
    a2 = nn(nanopy.NN_PAIR)
    nanopy.nn_bind(a2, url)
    wait_connected(a2)
    wait_connected(b)
    nanopy.nn_send(b, b"second")
    assert nanopy.nn_recv(a2) == b"second"
    nanopy.nn_send(a2, b"back")
    assert nanopy.nn_recv(b) == b"back"


def test_unconnected_send_times_out(nn, addr) -> None:
    a = nn(nanopy.NN_PAIR, timeout=100)
    nanopy.nn_bind(a, addr())
    with pytest.raises(nanopy.Timeout):
        nanopy.nn_send(a, b"nobody")


def test_pair_does_not_connect_to_pull(nn, addr) -> None:
    url = addr()
    a = nn(nanopy.NN_PAIR, timeout=100)
    p = nn(nanopy.NN_PULL)
    nanopy.nn_bind(p, url)
    nanopy.nn_connect(a, url)
    wait_refused(p, url)
    with pytest.raises(nanopy.Timeout):
        nanopy.nn_send(a, b"ABC")


def test_message_sent_before_bind_is_delivered_after(nn, addr) -> None:
    url = addr()
    a = nn(nanopy.NN_PAIR)
    b = nn(nanopy.NN_PAIR)
    nanopy.nn_connect(b, url)
    done: list[int] = []
    t = threading.Thread(target=lambda: done.append(nanopy.nn_send(b, b"early")))
    t.start()
    time.sleep(0.1)  # most likely blocked in nn_send by now; either way it must not finish
    assert not done, "a PAIR send completed with no peer"
    nanopy.nn_bind(a, url)
    assert nanopy.nn_recv(a) == b"early"
    t.join(5)
    assert done == [5]


# ---- nn_* data-path variants ---------------------------------------------------------


def test_send_accepts_bytearray_and_memoryview(nn, addr) -> None:
    a, b = _connected_pair(nn, addr())
    nanopy.nn_send(a, bytearray(b"ba"))
    nanopy.nn_send(a, memoryview(b"xmvx")[1:3])
    assert nanopy.nn_recv(b) == b"ba"
    assert nanopy.nn_recv(b) == b"mv"


def test_recv_into_truncates_and_returns_full_size(nn, addr) -> None:
    a, b = _connected_pair(nn, addr())
    nanopy.nn_send(a, b"ABCDEFGH")
    buf = bytearray(4)
    assert nanopy.nn_recv_into(b, buf) == 8
    assert bytes(buf) == b"ABCD"


def test_recv_into_larger_buffer(nn, addr) -> None:
    a, b = _connected_pair(nn, addr())
    nanopy.nn_send(a, b"ABC")
    buf = bytearray(10)
    assert nanopy.nn_recv_into(b, buf) == 3
    assert bytes(buf[:3]) == b"ABC"


def test_sendmsg_gathers_parts_into_one_message(nn, addr) -> None:
    a, b = _connected_pair(nn, addr())
    assert nanopy.nn_sendmsg(a, [b"AB", bytearray(b"CDEF")]) == 6
    assert nanopy.nn_recv(b) == b"ABCDEF"


def test_sendmsg_with_no_parts_sends_empty_message(nn, addr) -> None:
    a, b = _connected_pair(nn, addr())
    assert nanopy.nn_sendmsg(a, []) == 0
    assert nanopy.nn_recv(b) == b""


def test_recvmsg_returns_body_and_empty_header_on_cooked(nn, addr) -> None:
    a, b = _connected_pair(nn, addr())
    nanopy.nn_send(a, b"body")
    assert nanopy.nn_recvmsg(b) == (b"body", b"")


# ---- inproc back-pressure (tests/inproc.c) -------------------------------------------


def _inproc_backpressure_pair(nn) -> tuple[int, int]:
    url = f"inproc://backpressure-{time.monotonic_ns()}"
    rx = nn(nanopy.NN_PAIR)
    tx = nn(nanopy.NN_PAIR, timeout=200)
    nanopy.nn_setsockopt(rx, SOL, nanopy.NN_RCVBUF, 200)
    nanopy.nn_bind(rx, url)
    nanopy.nn_connect(tx, url)
    wait_connected(tx)
    wait_connected(rx)
    return rx, tx


def test_inproc_rcvbuf_200_takes_exactly_20_ten_byte_messages(nn) -> None:
    rx, tx = _inproc_backpressure_pair(nn)
    for _ in range(20):
        nanopy.nn_send(tx, b"0123456789")
    with pytest.raises(nanopy.Timeout):
        nanopy.nn_send(tx, b"0123456789")


def test_inproc_one_recv_frees_one_slot(nn) -> None:
    rx, tx = _inproc_backpressure_pair(nn)
    for _ in range(20):
        nanopy.nn_send(tx, b"0123456789")
    with pytest.raises(nanopy.Timeout):
        nanopy.nn_send(tx, b"0123456789")
    assert nanopy.nn_recv(rx) == b"0123456789"
    nanopy.nn_send(tx, b"0123456789")
    with pytest.raises(nanopy.Timeout):
        nanopy.nn_send(tx, b"0123456789")


def test_inproc_message_bigger_than_rcvbuf_passes(nn) -> None:
    rx, tx = _inproc_backpressure_pair(nn)
    nanopy.nn_send(tx, b"x" * 256)
    assert nanopy.nn_recv(rx) == b"x" * 256


def test_inproc_connectors_repair_with_new_binder(nn) -> None:
    url = f"inproc://rebinder-{time.monotonic_ns()}"
    a = nn(nanopy.NN_PAIR)
    b = nn(nanopy.NN_PAIR)
    nanopy.nn_bind(a, url)
    nanopy.nn_connect(b, url)
    wait_connected(b)
    nanopy.nn_close(a)
    a2 = nn(nanopy.NN_PAIR)
    nanopy.nn_bind(a2, url)
    nanopy.nn_send(b, b"again")
    assert nanopy.nn_recv(a2) == b"again"


def test_inproc_hundred_ping_pongs(nn) -> None:
    a, b = _connected_pair(nn, f"inproc://pingpong-{time.monotonic_ns()}")
    for i in range(100):
        nanopy.nn_send(b, b"ping%d" % i)
        assert nanopy.nn_recv(a) == b"ping%d" % i
        nanopy.nn_send(a, b"pong%d" % i)
        assert nanopy.nn_recv(b) == b"pong%d" % i


# ---- NN_RCVMAXSIZE on stream transports (an oversized frame drops the connection) -------------


@pytest.mark.parametrize("kind", ["ipc", "tcp"])
def test_message_at_default_rcvmaxsize_is_delivered(nn, tmp_ipc_dir, kind: str) -> None:
    a, b = _connected_pair(nn, make_address(kind, tmp_ipc_dir))
    payload = b"m" * 1048576
    t = threading.Thread(target=nanopy.nn_send, args=(a, payload))
    t.start()
    assert nanopy.nn_recv(b) == payload
    t.join(5)


@pytest.mark.parametrize("kind", ["ipc", "tcp"])
def test_message_over_default_rcvmaxsize_is_dropped(nn, tmp_ipc_dir, kind: str) -> None:
    a, b = _connected_pair(nn, make_address(kind, tmp_ipc_dir))
    nanopy.nn_setsockopt(b, SOL, nanopy.NN_RCVTIMEO, 500)
    t = threading.Thread(target=nanopy.nn_send, args=(a, b"m" * 1048577))
    t.start()
    with pytest.raises(nanopy.Timeout):
        nanopy.nn_recv(b)
    t.join(5)


def test_inproc_ignores_rcvmaxsize(nn) -> None:
    url = f"inproc://maxsize-{time.monotonic_ns()}"
    a = nn(nanopy.NN_PAIR)
    b = nn(nanopy.NN_PAIR)
    nanopy.nn_setsockopt(b, SOL, nanopy.NN_RCVMAXSIZE, 4)
    nanopy.nn_bind(a, url)
    nanopy.nn_connect(b, url)
    nanopy.nn_send(a, b"longer than four")
    assert nanopy.nn_recv(b) == b"longer than four"


@pytest.mark.parametrize("kind", ["ipc", "tcp"])
def test_rcvmaxsize_zero_allows_only_empty_messages(nn, tmp_ipc_dir, kind: str) -> None:
    url = make_address(kind, tmp_ipc_dir)
    a = nn(nanopy.NN_PAIR)
    b = nn(nanopy.NN_PAIR, timeout=500)
    nanopy.nn_setsockopt(b, SOL, nanopy.NN_RCVMAXSIZE, 0)
    nanopy.nn_bind(a, url)
    nanopy.nn_connect(b, url)
    wait_connected(b)
    nanopy.nn_send(a, b"")
    assert nanopy.nn_recv(b) == b""
    nanopy.nn_send(a, b"x")
    with pytest.raises(nanopy.Timeout):
        nanopy.nn_recv(b)


# ---- NN_LINGER is honoured: close keeps sending queued messages -------------------------------


@pytest.mark.timeout(30)
def test_close_with_default_linger_delivers_queued_messages(nn, addr) -> None:
    url = addr()
    b = nn(nanopy.NN_PAIR)
    nanopy.nn_bind(b, url)
    a = nanopy.nn_socket(nanopy.AF_SP, nanopy.NN_PAIR)
    nanopy.nn_setsockopt(a, SOL, nanopy.NN_SNDTIMEO, 5000)
    nanopy.nn_connect(a, url)
    wait_connected(a)
    n, size = 64, 32 * 1024
    got: list[int] = []

    def reader() -> None:
        try:
            for _ in range(n):
                got.append(int.from_bytes(nanopy.nn_recv(b)[:4], "big"))
        except nanopy.NNError:
            pass

    sent = 0
    try:
        while sent < n:
            nanopy.nn_send(a, sent.to_bytes(4, "big") + b"x" * size, nanopy.NN_DONTWAIT)
            sent += 1
    except nanopy.Again:
        pass
    t = threading.Thread(target=reader)
    t.start()
    while sent < n:
        nanopy.nn_send(a, sent.to_bytes(4, "big") + b"x" * size)
        sent += 1
    nanopy.nn_close(a)
    t.join(10)
    assert got == list(range(n))


@pytest.mark.timeout(30)
def test_close_with_linger_returns_within_linger_when_peer_stalls(nn) -> None:
    b = nn(nanopy.NN_PAIR)
    url = bind_any_port(b)
    a = nanopy.nn_socket(nanopy.AF_SP, nanopy.NN_PAIR)
    nanopy.nn_setsockopt(a, SOL, nanopy.NN_SNDTIMEO, 100)
    nanopy.nn_connect(a, url)
    wait_connected(a)
    try:
        for _ in range(10_000):
            nanopy.nn_send(a, b"y" * 65536)
    except nanopy.Timeout:
        pass
    nanopy.nn_setsockopt(a, SOL, nanopy.NN_LINGER, 200)
    start = time.monotonic()
    nanopy.nn_close(a)
    assert time.monotonic() - start < 2.0


def test_messages_sent_just_before_peer_closes_are_received(nn, addr) -> None:
    a, b = _connected_pair(nn, addr())
    for i in range(3):
        nanopy.nn_send(b, b"m%d" % i)
    nanopy.nn_close(b)
    assert [nanopy.nn_recv(a) for _ in range(3)] == [b"m0", b"m1", b"m2"]


@pytest.mark.timeout(60)
def test_bound_pair_pairs_again_after_connector_churn(nn, addr) -> None:
    url = addr()
    hub = nn(nanopy.NN_PAIR)
    nanopy.nn_bind(hub, url)

    def churn() -> None:
        for _ in range(25):
            s = nanopy.nn_socket(nanopy.AF_SP, nanopy.NN_PAIR)
            nanopy.nn_connect(s, url)
            time.sleep(0.002)
            nanopy.nn_setsockopt(s, SOL, nanopy.NN_LINGER, 0)
            nanopy.nn_close(s)

    threads = [threading.Thread(target=churn) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    _wait_disconnected(hub)
    good = nn(nanopy.NN_PAIR)
    nanopy.nn_connect(good, url)
    nanopy.nn_send(good, b"after churn")
    assert nanopy.nn_recv(hub) == b"after churn"


def test_large_bytes_are_handed_over_by_reference_over_inproc(nn) -> None:
    """A bytes object of 64 KiB or more is lent, not copied: over inproc the receiver gets
    the sender's very object back (plain send and the batch calls alike)."""
    import sys

    a, b = nn(nanopy.NN_PAIR), nn(nanopy.NN_PAIR)
    # room for both batch messages in b's queue (NN_RCVBUF bounds inproc queues in bytes)
    nanopy.nn_setsockopt(b, nanopy.NN_SOL_SOCKET, nanopy.NN_RCVBUF, 4 << 20)
    nanopy.nn_bind(a, "inproc://lent-bytes")
    nanopy.nn_connect(b, "inproc://lent-bytes")
    data = b"L" * (1 << 20)
    before = sys.getrefcount(data)
    nanopy.nn_send(a, data)
    assert nanopy.nn_recv(b) is data
    assert nanopy.send_many(a, [data, data]) == 2
    assert all(m is data for m in nanopy.recv_many(b, 2))
    small = b"s" * 100
    nanopy.nn_send(a, small)
    got = nanopy.nn_recv(b)
    assert got == small and got is not small  # small messages are copied
    assert sys.getrefcount(data) == before  # every lent reference was given back


def test_large_bytes_keep_their_content_over_streams(nn, tmp_ipc_dir) -> None:
    from conftest import wait_connected

    for transport in ("tcp", "ipc"):
        a, b = nn(nanopy.NN_PAIR), nn(nanopy.NN_PAIR)
        nanopy.nn_setsockopt(b, nanopy.NN_SOL_SOCKET, nanopy.NN_RCVMAXSIZE, -1)
        if transport == "tcp":
            url = bind_any_port(a)
        else:
            url = f"ipc://{tmp_ipc_dir}/lent.ipc"
            nanopy.nn_bind(a, url)
        nanopy.nn_connect(b, url)
        wait_connected(b)
        data = bytes(range(256)) * 4096
        for _ in range(3):
            nanopy.nn_send(a, data)
        for _ in range(3):
            assert nanopy.nn_recv(b) == data
