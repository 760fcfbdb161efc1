"""Async benchmark cells: nanopy's asend/arecv against its blocking calls, zmq.asyncio and
pynng's async API, under asyncio and uvloop.

Usage (from the repository root)::

    python bench/async_bench.py                # full matrix (~15 minutes on 2 cores)
    python bench/async_bench.py --quick        # a few cells, a few seconds each
    python bench/async_bench.py --runs 7 --seconds 1 --out bench/results-async.json

Cells:

- round trip (``rt``): a client sends 64 B and waits for the echo, one request in flight,
  REQ/REP and PAIR, over tcp, ipc and inproc. The echo is the same library's blocking API
  in another process (inproc: a thread of the client's process). The client is the
  library's async API on an asyncio or uvloop loop, or nanopy's blocking calls (``sync``).
- PULL throughput (``pull``): a blocking PUSH in another process sends 64 B messages as fast
  as it can; the receiver counts messages from ``async for`` (nanopy) or ``await recv()``
  (zmq.asyncio, pynng) for the time asked.

Placements: ``same`` pins both ends to CPU 0 (``taskset -c 0``), ``split`` puts the client
on CPU 0 and the peer on CPU 1. Variants run interleaved (A B C A B C ...), each run lasts
``--seconds``; a cell reports the median and the min-max of ``--runs`` runs.

``bench/run.py`` calls :func:`run_cells` and :func:`render_markdown` (``--kind async``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_DIR = os.path.dirname(BENCH_DIR)
SIZE = 64
PAYLOAD = b"x" * SIZE
PLACEMENTS = {"same": ("0", "0"), "split": ("0", "1")}
LOOPS = ("asyncio", "uvloop")
ASYNC_IMPLS = ("nanopy", "zmq", "pynng")


# ---- the three libraries, each as: open a socket, blocking echo, async client ------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _open(impl: str, pattern: str, side: str, url: str, zctx: Any = None, aio: bool = False
          ) -> Any:
    """A socket of ``impl`` for ``pattern`` (reqrep, pair, pipeline) on ``side`` (server
    binds, client connects). ``aio`` picks the library's async socket class."""
    if impl == "nanopy":
        import nanopy

        proto = {("reqrep", "server"): nanopy.REP, ("reqrep", "client"): nanopy.REQ,
                 ("pair", "server"): nanopy.PAIR, ("pair", "client"): nanopy.PAIR,
                 ("pipeline", "server"): nanopy.PUSH, ("pipeline", "client"): nanopy.PULL}
        sock = nanopy.Socket(proto[(pattern, side)])
        if not url.startswith("inproc"):
            sock.tcp_nodelay = True
        (sock.bind if side == "server" else sock.connect)(url)
        return sock
    if impl == "zmq":
        import zmq

        if aio:
            import zmq.asyncio

            ctx = zmq.asyncio.Context.shadow(zctx) if zctx is not None else zmq.asyncio.Context()
        else:
            ctx = zctx if zctx is not None else zmq.Context()
        kind = {("reqrep", "server"): zmq.REP, ("reqrep", "client"): zmq.REQ,
                ("pair", "server"): zmq.PAIR, ("pair", "client"): zmq.PAIR,
                ("pipeline", "server"): zmq.PUSH, ("pipeline", "client"): zmq.PULL}
        sock = ctx.socket(kind[(pattern, side)])
        sock.linger = 0
        (sock.bind if side == "server" else sock.connect)(url)
        return sock
    import pynng

    cls = {("reqrep", "server"): pynng.Rep0, ("reqrep", "client"): pynng.Req0,
           ("pair", "server"): pynng.Pair0, ("pair", "client"): pynng.Pair0,
           ("pipeline", "server"): pynng.Push0, ("pipeline", "client"): pynng.Pull0}
    sock = cls[(pattern, side)]()
    if url.startswith("tcp"):
        sock.tcp_nodelay = True
    if side == "server":
        sock.listen(url)
    else:
        sock.dial(url, block=False)
    return sock


