"""Bench tools for many connections, written once against :class:`nanopy.perf.Peer`.

- ``fanout_send <push|pub> <bind-to> <peers> <msg-count>`` with
  ``fanout_recv <push|pub> <connect-to> <peers> <msg-count>``: the sender's cost per
  ``send()`` while ``peers`` connections are open.  The receiving process opens the
  connections from up to 50 PULL (or SUB, subscribed to everything) sockets, and
  answers the sender once the kernel lists every one as established.  The sender sends in
  bursts; only the time inside the ``send()`` calls of a burst is counted, then it
  waits until the receivers have drained the burst (a PUSH/PULL back channel on port
  + 1), so a slow Python receiver never throttles what is measured.  PUSH bursts hold
  up to 10,000 messages, PUB bursts 10 (every one reaches every SUB: 10 queued per
  connection stays under every library's per-connection PUB queue, so none drops).
  Prints ``average time per message: X [us]``.
- ``conn_memory <bind-to> <connections>``: resident memory per tcp connection with
  both ends in this process: one PULL socket binds, up to 50 PUSH sockets open
  ``connections`` connections to it and one 64-byte message crosses each; the RSS
  growth over that, divided by
  ``connections``, is printed as ``memory per connection: N [B]``.
"""

from __future__ import annotations

import gc
import os
import time
from typing import Any, Dict, List, Tuple

from nanopy.perf import FILL_BYTE, Peer, ToolFunc, ack_address, now_us

#: Most messages a PUSH burst holds; at 1 peer that is 640 kB of 64-byte messages.
PUSH_BURST = 10_000
#: Messages per PUB burst (each is delivered to every SUB connection).
PUB_BURST = 10
#: Size of the fan-out messages.
FANOUT_SIZE = 64


def _burst(kind: str, count: int) -> int:
    return min(count, PUSH_BURST if kind == "push" else PUB_BURST)


def _check_kind(kind: str) -> None:
    if kind not in ("push", "pub"):
        raise RuntimeError(f"kind must be push or pub, not {kind!r}")


#: Most receiving sockets the tools open; connections are spread over them (nanomsg,
#: and nanopy like it, allows 512 sockets per process).
MAX_SOCKETS = 50


def _port(address: str) -> int:
    return int(address.rsplit(":", 1)[1])


def wait_established(port: int, connections: int, timeout: float = 60.0) -> None:
    """Wait until ``connections`` tcp connections to local ``port`` are established (as
    the kernel lists them), then a little longer for the SP handshakes."""
    deadline = time.monotonic() + timeout
    while True:
        found = 0
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            try:
                with open(table) as fh:
                    next(fh)
                    for line in fh:
                        fields = line.split()
                        if fields[3] == "01" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                            found += 1
            except OSError:
                continue
        if found >= connections:
            break
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {found} of {connections} connections came up")
        time.sleep(0.02)
    time.sleep(0.3)


def _socket_count(peer: Peer, connections: int) -> int:
    """Sockets to spread ``connections`` over: libzmq makes one connection per socket and
    endpoint (its peer says so with ``one_connection_per_endpoint``)."""
    if getattr(peer, "one_connection_per_endpoint", False):
        return connections
    return min(connections, MAX_SOCKETS)


def _connected_sockets(peer: Peer, make: Any, connect_to: str,
                       connections: int) -> Tuple[List[Any], List[int]]:
    """``connections`` connections to ``connect_to``, spread over sockets made by
    ``make()``; returns (sockets, connections of each) once the kernel lists them all."""
    socks = [make() for _ in range(_socket_count(peer, connections))]
    per_sock = [0] * len(socks)
    for i in range(connections):
        peer.connect(socks[i % len(socks)], connect_to)
        per_sock[i % len(socks)] += 1
    wait_established(_port(connect_to), connections)
    return socks, per_sock


def fanout_send(peer: Peer, kind: str, bind_to: str, peers: int, count: int) -> None:
    """Sender: probe until the receiver is ready, then time ``count`` sends in bursts."""
    _check_kind(kind)
    sock = peer.push() if kind == "push" else peer.pub()
    acks = peer.pull()
    peer.bind(sock, bind_to)
    peer.bind(acks, ack_address(bind_to))
    send = peer.sender(sock)
    data = b"D".ljust(FANOUT_SIZE, FILL_BYTE)
    seq = 0
    while True:  # numbered probes until the receiver says every connection works
        seq += 1
        send(b"P%08d" % seq)
        if peer.recv_timeout(acks, 20) is not None:
            break
    ack = peer.receiver(acks)
    burst = _burst(kind, count)
    timed = 0
    left = count
    while left > 0:
        n = min(left, burst)
        start = now_us()
        for _ in range(n):
            send(data)
        timed += now_us() - start
        ack()  # the receivers drained this burst (not timed)
        left -= n
    print(f"peers: {peers}")
    print(f"average time per message: {timed / max(count, 1):.3f} [us]", flush=True)
    _linger(peer)
    peer.close(sock)
    peer.close(acks)


