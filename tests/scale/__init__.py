"""Scale: thousands of connections to one socket, a PUB with a thousand subscribers.
Short form in CI; ``NANOPY_LONG=1`` for the long form. Figures go to stdout (pytest -s)
and to $NANOPY_SCALE_RESULTS (default /tmp/nanopy-scale-results.jsonl)."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
from typing import Any, Optional

import nanopy

HERE = os.path.dirname(os.path.abspath(__file__))
LONG = os.environ.get("NANOPY_LONG", "") not in ("", "0")
RESULTS = os.environ.get("NANOPY_SCALE_RESULTS", "/tmp/nanopy-scale-results.jsonl")


def pick(short: Any, long: Any) -> Any:
    """The CI value, or the long one under NANOPY_LONG=1."""
    return long if LONG else short


def record(case: str, **values: Any) -> None:
    line = json.dumps({"case": case, "mode": "long" if LONG else "short", **values})
    print(f"[scale] {line}", flush=True)
    with open(RESULTS, "a") as f:
        f.write(line + "\n")


def rss_kb() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def bind_tcp(sock: nanopy.Socket) -> tuple[str, int]:
    """Bind ``sock`` on 127.0.0.1 to a port the kernel picks, in place; (url, port)."""
    ep = sock.bind("tcp://127.0.0.1:0")
    return str(ep.url), int(ep.port)


class Proc:
    """raw_peers.py in a child process: JSON events out, commands in."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "raw_peers.py"), *args],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.events: queue.Queue[Optional[dict[str, Any]]] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.events.put(json.loads(line))
        self.events.put(None)

    def wait(self, ev: str, timeout: float = 60.0) -> dict[str, Any]:
        while True:
            try:
                got = self.events.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError(f"no {ev!r} from peer process in {timeout} s") from None
            if got is None:
                err = self.proc.stderr.read() if self.proc.stderr else ""
                raise AssertionError(f"peer process exited: {err[-2000:]}")
            if got["ev"] == ev:
                return got

    def command(self, cmd: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(cmd + "\n")
        self.proc.stdin.flush()


class Procs:
    def __init__(self) -> None:
        self.all: list[Proc] = []

    def start(self, *args: str) -> Proc:
        p = Proc(*args)
        self.all.append(p)
        return p

    def close(self) -> None:
        for p in self.all:
            if p.proc.poll() is None:
                p.proc.kill()
            p.proc.wait(10)