def _echo(impl: str, sock: Any, stop: Optional[threading.Event] = None) -> None:
    """Blocking echo until the peer goes away (or ``stop`` is set)."""
    recv, send = sock.recv, sock.send
    try:
        while stop is None or not stop.is_set():
            send(recv())
    except Exception:  # noqa: BLE001 - the socket closed under us: the run is over
        pass


def _push_forever(impl: str, sock: Any) -> None:
    send = sock.send
    try:
        while True:
            send(PAYLOAD)
    except Exception:  # noqa: BLE001 - killed or closed: the run is over
        pass


def _async_pair(impl: str, sock: Any) -> Tuple[Callable[[bytes], Any], Callable[[], Any]]:
    if impl == "pynng":
        return sock.asend, sock.arecv
    if impl == "zmq":
        return sock.send, sock.recv
    return sock.asend, sock.arecv


def _new_loop(loop_name: str) -> Any:
    import asyncio

    if loop_name == "uvloop":
        import uvloop

        return uvloop.new_event_loop()
    return asyncio.new_event_loop()


def _round_trips_async(impl: str, sock: Any, loop_name: str, seconds: float) -> Dict[str, float]:
    asend, arecv = _async_pair(impl, sock)

    async def run() -> Dict[str, float]:
        for _ in range(200):  # warm up (and wait for the connection)
            await asend(PAYLOAD)
            await arecv()
        n = 0
        cpu0 = time.process_time()
        start = time.perf_counter()
        deadline = start + seconds
        while True:
            for _ in range(50):
                await asend(PAYLOAD)
                await arecv()
            n += 50
            now = time.perf_counter()
            if now >= deadline:
                break
        return {"us": (now - start) / n * 1e6, "n": n,
                "cpu_us": (time.process_time() - cpu0) / n * 1e6}

    loop = _new_loop(loop_name)
    try:
        return loop.run_until_complete(run())
    finally:
        loop.close()


def _round_trips_sync(sock: Any, seconds: float) -> Dict[str, float]:
    send, recv = sock.send, sock.recv
    for _ in range(200):
        send(PAYLOAD)
        recv()
    n = 0
    cpu0 = time.process_time()
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        for _ in range(50):
            send(PAYLOAD)
            recv()
        n += 50
        now = time.perf_counter()
        if now >= deadline:
            break
    return {"us": (now - start) / n * 1e6, "n": n,
            "cpu_us": (time.process_time() - cpu0) / n * 1e6}


def _pull_async(impl: str, sock: Any, loop_name: str, seconds: float) -> Dict[str, float]:
    async def run() -> Dict[str, float]:
        if impl == "nanopy":
            it = sock.__aiter__()
            nxt = it.__anext__
        else:
            nxt = sock.recv if impl == "zmq" else sock.arecv
        for _ in range(1000):
            await nxt()
        n = 0
        start = time.perf_counter()
        deadline = start + seconds
        while True:
            for _ in range(500):
                await nxt()
            n += 500
            now = time.perf_counter()
            if now >= deadline:
                break
        return {"msgs_per_s": n / (now - start), "n": n}

    loop = _new_loop(loop_name)
    try:
        return loop.run_until_complete(run())
    finally:
        loop.close()


def _pin_thread(cpu: str) -> None:
    try:
        os.sched_setaffinity(0, {int(cpu)})  # 0: the calling thread on Linux
    except (AttributeError, OSError):
        pass


# ---- one measurement (runs in a child process) -------------------------------------------


