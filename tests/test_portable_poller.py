"""The protocol, transport and interop suites pass a second time on the portable backends:
poll() and pipe wake-ups (NANOPY_POLLER=portable), the pair a port to a system without
epoll and eventfd runs.

The suites run in a child pytest with the variable set. That the variable really switches
the backends is checked first, from outside the C core: _core names no backend, so a child
interpreter opens connected sockets and the test reads the kinds of its descriptors in
/proc/self/fd. With the default backends they include an epoll instance and eventfds; with
NANOPY_POLLER=portable there must be neither, and the wake-ups must be pipes.

CI form: the six protocol suites, the address forms and the interop matrix. Long form
(NANOPY_PORTABLE_FULL=1): the whole interop directory (extras and topologies too)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from typing import Dict

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FULL = os.environ.get("NANOPY_PORTABLE_FULL") == "1"
SUITES = [
    "tests/test_pair.py",
    "tests/test_reqrep.py",
    "tests/test_pubsub.py",
    "tests/test_pipeline.py",
    "tests/test_survey.py",
    "tests/test_bus.py",
    "tests/test_addresses.py",
] + (["tests/interop"] if FULL else ["tests/interop/test_interop_matrix.py"])

# Opens sockets over every transport with traffic, then prints the kinds of its descriptors.
DESCRIPTOR_KINDS = r"""
import json, os, tempfile
import nanopy
kinds = {}
with tempfile.TemporaryDirectory() as d:
    urls = ["inproc://portable-check", "ipc://" + os.path.join(d, "s.ipc"), "tcp://127.0.0.1:0"]
    socks = []
    for url in urls:
        a = nanopy.Socket(nanopy.PAIR, recv_timeout=5000)
        b = nanopy.Socket(nanopy.PAIR, recv_timeout=5000)
        endpoint = a.bind(url)
        b.connect(getattr(endpoint, "url", url))
        b.send(b"x")
        assert a.recv() == b"x"
        socks += [a, b]
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink("/proc/self/fd/" + fd)
        except OSError:
            continue
        kind = target.split(":[")[0] if not target.startswith("anon_inode:") else target
        kinds[kind] = kinds.get(kind, 0) + 1
    for s in socks:
        s.close()
print(json.dumps(kinds))
"""


def _descriptor_kinds(env: Dict[str, str]) -> Dict[str, int]:
    out = subprocess.run([sys.executable, "-c", DESCRIPTOR_KINDS], capture_output=True,
                         text=True, timeout=60, env=env, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def _env(**extra: str) -> Dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("NANOPY_POLLER", "NANOPY_WAKEUP")}
    env.update(extra)
    return env


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/fd")
@pytest.mark.timeout(120)
def test_portable_variable_switches_to_poll_and_pipes() -> None:
    default = _descriptor_kinds(_env())
    assert default.get("anon_inode:[eventpoll]", 0) >= 1, default
    assert default.get("anon_inode:[eventfd]", 0) >= 1, default
    portable = _descriptor_kinds(_env(NANOPY_POLLER="portable"))
    assert "anon_inode:[eventpoll]" not in portable, portable
    assert "anon_inode:[eventfd]" not in portable, portable
    assert portable.get("pipe", 0) >= default.get("pipe", 0) + 2, (default, portable)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/fd")
@pytest.mark.timeout(3600 if FULL else 900)
def test_suites_pass_on_poll_and_pipe_wakeups() -> None:
    started = time.monotonic()
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *SUITES],
        capture_output=True, text=True, timeout=3500 if FULL else 880, cwd=ROOT,
        env=_env(NANOPY_POLLER="portable"))
    elapsed = time.monotonic() - started
    summary = out.stdout.strip().splitlines()[-1] if out.stdout.strip() else ""
    print(f"portable backends: {summary} ({elapsed:.0f} s)")
    assert out.returncode == 0, out.stdout[-6000:] + out.stderr[-3000:]
    assert " passed" in summary and "failed" not in summary, summary
