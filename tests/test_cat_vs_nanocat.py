"""``nanopy cat`` against the real ``nanocat`` (nanomsg-utils), byte for byte.

Every exchange runs twice: once with nanocat in both roles (the reference) and once with
``nanopy cat`` in one role and nanocat in the other. What each side prints (stdout), its exit
status and, for failures, its stderr must be identical. tcp and ipc are both covered, with
nanopy binding and connecting. Native nanomsg ignores NN_LINGER and often loses a message
sent just before nn_close() (on ipc about one run in five), so nanocat is never used as a
one-shot PUSH/PUB sender (see send_one); nanopy honours NN_LINGER and is, so it must not lose
anything. Binary payloads (all 256 byte values, escapes, an
empty message, and messages big enough for msgpack's 16- and 32-bit length forms) go through
``--file``.

Without nanocat the module is skipped, except under CI=true where that is a failure.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Dict, Iterator, List, Sequence, Tuple

import pytest
from conftest import skip_or_fail

NANOCAT = shutil.which("nanocat")
SRC = Path(__file__).resolve().parents[1] / "src"
FORMATS = ("raw", "ascii", "quoted", "msgpack", "hex")
TRANSPORTS = ("tcp", "ipc")

#: Payloads sent one per sender process: (label, bytes). Text goes via -D, the rest via -F.
PAYLOADS: Tuple[Tuple[str, bytes], ...] = (
    ("text", b"Hello, nanomsg!"),
    ("all-bytes", bytes(range(256)) + b'\\"\n\r\t"\\'),
    ("empty", b""),
    ("msgpack-16", bytes((i * 37 + 11) % 256 for i in range(300))),
    ("msgpack-32", bytes((i * 7 + 3) % 256 for i in range(70000))),
)

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module", autouse=True)
def _nanocat_available() -> None:
    if NANOCAT is None:
        skip_or_fail("nanocat not found on PATH (Debian/Ubuntu: apt-get install nanomsg-utils)")


# --------------------------------------------------------------------------------------------
# Process helpers
# --------------------------------------------------------------------------------------------


def _env() -> Dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(SRC)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    )
    return env


def command(impl: str, args: Sequence[str]) -> List[str]:
    """The argv that runs ``nanocat`` or ``nanopy cat`` with ``args``."""
    if impl == "nanocat":
        assert NANOCAT is not None
        return [NANOCAT, *args]
    assert impl == "nanopy"
    return [sys.executable, "-m", "nanopy", "cat", *args]


@dataclass
class Started:
    """A process that is running (or was): what it is and where its output goes."""

    proc: subprocess.Popen
    impl: str
    args: Tuple[str, ...]
    out: IO[bytes]
    err: IO[bytes]

    def result(self) -> Result:
        self.out.seek(0)
        self.err.seek(0)
        return Result(self.impl, self.args, self.proc.returncode, self.out.read(),
                      self.err.read())


@dataclass
class Result:
    """How one process ended."""

    impl: str
    args: Tuple[str, ...]
    returncode: int
    stdout: bytes
    stderr: bytes


class Processes:
    """Starts processes and guarantees that none outlives the test.

    Output goes to temporary files, not pipes, so a process printing a large message never
    blocks on a full pipe while the test waits for it.
    """

    def __init__(self) -> None:
        self.running: List[Tuple[subprocess.Popen, IO[bytes], IO[bytes]]] = []

    def start(self, impl: str, args: Sequence[str], stdin: bytes | None = None) -> Started:
        out, err = tempfile.TemporaryFile(), tempfile.TemporaryFile()
        source: object = subprocess.DEVNULL
        if stdin is not None:
            source = tempfile.TemporaryFile()
            source.write(stdin)  # type: ignore[attr-defined]
            source.seek(0)  # type: ignore[attr-defined]
        proc = subprocess.Popen(command(impl, args), stdin=source, stdout=out,
                                stderr=err, env=_env())
        if stdin is not None:
            source.close()  # type: ignore[attr-defined]
        self.running.append((proc, out, err))
        return Started(proc, impl, tuple(args), out, err)

    def finish(self, started: Started, timeout: float = 30) -> Result:
        try:
            started.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            started.proc.kill()
            started.proc.wait()
            result = started.result()
            pytest.fail(
                f"{started.impl} {' '.join(started.args)} did not finish within {timeout} s\n"
                f"stdout: {result.stdout[:500]!r}\nstderr: {result.stderr[:2000]!r}"
            )
        return started.result()

    def run(self, impl: str, args: Sequence[str], timeout: float = 30,
            stdin: bytes | None = None) -> Result:
        return self.finish(self.start(impl, args, stdin), timeout)

    def kill_all(self) -> None:
        for proc, out, err in self.running:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            out.close()
            err.close()


@pytest.fixture
def procs() -> Iterator[Processes]:
    processes = Processes()
    try:
        yield processes
    finally:
        processes.kill_all()


@pytest.fixture(scope="module")
def payload_dir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="npcat-", dir="/tmp") as directory:
        for label, data in PAYLOADS:
            (Path(directory) / label).write_bytes(data)
        yield Path(directory)


def payload_args(payload_dir: Path, label: str) -> List[str]:
    """``-D`` for the text payload (exercises argv data), ``-F`` for everything else."""
    data = dict(PAYLOADS)[label]
    if label == "text":
        return ["-D", data.decode()]
    if label == "empty":
        return ["--data", ""]
    return ["-F", str(payload_dir / label)]


def free_tcp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


_ipc_counter = [0]


def new_address(transport: str) -> str:
    """A fresh address; ipc paths are kept short (sun_path is ~108 bytes)."""
    if transport == "tcp":
        return f"tcp://127.0.0.1:{free_tcp_port()}"
    _ipc_counter[0] += 1
    return f"ipc:///tmp/npcat-{os.getpid()}-{_ipc_counter[0]}.ipc"


def endpoint(address: str, binds: bool) -> List[str]:
    """Endpoint options, using each of nanocat's spellings."""
    if address.startswith("ipc://"):
        return ["-X" if binds else "-x", address[len("ipc://"):]]
    return ["--bind" if binds else "--connect", address]


