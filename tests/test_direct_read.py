"""Direct receive: a thread blocked in nn_recv on a socket whose only pipe is a tcp or ipc
connection reads that connection itself (polling it together with NN_RCVFD) instead of
being woken by the I/O thread. These tests put a receiver in that state first (seen from
/proc: blocked in a poll of two descriptors), then race it with what can happen meanwhile."""

from __future__ import annotations

import os
import platform
import select
import socket as pysocket
import struct
import subprocess
import sys
import textwrap
import threading
import time
from typing import Any, Callable, List

import pytest
from conftest import bind_any_port, skip_or_fail, wait_connected

import nanopy

# poll-like system calls whose second argument is the number of descriptors
_POLL_CALLS = {"x86_64": {7, 271}, "aarch64": {73}}.get(platform.machine(), set())


def _polls_two(tid: int) -> bool:
    """Is thread ``tid`` of this process blocked in a poll of exactly two descriptors?"""
    try:
        with open(f"/proc/self/task/{tid}/syscall") as f:
            fields = f.read().split()
    except OSError:
        return False
    if len(fields) < 3 or not fields[0].isdigit():
        return False  # "running"
    return int(fields[0]) in _POLL_CALLS and int(fields[2], 16) == 2


class Receiver:
    """A thread blocked in nn_recv(s); ``result`` is the body or the NNError's errno."""

    def __init__(self, s: int, recv: Callable[[int], Any] = nanopy.nn_recv) -> None:
        if not sys.platform.startswith("linux") or not _POLL_CALLS:
            skip_or_fail("needs Linux /proc/<tid>/syscall on x86_64 or aarch64")
        self.result: List[Any] = []
        self.tid = 0
        started = threading.Event()

        def run() -> None:
            self.tid = threading.get_native_id()
            started.set()
            try:
                self.result.append(recv(s))
            except nanopy.NNError as exc:
                self.result.append(exc.errno)

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        started.wait(5)

    def wait_direct(self, timeout: float = 5.0) -> None:
        """Until the thread reads the connection itself (fails if it never does)."""
        deadline = time.monotonic() + timeout
        while not _polls_two(self.tid):
            assert self.thread.is_alive(), f"receiver left early: {self.result}"
            assert time.monotonic() < deadline, "the receiver never read its pipe directly"
            time.sleep(0.002)

    def join(self, timeout: float = 10.0) -> Any:
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "receiver still blocked"
        return self.result[0]


@pytest.fixture(params=["tcp", "ipc"])
def url_of(request: pytest.FixtureRequest, tmp_ipc_dir: str) -> Callable[[int], str]:
    """``url_of(s)``: bind s on the transport under test and return the URL."""
    n = [0]

    def bind(s: int) -> str:
        if request.param == "tcp":
            return bind_any_port(s)
        n[0] += 1
        url = f"ipc://{tmp_ipc_dir}/d{n[0]}.ipc"
        nanopy.nn_bind(s, url)
        return url

    return bind


def _pair(nn, url_of) -> tuple[int, int, str]:
    a, b = nn(nanopy.NN_PAIR), nn(nanopy.NN_PAIR)
    url = url_of(a)
    nanopy.nn_connect(b, url)
    wait_connected(a)
    wait_connected(b)
    return a, b, url


def test_blocked_receiver_reads_its_only_pipe_itself(nn, url_of) -> None:
    a, b, _ = _pair(nn, url_of)
    for i in range(20):
        r = Receiver(a)
        r.wait_direct()
        nanopy.nn_send(b, b"ping %d" % i)
        assert r.join() == b"ping %d" % i


def test_large_messages_and_bursts_over_the_inbound_limit(nn, url_of) -> None:
    a, b, _ = _pair(nn, url_of)
    big = os.urandom(1000 * 1000 + 7)  # over the 64 kB read buffer, under NN_RCVMAXSIZE
    r = Receiver(a)
    r.wait_direct()
    nanopy.nn_send(b, big)
    assert r.join() == big
    # 600 kB of small messages while the receiver reads directly: more than the pipe's
    # inbound limit (NN_RCVBUF, 128 kB), so the direct read stops and resumes.
    bodies = [struct.pack(">I", i) + b"x" * 996 for i in range(600)]
    r = Receiver(a)
    r.wait_direct()
    sender = threading.Thread(target=nanopy.send_many, args=(b, bodies), daemon=True)
    sender.start()  # blocks until the receiving side makes room
    got = [r.join()]
    while len(got) < len(bodies):
        got.append(nanopy.nn_recv(a))
    sender.join(10)
    assert got == bodies


