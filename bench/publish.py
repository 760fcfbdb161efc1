"""Publish a bench run: the committed JSON, the plot, the README summary and the docs page.

Usage: ``python bench/publish.py [RESULTS.json]`` (default ``bench/results/latest.json``;
``python bench/run.py --publish`` calls it after a run).  It writes

- ``bench/results-main.json``: the run's JSON, committed with the tables made from it;
- ``bench/throughput.png``: the throughput plot of that run (removed when matplotlib is
  missing, so no older plot stays next to the new tables);
- the summary table of README.md's Performance section (between the
  ``<!-- bench-summary:begin -->`` and ``<!-- bench-summary:end -->`` markers);
- ``docs/benchmarks.md``: every table of the run.

Nothing is measured here: the tables are a function of the JSON alone, so
``python bench/publish.py bench/results-main.json`` rebuilds them at any commit.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import sys
from typing import Any, Dict, List, Optional, Tuple

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_DIR = os.path.dirname(BENCH_DIR)
COMMITTED_JSON = os.path.join(BENCH_DIR, "results-main.json")
README = os.path.join(REPO_DIR, "README.md")
DOCS_PAGE = os.path.join(REPO_DIR, "docs", "benchmarks.md")
BEGIN, END = "<!-- bench-summary:begin -->", "<!-- bench-summary:end -->"

#: The summary rows: (figure, cell key, implementation, reference cell key, reference
#: implementation).  The ratio column says which of the two it divides.
FIGURES: List[Tuple[str, str, str, str, str]] = [
    ("tcp 64 B stream, TCP_NODELAY on everywhere, msgs/s", "thr/tcp/64/nodelay", "nanopy",
     "thr/tcp/64/nodelay", "pyzmq"),
    ("tcp 64 B stream, options of nanomsg's tools (Nagle on), msgs/s", "thr/tcp/64",
     "nanopy", "thr/tcp/64", "nanomsg"),
    ("tcp 64 B stream, TCP_NODELAY on, `send_many`/`recv_many`, msgs/s",
     "thr/tcp/64/nodelay", "nanopy-batch", "thr/tcp/64/nodelay", "pyzmq"),
    ("`nanopy.Socket` vs nn_*, tcp 64 B, msgs/s", "thr/tcp/64", "nanopy-socket",
     "thr/tcp/64", "nanopy"),
    ("`nanopy.Socket` vs nn_*, ipc 64 B, msgs/s", "thr/ipc/64", "nanopy-socket",
     "thr/ipc/64", "nanopy"),
    ("`nanopy.Socket` vs nn_*, inproc 64 B, msgs/s", "thr/inproc/64", "nanopy-socket",
     "thr/inproc/64", "nanopy"),
    ("PUSH send cost, 1,000 peers vs 1, µs", "fanout/push/64/1000peers", "nanopy",
     "fanout/push/64/1peers", "nanopy"),
    ("PUSH send cost, 1,000 peers, µs", "fanout/push/64/1000peers", "nanopy",
     "fanout/push/64/1000peers", "pyzmq"),
    ("PUB send to 1,000 SUB connections, µs", "fanout/pub/64/1000peers", "nanopy",
     "fanout/pub/64/1000peers", "pyzmq"),
    ("memory per tcp connection, bytes", "mem/tcp/1000", "nanopy", "mem/tcp/1000", "pynng"),
    ("memory per tcp connection, bytes", "mem/tcp/1000", "nanopy", "mem/tcp/1000", "pyzmq"),
    ("latency tcp 64 B, both ends on one CPU, µs", "lat/tcp/64/same", "nanopy",
     "lat/tcp/64/same", "nanomsg"),
    ("latency inproc 64 B, one CPU, µs", "lat/inproc/64/same", "nanopy",
     "lat/inproc/64/same", "pyzmq"),
    ("inproc 1 MiB, payload read, msgs/s", "thr/inproc/1048576", "nanopy",
     "thr/inproc/1048576", "nanomsg"),
    ("inproc 1 MiB, payload read, msgs/s", "thr/inproc/1048576", "nanopy",
     "thr/inproc/1048576", "nanomsg-zc"),
    ("tcp 1 MiB, payload read, msgs/s", "thr/tcp/1048576", "nanopy",
     "thr/tcp/1048576", "plain-coalesced"),
    ("tcp 1 MiB, payload read, msgs/s", "thr/tcp/1048576", "nanopy",
     "thr/tcp/1048576", "nanomsg-zc"),
]


def _load_run_module() -> Any:
    spec = importlib.util.spec_from_file_location("bench_run", os.path.join(BENCH_DIR, "run.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("bench_run", module)
    spec.loader.exec_module(module)
    return module


def _cell(payload: Dict[str, Any], key: str, impl: str) -> Optional[Dict[str, Any]]:
    row = payload["cells"].get(key)
    res = row.get(impl) if row else None
    return res if res and res.get("runs") else None


def _show(run: Any, kind: Any, res: Optional[Dict[str, Any]], name: str) -> str:
    """``name median [min–max]`` of one result."""
    if res is None:
        return f"{name}: n/a"
    runs = res["runs"]
    return (f"{name} {run._fmt_number(kind, res['median'])} "
            f"[{run._fmt_number(kind, min(runs))}–{run._fmt_number(kind, max(runs))}]")


def summary_table(payload: Dict[str, Any], run: Any) -> str:
    """The README summary: one row per figure, with the reference and the ratio named."""
    lines = ["| figure | nanopy side | reference | ratio (what it divides) |",
             "|---|---|---|---|"]
    for figure, key, impl, ref_key, ref_impl in FIGURES:
        kind = run.KINDS[key.split("/")[0]]
        ours, theirs = _cell(payload, key, impl), _cell(payload, ref_key, ref_impl)
        if ours is None:
            continue
        cell, ref_cell = run.cell_from_key(key), run.cell_from_key(ref_key)

        ours_label = f"{impl} ({run._row_label(cell)})" if key != ref_key else impl
        ref_label = f"{ref_impl} ({run._row_label(ref_cell)})" if key != ref_key else ref_impl
        if theirs is None:
            ratio = "n/a"
        else:
            quantity = {"msgs_per_s": "rate", "bytes_per_conn": "bytes"}.get(kind.metric, "time")
            ratio = (f"{ours['median'] / theirs['median']:.2f}x: {ours_label} {quantity} "
                     f"÷ {ref_label} {quantity}")
        lines.append(f"| {figure} | {_show(run, kind, ours, impl)} | "
                     f"{_show(run, kind, theirs, ref_impl)} | {ratio} |")
    return "\n".join(lines)


def _intro(meta: Dict[str, Any]) -> str:
    return (f"Run of {meta['date']} at commit {meta.get('commit', '?')}: "
            f"`{meta['command']}` on {meta['machine']}; {meta.get('load', '')}. "
            f"Each figure is the median [min–max] of {meta['runs']} interleaved runs of "
            f"~{meta['target']} s or more (PUB fan-out and memory cells: fixed counts). "
            "The JSON behind every table is `bench/results-main.json`.")


def update_readme(payload: Dict[str, Any], run: Any) -> None:
    """Replace the README summary between the markers."""
    with open(README, encoding="utf-8") as fh:
        text = fh.read()
    if BEGIN not in text or END not in text:
        raise SystemExit(f"README.md has no {BEGIN} ... {END} markers")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    block = "\n".join([BEGIN, "", _intro(payload["meta"]), "", summary_table(payload, run),
                       "", END])
    with open(README, "w", encoding="utf-8") as fh:
        fh.write(head + block + tail)


def write_docs_page(payload: Dict[str, Any], run: Any) -> None:
    """docs/benchmarks.md: how to run the bench, and every table of the published run."""
    results, impls, meta = run.load_json(COMMITTED_JSON)
    tables = run.render_markdown(results, impls, meta).split("\n")
    tables = ["#" + line if line.startswith("#") else line for line in tables[1:]]
    page = [
        "# Benchmarks", "",
        "The benchmark suite lives in `bench/` of the source tree (`bench/README.md` "
        "explains the method). It runs the same latency, throughput, fan-out and memory "
        "tests against nanopy, native nanomsg (C programs of our own in `bench/native` "
        "that take the arguments and set the socket options of nanomsg's perf tools), "
        "plain sockets, and the Python libraries pyzmq, pynng and nnpy.", "",
        "To measure on your own machine, the package ships the perf tools as a "
        "subcommand; they follow nanomsg's `local_lat` / `remote_lat` / `local_thr` / "
        "`remote_thr` command lines, so a nanopy side can be measured against a native "
        "nanomsg side and the other way round:", "",
        "```sh", "nanopy perf --help",
        "nanopy perf local_thr tcp://*:5555 64 1000000 &",
        "nanopy perf --nodelay remote_thr tcp://127.0.0.1:5555 64 1000000", "```", "",
        "## Published run", "",
        "Generated by `bench/publish.py` from the committed `bench/results-main.json`; "
        "the figures depend on the machine and on what else ran on it. "
        + _intro(meta), "",
        *tables,
    ]
    with open(DOCS_PAGE, "w", encoding="utf-8") as fh:
        fh.write("\n".join(page).rstrip() + "\n")


def publish(json_path: str) -> None:
    """Copy ``json_path`` to bench/results-main.json and regenerate what shows it."""
    run = _load_run_module()
    run.load_cell_modules(lambda message: None)
    if os.path.abspath(json_path) != os.path.abspath(COMMITTED_JSON):
        shutil.copyfile(json_path, COMMITTED_JSON)
    with open(COMMITTED_JSON) as fh:
        payload = json.load(fh)
    results, impls, _ = run.load_json(COMMITTED_JSON)
    plot = os.path.join(BENCH_DIR, "throughput.png")
    if run.plot_throughput(results, impls, plot) is not None and os.path.exists(plot):
        os.remove(plot)  # no matplotlib here: an older run's plot must not stay behind
    update_readme(payload, run)
    write_docs_page(payload, run)


if __name__ == "__main__":
    publish(sys.argv[1] if len(sys.argv) > 1 else
            os.path.join(BENCH_DIR, "results", "latest.json"))