def cleanup_ipc(address: str) -> None:
    if address.startswith("ipc://"):
        try:
            os.unlink(address[len("ipc://"):])
        except OSError:
            pass


def show(result: Result) -> str:
    return (
        f"{result.impl} {' '.join(result.args)[:200]}\n  rc={result.returncode}\n"
        f"  stdout[:300]={result.stdout[:300]!r}\n  stderr={result.stderr[:1000]!r}"
    )


def assert_same(actual: Result, reference: Result) -> None:
    """Identical stdout bytes, exit status and (when the run failed) stderr."""
    context = f"\nnanopy side:\n{show(actual)}\nnanocat reference:\n{show(reference)}"
    assert actual.stdout == reference.stdout, "stdout differs" + context
    assert actual.returncode == reference.returncode, "exit status differs" + context
    if reference.returncode != 0:
        assert actual.stderr == reference.stderr, "stderr differs" + context


# --------------------------------------------------------------------------------------------
# Scenarios: each returns the outputs of both sides, whoever plays them
# --------------------------------------------------------------------------------------------

# Longer than send_one's 1.2 s wait plus a sender's start-up and -d, so receivers never
# time out between two payloads.
RECV_TIMEOUT = "3"


def pipeline(procs: Processes, payload_dir: Path, receiver: str, sender: str,
             transport: str, fmt: str, receiver_binds: bool) -> Result:
    """A PULL prints what one PUSH process per payload sends; returns the PULL's result."""
    address = new_address(transport)
    try:
        pull = procs.start(receiver, ["--pull", *endpoint(address, receiver_binds),
                                      "--format", fmt, "--recv-timeout", RECV_TIMEOUT])
        time.sleep(0.3)
        # A binding PUSH gives the PULL time to (re)connect before it sends.
        delay = ["-d", "0.3"] if not receiver_binds else []
        for label, _data in PAYLOADS:
            send_one(procs, sender, ["--push", *endpoint(address, not receiver_binds),
                                     *delay, *payload_args(payload_dir, label)], pull, address)
        return procs.finish(pull)
    finally:
        cleanup_ipc(address)


def pubsub(procs: Processes, payload_dir: Path, receiver: str, sender: str, transport: str,
           fmt: str, receiver_binds: bool, subscriptions: Sequence[str] = (),
           payloads: Sequence[Tuple[str, List[str]]] | None = None) -> Result:
    """A SUB prints what one-shot PUB processes (-d lets it subscribe) publish."""
    address = new_address(transport)
    sub_args = ["--sub", *endpoint(address, receiver_binds), "--format", fmt,
                "--recv-timeout", RECV_TIMEOUT]
    for prefix in subscriptions:
        sub_args += ["--subscribe", prefix]
    if payloads is None:
        payloads = [(label, payload_args(payload_dir, label)) for label, _ in PAYLOADS]
    try:
        sub = procs.start(receiver, sub_args)
        time.sleep(0.3)
        for _label, data_args in payloads:
            send_one(procs, sender, ["--pub", *endpoint(address, not receiver_binds),
                                     "-d", "0.4", *data_args], sub, address)
        return procs.finish(sub)
    finally:
        cleanup_ipc(address)


