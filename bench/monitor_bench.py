"""Throughput with a connection monitor on and off: the monitor must not move the data path.

Each cell is PUSH (a separate process) -> PULL (this process) over tcp or ipc, timed at the
receiver from its first message to its last. Four modes, run interleaved so that machine noise
hits each alike:

* ``off``        no monitor;
* ``on``         a monitor open and never read (its queue full, dropping the oldest events);
* ``off+churn``  no monitor, while a third process connects and disconnects SP clients to the
                 same PULL socket as fast as it can (connection events keep coming);
* ``on+churn``   the same churn with the monitor open and never read.

Usage (from the repository root)::

    python bench/monitor_bench.py                       # tcp and ipc, 64 B, 5 runs of >= 1 s
    python bench/monitor_bench.py --transport tcp --size 1024 --runs 7 --seconds 2

``bench/run.py`` (or any script) can call :func:`run_cells` and render the returned rows.

On a busy machine the rates above are noisy; ``--instructions`` counts instead, with
valgrind's callgrind, the instructions one process executes to pass N messages from a PUSH
thread to a PULL socket over ipc with the monitor off and on (an event per connection is
the only work a monitor adds, so the two counts should be equal within noise)::

    python bench/monitor_bench.py --instructions --count 20000
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Dict, List, Optional

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_DIR = os.path.dirname(BENCH_DIR)
sys.path.insert(0, os.path.join(REPO_DIR, "src"))

import nanopy  # noqa: E402

MODES = ("off", "on", "off+churn", "on+churn")

SENDER = r"""
import sys, nanopy
url, size, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
s = nanopy.Socket(nanopy.PUSH, linger=-1)
s.connect(url)
msg = b"m" * size
batch = [msg] * 256
left = count
while left:
    n = min(left, 256)
    left -= s.send_many(batch[:n])
s.close()
"""

CHURN = r"""
import socket, sys, struct
port_or_path = sys.argv[1]
hello = b"\x00SP\x00" + struct.pack(">H", 80) + b"\x00\x00"   # a PUSH peer
while True:
    try:
        if port_or_path.isdigit():
            c = socket.create_connection(("127.0.0.1", int(port_or_path)))
        else:
            c = socket.socket(socket.AF_UNIX)
            c.connect(port_or_path)
        c.sendall(hello)
        c.recv(8)
        c.close()
    except OSError:
        pass
"""


INSTRUCTIONS = r"""
import os, sys, tempfile, threading, nanopy
mode, count = sys.argv[1], int(sys.argv[2])
path = os.path.join(tempfile.mkdtemp(), "i.ipc")
pull = nanopy.Socket(nanopy.PULL)
monitor = pull.monitor(capacity=64) if mode == "on" else None
pull.bind("ipc://" + path)
push = nanopy.Socket(nanopy.PUSH, connect="ipc://" + path, linger=-1)
def send():
    for _ in range(count // 256):
        push.send_many([b"m" * 64] * 256)
t = threading.Thread(target=send)
t.start()
got = 0
while got < count // 256 * 256:
    got += len(pull.recv_many(256))
t.join()
push.close()
pull.close()
"""


def count_instructions(mode: str, count: int) -> int:
    """Instructions (callgrind's Ir, every thread) of one in-process run."""
    with tempfile.TemporaryDirectory(prefix="npcg") as tmp:
        out = os.path.join(tmp, "cg.out")
        subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
                        sys.executable, "-c", INSTRUCTIONS, mode, str(count)],
                       env=_env(), check=True, capture_output=True, timeout=1800)
        total = 0
        for name in os.listdir(tmp):
            with open(os.path.join(tmp, name)) as f:
                for line in f:
                    if line.startswith("summary:") or line.startswith("totals:"):
                        total = max(total, int(line.split()[1]))
        return total


