"""nanomsg's perf tools, driven from Python; one implementation for nanopy and the bench.

``nanopy perf [OPTIONS] TOOL ARGS...`` (or ``python -m nanopy.perf ...``) runs one of
the six tools of nanomsg's ``perf/`` folder with the same arguments and the same
output lines, so scripts written for the C tools compare nanopy directly:

========================  ================================================
``local_lat``             ``<bind-to> <msg-size> <roundtrips>``: echo side
``remote_lat``            ``<connect-to> <msg-size> <roundtrips>``: timed side,
                          prints ``average latency: X [us]`` (RTT / 2)
``local_thr``             ``<bind-to> <msg-size> <msg-count>``: timed receiver
``remote_thr``            ``<connect-to> <msg-size> <msg-count>``: sender
``inproc_lat``            ``<msg-size> <roundtrips>``: two threads, one process
``inproc_thr``            ``<msg-size> <msg-count>``: two threads, one process
========================  ================================================

Socket options are those nanomsg's tools set: the latency tools turn Nagle off
(``NN_TCP_NODELAY=1``), the throughput tools set nothing.  Options:

- ``--nodelay`` / ``--no-nodelay``: set ``NN_TCP_NODELAY`` on (or off) in every tool.
- ``--api socket``: go through :class:`nanopy.Socket` instead of the ``nn_*`` functions.

Payload bytes are ``0x6F``.  Receivers of messages of a page (4096 bytes) or more read
one byte per page, so a library that hands over a buffer nobody reads gains nothing.
The formulas are nanomsg's: latency = elapsed_us / (roundtrips * 2);
msgs/s = trunc(count / elapsed_us * 1e6); Mb/s = msgs/s * size * 8 / 1e6.

Extra tools, same output lines:

- ``local_thr_batch``, ``remote_thr_batch``, ``inproc_thr_batch``: as their plain
  twins, but move messages with ``send_many``/``recv_many`` (256 a call).
- ``remote_lat_async``: ``remote_lat`` through ``Socket.asend``/``arecv`` under asyncio
  (its echo peer is the ordinary ``local_lat``).
- ``pub_feed <bind-to> <msg-size> <msg-count>`` and
  ``sub_match <connect-to> <msg-size> <msg-count> <subscriptions>``: PUB/SUB
  throughput while the SUB socket holds ``subscriptions - 1`` topics that never
  match plus the one that does; shows the cost of subscription matching.

Every tool is written once against :class:`Peer`, a small adapter over a messaging
library; the benchmark harness (``bench/``) plugs pyzmq, pynng and nnpy into the same
tools, so every library runs the same loop.

Addresses may use every transport, ``ws://``, ``wss://``, ``tls+tcp://`` and ``abstract://``
included. The TLS ones read their certificates from the environment: the binding side
``NANOPY_TLS_CERT`` and ``NANOPY_TLS_KEY`` (PEM files), the connecting side
``NANOPY_TLS_CA`` (without it the server's certificate is not verified: benchmarks only).
"""

from __future__ import annotations

import asyncio
import functools
import sys
import threading
import time
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

__all__ = ["main", "TOOLS", "Peer", "NanopyPeer", "SocketPeer", "run_tool"]

#: Payload byte of nanomsg's perf tools (``'o'``).
FILL_BYTE = b"o"

#: Receivers read one byte per page of messages at least this large.
PAGE = 4096

#: Messages moved per ``send_many`` call by the batch tools.
BATCH_SIZE = 256

#: Data messages between two acknowledgements in ``pub_feed``/``sub_match``; small enough
#: that a window always fits in the socket buffers, so PUB never has to drop.
SUB_WINDOW = 100

#: Topic every ``sub_match`` data message starts with; the non-matching
#: subscriptions share its first six bytes (``bench.``) so matching must look deeper.
SUB_TOPIC = b"bench.match"

#: Tools that set TCP_NODELAY by default, as nanomsg's latency tools do.
NODELAY_TOOLS = ("local_lat", "remote_lat", "inproc_lat", "remote_lat_async",
                 "pub_feed", "sub_match")

