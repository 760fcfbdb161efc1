"""Hostile peers (nothing a peer sends can abort the process: bad
handshakes, unknown IPC type bytes, oversized or truncated frames).

A plain Python socket plays the peer. After each attack the bound nanopy socket must drop the
bad connection (no zombie pipe on PAIR) and still exchange messages with a good nanopy peer.
"""

from __future__ import annotations

import socket as pysocket
import struct
import time

import pytest
from conftest import unclaimed_tcp_port, wait_connected, wait_stat

import nanopy

SOL = nanopy.NN_SOL_SOCKET
PAIR_HEADER = b"\x00SP\x00\x00\x10\x00\x00"


@pytest.fixture
def bound(nn):
    """A PAIR bound on a fresh tcp port: (socket id, port)."""
    s = nn(nanopy.NN_PAIR)
    port = unclaimed_tcp_port()
    nanopy.nn_bind(s, f"tcp://127.0.0.1:{port}")
    return s, port


def _peer(port: int) -> pysocket.socket:
    c = pysocket.create_connection(("127.0.0.1", port), timeout=5)
    return c


def _recv_exact(c: pysocket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = c.recv(n - len(buf))
        if not chunk:
            break
        buf += chunk
    return buf


def _assert_closed_by_peer(c: pysocket.socket, timeout: float = 5.0) -> None:
    """The nanopy side must close this connection (EOF or reset) within ``timeout``."""
    c.settimeout(timeout)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if not c.recv(65536):
                return
    except (ConnectionResetError, BrokenPipeError):
        return
    except pysocket.timeout:
        pass
    raise AssertionError("nanopy kept the hostile connection open")


def _wait_connections(s: int, count: int, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while nanopy.nn_get_statistic(s, nanopy.NN_STAT_CURRENT_CONNECTIONS) != count:
        if time.monotonic() > deadline:
            now = nanopy.nn_get_statistic(s, nanopy.NN_STAT_CURRENT_CONNECTIONS)
            raise AssertionError(f"socket {s} has {now} connection(s), expected {count}")
        time.sleep(0.005)


def _good_peer_exchanges(nn, s: int, url: str) -> None:
    _wait_connections(s, 0)
    good = nn(nanopy.NN_PAIR)
    nanopy.nn_connect(good, url)
    wait_connected(good)
    wait_connected(s)
    nanopy.nn_send(good, b"good-ping")
    assert nanopy.nn_recv(s) == b"good-ping"
    nanopy.nn_send(s, b"good-pong")
    assert nanopy.nn_recv(good) == b"good-pong"


# ---- tcp -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [
        b"\x00SP\x01\x00\x10\x00\x00",  # wrong mapping version
        b"GET / HTTP/1.1\r\n",  # not SP at all
        b"\xff" * 8,
        b"\x00SQ\x00\x00\x10\x00\x00",
    ],
    ids=["bad-version", "http", "ff", "bad-magic"],
)
def test_tcp_wrong_sp_header_is_dropped(nn, bound, header: bytes) -> None:
    s, port = bound
    c = _peer(port)
    c.sendall(header)
    _assert_closed_by_peer(c)
    c.close()
    _good_peer_exchanges(nn, s, f"tcp://127.0.0.1:{port}")


@pytest.mark.parametrize("proto", [0x20, 0x21, 0x30, 0x51, 0x70, 0x11, 0xFFFF])
def test_tcp_wrong_protocol_id_is_dropped(nn, bound, proto: int) -> None:
    s, port = bound
    c = _peer(port)
    c.sendall(b"\x00SP\x00" + struct.pack(">H", proto) + b"\x00\x00")
    _assert_closed_by_peer(c)
    c.close()
    _good_peer_exchanges(nn, s, f"tcp://127.0.0.1:{port}")


def test_tcp_server_sends_its_pair_header(bound) -> None:
    s, port = bound
    c = _peer(port)
    try:
        c.sendall(PAIR_HEADER)
        assert _recv_exact(c, 8) == PAIR_HEADER
    finally:
        c.close()


def test_tcp_wrong_protocol_id_is_not_counted_as_connection(nn, bound) -> None:
    s, port = bound
    c = _peer(port)
    c.sendall(b"\x00SP\x00\x00\x20\x00\x00")
    _assert_closed_by_peer(c)
    c.close()
    assert nanopy.nn_get_statistic(s, nanopy.NN_STAT_CURRENT_CONNECTIONS) == 0


def test_tcp_reserved_header_bytes_are_tolerated(nn, bound) -> None:
    s, port = bound
    c = _peer(port)
    try:
        c.sendall(b"\x00SP\x00\x00\x10\xab\xcd" + struct.pack(">Q", 2) + b"hi")
        assert nanopy.nn_recv(s) == b"hi"
    finally:
        c.close()


