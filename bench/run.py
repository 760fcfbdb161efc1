"""nanopy's benchmark harness: nanopy side by side with native nanomsg, plain sockets,
pyzmq, pynng and nnpy.

Usage (from the repository root)::

    python bench/run.py --quick        # CI smoke run: ~2-3 minutes, a few seconds a cell
    python bench/run.py                # full matrix (~7 minutes on 2 cores)
    python bench/run.py --impl nanopy,nanomsg --transport tcp --kind thr

Every measurement runs two processes (``local_*`` and ``remote_*``, as nanomsg's perf
tools) or, for inproc, one process with two threads.  Implementations are run
interleaved (A B C A B C ...) and each cell reports the median of ``--runs`` runs after
one calibration run that sizes the message count to ``--target`` seconds.

Outputs (``bench/results/``, or ``--out``): ``latest.md`` (markdown tables with ratios
of nanopy to native nanomsg and to the fastest Python peer), ``latest.json`` (every run),
``throughput.png`` (throughput against message size, one line per implementation).

An implementation that is missing or fails is shown as ``n/a`` with the reason; the exit
status is non-zero only when a nanopy cell failed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_DIR = os.path.dirname(BENCH_DIR)
NATIVE_DIR = os.path.join(BENCH_DIR, "native")
BUILD_DIR = os.path.join(BENCH_DIR, "build")
PEER_TOOL = os.path.join(BENCH_DIR, "peers", "tool.py")

KIB = 1024
MIB = 1024 * 1024
PY_PEERS = ("pyzmq", "pynng", "nnpy")

# ---- implementations ----------------------------------------------------------------------


@dataclass
class Impl:
    """One implementation: how to start each perf tool, and what it supports."""

    name: str
    description: str
    #: argv prefix; the tool name is appended (native: a path template with {tool}).
    command: List[str]
    transports: Tuple[str, ...] = ("tcp", "ipc", "inproc")
    kinds: Tuple[str, ...] = ("thr", "lat")
    #: tool name suffix (``_batch`` for nanopy's batch variant).
    suffix: str = ""
    native: bool = False
    #: why the implementation cannot run at all (set by the availability check).
    unavailable: Optional[str] = None

    def argv(self, tool: str, args: Sequence[str]) -> List[str]:
        """Full argv that runs ``tool`` with ``args``."""
        tool = tool + self.suffix
        if self.native:
            return [self.command[0].format(tool=tool), *args]
        return [*self.command, tool, *args]


def _python_env() -> Dict[str, str]:
    env = dict(os.environ)
    src = os.path.join(REPO_DIR, "src")
    env["PYTHONPATH"] = src + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.setdefault("PYTHONHASHSEED", "0")
    return env


def all_impls() -> List[Impl]:
    """Every implementation the harness knows, in table column order."""
    py = sys.executable
    return [
        Impl("nanopy", "nanopy from Python, nn_* API (nanopy.perf)", [py, "-m", "nanopy.perf"]),
        Impl("nanopy-batch", "nanopy, send_many/recv_many", [py, "-m", "nanopy.perf"],
             kinds=("thr",), suffix="_batch"),
        Impl("nanomsg", "native nanomsg 1.1.5 in C (bench/native)",
             [os.path.join(BUILD_DIR, "nn_{tool}")], native=True),
        Impl("plain", "plain C sockets, one write per message",
             [os.path.join(BUILD_DIR, "plain_{tool}")], transports=("tcp", "ipc"), native=True),
        Impl("plain-coalesced", "plain C sockets, writes coalesced into 64 KiB",
             [os.path.join(BUILD_DIR, "plain_co_{tool}")], transports=("tcp", "ipc"),
             native=True),
        Impl("pyzmq", "pyzmq (libzmq)", [py, PEER_TOOL, "pyzmq"]),
        Impl("pynng", "pynng (NNG)", [py, PEER_TOOL, "pynng"]),
        Impl("nnpy", "nnpy (libnanomsg via cffi)", [py, PEER_TOOL, "nnpy"]),
    ]


def build_native(log: Any) -> Optional[str]:
    """Compile bench/native into bench/build when sources are newer; returns an error."""
    gcc = shutil.which("gcc") or shutil.which("cc")
    if gcc is None:
        return "no C compiler (gcc/cc) found"
    os.makedirs(BUILD_DIR, exist_ok=True)
    headers = [os.path.join(NATIVE_DIR, h) for h in os.listdir(NATIVE_DIR) if h.endswith(".h")]
    newest_header = max((os.path.getmtime(h) for h in headers), default=0.0)
    jobs: List[Tuple[str, str, List[str]]] = []
    for tool in ("local_lat", "remote_lat", "local_thr", "remote_thr", "inproc_lat", "inproc_thr"):
        jobs.append((f"{tool}.c", f"nn_{tool}", ["-lnanomsg", "-lpthread"]))
    for tool in ("local_lat", "remote_lat", "local_thr", "remote_thr"):
        jobs.append((f"plain_{tool}.c", f"plain_{tool}", []))
        jobs.append((f"plain_{tool}.c", f"plain_co_{tool}", ["-DPLAIN_COALESCE"]))
    errors = []
    for source, target, extra in jobs:
        src = os.path.join(NATIVE_DIR, source)
        out = os.path.join(BUILD_DIR, target)
        if os.path.exists(out) and os.path.getmtime(out) >= max(os.path.getmtime(src),
                                                                  newest_header):
            continue
        flags = [f for f in extra if f.startswith("-D")]
        libs = [f for f in extra if not f.startswith("-D")]
        cmd = [gcc, "-O2", "-std=gnu11", "-Wall", *flags, "-o", out, src, *libs]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            errors.append(f"{target}: {proc.stderr.strip().splitlines()[-1:]}")
    if errors:
        log(f"native build errors: {errors}")
        return "; ".join(errors)
    return None


def check_availability(impls: List[Impl], native_error: Optional[str]) -> None:
    """Set ``unavailable`` on implementations that cannot run here."""
    env = _python_env()
    modules = {"nanopy": "nanopy", "nanopy-batch": "nanopy", "pyzmq": "zmq",
               "pynng": "pynng", "nnpy": "nnpy"}
    for impl in impls:
        if impl.native:
            if impl.name == "nanomsg" and native_error and "nn_" in native_error:
                impl.unavailable = f"build failed: {native_error}"
            elif impl.name.startswith("plain") and native_error and "plain" in native_error:
                impl.unavailable = f"build failed: {native_error}"
            elif native_error and "compiler" in native_error:
                impl.unavailable = native_error
            continue
        module = modules[impl.name]
        probe = f"import {module}"
        if impl.name == "nanopy-batch":
            probe += "; assert hasattr(nanopy, 'send_many') and hasattr(nanopy, 'recv_many'), " \
                     "'nanopy has no send_many/recv_many'"
        proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                              env=env, cwd=REPO_DIR)
        if proc.returncode != 0:
            lines = proc.stderr.strip().splitlines()
            impl.unavailable = lines[-1] if lines else f"import {module} failed"


# ---- running one measurement --------------------------------------------------------------


class RunError(Exception):
    """A measurement failed; the message is the reason shown in the table."""


_LATENCY_RE = re.compile(r"average latency:\s*([0-9.]+)\s*\[us\]")
_MSGS_RE = re.compile(r"throughput:\s*([0-9]+)\s*\[msg/s\]")
_TIME_PER_MSG_RE = re.compile(r"average time per message:\s*([0-9.]+)\s*\[us\]")


def parse_output(text: str) -> Dict[str, float]:
    """Pick the numbers out of a perf tool's printed lines."""
    found: Dict[str, float] = {}
    for key, regex in (("latency_us", _LATENCY_RE), ("msgs_per_s", _MSGS_RE),
                       ("us_per_msg", _TIME_PER_MSG_RE)):
        match = regex.search(text)
        if match:
            found[key] = float(match.group(1))
    return found