Sock = Any


def _tls_before(nn: Any, s: int, address: str, server: bool) -> None:
    """Give socket s the TLS configuration a tls+tcp:// or wss:// endpoint needs, from
    NANOPY_TLS_CERT/NANOPY_TLS_KEY (binding side) or NANOPY_TLS_CA (connecting side)."""
    import os

    from .tls import TLS_OPTION_CONFIG, TLS_OPTION_LEVEL, TLSConfig, needs_tls

    if not needs_tls(address):
        return
    env = os.environ
    if server:
        config = TLSConfig(server=True, cert_file=env.get("NANOPY_TLS_CERT"),
                           key_file=env.get("NANOPY_TLS_KEY"))
    else:
        ca = env.get("NANOPY_TLS_CA")
        config = TLSConfig(server=False, ca_file=ca, verify=ca is not None)
    nn.nn_setsockopt(s, TLS_OPTION_LEVEL, TLS_OPTION_CONFIG, config.to_bytes())


def _bind(nn: Any, s: int, address: str) -> None:
    _tls_before(nn, s, address, True)
    nn.nn_bind(s, address)


def _connect(nn: Any, s: int, address: str) -> None:
    _tls_before(nn, s, address, False)
    nn.nn_connect(s, address)


class UsageError(Exception):
    """Wrong argument count or a non-numeric number: print the usage line, exit 1."""


# ---- library adapters ---------------------------------------------------------------------


class Peer:
    """One messaging library, reduced to what the perf tools need.

    ``nodelay`` is None (leave the library's default), True or False; subclasses apply
    it to every socket they open, with no receive size limit where the library has one.
    """

    #: Short name used on the command line and in the results table.
    name = "peer"
    #: True when closing a socket drops messages still queued: the sending tools then
    #: wait a second before closing (the harness never times that wait).
    close_drops_queued = False

    def __init__(self) -> None:
        self.nodelay: Optional[bool] = None

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

    def recv_timeout(self, sock: Sock, timeout_ms: int) -> Optional[Any]:
        """Receive one message, or None when none came within ``timeout_ms``."""
        raise NotImplementedError

    def recv_nowait(self, sock: Sock) -> Optional[Any]:
        """Receive one message if one is queued, else None (never blocks)."""
        return self.recv_timeout(sock, 0)

    def batch(self) -> Optional[Tuple[Callable[..., int], Callable[..., List[Any]]]]:
        """(send_many(sock, msgs), recv_many(sock, max)) when the library has them."""
        return None

    def close(self, sock: Sock) -> None:
        """Close ``sock``."""
        raise NotImplementedError

    def finish(self) -> None:
        """Called once after the tool ran: flush and release library-wide state."""


def _nanopy() -> Any:
    """Import nanopy lazily so ``nanopy.perf`` can be inspected without the core built."""
    import nanopy

    return nanopy


