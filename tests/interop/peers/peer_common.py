"""Command line, payloads and actions shared by the native interop peers.

The peers are small standalone programs that the interop tests start as subprocesses. Each one
drives a *native* SP implementation (libnanomsg through ctypes, or NNG through pynng) and never
imports nanopy, so that a failing interop case points at nanopy and not at the peer.

A backend module supplies one function, ``open_socket(options) -> PeerSocket``, and calls
:func:`main`. Everything else (argument parsing, the actions, the output format) lives here so
both peers behave identically.

Command line (both peers)::

    <peer>.py --proto PROTO (--bind URL | --connect URL)... --action ACTION
              [--sizes 0,1,7,1000,1048576] [--count N] [--timeout-ms MS]
              [--rcvmaxsize BYTES] [--resend-ivl-ms MS] [--lifetime-s S] [--await-peer]
              [--tag TEXT] [--delay-ms MS]
    <peer>.py --check

``PROTO`` is one of pair, pub, sub, req, rep, push, pull, surveyor, respondent, bus.

Actions:

``serve``
    receive ``--count`` messages (default: as many as ``--sizes`` lists); answer each one with
    :func:`answer_for` of it (REP, RESPONDENT, PAIR, BUS), after ``--delay-ms``.
``ask``
    for each size, send :func:`make_payload` and receive one answer (REQ, SURVEYOR, PAIR, BUS).
``send``
    send :func:`make_payload` for each size, no answer expected (PUSH, PUB, PAIR, BUS).
``recv``
    receive ``--count`` messages (PULL, SUB, PAIR, BUS).
``never-answer``
    receive and report requests or surveys but never reply, until killed or ``--lifetime-s``
    runs out (REP, RESPONDENT).

Output, one line each, on stdout:

``READY``
    the socket is bound or connected (and subscribed to everything, for SUB); with
    ``--await-peer``, only once a connection to a peer is established;
``RECV <index> <size> <sha256> <hex of the first bytes>``
    one received message;
``SENT <index> <size>``
    one sent message;
``DONE``
    the action completed. The peer then keeps its socket open until its standard input is
    closed (native nanomsg drops messages still queued at close time, whatever NN_LINGER says),
    so the test closes stdin once it has what it needs.

Errors go to stderr as one ``ERROR ...`` line and the exit status is non-zero.
``--check`` only loads the native library and prints ``OK <description>`` (exit 0), or an
``UNAVAILABLE <reason>`` line (exit 2).
"""

from __future__ import annotations

import argparse
import hashlib
import random
import select
import sys
import time
from typing import Callable, List, Protocol

PROTOCOLS = (
    "pair",
    "pub",
    "sub",
    "req",
    "rep",
    "push",
    "pull",
    "surveyor",
    "respondent",
    "bus",
)

# Sockets that broadcast: a message sent while no peer is attached is silently lost, so
# senders of these types first wait until a connection exists.
BROADCASTING_PROTOCOLS = frozenset({"pub", "bus", "surveyor"})

ACTIONS = ("serve", "ask", "send", "recv", "never-answer")

DEFAULT_SIZES = (0, 1, 7, 1000, 1 << 20)

# Pause between two messages of a broadcasting sender. nanomsg keeps at most one message in
# flight per connection and drops the next one if the previous write has not finished.
BROADCAST_PACING_S = 0.05

HEX_PREFIX_BYTES = 32
EXIT_UNAVAILABLE = 2
EXIT_FAILED = 3


class PeerError(Exception):
    """A native call failed; ``timed_out`` tells a timeout from any other error."""

    def __init__(self, message: str, timed_out: bool = False) -> None:
        super().__init__(message)
        self.timed_out = timed_out


class BackendUnavailable(Exception):
    """The native library (or Python binding) could not be loaded."""


class PeerSocket(Protocol):
    """What an action needs from a native socket; each backend implements it."""

    def send(self, data: bytes) -> None:
        """Send one message, honouring the send timeout."""

    def recv(self) -> bytes:
        """Receive one message, honouring the receive timeout."""

    def connections(self) -> int:
        """Number of connections (pipes) currently attached to the socket."""

    def close(self) -> None:
        """Close the socket."""