def reqrep(procs: Processes, payload_dir: Path, rep_impl: str, req_impl: str, transport: str,
           fmt: str, rep_binds: bool) -> Tuple[Result, List[Result]]:
    """A REP answering ``pong`` prints each request; one REQ per payload prints the reply."""
    address = new_address(transport)
    try:
        rep = procs.start(rep_impl, ["--rep", *endpoint(address, rep_binds), "-D", "pong\x01",
                                     "--format", fmt, "--recv-timeout", RECV_TIMEOUT])
        time.sleep(0.3)
        replies = []
        for label, _data in PAYLOADS:
            req = procs.run(req_impl, ["--req", *endpoint(address, not rep_binds),
                                       *payload_args(payload_dir, label), "--format", fmt])
            replies.append(req)
        return procs.finish(rep), replies
    finally:
        cleanup_ipc(address)


def send_one(procs: Processes, sender: str, args: List[str], receiver: Started,
             address: str, stdin: bytes | None = None) -> None:
    """Run one PUSH/PUB sender process for one message.

    nanopy on tcp sends and exits at once: NN_LINGER must deliver the message. Otherwise the
    sender is started with a long ``-i`` (it sends once, then sleeps) and killed once the
    receiver has printed something, or after 1.2 s (some messages print nothing). Reasons:
    native nanomsg ignores NN_LINGER, and a native receiver on ipc drops a message that
    arrives together with the sender's close (about 1 in 4, even from a minimal raw-socket
    client), so one-shot senders would make the nanocat reference itself flaky.
    """
    if sender == "nanopy" and address.startswith("tcp://"):
        result = procs.run(sender, args, stdin=stdin)
        assert result.returncode == 0, show(result)
        return
    size_before = os.fstat(receiver.out.fileno()).st_size
    started = procs.start(sender, [*args, "-i", "60"], stdin)
    deadline = time.monotonic() + 1.2
    while time.monotonic() < deadline and started.proc.poll() is None:
        if os.fstat(receiver.out.fileno()).st_size > size_before:
            break
        time.sleep(0.02)
    time.sleep(0.05)
    assert started.proc.poll() is None, show(started.result())
    started.proc.kill()
    started.proc.wait()


_references: Dict[tuple, object] = {}


def reference(key: tuple, compute) -> object:
    """nanocat-vs-nanocat results, computed once per module run."""
    if key not in _references:
        _references[key] = compute()
    return _references[key]


# --------------------------------------------------------------------------------------------
# The formatter alone against nanocat (no nanopy socket involved)
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_format_message_matches_nanocat(procs: Processes, payload_dir: Path, fmt: str) -> None:
    from nanopy.cli.cat import format_message

    printed = reference(("pull", fmt), lambda: pipeline(
        procs, payload_dir, "nanocat", "nanocat", "tcp", fmt, True))
    assert isinstance(printed, Result) and printed.returncode == 0, show(printed)
    expected = b"".join(format_message(data, fmt) for _label, data in PAYLOADS)
    assert printed.stdout == expected


# --------------------------------------------------------------------------------------------
# PUSH / PULL
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("fmt", FORMATS)
def test_pull_prints_like_nanocat(procs: Processes, payload_dir: Path, transport: str,
                                  fmt: str) -> None:
    expected = reference(("pull", fmt), lambda: pipeline(
        procs, payload_dir, "nanocat", "nanocat", "tcp", fmt, True))
    actual = pipeline(procs, payload_dir, "nanopy", "nanocat", transport, fmt,
                      receiver_binds=True)
    assert_same(actual, expected)  # type: ignore[arg-type]


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_push_sends_like_nanocat(procs: Processes, payload_dir: Path, transport: str) -> None:
    expected = reference(("pull", "hex"), lambda: pipeline(
        procs, payload_dir, "nanocat", "nanocat", "tcp", "hex", True))
    actual = pipeline(procs, payload_dir, "nanocat", "nanopy", transport, "hex",
                      receiver_binds=(transport == "ipc"))
    assert_same(actual, expected)  # type: ignore[arg-type]


