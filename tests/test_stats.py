"""nn_get_statistic (connection and message counters; nanomsg's tests/stats.c and
bug328.c adapted to PAIR)."""

from __future__ import annotations

import time

import pytest
from conftest import bind_any_port, unclaimed_tcp_port, wait_connected

import nanopy

SOL = nanopy.NN_SOL_SOCKET


def stat(s: int, which: str) -> int:
    return int(nanopy.nn_get_statistic(s, getattr(nanopy, f"NN_STAT_{which}")))


def _wait_stat(s: int, which: str, value: int, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while stat(s, which) != value:
        if time.monotonic() > deadline:
            raise AssertionError(f"{which} is {stat(s, which)}, expected {value}")
        time.sleep(0.005)


@pytest.fixture
def tcp_pair(nn):
    """(bound, connecting) PAIR over tcp, connected."""
    bound = nn(nanopy.NN_PAIR)
    conn = nn(nanopy.NN_PAIR)
    url = bind_any_port(bound)
    nanopy.nn_connect(conn, url)
    wait_connected(bound)
    wait_connected(conn)
    return bound, conn


ALL_STATS = [
    "ESTABLISHED_CONNECTIONS", "ACCEPTED_CONNECTIONS", "DROPPED_CONNECTIONS",
    "BROKEN_CONNECTIONS", "CONNECT_ERRORS", "BIND_ERRORS", "ACCEPT_ERRORS",
    "CURRENT_CONNECTIONS", "INPROGRESS_CONNECTIONS", "CURRENT_EP_ERRORS",
    "MESSAGES_SENT", "MESSAGES_RECEIVED", "BYTES_SENT", "BYTES_RECEIVED",
]


@pytest.mark.parametrize("which", ALL_STATS)
def test_fresh_socket_statistic_is_zero(nn, which: str) -> None:
    s = nn(nanopy.NN_PAIR)
    assert stat(s, which) == 0


def test_statistic_ids_have_nanomsg_values() -> None:
    assert [getattr(nanopy, f"NN_STAT_{w}") for w in ALL_STATS] == [
        101, 102, 103, 104, 105, 106, 107, 201, 202, 203, 301, 302, 303, 304,
    ]
    assert nanopy.NN_STAT_CURRENT_SND_PRIORITY == 401


def test_bound_side_counts_accepted_not_established(tcp_pair) -> None:
    bound, _ = tcp_pair
    assert stat(bound, "ACCEPTED_CONNECTIONS") == 1
    assert stat(bound, "ESTABLISHED_CONNECTIONS") == 0
    assert stat(bound, "CURRENT_CONNECTIONS") == 1


def test_connecting_side_counts_established_not_accepted(tcp_pair) -> None:
    _, conn = tcp_pair
    assert stat(conn, "ESTABLISHED_CONNECTIONS") == 1
    assert stat(conn, "ACCEPTED_CONNECTIONS") == 0
    assert stat(conn, "CURRENT_CONNECTIONS") == 1


def test_connected_socket_has_no_connection_in_progress(tcp_pair) -> None:
    _, conn = tcp_pair
    assert stat(conn, "INPROGRESS_CONNECTIONS") == 0


def test_message_and_byte_counters_on_sender(tcp_pair) -> None:
    bound, conn = tcp_pair
    nanopy.nn_send(conn, b"ABC")
    nanopy.nn_recv(bound)
    assert stat(conn, "MESSAGES_SENT") == 1
    assert stat(conn, "BYTES_SENT") == 3
    assert stat(conn, "MESSAGES_RECEIVED") == 0
    assert stat(conn, "BYTES_RECEIVED") == 0


def test_message_and_byte_counters_on_receiver(tcp_pair) -> None:
    bound, conn = tcp_pair
    nanopy.nn_send(conn, b"ABC")
    nanopy.nn_recv(bound)
    assert stat(bound, "MESSAGES_RECEIVED") == 1
    assert stat(bound, "BYTES_RECEIVED") == 3
    assert stat(bound, "MESSAGES_SENT") == 0


def test_counters_after_request_and_reply(tcp_pair) -> None:
    bound, conn = tcp_pair
    nanopy.nn_send(conn, b"ABC")
    nanopy.nn_recv(bound)
    nanopy.nn_send(bound, b"OK")
    nanopy.nn_recv(conn)
    assert (stat(bound, "MESSAGES_SENT"), stat(bound, "BYTES_SENT")) == (1, 2)
    assert (stat(conn, "MESSAGES_RECEIVED"), stat(conn, "BYTES_RECEIVED")) == (1, 2)


def test_failed_send_is_not_counted(nn) -> None:
    s = nn(nanopy.NN_PAIR)
    with pytest.raises(nanopy.Again):
        nanopy.nn_send(s, b"ABC", nanopy.NN_DONTWAIT)
    assert stat(s, "MESSAGES_SENT") == 0
    assert stat(s, "BYTES_SENT") == 0


def test_sendmsg_counts_body_bytes(tcp_pair) -> None:
    bound, conn = tcp_pair
    nanopy.nn_sendmsg(conn, [b"AB", b"CDE"])
    nanopy.nn_recv(bound)
    assert stat(conn, "BYTES_SENT") == 5
    assert stat(bound, "BYTES_RECEIVED") == 5


def test_bound_current_drops_to_zero_when_peer_closes_accepted_stays(tcp_pair) -> None:
    bound, conn = tcp_pair
    nanopy.nn_close(conn)
    _wait_stat(bound, "CURRENT_CONNECTIONS", 0)
    assert stat(bound, "ACCEPTED_CONNECTIONS") == 1


def test_bound_counts_broken_connection_when_peer_closes(tcp_pair) -> None:
    bound, conn = tcp_pair
    nanopy.nn_close(conn)
    _wait_stat(bound, "CURRENT_CONNECTIONS", 0)
    assert stat(bound, "BROKEN_CONNECTIONS") == 1


def test_connecting_current_drops_to_zero_when_bound_peer_closes(tcp_pair) -> None:
    bound, conn = tcp_pair
    nanopy.nn_setsockopt(bound, SOL, nanopy.NN_LINGER, 0)
    nanopy.nn_close(bound)
    _wait_stat(conn, "CURRENT_CONNECTIONS", 0, timeout=2.0)


def test_connect_to_nothing_counts_connect_errors(nn) -> None:
    s = nn(nanopy.NN_PAIR)
    nanopy.nn_connect(s, f"tcp://127.0.0.1:{unclaimed_tcp_port()}")
    deadline = time.monotonic() + 5
    while stat(s, "CONNECT_ERRORS") == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert stat(s, "CONNECT_ERRORS") >= 1
    assert stat(s, "CURRENT_CONNECTIONS") == 0


def test_inproc_connector_counts_established(nn) -> None:
    url = f"inproc://stats-{time.monotonic_ns()}"
    a = nn(nanopy.NN_PAIR)
    b = nn(nanopy.NN_PAIR)
    nanopy.nn_bind(a, url)
    nanopy.nn_connect(b, url)
    wait_connected(b)
    assert stat(b, "ESTABLISHED_CONNECTIONS") == 1


@pytest.mark.parametrize("sid", [0, 100, 999, 9999, -1])
def test_unknown_statistic_is_einval(nn, sid: int) -> None:
    s = nn(nanopy.NN_PAIR)
    with pytest.raises(nanopy.NNError) as info:
        nanopy.nn_get_statistic(s, sid)
    assert info.value.errno == nanopy.EINVAL


def test_statistic_of_bad_socket_is_ebadf() -> None:
    with pytest.raises(nanopy.NNError) as info:
        nanopy.nn_get_statistic(100000, nanopy.NN_STAT_MESSAGES_SENT)
    assert info.value.errno == nanopy.EBADF