@pytest.mark.parametrize("maxsize", [None, -1], ids=["default-rcvmaxsize", "unlimited"])
def test_tcp_huge_length_prefix_is_dropped(nn, bound, maxsize) -> None:
    s, port = bound
    if maxsize is not None:
        nanopy.nn_setsockopt(s, SOL, nanopy.NN_RCVMAXSIZE, maxsize)
    c = _peer(port)
    c.sendall(PAIR_HEADER + struct.pack(">Q", 1 << 63) + b"x" * 64)
    _assert_closed_by_peer(c)
    c.close()
    _good_peer_exchanges(nn, s, f"tcp://127.0.0.1:{port}")


def test_tcp_max_length_prefix_with_unlimited_rcvmaxsize_is_dropped(nn, bound) -> None:
    s, port = bound
    nanopy.nn_setsockopt(s, SOL, nanopy.NN_RCVMAXSIZE, -1)
    c = _peer(port)
    c.sendall(PAIR_HEADER + b"\xff" * 8 + b"x" * 64)
    _assert_closed_by_peer(c)
    c.close()
    _good_peer_exchanges(nn, s, f"tcp://127.0.0.1:{port}")


def test_tcp_frame_over_rcvmaxsize_is_not_delivered(nn, bound) -> None:
    s, port = bound
    nanopy.nn_setsockopt(s, SOL, nanopy.NN_RCVMAXSIZE, 4)
    c = _peer(port)
    c.sendall(PAIR_HEADER + struct.pack(">Q", 5) + b"ABCDE")
    _assert_closed_by_peer(c)
    c.close()
    with pytest.raises(nanopy.Again):
        nanopy.nn_recv(s, nanopy.NN_DONTWAIT)


def test_tcp_frame_at_rcvmaxsize_is_delivered(nn, bound) -> None:
    s, port = bound
    nanopy.nn_setsockopt(s, SOL, nanopy.NN_RCVMAXSIZE, 4)
    c = _peer(port)
    try:
        c.sendall(PAIR_HEADER + struct.pack(">Q", 4) + b"ABCD")
        assert nanopy.nn_recv(s) == b"ABCD"
    finally:
        c.close()


def test_tcp_truncated_frame_then_close(nn, bound) -> None:
    s, port = bound
    c = _peer(port)
    c.sendall(PAIR_HEADER + struct.pack(">Q", 100) + b"only ten b")
    time.sleep(0.05)
    c.close()
    _good_peer_exchanges(nn, s, f"tcp://127.0.0.1:{port}")
    with pytest.raises(nanopy.Again):
        nanopy.nn_recv(s, nanopy.NN_DONTWAIT)


def test_tcp_truncated_handshake_then_close(nn, bound) -> None:
    s, port = bound
    c = _peer(port)
    c.sendall(PAIR_HEADER[:5])
    time.sleep(0.05)
    c.close()
    _good_peer_exchanges(nn, s, f"tcp://127.0.0.1:{port}")


def test_tcp_silent_peer_is_dropped_after_handshake_timeout(nn, bound) -> None:
    s, port = bound
    c = _peer(port)
    try:
        _assert_closed_by_peer(c, timeout=5.0)
    finally:
        c.close()


@pytest.mark.timeout(30)
def test_tcp_byte_at_a_time_sender_is_delivered(nn, bound) -> None:
    s, port = bound
    c = _peer(port)
    c.setsockopt(pysocket.IPPROTO_TCP, pysocket.TCP_NODELAY, 1)
    try:
        data = PAIR_HEADER + struct.pack(">Q", 5) + b"hello"
        for i in range(len(data)):
            c.send(data[i : i + 1])
            time.sleep(0.01)
        assert nanopy.nn_recv(s) == b"hello"
        nanopy.nn_send(s, b"reply")
        got = _recv_exact(c, 8 + 8 + 5)
        assert got == PAIR_HEADER + struct.pack(">Q", 5) + b"reply"
    finally:
        c.close()


def test_tcp_zero_length_frame_from_raw_peer(nn, bound) -> None:
    s, port = bound
    c = _peer(port)
    try:
        c.sendall(PAIR_HEADER + struct.pack(">Q", 0))
        assert nanopy.nn_recv(s) == b""
    finally:
        c.close()


@pytest.mark.timeout(60)
def test_tcp_200_connections_opened_and_dropped(nn, bound) -> None:
    s, port = bound
    conns = []
    for i in range(200):
        c = pysocket.create_connection(("127.0.0.1", port), timeout=5)
        if i % 2:
            c.sendall(PAIR_HEADER)
        conns.append(c)
    for c in conns:
        c.close()
    _good_peer_exchanges(nn, s, f"tcp://127.0.0.1:{port}")


