"""Replay the fuzz targets' seed corpus and every saved crash, built with gcc + ASan/UBSan.

fuzz/fuzz_<target>.c are libFuzzer targets; fuzz/standalone.c gives them a main() so gcc
alone can build them. Every input in fuzz/corpus/<target>/ and fuzz/regressions/<target>/
is run once: a crash found by tools/fuzz.sh is copied into fuzz/regressions/<target>/ and
from then on fails this test until the bug is fixed (and keeps it fixed).
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import skip_or_fail

ROOT = Path(__file__).resolve().parent.parent
CSRC = ROOT / "csrc"
FUZZ = ROOT / "fuzz"
CC = os.environ.get("CC", "gcc")

TARGETS = sorted(p.stem[len("fuzz_"):] for p in FUZZ.glob("fuzz_*.c"))

@pytest.fixture(autouse=True)
def _compiler_present() -> None:
    if shutil.which(CC) is None:
        skip_or_fail(f"{CC} not installed")


def sources_for(target: str) -> list[str]:
    """Same lists as tools/fuzz.sh: what each target links besides itself."""
    if target == "frame":
        return [str(CSRC / "transports" / "frame.c"), str(CSRC / "core" / "msg.c")]
    if target == "wsframe":
        return [str(CSRC / "transports" / "ws_frame.c"), str(CSRC / "core" / "msg.c")]
    if target == "wshttp":
        return [str(CSRC / "transports" / "ws_http.c")]
    if target == "wspath":
        return [str(CSRC / "transports" / "ws_path.c")]
    if target == "bt":
        layers = ("core", "platform", "protocols", "transports")
        return sorted(f for layer in layers for f in glob.glob(str(CSRC / layer / "*.c")))
    return []


def inputs_for(target: str) -> list[Path]:
    found: list[Path] = []
    for sub in ("corpus", "regressions"):
        d = FUZZ / sub / target
        if d.is_dir():
            found += sorted(p for p in d.iterdir() if p.is_file() and p.name[0] != ".")
    return found


@pytest.mark.parametrize("target", TARGETS)
def test_fuzz_inputs_replay_clean(target: str, tmp_path: Path) -> None:
    inputs = inputs_for(target)
    assert inputs, f"no seed corpus for fuzz_{target}"
    exe = tmp_path / f"fuzz_{target}"
    cmd = [CC, "-std=gnu11", "-g", "-O1", "-fno-omit-frame-pointer",
           "-fsanitize=address,undefined", "-fno-sanitize-recover=undefined",
           f"-I{CSRC}", "-o", str(exe), str(FUZZ / f"fuzz_{target}.c"),
           str(FUZZ / "standalone.c"), *sources_for(target), "-pthread"]
    build = subprocess.run(cmd, capture_output=True, text=True)
    assert build.returncode == 0, f"compile failed:\n{' '.join(cmd)}\n{build.stderr}"
    env = {**os.environ,
           "ASAN_OPTIONS": "detect_leaks=1:allocator_may_return_null=1",
           "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1"}
    env.pop("LD_PRELOAD", None)
    # All inputs in one process (fast); on a failure, one process per input so the
    # message names the input that breaks.
    def replay(paths: list[Path]) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(exe), *map(str, paths)], capture_output=True, text=True,
                              timeout=120, env=env, cwd=tmp_path)

    if replay(inputs).returncode == 0:
        return
    for path in inputs:
        run = replay([path])
        assert run.returncode == 0, (
            f"fuzz_{target} fails on {path.relative_to(ROOT)} (exit {run.returncode}):\n"
            f"{run.stdout}{run.stderr}")
    pytest.fail(f"fuzz_{target} fails on the whole corpus but on no single input")
