"""nn_device between a raw REP and a raw REQ while the REP workers behind it are
SIGKILLed and restarted: the device keeps forwarding (REQ clients in front get answers
from each restarted worker, resending what the killed one swallowed) and ends with
EBADF when its socket is closed."""

from __future__ import annotations

import threading
import time

import pytest

import nanopy

from ._common import Peer, figures, peers, pick, wait_for

KILLS = pick(3, 20)


@pytest.mark.timeout(pick(60, 300))
@pytest.mark.parametrize("transport", ["tcp", "ipc"])
def test_device_survives_killed_workers(transport: str, tmp_ipc_dir: str) -> None:
    from conftest import make_address

    front, back = make_address(transport, tmp_ipc_dir), make_address(transport, tmp_ipc_dir)
    rep = nanopy.Socket(nanopy.REP, raw=True, linger=0)
    req = nanopy.Socket(nanopy.REQ, raw=True, linger=0)
    rep.bind(front)
    req.bind(back)
    ended: list[object] = []

    def device() -> None:
        try:
            nanopy.nn_device(rep.id, req.id)
        except nanopy.NNError as e:
            ended.append(e.errno)
        except BaseException as e:
            ended.append(e)

    dev = threading.Thread(target=device, daemon=True)
    dev.start()
    answered_by: dict[int, int] = {}
    requests = 0
    try:
        with peers() as procs, nanopy.Socket(nanopy.REQ, recv_timeout=10000,
                                             send_timeout=5000, resend_interval=100,
                                             linger=0) as client:
            client.connect(front)
            for _cycle in range(KILLS + 1):
                worker = Peer("peer.py", "REP", "connect", back)
                procs.append(worker)
                worker.expect("ready")
                wait_for(lambda: nanopy.nn_get_statistic(
                    req.id, nanopy.NN_STAT_CURRENT_CONNECTIONS) == 1, 10, "the worker")
                for _ in range(20):
                    requests += 1
                    body = b"r%d" % requests
                    client.send(body)
                    reply = client.recv()
                    pid, _, echoed = reply.partition(b":")
                    assert echoed == body, (reply, body)
                    answered_by[int(pid)] = answered_by.get(int(pid), 0) + 1
                # Kill it with a request in flight: the next worker must get the resend.
                requests += 1
                client.send(b"r%d" % requests)
                time.sleep(0.01)
                worker.kill()
                wait_for(lambda: nanopy.nn_get_statistic(
                    req.id, nanopy.NN_STAT_CURRENT_CONNECTIONS) == 0, 10, "the worker to go")
                assert dev.is_alive(), ended
                last = Peer("peer.py", "REP", "connect", back)
                procs.append(last)
                last.expect("ready")
                reply = client.recv()
                assert reply.endswith(b":r%d" % requests), reply
                answered_by[last.pid] = answered_by.get(last.pid, 0) + 1
                last.kill()
                wait_for(lambda: nanopy.nn_get_statistic(
                    req.id, nanopy.NN_STAT_CURRENT_CONNECTIONS) == 0, 10, "the worker to go")
    finally:
        rep.close()
        dev.join(5)
        req.close()
    assert not dev.is_alive(), "nn_device did not return after nn_close"
    assert ended == [nanopy.EBADF], ended
    figures("device_kill", transport=transport, kills=2 * (KILLS + 1), requests=requests,
            workers=len(answered_by))
