"""Incompatible protocols never connect (the SP handshake rejects a peer of the
wrong protocol; nanomsg tests/separation.c)."""

from __future__ import annotations

import time

import pytest
from conftest import unclaimed_tcp_port, wait_refused

import nanopy


def _assert_never_connects(nn, url, bind_first):
    pair = nn(nanopy.NN_PAIR, timeout=100)
    pull = nn(nanopy.NN_PULL)
    if bind_first:
        nanopy.nn_bind(pull, url)
        nanopy.nn_connect(pair, url)
    else:
        nanopy.nn_connect(pair, url)
        nanopy.nn_bind(pull, url)
    wait_refused(pull, url)
    with pytest.raises(nanopy.Timeout):
        nanopy.nn_send(pair, b"ABC")
    assert nanopy.nn_get_statistic(pair, nanopy.NN_STAT_CURRENT_CONNECTIONS) == 0
    assert nanopy.nn_get_statistic(pull, nanopy.NN_STAT_CURRENT_CONNECTIONS) == 0


@pytest.mark.parametrize("bind_first", [True, False], ids=["bind-first", "connect-first"])
def test_pair_and_pull_never_connect_inproc(nn, bind_first) -> None:
    _assert_never_connects(nn, f"inproc://separation-{bind_first}", bind_first)


def test_pair_and_pull_never_connect_ipc(nn, tmp_ipc_dir) -> None:
    _assert_never_connects(nn, f"ipc://{tmp_ipc_dir}/sep.ipc", True)


def test_pair_and_pull_never_connect_tcp(nn) -> None:
    _assert_never_connects(nn, f"tcp://127.0.0.1:{unclaimed_tcp_port()}", True)


@pytest.mark.parametrize(
    "a,b",
    [
        (nanopy.NN_REQ, nanopy.NN_REQ),
        (nanopy.NN_PUB, nanopy.NN_PUB),
        (nanopy.NN_PUSH, nanopy.NN_REP),
        (nanopy.NN_SURVEYOR, nanopy.NN_REP),
        (nanopy.NN_BUS, nanopy.NN_PAIR),
    ],
)
def test_mismatched_protocols_have_no_connection(nn, addr, a, b) -> None:
    url = addr()
    s1, s2 = nn(a), nn(b)
    nanopy.nn_bind(s1, url)
    nanopy.nn_connect(s2, url)
    wait_refused(s1, url)
    assert nanopy.nn_get_statistic(s1, nanopy.NN_STAT_CURRENT_CONNECTIONS) == 0
    assert nanopy.nn_get_statistic(s2, nanopy.NN_STAT_CURRENT_CONNECTIONS) == 0


@pytest.mark.parametrize(
    "a,b",
    [
        (nanopy.NN_PAIR, nanopy.NN_PAIR),
        (nanopy.NN_PUB, nanopy.NN_SUB),
        (nanopy.NN_REQ, nanopy.NN_REP),
        (nanopy.NN_PUSH, nanopy.NN_PULL),
        (nanopy.NN_SURVEYOR, nanopy.NN_RESPONDENT),
        (nanopy.NN_BUS, nanopy.NN_BUS),
    ],
)
def test_matching_protocols_connect(nn, addr, a, b) -> None:
    url = addr()
    s1, s2 = nn(a), nn(b)
    nanopy.nn_bind(s1, url)
    nanopy.nn_connect(s2, url)
    deadline = time.monotonic() + 5
    while nanopy.nn_get_statistic(s1, nanopy.NN_STAT_CURRENT_CONNECTIONS) < 1:
        assert time.monotonic() < deadline
        time.sleep(0.005)