def _env() -> Dict[str, str]:
    env = dict(os.environ)
    src = os.path.join(REPO_DIR, "src")
    env["PYTHONPATH"] = src + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def measure(transport: str, size: int, count: int, mode: str, tmpdir: str) -> float:
    """Messages per second received in one run of ``count`` messages of ``size`` bytes."""
    pull = nanopy.Socket(nanopy.PULL, recv_timeout=30000)
    monitor = pull.monitor(capacity=64) if mode.startswith("on") else None
    churn: Optional[subprocess.Popen[bytes]] = None
    sender: Optional[subprocess.Popen[bytes]] = None
    try:
        if transport == "tcp":
            ep = pull.bind("tcp://127.0.0.1:0")
            url, churn_arg = ep.url, str(ep.port)
        else:
            path = os.path.join(tmpdir, f"thr-{time.monotonic_ns()}.ipc")
            ep = pull.bind(f"ipc://{path}")
            url, churn_arg = ep.url, path
        if mode.endswith("churn"):
            churn = subprocess.Popen([sys.executable, "-c", CHURN, churn_arg], env=_env())
            time.sleep(0.2)
        sender = subprocess.Popen([sys.executable, "-c", SENDER, url, str(size), str(count)],
                                  env=_env())
        got = len(pull.recv_many(256))
        start = time.perf_counter()
        while got < count:
            got += len(pull.recv_many(256))
        elapsed = time.perf_counter() - start
        sender.wait(60)
        return (count - 1) / elapsed
    finally:
        for proc in (sender, churn):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait()
        if monitor is not None:
            monitor.close()
        pull.linger = 0
        pull.close()


def calibrate(transport: str, size: int, seconds: float, tmpdir: str) -> int:
    """A message count that takes about ``seconds`` with the monitor off."""
    count = 20000
    while True:
        rate = measure(transport, size, count, "off", tmpdir)
        if count / rate >= seconds * 0.5 or count >= 50_000_000:
            return max(count, int(rate * seconds))
        count *= 4


def run_cells(transports: List[str], size: int, runs: int, seconds: float,
              log=print) -> List[Dict[str, object]]:
    """Every mode of every transport, interleaved; one row per (transport, mode) with the
    median, min and max rate over ``runs`` runs."""
    rows: List[Dict[str, object]] = []
    with tempfile.TemporaryDirectory(prefix="npmon") as tmpdir:
        for transport in transports:
            count = calibrate(transport, size, seconds, tmpdir)
            rates: Dict[str, List[float]] = {m: [] for m in MODES}
            for i in range(runs):
                for mode in MODES:
                    rates[mode].append(measure(transport, size, count, mode, tmpdir))
                log(f"{transport} run {i + 1}/{runs}: " + ", ".join(
                    f"{m} {rates[m][-1]:,.0f}/s" for m in MODES))
            base = statistics.median(rates["off"])
            for mode in MODES:
                med = statistics.median(rates[mode])
                rows.append({"transport": transport, "size": size, "mode": mode,
                             "count": count, "median": med, "min": min(rates[mode]),
                             "max": max(rates[mode]), "vs_off": med / base})
    return rows


def render(rows: List[Dict[str, object]]) -> str:
    lines = ["| transport | size | mode | msgs/s median | min - max | vs off |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['transport']} | {r['size']} B | {r['mode']} | {r['median']:,.0f} | "
                     f"{r['min']:,.0f} - {r['max']:,.0f} | {r['vs_off']:.2f} |")
    return "\n".join(lines)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--transport", default="tcp,ipc")
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--instructions", action="store_true",
                        help="count instructions with callgrind instead of timing")
    parser.add_argument("--count", type=int, default=20000)
    args = parser.parse_args(argv)
    if args.instructions:
        # Ir(2N) - Ir(N): the instructions of N more messages, without start-up and teardown.
        per_message = {}
        for mode in ("off", "on"):
            deltas = [count_instructions(mode, 2 * args.count)
                      - count_instructions(mode, args.count) for _ in range(args.runs)]
            per_message[mode] = [d / args.count for d in deltas]
        for mode, values in per_message.items():
            print(f"monitor {mode}: {statistics.median(values):,.1f} instructions per message "
                  f"(min {min(values):,.1f} max {max(values):,.1f}; {args.runs} x "
                  f"Ir({2 * args.count}) - Ir({args.count}), 64 B over ipc, one process)")
        return 0
    rows = run_cells(args.transport.split(","), args.size, args.runs, args.seconds)
    print(render(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
