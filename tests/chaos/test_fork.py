"""fork() in the middle of traffic. The parent's PAIR ping-pong thread keeps running
across the fork; the child (os.fork, multiprocessing "fork" and "spawn") gets NNError
EBADF "socket created in parent process" for the inherited nanopy.Socket, cannot reach
the parent's socket through its raw id, and talks to the parent over a new tcp endpoint
with a socket of its own."""

from __future__ import annotations

import json
import multiprocessing
import os
import pickle
import threading
import time
from typing import Any, Callable

import pytest

import nanopy

from ._common import figures, pick
from .forkchild import child_main, forked

FORKS = pick(2, 20)
EXCHANGES = pick(200, 2000)


class PingPong(threading.Thread):
    def __init__(self, a: nanopy.Socket, b: nanopy.Socket) -> None:
        super().__init__(daemon=True)
        self.a, self.b = a, b
        self.count = 0
        self.stop = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                body = b"%d" % self.count
                self.a.send(body)
                assert self.b.recv() == body
                self.b.send(body)
                assert self.a.recv() == body
                self.count += 1
        except BaseException as e:
            self.error = e


def serve_child(rv: nanopy.Socket, alive: Callable[[], bool]) -> dict[str, Any]:
    """The parent's side of the child's conversation; returns the child's report."""

    def recv() -> bytes:
        deadline = time.monotonic() + 30
        while True:
            try:
                return rv.recv()
            except nanopy.Timeout:
                assert alive(), "the child died"
                assert time.monotonic() < deadline, "the child went silent"

    hello = recv()
    assert hello.startswith(b"hello ")
    rv.send(b"welcome")
    while True:
        msg = recv()
        if msg.startswith(b"{"):
            rv.send(b"ack")
            return dict(json.loads(msg))
        rv.send(b"echo " + msg)


def check_report(report: dict[str, Any], passed_socket: bool) -> None:
    if passed_socket:
        for call in ("Socket.send", "Socket.recv", "Socket.recv_timeout"):
            r = report[call]
            assert r.get("errno") == nanopy.EBADF, (call, r)
            assert "socket created in parent process" in r["message"], (call, r)
        assert report["Socket.close"] == {"returned": "None"}, report["Socket.close"]
    assert report["nn_send"].get("errno") == nanopy.EBADF, report["nn_send"]
    assert report["welcome"] == "welcome"
    assert report.get("echoed") == EXCHANGES, report


@pytest.mark.timeout(pick(90, 600))
@pytest.mark.parametrize("method", ["os.fork", "fork", "spawn"])
def test_fork_mid_traffic(method: str) -> None:
    from conftest import bind_any_port

    with nanopy.Socket(nanopy.PAIR, recv_timeout=5000, send_timeout=5000, linger=0) as a, \
         nanopy.Socket(nanopy.PAIR, recv_timeout=5000, send_timeout=5000, linger=0) as b, \
         nanopy.Socket(nanopy.PAIR, recv_timeout=500, send_timeout=5000, linger=0) as rv:
        b.connect(bind_any_port(a))
        traffic = PingPong(a, b)
        traffic.start()
        try:
            for _ in range(FORKS):
                ep = rv.bind("tcp://127.0.0.1:0")
                rendezvous = ep.url
                time.sleep(0.05)
                before = traffic.count
                inherited: nanopy.Socket | None = b
                if method == "spawn":
                    try:  # spawn pickles the arguments; a Socket may refuse (as pyzmq's)
                        pickle.dumps(b)
                    except TypeError:
                        inherited = None
                args = (inherited, b.id, rendezvous, EXCHANGES)
                if method == "os.fork":
                    pid = os.fork()
                    if pid == 0:
                        forked(*args)
                    try:
                        report = serve_child(rv, lambda p=pid: os.waitpid(p, os.WNOHANG) == (0, 0))
                    except BaseException:
                        os.kill(pid, 9)
                        raise
                    _, status = os.waitpid(pid, 0)
                    code = os.waitstatus_to_exitcode(status)
                else:
                    proc = multiprocessing.get_context(method).Process(target=child_main,
                                                                       args=args)
                    proc.start()
                    try:
                        report = serve_child(rv, proc.is_alive)
                        proc.join(30)
                    finally:
                        if proc.is_alive():
                            proc.kill()
                            proc.join(5)
                    code = proc.exitcode
                assert code == 0, f"child exit code {code}"
                check_report(report, inherited is not None)
                ep.shutdown()
                during = traffic.count - before
                assert traffic.error is None, traffic.error
                assert during > 0, "the parent's traffic stalled across the fork"
        finally:
            traffic.stop.set()
            traffic.join(10)
    assert traffic.error is None, traffic.error
    figures("fork", method=method, forks=FORKS, child_exchanges=EXCHANGES,
            parent_round_trips=traffic.count, child_socket_send=report.get("Socket.send"),
            child_nn_send=report["nn_send"])
