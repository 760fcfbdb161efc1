"""Helpers shared by the chaos modules: mode and durations, process figures (RSS, fds,
CPU), subprocess peers that are always killed, and a figures log for tools/chaos.sh."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Optional

HERE = os.path.dirname(os.path.abspath(__file__))
LONG = os.environ.get("NANOPY_CHAOS", "short").lower() == "long"


def pick(short: Any, long: Any) -> Any:
    """The SHORT-mode value, or the LONG-mode one under NANOPY_CHAOS=long."""
    return long if LONG else short


def rss_kb(pid: Optional[int] = None) -> int:
    """Resident set size (VmRSS) in kB."""
    path = f"/proc/{pid or 'self'}/status"
    with open(path) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def fd_count(pid: Optional[int] = None) -> int:
    """Number of open file descriptors."""
    return len(os.listdir(f"/proc/{pid or 'self'}/fd"))


def cpu_seconds(pid: Optional[int] = None) -> float:
    """User + system CPU time of a process (all its threads), from /proc/<pid>/stat."""
    with open(f"/proc/{pid or 'self'}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def figures(test: str, **values: Any) -> None:
    """Print one line of figures, and append it to $NANOPY_CHAOS_REPORT (tools/chaos.sh)."""
    line = json.dumps({"test": test, "mode": "long" if LONG else "short", **values})
    print(f"[chaos] {line}", flush=True)
    report = os.environ.get("NANOPY_CHAOS_REPORT")
    if report:
        with open(report, "a") as f:
            f.write(line + "\n")


def thread_wake_ms(samples: int = 5) -> float:
    """How late a thread blocked on a plain Event wakes after set(), in ms (the worst of
    ``samples``): the scheduler's delay on this machine right now. Limits on how promptly
    nanopy wakes a blocked call are scaled by it, so a loaded machine is not a failure."""
    worst = 0.0
    for _ in range(samples):
        go, woke = threading.Event(), []

        def waiter(go: threading.Event = go, woke: list = woke) -> None:
            go.wait()
            woke.append(time.monotonic())

        t = threading.Thread(target=waiter)
        t.start()
        time.sleep(0.01)
        t0 = time.monotonic()
        go.set()
        t.join(30)
        worst = max(worst, (woke[0] - t0) * 1000)
    return worst


def sleep_late_ms(seconds: float, samples: int = 3) -> float:
    """How much later than asked a plain time.sleep(seconds) returns, in ms (the worst of
    ``samples``): the same lateness any timed wait suffers on this machine right now."""
    worst = 0.0
    for _ in range(samples):
        t0 = time.monotonic()
        time.sleep(seconds)
        worst = max(worst, (time.monotonic() - t0 - seconds) * 1000)
    return worst


def wait_for(predicate: Any, timeout: float, what: str, step: float = 0.005) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(step)


class Peer:
    """A helper script of this folder run as a subprocess; stdout lines are JSON events."""

    def __init__(self, script: str, *args: str, env: Optional[dict[str, str]] = None) -> None:
        full_env = dict(os.environ)
        full_env.update(env or {})
        full_env["PYTHONUNBUFFERED"] = "1"
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(HERE, script), *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=full_env,
        )
        self._lines: queue.Queue[Optional[str]] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def event(self, timeout: float = 10.0) -> dict[str, Any]:
        """The next JSON line the peer prints (fails on EOF or timeout)."""
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"peer {self.pid}: no event within {timeout} s") from None
        if line is None:
            raise AssertionError(f"peer {self.pid} exited: rc={self.proc.wait(5)} "
                                 f"stderr={self.stderr()}")
        return dict(json.loads(line))

    def poll_event(self) -> Optional[dict[str, Any]]:
        """The next event if one is already there, else None."""
        try:
            line = self._lines.get_nowait()
        except queue.Empty:
            return None
        if line is None:
            self._lines.put(None)
            return None
        return dict(json.loads(line))

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith("{"):
                self._lines.put(line)
        self._lines.put(None)

    def expect(self, name: str, timeout: float = 10.0) -> dict[str, Any]:
        ev = self.event(timeout)
        assert ev.get("event") == name, (ev, self.stderr())
        return ev

    def tell(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def stderr(self) -> str:
        if self.proc.poll() is None or self.proc.stderr is None:
            return "<running>"
        return self.proc.stderr.read()[-4000:]

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def wait(self, timeout: float) -> int:
        return self.proc.wait(timeout)

    def close(self) -> None:
        self.kill()
        self._reader.join(5)
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if stream is not None:
                try:
                    stream.close()
                except OSError:
                    pass


@contextmanager
def peers() -> Iterator[list[Peer]]:
    """A list to put Peers in; every one is SIGKILLed and reaped on exit."""
    made: list[Peer] = []
    try:
        yield made
    finally:
        for p in made:
            try:
                p.close()
            except Exception:
                pass
