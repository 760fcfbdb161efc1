"""Soak driver for tools/soak.sh: mixed protocols, transports and churn in one process for
DURATION seconds, with this process's RSS and open descriptor count written to a CSV every
SAMPLE seconds.

Steady workloads (each its own thread, sockets kept for the whole run): REQ/REP over tcp, ipc
and inproc; PUB/SUB with three subscribers over tcp; PUSH to two PULLs over ipc;
SURVEYOR/RESPONDENT over inproc; a three-node BUS over tcp; PAIR over tcp.
Churn: sockets of every protocol pair made, bound, connected, used once and closed (linger 0
or the default) over all three transports; connects to an address nobody serves; endpoints
shut down while connected; and a child process (REQ over tcp) killed with SIGKILL and
restarted every few seconds, so the bound REP sees peers vanish mid-conversation.

Flat means: the last sample is within the stated margin of the first sample taken after the
warm-up (RSS <= first * (1 + RSS_PCT/100) + RSS_SLACK_KB; fds <= first + FD_SLACK).
The churn threads are paused while a sample is taken, so the descriptor count does not
include sockets that happen to be half-made at that instant.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from typing import Callable, Optional

import nanopy

RSS_PCT = 10
RSS_SLACK_KB = 4096
FD_SLACK = 8

# Every connected pair the churn makes: (bound side, connecting side).
PAIRS = [
    (nanopy.PAIR, nanopy.PAIR), (nanopy.REP, nanopy.REQ), (nanopy.PUB, nanopy.SUB),
    (nanopy.PULL, nanopy.PUSH), (nanopy.SURVEYOR, nanopy.RESPONDENT), (nanopy.BUS, nanopy.BUS),
]


def rss_kb() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc/self/status")


def fd_count() -> int:
    return len(os.listdir("/proc/self/fd"))


def bind_tcp(sock: nanopy.Socket) -> str:
    """Bind ``sock`` to a loopback port in place (retrying on EADDRINUSE), return the URL.
    Binding in place leaves no window in which another process can take the port."""
    while True:
        url = f"tcp://127.0.0.1:{random.randint(20000, 60000)}"
        try:
            sock.bind(url)
            return url
        except nanopy.AddressInUse:
            continue


class Soak:
    def __init__(self, tmpdir: str) -> None:
        self.tmpdir = tmpdir
        self.stop = threading.Event()
        self.pause = threading.Lock()  # held by the sampler; churn cycles take it briefly
        self.counts: dict[str, int] = {}
        self.errors: list[str] = []
        self._n = 0
        self._n_lock = threading.Lock()

    def address(self, transport: str, sock: nanopy.Socket) -> str:
        """Bind ``sock`` to a fresh address of ``transport`` and return it."""
        with self._n_lock:
            self._n += 1
            n = self._n
        if transport == "tcp":
            return bind_tcp(sock)
        url = f"ipc://{self.tmpdir}/s{n}.ipc" if transport == "ipc" else f"inproc://soak-{n}"
        sock.bind(url)
        return url

    def count(self, name: str, n: int = 1) -> None:
        self.counts[name] = self.counts.get(name, 0) + n

    def run_worker(self, name: str, body: Callable[[], None]) -> threading.Thread:
        def loop() -> None:
            try:
                body()
            except Exception as e:  # a worker that dies is a soak failure, not a hang
                import traceback

                where = traceback.extract_tb(e.__traceback__)[-1]
                self.errors.append(f"{name}: {type(e).__name__}: {e} (line {where.lineno})")
                self.stop.set()

        t = threading.Thread(target=loop, name=name, daemon=True)
        t.start()
        return t

    # ---- steady workloads -------------------------------------------------------------

    def reqrep(self, transport: str) -> None:
        with nanopy.Socket(nanopy.REP, recv_timeout=30000, send_timeout=30000) as rep, \
                nanopy.Socket(nanopy.REQ, recv_timeout=30000, send_timeout=30000) as req:
            req.connect(self.address(transport, rep))
            i = 0
            while not self.stop.is_set():
                req.send(b"q%d" % i)
                rep.send(rep.recv())
                assert req.recv() == b"q%d" % i
                i += 1
                self.count(f"reqrep-{transport}")

    def pubsub(self) -> None:
        with nanopy.Socket(nanopy.PUB) as pub:
            url = self.address("tcp", pub)
            subs = [nanopy.Socket(nanopy.SUB, recv_timeout=50) for _ in range(3)]
            try:
                for i, s in enumerate(subs):
                    s.subscribe(b"t%d" % i)
                    s.subscribe(b"all")
                    s.connect(url)
                while not self.stop.is_set():
                    for topic in (b"t0", b"t1", b"t2", b"all", b"none"):
                        pub.send(topic + b"." + os.urandom(random.randint(0, 2000)))
                    for s in subs:  # PUB drops for slow readers; read what arrived
                        while True:
                            try:
                                s.recv(block=False)
                                self.count("pubsub")
                            except nanopy.Again:
                                break
                    time.sleep(0.001)
            finally:
                for s in subs:
                    s.close()

    def pipeline(self) -> None:
        with nanopy.Socket(nanopy.PUSH, send_timeout=30000) as push:
            url = self.address("ipc", push)
            pulls = [nanopy.Socket(nanopy.PULL, recv_timeout=30000, connect=url)
                     for _ in range(2)]
            try:
                polls = [(p.id, nanopy.NN_POLLIN) for p in pulls]
                while not self.stop.is_set():
                    for _ in range(8):  # 8 x 70 kB at most: fits the pipes' buffers
                        push.send(b"x" * random.choice((1, 100, 70000)))
                    got = 0
                    while got < 8:
                        ready = nanopy.nn_poll(polls, 30000)
                        assert any(ready), "PULL got nothing in 30 s"
                        for p, r in zip(pulls, ready):
                            if r:
                                p.recv()
                                got += 1
                    self.count("pipeline", 8)
            finally:
                for p in pulls:
                    p.close()

    def survey(self) -> None:
        with nanopy.Socket(nanopy.SURVEYOR, survey_deadline=5000, recv_timeout=30000) as sv:
            url = self.address("inproc", sv)
            rs = [nanopy.Socket(nanopy.RESPONDENT, recv_timeout=30000, connect=url)
                  for _ in range(3)]
            try:
                while not all(nanopy.nn_get_statistic(r.id, nanopy.NN_STAT_CURRENT_CONNECTIONS)
                              for r in rs):
                    time.sleep(0.01)
                while not self.stop.is_set():
                    sv.send(b"s")
                    for r in rs:
                        r.send(r.recv() + b"!")
                    try:
                        for _ in rs:
                            assert sv.recv() == b"s!"
                        self.count("survey")
                    except nanopy.Timeout:  # deadline passed (a starved thread): next one
                        self.count("survey-expired")
            finally:
                for r in rs:
                    r.close()

    def bus(self) -> None:
        nodes = [nanopy.Socket(nanopy.BUS, recv_timeout=30000) for _ in range(3)]
        try:
            urls = [self.address("tcp", n) for n in nodes]
            for i, n in enumerate(nodes):
                for j in range(i + 1, 3):
                    n.connect(urls[j])
            for n in nodes:
                while nanopy.nn_get_statistic(n.id, nanopy.NN_STAT_CURRENT_CONNECTIONS) < 2:
                    time.sleep(0.01)
            while not self.stop.is_set():
                for i, n in enumerate(nodes):
                    n.send(b"b%d" % i)
                for n in nodes:
                    n.recv()
                    n.recv()
                self.count("bus", 6)
        finally:
            for n in nodes:
                n.close()

    def pair(self) -> None:
        with nanopy.Socket(nanopy.PAIR, recv_timeout=30000) as a, \
                nanopy.Socket(nanopy.PAIR, recv_timeout=30000) as b:
            b.connect(self.address("tcp", a))
            big = b"p" * 300_000
            while not self.stop.is_set():
                a.send(big)
                b.send(b.recv()[:10])
                a.recv()
                self.count("pair")

    # ---- churn ------------------------------------------------------------------------

    def churn(self) -> None:
        rng = random.Random(os.getpid())
        while not self.stop.is_set():
            with self.pause:
                self._churn_once(rng)
            self.count("churn")

    def _churn_once(self, rng: random.Random) -> None:
        bound_p, conn_p = rng.choice(PAIRS)
        transport = rng.choice(("tcp", "ipc", "inproc"))
        a = nanopy.Socket(bound_p, recv_timeout=30000, send_timeout=30000)
        b = nanopy.Socket(conn_p, recv_timeout=30000, send_timeout=30000)
        try:
            url = self.address(transport, a)
            if conn_p == nanopy.SUB:
                b.subscribe(b"")
            ep = b.connect(url)
            deadline = time.monotonic() + 30
            while nanopy.nn_get_statistic(b.id, nanopy.NN_STAT_CURRENT_CONNECTIONS) < 1:
                if time.monotonic() > deadline:
                    raise AssertionError(f"churn: {url} never connected")
                time.sleep(0.001)
            if conn_p in (nanopy.REQ, nanopy.PUSH, nanopy.PAIR, nanopy.BUS):
                b.send(b"hello")
                if bound_p != nanopy.BUS or rng.random() < 0.5:
                    a.recv()
            if rng.random() < 0.2:
                ep.shutdown()  # endpoint removed while its connection is up
            if rng.random() < 0.1:  # a connect that never succeeds (reconnect timer runs)
                b.connect(f"ipc://{self.tmpdir}/nobody-{rng.randint(0, 9)}.ipc")
        finally:
            for s in (a, b):
                if rng.random() < 0.5:
                    s.linger = 0
                s.close()

    def killed_peers(self) -> None:
        """A REQ child process over tcp, SIGKILLed mid-conversation and restarted."""
        with nanopy.Socket(nanopy.REP, recv_timeout=200, send_timeout=200) as rep:
            url = self.address("tcp", rep)
            child = ("import nanopy,sys\n"
                     "s=nanopy.Socket(nanopy.REQ,recv_timeout=30000,connect=sys.argv[1])\n"
                     "while True:\n    s.send(b'k'*1000); s.recv()\n")
            while not self.stop.is_set():
                proc = subprocess.Popen([sys.executable, "-c", child, url])
                end = time.monotonic() + random.uniform(1, 4)
                try:
                    while time.monotonic() < end and not self.stop.is_set():
                        try:
                            rep.send(rep.recv())
                            self.count("killed-peer-req")
                        except (nanopy.Timeout, nanopy.StateError):
                            pass
                finally:
                    proc.send_signal(signal.SIGKILL)
                    proc.wait()
                self.count("killed-peer-restarts")


def main(argv: Optional[list[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--duration", type=float, default=3600, help="seconds (default 3600)")
    ap.add_argument("--sample", type=float, default=60, help="seconds between samples")
    ap.add_argument("--warmup", type=float, default=60,
                    help="the baseline is the first sample at or after this many seconds")
    ap.add_argument("--csv", default="/tmp/nanopy-soak.csv")
    ap.add_argument("--churn-threads", type=int, default=2)
    args = ap.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="soak", dir="/tmp") as tmpdir:
        soak = Soak(tmpdir)
        workers = [
            soak.run_worker("reqrep-tcp", lambda: soak.reqrep("tcp")),
            soak.run_worker("reqrep-ipc", lambda: soak.reqrep("ipc")),
            soak.run_worker("reqrep-inproc", lambda: soak.reqrep("inproc")),
            soak.run_worker("pubsub", soak.pubsub),
            soak.run_worker("pipeline", soak.pipeline),
            soak.run_worker("survey", soak.survey),
            soak.run_worker("bus", soak.bus),
            soak.run_worker("pair", soak.pair),
            soak.run_worker("killed-peers", soak.killed_peers),
        ]
        workers += [soak.run_worker(f"churn{i}", soak.churn) for i in range(args.churn_threads)]

        start = time.monotonic()
        rows: list[tuple[float, int, int]] = []
        with open(args.csv, "w", newline="") as f:
            out = csv.writer(f)
            out.writerow(["elapsed_s", "rss_kb", "fds", "messages", "churn_cycles"])
            next_sample = start
            while True:
                now = time.monotonic()
                if now >= next_sample:
                    with soak.pause:  # no churn cycle half-done while counting
                        row = (round(now - start, 1), rss_kb(), fd_count())
                    total = sum(v for k, v in soak.counts.items() if k != "churn")
                    out.writerow([*row, total, soak.counts.get("churn", 0)])
                    f.flush()
                    rows.append(row)
                    print(f"soak: t={row[0]:7.1f}s rss={row[1]} kB fds={row[2]} "
                          f"messages={total} churn={soak.counts.get('churn', 0)}", flush=True)
                    next_sample += args.sample
                if now - start >= args.duration or soak.stop.is_set():
                    break
                time.sleep(min(1.0, max(0.0, next_sample - time.monotonic())))
        soak.stop.set()
        for t in workers:
            t.join(30)

    print("soak: counts", dict(sorted(soak.counts.items())))
    if soak.errors:
        print("soak: FAILED, worker errors:", *soak.errors, sep="\n  ")
        return 1
    base = next((r for r in rows if r[0] >= args.warmup), rows[0])
    last = rows[-1]
    rss_ok = last[1] <= base[1] * (1 + RSS_PCT / 100) + RSS_SLACK_KB
    fd_ok = last[2] <= base[2] + FD_SLACK
    print(f"soak: baseline t={base[0]}s rss={base[1]} kB fds={base[2]}; "
          f"last t={last[0]}s rss={last[1]} kB fds={last[2]}")
    print(f"soak: margin rss <= baseline*{1 + RSS_PCT / 100:.2f}+{RSS_SLACK_KB} kB "
          f"({'ok' if rss_ok else 'GREW'}), fds <= baseline+{FD_SLACK} "
          f"({'ok' if fd_ok else 'GREW'})")
    return 0 if rss_ok and fd_ok else 1


if __name__ == "__main__":
    sys.exit(main())
