"""The benchmark tools keep working: nanopy's perf tools print nanomsg's lines, and a
trimmed ``bench/run.py --quick`` writes its table.  No timing is asserted."""

from __future__ import annotations

import json
import os
import pathlib
import re
import socket
import subprocess
import sys
from typing import Dict, List

import pytest

from nanopy import perf

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

LATENCY_LINES = [
    r"message size: (\d+) \[B\]",
    r"roundtrip count: (\d+)",
    r"average latency: (\d+\.\d{3}) \[us\]",
]


def throughput_lines(prefix: str = "") -> List[str]:
    return [
        r"message size: (\d+) \[B\]",
        r"message count: (\d+)",
        prefix + r"throughput: (\d+) \[msg/s\]",
        prefix + r"throughput: (\d+\.\d{3}) \[Mb/s\]",
    ]


def parse(text: str, patterns: List[str]) -> List[str]:
    """Match the output line by line against ``patterns``; returns the captured values."""
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == len(patterns), text
    values = []
    for line, pattern in zip(lines, patterns):
        match = re.fullmatch(pattern, line)
        assert match, f"{line!r} does not match {pattern!r}"
        values.append(match.group(1))
    return values


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def env() -> Dict[str, str]:
    e = dict(os.environ)
    e["PYTHONPATH"] = os.path.join(REPO, "src") + os.pathsep + e.get("PYTHONPATH", "")
    return e


def run_pair(local: List[str], remote: List[str], timeout: float = 60) -> Dict[str, str]:
    """Start nanopy's local tool, then the remote one; return both outputs."""
    cmd = [sys.executable, "-m", "nanopy.perf"]
    lp = subprocess.Popen(cmd + local, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, env=env())
    try:
        rp = subprocess.run(cmd + remote, capture_output=True, text=True, timeout=timeout,
                            env=env())
        lout, lerr = lp.communicate(timeout=timeout)
    finally:
        if lp.poll() is None:
            lp.kill()
            lp.communicate()
    assert rp.returncode == 0, rp.stderr
    assert lp.returncode == 0, lerr
    return {"local": lout, "remote": rp.stdout}


def test_inproc_lat_prints_nanomsg_lines(capsys: pytest.CaptureFixture[str]) -> None:
    assert perf.main(["inproc_lat", "64", "200"]) == 0
    size, count, latency = parse(capsys.readouterr().out, LATENCY_LINES)
    assert (size, count) == ("64", "200")
    assert float(latency) > 0


def test_inproc_thr_prints_nanomsg_lines(capsys: pytest.CaptureFixture[str]) -> None:
    assert perf.main(["inproc_thr", "1024", "2000"]) == 0
    size, count, msgs, mbits = parse(capsys.readouterr().out, throughput_lines("mean "))
    assert (size, count) == ("1024", "2000")
    # nanomsg's formula: Mb/s = msgs/s * size * 8 / 1e6, from the truncated msgs/s.
    assert float(mbits) == pytest.approx(int(msgs) * 1024 * 8 / 1e6, abs=0.001)


def test_tcp_throughput_pair() -> None:
    port = free_port()
    out = run_pair(["local_thr", f"tcp://*:{port}", "64", "1000"],
                   ["remote_thr", f"tcp://127.0.0.1:{port}", "64", "1000"])
    size, count, msgs, _ = parse(out["local"], throughput_lines())
    assert (size, count) == ("64", "1000") and int(msgs) > 0
    assert out["remote"].strip() == ""


def test_ipc_latency_pair(tmp_path: pathlib.Path) -> None:
    address = f"ipc://{tmp_path}/lat.ipc"
    out = run_pair(["local_lat", address, "1024", "100"],
                   ["remote_lat", address, "1024", "100"])
    assert parse(out["remote"], LATENCY_LINES)[:2] == ["1024", "100"]
    assert out["local"].strip() == ""


def test_usage_errors_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert perf.main([]) == 1
    assert perf.main(["no_such_tool"]) == 1
    assert perf.main(["local_lat", "tcp://*:1"]) == 1
    assert perf.main(["inproc_lat", "x", "10"]) == 1
    assert "usage" in capsys.readouterr().out


@pytest.mark.timeout(240)
def test_harness_quick_subset(tmp_path: pathlib.Path) -> None:
    """bench/run.py --quick on a slice of the matrix writes the table and the JSON; the
    native nanomsg column may be n/a (no compiler or libnanomsg), nanopy's may not."""
    out_dir = os.path.join(str(tmp_path), "results")
    proc = subprocess.run(
        [sys.executable, os.path.join(REPO, "bench", "run.py"), "--quick", "--quiet",
         "--impl", "nanopy,nanomsg", "--kind", "thr,lat", "--transport", "ipc,inproc",
         "--runs", "3", "--target", "0.05", "--out", out_dir],
        capture_output=True, text=True, timeout=220, env=env(), cwd=REPO)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    with open(os.path.join(out_dir, "latest.json")) as fh:
        data = json.load(fh)
    assert {"thr/ipc/64", "thr/inproc/65536"} <= set(data["cells"])
    for key, cell in data["cells"].items():
        ours = cell["nanopy"]
        assert ours["error"] is None and len(ours["runs"]) == 3, (key, ours)
    with open(os.path.join(out_dir, "latest.md")) as fh:
        table = fh.read()
    assert "nanopy ÷ nanomsg" in table
