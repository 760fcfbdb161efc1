"""Throughput over ws://, tls+tcp:// and wss://: nanopy against pynng on the same transport.

Usage (from the repository root)::

    python bench/secure.py                      # 64 B and 1 MiB, 5 runs of >= 1 s a cell
    python bench/secure.py --runs 7 --target 2 --transport tls+tcp --size 65536

Each run is two processes, a PAIR receiver that binds and times ``count`` messages and a
PAIR sender that connects, as nanomsg's ``local_thr``/``remote_thr``; nanopy runs through
``nanopy perf`` (which takes the certificates from NANOPY_TLS_* variables), pynng through the
small loops below. The implementations alternate run by run; a calibration run first sizes
``count`` so a run lasts about ``--target`` seconds. The table gives the median and min-max
msgs/s and the nanopy/pynng ratio of medians. Certificates are made for the run
(tests/tls_certs.py), for ``localhost``, and verified by the client.

``bench/run.py`` can call ``run_cells()`` to add these cells to its report.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
TRANSPORTS = ("ws", "tls+tcp", "wss")
SIZES = (64, 1 << 20)
IMPLS = ("nanopy", "pynng")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_certs(directory: Path) -> Dict[str, str]:
    sys.path.insert(0, str(REPO / "tests"))
    from tls_certs import make_pki

    pki = make_pki(directory)
    return {"NANOPY_TLS_CERT": pki.server_cert, "NANOPY_TLS_KEY": pki.server_key,
            "NANOPY_TLS_CA": pki.ca}


def url_for(transport: str) -> str:
    port = free_port()
    return {"ws": f"ws://127.0.0.1:{port}/bench", "tls+tcp": f"tls+tcp://localhost:{port}",
            "wss": f"wss://localhost:{port}/bench"}[transport]


# ---- the pynng side (run in a subprocess: python bench/secure.py _pynng ROLE URL SIZE N) ----


def pynng_side(role: str, url: str, size: int, count: int) -> None:
    import pynng

    tls = None
    if url.startswith(("tls+tcp", "wss")):
        env = os.environ
        if role == "recv":
            tls = pynng.TLSConfig(pynng.TLSConfig.MODE_SERVER,
                                  own_cert_string=Path(env["NANOPY_TLS_CERT"]).read_text(),
                                  own_key_string=Path(env["NANOPY_TLS_KEY"]).read_text())
        else:
            tls = pynng.TLSConfig(pynng.TLSConfig.MODE_CLIENT, server_name="localhost",
                                  ca_string=Path(env["NANOPY_TLS_CA"]).read_text())
    kwargs = {"tls_config": tls} if tls is not None else {}
    with pynng.Pair0(recv_max_size=0, **kwargs) as s:
        if role == "recv":
            s.listen(url)
            s.recv()
            start = time.perf_counter()
            for _ in range(count):
                s.recv()
            elapsed = time.perf_counter() - start
            s.send(b"done")  # NNG has no linger: the sender waits for this before closing
            print(f"elapsed {elapsed:.6f}")
        else:
            s.dial(url, block=False)  # retries until the receiver listens
            payload = b"o" * size
            s.send(payload)
            for _ in range(count):
                s.send(payload)
            s.recv()


def nanopy_recv_script(url: str, size: int, count: int) -> List[str]:
    code = (
        "import time, nanopy\n"
        "from nanopy.perf import _bind\n"
        "s = nanopy.nn_socket(nanopy.AF_SP, nanopy.NN_PAIR)\n"
        "nanopy.nn_setsockopt(s, nanopy.NN_SOL_SOCKET, nanopy.NN_RCVMAXSIZE, -1)\n"
        f"_bind(nanopy, s, {url!r})\n"
        "nanopy.nn_recv(s)\n"
        "t = time.perf_counter()\n"
        f"for _ in range({count}):\n"
        "    nanopy.nn_recv(s)\n"
        "e = time.perf_counter() - t\n"
        "nanopy.nn_send(s, b'done')\n"
        "print(f'elapsed {e:.6f}')\n"
        "nanopy.nn_close(s)\n"
    )
    return [sys.executable, "-c", code]


def nanopy_send_script(url: str, size: int, count: int) -> List[str]:
    code = (
        "import time, nanopy\n"
        "from nanopy.perf import _connect\n"
        "s = nanopy.nn_socket(nanopy.AF_SP, nanopy.NN_PAIR)\n"
        "nanopy.nn_setsockopt(s, nanopy.NN_SOL_SOCKET, nanopy.NN_LINGER, 5000)\n"
        f"_connect(nanopy, s, {url!r})\n"
        f"p = b'o' * {size}\n"
        f"for _ in range({count} + 1):\n"
        "    nanopy.nn_send(s, p)\n"
        "nanopy.nn_recv(s)\n"
        "nanopy.nn_close(s)\n"
    )
    return [sys.executable, "-c", code]


def one_run(impl: str, transport: str, size: int, count: int, env: Dict[str, str],
            timeout: float = 300.0) -> float:
    """Messages per second of one run."""
    url = url_for(transport)
    if impl == "nanopy":
        recv_argv, send_argv = (nanopy_recv_script(url, size, count),
                                nanopy_send_script(url, size, count))
    else:
        me = [sys.executable, str(Path(__file__).resolve()), "_pynng"]
        recv_argv = me + ["recv", url, str(size), str(count)]
        send_argv = me + ["send", url, str(size), str(count)]
    receiver = subprocess.Popen(recv_argv, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
    time.sleep(0.3)
    sender = subprocess.Popen(send_argv, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)
    try:
        out, err = receiver.communicate(timeout=timeout)
        sender.wait(timeout=30)
    finally:
        for p in (receiver, sender):
            if p.poll() is None:
                p.kill()
                p.wait()
    if receiver.returncode != 0 or "elapsed" not in out:
        raise RuntimeError(f"{impl} {transport} {size}: receiver failed: {err[-500:]}")
    return count / float(out.split()[-1])


def one_run_retrying(impl: str, transport: str, size: int, count: int,
                     env: Dict[str, str], attempts: int = 3) -> float:
    """one_run, tried again when a run fails (pynng's NNG sometimes panics in its wss code
    when a socket closes; a failed run says nothing about speed)."""
    for attempt in range(attempts):
        try:
            return one_run(impl, transport, size, count, env)
        except RuntimeError as exc:
            print(f"retrying after: {str(exc)[:200]}", file=sys.stderr)
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


def run_cells(transports: Sequence[str] = TRANSPORTS, sizes: Sequence[int] = SIZES,
              runs: int = 5, target: float = 1.0) -> Dict[Tuple[str, int, str], List[float]]:
    """Every (transport, size, implementation) cell: the msgs/s of each run."""
    env = dict(os.environ)
    src = str(REPO / "src")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH", "")) if p)
    env.update(make_certs(Path(tempfile.mkdtemp(prefix="nanopy-bench-pki-"))))
    results: Dict[Tuple[str, int, str], List[float]] = {}
    for transport in transports:
        for size in sizes:
            counts = {}
            for impl in IMPLS:
                probe = 2000 if size < 4096 else 50
                rate = one_run_retrying(impl, transport, size, probe, env)
                counts[impl] = max(probe, int(rate * target))
            for _ in range(runs):
                for impl in IMPLS:
                    value = one_run_retrying(impl, transport, size, counts[impl], env)
                    results.setdefault((transport, size, impl), []).append(value)
                    print(f"{transport} {size} {impl}: {value:,.0f} msgs/s", file=sys.stderr)
    return results


def render(results: Dict[Tuple[str, int, str], List[float]]) -> str:
    lines = ["| transport | size | nanopy msgs/s (min-max) | pynng msgs/s (min-max) | ratio |",
             "|---|---|---|---|---|"]
    keys = sorted({(t, s) for t, s, _ in results}, key=lambda k: (TRANSPORTS.index(k[0]), k[1]))
    for transport, size in keys:
        cells = []
        medians = []
        for impl in IMPLS:
            values = results[(transport, size, impl)]
            med = statistics.median(values)
            medians.append(med)
            cells.append(f"{med:,.0f} ({min(values):,.0f}-{max(values):,.0f})")
        ratio = medians[0] / medians[1] if medians[1] else float("nan")
        label = "64 B" if size == 64 else ("1 MiB" if size == 1 << 20 else f"{size} B")
        lines.append(f"| {transport} | {label} | {cells[0]} | {cells[1]} | {ratio:.2f}x |")
    return "\n".join(lines)


def main(argv: Sequence[str] = ()) -> int:
    args = list(argv) or sys.argv[1:]
    if args and args[0] == "_pynng":
        pynng_side(args[1], args[2], int(args[3]), int(args[4]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--target", type=float, default=1.0, help="seconds per run")
    parser.add_argument("--transport", action="append", choices=TRANSPORTS)
    parser.add_argument("--size", action="append", type=int)
    opts = parser.parse_args(args)
    results = run_cells(opts.transport or TRANSPORTS, opts.size or SIZES, opts.runs,
                        opts.target)
    print(render(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