class NanopyPeer(Peer):
    """nanopy through the ``nn_*`` functions (integer socket handles)."""

    name = "nanopy"

    def __init__(self) -> None:
        super().__init__()
        self.nn = _nanopy()

    def _socket(self, protocol: int) -> int:
        nn = self.nn
        s: int = nn.nn_socket(nn.AF_SP, protocol)
        nn.nn_setsockopt(s, nn.NN_SOL_SOCKET, nn.NN_RCVMAXSIZE, -1)
        if self.nodelay is not None:
            nn.nn_setsockopt(s, nn.NN_TCP, nn.NN_TCP_NODELAY, int(self.nodelay))
        return s

    def pair(self) -> int:
        return self._socket(self.nn.NN_PAIR)

    def pub(self) -> int:
        return self._socket(self.nn.NN_PUB)

    def sub(self, topics: List[bytes]) -> int:
        s = self._socket(self.nn.NN_SUB)
        for topic in topics:
            self.nn.nn_setsockopt(s, self.nn.NN_SUB, self.nn.NN_SUB_SUBSCRIBE, topic)
        return s

    def push(self) -> int:
        return self._socket(self.nn.NN_PUSH)

    def pull(self) -> int:
        return self._socket(self.nn.NN_PULL)

    def bind(self, sock: int, address: str) -> None:
        _bind(self.nn, sock, address)

    def connect(self, sock: int, address: str) -> None:
        _connect(self.nn, sock, address)

    def sender(self, sock: int) -> Callable[[bytes], Any]:
        return functools.partial(self.nn.nn_send, sock)  # flags default to 0

    def receiver(self, sock: int) -> Callable[[], Any]:
        return functools.partial(self.nn.nn_recv, sock)

    def recv_timeout(self, sock: int, timeout_ms: int) -> Optional[Any]:
        nn = self.nn
        if timeout_ms == 0:
            return self.recv_nowait(sock)
        nn.nn_setsockopt(sock, nn.NN_SOL_SOCKET, nn.NN_RCVTIMEO, timeout_ms)
        try:
            return nn.nn_recv(sock, 0)
        except nn.NNError as exc:
            if exc.errno != nn.ETIMEDOUT:
                raise
            return None
        finally:
            nn.nn_setsockopt(sock, nn.NN_SOL_SOCKET, nn.NN_RCVTIMEO, -1)

    def recv_nowait(self, sock: int) -> Optional[Any]:
        nn = self.nn
        try:
            return nn.nn_recv(sock, nn.NN_DONTWAIT)
        except nn.NNError as exc:
            if exc.errno != nn.EAGAIN:
                raise
            return None

    def batch(self) -> Optional[Tuple[Callable[..., int], Callable[..., List[Any]]]]:
        nn = self.nn
        if not (hasattr(nn, "send_many") and hasattr(nn, "recv_many")):
            return None
        send_many, recv_many = nn.send_many, nn.recv_many
        return (lambda s, msgs: send_many(s, msgs, 0)), (lambda s, n: recv_many(s, n, 0))

    def close(self, sock: int) -> None:
        self.nn.nn_close(sock)


class SocketPeer(Peer):
    """nanopy through :class:`nanopy.Socket` (the Pythonic API)."""

    name = "nanopy-socket"

    def __init__(self) -> None:
        super().__init__()
        self.nn = _nanopy()

    def _socket(self, protocol: int) -> Any:
        sock = self.nn.Socket(protocol)
        sock.recv_max_size = -1
        if self.nodelay is not None:
            sock.tcp_nodelay = self.nodelay
        return sock

    def pair(self) -> Any:
        return self._socket(self.nn.PAIR)

    def pub(self) -> Any:
        return self._socket(self.nn.PUB)

    def sub(self, topics: List[bytes]) -> Any:
        sock = self._socket(self.nn.SUB)
        for topic in topics:
            sock.subscribe(topic)
        return sock

    def push(self) -> Any:
        return self._socket(self.nn.PUSH)

    def pull(self) -> Any:
        return self._socket(self.nn.PULL)

    def bind(self, sock: Any, address: str) -> None:
        sock.bind(address)

    def connect(self, sock: Any, address: str) -> None:
        sock.connect(address)

    def sender(self, sock: Any) -> Callable[[bytes], Any]:
        return sock.send  # type: ignore[no-any-return]

    def receiver(self, sock: Any) -> Callable[[], Any]:
        return sock.recv  # type: ignore[no-any-return]

    def recv_timeout(self, sock: Any, timeout_ms: int) -> Optional[Any]:
        if timeout_ms == 0:
            return self.recv_nowait(sock)
        sock.recv_timeout = timeout_ms
        try:
            return sock.recv()
        except self.nn.NNError as exc:
            if exc.errno != self.nn.ETIMEDOUT:
                raise
            return None
        finally:
            sock.recv_timeout = -1

    def recv_nowait(self, sock: Any) -> Optional[Any]:
        try:
            return sock.recv(block=False)
        except self.nn.NNError as exc:
            if exc.errno != self.nn.EAGAIN:
                raise
            return None

    def batch(self) -> Optional[Tuple[Callable[..., int], Callable[..., List[Any]]]]:
        return (lambda s, msgs: s.send_many(msgs)), (lambda s, n: s.recv_many(n))

    def close(self, sock: Any) -> None:
        sock.close()


