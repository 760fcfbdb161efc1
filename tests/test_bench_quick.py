"""The benchmark tools keep working: nanopy's perf tools print nanomsg's lines, and a
trimmed ``bench/run.py --quick`` writes its table.  No timing is asserted."""

from __future__ import annotations

import importlib.util
import json
import os
import pathlib
import re
import socket
import subprocess
import sys
from typing import Dict, List

import pytest
from conftest import skip_or_fail

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


def run_tool(peer: str, args: List[str], timeout: float = 60) -> str:
    """Run ``bench/peers/tool.py peer args...`` (one process) and return its output."""
    proc = subprocess.run([sys.executable, os.path.join(REPO, "bench", "peers", "tool.py"),
                           peer, *args], capture_output=True, text=True, timeout=timeout,
                          env=env(), cwd=REPO)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def test_options_and_socket_api(capsys: pytest.CaptureFixture[str]) -> None:
    """--api socket and --nodelay reach the same tools; unknown options are usage errors."""
    assert perf.main(["--api", "socket", "--nodelay", "inproc_thr", "64", "500"]) == 0
    size, count, _, _ = parse(capsys.readouterr().out, throughput_lines("mean "))
    assert (size, count) == ("64", "500")
    assert perf.main(["--bogus", "inproc_thr", "64", "10"]) == 1
    assert perf.main(["--api", "nope", "inproc_thr", "64", "10"]) == 1


def test_large_messages_are_read() -> None:
    """Receivers read one byte per page: a buffer that is not a whole message fails."""
    assert perf.touch(b"o" * (3 * perf.PAGE + 1)) == 4 * ord("o")


def test_memory_per_connection_tool() -> None:
    out = run_tool("nanopy", ["conn_memory", f"tcp://*:{free_port()}", "20"])
    assert re.search(r"memory per connection: -?\d+ \[B\]", out), out


def test_fanout_tools() -> None:
    """PUSH to 4 connections and PUB to 4 SUB connections: every message arrives (the
    sender waits for the receivers' acknowledgements) and the send cost is printed."""
    for kind in ("push", "pub"):
        port = free_port()
        recv = subprocess.Popen(
            [sys.executable, os.path.join(REPO, "bench", "peers", "tool.py"), "nanopy",
             "fanout_recv", kind, f"tcp://127.0.0.1:{port}", "4", "40"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env(), cwd=REPO)
        try:
            out = run_tool("nanopy", ["fanout_send", kind, f"tcp://*:{port}", "4", "40"])
            assert recv.wait(timeout=30) == 0
        finally:
            if recv.poll() is None:
                recv.kill()
            recv.communicate()
        assert re.search(r"average time per message: \d+\.\d{3} \[us\]", out), out


@pytest.mark.timeout(300)
def test_harness_quick_subset(tmp_path: pathlib.Path) -> None:
    """bench/run.py --quick on a slice of the matrix writes the table and the JSON; both
    nanopy and native nanomsg (installed wherever this runs: CI installs it) must have
    numbers in every cell."""
    if not os.path.exists("/usr/include/nanomsg/nn.h"):
        skip_or_fail("native nanomsg headers (libnanomsg-dev) are not installed")
    out_dir = os.path.join(str(tmp_path), "results")
    proc = subprocess.run(
        [sys.executable, os.path.join(REPO, "bench", "run.py"), "--quick", "--quiet",
         "--impl", "nanopy,nanomsg", "--kind", "thr,lat", "--transport", "ipc,inproc",
         "--runs", "3", "--target", "0.05", "--out", out_dir],
        capture_output=True, text=True, timeout=280, env=env(), cwd=REPO)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    with open(os.path.join(out_dir, "latest.json")) as fh:
        data = json.load(fh)
    assert {"thr/ipc/64", "thr/inproc/65536", "lat/inproc/64/same"} <= set(data["cells"])
    for key, cell in data["cells"].items():
        for impl in ("nanopy", "nanomsg"):
            res = cell[impl]
            assert res["error"] is None and len(res["runs"]) == 3, (key, impl, res)
    with open(os.path.join(out_dir, "latest.md")) as fh:
        table = fh.read()
    assert "nanopy ÷ nanomsg" in table and "n/a (" not in table


def test_published_tables_match_the_committed_json(tmp_path: pathlib.Path) -> None:
    """README's summary and docs/benchmarks.md are exactly what bench/publish.py makes
    of bench/results-main.json: no table drifts from the run it claims."""
    spec = importlib.util.spec_from_file_location(
        "bench_publish_test", os.path.join(REPO, "bench", "publish.py"))
    assert spec is not None and spec.loader is not None
    publish = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(publish)
    readme = pathlib.Path(REPO, "README.md").read_text(encoding="utf-8")
    docs = pathlib.Path(REPO, "docs", "benchmarks.md").read_text(encoding="utf-8")
    assert publish.BEGIN in readme and publish.END in readme
    copies = {"README": tmp_path / "README.md", "DOCS_PAGE": tmp_path / "benchmarks.md"}
    copies["README"].write_text(readme, encoding="utf-8")
    for name, path in copies.items():
        setattr(publish, name, str(path))
    run = publish._load_run_module()
    with open(publish.COMMITTED_JSON) as fh:
        payload = json.load(fh)
    publish.update_readme(payload, run)
    publish.write_docs_page(payload, run)
    assert copies["README"].read_text(encoding="utf-8") == readme
    assert copies["DOCS_PAGE"].read_text(encoding="utf-8") == docs
