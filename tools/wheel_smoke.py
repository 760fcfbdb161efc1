"""Smoke test of an installed nanopy: every protocol over inproc, ipc and tcp, then the CLI.

tools/build_wheel.sh runs it with the interpreter of a fresh venv that holds only the wheel
under test (and, for the aarch64 wheel, under qemu-user when that is available). It needs
nothing but the standard library and nanopy itself, so it runs where pytest is not
installed. It refuses a nanopy imported from a source tree: the point is to test the wheel.

Usage: python wheel_smoke.py [--expect-prefix DIR] [--no-cli]
Exit status 0 when every exchange worked; the first failure raises with its reason.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import runpy
import shutil
import sys
import tempfile
import time
from typing import Callable, Dict, List

import nanopy

TIMEOUT_MS = 5000
TRANSPORTS = ("inproc", "ipc", "tcp")


class Addresses:
    """Fresh addresses of one transport, one per exchange (tcp: port 0, so the exchange
    connects to the URL its bind returns, never to a port picked beforehand)."""

    def __init__(self, transport: str, directory: str) -> None:
        self.transport = transport
        self.directory = directory
        self.count = 0

    def next(self) -> str:
        self.count += 1
        if self.transport == "inproc":
            return f"inproc://wheel-smoke-{os.getpid()}-{self.count}"
        if self.transport == "ipc":
            return "ipc://" + os.path.join(self.directory, f"s{self.count}.ipc")
        return "tcp://127.0.0.1:0"  # bound in place; peers connect to the bound URL


def _sock(protocol: int) -> nanopy.Socket:
    return nanopy.Socket(protocol, recv_timeout=TIMEOUT_MS, send_timeout=TIMEOUT_MS, linger=0)


def _until_received(send: Callable[[], None], receiver: nanopy.Socket) -> bytes:
    """Send again until the receiver gets a message: PUB, SURVEYOR and BUS drop messages
    sent before the peer's connection is up, so the first ones may be lost by design."""
    receiver.recv_timeout = 100
    deadline = time.monotonic() + TIMEOUT_MS / 1000.0
    while True:
        send()
        try:
            got = receiver.recv()
        except nanopy.Timeout:
            if time.monotonic() > deadline:
                raise
            continue
        receiver.recv_timeout = TIMEOUT_MS
        return bytes(got)


def _expect(what: str, got: bytes, wanted: bytes) -> None:
    if got != wanted:
        raise AssertionError(f"{what}: expected {wanted!r}, got {got!r}")


def pair(url: str) -> None:
    with _sock(nanopy.PAIR) as a, _sock(nanopy.PAIR) as b:
        url = a.bind(url).url
        b.connect(url)
        b.send(b"ping")
        _expect("PAIR", bytes(a.recv()), b"ping")
        a.send(b"x" * 100000)
        _expect("PAIR 100 kB", bytes(b.recv()), b"x" * 100000)


def reqrep(url: str) -> None:
    with _sock(nanopy.REP) as rep, _sock(nanopy.REQ) as req:
        url = rep.bind(url).url
        req.connect(url)
        for i in range(3):
            req.send(b"q%d" % i)
            _expect("REP", bytes(rep.recv()), b"q%d" % i)
            rep.send(b"a%d" % i)
            _expect("REQ", bytes(req.recv()), b"a%d" % i)


def pubsub(url: str) -> None:
    with _sock(nanopy.PUB) as pub, _sock(nanopy.SUB) as sub:
        url = pub.bind(url).url
        sub.subscribe(b"news.")
        sub.connect(url)

        def publish() -> None:
            pub.send(b"weather.rain")
            pub.send(b"news.hello")

        _expect("SUB(news.)", _until_received(publish, sub), b"news.hello")


def pipeline(url: str) -> None:
    with _sock(nanopy.PUSH) as push, _sock(nanopy.PULL) as pull:
        url = pull.bind(url).url
        push.connect(url)
        for i in range(5):
            push.send(b"job%d" % i)
        _expect("PULL", b"".join(bytes(pull.recv()) for _ in range(5)),
                b"".join(b"job%d" % i for i in range(5)))


def survey(url: str) -> None:
    with _sock(nanopy.SURVEYOR) as surveyor, _sock(nanopy.RESPONDENT) as respondent:
        url = surveyor.bind(url).url
        surveyor.survey_deadline = 500
        respondent.connect(url)
        _expect("RESPONDENT", _until_received(lambda: surveyor.send(b"who?"), respondent),
                b"who?")
        respondent.send(b"me")
        _expect("SURVEYOR", bytes(surveyor.recv()), b"me")


def bus(url: str) -> None:
    with _sock(nanopy.BUS) as a, _sock(nanopy.BUS) as b:
        url = a.bind(url).url
        b.connect(url)
        _expect("BUS a->b", _until_received(lambda: a.send(b"hi b"), b), b"hi b")
        b.send(b"hi a")
        _expect("BUS b->a", bytes(a.recv()), b"hi a")


EXCHANGES: Dict[str, Callable[[str], None]] = {
    "PAIR": pair,
    "REQ/REP": reqrep,
    "PUB/SUB": pubsub,
    "PUSH/PULL": pipeline,
    "SURVEYOR/RESPONDENT": survey,
    "BUS": bus,
}


def run_cli() -> None:
    """The console script the wheel installed, run in this process with ``demo``.

    In-process rather than as a child: under qemu-user a child interpreter could not be
    started without binfmt_misc."""
    script = os.path.join(os.path.dirname(sys.executable), "nanopy")
    if not os.path.exists(script):
        script = shutil.which("nanopy") or ""
    if not script:
        raise AssertionError("the nanopy console script is not installed")
    output = io.StringIO()
    saved_argv = sys.argv
    sys.argv = [script, "demo"]
    try:
        with contextlib.redirect_stdout(output):
            runpy.run_path(script, run_name="__main__")
        status = 0
    except SystemExit as exc:
        status = exc.code if isinstance(exc.code, int) else 1
    finally:
        sys.argv = saved_argv
    print(output.getvalue(), end="")
    if status != 0 or "all 9 exchanges succeeded" not in output.getvalue():
        raise AssertionError(f"{script} demo failed with status {status}")


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--expect-prefix", help="nanopy must be imported from under DIR")
    parser.add_argument("--no-cli", action="store_true", help="skip the `nanopy demo` run")
    args = parser.parse_args(argv)
    where = os.path.realpath(nanopy._core.__file__)
    print(f"nanopy {nanopy.__version__} from {where}")
    if args.expect_prefix and not where.startswith(os.path.realpath(args.expect_prefix)):
        raise AssertionError(f"nanopy was imported from {where}, not from {args.expect_prefix}")
    count = 0
    with tempfile.TemporaryDirectory(prefix="nanopy-smoke-") as directory:
        for transport in TRANSPORTS:
            addresses = Addresses(transport, directory)
            for label, exchange in EXCHANGES.items():
                started = time.perf_counter()
                exchange(addresses.next())
                count += 1
                elapsed_ms = 1000 * (time.perf_counter() - started)
                print(f"ok {transport:<6} {label:<20} {elapsed_ms:7.1f} ms")
    if not args.no_cli:
        run_cli()
    print(f"smoke: {count} exchanges passed" + ("" if args.no_cli else ", nanopy demo passed"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
