"""Nothing is lost or reordered under load: PUSH/PULL streams and REQ/REP round trips."""

from __future__ import annotations

import struct
import threading

import pytest
from conftest import free_tcp_port, wait_connected

import nanopy

STREAM = 200_000
ROUND_TRIPS = 20_000


def _url(kind, tmp_ipc_dir):
    if kind == "tcp":
        return f"tcp://127.0.0.1:{free_tcp_port()}"
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
    url = f"tcp://127.0.0.1:{free_tcp_port()}"
    rep = nn(nanopy.NN_REP, timeout=20000)
    req = nn(nanopy.NN_REQ, timeout=20000)
    nanopy.nn_bind(rep, url)
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
