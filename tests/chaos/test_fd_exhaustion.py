"""fd exhaustion: a subprocess (fdlimit.py) lowers RLIMIT_NOFILE and fills every free
descriptor, then clients connect to its bound PULL. Accepting fails with EMFILE; the error
surfaces (NN_STAT_ACCEPT_ERRORS grows, nn_socket raises EMFILE) without a busy loop (the
process burns little CPU meanwhile), and once descriptors are freed the waiting clients
are accepted and their messages arrive."""

from __future__ import annotations

import socket as pysocket
import struct

import pytest

import nanopy

from ._common import Peer, figures, peers, pick

# Pending connections: nanopy listens with nanomsg's backlogs (tcp 100, ipc 10).
CLIENTS = {"tcp": 20, "ipc": 8}
MEASURE_S = pick(2.0, 10.0)


def client(address: str, transport: str, body: bytes) -> pysocket.socket:
    """A raw SP PUSH client: connects, sends its handshake and one message, keeps open."""
    if transport == "ipc":
        s = pysocket.socket(pysocket.AF_UNIX, pysocket.SOCK_STREAM)
        s.settimeout(5)
        s.connect(address[len("ipc://"):])
        framed = b"\x01" + struct.pack(">Q", len(body)) + body
    else:
        s = pysocket.socket(pysocket.AF_INET, pysocket.SOCK_STREAM)
        s.settimeout(5)
        host, port = address[len("tcp://"):].rsplit(":", 1)
        s.connect((host, int(port)))
        framed = struct.pack(">Q", len(body)) + body
    s.sendall(b"\x00SP\x00" + struct.pack(">H", nanopy.NN_PUSH) + b"\x00\x00" + framed)
    return s


@pytest.mark.timeout(pick(60, 120))
@pytest.mark.parametrize("transport", ["tcp", "ipc"])
def test_accept_under_fd_exhaustion(transport: str, tmp_ipc_dir: str) -> None:
    from conftest import make_address

    address = make_address(transport, tmp_ipc_dir)
    n = CLIENTS[transport]
    conns: list[pysocket.socket] = []
    with peers() as procs:
        p = Peer("fdlimit.py", address)
        procs.append(p)
        p.expect("ready")
        p.tell("exhaust")
        exhausted = p.expect("exhausted")
        try:
            for i in range(n):
                conns.append(client(address, transport, b"client-%d" % i))
            p.tell(f"measure {MEASURE_S}")
            measured = p.expect("measured", MEASURE_S + 10)
            p.tell("free")
            p.expect("freed")
            p.tell(f"recv {n}")
            received = p.expect("received", 10 * n)
            p.tell("quit")
            assert p.wait(10) == 0, p.stderr()
        finally:
            for c in conns:
                c.close()
    figures("fd_exhaustion", transport=transport, clients=n, fd_limit=exhausted["limit"],
            exhausted_wall_s=measured["wall_s"], exhausted_cpu_s=measured["cpu_s"],
            accept_errors=measured["accept_errors"], nn_socket=measured["nn_socket"],
            accepted_after_free=received["accepted"],
            recovered_after_s=received["after_s"])
    assert measured["accept_errors"] > 0, measured  # the error surfaced
    assert measured["connections"] == 0, measured
    assert measured["nn_socket"] in ("ok", f"errno {nanopy.EMFILE}"), measured
    # No busy loop: a spinning I/O thread would burn about one CPU second per second.
    assert measured["cpu_s"] < 0.25 * measured["wall_s"], measured
    assert received["count"] == received["distinct"] == n, received