class Addresses:
    """Fresh endpoint addresses per run, so no run meets a lingering earlier one."""

    def __init__(self, base_port: int) -> None:
        self.port = base_port
        self.tmpdir = tempfile.mkdtemp(prefix="nanopy-bench-")
        self.serial = 0

    def next(self, transport: str) -> Tuple[str, str]:
        """(bind address, connect address) for ``transport`` (tcp or ipc)."""
        self.serial += 1
        if transport == "tcp":
            # Stay below Linux's ephemeral range (32768+), where a connection's own
            # source port could already hold the number.
            self.port += 2  # pub_feed/sub_match also use port + 1
            if self.port > 32000:
                self.port = 20000
            return f"tcp://*:{self.port}", f"tcp://127.0.0.1:{self.port}"
        path = os.path.join(self.tmpdir, f"s{self.serial}.ipc")
        return f"ipc://{path}", f"ipc://{path}"

    def close(self) -> None:
        shutil.rmtree(self.tmpdir, ignore_errors=True)


def _listening(bind_addr: str) -> bool:
    """True once something listens on ``bind_addr``; never connects (a probe connection
    would be taken as the benchmark's connection by the plain-socket programs)."""
    if bind_addr.startswith("ipc://"):
        return os.path.exists(bind_addr[len("ipc://"):])
    port = int(bind_addr.rsplit(":", 1)[1])
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as fh:
                next(fh)
                for line in fh:
                    fields = line.split()
                    if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                        return True
        except OSError:
            continue
    return False