#: API name (``--api``) -> adapter class for nanopy itself.
NANOPY_APIS: Dict[str, Callable[[], Peer]] = {"nn": NanopyPeer, "socket": SocketPeer}


# ---- printing and checks ------------------------------------------------------------------


def now_us() -> int:
    """Monotonic clock in microseconds."""
    return time.perf_counter_ns() // 1000


def _atoi(text: str) -> int:
    """Parse an integer argument, as C's ``atoi`` would for well-formed input."""
    try:
        return int(text)
    except ValueError as exc:
        raise UsageError(f"not a number: {text!r}") from exc


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


def _check_size(got: int, want: int) -> None:
    if got != want:
        raise RuntimeError(f"received a {got}-byte message, expected {want}")


def touch(msg: Any) -> int:
    """Read one byte per page of ``msg`` (any buffer); returns their sum."""
    view = memoryview(msg).cast("B")
    return sum(view[::PAGE])


def _linger(peer: Peer) -> None:
    if peer.close_drops_queued:
        time.sleep(1.0)


# ---- latency ------------------------------------------------------------------------------


def _echo(peer: Peer, sock: Sock, size: int, roundtrips: int) -> None:
    send, recv = peer.sender(sock), peer.receiver(sock)
    for _ in range(roundtrips):
        msg = recv()
        if len(msg) != size:
            _check_size(len(msg), size)
        send(msg)


def _ping(peer: Peer, sock: Sock, size: int, roundtrips: int) -> int:
    """Send/receive ``roundtrips`` times; returns the elapsed microseconds."""
    send, recv = peer.sender(sock), peer.receiver(sock)
    payload = FILL_BYTE * size
    start = now_us()
    for _ in range(roundtrips):
        send(payload)
        msg = recv()
        if len(msg) != size:
            _check_size(len(msg), size)
    return now_us() - start


def local_lat(peer: Peer, bind_to: str, size: int, roundtrips: int) -> None:
    """Bind, then echo ``roundtrips`` messages of ``size`` bytes back to the peer."""
    sock = peer.pair()
    peer.bind(sock, bind_to)
    _echo(peer, sock, size, roundtrips)
    _linger(peer)
    peer.close(sock)


def remote_lat(peer: Peer, connect_to: str, size: int, roundtrips: int) -> None:
    """Connect, time ``roundtrips`` round trips, print the one-way latency."""
    sock = peer.pair()
    peer.connect(sock, connect_to)
    elapsed = _ping(peer, sock, size, roundtrips)
    print_latency(size, roundtrips, elapsed)
    peer.close(sock)


def inproc_lat(peer: Peer, size: int, roundtrips: int) -> None:
    """Round trips between two threads over ``inproc://inproc_lat``."""
    sock = peer.pair()
    peer.bind(sock, "inproc://inproc_lat")
    done = threading.Event()

    def worker() -> None:
        other = peer.pair()
        peer.connect(other, "inproc://inproc_lat")
        _echo(peer, other, size, roundtrips)
        done.wait()
        peer.close(other)

    thread = threading.Thread(target=worker, name="inproc_lat echo", daemon=True)
    thread.start()
    time.sleep(0.1)
    elapsed = _ping(peer, sock, size, roundtrips)
    done.set()
    thread.join()
    print_latency(size, roundtrips, elapsed)
    peer.close(sock)


def remote_lat_async(peer: Peer, connect_to: str, size: int, roundtrips: int) -> None:
    """``remote_lat`` through ``Socket.asend``/``Socket.arecv`` on an asyncio loop."""
    nn = _nanopy()
    if not (hasattr(nn.Socket, "asend") and hasattr(nn.Socket, "arecv")):
        raise RuntimeError("nanopy.Socket has no asend/arecv")

    async def run() -> int:
        with nn.Socket(nn.PAIR) as sock:
            sock.recv_max_size = -1
            if peer.nodelay is not None:
                sock.tcp_nodelay = peer.nodelay
            sock.connect(connect_to)
            payload = FILL_BYTE * size
            asend, arecv = sock.asend, sock.arecv
            start = now_us()
            for _ in range(roundtrips):
                await asend(payload)
                msg = await arecv()
                if len(msg) != size:
                    _check_size(len(msg), size)
            return now_us() - start

    elapsed = asyncio.run(run())
    print_latency(size, roundtrips, elapsed)


