"""Side-by-side throughput of ``nanopy.Socket.send/recv`` and ``nn_send/nn_recv``.

Both sides of a PAIR move ``--count`` messages of ``--size`` bytes through the same API;
the receiver times from the first message to the last. inproc runs the sender in a thread
of this process; ipc and tcp run it in a child process, as nanomsg's perf tools do.
The two APIs alternate run by run (``--runs`` each), so a noisy machine hurts both alike.

    python bench/socket_vs_nn.py [--transports inproc,ipc,tcp] [--runs 5] [--count 1000000]

Prints msg/s per run, then per transport the median, min and max of each API and the ratio
of the medians (Socket / nn_*).
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any, Callable, Dict, List, Tuple

import nanopy


def _open(api: str, address: str, bind: bool) -> Any:
    """One PAIR socket: a nanopy.Socket for ``socket``, an nn_* id for ``nn``."""
    if api == "socket":
        sock = nanopy.Socket(nanopy.PAIR, recv_max_size=-1, linger=5000)
        (sock.bind if bind else sock.connect)(address)
        return sock
    s = nanopy.nn_socket(nanopy.AF_SP, nanopy.NN_PAIR)
    nanopy.nn_setsockopt(s, nanopy.NN_SOL_SOCKET, nanopy.NN_RCVMAXSIZE, -1)
    nanopy.nn_setsockopt(s, nanopy.NN_SOL_SOCKET, nanopy.NN_LINGER, 5000)
    (nanopy.nn_bind if bind else nanopy.nn_connect)(s, address)
    return s


def _close(sock: Any) -> None:
    if isinstance(sock, int):
        nanopy.nn_close(sock)
    else:
        sock.close()


def send_side(api: str, address: str, size: int, count: int) -> None:
    """Connect, send one start message and ``count`` messages, then wait for the ack.
    The loops call each API the way user code does (no wrapper in between)."""
    sock = _open(api, address, bind=False)
    payload = b"o" * size
    if api == "socket":
        sock.send(b"")
        for _ in range(count):
            sock.send(payload)
        sock.recv()
    else:
        nn_send = nanopy.nn_send
        nn_send(sock, b"")
        for _ in range(count):
            nn_send(sock, payload)
        nanopy.nn_recv(sock)
    _close(sock)


def receive_side(api: str, address: str, count: int,
                 start_sender: Callable[[], Callable[[], None]]) -> float:
    """Bind, start the sender, time ``count`` messages; returns msg/s."""
    sock = _open(api, address, bind=True)
    wait_sender = start_sender()
    if api == "socket":
        sock.recv()
        t0 = time.perf_counter()
        for _ in range(count):
            sock.recv()
        elapsed = time.perf_counter() - t0
        sock.send(b"done")
    else:
        nn_recv = nanopy.nn_recv
        nn_recv(sock)
        t0 = time.perf_counter()
        for _ in range(count):
            nn_recv(sock)
        elapsed = time.perf_counter() - t0
        nanopy.nn_send(sock, b"done")
    wait_sender()
    _close(sock)
    return count / elapsed


def one_run(api: str, transport: str, size: int, count: int, n: int) -> float:
    if transport == "inproc":
        address = f"inproc://socket-vs-nn-{os.getpid()}-{n}"
    elif transport == "ipc":
        address = f"ipc://{tempfile.gettempdir()}/socket-vs-nn-{os.getpid()}-{n}.ipc"
    else:
        with socket.socket() as probe:  # a port nobody holds right now
            probe.bind(("127.0.0.1", 0))
            address = f"tcp://127.0.0.1:{probe.getsockname()[1]}"

    def start_sender() -> Callable[[], None]:
        if transport == "inproc":
            t = threading.Thread(target=send_side, args=(api, address, size, count))
            t.start()
            return t.join
        cmd = [sys.executable, __file__, "--send", api, address, str(size), str(count)]
        proc = subprocess.Popen(cmd)
        return lambda: (proc.wait(), None)[1]

    return receive_side(api, address, count, start_sender)


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--send":
        api, address, size, count = sys.argv[2:6]
        send_side(api, address, int(size), int(count))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transports", default="inproc,ipc,tcp")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--size", type=int, default=64)
    args = parser.parse_args()
    results: Dict[Tuple[str, str], List[float]] = {}
    n = 0
    for transport in args.transports.split(","):
        for run in range(args.runs):
            for api in ("nn", "socket"):
                n += 1
                rate = one_run(api, transport, args.size, args.count, n)
                results.setdefault((transport, api), []).append(rate)
                print(f"{transport:6} run {run + 1} {api:6} {rate / 1e3:8.0f}k msg/s", flush=True)
    print()
    print("transport  nn_* median [min-max]        Socket median [min-max]      Socket/nn_*")
    for transport in args.transports.split(","):
        cells = []
        for api in ("nn", "socket"):
            r = results[(transport, api)]
            cells.append((statistics.median(r), min(r), max(r)))
        (nm, nlo, nhi), (sm, slo, shi) = cells
        print(f"{transport:9}  {nm / 1e3:6.0f}k [{nlo / 1e3:.0f}-{nhi / 1e3:.0f}k]"
              f"{'':8}{sm / 1e3:6.0f}k [{slo / 1e3:.0f}-{shi / 1e3:.0f}k]"
              f"{'':8}{sm / nm:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
