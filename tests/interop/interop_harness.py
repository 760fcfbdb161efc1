"""Plumbing for the interop tests: peer subprocesses, addresses, the matrix and its checks.

Nothing here imports nanopy, so the same code can run two native peers against each other
(which is how the peers themselves are validated) or a native peer against nanopy.
"""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from .peers.peer_common import DEFAULT_SIZES, answer_for, describe, make_payload

INTEROP_DIR = Path(__file__).resolve().parent
PEERS_DIR = INTEROP_DIR / "peers"
HELPERS_DIR = INTEROP_DIR / "helpers"

PEER_SCRIPTS = {
    "nanomsg": PEERS_DIR / "nanomsg_peer.py",
    "nng": PEERS_DIR / "nng_peer.py",
}
NATIVE_PEERS = tuple(PEER_SCRIPTS)
TRANSPORTS = ("tcp", "ipc")
BIND_SIDES = ("nanopy_binds", "nanopy_connects")

# Every blocking call in a test gives up after this long, well inside the per-test timeout.
IO_TIMEOUT_MS = 10000
STARTUP_TIMEOUT_S = 20.0

MESSAGE_SIZES = DEFAULT_SIZES


@dataclass(frozen=True)
class Role:
    """One role assignment of a protocol pair: what the side under test and its peer do.

    ``local`` is the side under test (nanopy in the tests), ``remote`` the native peer. The
    actions are those of ``peer_common``: serve, ask, send, recv.
    """

    id: str
    local_proto: str
    local_action: str
    remote_proto: str
    remote_action: str


PROTOCOL_PAIRS: Dict[str, Sequence[Role]] = {
    "pair": (
        Role("nanopy_asks", "pair", "ask", "pair", "serve"),
        Role("nanopy_answers", "pair", "serve", "pair", "ask"),
    ),
    "pubsub": (
        Role("nanopy_is_pub", "pub", "send", "sub", "recv"),
        Role("nanopy_is_sub", "sub", "recv", "pub", "send"),
    ),
    "reqrep": (
        Role("nanopy_is_req", "req", "ask", "rep", "serve"),
        Role("nanopy_is_rep", "rep", "serve", "req", "ask"),
    ),
    "pipeline": (
        Role("nanopy_is_push", "push", "send", "pull", "recv"),
        Role("nanopy_is_pull", "pull", "recv", "push", "send"),
    ),
    "survey": (
        Role("nanopy_is_surveyor", "surveyor", "ask", "respondent", "serve"),
        Role("nanopy_is_respondent", "respondent", "serve", "surveyor", "ask"),
    ),
    "bus": (
        Role("nanopy_asks", "bus", "ask", "bus", "serve"),
        Role("nanopy_answers", "bus", "serve", "bus", "ask"),
    ),
}

MATRIX_DIMENSIONS = (
    ("native peer", len(NATIVE_PEERS)),
    ("transport", len(TRANSPORTS)),
    ("bind side", len(BIND_SIDES)),
    ("role", 2),
)


def matrix_size_per_protocol() -> int:
    """Number of cases one protocol pair contributes to the matrix."""
    size = 1
    for _, count in MATRIX_DIMENSIONS:
        size *= count
    return size


def matrix_size() -> int:
    """Total number of protocol-matrix cases (every pair, role, transport, side and peer)."""
    return len(PROTOCOL_PAIRS) * matrix_size_per_protocol()


def free_tcp_port() -> int:
    """A TCP port on 127.0.0.1 for a native peer that binds (nanomsg cannot bind port 0):
    conftest's unclaimed port, outside the kernel's ephemeral range. When nanopy binds, it
    binds port 0 in place instead (NanopySockets.bind)."""
    from conftest import unclaimed_tcp_port

    return unclaimed_tcp_port()


class AddressBook:
    """Hands out fresh addresses: free TCP ports, or IPC paths inside one short directory."""

    def __init__(self, ipc_dir: Path) -> None:
        self.ipc_dir = ipc_dir
        self.counter = 0

    def url(self, transport: str) -> str:
        """Return a new, unused URL for ``transport`` (``tcp`` or ``ipc``)."""
        self.counter += 1
        if transport == "tcp":
            return f"tcp://127.0.0.1:{free_tcp_port()}"
        if transport == "ipc":
            url = f"ipc://{self.ipc_dir}/{self.counter}.ipc"
            assert len(url) < 100, f"IPC path too long for sun_path: {url}"
            return url
        raise ValueError(f"unknown transport {transport}")


class PeerFailed(AssertionError):
    """A peer subprocess exited badly or did not say what was expected in time."""


