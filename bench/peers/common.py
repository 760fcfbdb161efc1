"""The perf tools, written once against the small :class:`Peer` interface.

Arguments and printed lines are those of nanomsg's perf tools (shared NANOMSG.md
section 7) so ``bench/run.py`` parses every implementation's output with one
parser.  The hot loops bind the library's own ``send``/``recv`` to locals: what is
measured is the library call, not this module.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Callable, List, Optional

#: Payload byte of nanomsg's perf tools (``'o'``).
FILL_BYTE = b"o"

#: Data messages between two acknowledgements in the PUB/SUB matching test.
SUB_WINDOW = 100

#: Topic of the PUB/SUB matching test's data; non-matching topics share ``bench.``.
SUB_TOPIC = b"bench.match"

Sock = Any


class Peer:
    """One messaging library, reduced to what the perf tools need.

    Subclasses open sockets with the perf tools' options (no receive size limit,
    Nagle off, a linger that lets queued messages out) and hand back the library's
    bound send/recv methods.
    """

    #: Short name used on the command line and in the results table.
    name = "peer"
    #: True when closing a socket drops messages still queued (native nanomsg, NNG):
    #: the sending tools then wait a second before closing, as nanomsg's tools do.
    close_drops_queued = True

    def pair(self) -> Sock:
        """A PAIR socket."""
        raise NotImplementedError

    def pub(self) -> Sock:
        """A PUB socket."""
        raise NotImplementedError

    def sub(self, topics: List[bytes]) -> Sock:
        """A SUB socket subscribed to every topic of ``topics``."""
        raise NotImplementedError

    def push(self) -> Sock:
        """A PUSH socket."""
        raise NotImplementedError

    def pull(self) -> Sock:
        """A PULL socket."""
        raise NotImplementedError

    def bind(self, sock: Sock, address: str) -> None:
        """Listen on ``address`` (nanomsg syntax)."""
        raise NotImplementedError

    def connect(self, sock: Sock, address: str) -> None:
        """Connect to ``address`` without waiting for the peer to be there."""
        raise NotImplementedError

    def sender(self, sock: Sock) -> Callable[[bytes], Any]:
        """The library's bound send method for ``sock``."""
        raise NotImplementedError

    def receiver(self, sock: Sock) -> Callable[[], Any]:
        """The library's bound receive method for ``sock``; returns a sized message."""
        raise NotImplementedError

    def recv_marker(self, sock: Sock) -> int:
        """Receive the throughput test's start marker; returns its size (0 expected)."""
        return len(self.receiver(sock)())

    def recv_timeout(self, sock: Sock, timeout_ms: int) -> Optional[bytes]:
        """Receive one message, or None when none came within ``timeout_ms``."""
        raise NotImplementedError

    def close(self, sock: Sock) -> None:
        """Close ``sock``."""
        raise NotImplementedError

    def finish(self) -> None:
        """Called once after the tool ran: flush and release library-wide state."""


def now_us() -> int:
    """Monotonic clock in microseconds."""
    return time.perf_counter_ns() // 1000


def print_latency(size: int, roundtrips: int, elapsed_us: int) -> None:
    """Print ``remote_lat``'s three lines (latency = elapsed / (roundtrips * 2))."""
    latency = elapsed_us / (roundtrips * 2) if roundtrips else 0.0
    print(f"message size: {size} [B]")
    print(f"roundtrip count: {roundtrips}")
    print(f"average latency: {latency:.3f} [us]", flush=True)


def print_throughput(size: int, count: int, elapsed_us: int, prefix: str = "") -> None:
    """Print ``local_thr``'s four lines with nanomsg's truncating formulas."""
    elapsed_us = max(elapsed_us, 1)
    msgs_per_s = int(count / elapsed_us * 1_000_000)
    megabits = msgs_per_s * size * 8 / 1_000_000
    print(f"message size: {size} [B]")
    print(f"message count: {count}")
    print(f"{prefix}throughput: {msgs_per_s} [msg/s]")
    print(f"{prefix}throughput: {megabits:.3f} [Mb/s]", flush=True)


def _check(got: int, want: int) -> None:
    if got != want:
        raise RuntimeError(f"received a {got}-byte message, expected {want}")


def _echo(peer: Peer, sock: Sock, size: int, roundtrips: int) -> None:
    send, recv = peer.sender(sock), peer.receiver(sock)
    for _ in range(roundtrips):
        msg = recv()
        if len(msg) != size:
            _check(len(msg), size)
        send(msg)


def _ping(peer: Peer, sock: Sock, size: int, roundtrips: int) -> int:
    send, recv = peer.sender(sock), peer.receiver(sock)
    payload = FILL_BYTE * size
    start = now_us()
    for _ in range(roundtrips):
        send(payload)
        msg = recv()
        if len(msg) != size:
            _check(len(msg), size)
    return now_us() - start


def _receive_counted(peer: Peer, sock: Sock, size: int, count: int) -> int:
    recv = peer.receiver(sock)
    _check(peer.recv_marker(sock), 0)
    start = now_us()
    for _ in range(count):
        msg = recv()
        if len(msg) != size:
            _check(len(msg), size)
    return now_us() - start


def _send_counted(peer: Peer, sock: Sock, size: int, count: int) -> None:
    send = peer.sender(sock)
    payload = FILL_BYTE * size
    send(b"")
    for _ in range(count):
        send(payload)


def _linger(peer: Peer) -> None:
    if peer.close_drops_queued:
        time.sleep(1.0)


