"""pyzmq (libzmq) as a benchmark peer."""

from __future__ import annotations

from typing import Any, Callable, List, Optional

import zmq

from nanopy.perf import Peer


class PyzmqPeer(Peer):
    """libzmq PAIR/PUB/SUB/PUSH/PULL sockets; one shared context so inproc works."""

    name = "pyzmq"
    # zmq_close keeps unsent messages until the context terminates (LINGER below);
    # finish() terminates it, so nothing queued is lost when the process exits.
    close_drops_queued = False
    # A second connect() of one socket to the same endpoint adds no connection.
    one_connection_per_endpoint = True

    def __init__(self) -> None:
        super().__init__()
        self.ctx = zmq.Context.instance()
        self.ctx.set(zmq.MAX_SOCKETS, 8192)  # the fan-out tools open one per connection

    def _socket(self, kind: int) -> zmq.Socket:
        if self.nodelay is False:
            raise RuntimeError("libzmq always sets TCP_NODELAY; it cannot be turned off")
        sock = self.ctx.socket(kind)
        sock.setsockopt(zmq.LINGER, 5000)
        sock.setsockopt(zmq.MAXMSGSIZE, -1)
        return sock

    def pair(self) -> zmq.Socket:
        return self._socket(zmq.PAIR)

    def pub(self) -> zmq.Socket:
        # libzmq credits a PUB pipe lazily: with the default high-water mark (1000) the
        # 11th window of the matching test gets dropped though only 100 are in flight.
        sock = self._socket(zmq.PUB)
        sock.setsockopt(zmq.SNDHWM, 0)
        return sock

    def sub(self, topics: List[bytes]) -> zmq.Socket:
        sock = self._socket(zmq.SUB)
        # Subscriptions travel to the PUB as messages: past SNDHWM they are dropped.
        sock.setsockopt(zmq.SNDHWM, 0)
        sock.setsockopt(zmq.RCVHWM, 0)
        for topic in topics:
            sock.setsockopt(zmq.SUBSCRIBE, topic)
        return sock

    def push(self) -> zmq.Socket:
        return self._socket(zmq.PUSH)

    def pull(self) -> zmq.Socket:
        return self._socket(zmq.PULL)

    def bind(self, sock: zmq.Socket, address: str) -> None:
        sock.bind(address)

    def connect(self, sock: zmq.Socket, address: str) -> None:
        sock.connect(address)

    def sender(self, sock: zmq.Socket) -> Callable[[bytes], Any]:
        return sock.send

    def receiver(self, sock: zmq.Socket) -> Callable[[], Any]:
        return sock.recv

    def recv_timeout(self, sock: zmq.Socket, timeout_ms: int) -> Optional[bytes]:
        if sock.poll(timeout_ms, zmq.POLLIN):
            return sock.recv()
        return None

    def recv_nowait(self, sock: zmq.Socket) -> Optional[bytes]:
        try:
            return sock.recv(zmq.NOBLOCK)
        except zmq.Again:
            return None

    def close(self, sock: zmq.Socket) -> None:
        sock.close()

    def finish(self) -> None:
        self.ctx.term()


PEER_CLASS = PyzmqPeer
