"""Peers SIGKILLed mid-traffic and restarted, for every protocol pair over tcp and ipc.

The peer is a subprocess (peer.py); the surviving nanopy socket keeps its traffic loop
running across the kill, must see its connection count drop and come back, and must then
exchange messages with the restarted peer (told apart by the pid carried in every
message). REQ also gets its outstanding request resent to, and answered by, the new REP."""

from __future__ import annotations

import collections
import threading
import time

import pytest

import nanopy

from ._common import Peer, figures, peers, pick, wait_for

CYCLES = pick(1, 10)  # kills per case

# (survivor, peer): the survivor lives in the test process.
PAIRS = [
    ("PAIR", "PAIR"),
    ("PULL", "PUSH"),
    ("PUSH", "PULL"),
    ("SUB", "PUB"),
    ("PUB", "SUB"),
    ("REQ", "REP"),
    ("REP", "REQ"),
    ("SURVEYOR", "RESPONDENT"),
    ("RESPONDENT", "SURVEYOR"),
    ("BUS", "BUS"),
]
# Survivors whose progress is seen in what they receive; the others only send, and the
# peer reports its first received message instead.
RECEIVERS = {"PAIR", "PULL", "SUB", "REQ", "SURVEYOR", "BUS"}


def current_connections(s: nanopy.Socket) -> int:
    return nanopy.nn_get_statistic(s.id, nanopy.NN_STAT_CURRENT_CONNECTIONS)


class Traffic(threading.Thread):
    """The survivor's send/recv loop; counts received messages per peer pid."""

    def __init__(self, s: nanopy.Socket, name: str) -> None:
        super().__init__(daemon=True)
        self.s = s
        self.name_ = name
        self.seen: collections.Counter[int] = collections.Counter()
        self.sent = 0
        self.received = 0
        self.stop = threading.Event()
        self.error: BaseException | None = None

    def note(self, body: bytes) -> None:
        self.received += 1
        head = body.split(b":", 1)[0]
        if head.isdigit():
            self.seen[int(head)] += 1

    def run(self) -> None:
        s, name, seq = self.s, self.name_, 0
        try:
            while not self.stop.is_set():
                seq += 1
                try:
                    if name in ("PULL", "SUB"):
                        self.note(s.recv())
                    elif name in ("PAIR", "BUS"):
                        try:
                            s.send(b"s:%d" % seq, block=False)
                            self.sent += 1
                        except nanopy.Again:
                            pass
                        self.note(s.recv())
                    elif name == "REQ":
                        req = b"q%d" % seq
                        s.send(req)
                        self.sent += 1
                        reply = s.recv()
                        assert reply.endswith(b":" + req), (reply, req)
                        self.note(reply)
                    elif name == "SURVEYOR":
                        s.send(b"v%d" % seq)
                        self.sent += 1
                        while True:
                            self.note(s.recv())
                    elif name in ("PUSH", "PUB"):
                        s.send(b"s:%d" % seq)
                        self.sent += 1
                        time.sleep(0.001)
                    elif name in ("REP", "RESPONDENT"):
                        body = s.recv()
                        s.send(b"s:" + body)
                        self.sent += 1
                except (nanopy.Timeout, nanopy.Again, nanopy.StateError):
                    pass
        except BaseException as e:  # reported by the test
            self.error = e


@pytest.mark.timeout(pick(60, 600))
@pytest.mark.parametrize("transport", ["tcp", "ipc"])
@pytest.mark.parametrize("survivor,peer", PAIRS, ids=[f"{a}-{b}" for a, b in PAIRS])
@pytest.mark.parametrize("survivor_role", ["connect", "bind"])
def test_kill_and_restart(survivor: str, peer: str, transport: str, survivor_role: str,
                          tmp_ipc_dir: str) -> None:
    from conftest import make_address

    address = make_address(transport, tmp_ipc_dir)
    peer_role = "bind" if survivor_role == "connect" else "connect"
    s = nanopy.Socket(getattr(nanopy, survivor), linger=0, send_timeout=100,
                      recv_timeout=3000 if survivor == "REQ" else 100,
                      reconnect_interval=20, reconnect_interval_max=0)
    if survivor == "SUB":
        s.subscribe(b"")
    if survivor == "REQ":
        s.resend_interval = 100
    if survivor == "SURVEYOR":
        s.survey_deadline = 100
    traffic = Traffic(s, survivor)
    reconnect_ms: list[float] = []
    per_peer: list[int] = []
    try:
        with peers() as procs:
            (s.connect if survivor_role == "connect" else s.bind)(address)
            traffic.start()
            for cycle in range(CYCLES + 1):
                p = Peer("peer.py", peer, peer_role, address)
                procs.append(p)
                p.expect("ready")
                t0 = time.monotonic()
                wait_for(lambda: current_connections(s) >= 1, 10, "reconnection")
                reconnect_ms.append((time.monotonic() - t0) * 1000)
                if survivor in RECEIVERS:
                    wait_for(lambda p=p: traffic.seen[p.pid] >= 3 or traffic.error, 10,
                             f"traffic from peer {p.pid} (cycle {cycle})")
                else:
                    p.expect("got", 10)
                assert traffic.error is None, traffic.error
                if cycle == CYCLES:
                    break
                time.sleep(0.05)  # let traffic flow: the kill lands mid-stream
                p.kill()
                per_peer.append(traffic.seen[p.pid])
                wait_for(lambda: current_connections(s) == 0, 10, "the dead peer's pipe to go")
    finally:
        traffic.stop.set()
        traffic.join(10)
        s.close()
    assert traffic.error is None, traffic.error
    figures("kill_restart", case=f"{survivor}<-{peer}/{transport}/{survivor_role}",
            kills=CYCLES, survivor_sent=traffic.sent, survivor_received=traffic.received,
            max_reconnect_ms=round(max(reconnect_ms), 1))


@pytest.mark.timeout(pick(60, 300))
@pytest.mark.parametrize("transport", ["tcp", "ipc"])
def test_req_resends_outstanding_request_to_restarted_rep(transport: str,
                                                          tmp_ipc_dir: str) -> None:
    from conftest import make_address

    address = make_address(transport, tmp_ipc_dir)
    rounds = pick(1, 5)
    with peers() as procs, nanopy.Socket(nanopy.REQ, linger=0, send_timeout=5000,
                                         recv_timeout=10000, resend_interval=100,
                                         reconnect_interval=20,
                                         reconnect_interval_max=0) as req:
        req.connect(address)
        for i in range(rounds):
            silent = Peer("peer.py", "REP", "bind", address, "silent")
            procs.append(silent)
            silent.expect("ready")
            body = b"outstanding-%d" % i
            req.send(body)
            assert silent.expect("got")["body"] == body.decode()
            silent.kill()
            wait_for(lambda: current_connections(req) == 0, 10, "the dead REP's pipe to go")
            echo = Peer("peer.py", "REP", "bind", address)
            procs.append(echo)
            echo.expect("ready")
            t0 = time.monotonic()
            reply = req.recv()
            assert reply == f"{echo.pid}:".encode() + body
            took = time.monotonic() - t0
            echo.kill()
            wait_for(lambda: current_connections(req) == 0, 10, "the REP's pipe to go")
    figures("req_resend", transport=transport, rounds=rounds,
            last_answer_after_restart_ms=round(took * 1000, 1))