def child_client(kind: str, impl: str, loop_name: str, pattern: str, url: str, seconds: float,
                 server_cpu: Optional[str]) -> Dict[str, float]:
    """Measure one run in this process; inproc cells start their peer as a thread here."""
    inproc = url.startswith("inproc")
    zctx = None
    stop = threading.Event()
    server = None
    peer_lib = "nanopy" if impl == "sync" else impl
    if impl == "zmq":
        import zmq

        zctx = zmq.Context()
    if inproc:
        server = _open(peer_lib, pattern, "server", url, zctx)

        def serve() -> None:
            if server_cpu is not None:
                _pin_thread(server_cpu)
            if kind == "pull":
                _push_forever(peer_lib, server)
            else:
                _echo(peer_lib, server, stop)

        threading.Thread(target=serve, daemon=True).start()
    client = _open(peer_lib, pattern, "client", url, zctx, aio=impl in ("zmq",))
    try:
        if kind == "pull":
            return _pull_async(impl, client, loop_name, seconds)
        if impl == "sync":
            return _round_trips_sync(client, seconds)
        return _round_trips_async(impl, client, loop_name, seconds)
    finally:
        stop.set()


def child_server(kind: str, impl: str, pattern: str, url: str) -> None:
    lib = "nanopy" if impl == "sync" else impl
    sock = _open(lib, pattern, "server", url)
    if kind == "pull":
        _push_forever(lib, sock)
    else:
        _echo(lib, sock)


# ---- the matrix (parent process) ----------------------------------------------------------


Variant = Tuple[str, str, str, str, str, str]  # kind, placement, pattern, transport, impl, loop


def variants(quick: bool) -> Iterator[Variant]:
    placements = ["split"] if quick else list(PLACEMENTS)
    transports = ["tcp"] if quick else ["tcp", "ipc", "inproc"]
    patterns = ["reqrep"] if quick else ["reqrep", "pair"]
    for place in placements:
        for pattern in patterns:
            for transport in transports:
                yield ("rt", place, pattern, transport, "sync", "-")
                for loop_name in LOOPS:
                    for impl in ASYNC_IMPLS:
                        yield ("rt", place, pattern, transport, impl, loop_name)
                    if pattern == "reqrep" and transport == "tcp":
                        # nanopy with the short poll before parking turned off
                        yield ("rt", place, pattern, transport, "nanopy-nopoll", loop_name)
        for transport in (["tcp"] if quick else ["tcp", "ipc"]):
            for loop_name in LOOPS:
                for impl in ("nanopy", "zmq"):
                    yield ("pull", place, "pipeline", transport, impl, loop_name)


def _url(transport: str, tmpdir: str, serial: int) -> Tuple[str, str]:
    if transport == "tcp":
        port = _free_port()
        return f"tcp://127.0.0.1:{port}", f"tcp://127.0.0.1:{port}"
    if transport == "ipc":
        path = os.path.join(tmpdir, f"a{serial}.ipc")
        return f"ipc://{path}", f"ipc://{path}"
    return f"inproc://bench{serial}", f"inproc://bench{serial}"