# ---- throughput ---------------------------------------------------------------------------


def _receive_counted(peer: Peer, sock: Sock, size: int, count: int, batch: bool) -> int:
    """Wait for the empty start marker, then time ``count`` messages; returns microseconds.
    Messages of a page or more are read one byte per page."""
    _check_size(peer.recv_marker(sock), 0)
    big = size >= PAGE
    if batch:
        pair = peer.batch()
        if pair is None:
            raise RuntimeError(f"{peer.name} has no send_many/recv_many")
        recv_many = pair[1]
        expected = FILL_BYTE * size
        start = now_us()
        left = count
        while left > 0:
            msgs = recv_many(sock, min(left, BATCH_SIZE))
            if big:
                for msg in msgs:
                    if len(msg) != size:
                        _check_size(len(msg), size)
                    touch(msg)
            elif msgs.count(expected) != len(msgs):
                # Every message compared with the payload sent (length, then bytes) at C
                # speed: a Python loop here would cost more than nanopy's own work.
                for msg in msgs:
                    _check_size(len(msg), size)
            left -= len(msgs)
        return now_us() - start
    recv = peer.receiver(sock)
    start = now_us()
    if big:
        for _ in range(count):
            msg = recv()
            if len(msg) != size:
                _check_size(len(msg), size)
            touch(msg)
    else:
        for _ in range(count):
            msg = recv()
            if len(msg) != size:
                _check_size(len(msg), size)
    return now_us() - start


def _send_counted(peer: Peer, sock: Sock, size: int, count: int, batch: bool) -> None:
    """Send the empty start marker, then ``count`` messages of ``size`` bytes."""
    send = peer.sender(sock)
    payload = FILL_BYTE * size
    send(b"")
    if batch:
        pair = peer.batch()
        if pair is None:
            raise RuntimeError(f"{peer.name} has no send_many/recv_many")
        send_many = pair[0]
        full = [payload] * BATCH_SIZE
        left = count
        while left > 0:
            chunk = full if left >= BATCH_SIZE else full[:left]
            sent = 0
            while sent < len(chunk):
                sent += send_many(sock, chunk[sent:] if sent else chunk)
            left -= len(chunk)
    else:
        for _ in range(count):
            send(payload)


def local_thr(peer: Peer, bind_to: str, size: int, count: int, batch: bool = False) -> None:
    """Bind, receive the start marker and ``count`` messages, print the throughput."""
    sock = peer.pair()
    peer.bind(sock, bind_to)
    elapsed = _receive_counted(peer, sock, size, count, batch)
    print_throughput(size, count, elapsed)
    peer.close(sock)


def remote_thr(peer: Peer, connect_to: str, size: int, count: int, batch: bool = False) -> None:
    """Connect, send the start marker and ``count`` messages, then close."""
    sock = peer.pair()
    peer.connect(sock, connect_to)
    _send_counted(peer, sock, size, count, batch)
    _linger(peer)
    peer.close(sock)


def inproc_thr(peer: Peer, size: int, count: int, batch: bool = False) -> None:
    """One-way throughput between two threads over ``inproc://inproc_thr``."""
    sock = peer.pair()
    peer.bind(sock, "inproc://inproc_thr")
    done = threading.Event()

    def worker() -> None:
        other = peer.pair()
        peer.connect(other, "inproc://inproc_thr")
        _send_counted(peer, other, size, count, batch)
        done.wait()
        peer.close(other)

    thread = threading.Thread(target=worker, name="inproc_thr sender", daemon=True)
    thread.start()
    elapsed = _receive_counted(peer, sock, size, count, batch)
    done.set()
    thread.join()
    print_throughput(size, count, elapsed, prefix="mean ")
    peer.close(sock)