@pytest.mark.timeout(60)
def test_tcp_200_valid_handshakes_closed_at_once_leave_no_zombie(nn, bound) -> None:
    s, port = bound
    conns = []
    for _ in range(200):
        c = pysocket.create_connection(("127.0.0.1", port), timeout=5)
        c.sendall(PAIR_HEADER)
        conns.append(c)
    # Every handshake has been judged: one kept as the PAIR peer, the others turned away.
    wait_stat(s, nanopy.NN_STAT_ACCEPTED_CONNECTIONS, 200)
    wait_stat(s, nanopy.NN_STAT_BROKEN_CONNECTIONS, 199)
    for c in conns:
        c.setsockopt(pysocket.SOL_SOCKET, pysocket.SO_LINGER, struct.pack("ii", 1, 0))
        c.close()
    _good_peer_exchanges(nn, s, f"tcp://127.0.0.1:{port}")


# ---- ipc -----------------------------------------------------------------------------


def _ipc_bound(nn, tmp_ipc_dir: str) -> tuple[int, str, str]:
    s = nn(nanopy.NN_PAIR)
    path = f"{tmp_ipc_dir}/hostile.ipc"
    nanopy.nn_bind(s, f"ipc://{path}")
    return s, path, f"ipc://{path}"


def _ipc_peer(path: str) -> pysocket.socket:
    c = pysocket.socket(pysocket.AF_UNIX, pysocket.SOCK_STREAM)
    c.settimeout(5)
    c.connect(path)
    return c


@pytest.mark.parametrize("type_byte", [0x00, 0x02, 0x7F, 0xFF])
def test_ipc_unknown_type_byte_is_dropped(nn, tmp_ipc_dir, type_byte: int) -> None:
    s, path, url = _ipc_bound(nn, tmp_ipc_dir)
    c = _ipc_peer(path)
    c.sendall(PAIR_HEADER + bytes([type_byte]) + struct.pack(">Q", 2) + b"hi")
    _assert_closed_by_peer(c)
    c.close()
    with pytest.raises(nanopy.Again):
        nanopy.nn_recv(s, nanopy.NN_DONTWAIT)
    _good_peer_exchanges(nn, s, url)


def test_ipc_valid_in_band_frame_from_raw_peer_is_delivered(nn, tmp_ipc_dir) -> None:
    s, path, url = _ipc_bound(nn, tmp_ipc_dir)
    c = _ipc_peer(path)
    try:
        c.sendall(PAIR_HEADER + b"\x01" + struct.pack(">Q", 2) + b"hi")
        assert nanopy.nn_recv(s) == b"hi"
        nanopy.nn_send(s, b"yo")
        assert _recv_exact(c, 8 + 1 + 8 + 2) == PAIR_HEADER + b"\x01" + struct.pack(">Q", 2) + b"yo"
    finally:
        c.close()


def test_ipc_wrong_sp_header_is_dropped(nn, tmp_ipc_dir) -> None:
    s, path, url = _ipc_bound(nn, tmp_ipc_dir)
    c = _ipc_peer(path)
    c.sendall(b"\x00SP\x00\x00\x51\x00\x00")
    _assert_closed_by_peer(c)
    c.close()
    _good_peer_exchanges(nn, s, url)


def test_ipc_huge_length_prefix_is_dropped(nn, tmp_ipc_dir) -> None:
    s, path, url = _ipc_bound(nn, tmp_ipc_dir)
    nanopy.nn_setsockopt(s, SOL, nanopy.NN_RCVMAXSIZE, -1)
    c = _ipc_peer(path)
    c.sendall(PAIR_HEADER + b"\x01" + struct.pack(">Q", 1 << 63) + b"x" * 16)
    _assert_closed_by_peer(c)
    c.close()
    _good_peer_exchanges(nn, s, url)


# ---- a hostile *server*: the connecting side must survive it too ----------------------


def test_connecting_side_survives_garbage_server(nn) -> None:
    srv = pysocket.socket(pysocket.AF_INET, pysocket.SOCK_STREAM)
    srv.bind(("127.0.0.1", 0))
    srv.listen(5)
    srv.settimeout(5)
    port = srv.getsockname()[1]
    try:
        s = nn(nanopy.NN_PAIR, timeout=200)
        nanopy.nn_connect(s, f"tcp://127.0.0.1:{port}")
        conn, _ = srv.accept()
        conn.sendall(PAIR_HEADER + struct.pack(">Q", 1 << 63) + b"zz")
        conn.settimeout(5)
        _assert_closed_by_peer(conn)
        conn.close()
        with pytest.raises(nanopy.Timeout):
            nanopy.nn_recv(s)
    finally:
        srv.close()
