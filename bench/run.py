"""nanopy's benchmark harness: nanopy side by side with native nanomsg, plain sockets,
pyzmq, pynng and nnpy.

Usage (from the repository root)::

    python bench/run.py --quick        # CI smoke run: short runs, few cells
    python bench/run.py                # full matrix: 5 interleaved runs of >= 1 s a cell
    python bench/run.py --impl nanopy,nanomsg --transport tcp --kind thr
    python bench/run.py --publish      # full run, then write bench/results-main.json,
                                       # the README tables and docs/benchmarks.md

Every measurement runs two processes (``local_*`` and ``remote_*``, as nanomsg's perf
tools) or, for inproc, one process with two threads.  Each implementation runs once to
calibrate the message count, then ``--runs`` rounds in which the implementations take
turns (the order rotates every round); tables show the median with min and max.

Extra cell modules: every ``bench/cells_*.py`` is imported and its ``register(bench)``
called with this module, so it can add kinds of cells (see :class:`Kind`).

Outputs (``bench/results/``, or ``--out``): ``latest.md``, ``latest.json`` (every run)
and ``throughput.png``.  An implementation that is missing or fails is shown as ``n/a``
with the reason; the exit status is non-zero only when a nanopy cell failed.
"""

from __future__ import annotations

import argparse
import glob
import importlib.util
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
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple

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
    #: tool name suffix (``_batch`` for nanopy's batch variant).
    suffix: str = ""
    native: bool = False
    #: smallest message size it runs (the zero-copy native variant is for large ones).
    min_size: int = 0
    #: why the implementation cannot run at all (set by the availability check).
    unavailable: Optional[str] = None

    def argv(self, tool: str, args: Sequence[str], nodelay: bool = False) -> List[str]:
        """Full argv that runs ``tool`` with ``args`` (``--nodelay`` first if asked)."""
        flag = ["--nodelay"] if nodelay else []
        tool = tool + self.suffix
        if self.native:
            return [self.command[0].format(tool=tool), *flag, *args]
        return [*self.command, *flag, tool, *args]


def _python_env() -> Dict[str, str]:
    env = dict(os.environ)
    src = os.path.join(REPO_DIR, "src")
    env["PYTHONPATH"] = os.pathsep.join(
        [src, REPO_DIR] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    env.setdefault("PYTHONHASHSEED", "0")
    return env


def all_impls() -> List[Impl]:
    """Every implementation the harness knows, in table column order."""
    py = sys.executable

    def tool(peer: str) -> List[str]:
        return [py, PEER_TOOL, peer]

    return [
        Impl("nanopy", "nanopy from Python, nn_* functions (nanopy.perf)", tool("nanopy")),
        Impl("nanopy-socket", "nanopy from Python, nanopy.Socket send/recv (nanopy.perf "
             "--api socket)", tool("nanopy-socket")),
        Impl("nanopy-batch", "nanopy, send_many/recv_many, 256 messages a call",
             tool("nanopy"), suffix="_batch"),
        Impl("nanomsg", "native nanomsg 1.1.5 (Debian's libnanomsg) in C: our programs in "
             "bench/native with the arguments and socket options of nanomsg's perf tools",
             [os.path.join(BUILD_DIR, "nn_{tool}")], native=True),
        Impl("nanomsg-zc", "the same programs with NN_MSG zero-copy chunks and 4 MiB "
             "NN_SNDBUF/NN_RCVBUF (messages of 64 KiB and more)",
             [os.path.join(BUILD_DIR, "nnzc_{tool}")], native=True, min_size=64 * KIB),
        Impl("plain", "no library: C over a kernel socket, 8-byte length prefix, one "
             "writev per message, header and body read separately",
             [os.path.join(BUILD_DIR, "plain_{tool}")], transports=("tcp", "ipc"),
             native=True),
        Impl("plain-coalesced", "as plain, frames packed into 64 KiB writes and read 64 KiB "
             "at a time (the ceiling for write coalescing and batched reads)",
             [os.path.join(BUILD_DIR, "plain_co_{tool}")], transports=("tcp", "ipc"),
             native=True),
        Impl("pyzmq", "pyzmq (libzmq), through bench/peers", tool("pyzmq")),
        Impl("pynng", "pynng (NNG), through bench/peers", tool("pynng")),
        Impl("nnpy", "nnpy (libnanomsg through cffi), through bench/peers", tool("nnpy")),
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
        jobs.append((f"{tool}.c", f"nnzc_{tool}", ["-DPERF_ZEROCOPY", "-lnanomsg", "-lpthread"]))
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
    modules = {"nanopy": "nanopy", "nanopy-socket": "nanopy", "nanopy-batch": "nanopy",
               "pyzmq": "zmq", "pynng": "pynng", "nnpy": "nnpy"}
    for impl in impls:
        if impl.native:
            if native_error:
                prefix = {"nanomsg": "nn_", "nanomsg-zc": "nnzc_"}.get(impl.name, "plain")
                if prefix in native_error or "compiler" in native_error:
                    impl.unavailable = f"build failed: {native_error}"
            continue
        module = modules.get(impl.name)
        if module is None:
            continue
        proc = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True,
                              text=True, env=env, cwd=REPO_DIR)
        if proc.returncode != 0:
            lines = proc.stderr.strip().splitlines()
            impl.unavailable = lines[-1] if lines else f"import {module} failed"


# ---- running one measurement --------------------------------------------------------------


class RunError(Exception):
    """A measurement failed; the message is the reason shown in the table."""


_PATTERNS = {
    "latency_us": re.compile(r"average latency:\s*([0-9.]+)\s*\[us\]"),
    "msgs_per_s": re.compile(r"throughput:\s*([0-9]+)\s*\[msg/s\]"),
    "us_per_msg": re.compile(r"average time per message:\s*([0-9.]+)\s*\[us\]"),
    "bytes_per_conn": re.compile(r"memory per connection:\s*(-?[0-9.]+)\s*\[B\]"),
}


def parse_output(text: str) -> Dict[str, float]:
    """Pick the numbers out of a perf tool's printed lines."""
    found: Dict[str, float] = {}
    for key, regex in _PATTERNS.items():
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
            self.port += 2  # the tools with a back channel also use port + 1
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
             reporter: str, local_cpus: Optional[str] = None,
             remote_cpus: Optional[str] = None) -> str:
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


