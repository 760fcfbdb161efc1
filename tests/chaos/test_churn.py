"""Connect/close churn against one bound PULL socket: raw Python sockets doing the SP
handshake (half send one message and close, half abort with RST right after the
handshake) plus nanopy PUSH sockets that connect, send and close, ~1,000 cycles/s.
Every message sent whole arrives, and fds and RSS of the process come back to where they
were (generous bounds) once the churn stops."""

from __future__ import annotations

import gc
import socket as pysocket
import struct
import threading
import time

import pytest

import nanopy

from ._common import fd_count, figures, pick, rss_kb, wait_for

DURATION = pick(5.0, 30.0)
RATE = 1000.0  # cycles/s, all threads together
RAW_THREADS = 4
NANOPY_THREADS = 2
PUSH_HANDSHAKE = b"\x00SP\x00" + struct.pack(">H", nanopy.NN_PUSH) + b"\x00\x00"


def frame(transport: str, body: bytes) -> bytes:
    if transport == "ipc":
        return b"\x01" + struct.pack(">Q", len(body)) + body
    return struct.pack(">Q", len(body)) + body


class Churn:
    def __init__(self, address: str, transport: str) -> None:
        self.address = address
        self.transport = transport
        self.running = threading.Event()
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.counts = {"graceful": 0, "abort": 0, "nanopy": 0}
        self.errors: list[BaseException] = []
        n = RAW_THREADS + NANOPY_THREADS
        self.per_thread_rate = RATE / n
        self.threads = [threading.Thread(target=self.guard, args=(self.raw, i), daemon=True)
                        for i in range(RAW_THREADS)]
        self.threads += [threading.Thread(target=self.guard, args=(self.nano, i), daemon=True)
                         for i in range(NANOPY_THREADS)]

    def bump(self, key: str) -> None:
        with self.lock:
            self.counts[key] += 1

    def guard(self, fn: object, i: int) -> None:
        try:
            fn(i)  # type: ignore[operator]
        except BaseException as e:
            self.errors.append(e)

    def paced(self) -> object:
        """Yields while running, at most per_thread_rate times a second."""
        k, start = 0, time.monotonic()
        while not self.stop.is_set():
            if not self.running.wait(0.05):
                k, start = 0, time.monotonic()
                continue
            due = start + k / self.per_thread_rate
            now = time.monotonic()
            if due > now:
                time.sleep(due - now)
            k += 1
            yield k

    def raw_socket(self) -> pysocket.socket:
        if self.transport == "ipc":
            s = pysocket.socket(pysocket.AF_UNIX, pysocket.SOCK_STREAM)
            target: object = self.address[len("ipc://"):]
        else:
            s = pysocket.socket(pysocket.AF_INET, pysocket.SOCK_STREAM)
            host, port = self.address[len("tcp://"):].rsplit(":", 1)
            target = (host, int(port))
        s.settimeout(5)
        s.connect(target)  # type: ignore[arg-type]
        return s

    def raw(self, i: int) -> None:
        for k in self.paced():  # type: ignore[attr-defined]
            s = self.raw_socket()
            try:
                s.sendall(PUSH_HANDSHAKE)
                got = b""
                while len(got) < 8:
                    chunk = s.recv(8 - len(got))
                    if not chunk:
                        break
                    got += chunk
                if k % 2:
                    s.sendall(frame(self.transport, b"g%d-%d" % (i, k)))
                    self.bump("graceful")
                else:
                    s.setsockopt(pysocket.SOL_SOCKET, pysocket.SO_LINGER,
                                 struct.pack("ii", 1, 0))
                    self.bump("abort")
            finally:
                s.close()

    def nano(self, i: int) -> None:
        for k in self.paced():  # type: ignore[attr-defined]
            with nanopy.Socket(nanopy.PUSH, send_timeout=5000, linger=2000) as s:
                s.connect(self.address)
                s.send(b"n%d-%d" % (i, k))
            self.bump("nanopy")