def fanout_recv(peer: Peer, kind: str, connect_to: str, peers: int, count: int) -> None:
    """Receivers: ``peers`` connections, drained in sweeps; acks the go and each burst.

    PUB: ready once some probe came through every connection of every socket (as many
    copies as the socket has connections).  PUSH spreads probes one connection each, so
    ready means the kernel lists every connection and one probe came."""
    _check_kind(kind)
    make = peer.pull if kind == "push" else (lambda: peer.sub([b""]))
    acks = peer.push()
    peer.connect(acks, ack_address(connect_to))
    socks, per_sock = _connected_sockets(peer, make, connect_to, peers)
    ack = peer.sender(acks)
    nowait = peer.recv_nowait
    copies: List[Dict[bytes, int]] = [{} for _ in socks]
    waiting = set(range(len(socks))) if kind == "pub" else {0}
    deadline = time.monotonic() + 60
    while waiting:
        for i, sock in enumerate(socks):
            msg = nowait(sock)
            while msg is not None:
                key = bytes(msg[:9])
                seen = copies[i][key] = copies[i].get(key, 0) + 1
                if kind == "push" or seen >= per_sock[i]:
                    waiting.discard(i)
                msg = nowait(sock)
        if time.monotonic() > deadline:
            raise RuntimeError(f"{len(waiting)} sockets never got a probe on every connection")
        time.sleep(0.001)
    ack(b"go")

    def drain(want: int) -> None:
        """Take messages until ``want`` data messages came (late probes are skipped)."""
        stall = time.monotonic() + 30
        while want > 0:
            got = False
            for sock in socks:
                msg = nowait(sock)
                while msg is not None:
                    got = True
                    if msg[0] == 0x44:  # "D"
                        want -= 1
                    msg = nowait(sock)
            if got:
                stall = time.monotonic() + 30
            elif time.monotonic() > stall:
                raise RuntimeError(f"{want} messages of a burst never came")
            else:
                time.sleep(0.0002)

    burst = _burst(kind, count)
    per_msg = 1 if kind == "push" else peers
    left = count
    while left > 0:
        n = min(left, burst)
        drain(n * per_msg)
        ack(b"ok")
        left -= n
    _linger(peer)
    for sock in socks:
        peer.close(sock)
    peer.close(acks)


def _linger(peer: Peer) -> None:
    if peer.close_drops_queued:
        time.sleep(1.0)


def _rss_bytes() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def conn_memory(peer: Peer, bind_to: str, connections: int) -> None:
    """RSS growth per tcp connection, both ends in this process: one PULL socket binds,
    PUSH sockets connect ``connections`` times, one message crosses each connection."""
    pull = peer.pull()
    peer.bind(pull, bind_to)
    port = _port(bind_to)
    connect_to = f"tcp://127.0.0.1:{port}"
    recv = peer.receiver(pull)
    msg = FILL_BYTE * FANOUT_SIZE

    def open_some(n: int, already: int) -> List[Any]:
        socks = [peer.push() for _ in range(_socket_count(peer, n))]
        for i in range(n):
            peer.connect(socks[i % len(socks)], connect_to)
        wait_established(port, already + n)
        for sock in socks:  # round robin: one message per connection
            send = peer.sender(sock)
            for _ in range((n + len(socks) - 1 - socks.index(sock)) // len(socks)):
                send(msg)
        for _ in range(n):
            recv()
        return socks

    warm = open_some(8, 0)  # library threads and first allocations
    gc.collect()
    time.sleep(0.2)
    before = _rss_bytes()
    socks = open_some(connections, 8)
    gc.collect()
    time.sleep(0.2)
    after = _rss_bytes()
    print(f"connections: {connections}")
    print(f"memory per connection: {(after - before) / max(connections, 1):.0f} [B]",
          flush=True)
    for sock in socks + warm:
        peer.close(sock)
    peer.close(pull)


#: tool name -> (argument names, function(peer, *args)), as :data:`nanopy.perf.TOOLS`.
SCALE_TOOLS: Dict[str, Tuple[Tuple[str, ...], ToolFunc]] = {
    "fanout_send": (("kind", "bind-to", "peers", "msg-count"), fanout_send),
    "fanout_recv": (("kind", "connect-to", "peers", "msg-count"), fanout_recv),
    "conn_memory": (("bind-to", "connections"), conn_memory),
}