def run_single(argv: List[str], timeout: float, cpus: Optional[str] = None) -> str:
    """Run a one-process tool; returns its output."""
    try:
        proc = subprocess.run(_pin(cpus) + argv, capture_output=True, text=True,
                              timeout=timeout, env=_python_env(), cwd=REPO_DIR)
    except subprocess.TimeoutExpired as exc:
        raise RunError(f"timed out after {timeout:.0f} s") from exc
    if proc.returncode != 0:
        raise _failure(proc, proc.stdout, proc.stderr, "tool")  # type: ignore[arg-type]
    return proc.stdout


# ---- cells and kinds ----------------------------------------------------------------------


@dataclass
class Cell:
    """One row of a table: a measurement that every taking-part implementation runs."""

    kind: str
    transport: str
    size: int
    #: further key parts: "same"/"split" (CPU placement), "nodelay", "100peers", ...
    extra: Tuple[str, ...] = ()
    label: str = ""

    @property
    def key(self) -> str:
        return "/".join([self.kind, self.transport, str(self.size), *self.extra])


@dataclass
class Kind:
    """A family of cells: how to list, run and show them.  ``run(impl, cell, count,
    addrs, timeout)`` returns the printed output of the tools (see ``parse_output``)."""

    name: str
    title: str
    note: str
    metric: str
    higher_is_better: bool
    cells: Callable[[Plan], List[Cell]]
    run: Callable[[Impl, Cell, int, Addresses, float], str]
    impls: Callable[[Cell, List[Impl]], List[Impl]]
    #: message count of the calibration run (fixed-count cells use it for every run).
    initial_count: Callable[[Cell, bool], int]
    #: True (or a function of the cell saying so) when the count is not calibrated.
    fixed_count: Any = False
    #: (numerator, denominator) implementation pairs shown as speed-up columns; the
    #: special denominator "best peer" is the fastest of pyzmq / pynng / nnpy.
    ratios: Sequence[Tuple[str, str]] = (("nanopy", "nanomsg"), ("nanopy", "best peer"))
    unit: str = ""
    #: most messages a calibrated run may take (a run whose metric counts only part of
    #: its wall time, like fan-out's time inside send(), would otherwise outlast the
    #: timeout once the sender gets fast).
    max_count: int = 5_000_000


KINDS: Dict[str, Kind] = {}


def add_kind(kind: Kind) -> None:
    """Register a kind of cell (used by the built-ins and by ``bench/cells_*.py``)."""
    KINDS[kind.name] = kind


def seconds_per_message(kind: Kind, value: float) -> float:
    """Wall time one message (or round trip) costs, from a measured value."""
    if kind.metric == "msgs_per_s":
        return 1.0 / max(value, 1.0)
    if kind.metric == "latency_us":
        return 2 * value / 1e6  # latency is RTT / 2
    return value / 1e6


def _default_impls(cell: Cell, impls: List[Impl]) -> List[Impl]:
    return [i for i in impls if cell.transport in i.transports and cell.size >= i.min_size
            and i.name not in ("nanopy-batch",)]