def settle(pull: nanopy.Socket, drained: object) -> tuple[int, int]:
    wait_for(lambda: nanopy.nn_get_statistic(pull.id, nanopy.NN_STAT_CURRENT_CONNECTIONS)
             == 0, 15, "every churned connection to be gone")
    wait_for(drained, 15, "every message to arrive")  # type: ignore[arg-type]
    gc.collect()
    time.sleep(0.5)
    return fd_count(), rss_kb()


@pytest.mark.timeout(pick(60, 180))
@pytest.mark.parametrize("transport", ["tcp", "ipc"])
def test_connect_close_churn(transport: str, tmp_ipc_dir: str) -> None:
    from conftest import make_address

    address = make_address(transport, tmp_ipc_dir)
    received = {"g": 0, "n": 0}
    pull = nanopy.Socket(nanopy.PULL, recv_timeout=100, linger=0)
    pull.bind(address)
    done = threading.Event()

    def drain() -> None:
        while not done.is_set():
            try:
                received[chr(pull.recv()[0])] += 1
            except nanopy.Timeout:
                pass

    drainer = threading.Thread(target=drain, daemon=True)
    drainer.start()
    churn = Churn(address, transport)
    try:
        for t in churn.threads:
            t.start()

        def drained() -> bool:
            return (received["g"] == churn.counts["graceful"]
                    and received["n"] == churn.counts["nanopy"])

        # Warm-up (thread stacks, free lists, allocator arenas), also the calibration: the
        # cycle rate this machine sustains right now, against which the run is judged.
        warm0 = sum(churn.counts.values())
        t_warm = time.monotonic()
        churn.running.set()
        time.sleep(1.0)
        churn.running.clear()
        warm_rate = (sum(churn.counts.values()) - warm0) / (time.monotonic() - t_warm)
        time.sleep(0.1)
        fds_before, rss_before = settle(pull, drained)
        before = dict(churn.counts)
        t0 = time.monotonic()
        churn.running.set()
        time.sleep(DURATION)
        churn.running.clear()
        elapsed = time.monotonic() - t0
        time.sleep(0.1)
        assert not churn.errors, churn.errors[:3]
        fds_after, rss_after = settle(pull, drained)
        cycles = {k: churn.counts[k] - before[k] for k in churn.counts}
        total = sum(cycles.values())
        figures("churn", transport=transport, seconds=round(elapsed, 1), cycles=cycles,
                cycles_per_s=round(total / elapsed),
                warmup_cycles_per_s=round(warm_rate), messages=dict(received),
                accepted=nanopy.nn_get_statistic(pull.id, nanopy.NN_STAT_ACCEPTED_CONNECTIONS),
                fds_before=fds_before, fds_after=fds_after,
                rss_kb_before=rss_before, rss_kb_after=rss_after)
        # The churn did not slow down as it went on (a loaded machine slows the warm-up
        # just as much), and it really ran.
        assert total / elapsed >= 0.25 * warm_rate, (
            f"{total / elapsed:.0f} cycles/s against {warm_rate:.0f} in the warm-up")
        assert total >= 100, f"only {total} cycles in {elapsed:.1f} s"
        assert fds_after <= fds_before + 5
        # A leak grows with the cycles: allow a fixed 8 MiB of allocator noise plus 1 KiB
        # per cycle, far below what a lost pipe or buffer per connection would cost.
        assert rss_after - rss_before < 8 * 1024 + total, (
            f"RSS grew {rss_after - rss_before} kB over {total} cycles")
        # The bound socket still works after the storm.
        with nanopy.Socket(nanopy.PUSH, send_timeout=5000) as push:
            push.connect(address)
            push.send(b"n-final")
            wait_for(lambda: received["n"] == churn.counts["nanopy"] + 1, 5, "a last message")
    finally:
        churn.stop.set()
        churn.running.set()
        for t in churn.threads:
            t.join(10)
        done.set()
        drainer.join(5)
        pull.close()