class PeerProcess:
    """A running peer script, with its stdout lines collected by a background thread."""

    def __init__(self, name: str, argv: List[str], env: Optional[Dict[str, str]] = None) -> None:
        self.name = name
        self.argv = argv
        self.process = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        self.stdout_lines: List[str] = []
        self.stderr_text: List[str] = []
        self.line_queue: queue.Queue = queue.Queue()
        threading.Thread(target=self._pump_stdout, daemon=True).start()
        threading.Thread(target=self._pump_stderr, daemon=True).start()

    def _pump_stdout(self) -> None:
        """Collect stdout lines (runs in a daemon thread)."""
        for line in self.process.stdout:
            line = line.rstrip("\n")
            self.stdout_lines.append(line)
            self.line_queue.put(line)
        self.line_queue.put(None)

    def _pump_stderr(self) -> None:
        """Collect stderr (runs in a daemon thread)."""
        for line in self.process.stderr:
            self.stderr_text.append(line)

    def command_line(self) -> str:
        """The peer's command line, for reproducing a failure by hand."""
        return " ".join(self.argv)

    def failure(self, what: str) -> PeerFailed:
        """Build an error that says what went wrong and shows the peer's output."""
        return PeerFailed(
            f"peer {self.name}: {what}\n  command: {self.command_line()}\n"
            f"  exit status: {self.process.poll()}\n"
            f"  stdout: {self.stdout_lines[-20:]}\n  stderr: {''.join(self.stderr_text)[-3000:]}"
        )

    def wait_for_line(self, word: str, timeout_s: float = STARTUP_TIMEOUT_S) -> str:
        """Block until the peer prints a line starting with ``word``, and return it."""
        deadline = time.monotonic() + timeout_s
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise self.failure(f"no {word} line within {timeout_s} s")
            try:
                line = self.line_queue.get(timeout=remaining)
            except queue.Empty:
                continue
            if line is None:
                self.process.wait(timeout=5)
                raise self.failure(f"exited before printing {word}")
            if line.split(" ", 1)[0] == word:
                return line

    def wait_ready(self) -> None:
        """Block until the peer has bound/connected its socket."""
        self.wait_for_line("READY")

    def finish(self, timeout_s: float = 30.0) -> List[str]:
        """Wait for DONE, let the peer close (stdin EOF) and exit 0; return its stdout lines."""
        if "DONE" not in self.stdout_lines:
            self.wait_for_line("DONE", timeout_s)
        self.process.stdin.close()
        try:
            status = self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired as exc:
            raise self.failure("did not exit after stdin was closed") from exc
        if status != 0:
            raise self.failure(f"exited with status {status}")
        return list(self.stdout_lines)

    def kill(self) -> None:
        """Kill the peer if it still runs and reap it (idempotent)."""
        if self.process.poll() is None:
            self.process.kill()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
            try:
                stream.close()
            except OSError:
                pass


def peer_argv(backend: str, proto: str, action: str, *, bind: Sequence[str] = (),
              connect: Sequence[str] = (), extra: Sequence[str] = ()) -> List[str]:
    """Build the command line that starts a native peer script."""
    argv = [sys.executable, str(PEER_SCRIPTS[backend]), "--proto", proto, "--action", action]
    argv += ["--timeout-ms", str(IO_TIMEOUT_MS)]
    for url in bind:
        argv += ["--bind", url]
    for url in connect:
        argv += ["--connect", url]
    return argv + list(extra)


def check_backend(backend: str) -> Optional[str]:
    """Return None if the native backend loads, else the reason it does not."""
    result = subprocess.run(
        [sys.executable, str(PEER_SCRIPTS[backend]), "--check"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if result.returncode == 0:
        return None
    return (result.stdout + result.stderr).strip() or f"exit status {result.returncode}"


def payloads(sizes: Sequence[int] = MESSAGE_SIZES, tag: str = "") -> List[bytes]:
    """The messages the asking or sending side (given ``--tag tag``) sends, in order."""
    return [make_payload(index, size, tag) for index, size in enumerate(sizes)]


def expected_receipts(role: Role, sizes: Sequence[int] = MESSAGE_SIZES):
    """Return ``(what the local side must receive, what the remote side must receive)``.

    Each is a list of messages in order, or None when that side receives nothing.
    """
    sent = payloads(sizes)
    answers = [answer_for(message) for message in sent]
    if role.local_action == "ask":
        return answers, sent
    if role.local_action == "serve":
        return sent, answers
    if role.local_action == "send":
        return None, sent
    return sent, None


def received_descriptions(lines: Sequence[str]) -> List[str]:
    """Extract the ``describe()`` part of every ``RECV <index> ...`` line, in order."""
    return [line.split(" ", 2)[2] for line in lines if line.startswith("RECV ")]


def first_difference(expected: bytes, got: bytes) -> str:
    """Say where two byte strings first differ, showing a few bytes of each around it."""
    limit = min(len(expected), len(got))
    offset = next((i for i in range(limit) if expected[i] != got[i]), limit)
    start, end = max(0, offset - 8), offset + 8
    return (
        f"first difference at offset {offset}: expected[{start}:{end}]="
        f"{expected[start:end].hex()} got[{start}:{end}]={got[start:end].hex()}"
    )


def assert_messages(who: str, expected: Sequence[bytes], got: Sequence[bytes]) -> None:
    """Assert that ``got`` equals ``expected`` byte for byte, explaining the first mismatch."""
    for index, (want, have) in enumerate(zip(expected, got)):
        if want != have:
            raise AssertionError(
                f"{who}: message #{index} differs: expected {describe(want)}, "
                f"got {describe(have)}; {first_difference(want, have)}"
            )
    if len(got) != len(expected):
        raise AssertionError(f"{who}: expected {len(expected)} messages, got {len(got)}")


def assert_described(who: str, expected: Sequence[bytes], lines: Sequence[str]) -> None:
    """Assert that a peer's RECV lines describe exactly ``expected``, in order."""
    got = received_descriptions(lines)
    for index, (want, have) in enumerate(zip(expected, got)):
        if describe(want) != have:
            raise AssertionError(
                f"{who}: message #{index} differs: expected {describe(want)}, got {have}"
            )
    if len(got) != len(expected):
        raise AssertionError(f"{who}: expected {len(expected)} messages, got {len(got)}")


def short_tmp_dir() -> str:
    """Return a new private directory with a short path, for IPC socket files."""
    base = "/tmp" if os.path.isdir("/tmp") else None
    return tempfile.mkdtemp(prefix="npi-", dir=base)