def test_peer_closing_mid_read_then_a_new_peer_is_heard(nn, url_of) -> None:
    a, b, url = _pair(nn, url_of)
    nanopy.nn_setsockopt(a, nanopy.NN_SOL_SOCKET, nanopy.NN_RCVTIMEO, 10000)
    r = Receiver(a)
    r.wait_direct()
    nanopy.nn_close(b)
    wait_connected(a, 0)
    c = nn(nanopy.NN_PAIR)
    nanopy.nn_connect(c, url)
    wait_connected(a)
    nanopy.nn_send(c, b"from the new peer")
    assert r.join() == b"from the new peer"


def test_truncated_frame_then_close_mid_read(nn) -> None:
    a = nn(nanopy.NN_PAIR)
    port = int(bind_any_port(a).rsplit(":", 1)[1])
    raw = pysocket.create_connection(("127.0.0.1", port), timeout=5)
    raw.sendall(b"\x00SP\x00\x00\x10\x00\x00")
    assert raw.recv(8) == b"\x00SP\x00\x00\x10\x00\x00"
    wait_connected(a)
    nanopy.nn_setsockopt(a, nanopy.NN_SOL_SOCKET, nanopy.NN_RCVTIMEO, 10000)
    r = Receiver(a)
    r.wait_direct()
    raw.sendall(struct.pack(">Q", 100) + b"only part")
    raw.close()
    wait_connected(a, 0)
    b = nn(nanopy.NN_PAIR)
    nanopy.nn_connect(b, f"tcp://127.0.0.1:{port}")
    nanopy.nn_send(b, b"whole")
    assert r.join() == b"whole"


def test_hostile_frame_closes_only_that_pipe(nn) -> None:
    pull = nn(nanopy.NN_PULL)
    nanopy.nn_setsockopt(pull, nanopy.NN_SOL_SOCKET, nanopy.NN_RCVMAXSIZE, 1024)
    nanopy.nn_setsockopt(pull, nanopy.NN_SOL_SOCKET, nanopy.NN_RCVTIMEO, 10000)
    url = bind_any_port(pull)
    port = int(url.rsplit(":", 1)[1])
    raw = pysocket.create_connection(("127.0.0.1", port), timeout=5)
    raw.sendall(b"\x00SP\x00\x00\x50\x00\x00")  # a PUSH
    assert len(raw.recv(8)) == 8
    wait_connected(pull)
    r = Receiver(pull)
    r.wait_direct()
    raw.sendall(struct.pack(">Q", 1 << 40) + b"x" * 64)  # over NN_RCVMAXSIZE
    raw.settimeout(5)
    try:
        assert raw.recv(100) == b""
    except ConnectionResetError:
        pass
    push = nn(nanopy.NN_PUSH)
    nanopy.nn_connect(push, url)
    nanopy.nn_send(push, b"good")
    assert r.join() == b"good"
    raw.close()


def test_rcvtimeo_in_direct_read(nn, url_of) -> None:
    a, b, _ = _pair(nn, url_of)
    nanopy.nn_setsockopt(a, nanopy.NN_SOL_SOCKET, nanopy.NN_RCVTIMEO, 300)
    start = time.monotonic()
    r = Receiver(a)
    r.wait_direct()
    assert r.join() == nanopy.ETIMEDOUT
    assert time.monotonic() - start >= 0.25
    nanopy.nn_send(b, b"after the timeout")
    assert nanopy.nn_recv(a) == b"after the timeout"


def test_rcvfd_reader_sees_what_the_direct_reader_leaves(nn, url_of) -> None:
    a, b, _ = _pair(nn, url_of)
    fd = nanopy.nn_getsockopt(a, nanopy.NN_SOL_SOCKET, nanopy.NN_RCVFD)
    r = Receiver(a)
    r.wait_direct()
    nanopy.send_many(b, [b"one", b"two"])
    assert r.join() == b"one"
    assert select.select([fd], [], [], 5)[0] == [fd]
    assert nanopy.nn_recv(a, nanopy.NN_DONTWAIT) == b"two"
    assert select.select([fd], [], [], 0)[0] == []


