"""PUSH/PULL semantics (load-balanced sends, fair-queued receives; nanomsg tests/pipeline.c)."""

from __future__ import annotations

import pytest
from conftest import wait_connected

import nanopy


def test_push_to_pull_delivers_in_order(nn, addr) -> None:
    url = addr()
    pull = nn(nanopy.NN_PULL)
    push = nn(nanopy.NN_PUSH)
    nanopy.nn_bind(pull, url)
    nanopy.nn_connect(push, url)
    for i in range(50):
        nanopy.nn_send(push, b"m%d" % i)
    assert [nanopy.nn_recv(pull) for _ in range(50)] == [b"m%d" % i for i in range(50)]


def test_fan_out_alternates_between_pullers(nn, addr) -> None:
    url = addr()
    push = nn(nanopy.NN_PUSH)
    nanopy.nn_bind(push, url)
    pull1 = nn(nanopy.NN_PULL)
    pull2 = nn(nanopy.NN_PULL)
    nanopy.nn_connect(pull1, url)
    nanopy.nn_connect(pull2, url)
    wait_connected(push, 2)
    for i in range(10):
        nanopy.nn_send(push, b"%d" % i)
    first = [nanopy.nn_recv(pull1) for _ in range(5)]
    second = [nanopy.nn_recv(pull2) for _ in range(5)]
    assert sorted(first + second, key=int) == [b"%d" % i for i in range(10)]
    # strict round-robin: each puller got every other message
    assert {int(x) % 2 for x in first} in ({0}, {1})
    assert {int(x) % 2 for x in second} in ({0}, {1})


def test_fan_in_from_two_pushers(nn, addr) -> None:
    url = addr()
    pull = nn(nanopy.NN_PULL)
    nanopy.nn_bind(pull, url)
    push1 = nn(nanopy.NN_PUSH)
    push2 = nn(nanopy.NN_PUSH)
    nanopy.nn_connect(push1, url)
    nanopy.nn_connect(push2, url)
    nanopy.nn_send(push1, b"foo")
    nanopy.nn_send(push2, b"bar")
    assert sorted([nanopy.nn_recv(pull), nanopy.nn_recv(pull)]) == [b"bar", b"foo"]


def test_push_without_peer_times_out(nn) -> None:
    push = nn(nanopy.NN_PUSH, timeout=100)
    with pytest.raises(nanopy.Timeout):
        nanopy.nn_send(push, b"nobody")


def test_push_without_peer_dontwait_is_eagain(nn) -> None:
    push = nn(nanopy.NN_PUSH)
    with pytest.raises(nanopy.Again):
        nanopy.nn_send(push, b"nobody", nanopy.NN_DONTWAIT)


def test_push_blocks_until_pull_connects(nn, addr) -> None:
    url = addr()
    push = nn(nanopy.NN_PUSH)
    nanopy.nn_setsockopt(push, nanopy.NN_SOL_SOCKET, nanopy.NN_RECONNECT_IVL, 20)
    nanopy.nn_connect(push, url)
    pull = nn(nanopy.NN_PULL)
    nanopy.nn_bind(pull, url)
    nanopy.nn_send(push, b"late")  # waits (up to 5 s) for the connection
    assert nanopy.nn_recv(pull) == b"late"


def test_recv_on_push_is_enotsup(nn) -> None:
    push = nn(nanopy.NN_PUSH)
    with pytest.raises(nanopy.NNError) as info:
        nanopy.nn_recv(push)
    assert info.value.errno == nanopy.ENOTSUP


def test_send_on_pull_is_enotsup(nn) -> None:
    pull = nn(nanopy.NN_PULL)
    with pytest.raises(nanopy.NNError) as info:
        nanopy.nn_send(pull, b"x")
    assert info.value.errno == nanopy.ENOTSUP


def test_raw_push_pull_pass_messages(nn, addr) -> None:
    url = addr()
    pull = nn(nanopy.NN_PULL, domain=nanopy.AF_SP_RAW)
    push = nn(nanopy.NN_PUSH, domain=nanopy.AF_SP_RAW)
    nanopy.nn_bind(pull, url)
    nanopy.nn_connect(push, url)
    nanopy.nn_send(push, b"raw")
    assert nanopy.nn_recvmsg(pull) == (b"raw", b"")


def test_send_many_recv_many_batch(nn, addr) -> None:
    url = addr()
    pull = nn(nanopy.NN_PULL)
    push = nn(nanopy.NN_PUSH)
    nanopy.nn_bind(pull, url)
    nanopy.nn_connect(push, url)
    msgs = [b"b%d" % i for i in range(1000)]
    assert nanopy.send_many(push, msgs) == 1000
    got: list[bytes] = []
    while len(got) < 1000:
        batch = nanopy.recv_many(pull, 256)
        assert 1 <= len(batch) <= 256
        got.extend(batch)
    assert got == msgs