def _pin(cpus: Optional[str]) -> List[str]:
    return ["taskset", "-c", cpus] if cpus else []


def _kill(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.kill()
    try:
        proc.communicate(timeout=5)
    except subprocess.TimeoutExpired:
        pass


def _failure(proc: subprocess.Popen[str], out: str, err: str, what: str) -> RunError:
    lines = [ln for ln in (err or out).strip().splitlines() if ln.strip()]
    reason = lines[-1] if lines else f"exit status {proc.returncode}"
    return RunError(f"{what}: {reason}"[:160])


def run_pair(local: List[str], remote: List[str], bind_addr: str, timeout: float,
             reporter: str, local_cpus: Optional[str], remote_cpus: Optional[str]) -> str:
    """Start ``local`` (which binds), wait until it listens, start ``remote``; return the
    output of the side that reports (``"local"`` or ``"remote"``); kill the other."""
    env = _python_env()
    local_proc = subprocess.Popen(_pin(local_cpus) + local, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, env=env, cwd=REPO_DIR)
    remote_proc: Optional[subprocess.Popen[str]] = None
    try:
        deadline = time.monotonic() + 15
        while not _listening(bind_addr):
            if local_proc.poll() is not None:
                out, err = local_proc.communicate()
                raise _failure(local_proc, out, err, "local side")
            if time.monotonic() > deadline:
                raise RunError("local side never started listening")
            time.sleep(0.005)
        remote_proc = subprocess.Popen(_pin(remote_cpus) + remote, stdout=subprocess.PIPE,
                                       stderr=subprocess.PIPE, text=True, env=env,
                                       cwd=REPO_DIR)
        main, other = (local_proc, remote_proc) if reporter == "local" else \
            (remote_proc, local_proc)
        try:
            out, err = main.communicate(timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            other_err = ""
            if other.poll() is not None:
                other_err = (other.stderr.read() if other.stderr else "").strip()
            raise RunError(f"timed out after {timeout:.0f} s"
                           + (f" (peer: {other_err.splitlines()[-1]})" if other_err else "")
                           ) from exc
        if main.returncode != 0:
            raise _failure(main, out, err, f"{reporter} side")
        return out
    finally:
        _kill(local_proc)
        if remote_proc is not None:
            _kill(remote_proc)


def run_single(argv: List[str], timeout: float, cpus: Optional[str]) -> str:
    """Run a one-process tool (inproc_*); returns its output."""
    try:
        proc = subprocess.run(_pin(cpus) + argv, capture_output=True, text=True,
                              timeout=timeout, env=_python_env(), cwd=REPO_DIR)
    except subprocess.TimeoutExpired as exc:
        raise RunError(f"timed out after {timeout:.0f} s") from exc
    if proc.returncode != 0:
        raise _failure(proc, proc.stdout, proc.stderr, "inproc")  # type: ignore[arg-type]
    return proc.stdout


# ---- cells --------------------------------------------------------------------------------

PINS = {"same": ("0", "0"), "split": ("0", "1")}


@dataclass
class Cell:
    """One table cell family: a measurement that every implementation runs."""

    kind: str  # thr | lat | async | sub
    transport: str
    size: int
    pin: str = ""  # lat: same | split
    subs: int = 0  # sub: number of subscriptions

    @property
    def key(self) -> str:
        parts = [self.kind, self.transport, str(self.size)]
        if self.pin:
            parts.append(self.pin)
        if self.kind == "sub":
            parts.append(f"{self.subs}subs")
        return "/".join(parts)

    @property
    def metric(self) -> str:
        return {"thr": "msgs_per_s", "lat": "latency_us", "async": "latency_us",
                "sub": "us_per_msg"}[self.kind]

    @property
    def higher_is_better(self) -> bool:
        return self.kind == "thr"


def initial_count(cell: Cell, quick: bool) -> int:
    """Message count of the calibration run."""
    if cell.kind in ("lat", "async"):
        return 300 if quick else 1000
    if cell.kind == "sub":
        return 2000 if quick else 5000
    budget = (4 if quick else 16) * MIB
    return max(20, min(20000 if quick else 50000, budget // max(cell.size, 1)))


def measure(impl: Impl, cell: Cell, count: int, addrs: Addresses, timeout: float) -> float:
    """Run ``impl`` once on ``cell`` with ``count`` messages; returns the cell's metric."""
    size, n = str(cell.size), str(count)
    if cell.kind == "thr":
        if cell.transport == "inproc":
            out = run_single(impl.argv("inproc_thr", [size, n]), timeout, None)
        else:
            bind, conn = addrs.next(cell.transport)
            out = run_pair(impl.argv("local_thr", [bind, size, n]),
                           impl.argv("remote_thr", [conn, size, n]),
                           bind, timeout, "local", None, None)
    elif cell.kind in ("lat", "async"):
        local_cpus, remote_cpus = PINS.get(cell.pin, (None, None))
        if cell.transport == "inproc":
            cpus = "0" if cell.pin == "same" else "0,1"
            out = run_single(impl.argv("inproc_lat", [size, n]), timeout, cpus)
        else:
            bind, conn = addrs.next(cell.transport)
            remote_tool = "remote_lat_async" if cell.kind == "async" else "remote_lat"
            out = run_pair(impl.argv("local_lat", [bind, size, n]),
                           impl.argv(remote_tool, [conn, size, n]),
                           bind, timeout, "remote", local_cpus, remote_cpus)
    elif cell.kind == "sub":
        bind, conn = addrs.next(cell.transport)
        out = run_pair(impl.argv("pub_feed", [bind, size, n]),
                       impl.argv("sub_match", [conn, size, n, str(cell.subs)]),
                       bind, timeout, "remote", None, None)
    else:
        raise ValueError(cell.kind)
    values = parse_output(out)
    if cell.metric not in values:
        raise RunError(f"unparsable output: {out.strip()[-120:]!r}")
    return values[cell.metric]


def seconds_per_message(cell: Cell, value: float) -> float:
    """Wall time one message (or round trip) costs, from a measured value."""
    if cell.kind == "thr":
        return 1.0 / max(value, 1.0)
    if cell.kind == "sub":
        return value / 1e6
    return 2 * value / 1e6  # latency is RTT / 2


@dataclass
class CellResult:
    """Every run of one implementation on one cell."""

    runs: List[float] = field(default_factory=list)
    count: int = 0
    #: why the implementation has no value here (unavailable, skipped, calibration failed)
    error: Optional[str] = None
    #: reasons of measured runs that failed (hangs, crashes) after calibration succeeded
    failures: List[str] = field(default_factory=list)

    @property
    def median(self) -> Optional[float]:
        return statistics.median(self.runs) if self.runs else None


# ---- the matrix ---------------------------------------------------------------------------


@dataclass
class Plan:
    """What to run, from the command line."""

    quick: bool
    runs: int
    target: float
    impls: List[Impl]
    transports: List[str]
    kinds: List[str]
    thr_sizes: List[int]
    lat_sizes: List[int]
    pins: List[str]
    sub_counts: List[int]


def cells_of(plan: Plan) -> Iterator[Cell]:
    """The cells of the plan, in table order."""
    if "thr" in plan.kinds:
        for transport in plan.transports:
            for size in plan.thr_sizes:
                yield Cell("thr", transport, size)
    if "lat" in plan.kinds:
        for transport in plan.transports:
            for size in plan.lat_sizes:
                for pin in plan.pins:
                    yield Cell("lat", transport, size, pin)
    if "async" in plan.kinds and "tcp" in plan.transports:
        for size in plan.lat_sizes[:1]:
            yield Cell("async", "tcp", size, "split")
            yield Cell("lat", "tcp", size, "split")  # the sync twin (deduplicated later)
    if "sub" in plan.kinds and "tcp" in plan.transports:
        for subs in plan.sub_counts:
            yield Cell("sub", "tcp", 64, subs=subs)


def impls_for(cell: Cell, impls: List[Impl]) -> List[Impl]:
    """Implementations that take part in ``cell``."""
    if cell.kind == "async":
        return [i for i in impls if i.name == "nanopy"]
    if cell.kind == "sub":
        return [i for i in impls if i.name in ("nanopy", "pyzmq", "pynng", "nnpy")]
    return [i for i in impls if cell.kind in i.kinds and cell.transport in i.transports]


def skip_reason(impl: Impl, cell: Cell) -> Optional[str]:
    """Why ``impl`` sits out ``cell`` although it could run it (too slow to be useful)."""
    if impl.name == "pynng" and cell.kind == "sub" and cell.subs > 10000:
        return "skipped: pynng needs ~25 s to subscribe 100,000 topics (O(n^2))"
    return None


def run_matrix(plan: Plan, log: Any) -> Dict[str, Dict[str, CellResult]]:
    """Run every cell: calibrate each implementation, then ``runs`` interleaved rounds."""
    results: Dict[str, Dict[str, CellResult]] = {}
    addrs = Addresses(20000 + (os.getpid() % 600) * 20)
    seen = set()
    try:
        for cell in cells_of(plan):
            if cell.key in seen:
                continue
            seen.add(cell.key)
            row: Dict[str, CellResult] = {}
            results[cell.key] = row
            players: List[Impl] = []
            for impl in impls_for(cell, plan.impls):
                res = row[impl.name] = CellResult()
                res.error = impl.unavailable or skip_reason(impl, cell)
                if res.error:
                    continue
                count = initial_count(cell, plan.quick)
                try:
                    value = measure(impl, cell, count, addrs, timeout=20)
                except RunError as exc:
                    res.error = str(exc)
                    log(f"  {cell.key:24} {impl.name:16} n/a: {res.error}")
                    continue
                if plan.quick:
                    # Quick mode counts the calibration run as the first of its runs.
                    res.runs.append(value)
                per_msg = seconds_per_message(cell, value)
                res.count = int(min(max(plan.target / per_msg, count // 4, 10), 5_000_000))
                players.append(impl)
            for round_no in range(plan.runs - (1 if plan.quick else 0)):
                order = players[round_no % len(players):] + players[:round_no % len(players)] \
                    if players else []
                for impl in order:
                    res = row[impl.name]
                    if len(res.failures) >= 2:
                        continue  # give up on it for this cell; the failures are reported
                    try:
                        res.runs.append(measure(impl, cell, res.count, addrs,
                                                timeout=max(10.0, plan.target * 20)))
                    except RunError as exc:
                        res.failures.append(str(exc))
                        log(f"  {cell.key:24} {impl.name:16} run failed: {exc}")
            for res in row.values():
                if not res.runs and res.failures and not res.error:
                    res.error = res.failures[0]
            summary = "  ".join(
                f"{name}={_fmt_value(cell, r.median)}" if r.median is not None else f"{name}=n/a"
                for name, r in row.items())
            log(f"{cell.key:26} {summary}")
    finally:
        addrs.close()
    return results


# ---- reporting ----------------------------------------------------------------------------


def _fmt_size(size: int) -> str:
    if size >= MIB and size % MIB == 0:
        return f"{size // MIB} MiB"
    if size >= KIB and size % KIB == 0:
        return f"{size // KIB} KiB"
    return f"{size} B"


def _fmt_value(cell: Cell, value: Optional[float]) -> str:
    if value is None:
        return "n/a"
    if cell.kind == "thr":
        mbytes = value * cell.size / 1e6
        rate = f"{value / 1e6:.2f}M" if value >= 1e6 else f"{value / 1e3:.1f}k"
        return f"{rate} ({mbytes:,.0f} MB/s)" if mbytes >= 10 else f"{rate} ({mbytes:.1f} MB/s)"
    return f"{value:.2f}" if value < 100 else f"{value:.0f}"


def _speed_ratio(cell: Cell, ours: Optional[float], theirs: Optional[float]) -> str:
    """How many times faster nanopy is (>1 better) regardless of the metric's direction."""
    if not ours or not theirs:
        return "n/a"
    ratio = ours / theirs if cell.higher_is_better else theirs / ours
    return f"{ratio:.2f}x"


def _best_peer(cell: Cell, row: Dict[str, CellResult]) -> Tuple[Optional[str], Optional[float]]:
    candidates = [(name, row[name].median) for name in PY_PEERS
                  if name in row and row[name].median is not None]
    if not candidates:
        return None, None
    pick = max if cell.higher_is_better else min
    return pick(candidates, key=lambda item: item[1])  # type: ignore[arg-type,return-value]


def _cell_from_key(key: str) -> Cell:
    parts = key.split("/")
    cell = Cell(parts[0], parts[1], int(parts[2]))
    for extra in parts[3:]:
        if extra.endswith("subs"):
            cell.subs = int(extra[:-4])
        else:
            cell.pin = extra
    return cell


def render_markdown(results: Dict[str, Dict[str, CellResult]], impls: List[Impl],
                    meta: Dict[str, Any]) -> str:
    """The results as markdown: one table per measurement kind, with ratio columns."""
    names = [impl.name for impl in impls]
    out = [f"# nanopy benchmark — {meta['date']}", "",
           f"Machine: {meta['machine']}  ", f"Command: `{meta['command']}`  ",
           f"Medians of {meta['runs']} interleaved runs, ~{meta['target']} s each "
           + ("(the first is the calibration run)." if meta["quick"]
              else "(after one calibration run)."), "",
           "Ratios are speed-ups of the `nanopy` column (>1 = nanopy faster): "
           "against native nanomsg, and against the fastest of pyzmq / pynng / nnpy "
           "(named in brackets).", ""]
    sections = [
        ("thr", "One-way throughput, msgs/s (MB/s)",
         "Two processes (local_thr / remote_thr), or two threads for inproc; PAIR sockets."),
        ("lat", "One-way latency (RTT / 2), µs",
         "`same`: both ends on CPU 0 (`taskset -c 0`); `split`: ends on CPUs 0 and 1 "
         "(inproc: the process may use CPUs 0 and 1)."),
        ("async", "asyncio round trips (nanopy Socket.asend/arecv), one-way µs",
         "remote side under asyncio against the sync echo, ends on CPUs 0 and 1; "
         "`nanopy sync` is the `lat tcp split` cell of the same run."),
        ("sub", "SUB matching: µs per received message, PUB → SUB over tcp, 64 B",
         "The SUB socket holds N-1 subscriptions sharing the data's first six bytes that "
         "never match, plus the one that does; windows of 100 messages, acked. "
         "Python on both ends for every column; nnpy is native nanomsg's matching, "
         "pyzmq filters on the PUB side."),
    ]
    for kind, title, note in sections:
        keys = [k for k in results if k.split("/")[0] == kind]
        if not keys:
            continue
        used = [n for n in names if any(n in results[k] for k in keys)]
        out += [f"## {title}", "", note, ""]
        with_native = "nanomsg" in used
        sync_key = "lat/tcp/{size}/split"
        header = ["cell", *used]
        if kind == "async":
            header += ["nanopy sync", "async ÷ sync time"]
        else:
            header += ["nanopy ÷ nanomsg"] * with_native + ["nanopy ÷ best peer"]
        out.append("| " + " | ".join(header) + " |")
        out.append("|" + "---|" * len(header))
        notes: List[str] = []
        for key in keys:
            cell = _cell_from_key(key)
            row = results[key]
            label = {"thr": f"{cell.transport} {_fmt_size(cell.size)}",
                     "lat": f"{cell.transport} {_fmt_size(cell.size)} {cell.pin}",
                     "async": f"{cell.transport} {_fmt_size(cell.size)}",
                     "sub": f"{cell.subs:,} subscriptions"}[kind]
            values = []
            for name in used:
                res = row.get(name)
                if res is None:
                    values.append("—")
                elif res.error:
                    values.append(f"n/a ({res.error})" if len(res.error) < 60 else
                                  f"n/a ({res.error[:57]}...)")
                else:
                    text = _fmt_value(cell, res.median)
                    if res.failures:
                        notes.append(f"{label}, {name}: {len(res.failures)} of "
                                     f"{len(res.failures) + len(res.runs)} runs failed: "
                                     f"{res.failures[0]}")
                        text += f" ⚠{len(notes)}"
                    values.append(text)
            ours = row["nanopy"].median if "nanopy" in row else None
            native = row["nanomsg"].median if "nanomsg" in row else None
            peer_name, peer_value = _best_peer(cell, row)
            vs_peer = _speed_ratio(cell, ours, peer_value)
            if peer_name and vs_peer != "n/a":
                vs_peer += f" ({peer_name})"
            if kind == "async":
                sync_row = results.get(sync_key.format(size=cell.size), {})
                sync = sync_row["nanopy"].median if "nanopy" in sync_row else None
                ratio = f"{ours / sync:.2f}x" if ours and sync else "n/a"
                extra = [_fmt_value(cell, sync), ratio]
            else:
                extra = [_speed_ratio(cell, ours, native)] * with_native + [vs_peer]
            out.append("| " + " | ".join([label, *values, *extra]) + " |")
        out.append("")
        if notes:
            out += [f"⚠{i}: {note}" + "  " for i, note in enumerate(notes, 1)] + [""]
    out += ["## Implementations", ""]
    out += [f"- `{impl.name}`: {impl.description}"
            + (f" — **n/a: {impl.unavailable}**" if impl.unavailable else "") for impl in impls]
    out.append("")
    return "\n".join(out)


def plot_throughput(results: Dict[str, Dict[str, CellResult]], impls: List[Impl],
                    path: str) -> Optional[str]:
    """Throughput (MB/s) against message size, one panel per transport; returns an error."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        return f"matplotlib missing: {exc}"
    transports = sorted({k.split("/")[1] for k in results if k.startswith("thr/")},
                        key=["tcp", "ipc", "inproc"].index)
    if not transports:
        return "no throughput cells"
    fig, axes = plt.subplots(1, len(transports), figsize=(5.5 * len(transports), 4.5),
                             squeeze=False)
    colors = plt.get_cmap("tab10")
    for ax, transport in zip(axes[0], transports):
        for index, impl in enumerate(impls):
            points = []
            for key, row in results.items():
                cell = _cell_from_key(key)
                if cell.kind == "thr" and cell.transport == transport and impl.name in row:
                    median = row[impl.name].median
                    if median is not None:
                        points.append((cell.size, median * cell.size / 1e6))
            if points:
                points.sort()
                style = "-" if not impl.native else "--"
                width = 2.5 if impl.name.startswith("nanopy") else 1.2
                ax.plot([p[0] for p in points], [p[1] for p in points], style, marker="o",
                        linewidth=width, label=impl.name, color=colors(index % 10))
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_title(f"{transport}: one-way throughput")
        ax.set_xlabel("message size (bytes)")
        ax.set_ylabel("MB/s")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return None


def machine_info() -> str:
    """A one-line description of the machine the numbers come from."""
    cpu = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    versions = [f"Python {platform.python_version()}"]
    for module, attr in (("zmq", "__version__"), ("pynng", "__version__")):
        try:
            mod = __import__(module)
            versions.append(f"{module} {getattr(mod, attr, '?')}")
        except ImportError:
            pass
    try:
        import zmq

        versions.append(f"libzmq {zmq.zmq_version()}")
    except ImportError:
        pass
    return (f"{cpu}, {os.cpu_count()} CPUs, Linux {platform.release()}; "
            + ", ".join(versions))


# ---- command line -------------------------------------------------------------------------


def parse_args(argv: Optional[List[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="CI mode: fewer sizes, short runs (whole run ~2-3 minutes)")
    parser.add_argument("--runs", type=int, help="runs per cell (median; default 3)")
    parser.add_argument("--target", type=float,
                        help="seconds per measured run (default 0.1 quick, 0.3 full)")
    parser.add_argument("--impl", help="comma list of implementations (default: all)")
    parser.add_argument("--transport", help="comma list of tcp,ipc,inproc (default: all)")
    parser.add_argument("--kind", help="comma list of thr,lat,async,sub (default: all)")
    parser.add_argument("--out", default=os.path.join(BENCH_DIR, "results"),
                        help="output folder (default bench/results)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    parser.add_argument("--from-json", metavar="FILE",
                        help="measure nothing: re-render latest.md and the plot from a "
                             "latest.json of an earlier run")
    return parser.parse_args(argv)


def make_plan(args: argparse.Namespace) -> Plan:
    impls = all_impls()
    if args.impl:
        wanted = [n.strip() for n in args.impl.split(",") if n.strip()]
        unknown = set(wanted) - {i.name for i in impls}
        if unknown:
            raise SystemExit(f"unknown implementation(s): {', '.join(sorted(unknown))}")
        impls = [i for i in impls if i.name in wanted]
    transports = args.transport.split(",") if args.transport else ["tcp", "ipc", "inproc"]
    kinds = args.kind.split(",") if args.kind else ["thr", "lat", "async", "sub"]
    cpus = os.cpu_count() or 1
    pins = ["same", "split"] if cpus >= 2 and shutil.which("taskset") else []
    if args.quick:
        return Plan(True, args.runs or 3, args.target or 0.1, impls, transports, kinds,
                    [64, 64 * KIB], [64], pins, [1, 1000, 100000])
    return Plan(False, args.runs or 3, args.target or 0.3, impls, transports, kinds,
                [64, KIB, 64 * KIB, MIB], [64, KIB], pins, [1, 1000, 100000])


def rerender(json_path: str, out_dir: str) -> int:
    """Write latest.md and throughput.png again from a saved latest.json."""
    with open(json_path) as fh:
        payload = json.load(fh)
    known = {impl.name: impl for impl in all_impls()}
    impls = []
    for name, info in payload["implementations"].items():
        impl = known.get(name) or Impl(name, info.get("description", name), [])
        impl.unavailable = info.get("unavailable")
        impls.append(impl)
    results = {key: {name: CellResult(runs=r["runs"], count=r["count"], error=r["error"],
                                      failures=r.get("failures", []))
                     for name, r in row.items()}
               for key, row in payload["cells"].items()}
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "latest.md"), "w") as fh:
        fh.write(render_markdown(results, impls, payload["meta"]))
    plot_throughput(results, impls, os.path.join(out_dir, "throughput.png"))
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    """Run the benchmark and write latest.md, latest.json and throughput.png."""
    args = parse_args(argv)
    if args.from_json:
        return rerender(args.from_json, args.out)
    plan = make_plan(args)

    def log(message: str) -> None:
        if not args.quiet:
            print(message, flush=True)

    started = time.time()
    native_error = build_native(log)
    check_availability(plan.impls, native_error)
    for impl in plan.impls:
        if impl.unavailable:
            log(f"{impl.name}: n/a ({impl.unavailable})")
    results = run_matrix(plan, log)

    os.makedirs(args.out, exist_ok=True)
    command = " ".join(["python bench/run.py", *(sys.argv[1:] if argv is None else argv)])
    meta = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(started)),
        "machine": machine_info(),
        "command": command,
        "runs": plan.runs,
        "target": plan.target,
        "quick": plan.quick,
        "elapsed_s": round(time.time() - started, 1),
    }
    markdown = render_markdown(results, plan.impls, meta)
    if "async" in plan.kinds:  # zmq.asyncio/pynng/uvloop cells: bench/async_bench.py
        import async_bench

        async_data = async_bench.run_cells(plan.quick, 3 if plan.quick else max(plan.runs, 5),
                                           0.2 if plan.quick else 1.0, log)
        markdown += "\n## Async cells\n\n" + async_bench.render_markdown(async_data)
        with open(os.path.join(args.out, "latest-async.json"), "w") as fh:
            json.dump(async_data, fh, indent=1)
    with open(os.path.join(args.out, "latest.md"), "w") as fh:
        fh.write(markdown)
    payload = {
        "meta": meta,
        "implementations": {i.name: {"description": i.description,
                                     "unavailable": i.unavailable} for i in plan.impls},
        "cells": {key: {name: {"median": r.median, "runs": r.runs, "count": r.count,
                               "error": r.error, "failures": r.failures}
                         for name, r in row.items()}
                  for key, row in results.items()},
    }
    with open(os.path.join(args.out, "latest.json"), "w") as fh:
        json.dump(payload, fh, indent=1)
    plot_error = plot_throughput(results, plan.impls, os.path.join(args.out, "throughput.png"))
    if plot_error:
        log(f"plot skipped: {plot_error}")
    log(f"\nwrote {args.out}/latest.md, latest.json, throughput.png "
        f"in {meta['elapsed_s']} s\n")
    if not args.quiet:
        print(markdown)
    nanopy_failed = [key for key, row in results.items()
                     if "nanopy" in row and (row["nanopy"].error or row["nanopy"].failures)]
    if nanopy_failed:
        print(f"nanopy failed in: {', '.join(nanopy_failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
