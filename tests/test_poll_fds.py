"""nn_poll and the NN_SNDFD/NN_RCVFD readiness descriptors (which
socket states make them readable or writable; nanomsg's tests/poll.c)."""

from __future__ import annotations

import select
import threading
import time

import pytest
from conftest import wait_connected

import nanopy

SOL = nanopy.NN_SOL_SOCKET
IN = nanopy.NN_POLLIN
OUT = nanopy.NN_POLLOUT


def _pair(nn, url: str | None = None) -> tuple[int, int]:
    url = url or f"inproc://poll-{time.monotonic_ns()}"
    a = nn(nanopy.NN_PAIR)
    b = nn(nanopy.NN_PAIR)
    nanopy.nn_bind(a, url)
    nanopy.nn_connect(b, url)
    wait_connected(a)
    wait_connected(b)
    return a, b


def _readable(fd: int, timeout: float) -> bool:
    r, _, _ = select.select([fd], [], [], timeout)
    return fd in r


def _rcvfd(s: int) -> int:
    return int(nanopy.nn_getsockopt(s, SOL, nanopy.NN_RCVFD))


def _sndfd(s: int) -> int:
    return int(nanopy.nn_getsockopt(s, SOL, nanopy.NN_SNDFD))


def _wait_readable(fd: int, timeout: float = 5.0) -> bool:
    return _readable(fd, timeout)


# ---- nn_poll -------------------------------------------------------------------------


def test_poll_pending_message_gives_in_and_out(nn) -> None:
    a, b = _pair(nn)
    nanopy.nn_send(b, b"ABC")
    assert _wait_readable(_rcvfd(a))
    assert nanopy.nn_poll([(a, IN | OUT), (b, IN | OUT)], 1000) == [IN | OUT, OUT]


def test_poll_returns_one_revents_per_entry(nn) -> None:
    a, b = _pair(nn)
    result = nanopy.nn_poll([(a, OUT), (b, OUT), (a, OUT)], 1000)
    assert result == [OUT, OUT, OUT]


def test_poll_only_reports_requested_events(nn) -> None:
    a, b = _pair(nn)
    nanopy.nn_send(b, b"ABC")
    assert _wait_readable(_rcvfd(a))
    assert nanopy.nn_poll([(a, IN)], 1000) == [IN]


@pytest.mark.timeout(10)
def test_poll_times_out_with_no_events(nn) -> None:
    s = nn(nanopy.NN_PAIR)
    start = time.monotonic()
    result = nanopy.nn_poll([(s, IN)], 100)
    elapsed = time.monotonic() - start
    assert result == [0]
    assert 0.09 <= elapsed < 2.0


def test_poll_zero_timeout_returns_immediately(nn) -> None:
    s = nn(nanopy.NN_PAIR)
    assert nanopy.nn_poll([(s, IN | OUT)], 0) == [0]


def test_poll_in_cleared_after_recv(nn) -> None:
    a, b = _pair(nn)
    nanopy.nn_send(b, b"ABC")
    assert nanopy.nn_recv(a) == b"ABC"
    assert nanopy.nn_poll([(a, IN)], 0) == [0]


@pytest.mark.timeout(10)
def test_poll_wakes_when_another_thread_sends(nn) -> None:
    a, b = _pair(nn)
    t = threading.Timer(0.1, lambda: nanopy.nn_send(b, b"late"))
    t.start()
    try:
        assert nanopy.nn_poll([(a, IN)], 5000) == [IN]
    finally:
        t.join()


def test_poll_in_on_send_only_socket_is_enoprotoopt(nn) -> None:
    s = nn(nanopy.NN_PUSH)
    with pytest.raises(nanopy.NNError) as info:
        nanopy.nn_poll([(s, IN)], 0)
    assert info.value.errno == nanopy.ENOPROTOOPT


def test_poll_out_on_receive_only_socket_is_enoprotoopt(nn) -> None:
    s = nn(nanopy.NN_PULL)
    with pytest.raises(nanopy.NNError) as info:
        nanopy.nn_poll([(s, OUT)], 0)
    assert info.value.errno == nanopy.ENOPROTOOPT


def test_poll_bad_socket_is_ebadf() -> None:
    with pytest.raises(nanopy.NNError) as info:
        nanopy.nn_poll([(100000, IN)], 0)
    assert info.value.errno == nanopy.EBADF


@pytest.mark.timeout(10)
def test_poll_with_no_entries_sleeps(nn) -> None:
    start = time.monotonic()
    assert nanopy.nn_poll([], 100) == []
    assert time.monotonic() - start >= 0.09


# ---- NN_RCVFD / NN_SNDFD with select() -----------------------------------------------


def test_fresh_unconnected_pair_rcvfd_not_readable(nn) -> None:
    s = nn(nanopy.NN_PAIR)
    assert not _readable(_rcvfd(s), 0.05)


def test_fresh_unconnected_pair_sndfd_not_readable(nn) -> None:
    s = nn(nanopy.NN_PAIR)
    assert not _readable(_sndfd(s), 0.05)


def test_connected_pair_sndfd_readable_rcvfd_not(nn) -> None:
    a, b = _pair(nn)
    assert _wait_readable(_sndfd(b))
    assert not _readable(_rcvfd(b), 0.05)