def make_payload(index: int, size: int, tag: str = "") -> bytes:
    """Return the deterministic message number ``index`` of ``size`` bytes.

    The bytes are pseudo-random (seeded by index, size and ``tag``) so that a header byte
    leaking into the body, a truncation or a swap of two messages all change the digest.
    Peers given different tags send different messages, so a misrouted reply shows.
    """
    return random.Random(f"nanopy-interop/{tag}/{index}/{size}").randbytes(size)


def answer_for(request: bytes) -> bytes:
    """Return the answer a ``serve`` peer sends for ``request``: its bytes reversed.

    Same size as the request, but different, so an answer can't be mistaken for an echo of the
    request by a confused socket.
    """
    return request[::-1]


def describe(data: bytes) -> str:
    """Return ``"<size> <sha256> <hex prefix>"`` for one message (``-`` for an empty prefix)."""
    prefix = data[:HEX_PREFIX_BYTES].hex() or "-"
    return f"{len(data)} {hashlib.sha256(data).hexdigest()} {prefix}"


def parse_sizes(text: str) -> List[int]:
    """Parse a comma-separated list of message sizes, e.g. ``0,1,1048576``."""
    sizes = [int(part) for part in text.split(",") if part.strip()]
    if any(size < 0 for size in sizes):
        raise argparse.ArgumentTypeError("sizes must be >= 0")
    return sizes


def build_parser(backend_name: str) -> argparse.ArgumentParser:
    """Return the argument parser shared by every peer backend."""
    parser = argparse.ArgumentParser(
        description=f"Interop test peer driving native {backend_name}.",
    )
    parser.add_argument("--check", action="store_true", help="only check the backend loads")
    parser.add_argument("--proto", choices=PROTOCOLS)
    parser.add_argument("--bind", action="append", default=[], metavar="URL")
    parser.add_argument("--connect", action="append", default=[], metavar="URL")
    parser.add_argument("--action", choices=ACTIONS)
    parser.add_argument("--sizes", type=parse_sizes, default=list(DEFAULT_SIZES))
    parser.add_argument("--count", type=int, default=None, help="messages to receive")
    parser.add_argument("--timeout-ms", type=int, default=10000, help="send/recv timeout")
    parser.add_argument(
        "--rcvmaxsize", type=int, default=-1, help="largest message accepted, -1 = unlimited"
    )
    parser.add_argument("--resend-ivl-ms", type=int, default=None, help="REQ resend interval")
    parser.add_argument(
        "--lifetime-s", type=float, default=60.0, help="upper bound on the peer's life"
    )
    parser.add_argument(
        "--delay-ms", type=int, default=0, help="serve: wait this long before each answer"
    )
    parser.add_argument("--tag", default="", help="varies the payloads (see make_payload)")
    parser.add_argument("--tls-cert", default=None, help="PEM certificate to present (TLS)")
    parser.add_argument("--tls-key", default=None, help="PEM key of --tls-cert (TLS)")
    parser.add_argument("--tls-ca", default=None,
                        help="PEM CA to verify the peer with (TLS); a listener then requires "
                        "client certificates")
    parser.add_argument(
        "--await-peer", action="store_true", help="say READY only once a peer is connected"
    )
    return parser


def validate(parser: argparse.ArgumentParser, options: argparse.Namespace) -> None:
    """Reject command lines that name no protocol, action or endpoint."""
    if options.check:
        return
    if options.proto is None or options.action is None:
        parser.error("--proto and --action are required")
    if not options.bind and not options.connect:
        parser.error("at least one --bind or --connect is required")
    if options.count is None:
        options.count = len(options.sizes)