def _thr_impls(cell: Cell, impls: List[Impl]) -> List[Impl]:
    chosen = [i for i in impls if cell.transport in i.transports and cell.size >= i.min_size]
    if cell.size != 64:  # Socket vs nn_* is a small-message figure
        chosen = [i for i in chosen if i.name != "nanopy-socket"]
    if "nodelay" in cell.extra:  # libraries with their own choice of Nagle only
        chosen = [i for i in chosen if i.name != "nanomsg-zc"]
    return chosen


def _run_thr(impl: Impl, cell: Cell, count: int, addrs: Addresses, timeout: float) -> str:
    size, n = str(cell.size), str(count)
    nodelay = "nodelay" in cell.extra
    if cell.transport == "inproc":
        return run_single(impl.argv("inproc_thr", [size, n]), timeout)
    bind, conn = addrs.next(cell.transport)
    return run_pair(impl.argv("local_thr", [bind, size, n], nodelay),
                    impl.argv("remote_thr", [conn, size, n], nodelay), bind, timeout, "local")


PINS = {"same": ("0", "0"), "split": ("0", "1")}


def _run_lat(impl: Impl, cell: Cell, count: int, addrs: Addresses, timeout: float) -> str:
    size, n = str(cell.size), str(count)
    pin = cell.extra[0] if cell.extra else ""
    if cell.transport == "inproc":
        return run_single(impl.argv("inproc_lat", [size, n]), timeout,
                          "0" if pin == "same" else "0,1")
    local_cpus, remote_cpus = PINS.get(pin, (None, None))
    bind, conn = addrs.next(cell.transport)
    remote_tool = "remote_lat_async" if cell.kind == "async" else "remote_lat"
    return run_pair(impl.argv("local_lat", [bind, size, n]),
                    impl.argv(remote_tool, [conn, size, n]), bind, timeout, "remote",
                    local_cpus, remote_cpus)


def _run_sub(impl: Impl, cell: Cell, count: int, addrs: Addresses, timeout: float) -> str:
    bind, conn = addrs.next(cell.transport)
    subs = cell.extra[0][:-4]
    return run_pair(impl.argv("pub_feed", [bind, str(cell.size), str(count)]),
                    impl.argv("sub_match", [conn, str(cell.size), str(count), subs]),
                    bind, timeout, "remote")


def _run_fanout(impl: Impl, cell: Cell, count: int, addrs: Addresses, timeout: float) -> str:
    bind, conn = addrs.next("tcp")
    mode, peers = cell.transport, cell.extra[0][:-5]
    return run_pair(impl.argv("fanout_send", [mode, bind, peers, str(count)]),
                    impl.argv("fanout_recv", [mode, conn, peers, str(count)]),
                    bind, timeout, "local")


def _run_mem(impl: Impl, cell: Cell, count: int, addrs: Addresses, timeout: float) -> str:
    bind, _ = addrs.next("tcp")
    return run_single(impl.argv("conn_memory", [bind, str(cell.size)]), timeout)


def _python_impls(names: Sequence[str]) -> Callable[[Cell, List[Impl]], List[Impl]]:
    return lambda cell, impls: [i for i in impls if i.name in names]