def _env() -> Dict[str, str]:
    env = dict(os.environ)
    src = os.path.join(REPO_DIR, "src")
    env["PYTHONPATH"] = src + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def measure(v: Variant, seconds: float, tmpdir: str, serial: int) -> Dict[str, float]:
    """One run of one variant: server process (or thread) and client process, pinned."""
    kind, place, pattern, transport, impl, loop_name = v
    client_cpu, server_cpu = PLACEMENTS[place]
    bind, connect = _url(transport, tmpdir, serial)
    me = [sys.executable, os.path.abspath(__file__)]
    env = _env()
    if impl == "nanopy-nopoll":
        env["NANOPY_ASYNC_SPIN_US"] = "0"
        impl = "nanopy"
    server = None
    if transport != "inproc":
        server = subprocess.Popen(["taskset", "-c", server_cpu, *me, "_server", kind, impl,
                                   pattern, bind], env=env, stdout=subprocess.DEVNULL)
        time.sleep(0.3)
        cpus = client_cpu
    else:
        cpus = "0" if place == "same" else "0,1"
    try:
        out = subprocess.run(["taskset", "-c", cpus, *me, "_client", kind, impl, loop_name,
                              pattern, connect, str(seconds),
                              server_cpu if transport == "inproc" and place == "split" else "-"],
                             env=env, capture_output=True, text=True, timeout=60 + seconds)
    finally:
        if server is not None:
            server.kill()
            server.wait()
    if out.returncode != 0:
        raise RuntimeError(f"{v}: {out.stderr.strip()[-400:]}")
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def run_cells(quick: bool = False, runs: int = 5, seconds: float = 1.0,
              log: Callable[[str], None] = print,
              only: Optional[Callable[[Variant], bool]] = None) -> Dict[str, Any]:
    """Run the async matrix; returns {"meta": ..., "runs": {variant key: [result, ...]}}.

    Variants run interleaved: run 1 of every variant, then run 2 of every variant, ...
    """
    todo = [v for v in variants(quick) if only is None or only(v)]
    results: Dict[str, List[Dict[str, float]]] = {"/".join(v): [] for v in todo}
    loads = [os.getloadavg()[0]]
    with tempfile.TemporaryDirectory() as tmpdir:
        serial = 0
        for r in range(runs):
            for v in todo:
                serial += 1
                try:
                    res = measure(v, seconds, tmpdir, serial)
                except Exception as exc:  # noqa: BLE001 - recorded, the matrix goes on
                    res = {"error": str(exc)}
                results["/".join(v)].append(res)
            loads.append(os.getloadavg()[0])
            log(f"async bench: run {r + 1}/{runs} done, load average {loads[-1]:.2f}")
    meta = {"when": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
            "machine": f"{platform.machine()} {os.cpu_count()} CPUs, {platform.platform()}",
            "python": sys.version.split()[0], "runs": runs, "seconds": seconds,
            "load_average": {"min": min(loads), "max": max(loads),
                             "median": statistics.median(loads)},
            "versions": _versions()}
    return {"meta": meta, "runs": results}


def _versions() -> Dict[str, str]:
    out = {}
    for mod in ("zmq", "pynng", "uvloop"):
        try:
            out[mod] = str(__import__(mod).__version__)
        except Exception:  # noqa: BLE001 - not installed
            out[mod] = "n/a"
    return out


# ---- tables ------------------------------------------------------------------------------


def _stats(values: List[Dict[str, float]], key: str) -> Optional[Tuple[float, float, float]]:
    xs = [v[key] for v in values if key in v]
    if not xs:
        return None
    return statistics.median(xs), min(xs), max(xs)


def _fmt(st: Optional[Tuple[float, float, float]], digits: int = 1) -> str:
    if st is None:
        return "n/a"
    med, lo, hi = st
    return f"{med:.{digits}f} ({lo:.{digits}f}-{hi:.{digits}f})"