def test_rcvfd_readable_after_message_arrives(nn, addr) -> None:
    a, b = _pair(nn, addr())
    nanopy.nn_send(a, b"hello")
    assert _wait_readable(_rcvfd(b))


def test_rcvfd_cleared_after_recv(nn, addr) -> None:
    a, b = _pair(nn, addr())
    nanopy.nn_send(a, b"hello")
    assert _wait_readable(_rcvfd(b))
    assert nanopy.nn_recv(b) == b"hello"
    assert not _readable(_rcvfd(b), 0.05)


def test_rcvfd_stays_readable_while_messages_remain(nn) -> None:
    a, b = _pair(nn)
    nanopy.nn_send(a, b"one")
    nanopy.nn_send(a, b"two")
    assert _wait_readable(_rcvfd(b))
    nanopy.nn_recv(b)
    assert _wait_readable(_rcvfd(b), 1.0)
    nanopy.nn_recv(b)
    assert not _readable(_rcvfd(b), 0.05)


@pytest.mark.timeout(10)
def test_rcvfd_signalled_from_another_thread(nn) -> None:
    a, b = _pair(nn)
    fd = _rcvfd(b)
    t = threading.Timer(0.1, lambda: nanopy.nn_send(a, b"from thread"))
    t.start()
    try:
        assert _readable(fd, 5.0)
    finally:
        t.join()
    assert nanopy.nn_recv(b, nanopy.NN_DONTWAIT) == b"from thread"


# The descriptors are kept in step with the socket only from their first use on (until then
# a blocking call sleeps without them): the first getsockopt must bring them up to date.


def test_rcvfd_first_taken_with_a_message_queued_is_readable_at_once(nn) -> None:
    a, b = _pair(nn)
    nanopy.nn_send(a, b"queued")  # inproc: in b's queue when nn_send returns
    fd = _rcvfd(b)
    assert _readable(fd, 0)
    assert nanopy.nn_recv(b) == b"queued"
    assert not _readable(fd, 0)


def test_rcvfd_first_taken_after_blocking_receives(nn, addr) -> None:
    a, b = _pair(nn, addr())
    for _ in range(3):  # blocking receives that sleep before the descriptor exists
        t = threading.Timer(0.05, lambda: nanopy.nn_send(a, b"later"))
        t.start()
        try:
            assert nanopy.nn_recv(b) == b"later"
        finally:
            t.join()
    nanopy.nn_send(a, b"one")
    nanopy.nn_send(a, b"two")
    assert nanopy.nn_recv(b) == b"one"
    fd = _rcvfd(b)
    assert _wait_readable(fd)  # "two" is queued or on its way
    assert nanopy.nn_recv(b, nanopy.NN_DONTWAIT) == b"two"
    assert not _readable(fd, 0.05)


def test_sndfd_first_taken_on_a_connected_socket_is_readable_at_once(nn) -> None:
    a, b = _pair(nn)
    nanopy.nn_send(a, b"x")  # a's send readiness was set before anyone asked for its fd
    assert _readable(_sndfd(a), 0)


def test_readiness_fds_are_stable(nn) -> None:
    s = nn(nanopy.NN_PAIR)
    assert _rcvfd(s) == _rcvfd(s)
    assert _sndfd(s) == _sndfd(s)


def test_sndfd_not_readable_when_inproc_peer_queue_is_full(nn) -> None:
    url = f"inproc://full-{time.monotonic_ns()}"
    rx = nn(nanopy.NN_PAIR)
    tx = nn(nanopy.NN_PAIR, timeout=100)
    nanopy.nn_setsockopt(rx, SOL, nanopy.NN_RCVBUF, 200)
    nanopy.nn_bind(rx, url)
    nanopy.nn_connect(tx, url)
    wait_connected(tx)
    for _ in range(20):
        nanopy.nn_send(tx, b"0123456789")
    assert not _readable(_sndfd(tx), 0.05)
    nanopy.nn_recv(rx)
    assert _wait_readable(_sndfd(tx))


@pytest.mark.timeout(10)
def test_close_signals_readiness_fd_waiters(nn) -> None:
    s = nanopy.nn_socket(nanopy.AF_SP, nanopy.NN_PAIR)
    fd = _rcvfd(s)
    woke: list[bool] = []

    def waiter() -> None:
        try:
            r, _, _ = select.select([fd], [], [], 5.0)
            woke.append(bool(r))
        except (OSError, ValueError):
            woke.append(True)

    t = threading.Thread(target=waiter)
    t.start()
    time.sleep(0.1)
    nanopy.nn_close(s)
    t.join(6)
    assert woke == [True]


def test_sndfd_cleared_when_the_only_peer_goes_away(nn, addr) -> None:
    a, b = _pair(nn, addr())
    fd = _sndfd(a)
    assert _wait_readable(fd)
    nanopy.nn_setsockopt(b, SOL, nanopy.NN_LINGER, 0)
    nanopy.nn_close(b)
    deadline = time.monotonic() + 5
    while nanopy.nn_get_statistic(a, nanopy.NN_STAT_CURRENT_CONNECTIONS):
        assert time.monotonic() < deadline
        time.sleep(0.005)
    assert not _readable(fd, 0.05)
    assert nanopy.nn_poll([(a, OUT)], 0) == [0]