def local_lat(peer: Peer, bind_to: str, size: int, roundtrips: int) -> None:
    """Echo side of the latency test."""
    sock = peer.pair()
    peer.bind(sock, bind_to)
    _echo(peer, sock, size, roundtrips)
    _linger(peer)
    peer.close(sock)


def remote_lat(peer: Peer, connect_to: str, size: int, roundtrips: int) -> None:
    """Timed side of the latency test."""
    sock = peer.pair()
    peer.connect(sock, connect_to)
    elapsed = _ping(peer, sock, size, roundtrips)
    print_latency(size, roundtrips, elapsed)
    peer.close(sock)


def local_thr(peer: Peer, bind_to: str, size: int, count: int) -> None:
    """Timed receiving side of the throughput test."""
    sock = peer.pair()
    peer.bind(sock, bind_to)
    elapsed = _receive_counted(peer, sock, size, count)
    print_throughput(size, count, elapsed)
    peer.close(sock)


def remote_thr(peer: Peer, connect_to: str, size: int, count: int) -> None:
    """Sending side of the throughput test."""
    sock = peer.pair()
    peer.connect(sock, connect_to)
    _send_counted(peer, sock, size, count)
    _linger(peer)
    peer.close(sock)


def inproc_lat(peer: Peer, size: int, roundtrips: int) -> None:
    """Round trips between two threads of this process."""
    sock = peer.pair()
    peer.bind(sock, "inproc://inproc_lat")
    done = threading.Event()

    def worker() -> None:
        other = peer.pair()
        peer.connect(other, "inproc://inproc_lat")
        _echo(peer, other, size, roundtrips)
        done.wait()
        peer.close(other)

    thread = threading.Thread(target=worker, daemon=True)
    thread.start()
    time.sleep(0.1)
    elapsed = _ping(peer, sock, size, roundtrips)
    done.set()
    thread.join()
    print_latency(size, roundtrips, elapsed)
    peer.close(sock)


def inproc_thr(peer: Peer, size: int, count: int) -> None:
    """One-way throughput between two threads of this process."""
    sock = peer.pair()
    peer.bind(sock, "inproc://inproc_thr")
    done = threading.Event()

    def worker() -> None:
        other = peer.pair()
        peer.connect(other, "inproc://inproc_thr")
        _send_counted(peer, other, size, count)
        done.wait()
        peer.close(other)

    thread = threading.Thread(target=worker, daemon=True)
    thread.start()
    elapsed = _receive_counted(peer, sock, size, count)
    done.set()
    thread.join()
    print_throughput(size, count, elapsed, prefix="mean ")
    peer.close(sock)


def ack_address(address: str) -> str:
    """Back-channel address of the matching test: TCP port + 1, or ``.ack`` appended."""
    if address.startswith("tcp://"):
        host, _, port = address.rpartition(":")
        return f"{host}:{int(port) + 1}"
    return address + ".ack"


def pub_feed(peer: Peer, bind_to: str, size: int, count: int) -> None:
    """PUB side of the matching test (same protocol as ``nanopy.perf.pub_feed``)."""
    pub, acks = peer.pub(), peer.pull()
    peer.bind(pub, bind_to)
    peer.bind(acks, ack_address(bind_to))
    send, recv = peer.sender(pub), peer.receiver(acks)
    probe = (SUB_TOPIC + b"P").ljust(size, FILL_BYTE)
    data = (SUB_TOPIC + b"D").ljust(size, FILL_BYTE)
    while True:
        send(probe)
        if peer.recv_timeout(acks, 10) is not None:
            break
    left = count
    while left > 0:
        window = min(left, SUB_WINDOW)
        for _ in range(window):
            send(data)
        recv()
        left -= window
    peer.close(pub)
    peer.close(acks)


def sub_match(peer: Peer, connect_to: str, size: int, count: int, subscriptions: int) -> None:
    """SUB side of the matching test: ``subscriptions - 1`` topics never match."""
    topics = [b"bench.%07d" % i for i in range(max(subscriptions - 1, 0))]
    sub = peer.sub(topics + [SUB_TOPIC])
    acks = peer.push()
    peer.connect(sub, connect_to)
    peer.connect(acks, ack_address(connect_to))
    send, recv = peer.sender(acks), peer.receiver(sub)
    recv()
    send(b"go")
    kind = len(SUB_TOPIC)
    received = 0
    start = now_us()
    while received < count:
        msg = bytes(recv())
        if msg[kind] != 0x44:  # a late probe, not data
            continue
        received += 1
        if received % SUB_WINDOW == 0 or received == count:
            send(b"ok")
    elapsed = now_us() - start
    print(f"subscriptions: {subscriptions}")
    print(f"average time per message: {elapsed / max(count, 1):.3f} [us]")
    print_throughput(size, count, elapsed)
    _linger(peer)
    peer.close(sub)
    peer.close(acks)


#: tool name -> (argument names, function(peer, *args)); addresses stay str, the rest int.
TOOLS = {
    "local_lat": (("bind-to", "msg-size", "roundtrips"), local_lat),
    "remote_lat": (("connect-to", "msg-size", "roundtrips"), remote_lat),
    "local_thr": (("bind-to", "msg-size", "msg-count"), local_thr),
    "remote_thr": (("connect-to", "msg-size", "msg-count"), remote_thr),
    "inproc_lat": (("msg-size", "roundtrips"), inproc_lat),
    "inproc_thr": (("msg-size", "msg-count"), inproc_thr),
    "pub_feed": (("bind-to", "msg-size", "msg-count"), pub_feed),
    "sub_match": (("connect-to", "msg-size", "msg-count", "subscriptions"), sub_match),
}
