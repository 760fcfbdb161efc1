"""bench/async_bench.py keeps working: a few short nanopy cells run and render (no timing is
asserted; the figures come from full runs, see docs/asyncio.md)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

from conftest import skip_or_fail

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_async_bench_cells_run_and_render(tmp_path) -> None:
    if shutil.which("taskset") is None:
        skip_or_fail("taskset (util-linux) is needed to place the benchmark processes")
    out = tmp_path / "async.json"
    only = ["rt,split,reqrep,inproc,nanopy/asyncio", "rt,same,pair,tcp,nanopy/uvloop",
            "pull,split,ipc,nanopy/asyncio"]
    data = {}
    for sel in only:
        proc = subprocess.run(
            [sys.executable, os.path.join(REPO, "bench", "async_bench.py"), "--runs", "1",
             "--seconds", "0.1", "--only", sel, "--out", str(out)],
            cwd=REPO, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        got = json.loads(out.read_text())
        assert got["meta"]["load_average"]["max"] >= 0
        data.update(got["runs"])
        table = (tmp_path / "async.md").read_text()
        assert "load average" in table
    assert set(data) == {"rt/split/reqrep/inproc/nanopy/asyncio",
                         "rt/same/pair/tcp/nanopy/uvloop",
                         "pull/split/pipeline/ipc/nanopy/asyncio"}
    for key, runs in data.items():
        assert len(runs) == 1 and "error" not in runs[0], (key, runs)
        if key.startswith("rt/"):
            assert runs[0]["us"] > 0 and runs[0]["n"] >= 50
        else:
            assert runs[0]["msgs_per_s"] > 0
