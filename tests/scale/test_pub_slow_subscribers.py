"""A PUB with many subscribers of which a tenth never read (plain sockets doing the SUB
handshake, see raw_peers.py; the slow ones ask for a 4 KiB kernel receive buffer).

Two runs publish the same paced stream (COUNT messages of BODY bytes at up to RATE a
second; far more per subscriber than the slow ones' buffers hold): one with only the
readers, one with the readers plus the never-reading subscribers.
- Fast subscribers are unaffected: the share of the published messages a reader gets (the
  median over readers) with the slow ones present is within 10 % of the share without them.
  A share, not messages per second: on a shared machine the publisher's own pace varies
  from run to run; the share only moves when nanopy makes readers lose messages. The
  rates themselves are in the figures.
- Memory is bounded by the buffers: while the slow subscribers' queues are full, this
  process's RSS grows by no more than SLOW x NN_SNDBUF (x2 for per-message overhead) plus
  a fixed 16 MiB. PUB drops for a subscriber whose queue is full, it never waits.

CI: 200 subscribers (20 slow); NANOPY_LONG=1: 1,000 (100 slow).
"""

from __future__ import annotations

import statistics
import time

import pytest

import nanopy

from . import Procs, bind_tcp, pick, record, rss_kb

SUBS = pick(200, 1000)
SLOW = SUBS // 10
PROCS = 4
BODY = 4096
RATE = 200  # messages/s at most: well below what the readers can take
COUNT = pick(300, 1000)  # 1.2 MB (CI) per subscriber: the slow ones' queues fill (~200 kB)
SNDBUF = 64 * 1024


def _run(slow: int) -> tuple[list[int], int, float, float]:
    """Publish the paced stream to SUBS - SLOW readers and ``slow`` never-readers.
    Returns (messages per reader, RSS growth in kB, seconds spent publishing, CPU seconds
    this process spent meanwhile, I/O thread included)."""
    pub = nanopy.Socket(nanopy.PUB, send_buffer=SNDBUF, linger=0)
    procs = Procs()
    try:
        url, port = bind_tcp(pub)
        fast = SUBS - SLOW
        peers = []
        for i in range(PROCS):
            n_fast = fast // PROCS + (1 if i < fast % PROCS else 0)
            n_slow = slow // PROCS + (1 if i < slow % PROCS else 0)
            peers.append(procs.start("sub", "127.0.0.1", str(port), str(n_fast + n_slow),
                                     str(n_slow), str(BODY)))
        for p in peers:
            p.wait("connected", timeout=120)
        want = fast + slow
        deadline = time.monotonic() + 60
        while nanopy.nn_get_statistic(pub.id, nanopy.NN_STAT_CURRENT_CONNECTIONS) < want:
            assert time.monotonic() < deadline, "not every subscriber was counted"
            time.sleep(0.005)
        rss0 = rss_kb()
        peak = rss0
        body = b"m" * BODY
        sent = 0
        cpu0 = time.process_time()
        start = time.monotonic()
        while sent < COUNT:
            now = time.monotonic()
            due = start + sent / RATE
            if due > now:
                time.sleep(due - now)
            pub.send(body)
            sent += 1
            if sent % 50 == 0:
                peak = max(peak, rss_kb())
        elapsed = time.monotonic() - start
        cpu = time.process_time() - cpu0
        time.sleep(1.0)  # the last messages reach the readers (they are counted, not awaited)
        counts: list[int] = []
        for p in peers:
            p.command("report")
        for p in peers:
            counts += p.wait("report", timeout=60)["counts"]
        return counts, peak - rss0, elapsed, cpu
    finally:
        procs.close()
        pub.close()


@pytest.mark.timeout(pick(120, 600))
def test_slow_subscribers_do_not_slow_the_others() -> None:
    alone, _, secs_alone, cpu_alone = _run(slow=0)
    mixed, grew_kb, secs_mixed, cpu_mixed = _run(slow=SLOW)
    share_alone = statistics.median(alone) / COUNT
    share_mixed = statistics.median(mixed) / COUNT
    bound_kb = SLOW * SNDBUF * 2 // 1024 + 16 * 1024
    record("pub_slow_subscribers", subscribers=SUBS, never_reading=SLOW, body=BODY,
           messages=COUNT, max_rate=RATE,
           reader_rate_alone=round(statistics.median(alone) / secs_alone, 1),
           reader_rate_with_slow=round(statistics.median(mixed) / secs_mixed, 1),
           publish_cpu_ms_per_message=[round(cpu_alone * 1000 / COUNT, 3),
                                       round(cpu_mixed * 1000 / COUNT, 3)],
           share_alone=round(share_alone, 4), share_with_slow=round(share_mixed, 4),
           min_reader_messages=[min(alone), min(mixed)], rss_growth_kb=grew_kb,
           rss_bound_kb=bound_kb)
    assert len(alone) == len(mixed) == SUBS - SLOW
    assert share_mixed >= 0.9 * share_alone
    assert grew_kb <= bound_kb
