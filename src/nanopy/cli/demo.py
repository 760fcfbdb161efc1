"""``nanopy demo``: a one-minute tour that proves the installation works.

For each transport (inproc, ipc in a temporary directory, tcp on a free 127.0.0.1 port) it
runs three small exchanges through the nn_* API (PAIR, REQ/REP and PUB/SUB) and prints one
line per exchange with the round-trip time. Every socket has send and receive timeouts, so a
broken build fails with a message instead of hanging.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import tempfile
import time
from contextlib import contextmanager
from typing import IO, Any, Callable, Iterator, List, Sequence, Tuple

__all__ = ["main", "run_demo", "TRANSPORTS"]

TRANSPORTS: Tuple[str, ...] = ("inproc", "ipc", "tcp")

#: One exchange: (label, function(nn, address_factory, timeout_ms) -> (detail, elapsed_ms)).
_Exchange = Tuple[str, Callable[..., Tuple[str, float]]]


def _free_tcp_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class _Addresses:
    """Hands out a fresh address of one transport for each exchange."""

    def __init__(self, transport: str, directory: str) -> None:
        self.transport = transport
        self.directory = directory
        self.counter = 0

    def next(self, name: str) -> str:
        self.counter += 1
        if self.transport == "inproc":
            return f"inproc://nanopy-demo-{os.getpid()}-{name}-{self.counter}"
        if self.transport == "ipc":
            return f"ipc://{os.path.join(self.directory, f'{name}-{self.counter}.ipc')}"
        return f"tcp://127.0.0.1:{_free_tcp_port()}"


@contextmanager
def _sockets(nn: Any, timeout_ms: int, *protocols: int) -> Iterator[List[int]]:
    """Open sockets with send/receive timeouts and no linger; close them all afterwards."""
    opened: List[int] = []
    try:
        for protocol in protocols:
            sock = nn.nn_socket(nn.AF_SP, protocol)
            opened.append(sock)
            nn.nn_setsockopt(sock, nn.NN_SOL_SOCKET, nn.NN_RCVTIMEO, timeout_ms)
            nn.nn_setsockopt(sock, nn.NN_SOL_SOCKET, nn.NN_SNDTIMEO, timeout_ms)
            nn.nn_setsockopt(sock, nn.NN_SOL_SOCKET, nn.NN_LINGER, 0)
        yield opened
    finally:
        for sock in opened:
            try:
                nn.nn_close(sock)
            except nn.NNError:
                pass


def _bind(nn: Any, sock: int, addresses: _Addresses, name: str) -> str:
    """Bind to a fresh address; retry a few times if a tcp port was taken meanwhile."""
    for _attempt in range(5):
        address = addresses.next(name)
        try:
            nn.nn_bind(sock, address)
            return address
        except nn.NNError as exc:
            if exc.errno != nn.EADDRINUSE or addresses.transport != "tcp":
                raise
    raise RuntimeError("no free tcp port found on 127.0.0.1")


def _expect(what: str, got: bytes, wanted: bytes) -> None:
    if got != wanted:
        raise RuntimeError(f"{what}: expected {wanted!r}, got {got!r}")


def _pair(nn: Any, addresses: _Addresses, timeout_ms: int) -> Tuple[str, float]:
    with _sockets(nn, timeout_ms, nn.NN_PAIR, nn.NN_PAIR) as (left, right):
        nn.nn_connect(right, _bind(nn, left, addresses, "pair"))
        started = time.perf_counter()
        nn.nn_send(right, b"hello")
        got = nn.nn_recv(left)
        elapsed = time.perf_counter() - started
        _expect("PAIR", got, b"hello")
        return f"sent b'hello' -> received {got!r}", elapsed * 1000


def _reqrep(nn: Any, addresses: _Addresses, timeout_ms: int) -> Tuple[str, float]:
    with _sockets(nn, timeout_ms, nn.NN_REP, nn.NN_REQ) as (rep, req):
        nn.nn_connect(req, _bind(nn, rep, addresses, "reqrep"))
        started = time.perf_counter()
        nn.nn_send(req, b"ping")
        request = nn.nn_recv(rep)
        _expect("REP received", request, b"ping")
        nn.nn_send(rep, b"pong")
        reply = nn.nn_recv(req)
        elapsed = time.perf_counter() - started
        _expect("REQ received", reply, b"pong")
        return f"request {request!r} -> reply {reply!r}", elapsed * 1000


def _pubsub(nn: Any, addresses: _Addresses, timeout_ms: int) -> Tuple[str, float]:
    topic, wanted, unwanted = b"news.", b"news.hello", b"weather.rain"
    with _sockets(nn, timeout_ms, nn.NN_PUB, nn.NN_SUB) as (pub, sub):
        nn.nn_setsockopt(sub, nn.NN_SUB, nn.NN_SUB_SUBSCRIBE, topic)
        nn.nn_connect(sub, _bind(nn, pub, addresses, "pubsub"))
        # PUB drops messages until the subscriber has joined: publish until one arrives.
        nn.nn_setsockopt(sub, nn.NN_SOL_SOCKET, nn.NN_RCVTIMEO, 50)
        deadline = time.monotonic() + timeout_ms / 1000.0
        attempts = 0
        while True:
            attempts += 1
            started = time.perf_counter()
            nn.nn_send(pub, unwanted)
            nn.nn_send(pub, wanted)
            try:
                got = nn.nn_recv(sub)
            except nn.NNError as exc:
                if exc.errno != nn.ETIMEDOUT or time.monotonic() > deadline:
                    raise
                continue
            elapsed = time.perf_counter() - started
            break
        _expect(f"SUB subscribed to {topic!r}", got, wanted)
        tries = "1 attempt" if attempts == 1 else f"{attempts} attempts"
        return (
            f"published {unwanted!r} and {wanted!r} -> SUB({topic!r}) got {got!r} "
            f"[{tries}]",
            elapsed * 1000,
        )


_EXCHANGES: Tuple[_Exchange, ...] = (
    ("PAIR", _pair),
    ("REQ/REP", _reqrep),
    ("PUB/SUB", _pubsub),
)


def run_demo(transports: Sequence[str] = TRANSPORTS, timeout_ms: int = 2000,
             out: IO[str] | None = None) -> int:
    """Run every exchange over every transport and print one line each.

    Returns
    -------
    int
        The number of exchanges that failed (0 means everything worked).
    """
    import nanopy as nn

    out = out if out is not None else sys.stdout
    failures = 0
    total = 0
    with tempfile.TemporaryDirectory(prefix="nanopy-demo-") as directory:
        for transport in transports:
            addresses = _Addresses(transport, directory)
            for label, exchange in _EXCHANGES:
                total += 1
                try:
                    detail, elapsed_ms = exchange(nn, addresses, timeout_ms)
                except (nn.NNError, RuntimeError) as exc:
                    failures += 1
                    reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
                    out.write(f"{transport:<7} {label:<8} FAILED: {reason}\n")
                else:
                    out.write(f"{transport:<7} {label:<8} {detail} ({elapsed_ms:.2f} ms)\n")
                out.flush()
    if failures:
        out.write(f"{failures} of {total} exchanges failed\n")
    else:
        out.write(f"all {total} exchanges succeeded\n")
    out.flush()
    return failures


def main(argv: Sequence[str] | None = None, prog: str = "nanopy demo") -> int:
    """Entry point of ``nanopy demo``; returns 0 when every exchange worked, 1 otherwise."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Send a few messages with PAIR, REQ/REP and PUB/SUB over inproc, ipc "
        "and tcp, and show what arrived and how long it took.",
    )
    parser.add_argument(
        "--transport", "-t", action="append", choices=TRANSPORTS, dest="transports",
        help="run only this transport (repeatable; default: all)",
    )
    parser.add_argument(
        "--timeout", type=float, default=2.0, metavar="SEC",
        help="send/receive timeout of every socket (default: %(default)s)",
    )
    try:
        options = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 0
    if options.timeout <= 0:
        parser.print_usage(sys.stderr)
        sys.stderr.write(f"{prog}: error: --timeout must be positive\n")
        return 2
    try:
        failures = run_demo(options.transports or TRANSPORTS, int(options.timeout * 1000))
    except KeyboardInterrupt:
        return 130
    return 1 if failures else 0