def test_pull_without_format_prints_nothing(procs: Processes, payload_dir: Path) -> None:
    """nanocat's default format is "no": messages are received but not printed."""
    expected = reference(("pull", "no"), lambda: pipeline(
        procs, payload_dir, "nanocat", "nanocat", "tcp", "no", True))
    actual = pipeline(procs, payload_dir, "nanopy", "nanocat", "tcp", "no", True)
    assert_same(actual, expected)  # type: ignore[arg-type]
    assert actual.stdout == b""


# --------------------------------------------------------------------------------------------
# PUB / SUB
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("fmt", FORMATS)
def test_sub_prints_like_nanocat(procs: Processes, payload_dir: Path, transport: str,
                                 fmt: str) -> None:
    expected = reference(("sub", fmt), lambda: pubsub(
        procs, payload_dir, "nanocat", "nanocat", "tcp", fmt, True))
    actual = pubsub(procs, payload_dir, "nanopy", "nanocat", transport, fmt,
                    receiver_binds=True)
    assert_same(actual, expected)  # type: ignore[arg-type]


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_pub_sends_like_nanocat(procs: Processes, payload_dir: Path, transport: str) -> None:
    expected = reference(("sub", "hex"), lambda: pubsub(
        procs, payload_dir, "nanocat", "nanocat", "tcp", "hex", True))
    actual = pubsub(procs, payload_dir, "nanocat", "nanopy", transport, "hex",
                    receiver_binds=(transport == "ipc"))
    assert_same(actual, expected)  # type: ignore[arg-type]


@pytest.mark.parametrize("subscriber", ["nanopy", "nanocat"])
def test_subscribe_filters_like_nanocat(procs: Processes, payload_dir: Path,
                                        subscriber: str) -> None:
    """--subscribe is repeatable and matches prefixes; the other side is the other tool."""
    topics = [(word, ["-D", word]) for word in ("abc", "zzz", "xyz", "ab", "a", "xa")]
    publisher = "nanocat" if subscriber == "nanopy" else "nanopy"

    def run(sub_impl: str, pub_impl: str) -> Result:
        return pubsub(procs, payload_dir, sub_impl, pub_impl, "tcp", "ascii", True,
                      subscriptions=["ab", "x"], payloads=topics)

    expected = reference(("sub-filter",), lambda: run("nanocat", "nanocat"))
    assert isinstance(expected, Result) and expected.stdout == b"abc\nxyz\nab\nxa\n"
    assert_same(run(subscriber, publisher), expected)


# --------------------------------------------------------------------------------------------
# REQ / REP
# --------------------------------------------------------------------------------------------


def _reqrep_reference(procs: Processes, payload_dir: Path, fmt: str):
    return reference(("reqrep", fmt), lambda: reqrep(
        procs, payload_dir, "nanocat", "nanocat", "tcp", fmt, True))


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("fmt", FORMATS)
def test_rep_like_nanocat(procs: Processes, payload_dir: Path, transport: str,
                          fmt: str) -> None:
    """nanopy REP -D: prints each request like nanocat, and nanocat REQ prints its reply."""
    rep_expected, req_expected = _reqrep_reference(procs, payload_dir, fmt)  # type: ignore
    rep_actual, req_actual = reqrep(procs, payload_dir, "nanopy", "nanocat", transport, fmt,
                                    rep_binds=(transport == "tcp"))
    # REP with --data ends on its receive timeout with "Can't recv: ..." and status 3.
    assert rep_expected.returncode == 3
    assert_same(rep_actual, rep_expected)
    for actual, expected in zip(req_actual, req_expected):
        assert_same(actual, expected)


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("fmt", FORMATS)
def test_req_like_nanocat(procs: Processes, payload_dir: Path, transport: str,
                          fmt: str) -> None:
    """nanopy REQ: prints the one reply like nanocat, exits 0; nanocat REP prints requests."""
    rep_expected, req_expected = _reqrep_reference(procs, payload_dir, fmt)  # type: ignore
    rep_actual, req_actual = reqrep(procs, payload_dir, "nanocat", "nanopy", transport, fmt,
                                    rep_binds=(transport == "ipc"))
    assert_same(rep_actual, rep_expected)
    for actual, expected in zip(req_actual, req_expected):
        assert_same(actual, expected)