def emit(line: str) -> None:
    """Write one line to stdout and flush it, so the test sees it at once."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def wait_for_connection(sock: PeerSocket, timeout_s: float) -> None:
    """Block until ``sock`` has at least one connection, or raise PeerError."""
    deadline = time.monotonic() + timeout_s
    while sock.connections() < 1:
        if time.monotonic() > deadline:
            raise PeerError("no peer connected", timed_out=True)
        time.sleep(0.01)


def action_serve(sock: PeerSocket, options: argparse.Namespace) -> None:
    """Receive ``count`` messages and answer each with :func:`answer_for`."""
    for index in range(options.count):
        request = sock.recv()
        emit(f"RECV {index} {describe(request)}")
        time.sleep(options.delay_ms / 1000)
        sock.send(answer_for(request))
        emit(f"SENT {index} {len(request)}")


def action_ask(sock: PeerSocket, options: argparse.Namespace) -> None:
    """Send one payload per size and receive one answer to each."""
    if options.proto in BROADCASTING_PROTOCOLS:
        wait_for_connection(sock, options.timeout_ms / 1000)
    for index, size in enumerate(options.sizes):
        sock.send(make_payload(index, size, options.tag))
        emit(f"SENT {index} {size}")
        answer = sock.recv()
        emit(f"RECV {index} {describe(answer)}")


def action_send(sock: PeerSocket, options: argparse.Namespace) -> None:
    """Send one payload per size, pacing broadcasts so that none is dropped."""
    broadcasting = options.proto in BROADCASTING_PROTOCOLS
    if broadcasting:
        wait_for_connection(sock, options.timeout_ms / 1000)
    for index, size in enumerate(options.sizes):
        sock.send(make_payload(index, size, options.tag))
        emit(f"SENT {index} {size}")
        if broadcasting:
            time.sleep(BROADCAST_PACING_S)


def action_recv(sock: PeerSocket, options: argparse.Namespace) -> None:
    """Receive ``count`` messages and report each one."""
    for index in range(options.count):
        emit(f"RECV {index} {describe(sock.recv())}")


def action_never_answer(sock: PeerSocket, options: argparse.Namespace) -> None:
    """Report every request or survey received, never reply, until the lifetime ends."""
    deadline = time.monotonic() + options.lifetime_s
    index = 0
    while time.monotonic() < deadline:
        try:
            data = sock.recv()
        except PeerError as exc:
            if exc.timed_out:
                continue
            raise
        emit(f"RECV {index} {describe(data)}")
        index += 1


ACTION_FUNCTIONS = {
    "serve": action_serve,
    "ask": action_ask,
    "send": action_send,
    "recv": action_recv,
    "never-answer": action_never_answer,
}


def wait_for_stdin_eof(lifetime_s: float) -> None:
    """Block until stdin is closed (the test is done with us) or ``lifetime_s`` passes."""
    deadline = time.monotonic() + lifetime_s
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return
        readable, _, _ = select.select([sys.stdin], [], [], remaining)
        if readable and not sys.stdin.buffer.read1(4096):
            return


def main(
    argv: List[str] | None,
    backend_name: str,
    describe_backend: Callable[[], str],
    open_socket: Callable[[argparse.Namespace], PeerSocket],
) -> int:
    """Run one peer: parse ``argv``, open the native socket, run the action, report."""
    parser = build_parser(backend_name)
    options = parser.parse_args(argv)
    validate(parser, options)
    try:
        if options.check:
            emit(f"OK {describe_backend()}")
            return 0
        sock = open_socket(options)
    except BackendUnavailable as exc:
        emit(f"UNAVAILABLE {exc}")
        return EXIT_UNAVAILABLE
    except PeerError as exc:
        sys.stderr.write(f"ERROR setting up {options.proto}: {exc}\n")
        return EXIT_FAILED
    try:
        if options.await_peer:
            wait_for_connection(sock, options.timeout_ms / 1000)
        emit("READY")
        ACTION_FUNCTIONS[options.action](sock, options)
        emit("DONE")
        wait_for_stdin_eof(options.lifetime_s)
    except PeerError as exc:
        sys.stderr.write(f"ERROR during {options.action} on {options.proto}: {exc}\n")
        return EXIT_FAILED
    finally:
        sock.close()
    return 0