def render_markdown(data: Dict[str, Any]) -> str:
    """Tables of a :func:`run_cells` result: round trips (µs, lower is better) with ratios
    to nanopy's blocking calls and to zmq.asyncio, then PULL throughput."""
    runs = data["runs"]
    meta = data["meta"]
    load = meta["load_average"]
    lines = [f"Run {meta['when']}, {meta['machine']}, Python {meta['python']}; "
             f"{meta['runs']} interleaved runs of {meta['seconds']} s per cell; "
             f"load average {load['min']:.1f}-{load['max']:.1f} during the run "
             f"(other work shared the 2 CPUs).", ""]
    lines += ["Round trip, 64 B, one request in flight, µs: median (min-max).", "",
              "| placement | pattern | transport | loop | nanopy async | nanopy sync | "
              "async ÷ sync | zmq.asyncio | nanopy ÷ zmq | pynng async | nanopy ÷ pynng |",
              "|---|---|---|---|---|---|---|---|---|---|---|"]
    keys = list(runs)
    cells: List[Tuple[str, ...]] = []
    for k in keys:
        cell = tuple(k.split("/")[1:4])
        if k.startswith("rt/") and cell not in cells:
            cells.append(cell)
    for place, pattern, transport in cells:
        base = f"rt/{place}/{pattern}/{transport}"
        sync = _stats(runs.get(f"{base}/sync/-", []), "us")
        for loop_name in LOOPS:
            ours = _stats(runs.get(f"{base}/nanopy/{loop_name}", []), "us")
            z = _stats(runs.get(f"{base}/zmq/{loop_name}", []), "us")
            p = _stats(runs.get(f"{base}/pynng/{loop_name}", []), "us")
            if ours is None and z is None and p is None:
                continue

            def ratio(a: Optional[Tuple[float, float, float]],
                      b: Optional[Tuple[float, float, float]]) -> str:
                return f"{a[0] / b[0]:.2f}x" if a and b else "n/a"

            lines.append(f"| {place} | {pattern} | {transport} | {loop_name} | {_fmt(ours)} | "
                         f"{_fmt(sync)} | {ratio(ours, sync)} | {_fmt(z)} | {ratio(ours, z)} | "
                         f"{_fmt(p)} | {ratio(ours, p)} |")
    lines += ["", "PULL throughput, 64 B, blocking PUSH in another process, msgs/s: "
              "median (min-max).", "",
              "| placement | transport | loop | nanopy `async for` | zmq.asyncio `await recv()` "
              "| nanopy ÷ zmq |", "|---|---|---|---|---|---|"]
    for key in keys:
        parts = key.split("/")
        if parts[0] != "pull" or parts[4] != "nanopy":
            continue
        ours = _stats(runs[key], "msgs_per_s")
        z = _stats(runs.get("/".join(parts[:4] + ["zmq", parts[5]]), []), "msgs_per_s")
        r = f"{ours[0] / z[0]:.2f}x" if ours and z else "n/a"
        lines.append(f"| {parts[1]} | {parts[3]} | {parts[5]} | {_fmt(ours, 0)} | {_fmt(z, 0)} "
                     f"| {r} |")
    polls = [k for k in keys if k.split("/")[4] == "nanopy-nopoll"]
    if polls:
        lines += ["", "The short poll before parking (`NANOPY_ASYNC_SPIN_US`, default 50) on and "
                  "off, REQ/REP tcp 64 B, µs: median (min-max).", "",
                  "| placement | loop | poll on (default) | poll off | on ÷ off |",
                  "|---|---|---|---|---|"]
        for key in polls:
            parts = key.split("/")
            off = _stats(runs[key], "us")
            on = _stats(runs.get("/".join(parts[:4] + ["nanopy", parts[5]]), []), "us")
            r = f"{on[0] / off[0]:.2f}x" if on and off else "n/a"
            lines.append(f"| {parts[1]} | {parts[5]} | {_fmt(on)} | {_fmt(off)} | {r} |")
    errors = [(k, v["error"]) for k, vs in runs.items() for v in vs if "error" in v]
    if errors:
        lines += ["", "Failed runs: " + "; ".join(f"{k}: {e}" for k, e in errors[:5])]
    return "\n".join(lines) + "\n"


# ---- command line --------------------------------------------------------------------------


def main(argv: Optional[List[str]] = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == "_server":
        child_server(*args[1:5])
        return 0
    if args and args[0] == "_client":
        kind, impl, loop_name, pattern, url, seconds, server_cpu = args[1:8]
        res = child_client(kind, impl, loop_name, pattern, url, float(seconds),
                           None if server_cpu == "-" else server_cpu)
        print(json.dumps(res), flush=True)
        os._exit(0)  # inproc peers are daemon threads blocked in recv: do not wait for them
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a few cells only")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=1.0, help="length of one run")
    parser.add_argument("--only", help="substring a variant key must contain "
                        "(e.g. rt/split/reqrep/tcp)")
    parser.add_argument("--out", help="write the JSON here (and the table next to it, .md)")
    opts = parser.parse_args(args)
    only = (lambda v: all(s in "/".join(v) for s in opts.only.split(","))) if opts.only else None
    data = run_cells(opts.quick, opts.runs, opts.seconds,
                     log=lambda m: print(m, file=sys.stderr, flush=True), only=only)
    table = render_markdown(data)
    print(table)
    if opts.out:
        with open(opts.out, "w") as f:
            json.dump(data, f, indent=1)
        with open(os.path.splitext(opts.out)[0] + ".md", "w") as f:
            f.write(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
