"""The C core's own unit tests (csrc/tests/test_*.c), built with gcc + ASan/UBSan and run.

One pytest test per C test binary, so a failure names the unit; the assertion message is
the binary's whole output (tinytest prints file:line and the failed expression, the
sanitizers print their report). The binaries do not need Python or the extension module,
only gcc: without it the tests are skipped, not failed.

The queue test is built a second time with ThreadSanitizer: its two-thread stress only
proves the memory ordering when TSan watches it (ASan would pass a racy ring that happens
to work on x86).
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import skip_or_fail

ROOT = Path(__file__).resolve().parent.parent
CSRC = ROOT / "csrc"
TESTS_DIR = CSRC / "tests"
CC = os.environ.get("CC", "gcc")

C_TESTS = sorted(p.stem for p in TESTS_DIR.glob("test_*.c"))

BASE_FLAGS = ["-std=c11", "-D_GNU_SOURCE", "-O1", "-g", "-Wall", "-Wextra",
              "-Wno-unused-parameter", "-Wno-sign-compare", "-fno-omit-frame-pointer"]
SANITIZERS = {
    "asan": ["-fsanitize=address,undefined", "-fno-sanitize-recover=undefined"],
    "tsan": ["-fsanitize=thread"],
}
SAN_ENV = {
    # Leaks matter here (no interpreter around to make noise): keep LeakSanitizer on.
    "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0:allocator_may_return_null=1",
    "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1",
    "TSAN_OPTIONS": "halt_on_error=1:second_deadlock_stack=1",
}

@pytest.fixture(autouse=True)
def _compiler_present() -> None:
    if shutil.which(CC) is None:
        skip_or_fail(f"{CC} not installed")


def deps_of(name: str) -> list[str]:
    """The core files a test needs, from its '// deps:' line (shared with the Makefile):
    paths under csrc/, shell patterns allowed."""
    text = (TESTS_DIR / f"{name}.c").read_text()
    m = re.search(r"^// deps:(.*)$", text, re.M)
    found: list[str] = []
    for pattern in m.group(1).split() if m else []:
        matches = sorted(glob.glob(str(CSRC / pattern)))
        assert matches, f"{name}: deps pattern {pattern!r} matches nothing"
        found += matches
    return found


def build_and_run(name: str, san: str, outdir: Path, env_extra: dict[str, str] | None = None
                  ) -> str:
    exe = outdir / f"{name}-{san}"
    cmd = [CC, *BASE_FLAGS, *SANITIZERS[san], f"-I{CSRC}", "-o", str(exe),
           str(TESTS_DIR / f"{name}.c"), *deps_of(name), "-pthread"]
    build = subprocess.run(cmd, capture_output=True, text=True)
    if build.returncode != 0 and san == "tsan" and "tsan" in build.stderr.lower():
        skip_or_fail("ThreadSanitizer runtime not available")
    assert build.returncode == 0, f"compile failed:\n{' '.join(cmd)}\n{build.stderr}"
    env = {**os.environ, **SAN_ENV, **(env_extra or {})}
    env.pop("LD_PRELOAD", None)  # tools/sanitize.sh preloads libasan for Python; not here
    run = subprocess.run([str(exe)], capture_output=True, text=True, timeout=60, env=env)
    out = run.stdout + run.stderr
    if san == "tsan" and "FATAL: ThreadSanitizer" in out and "memory" in out.lower():
        # Some kernels' address-space layout (high mmap_rnd_bits) defeats TSan's shadow map.
        skip_or_fail("ThreadSanitizer cannot map its shadow memory on this kernel")
    assert run.returncode == 0, f"{name} ({san}) exited {run.returncode}:\n{out}"
    assert re.search(r"^\d+ passed, 0 failed$", run.stdout, re.M), out
    return run.stdout


@pytest.mark.parametrize("name", C_TESTS)
def test_c_unit(name: str, tmp_path: Path) -> None:
    build_and_run(name, "asan", tmp_path)


def test_c_queue_under_tsan(tmp_path: Path) -> None:
    build_and_run("test_queue", "tsan", tmp_path)


@pytest.mark.parametrize(("poller", "expect"), [("poll", "poll + eventfd"),
                                                ("portable", "poll + pipe")])
def test_c_loop_on_portable_backends(poller: str, expect: str, tmp_path: Path) -> None:
    """The I/O thread's timers and commands on the run-time selectable backends."""
    out = build_and_run("test_loop", "asan", tmp_path, {"NANOPY_POLLER": poller})
    assert f"backend {expect}" in out
