"""Threads blocked in send, recv, nn_poll and nn_device, then nn_close or nn_term.

``python blocked.py close|term`` prints one JSON object: for every blocked call, the
errno it ended with and how long after the close/term it returned (``hung`` if it did
not return within 5 s). Imported by test_close_term for the close case (in process);
the term case runs as a subprocess because nn_term is permanent."""

from __future__ import annotations

import json
import os
import shutil
import socket as pysocket
import sys
import tempfile
import threading
import time
from typing import Any, Callable

import nanopy

BLOCK_MS = 30000  # every blocked call would give up on its own only after this


def _free_port() -> int:
    with pysocket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _sock(domain: int, proto: int) -> int:
    s = nanopy.nn_socket(domain, proto)
    nanopy.nn_setsockopt(s, nanopy.NN_SOL_SOCKET, nanopy.NN_RCVTIMEO, BLOCK_MS)
    nanopy.nn_setsockopt(s, nanopy.NN_SOL_SOCKET, nanopy.NN_SNDTIMEO, BLOCK_MS)
    nanopy.nn_setsockopt(s, nanopy.NN_SOL_SOCKET, nanopy.NN_LINGER, 0)
    return s


def run(mode: str) -> dict[str, Any]:
    tmp = tempfile.mkdtemp(prefix="npchaos", dir="/tmp")
    addr_n = iter(range(100))

    def ipc() -> str:
        return f"ipc://{tmp}/b{next(addr_n)}.ipc"

    # One socket per kind of blocked call, plus one socket several threads wait on.
    recv_s = _sock(nanopy.AF_SP, nanopy.NN_PULL)
    nanopy.nn_bind(recv_s, f"tcp://127.0.0.1:{_free_port()}")
    send_s = _sock(nanopy.AF_SP, nanopy.NN_PUSH)  # connects to nobody: no pipe, send waits
    nanopy.nn_connect(send_s, f"tcp://127.0.0.1:{_free_port()}")
    poll_s = _sock(nanopy.AF_SP, nanopy.NN_PULL)
    nanopy.nn_bind(poll_s, ipc())
    dev_a = _sock(nanopy.AF_SP_RAW, nanopy.NN_REP)
    nanopy.nn_bind(dev_a, ipc())
    dev_b = _sock(nanopy.AF_SP_RAW, nanopy.NN_REQ)
    nanopy.nn_bind(dev_b, ipc())
    loop_dev = _sock(nanopy.AF_SP_RAW, nanopy.NN_BUS)
    nanopy.nn_bind(loop_dev, ipc())
    shared = _sock(nanopy.AF_SP, nanopy.NN_PAIR)
    nanopy.nn_bind(shared, ipc())
    req_s = _sock(nanopy.AF_SP, nanopy.NN_REQ)  # recv waiting for a reply that never comes
    nanopy.nn_connect(req_s, ipc())
    nanopy.nn_send(req_s, b"request")
    py_sock = nanopy.Socket(nanopy.PULL, recv_timeout=BLOCK_MS, linger=0)
    py_sock.bind(ipc())
    # A send blocked by back-pressure on a live pipe (the PULL never reads).
    full_pull = nanopy.Socket(nanopy.PULL, recv_buffer=16384, linger=0)
    full_push = nanopy.Socket(nanopy.PUSH, send_buffer=16384, send_timeout=300, linger=0)
    where = ipc()
    full_pull.bind(where)
    full_push.connect(where)
    while nanopy.nn_get_statistic(full_push.id, nanopy.NN_STAT_CURRENT_CONNECTIONS) < 1:
        time.sleep(0.005)
    try:
        while True:  # until a send waits 300 ms in vain: every buffer on the way is full
            full_push.send(b"f" * 4096)
    except nanopy.Timeout:
        full_push.send_timeout = BLOCK_MS

    calls: dict[str, tuple[Callable[[], object], Callable[[], None]]] = {
        "recv": (lambda: nanopy.nn_recv(recv_s), lambda: nanopy.nn_close(recv_s)),
        "send": (lambda: nanopy.nn_send(send_s, b"x"), lambda: nanopy.nn_close(send_s)),
        "poll": (lambda: nanopy.nn_poll([(poll_s, nanopy.NN_POLLIN)], BLOCK_MS),
                 lambda: nanopy.nn_close(poll_s)),
        "device": (lambda: nanopy.nn_device(dev_a, dev_b), lambda: nanopy.nn_close(dev_a)),
        "loopback_device": (lambda: nanopy.nn_device(loop_dev, -1),
                            lambda: nanopy.nn_close(loop_dev)),
        "req_recv": (lambda: nanopy.nn_recv(req_s), lambda: nanopy.nn_close(req_s)),
        "Socket.recv": (py_sock.recv, py_sock.close),
        "Socket.send_full": (lambda: full_push.send(b"f" * 4096), full_push.close),
    }
    for k in range(3):
        calls[f"shared_recv{k}"] = (lambda: nanopy.nn_recv(shared), lambda: None)
    calls["shared_poll"] = (lambda: nanopy.nn_poll([(shared, nanopy.NN_POLLIN)], BLOCK_MS),
                            lambda: nanopy.nn_close(shared))

    ended: dict[str, tuple[Any, float]] = {}

    def blocked(name: str, fn: Callable[[], object]) -> None:
        try:
            value = fn()
            outcome: Any = f"returned {value!r}"
        except nanopy.NNError as e:
            outcome = e.errno
        except Exception as e:  # anything but NNError is a finding too
            outcome = f"{type(e).__name__}: {e}"
        ended[name] = (outcome, time.monotonic())

    threads = {name: threading.Thread(target=blocked, args=(name, fn), daemon=True)
               for name, (fn, _) in calls.items()}
    for t in threads.values():
        t.start()
    time.sleep(0.5)  # every thread is inside its blocking call by now
    early = {name: ended[name][0] for name in list(ended)}
    triggered: dict[str, float] = {}
    if mode == "term":
        t0 = time.monotonic()
        nanopy.nn_term()
        triggered = dict.fromkeys(calls, t0)
    else:
        for name, (_, close) in calls.items():
            triggered[name] = time.monotonic()
            close()
        triggered.update(dict.fromkeys((f"shared_recv{k}" for k in range(3)),
                                       triggered["shared_poll"]))
    deadline = time.monotonic() + 5
    for t in threads.values():
        t.join(max(0.0, deadline - time.monotonic()))
    result: dict[str, Any] = {"early": early, "calls": {}}
    for name in calls:
        if name in ended and name not in early:
            outcome, at = ended[name]
            result["calls"][name] = {"outcome": outcome,
                                     "after_ms": round((at - triggered[name]) * 1000, 1)}
        else:
            result["calls"][name] = {"outcome": "hung" if name not in ended else "early"}
    if mode == "term":
        after: dict[str, Any] = {}
        for name, fn in (("nn_socket", lambda: nanopy.nn_socket(nanopy.AF_SP, nanopy.NN_PAIR)),
                         ("nn_send", lambda: nanopy.nn_send(dev_b, b"x")),
                         ("nn_recv", lambda: nanopy.nn_recv(dev_b, nanopy.NN_DONTWAIT))):
            try:
                after[name] = f"returned {fn()!r}"
            except nanopy.NNError as e:
                after[name] = e.errno
        result["after_term"] = after
    else:
        nanopy.nn_close(dev_b)
        full_pull.close()
    shutil.rmtree(tmp, ignore_errors=True)
    return result


if __name__ == "__main__":
    print(json.dumps(run(sys.argv[1])), flush=True)
    os._exit(0)  # a hung thread must not keep the process alive