# ---- PUB/SUB subscription matching --------------------------------------------------------


def ack_address(address: str) -> str:
    """The back-channel address derived from a data address: TCP port + 1, or the IPC
    path / inproc name with ``.ack`` appended."""
    if address.startswith("tcp://"):
        host, _, port = address.rpartition(":")
        return f"{host}:{int(port) + 1}"
    return address + ".ack"


def non_matching_topics(count: int) -> List[bytes]:
    """``count`` topics sharing ``bench.`` with the data but never matching it."""
    return [b"bench.%07d" % i for i in range(count)]


def pub_feed(peer: Peer, bind_to: str, size: int, count: int) -> None:
    """PUB side of the matching test: probes until SUB answers, then windows of data."""
    if size < len(SUB_TOPIC) + 1:
        raise RuntimeError(f"msg-size must be at least {len(SUB_TOPIC) + 1}")
    pub, acks = peer.pub(), peer.pull()
    peer.bind(pub, bind_to)
    peer.bind(acks, ack_address(bind_to))
    send, recv = peer.sender(pub), peer.receiver(acks)
    probe = (SUB_TOPIC + b"P").ljust(size, FILL_BYTE)
    data = (SUB_TOPIC + b"D").ljust(size, FILL_BYTE)
    # Subscriptions take effect asynchronously: repeat a probe until SUB has seen one.
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
    _linger(peer)
    peer.close(pub)
    peer.close(acks)


def sub_match(peer: Peer, connect_to: str, size: int, count: int, subscriptions: int) -> None:
    """SUB side: hold ``subscriptions`` topics (one matching), time ``count`` messages."""
    sub = peer.sub(non_matching_topics(max(subscriptions - 1, 0)) + [SUB_TOPIC])
    acks = peer.push()
    peer.connect(sub, connect_to)
    peer.connect(acks, ack_address(connect_to))
    send, recv = peer.sender(acks), peer.receiver(sub)
    recv()  # the first probe: PUB now reaches us
    send(b"go")
    kind = len(SUB_TOPIC)
    received = 0
    start = now_us()
    while received < count:
        msg = recv()
        if msg[kind] != 0x44:  # a late probe ("P"), not data ("D")
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


# ---- command line -------------------------------------------------------------------------

ToolFunc = Callable[..., None]

#: tool name -> (argument names, function(peer, *args)); ``*-to`` and ``kind`` arguments
#: stay strings, the others are integers.
TOOLS: Dict[str, Tuple[Tuple[str, ...], ToolFunc]] = {
    "local_lat": (("bind-to", "msg-size", "roundtrips"), local_lat),
    "remote_lat": (("connect-to", "msg-size", "roundtrips"), remote_lat),
    "local_thr": (("bind-to", "msg-size", "msg-count"), local_thr),
    "remote_thr": (("connect-to", "msg-size", "msg-count"), remote_thr),
    "inproc_lat": (("msg-size", "roundtrips"), inproc_lat),
    "inproc_thr": (("msg-size", "msg-count"), inproc_thr),
    "local_thr_batch": (("bind-to", "msg-size", "msg-count"),
                        lambda p, *a: local_thr(p, *a, batch=True)),
    "remote_thr_batch": (("connect-to", "msg-size", "msg-count"),
                         lambda p, *a: remote_thr(p, *a, batch=True)),
    "inproc_thr_batch": (("msg-size", "msg-count"), lambda p, *a: inproc_thr(p, *a, batch=True)),
    "remote_lat_async": (("connect-to", "msg-size", "roundtrips"), remote_lat_async),
    "pub_feed": (("bind-to", "msg-size", "msg-count"), pub_feed),
    "sub_match": (("connect-to", "msg-size", "msg-count", "subscriptions"), sub_match),
}

_OPTIONS_USAGE = "[--nodelay | --no-nodelay] [--api nn|socket]"