# --------------------------------------------------------------------------------------------
# Other socket types (tcp, nanopy on each side)
# --------------------------------------------------------------------------------------------


def _two_peers(procs: Processes, left: str, right: str, left_args: List[str],
               right_args: List[str]) -> Tuple[Result, Result]:
    address = new_address("tcp")
    first = procs.start(left, [*left_args, *endpoint(address, True)])
    time.sleep(0.3)
    second = procs.run(right, [*right_args, *endpoint(address, False)])
    return procs.finish(first), second


_PEER_ARGS = {
    # (binding side, connecting side): both send their data once, then print until timeout
    # (the binder waits longer, so the connecter is surely connected before BUS sends)
    "pair": (["--pair", "-D", "from-binder", "-Q", "-d", "1.5", "--recv-timeout", "2"],
             ["--pair", "-D", "from-connecter", "-Q", "-d", "0.5", "--recv-timeout", "2"]),
    "bus": (["--bus", "-D", "from-binder", "-Q", "-d", "1.5", "--recv-timeout", "2"],
            ["--bus", "-D", "from-connecter", "-Q", "-d", "0.5", "--recv-timeout", "2"]),
    # the surveyor asks once and prints answers until the survey deadline (1 s) expires
    "survey": (["--respondent", "-D", "answer", "-Q", "--recv-timeout", "3"],
               ["--surveyor", "-D", "question", "-Q", "-d", "0.5"]),
}


@pytest.mark.parametrize("nanopy_side", ["binder", "connecter"])
@pytest.mark.parametrize("pattern", sorted(_PEER_ARGS))
def test_peer_patterns_like_nanocat(procs: Processes, pattern: str, nanopy_side: str) -> None:
    left_args, right_args = _PEER_ARGS[pattern]
    expected = reference(("peer", pattern), lambda: _two_peers(
        procs, "nanocat", "nanocat", left_args, right_args))
    left = "nanopy" if nanopy_side == "binder" else "nanocat"
    right = "nanocat" if nanopy_side == "binder" else "nanopy"
    actual = _two_peers(procs, left, right, left_args, right_args)
    for got, wanted in zip(actual, expected):  # type: ignore[call-overload]
        assert_same(got, wanted)


# --------------------------------------------------------------------------------------------
# Errors, timeouts and nanocat's quirks
# --------------------------------------------------------------------------------------------


def _both(procs: Processes, args: List[str], timeout: float = 30) -> Tuple[Result, Result]:
    return procs.run("nanopy", args, timeout), procs.run("nanocat", args, timeout)


def test_send_timeout_fails_like_nanocat(procs: Processes) -> None:
    """PUSH with nobody to send to: "Can't send: Connection timed out", status 3."""
    args = ["--push", "--connect-local", str(free_tcp_port()), "-D", "x",
            "--send-timeout", "0.3"]
    actual, expected = _both(procs, args)
    assert expected.returncode == 3
    assert_same(actual, expected)


@pytest.mark.parametrize(
    "args",
    [
        ["--push", "--bind", "tcp://no-such-host-or-port", "-D", "x"],
        ["--push", "--connect", "nosuchscheme://x", "-D", "x"],
        ["--pull", "--bind", "tcp://127.0.0.1:99999"],
    ],
    ids=["bad-tcp-address", "unknown-scheme", "port-out-of-range"],
)
def test_endpoint_errors_like_nanocat(procs: Processes, args: List[str]) -> None:
    actual, expected = _both(procs, args)
    assert expected.returncode == 3
    assert_same(actual, expected)


def test_bind_address_in_use_like_nanocat(procs: Processes) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        port = str(holder.getsockname()[1])
        actual, expected = _both(procs, ["--pull", "--bind-local", port, "-A"])
    assert expected.returncode == 3
    assert_same(actual, expected)


def test_recv_timeout_truncated_to_whole_seconds(procs: Processes) -> None:
    """nanocat gives NN_RCVTIMEO int(seconds) * 1000: 0.99 means no wait, 1.99 means 1 s.

    Measured against the same tool's --recv-timeout 0 run, so start-up time cancels out.
    """
    port = str(free_tcp_port())

    def waited(impl: str, seconds: str) -> float:
        started = time.monotonic()
        result = procs.run(impl, ["--pull", "-L", port, "--recv-timeout", seconds, "-A"])
        elapsed = time.monotonic() - started
        assert (result.returncode, result.stdout) == (0, b""), show(result)
        return elapsed

    for impl in ("nanocat", "nanopy"):
        baseline = waited(impl, "0")
        below_one = waited(impl, "0.99") - baseline
        below_two = waited(impl, "1.99") - baseline
        assert below_one < 0.6, f"{impl}: --recv-timeout 0.99 waited {below_one:.2f} s"
        assert 0.8 < below_two < 1.6, f"{impl}: --recv-timeout 1.99 waited {below_two:.2f} s"


