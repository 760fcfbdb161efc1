"""nn_close and nn_term while other threads are blocked in send (no pipe, and a full
pipe), recv (also REQ awaiting a reply, and three receivers on one socket), nn_poll and
nn_device (two sockets, and loopback): every blocked call returns promptly with EBADF
(close) or ETERM (term). nn_term is permanent, so it runs in a subprocess (blocked.py)."""

from __future__ import annotations

import gc
import json
import subprocess
import sys
import time
from typing import Any

import pytest

import nanopy

from . import blocked
from ._common import HERE, fd_count, figures, pick, rss_kb, thread_wake_ms

ROUNDS = pick(2, 20)
PROMPT_MS = 2000  # on a quiet machine the measured figures are around a millisecond


def prompt_limit_ms() -> float:
    """PROMPT_MS, stretched when the machine is loaded: 50 times the scheduler's current
    wake-up delay for a plain thread (measured now, in this process), if that is more."""
    return max(PROMPT_MS, 50 * thread_wake_ms())


def check(result: dict[str, Any], errno: int) -> float:
    limit = prompt_limit_ms()
    assert not result["early"], f"calls that did not block: {result['early']}"
    worst = 0.0
    for name, r in result["calls"].items():
        assert r["outcome"] == errno, f"{name}: {r} (wanted errno {errno})"
        assert r["after_ms"] < limit, (
            f"{name} returned only after {r['after_ms']} ms (limit {limit:.0f} ms)")
        worst = max(worst, r["after_ms"])
    return worst


@pytest.mark.timeout(pick(60, 300))
def test_close_wakes_every_blocked_call() -> None:
    blocked.run("close")  # warm-up: I/O thread, free lists
    gc.collect()
    fds_before, rss_before = fd_count(), rss_kb()
    worst = 0.0
    for _ in range(ROUNDS):
        worst = max(worst, check(blocked.run("close"), nanopy.EBADF))
    gc.collect()
    time.sleep(0.2)
    fds_after, rss_after = fd_count(), rss_kb()
    figures("close_blocked", rounds=ROUNDS, worst_ms=worst, fds_before=fds_before,
            fds_after=fds_after,            rss_kb_before=rss_before, rss_kb_after=rss_after)
    assert fds_after <= fds_before + 5


@pytest.mark.timeout(pick(90, 600))
def test_term_wakes_every_blocked_call() -> None:
    worst = 0.0
    for _ in range(ROUNDS):
        p = subprocess.run([sys.executable, f"{HERE}/blocked.py", "term"],
                           capture_output=True, text=True, timeout=30)
        assert p.returncode == 0, p.stderr
        result = json.loads(p.stdout.strip().splitlines()[-1])
        worst = max(worst, check(result, nanopy.ETERM))
        assert set(result["after_term"].values()) == {nanopy.ETERM}, result["after_term"]
    figures("term_blocked", rounds=ROUNDS, worst_ms=worst)


@pytest.mark.timeout(pick(60, 300))
@pytest.mark.parametrize("transport", ["tcp", "ipc", "inproc"])
def test_close_under_load(transport: str, tmp_ipc_dir: str) -> None:
    """nn_close while threads hammer both ends (not blocked: sending and receiving as fast
    as they can): every thread ends with EBADF, nothing crashes, nothing leaks."""
    import threading

    from conftest import make_address

    rounds = pick(20, 200)
    outcomes: dict[str, int] = {}
    lock = threading.Lock()
    fds_before = fd_count()
    for _ in range(rounds):
        address = make_address(transport, tmp_ipc_dir)
        pull = nanopy.nn_socket(nanopy.AF_SP, nanopy.NN_PULL)
        push = nanopy.nn_socket(nanopy.AF_SP, nanopy.NN_PUSH)
        for s in (pull, push):
            nanopy.nn_setsockopt(s, nanopy.NN_SOL_SOCKET, nanopy.NN_RCVTIMEO, 5000)
            nanopy.nn_setsockopt(s, nanopy.NN_SOL_SOCKET, nanopy.NN_SNDTIMEO, 5000)
            nanopy.nn_setsockopt(s, nanopy.NN_SOL_SOCKET, nanopy.NN_LINGER, 0)
        nanopy.nn_bind(pull, address)
        nanopy.nn_connect(push, address)

        def hammer(fn: object) -> None:
            try:
                while True:
                    fn()  # type: ignore[operator]
            except nanopy.NNError as e:
                key = nanopy.nn_strerror(e.errno)
            except Exception as e:
                key = f"{type(e).__name__}: {e}"
            with lock:
                outcomes[key] = outcomes.get(key, 0) + 1

        threads = [threading.Thread(target=hammer, args=(fn,), daemon=True) for fn in
                   [lambda s=push: nanopy.nn_send(s, b"x" * 64)] * 2
                   + [lambda s=pull: nanopy.nn_recv(s)] * 2
                   + [lambda s=pull: nanopy.nn_poll([(s, nanopy.NN_POLLIN)], 100)]]
        for t in threads:
            t.start()
        time.sleep(0.02)
        nanopy.nn_close(pull)
        nanopy.nn_close(push)
        for t in threads:
            t.join(5)
        assert not any(t.is_alive() for t in threads), "a thread did not return after close"
    gc.collect()
    time.sleep(0.3)
    fds_after = fd_count()
    figures("close_under_load", transport=transport, rounds=rounds, outcomes=outcomes,
            fds_before=fds_before, fds_after=fds_after)
    assert set(outcomes) == {nanopy.nn_strerror(nanopy.EBADF)}, outcomes
    assert fds_after <= fds_before + 5
