"""Nothing is lost or reordered under load: PUSH/PULL streams and REQ/REP round trips."""

from __future__ import annotations

import struct
import threading

import pytest
from conftest import bind_any_port, unclaimed_tcp_port, wait_connected

import nanopy

STREAM = 200_000
ROUND_TRIPS = 20_000


def _url(kind, tmp_ipc_dir):
    if kind == "tcp":
        return f"tcp://127.0.0.1:{unclaimed_tcp_port()}"
    return f"ipc://{tmp_ipc_dir}/noloss.ipc"


def _sender(push, errors, batched):
    try:
        if batched:
            for start in range(0, STREAM, 1000):
                msgs = [struct.pack(">I", i) + b"payload" for i in range(start, start + 1000)]
                assert nanopy.send_many(push, msgs) == len(msgs)
        else:
            for i in range(STREAM):
                nanopy.nn_send(push, struct.pack(">I", i) + b"payload")
    except BaseException as exc:  # noqa: BLE001 - reported by the main thread
        errors.append(exc)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("kind", ["tcp", "ipc"])
@pytest.mark.parametrize("batched", [True, False], ids=["send_many", "send"])
def test_push_pull_200k_in_order_without_loss(nn, tmp_ipc_dir, kind, batched) -> None:
    url = _url(kind, tmp_ipc_dir)
    pull = nn(nanopy.NN_PULL, timeout=20000)
    push = nn(nanopy.NN_PUSH, timeout=20000)
    nanopy.nn_bind(pull, url)
    nanopy.nn_connect(push, url)
    wait_connected(push)
    errors: list[BaseException] = []
    t = threading.Thread(target=_sender, args=(push, errors, batched), daemon=True)
    t.start()
    expected = 0
    while expected < STREAM:
        if batched:
            batch = nanopy.recv_many(pull, 256)
        else:
            batch = [nanopy.nn_recv(pull)]
        for body in batch:
            seq = struct.unpack(">I", body[:4])[0]
            assert seq == expected, f"got #{seq}, expected #{expected}"
            assert body[4:] == b"payload"
            expected += 1
    t.join(30)
    assert not errors, errors
    assert expected == STREAM
    nanopy.nn_setsockopt(pull, nanopy.NN_SOL_SOCKET, nanopy.NN_RCVTIMEO, 200)
    with pytest.raises(nanopy.Timeout):
        nanopy.nn_recv(pull)  # nothing duplicated at the end


def _echo(rep, count, errors):
    try:
        for _ in range(count):
            nanopy.nn_send(rep, b"re:" + nanopy.nn_recv(rep))
    except BaseException as exc:  # noqa: BLE001 - reported by the main thread
        errors.append(exc)


@pytest.mark.timeout(120)
def test_reqrep_20k_round_trips_replies_match_requests(nn) -> None:
    rep = nn(nanopy.NN_REP, timeout=20000)
    req = nn(nanopy.NN_REQ, timeout=20000)
    url = bind_any_port(rep)
    nanopy.nn_connect(req, url)
    wait_connected(req)
    errors: list[BaseException] = []
    t = threading.Thread(target=_echo, args=(rep, ROUND_TRIPS, errors), daemon=True)
    t.start()
    for i in range(ROUND_TRIPS):
        request = b"req-%d" % i
        nanopy.nn_send(req, request)
        assert nanopy.nn_recv(req) == b"re:" + request
    t.join(10)
    assert not errors, errors
    assert not t.is_alive()
    assert nanopy.nn_get_statistic(req, nanopy.NN_STAT_MESSAGES_SENT) == ROUND_TRIPS
    assert nanopy.nn_get_statistic(rep, nanopy.NN_STAT_MESSAGES_RECEIVED) == ROUND_TRIPS


@pytest.mark.timeout(120)
def test_push_pull_200k_inproc_in_order(nn) -> None:
    url = "inproc://noloss-200k"
    pull = nn(nanopy.NN_PULL, timeout=20000)
    push = nn(nanopy.NN_PUSH, timeout=20000)
    nanopy.nn_bind(pull, url)
    nanopy.nn_connect(push, url)
    errors: list[BaseException] = []
    t = threading.Thread(target=_sender, args=(push, errors, True), daemon=True)
    t.start()
    expected = 0
    while expected < STREAM:
        for body in nanopy.recv_many(pull, 256):
            assert struct.unpack(">I", body[:4])[0] == expected
            expected += 1
    t.join(30)
    assert not errors, errors


@pytest.mark.timeout(120)
@pytest.mark.parametrize("kind", ["tcp", "ipc"])
def test_push_skips_stalled_puller_without_losing_messages(nn, tmp_ipc_dir, kind) -> None:
    """One PULL never reads: PUSH keeps feeding the other one, and every message is
    delivered exactly once (the stalled puller gets the rest when it finally reads)."""
    url = _url(kind, tmp_ipc_dir)
    push = nn(nanopy.NN_PUSH, timeout=20000)
    nanopy.nn_bind(push, url)
    fast, stalled = nn(nanopy.NN_PULL, timeout=1000), nn(nanopy.NN_PULL, timeout=1000)
    nanopy.nn_connect(fast, url)
    nanopy.nn_connect(stalled, url)
    wait_connected(push, 2)
    total = 20_000
    payload = b"z" * 1000
    fast_got: list[int] = []
    done = threading.Event()

    def drain_fast() -> None:
        while True:
            try:
                body = nanopy.nn_recv(fast)
            except nanopy.Timeout:
                if done.is_set():
                    return
                continue
            fast_got.append(struct.unpack(">I", body[:4])[0])

    reader = threading.Thread(target=drain_fast, daemon=True)
    reader.start()
    for i in range(total):
        nanopy.nn_send(push, struct.pack(">I", i) + payload)
    done.set()
    reader.join(30)
    stalled_got = []
    while True:
        try:
            stalled_got.append(struct.unpack(">I", nanopy.nn_recv(stalled)[:4])[0])
        except nanopy.Timeout:
            break
    assert fast_got == sorted(fast_got)
    assert stalled_got == sorted(stalled_got)
    assert sorted(fast_got + stalled_got) == list(range(total))
    assert len(fast_got) > len(stalled_got)
