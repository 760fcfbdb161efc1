"""NN_SNDPRIO / NN_RCVPRIO (the best-priority peer that can take or give a message wins;
nanomsg tests/prio.c)."""

from __future__ import annotations

import time

import pytest
from conftest import wait_connected

import nanopy


def _setprio(s, option, value):
    nanopy.nn_setsockopt(s, nanopy.NN_SOL_SOCKET, option, value)


def test_sndprio_sends_everything_to_best_priority(nn, addr) -> None:
    a1, a2 = addr(), addr()
    pull1 = nn(nanopy.NN_PULL)
    pull2 = nn(nanopy.NN_PULL, timeout=300)
    nanopy.nn_bind(pull1, a1)
    nanopy.nn_bind(pull2, a2)
    push = nn(nanopy.NN_PUSH)
    _setprio(push, nanopy.NN_SNDPRIO, 2)
    nanopy.nn_connect(push, a2)
    _setprio(push, nanopy.NN_SNDPRIO, 1)
    nanopy.nn_connect(push, a1)
    wait_connected(push, 2)
    nanopy.nn_send(push, b"ABC")
    nanopy.nn_send(push, b"DEF")
    assert nanopy.nn_recv(pull1) == b"ABC"
    assert nanopy.nn_recv(pull1) == b"DEF"
    with pytest.raises(nanopy.Timeout):
        nanopy.nn_recv(pull2)


def test_sndprio_fails_over_to_worse_priority(nn, addr) -> None:
    a1, a2 = addr(), addr()
    pull1 = nn(nanopy.NN_PULL)
    pull2 = nn(nanopy.NN_PULL)
    nanopy.nn_bind(pull1, a1)
    nanopy.nn_bind(pull2, a2)
    push = nn(nanopy.NN_PUSH)
    _setprio(push, nanopy.NN_SNDPRIO, 1)
    nanopy.nn_connect(push, a1)
    _setprio(push, nanopy.NN_SNDPRIO, 2)
    nanopy.nn_connect(push, a2)
    wait_connected(push, 2)
    _setprio(pull1, nanopy.NN_LINGER, 0)
    nanopy.nn_close(pull1)
    deadline = time.monotonic() + 5
    while nanopy.nn_get_statistic(push, nanopy.NN_STAT_CURRENT_CONNECTIONS) > 1:
        assert time.monotonic() < deadline
        time.sleep(0.005)
    nanopy.nn_send(push, b"fallback")
    assert nanopy.nn_recv(pull2) == b"fallback"


def _send_then_close(push: int, pull: int, messages: list[bytes], conns_left: int) -> None:
    """Send ``messages`` from ``push`` and close it. The PULL socket has read them all once
    it has seen the connection end (the close comes after the data on the same stream), and
    a closed peer's messages stay queued on its pipe, at its priority, until received."""
    for m in messages:
        nanopy.nn_send(push, m)
    nanopy.nn_close(push)  # default linger: queued messages are flushed first
    deadline = time.monotonic() + 10
    while nanopy.nn_get_statistic(pull, nanopy.NN_STAT_CURRENT_CONNECTIONS) > conns_left:
        assert time.monotonic() < deadline, "PULL never saw the sender's connection end"
        time.sleep(0.005)


def test_rcvprio_drains_best_priority_first(nn, addr) -> None:
    a1, a2 = addr(), addr()
    push_lo = nanopy.nn_socket(nanopy.AF_SP, nanopy.NN_PUSH)
    push_hi = nanopy.nn_socket(nanopy.AF_SP, nanopy.NN_PUSH)
    nanopy.nn_bind(push_lo, a2)
    nanopy.nn_bind(push_hi, a1)
    pull = nn(nanopy.NN_PULL)
    _setprio(pull, nanopy.NN_RCVPRIO, 2)
    nanopy.nn_connect(pull, a2)
    _setprio(pull, nanopy.NN_RCVPRIO, 1)
    nanopy.nn_connect(pull, a1)
    wait_connected(pull, 2)
    # The low-priority messages are queued first, so arrival order alone would hand them
    # out first; only the priority can put the high ones ahead.
    _send_then_close(push_lo, pull, [b"low1", b"low2"], conns_left=1)
    _send_then_close(push_hi, pull, [b"high1", b"high2"], conns_left=0)
    got = [nanopy.nn_recv(pull) for _ in range(4)]
    assert got == [b"high1", b"high2", b"low1", b"low2"]


def test_push_dontwait_after_only_peer_closed_is_eagain_and_new_peer_works(nn, addr) -> None:
    url = addr()
    push = nn(nanopy.NN_PUSH)
    nanopy.nn_bind(push, url)
    pull = nn(nanopy.NN_PULL)
    nanopy.nn_connect(pull, url)
    wait_connected(push)
    nanopy.nn_send(push, b"one")
    assert nanopy.nn_recv(pull) == b"one"
    _setprio(pull, nanopy.NN_LINGER, 0)
    nanopy.nn_close(pull)
    deadline = time.monotonic() + 5
    while nanopy.nn_get_statistic(push, nanopy.NN_STAT_CURRENT_CONNECTIONS) > 0:
        assert time.monotonic() < deadline
        time.sleep(0.005)
    with pytest.raises(nanopy.Again):
        nanopy.nn_send(push, b"two", nanopy.NN_DONTWAIT)
    pull2 = nn(nanopy.NN_PULL)
    nanopy.nn_connect(pull2, url)
    wait_connected(push)
    nanopy.nn_send(push, b"three")
    assert nanopy.nn_recv(pull2) == b"three"


@pytest.mark.parametrize("option", [nanopy.NN_SNDPRIO, nanopy.NN_RCVPRIO])
@pytest.mark.parametrize("value", [0, 17, -1])
def test_priority_out_of_range_is_einval(nn, option, value) -> None:
    s = nn(nanopy.NN_PAIR)
    with pytest.raises(nanopy.NNError) as info:
        _setprio(s, option, value)
    assert info.value.errno == nanopy.EINVAL


@pytest.mark.parametrize("option", [nanopy.NN_SNDPRIO, nanopy.NN_RCVPRIO])
def test_priority_defaults_to_8_and_reads_back(nn, option) -> None:
    s = nn(nanopy.NN_PAIR)
    assert nanopy.nn_getsockopt(s, nanopy.NN_SOL_SOCKET, option) == 8
    _setprio(s, option, 3)
    assert nanopy.nn_getsockopt(s, nanopy.NN_SOL_SOCKET, option) == 3