def _usage(prog: str, tools: Dict[str, Tuple[Tuple[str, ...], ToolFunc]]) -> str:
    lines = [f"usage: {prog} {_OPTIONS_USAGE} <tool> <args...>", "tools:"]
    lines += [f"  {name} {' '.join(f'<{a}>' for a in args)}" for name, (args, _) in tools.items()]
    return "\n".join(lines)


def parse_options(args: List[str]) -> Tuple[Dict[str, Any], List[str]]:
    """Split the leading ``--nodelay``/``--no-nodelay``/``--api X`` options off ``args``."""
    options: Dict[str, Any] = {"nodelay": None, "api": "nn"}
    rest = list(args)
    while rest and rest[0].startswith("--") and rest[0] != "--help":
        opt = rest.pop(0)
        if opt == "--nodelay":
            options["nodelay"] = True
        elif opt == "--no-nodelay":
            options["nodelay"] = False
        elif opt == "--api" and rest:
            options["api"] = rest.pop(0)
        elif opt.startswith("--api="):
            options["api"] = opt.split("=", 1)[1]
        else:
            raise UsageError(f"unknown option {opt!r}")
    if options["api"] not in NANOPY_APIS:
        raise UsageError(f"--api must be one of {', '.join(NANOPY_APIS)}")
    return options, rest


def run_tool(peer: Peer, name: str, args: Sequence[str],
             tools: Optional[Dict[str, Tuple[Tuple[str, ...], ToolFunc]]] = None) -> None:
    """Run tool ``name`` of ``tools`` (default :data:`TOOLS`) with ``peer``.

    Parameters
    ----------
    peer:
        The library adapter; its ``nodelay`` is set to the tool's default when None.
    name, args:
        Tool name and its command-line arguments (strings).
    tools:
        Table of tools to pick from.

    Raises
    ------
    UsageError
        Unknown tool, wrong argument count or a non-numeric argument.
    """
    table = TOOLS if tools is None else tools
    if name not in table:
        raise UsageError(f"unknown tool {name!r}")
    names, func = table[name]
    if len(args) != len(names):
        raise UsageError(f"{name} takes {len(names)} arguments")
    values = [a if n.endswith("-to") or n == "kind" else _atoi(a) for n, a in zip(names, args)]
    if peer.nodelay is None and name in NODELAY_TOOLS:
        peer.nodelay = True
    func(peer, *values)
    peer.finish()


def main(argv: Optional[List[str]] = None, prog: str = "nanopy perf",
         peer_factory: Optional[Callable[[], Peer]] = None,
         tools: Optional[Dict[str, Tuple[Tuple[str, ...], ToolFunc]]] = None) -> int:
    """Run one perf tool.

    Parameters
    ----------
    argv:
        ``[options..., tool, arg, ...]`` as typed after ``nanopy perf``; defaults to
        ``sys.argv[1:]``.
    prog:
        Name shown in the usage text.
    peer_factory:
        Makes the library adapter (default: nanopy, through the API ``--api`` names).
    tools:
        Table of tools (default :data:`TOOLS`).

    Returns
    -------
    int
        0 on success, 1 on a usage error (as nanomsg's tools), 2 when the run failed.
    """
    table = TOOLS if tools is None else tools
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in ("-h", "--help"):
        print(_usage(prog, table))
        return 0
    try:
        options, rest = parse_options(args)
    except UsageError as exc:
        print(f"{_usage(prog, table)}\n({exc})")
        return 1
    if not rest or rest[0] not in table:
        print(_usage(prog, table))
        return 1
    name = rest[0]
    arg_text = " ".join(f"<{a}>" for a in table[name][0])
    try:
        peer = (peer_factory or NANOPY_APIS[options["api"]])()
        peer.nodelay = options["nodelay"]
        run_tool(peer, name, rest[1:], table)
    except UsageError as exc:
        print(f"usage: {name} {arg_text} ({exc})")
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # noqa: BLE001 - report any failure as one line, like the C tools
        sys.stderr.write(f"{name}: {type(exc).__name__}: {exc}\n")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(prog="python -m nanopy.perf"))
