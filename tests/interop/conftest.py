"""Fixtures for the interop matrix: native peer processes, nanopy sockets, fresh addresses.

Native peers are separate processes (``peers/*.py``) so that nanopy and libnanomsg/NNG never
share an address space, and so that a peer can be killed mid-test. Every peer and every nanopy
socket a test opens is killed or closed at teardown, whatever the outcome.

A native backend that cannot be loaded makes its cases skip with the reason, except when the
environment says ``CI=true``: there a missing peer must not turn the matrix green, so it fails.
"""

from __future__ import annotations

import os
import shutil
import sys
from functools import cache
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Optional, Sequence

import pytest

import nanopy

from .interop_harness import (
    HELPERS_DIR,
    NATIVE_PEERS,
    PROTOCOL_PAIRS,
    AddressBook,
    PeerProcess,
    check_backend,
    matrix_size,
    matrix_size_per_protocol,
    peer_argv,
    short_tmp_dir,
)
from .nanopy_side import NanopySockets


def running_in_ci() -> bool:
    """True when the environment variable CI is ``true`` (as CI sets it)."""
    return os.environ.get("CI", "").strip().lower() == "true"


@cache
def backend_problem(backend: str) -> Optional[str]:
    """Return why ``backend`` cannot run (cached per session), or None if it can."""
    return check_backend(backend)


def require_backend(backend: str) -> None:
    """Skip (locally) or fail (CI=true) the current test if ``backend`` is not usable."""
    problem = backend_problem(backend)
    if problem is None:
        return
    message = f"native {backend} peer unavailable: {problem}"
    if running_in_ci():
        pytest.fail(message + " (CI=true: a missing native peer is a failure)")
    pytest.skip(message)


def pytest_report_header(config: pytest.Config) -> List[str]:
    """Print the size of the interop matrix at the top of the run."""
    return [
        f"interop matrix: {matrix_size()} cases = {len(PROTOCOL_PAIRS)} protocol pairs x "
        f"{matrix_size_per_protocol()} (native peers {'/'.join(NATIVE_PEERS)} x tcp/ipc x "
        "nanopy binds/connects x 2 roles), plus test_interop_extras.py and "
        "test_interop_topologies.py"
    ]


def count_outcomes(terminalreporter, module: str) -> Dict[str, int]:
    """Count the call-phase outcomes (and setup errors) of the tests in ``module``."""
    counts: Dict[str, int] = {}
    for outcome in ("passed", "failed", "skipped", "error"):
        reports = terminalreporter.stats.get(outcome, [])
        counts[outcome] = sum(
            1 for report in reports if getattr(report, "nodeid", "").startswith(module)
        )
    return counts


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    """After the run, say how much of the interop matrix (and of the extras) passed."""
    lines = []
    for label, module in (
        (f"interop matrix ({matrix_size()} cases)", "tests/interop/test_interop_matrix.py"),
        ("interop extras", "tests/interop/test_interop_extras.py"),
        ("interop topologies", "tests/interop/test_interop_topologies.py"),
        ("interop ws/wss/tls+tcp/abstract", "tests/interop/test_interop_secure.py"),
        ("interop ws paths sharing a port", "tests/interop/test_interop_ws_paths.py"),
    ):
        counts = count_outcomes(terminalreporter, module)
        if any(counts.values()):
            lines.append(f"{label}: " + ", ".join(f"{n} {k}" for k, n in counts.items() if n))
    if lines:
        terminalreporter.write_sep("-", "interop summary")
        for line in lines:
            terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def ipc_root() -> Iterator[Path]:
    """A short private directory for every IPC socket file of the session."""
    root = Path(short_tmp_dir())
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def addresses(ipc_root: Path, request: pytest.FixtureRequest) -> AddressBook:
    """Fresh tcp/ipc URLs for one test (IPC files go in a per-test subdirectory)."""
    test_dir = ipc_root / str(abs(hash(request.node.nodeid)) % 10**8)
    test_dir.mkdir(exist_ok=True)
    return AddressBook(test_dir)


@pytest.fixture
def nanopy_sockets() -> Iterator[NanopySockets]:
    """Factory of nanopy sockets with timeouts set; all are closed at teardown."""
    sockets = NanopySockets()
    yield sockets
    sockets.close_all()


@pytest.fixture
def processes() -> Iterator[List[PeerProcess]]:
    """Every subprocess a test starts goes in this list and is killed at teardown."""
    started: List[PeerProcess] = []
    yield started
    for process in started:
        process.kill()


@pytest.fixture
def spawn_nanopy_helper(processes: List[PeerProcess]) -> Callable[..., PeerProcess]:
    """Start ``helpers/<script>`` (which imports nanopy) with the nanopy this test imports."""

    def spawn(script: str, *args: str) -> PeerProcess:
        env = dict(os.environ)
        nanopy_root = str(Path(nanopy.__file__).resolve().parent.parent)
        env["PYTHONPATH"] = os.pathsep.join(
            part for part in (nanopy_root, env.get("PYTHONPATH", "")) if part
        )
        argv = [sys.executable, str(HELPERS_DIR / script), *args]
        process = PeerProcess(f"nanopy {script}", argv, env=env)
        processes.append(process)
        return process

    return spawn


@pytest.fixture
def spawn_peer(processes: List[PeerProcess]) -> Callable[..., PeerProcess]:
    """Start a native peer: ``spawn_peer(backend, proto, action, bind=[..], connect=[..])``."""

    def spawn(
        backend: str,
        proto: str,
        action: str,
        *,
        bind: Sequence[str] = (),
        connect: Sequence[str] = (),
        extra: Sequence[str] = (),
    ) -> PeerProcess:
        require_backend(backend)
        argv = peer_argv(backend, proto, action, bind=bind, connect=connect, extra=extra)
        process = PeerProcess(f"{backend} {proto} {action}", argv)
        processes.append(process)
        return process

    return spawn
