"""Shared fixtures: sockets that are always closed, free ports, ipc paths, transports."""

from __future__ import annotations

import itertools
import os
import random
import socket as pysocket
import tempfile
from collections.abc import Iterator
from typing import Callable

import pytest

import nanopy

_counter = itertools.count()


def free_tcp_port() -> int:
    """Kept for the files that still call it: the same as ``unclaimed_tcp_port`` (a port no
    port-0 bind can take). Binding port 0 in place (``bind_any_port``) is better."""
    return unclaimed_tcp_port()


def bind_any_port(sock: nanopy.Socket | int, host: str = "127.0.0.1") -> str:
    """Bind ``sock`` (a nanopy.Socket or an nn_* socket id) to ``tcp://host:0``, a port the
    kernel picks, and return the URL really bound (``tcp://127.0.0.1:41234``): no race with
    other processes, unlike picking a free port first."""
    if isinstance(sock, nanopy.Socket):
        return sock.bind(f"tcp://{host}:0").url
    from nanopy import _core

    return str(_core.endpoint_url(sock, nanopy.nn_bind(sock, f"tcp://{host}:0")))


@pytest.fixture
def tcp_bind() -> Callable[..., str]:
    """``tcp_bind(sock)``: bind to a kernel-chosen port on 127.0.0.1 and return the URL."""
    return bind_any_port


@pytest.fixture
def tmp_ipc_dir() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="np", dir="/tmp") as d:
        yield d


def make_address(transport: str, tmpdir: str) -> str:
    """A fresh address for the transport (inproc names are unique per call)."""
    n = next(_counter)
    if transport == "inproc":
        return f"inproc://test-{os.getpid()}-{n}"
    if transport == "ipc":
        return f"ipc://{tmpdir}/s{n}.ipc"
    return f"tcp://127.0.0.1:{unclaimed_tcp_port()}"


@pytest.fixture(params=["inproc", "ipc", "tcp"])
def transport(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def addr(transport: str, tmp_ipc_dir: str) -> Callable[[], str]:
    """Call it for a new address of the current transport."""
    return lambda: make_address(transport, tmp_ipc_dir)


@pytest.fixture
def nn() -> Iterator[Callable[..., int]]:
    """nn_socket factory: every socket gets a 5 s receive/send timeout (so a failing test
    never hangs) and is closed with linger 0 at teardown."""
    made: list[int] = []

    def factory(protocol: int, domain: int = nanopy.AF_SP, timeout: int = 5000) -> int:
        s = nanopy.nn_socket(domain, protocol)
        made.append(s)
        nanopy.nn_setsockopt(s, nanopy.NN_SOL_SOCKET, nanopy.NN_RCVTIMEO, timeout)
        nanopy.nn_setsockopt(s, nanopy.NN_SOL_SOCKET, nanopy.NN_SNDTIMEO, timeout)
        return s

    yield factory
    for s in made:
        try:
            nanopy.nn_setsockopt(s, nanopy.NN_SOL_SOCKET, nanopy.NN_LINGER, 0)
            nanopy.nn_close(s)
        except nanopy.NNError:
            pass


@pytest.fixture
def sock() -> Iterator[Callable[..., nanopy.Socket]]:
    """nanopy.Socket factory with the same safety nets as ``nn``."""
    made: list[nanopy.Socket] = []

    def factory(protocol: int, **kw: object) -> nanopy.Socket:
        kw.setdefault("recv_timeout", 5000)
        kw.setdefault("send_timeout", 5000)
        s = nanopy.Socket(protocol, **kw)  # type: ignore[arg-type]
        made.append(s)
        return s

    yield factory
    for s in made:
        if not s.closed:
            s.linger = 0
            s.close()


def wait_connected(s: int, count: int = 1, timeout: float = 5.0) -> None:
    """Wait until socket ``s`` has ``count`` live connections (pipes)."""
    import time

    deadline = time.monotonic() + timeout
    while nanopy.nn_get_statistic(s, nanopy.NN_STAT_CURRENT_CONNECTIONS) < count:
        if time.monotonic() > deadline:
            raise AssertionError(f"socket {s} did not reach {count} connection(s)")
        time.sleep(0.005)


def wait_stat(s: int, stat: int, at_least: int, timeout: float = 10.0) -> int:
    """Wait until statistic ``stat`` of socket ``s`` reaches ``at_least``; return it."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        value = int(nanopy.nn_get_statistic(s, stat))
        if value >= at_least:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"socket {s}: statistic {stat} is {value} after {timeout} s, "
                                 f"wanted at least {at_least}")
        time.sleep(0.005)


def wait_refused(bound: int, url: str, count: int = 1) -> None:
    """Wait until the bound socket ``bound`` has turned away ``count`` connections.

    On ipc and tcp a connection the socket will not keep (wrong protocol in the handshake,
    a second PAIR peer) is accepted, then closed before it ever carried a message: that
    counts as a broken connection. On inproc the decision is taken inside nn_connect /
    nn_bind themselves, so there is nothing to wait for."""
    if url.startswith("inproc://"):
        return
    wait_stat(bound, nanopy.NN_STAT_BROKEN_CONNECTIONS, count)


def skip_or_fail(reason: str) -> None:
    """A prerequisite is missing: skip with the reason locally, but fail under CI=true,
    where every test must run (.ci/run installs every prerequisite)."""
    if os.environ.get("CI", "").strip().lower() == "true":
        pytest.fail(f"{reason} (CI=true: this test must run, not skip)")
    pytest.skip(reason)


#: Every port unclaimed_tcp_port has returned in this process.
_ports_handed_out: set = set()


def unclaimed_tcp_port() -> int:
    """A free TCP port for a test that needs the address before anything binds it (a
    connect made before the bind, or an address handed to another process).

    Drawn at random from outside the kernel's ephemeral port range, so no port-0 bind and no
    outgoing connection of any process can take it between this call and the bind (the
    race a port found by binding port 0 and closing has); checked free here. When the test
    binds first, binding port 0 in place is better still."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            lo, hi = (int(x) for x in f.read().split())
    except (OSError, ValueError):
        lo, hi = 32768, 60999
    spans = [(a, b) for a, b in ((10000, lo - 1), (hi + 1, 65535)) if b - a > 100]
    if len(_ports_handed_out) > 5000:  # long sessions: forget the oldest rather than run dry
        _ports_handed_out.clear()
    while True:
        a, b = random.choice(spans)
        port = random.randint(a, b)
        # A test that asks twice before binding (a device's front and back) must get two
        # ports: the draw alone repeats once in ~27,000 pairs.
        if port in _ports_handed_out:
            continue
        with pysocket.socket(pysocket.AF_INET, pysocket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _ports_handed_out.add(port)
        return port
