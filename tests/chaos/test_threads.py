"""16 Python threads on shared sockets: 8 senders on one PUSH and 8 receivers on one
PULL; 8 REQ clients against one raw REP shared by 8 worker threads. No crash, no lost
and no duplicated message (sequence numbers per sender), and each receiver sees every
sender's messages in order."""

from __future__ import annotations

import struct
import threading
import time
from array import array

import pytest

import nanopy

from ._common import figures, pick, rss_kb, wait_for

DURATION = pick(5.0, 60.0)
N = 8


class Errors:
    def __init__(self) -> None:
        self.items: list[BaseException] = []

    def run(self, fn: object, *args: object) -> threading.Thread:
        def guarded() -> None:
            try:
                fn(*args)  # type: ignore[operator]
            except BaseException as e:
                self.items.append(e)

        t = threading.Thread(target=guarded, daemon=True)
        t.start()
        return t


@pytest.mark.timeout(pick(60, 180))
@pytest.mark.parametrize("transport", ["tcp", "ipc", "inproc"])
def test_shared_push_pull(transport: str, tmp_ipc_dir: str) -> None:
    from conftest import make_address

    address = make_address(transport, tmp_ipc_dir)
    sent = [0] * N
    # got[j][i]: the sequence numbers of sender i that receiver j took, in its order
    got = [[array("I") for _ in range(N)] for _ in range(N)]
    counts = [0] * N
    disorder: list[str] = []
    stop_send = threading.Event()
    stop_recv = threading.Event()
    errors = Errors()
    rss_before = rss_kb()
    with nanopy.Socket(nanopy.PULL, recv_timeout=200, linger=0) as pull, \
         nanopy.Socket(nanopy.PUSH, send_timeout=10000, linger=0) as push:
        pull.bind(address)
        push.connect(address)

        def sender(i: int) -> None:
            while not stop_send.is_set():
                push.send(struct.pack(">II", i, sent[i]) + b"p" * (i * 16))
                sent[i] += 1

        def receiver(j: int) -> None:
            mine = got[j]
            last = [-1] * N
            while True:
                try:
                    msg = pull.recv()
                except nanopy.Timeout:
                    if stop_recv.is_set():
                        return
                    continue
                i, seq = struct.unpack(">II", msg[:8])
                if seq <= last[i]:
                    disorder.append(f"receiver {j}: sender {i} seq {seq} after {last[i]}")
                last[i] = seq
                mine[i].append(seq)
                counts[j] += 1

        threads = [errors.run(receiver, j) for j in range(N)]
        threads += [errors.run(sender, i) for i in range(N)]
        t0 = time.monotonic()
        time.sleep(DURATION)
        stop_send.set()
        for t in threads[N:]:
            t.join(15)
        elapsed = time.monotonic() - t0
        total = sum(sent)
        wait_for(lambda: sum(counts) >= total or errors.items, 30,
                 "every message to be received")
        stop_recv.set()
        for t in threads[:N]:
            t.join(15)
    assert not errors.items, errors.items[:3]
    assert all(not t.is_alive() for t in threads)
    assert not disorder, disorder[:5]
    for i in range(N):
        seen = bytearray(sent[i])
        for j in range(N):
            for seq in got[j][i]:
                assert seq < sent[i] and not seen[seq], f"sender {i}: bogus/duplicate {seq}"
                seen[seq] = 1
        assert seen.count(0) == 0, f"sender {i}: {seen.count(0)} messages lost"
    figures("threads_push_pull", transport=transport, seconds=round(elapsed, 1),
            messages=total, msgs_per_s=round(total / elapsed),
            per_receiver=counts, rss_kb_before=rss_before, rss_kb_after=rss_kb(),
            test_bookkeeping_kb=sum(a.buffer_info()[1] * a.itemsize
                                    for row in got for a in row) // 1024)


@pytest.mark.timeout(pick(60, 180))
@pytest.mark.parametrize("transport", ["tcp", "inproc"])
def test_req_clients_raw_rep_workers(transport: str, tmp_ipc_dir: str) -> None:
    from conftest import make_address

    address = make_address(transport, tmp_ipc_dir)
    handled = [0] * N
    answered = [0] * N
    stop_clients = threading.Event()
    stop_workers = threading.Event()
    errors = Errors()
    with nanopy.Socket(nanopy.REP, raw=True, recv_timeout=200, send_timeout=5000,
                       linger=0) as rep:
        rep.bind(address)

        def worker(w: int) -> None:
            while not stop_workers.is_set():
                try:
                    body, header = rep.recvmsg()
                except nanopy.Timeout:
                    continue
                rep.sendmsg([b"r:", body], header)
                handled[w] += 1

        def client(c: int) -> None:
            with nanopy.Socket(nanopy.REQ, recv_timeout=10000, send_timeout=10000,
                               resend_interval=60000, linger=0) as req:
                req.connect(address)
                while not stop_clients.is_set():
                    body = b"c%d-%d" % (c, answered[c])
                    req.send(body)
                    reply = req.recv()
                    assert reply == b"r:" + body, (reply, body)
                    answered[c] += 1

        workers = [errors.run(worker, w) for w in range(N)]
        clients = [errors.run(client, c) for c in range(N)]
        t0 = time.monotonic()
        time.sleep(DURATION)
        stop_clients.set()
        for t in clients:
            t.join(20)
        elapsed = time.monotonic() - t0
        stop_workers.set()
        for t in workers:
            t.join(5)
    assert not errors.items, errors.items[:3]
    assert all(not t.is_alive() for t in workers + clients)
    total = sum(answered)
    assert sum(handled) == total, f"workers handled {sum(handled)} for {total} requests"
    assert all(answered), answered
    figures("threads_req_rep", transport=transport, seconds=round(elapsed, 1),
            requests=total, req_per_s=round(total / elapsed), per_client=answered,
            per_worker=handled)