def test_close_from_another_thread_wakes_direct_reader_with_ebadf(nn, url_of) -> None:
    a, b, _ = _pair(nn, url_of)
    nanopy.nn_setsockopt(a, nanopy.NN_SOL_SOCKET, nanopy.NN_RCVTIMEO, -1)
    r = Receiver(a)
    r.wait_direct()
    nanopy.nn_close(a)
    assert r.join() == nanopy.EBADF


def test_endpoint_shutdown_mid_read_closes_the_connection(nn, url_of) -> None:
    a, b = nn(nanopy.NN_PAIR), nn(nanopy.NN_PAIR)
    c = nn(nanopy.NN_PAIR)
    other = url_of(c)
    eid = nanopy.nn_connect(a, url_of(b))
    wait_connected(a)
    nanopy.nn_setsockopt(a, nanopy.NN_SOL_SOCKET, nanopy.NN_RCVTIMEO, 10000)
    r = Receiver(a)
    r.wait_direct()
    # The endpoint goes while the receiver reads its connection: the connection closes
    # now (b sees it), not when the receiver next wakes.
    nanopy.nn_shutdown(a, eid)
    wait_connected(b, 0)
    nanopy.nn_connect(a, other)
    wait_connected(c)
    nanopy.nn_send(c, b"after")
    assert r.join() == b"after"


def test_second_pipe_is_not_starved_by_direct_read(nn, url_of) -> None:
    pull = nn(nanopy.NN_PULL)
    url = url_of(pull)
    first, second = nn(nanopy.NN_PUSH), nn(nanopy.NN_PUSH)
    nanopy.nn_connect(first, url)
    wait_connected(pull)
    r = Receiver(pull)
    r.wait_direct()
    nanopy.nn_connect(second, url)
    wait_connected(pull, 2)
    nanopy.nn_send(second, b"from the second pipe")
    assert r.join() == b"from the second pipe"
    nanopy.nn_send(first, b"from the first pipe")
    assert nanopy.nn_recv(pull) == b"from the first pipe"


def test_request_reply_over_direct_reads(nn, url_of) -> None:
    rep, req = nn(nanopy.NN_REP), nn(nanopy.NN_REQ)
    url = url_of(rep)
    nanopy.nn_connect(req, url)
    wait_connected(rep)

    def serve() -> None:
        for _ in range(200):
            nanopy.nn_send(rep, nanopy.nn_recv(rep) + b"!")

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    for i in range(200):
        nanopy.nn_send(req, b"%d" % i)
        assert nanopy.nn_recv(req) == b"%d!" % i
    t.join(10)


def _run(code: str) -> str:
    p = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 0, (p.stdout, p.stderr)
    return p.stdout.strip()


def test_term_wakes_direct_reader_with_eterm() -> None:
    here = os.path.dirname(os.path.abspath(__file__))
    out = _run(f"""
        import sys, threading
        sys.path.insert(0, {here!r})
        from test_direct_read import Receiver
        import nanopy
        from conftest import bind_any_port
        a = nanopy.nn_socket(nanopy.AF_SP, nanopy.NN_PAIR)
        b = nanopy.nn_socket(nanopy.AF_SP, nanopy.NN_PAIR)
        nanopy.nn_connect(b, bind_any_port(a))
        nanopy.nn_send(b, b"warm")
        assert nanopy.nn_recv(a) == b"warm"
        r = Receiver(a)
        r.wait_direct()
        nanopy.nn_term()
        print(r.join())
    """)
    assert out == str(nanopy.ETERM)


def test_fork_while_a_thread_reads_directly(nn, url_of) -> None:
    if not hasattr(os, "fork"):
        skip_or_fail("this platform has no os.fork(), so the fork case cannot run")
    a, b, _ = _pair(nn, url_of)
    r = Receiver(a)
    r.wait_direct()
    pid = os.fork()
    if pid == 0:  # the child: inherited sockets are gone, new ones work
        code = 1
        try:
            x, y = nanopy.nn_socket(nanopy.AF_SP, nanopy.NN_PAIR), nanopy.nn_socket(
                nanopy.AF_SP, nanopy.NN_PAIR)
            nanopy.nn_connect(y, bind_any_port(x))
            nanopy.nn_send(y, b"child")
            code = 0 if nanopy.nn_recv(x) == b"child" else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    nanopy.nn_send(b, b"parent")
    assert r.join() == b"parent"