def test_req_interval_resends(procs: Processes) -> None:
    """REQ -i 0.3: a new request every 0.3 s, each reply printed, until killed (as nanocat).

    Counted from the first printed reply, so the tools' start-up times do not matter.
    """
    outputs = {}
    for impl in ("nanocat", "nanopy"):
        address = new_address("tcp")
        rep = procs.start("nanocat", ["--rep", *endpoint(address, True), "-D", "pong",
                                      "--recv-timeout", "10"])
        time.sleep(0.3)
        req = procs.start(impl, ["--req", *endpoint(address, False), "-D", "ping",
                                 "-i", "0.3", "-A"])
        deadline = time.monotonic() + 10
        while os.fstat(req.out.fileno()).st_size == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(1.35)  # replies to the requests sent at +0.3, +0.6, +0.9 and +1.2 s
        req.proc.kill()
        outputs[impl] = procs.finish(req).stdout
        rep.proc.kill()
        procs.finish(rep)
    # 5 replies expected; one more or less only means the kill raced a send.
    for impl, printed in outputs.items():
        assert printed in (b"pong\n" * 4, b"pong\n" * 5, b"pong\n" * 6), (impl, outputs)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_file_from_stdin_like_nanocat(procs: Processes, transport: str) -> None:
    """``-F -`` reads the message from standard input, binary-safe."""
    data = bytes(range(256))[::-1] * 3 + b"\x00"

    def run(sender: str) -> Result:
        address = new_address(transport)
        try:
            pull = procs.start("nanocat", ["--pull", *endpoint(address, True), "--hex",
                                           "--recv-timeout", RECV_TIMEOUT])
            time.sleep(0.3)
            send_one(procs, sender, ["--push", *endpoint(address, False), "-F", "-"], pull,
                     address, stdin=data)
            return procs.finish(pull)
        finally:
            cleanup_ipc(address)

    expected = reference(("stdin", transport), lambda: run("nanocat"))
    assert isinstance(expected, Result) and expected.stdout.count(b"\n") == 1, expected
    assert_same(run("nanopy"), expected)


@pytest.mark.parametrize("rep_impl", ["nanopy", "nanocat"])
def test_rep_without_data_only_prints(procs: Processes, rep_impl: str) -> None:
    """REP without -D prints every request and never answers; each REQ times out, status 0."""

    def run(rep_side: str, req_side: str) -> Tuple[Result, List[Result]]:
        address = new_address("ipc")
        try:
            rep = procs.start(rep_side, ["--rep", *endpoint(address, True), "-Q",
                                         "--recv-timeout", RECV_TIMEOUT])
            time.sleep(0.3)
            reqs = [procs.run(req_side, ["--req", *endpoint(address, False), "-D", word, "-Q",
                                         "--recv-timeout", "1"]) for word in ("one", "two")]
            return procs.finish(rep), reqs
        finally:
            cleanup_ipc(address)

    expected = reference(("rep-no-data",), lambda: run("nanocat", "nanocat"))
    rep_expected, reqs_expected = expected  # type: ignore[misc]
    assert rep_expected.stdout == b'"one"\n"two"\n', show(rep_expected)
    rep_actual, reqs_actual = run(rep_impl, "nanocat" if rep_impl == "nanopy" else "nanopy")
    assert_same(rep_actual, rep_expected)
    for actual, wanted in zip(reqs_actual, reqs_expected):
        assert_same(actual, wanted)


def test_socket_name_is_accepted(procs: Processes, payload_dir: Path) -> None:
    address = new_address("tcp")
    pull = procs.start("nanopy", ["--pull", *endpoint(address, True), "--socket-name", "probe",
                                  "-Q", "--recv-timeout", "2"])
    time.sleep(0.3)
    push = procs.run("nanocat", ["--push", *endpoint(address, False), "-D", "named"])
    assert push.returncode == 0, show(push)
    result = procs.finish(pull)
    assert (result.returncode, result.stdout) == (0, b'"named"\n'), show(result)
