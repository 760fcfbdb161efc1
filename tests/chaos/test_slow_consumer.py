"""Slow consumer: PULL stops reading while PUSH keeps sending with NN_SNDTIMEO. Sends
block and then time out as configured, the queues stay bounded by NN_SNDBUF/NN_RCVBUF
(plus the kernel's socket buffers), RSS stays flat, and once the consumer resumes every
message arrives exactly once and in order."""

from __future__ import annotations

import struct
import threading
import time

import pytest

import nanopy

from ._common import figures, pick, rss_kb, sleep_late_ms

STALLS = pick(2, 10)
MSG = 4096
BUF = 128 * 1024
SNDTIMEO = 200  # ms
STALL_TRIES = pick(3, 10)  # timed-out sends per stall


@pytest.mark.timeout(pick(60, 300))
@pytest.mark.parametrize("transport", ["tcp", "ipc", "inproc"])
def test_slow_consumer(transport: str, tmp_ipc_dir: str) -> None:
    from conftest import make_address

    address = make_address(transport, tmp_ipc_dir)
    pad = b"x" * (MSG - 8)
    received: list[int] = []
    with nanopy.Socket(nanopy.PULL, recv_timeout=5000, recv_buffer=BUF, linger=0) as pull, \
         nanopy.Socket(nanopy.PUSH, send_timeout=SNDTIMEO, send_buffer=BUF, linger=0) as push:
        pull.bind(address)
        push.connect(address)
        seq = 0
        rss_before = rss_kb()
        rss_peak = rss_before
        queued: list[int] = []
        blocked_ms: list[float] = []
        for _stall in range(STALLS):
            # 1. The consumer sleeps: fill until a send times out, then keep trying.
            start = seq
            timeouts = 0
            while timeouts < STALL_TRIES:
                t0 = time.monotonic()
                try:
                    push.send(struct.pack(">Q", seq) + pad)
                    seq += 1
                except nanopy.Timeout:
                    blocked_ms.append((time.monotonic() - t0) * 1000)
                    timeouts += 1
                assert seq - start < 100_000, "sends never block: the queue is unbounded"
            queued.append(seq - start)
            rss_peak = max(rss_peak, rss_kb())
            # 2. The consumer wakes up and takes everything.
            want = seq
            while len(received) < want:
                received.append(struct.unpack(">Q", pull.recv()[:8])[0])
        # 3. Steady flow with a consumer thread, then everything once and in order.
        total = seq + pick(5000, 50000)

        def consume() -> None:
            while len(received) < total:
                received.append(struct.unpack(">Q", pull.recv()[:8])[0])

        consumer = threading.Thread(target=consume, daemon=True)
        consumer.start()
        push.send_timeout = 5000
        while seq < total:
            push.send(struct.pack(">Q", seq) + pad)
            seq += 1
        consumer.join(60)
        assert not consumer.is_alive()
        rss_after = rss_kb()
    assert received == list(range(total))
    late = sleep_late_ms(SNDTIMEO / 1000)
    figures("slow_consumer", transport=transport, stalls=STALLS, messages=total,
            queued_before_block=queued, blocked_ms_min=round(min(blocked_ms)),
            blocked_ms_max=round(max(blocked_ms)), rss_kb_before=rss_before,
            rss_kb_peak=rss_peak, rss_kb_after=rss_after, sleep_late_ms=round(late))
    # Timeouts as configured: never early; late by no more than a plain sleep of the same
    # length is late on this machine right now (calibrated here), plus a second.
    assert min(blocked_ms) >= SNDTIMEO * 0.9
    assert max(blocked_ms) < SNDTIMEO + 1000 + 10 * late, (max(blocked_ms), late)
    # Bounded: SNDBUF + RCVBUF plus what the kernel holds (loopback can buffer a few MB).
    assert max(queued) * MSG < 2 * BUF + 32 * 1024 * 1024
    # Memory follows the queues, not the number of attempts: what nanopy's own buffers may
    # hold (both sides' limits, twice for allocator rounding) plus 12 MiB of interpreter
    # noise. Does not depend on the machine's load.
    assert rss_peak - rss_before < (4 * BUF) // 1024 + 12 * 1024


@pytest.mark.timeout(pick(60, 180))
@pytest.mark.parametrize("transport", ["tcp", "ipc"])
def test_sender_never_waits_on_a_draining_consumer(transport: str, tmp_ipc_dir: str) -> None:
    """The opposite case: the consumer drains as fast as it can, the sender's small
    NN_SNDBUF fills and empties all the time. No send may wait out its whole timeout
    while the consumer has taken everything: that would be a lost 'writable' wake-up."""
    from conftest import make_address

    address = make_address(transport, tmp_ipc_dir)
    duration = pick(3.0, 30.0)
    received = [0]
    stalls: list[str] = []
    done = threading.Event()
    with nanopy.Socket(nanopy.PULL, recv_timeout=100, linger=0) as pull, \
         nanopy.Socket(nanopy.PUSH, send_timeout=1000, send_buffer=1024, linger=0) as push:
        pull.bind(address)
        push.connect(address)

        def drain() -> None:
            while not done.is_set():
                try:
                    pull.recv()
                    received[0] += 1
                except nanopy.Timeout:
                    pass

        drainer = threading.Thread(target=drain, daemon=True)
        drainer.start()
        sent = 0
        t0 = time.monotonic()
        try:
            while time.monotonic() - t0 < duration and len(stalls) < 3:
                try:
                    push.send(b"x" * 100)
                    sent += 1
                except nanopy.Timeout:
                    stalls.append(f"{time.monotonic() - t0:.2f} s: sent={sent} "
                                  f"received={received[0]}")
        finally:
            done.set()
            drainer.join(5)
    figures("draining_consumer", transport=transport, seconds=duration, messages=sent,
            stalls=stalls)
    assert not stalls, f"send waited its whole 1 s timeout on a drained pipe: {stalls}"