def _fanout_count(cell: Cell, quick: bool) -> int:
    """PUSH: the calibration count (then sized to the target time like throughput);
    PUB: a fixed count, so that count x peers deliveries stay near 100,000."""
    peers = int(cell.extra[0][:-5])
    if cell.transport == "push":
        return 5_000 if quick else 20_000
    return max(20, (10_000 if quick else 100_000) // peers)


def _register_builtin_kinds() -> None:
    def thr_cells(plan: Plan) -> List[Cell]:
        cells = [Cell("thr", t, s) for t in plan.transports for s in plan.thr_sizes]
        if "tcp" in plan.transports:
            cells += [Cell("thr", "tcp", s, ("nodelay",)) for s in plan.nodelay_sizes]
        return cells

    def lat_cells(plan: Plan) -> List[Cell]:
        return [Cell("lat", t, s, (p,)) for t in plan.transports for s in plan.lat_sizes
                for p in plan.pins if p == "same" or (t, s) in plan.split_cells]

    def thr_initial(cell: Cell, quick: bool) -> int:
        budget = (4 if quick else 16) * MIB
        return max(20, min(20000 if quick else 50000, budget // max(cell.size, 1)))

    add_kind(Kind(
        "thr", "One-way throughput, msgs/s (MB/s)",
        "Two processes (local_thr / remote_thr), or two threads for inproc; PAIR sockets. "
        "Plain rows: Nagle left on, as nanomsg's throughput tools do (libzmq and NNG "
        "always turn it off). `nodelay` rows: every implementation sets TCP_NODELAY. "
        "Receivers of 4 KiB+ messages read one byte per page of each message.",
        "msgs_per_s", True, thr_cells, _run_thr, _thr_impls, thr_initial,
        ratios=(("nanopy", "nanomsg"), ("nanopy", "best peer"), ("nanopy-socket", "nanopy"),
                ("nanopy-batch", "nanopy"), ("nanopy", "nanomsg-zc"),
                ("nanopy", "plain-coalesced"))))
    add_kind(Kind(
        "lat", "One-way latency (RTT / 2), µs",
        "`same`: both ends on CPU 0 (`taskset -c 0`; for inproc the process); `split`: "
        "ends on CPUs 0 and 1. TCP_NODELAY on everywhere, as in nanomsg's latency tools.",
        "latency_us", False, lat_cells, _run_lat,
        lambda c, impls: [i for i in _default_impls(c, impls) if i.name != "nanomsg-zc"],
        lambda c, q: 300 if q else 2000,
        ratios=(("nanopy", "nanomsg"), ("nanopy", "best peer"), ("nanopy-socket", "nanopy"),
                ("nanopy", "plain"))))
    add_kind(Kind(
        "async", "asyncio round trips (nanopy Socket.asend/arecv), one-way µs",
        "remote side under asyncio against the sync echo, ends on CPUs 0 and 1; compare "
        "with the `lat tcp 64 B split` row.",
        "latency_us", False,
        lambda plan: [Cell("async", "tcp", 64, ("split",))] if "tcp" in plan.transports
        else [],
        _run_lat, _python_impls(("nanopy",)), lambda c, q: 300 if q else 2000, ratios=()))
    add_kind(Kind(
        "sub", "SUB matching: µs per received message, PUB → SUB over tcp, 64 B",
        "The SUB socket holds N-1 subscriptions sharing the data's first six bytes that "
        "never match, plus the one that does; windows of 100 messages, acked. Python on "
        "both ends for every column; nnpy is native nanomsg's matching, pyzmq filters on "
        "the PUB side.",
        "us_per_msg", False,
        lambda plan: [Cell("sub", "tcp", 64, (f"{n}subs",), f"{n:,} subscriptions")
                      for n in plan.sub_counts] if "tcp" in plan.transports else [],
        _run_sub, _python_impls(("nanopy", *PY_PEERS)), lambda c, q: 2000 if q else 5000,
        ratios=(("nanopy", "best peer"),)))
    add_kind(Kind(
        "fanout", "Fan-out: µs inside send() per message, tcp, 64 B",
        "PUSH: messages spread over N connections; PUB: each message goes to N SUB "
        "connections. The receiving process holds the N connections; only the time inside "
        "send() is counted, in bursts the receivers drain between (10,000 PUSH messages, "
        "10 PUB messages per burst). PUSH runs send at most 300,000 messages: the Python "
        "receivers' draining, not counted, sets the run's wall time.",
        "us_per_msg", False,
        lambda plan: [Cell("fanout", mode, 64, (f"{n}peers",), f"{mode.upper()} to {n:,}")
                      for mode in ("push", "pub") for n in plan.fanout_peers],
        _run_fanout, _python_impls(("nanopy", *PY_PEERS)), _fanout_count,
        fixed_count=lambda cell: cell.transport == "pub", max_count=300_000,
        ratios=(("nanopy", "best peer"),)))
    add_kind(Kind(
        "mem", "Memory per tcp connection, bytes (RSS growth)",
        "Both ends in one process: one PULL socket binds, PUSH sockets open N connections "
        "to it and one 64-byte message crosses each; RSS growth / N.",
        "bytes_per_conn", False,
        lambda plan: [Cell("mem", "tcp", n, (), f"{n:,} connections")
                      for n in plan.mem_connections] if "tcp" in plan.transports else [],
        _run_mem, _python_impls(("nanopy", *PY_PEERS)), lambda c, q: 1, fixed_count=True,
        ratios=(("nanopy", "best peer"),), unit="B"))


# ---- the matrix ---------------------------------------------------------------------------


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
    nodelay_sizes: List[int]
    lat_sizes: List[int]
    pins: List[str]
    split_cells: List[Tuple[str, int]]
    sub_counts: List[int]
    fanout_peers: List[int]
    mem_connections: List[int]


def cells_of(plan: Plan) -> Iterator[Tuple[Kind, Cell]]:
    """The cells of the plan, in table order."""
    for name, kind in KINDS.items():
        if name in plan.kinds:
            for cell in kind.cells(plan):
                yield kind, cell


def skip_reason(impl: Impl, cell: Cell) -> Optional[str]:
    """Why ``impl`` sits out ``cell`` although it could run it (too slow to be useful)."""
    if impl.name == "pynng" and cell.kind == "sub" and cell.extra[0] == "100000subs":
        return "skipped: pynng needs ~25 s to subscribe 100,000 topics (O(n^2))"
    return None


def run_matrix(plan: Plan, log: Any) -> Dict[str, Dict[str, CellResult]]:
    """Run every cell: calibrate each implementation, then ``runs`` interleaved rounds."""
    results: Dict[str, Dict[str, CellResult]] = {}
    addrs = Addresses(20000 + (os.getpid() % 600) * 20)
    timeout = max(60.0, plan.target * 60)
    try:
        for kind, cell in cells_of(plan):
            if cell.key in results:
                continue
            row: Dict[str, CellResult] = {}
            results[cell.key] = row
            players: List[Impl] = []
            for impl in kind.impls(cell, plan.impls):
                res = row[impl.name] = CellResult()
                res.error = impl.unavailable or skip_reason(impl, cell)
                if res.error:
                    continue
                count = kind.initial_count(cell, plan.quick)
                fixed = kind.fixed_count(cell) if callable(kind.fixed_count) else kind.fixed_count
                if fixed:
                    res.count = count
                    players.append(impl)
                    continue
                try:
                    value = parse_metric(kind, kind.run(impl, cell, count, addrs, timeout))
                except RunError as exc:
                    res.error = str(exc)
                    log(f"  {cell.key:28} {impl.name:16} n/a: {res.error}")
                    continue
                per_msg = seconds_per_message(kind, value)
                # Aim a quarter over the target so a faster run still lasts it.
                res.count = int(min(max(1.25 * plan.target / per_msg, count // 4, 10),
                                    kind.max_count))
                players.append(impl)
            for round_no in range(plan.runs):
                shift = round_no % len(players) if players else 0
                for impl in players[shift:] + players[:shift]:
                    res = row[impl.name]
                    if len(res.failures) >= 2:
                        continue  # give up on it for this cell; the failures are reported
                    try:
                        out = kind.run(impl, cell, res.count, addrs, timeout)
                        res.runs.append(parse_metric(kind, out))
                    except RunError as exc:
                        res.failures.append(str(exc))
                        log(f"  {cell.key:28} {impl.name:16} run failed: {exc}")
            for res in row.values():
                if not res.runs and res.failures and not res.error:
                    res.error = res.failures[0]
            summary = "  ".join(
                f"{name}={_fmt_value(kind, cell, r.median)}" if r.median is not None
                else f"{name}=n/a" for name, r in row.items())
            log(f"{cell.key:30} {summary}")
    finally:
        addrs.close()
    return results


def parse_metric(kind: Kind, out: str) -> float:
    """The kind's metric from a tool's output, or RunError."""
    values = parse_output(out)
    if kind.metric not in values:
        raise RunError(f"unparsable output: {out.strip()[-120:]!r}")
    return values[kind.metric]


# ---- reporting ----------------------------------------------------------------------------


def _fmt_size(size: int) -> str:
    if size >= MIB and size % MIB == 0:
        return f"{size // MIB} MiB"
    if size >= KIB and size % KIB == 0:
        return f"{size // KIB} KiB"
    return f"{size} B"


def _fmt_number(kind: Kind, value: float) -> str:
    if kind.metric == "msgs_per_s":
        return f"{value / 1e6:.2f}M" if value >= 1e6 else f"{value / 1e3:.1f}k"
    if kind.metric == "bytes_per_conn":
        return f"{value:,.0f}"
    return f"{value:.2f}" if value < 100 else f"{value:,.0f}"


def _fmt_value(kind: Kind, cell: Cell, value: Optional[float]) -> str:
    if value is None:
        return "n/a"
    text = _fmt_number(kind, value)
    if kind.metric == "msgs_per_s":
        mbytes = value * cell.size / 1e6
        text += f" ({mbytes:,.0f} MB/s)" if mbytes >= 10 else f" ({mbytes:.1f} MB/s)"
    return text


def _fmt_result(kind: Kind, cell: Cell, res: CellResult) -> str:
    """``median (min–max)``; the MB/s of throughput cells follows the median."""
    if res.median is None:
        return "n/a"
    text = _fmt_value(kind, cell, res.median)
    if len(res.runs) > 1:
        text += f" [{_fmt_number(kind, min(res.runs))}–{_fmt_number(kind, max(res.runs))}]"
    return text


def _best_peer(kind: Kind, row: Dict[str, CellResult]) -> Tuple[Optional[str], Optional[float]]:
    candidates = [(name, row[name].median) for name in PY_PEERS
                  if name in row and row[name].median is not None]
    if not candidates:
        return None, None
    pick = max if kind.higher_is_better else min
    return pick(candidates, key=lambda item: item[1])  # type: ignore[arg-type,return-value]


def speedup(kind: Kind, ours: Optional[float], theirs: Optional[float]) -> Optional[float]:
    """How many times faster (or smaller) ``ours`` is: > 1 is better, whatever the
    metric's direction."""
    if not ours or not theirs:
        return None
    return ours / theirs if kind.higher_is_better else theirs / ours


def ratio_text(kind: Kind, row: Dict[str, CellResult], num: str, den: str) -> str:
    """One ratio cell: ``2.10x`` (with the peer's name for ``best peer``), or n/a."""
    ours = row[num].median if num in row else None
    if den == "best peer":
        name, theirs = _best_peer(kind, row)
    else:
        name, theirs = None, (row[den].median if den in row else None)
    value = speedup(kind, ours, theirs)
    if value is None:
        return "n/a"
    return f"{value:.2f}x" + (f" ({name})" if name else "")


def _row_label(cell: Cell) -> str:
    if cell.label:
        return cell.label
    return " ".join([cell.transport, _fmt_size(cell.size), *cell.extra])


def render_markdown(results: Dict[str, Dict[str, CellResult]], impls: List[Impl],
                    meta: Dict[str, Any]) -> str:
    """The results as markdown: one table per kind, with the ratio columns."""
    names = [impl.name for impl in impls]
    out = [f"# nanopy benchmark — {meta['date']}", "",
           f"Machine: {meta['machine']}  ", f"Load: {meta.get('load', 'not recorded')}  ",
           f"Command: `{meta['command']}`  ",
           f"Each cell: median [min–max] of {meta['runs']} interleaved runs of "
           f"~{meta['target']} s or more (PUB fan-out and memory cells: fixed counts).", "",
           "Ratio columns: `A ÷ B` is how many times faster (or smaller) A is than B; "
           "> 1 means A is better, whatever the metric's direction. `best peer` is the "
           "fastest of pyzmq / pynng / nnpy (named in brackets).", ""]
    for kind in KINDS.values():
        keys = [k for k in results if k.split("/")[0] == kind.name]
        if not keys:
            continue
        used = [n for n in names if any(n in results[k] for k in keys)]
        peers_used = any(p in used for p in PY_PEERS)
        ratios = [(a, b) for a, b in kind.ratios
                  if a in used and (b in used or (b == "best peer" and peers_used))]
        out += [f"## {kind.title}", "", kind.note, ""]
        header = ["cell", *used, *[f"{a} ÷ {b}" for a, b in ratios]]
        out.append("| " + " | ".join(header) + " |")
        out.append("|" + "---|" * len(header))
        notes: List[str] = []
        for key in keys:
            cell = cell_from_key(key)
            row = results[key]
            label = _row_label(cell)
            values = []
            for name in used:
                res = row.get(name)
                if res is None:
                    values.append("—")
                elif res.error:
                    values.append(f"n/a ({res.error})" if len(res.error) < 60 else
                                  f"n/a ({res.error[:57]}...)")
                else:
                    text = _fmt_result(kind, cell, res)
                    if res.failures:
                        notes.append(f"{label}, {name}: {len(res.failures)} of "
                                     f"{len(res.failures) + len(res.runs)} runs failed: "
                                     f"{res.failures[0]}")
                        text += f" ⚠{len(notes)}"
                    values.append(text)
            extra = [ratio_text(kind, row, a, b) for a, b in ratios]
            out.append("| " + " | ".join([label, *values, *extra]) + " |")
        out.append("")
        if notes:
            out += [f"⚠{i}: {note}" + "  " for i, note in enumerate(notes, 1)] + [""]
    out += ["## Implementations", ""]
    out += [f"- `{impl.name}`: {impl.description}"
            + (f" — **n/a: {impl.unavailable}**" if impl.unavailable else "") for impl in impls]
    out.append("")
    return "\n".join(out)


def cell_from_key(key: str) -> Cell:
    """The Cell a results key names (labels of the built-in kinds are rebuilt)."""
    parts = key.split("/")
    cell = Cell(parts[0], parts[1], int(parts[2]), tuple(parts[3:]))
    if cell.kind == "sub":
        cell.label = f"{int(cell.extra[0][:-4]):,} subscriptions"
    elif cell.kind == "fanout":
        cell.label = f"{cell.transport.upper()} to {int(cell.extra[0][:-5]):,}"
    elif cell.kind == "mem":
        cell.label = f"{cell.size:,} connections"
    return cell


def plot_throughput(results: Dict[str, Dict[str, CellResult]], impls: List[Impl],
                    path: str) -> Optional[str]:
    """Throughput (MB/s) against message size, one panel per transport; returns an error."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        return f"matplotlib missing: {exc}"
    thr_keys = [k for k in results if k.startswith("thr/") and len(k.split("/")) == 3]
    transports = sorted({k.split("/")[1] for k in thr_keys}, key=["tcp", "ipc", "inproc"].index)
    if not transports:
        return "no throughput cells"
    fig, axes = plt.subplots(1, len(transports), figsize=(5.5 * len(transports), 4.5),
                             squeeze=False)
    colors = plt.get_cmap("tab10")
    for ax, transport in zip(axes[0], transports):
        for index, impl in enumerate(impls):
            points = []
            for key in thr_keys:
                cell = cell_from_key(key)
                row = results[key]
                if cell.transport == transport and impl.name in row:
                    median = row[impl.name].median
                    if median is not None:
                        points.append((cell.size, median * cell.size / 1e6))
            if len(points) > 1:
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
    for module in ("zmq", "pynng"):
        try:
            mod = __import__(module)
            versions.append(f"{module} {getattr(mod, '__version__', '?')}")
        except ImportError:
            pass
    try:
        import zmq

        versions.append(f"libzmq {zmq.zmq_version()}")
    except ImportError:
        pass
    return (f"{cpu}, {os.cpu_count()} CPUs, Linux {platform.release()}; "
            + ", ".join(versions))


def load_text() -> str:
    """Load averages now, as ``/proc/loadavg`` gives them."""
    try:
        with open("/proc/loadavg") as fh:
            return " ".join(fh.read().split()[:3])
    except OSError:
        return "unknown"


# ---- extra cell modules -------------------------------------------------------------------


def load_cell_modules(log: Any) -> List[str]:
    """Import every ``bench/cells_*.py`` and call its ``register(bench)``."""
    loaded = []
    for path in sorted(glob.glob(os.path.join(BENCH_DIR, "cells_*.py"))):
        name = os.path.splitext(os.path.basename(path))[0]
        spec = importlib.util.spec_from_file_location(f"bench_{name}", path)
        if spec is None or spec.loader is None:
            continue
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # dataclasses in the module look themselves up there
        spec.loader.exec_module(module)
        register = getattr(module, "register", None)
        if register is None:
            log(f"{name}: no register(bench), ignored")
            continue
        register(sys.modules[__name__])
        loaded.append(name)
    return loaded


# ---- command line -------------------------------------------------------------------------


def parse_args(argv: Optional[List[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="CI mode: fewer cells, short runs")
    parser.add_argument("--runs", type=int, help="measured runs per cell (default 5, quick 3)")
    parser.add_argument("--target", type=float,
                        help="seconds per measured run (default 1.0, quick 0.1)")
    parser.add_argument("--impl", help="comma list of implementations (default: all)")
    parser.add_argument("--transport", help="comma list of tcp,ipc,inproc (default: all)")
    parser.add_argument("--kind", help="comma list of kinds (default: all; built in: "
                                       "thr,lat,async,sub,fanout,mem)")
    parser.add_argument("--sizes", help="comma list of throughput message sizes in bytes "
                                        "(default 64,65536,1048576; quick 64,65536)")
    parser.add_argument("--pins", help="comma list of latency CPU placements: same,split "
                                       "(default both)")
    parser.add_argument("--out", default=os.path.join(BENCH_DIR, "results"),
                        help="output folder (default bench/results)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    parser.add_argument("--from-json", metavar="FILE",
                        help="measure nothing: render latest.md and the plot from the JSON "
                             "of an earlier run")
    parser.add_argument("--publish", action="store_true",
                        help="also write bench/results-main.json, bench/throughput.png and "
                             "regenerate the README and docs tables (bench/publish.py)")
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
    kinds = args.kind.split(",") if args.kind else list(KINDS)
    unknown_kinds = set(kinds) - set(KINDS)
    if unknown_kinds:
        raise SystemExit(f"unknown kind(s): {', '.join(sorted(unknown_kinds))}")
    cpus = os.cpu_count() or 1
    two_cpus = cpus >= 2 and shutil.which("taskset") is not None
    pins = ["same", "split"] if two_cpus else []
    if args.pins:
        pins = [p for p in pins if p in args.pins.split(",")]
    if args.quick:
        plan = Plan(True, args.runs or 3, args.target or 0.1, impls, transports, kinds,
                    [64, 64 * KIB], [64], [64], pins[:1], [], [1, 1000], [1, 100], [100])
    else:
        plan = Plan(False, args.runs or 5, args.target or 1.0, impls, transports, kinds,
                    [64, 64 * KIB, MIB], [64, MIB], [64], pins, [("tcp", 64)],
                    [1, 1000, 100000], [1, 100, 1000], [1000])
    if args.sizes:
        plan.thr_sizes = [int(x) for x in args.sizes.split(",") if x.strip()]
        plan.nodelay_sizes = [x for x in plan.nodelay_sizes if x in plan.thr_sizes]
    return plan


def write_outputs(results: Dict[str, Dict[str, CellResult]], impls: List[Impl],
                  meta: Dict[str, Any], out_dir: str) -> Dict[str, Any]:
    """Write latest.md, latest.json and throughput.png into ``out_dir``; returns the JSON."""
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "latest.md"), "w") as fh:
        fh.write(render_markdown(results, impls, meta))
    payload = {
        "meta": meta,
        "implementations": {i.name: {"description": i.description,
                                     "unavailable": i.unavailable} for i in impls},
        "cells": {key: {name: {"median": r.median, "runs": r.runs, "count": r.count,
                               "error": r.error, "failures": r.failures}
                         for name, r in row.items()}
                  for key, row in results.items()},
    }
    with open(os.path.join(out_dir, "latest.json"), "w") as fh:
        json.dump(payload, fh, indent=1)
    plot_throughput(results, impls, os.path.join(out_dir, "throughput.png"))
    return payload


def load_json(path: str) -> Tuple[Dict[str, Dict[str, CellResult]], List[Impl], Dict[str, Any]]:
    """(results, implementations, meta) from a saved results JSON."""
    with open(path) as fh:
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
    return results, impls, payload["meta"]


def main(argv: Optional[List[str]] = None) -> int:
    """Run the benchmark and write latest.md, latest.json and throughput.png."""
    args = parse_args(argv)

    def log(message: str) -> None:
        if not args.quiet:
            print(message, flush=True)

    modules = load_cell_modules(log)
    if args.from_json:
        results, impls, meta = load_json(args.from_json)
        write_outputs(results, impls, meta, args.out)
        return 0
    plan = make_plan(args)
    started = time.time()
    load_before = load_text()
    native_error = build_native(log)
    check_availability(plan.impls, native_error)
    for impl in plan.impls:
        if impl.unavailable:
            log(f"{impl.name}: n/a ({impl.unavailable})")
    results = run_matrix(plan, log)
    command = " ".join(["python bench/run.py", *(sys.argv[1:] if argv is None else argv)])
    meta = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(started)),
        "machine": machine_info(),
        "load": f"load average {load_before} at the start, {load_text()} at the end",
        "command": command,
        "runs": plan.runs,
        "target": plan.target,
        "quick": plan.quick,
        "cell_modules": modules,
        "elapsed_s": round(time.time() - started, 1),
        "commit": _git_commit(),
    }
    write_outputs(results, plan.impls, meta, args.out)
    if "async" in plan.kinds:  # zmq.asyncio/pynng/uvloop cells: bench/async_bench.py
        import async_bench

        async_data = async_bench.run_cells(plan.quick, 3 if plan.quick else max(plan.runs, 5),
                                           0.2 if plan.quick else 1.0, log)
        with open(os.path.join(args.out, "latest.md"), "a") as fh:
            fh.write("\n## Async cells\n\n" + async_bench.render_markdown(async_data))
        with open(os.path.join(args.out, "latest-async.json"), "w") as fh:
            json.dump(async_data, fh, indent=1)
    log(f"\nwrote {args.out}/latest.md, latest.json, throughput.png in {meta['elapsed_s']} s")
    if args.publish:
        publish = _load_publish()
        publish.publish(os.path.join(args.out, "latest.json"))
        log("published: bench/results-main.json, README.md, docs/benchmarks.md")
    if not args.quiet:
        with open(os.path.join(args.out, "latest.md")) as fh:
            print(fh.read())
    nanopy_failed = [key for key, row in results.items()
                     if "nanopy" in row and (row["nanopy"].error or row["nanopy"].failures)]
    if nanopy_failed:
        print(f"nanopy failed in: {', '.join(nanopy_failed)}", file=sys.stderr)
        return 1
    return 0


def _git_commit() -> str:
    if os.environ.get("BENCH_COMMIT"):  # a run from an exported copy of a commit
        return os.environ["BENCH_COMMIT"]
    try:
        proc = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, cwd=REPO_DIR, timeout=10)
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "src", "csrc"],
                               capture_output=True, text=True, cwd=REPO_DIR, timeout=10)
        return proc.stdout.strip() + ("+local changes" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _load_publish() -> Any:
    spec = importlib.util.spec_from_file_location("bench_publish",
                                                  os.path.join(BENCH_DIR, "publish.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


_register_builtin_kinds()

if __name__ == "__main__":
    sys.exit(main())
