"""pynng (NNG) as a benchmark peer."""

from __future__ import annotations

from typing import Any, Callable, List, Optional

import pynng

from nanopy.perf import Peer


def _nng_address(address: str) -> str:
    """NNG spells "every interface" as an empty host, nanomsg as ``*``."""
    return address.replace("tcp://*:", "tcp://0.0.0.0:", 1)


class PynngPeer(Peer):
    """NNG sockets through pynng's blocking API."""

    name = "pynng"
    close_drops_queued = True

    def _tune(self, sock: pynng.Socket) -> pynng.Socket:
        sock.recv_max_size = 0  # 0 is "no limit" in NNG
        if self.nodelay is not None:  # NNG's default is on
            sock.tcp_nodelay = self.nodelay
        return sock

    def pair(self) -> pynng.Socket:
        return self._tune(pynng.Pair0())

    def pub(self) -> pynng.Socket:
        # NNG's PUB queues only 16 messages per peer by default and drops beyond that;
        # the matching test keeps up to 100 in flight.
        sock = self._tune(pynng.Pub0())
        sock.send_buffer_size = 1024
        return sock

    def sub(self, topics: List[bytes]) -> pynng.Socket:
        sock = self._tune(pynng.Sub0())
        sock.recv_buffer_size = 1024
        for topic in topics:
            sock.subscribe(topic)
        return sock

    def push(self) -> pynng.Socket:
        return self._tune(pynng.Push0())

    def pull(self) -> pynng.Socket:
        return self._tune(pynng.Pull0())

    def bind(self, sock: pynng.Socket, address: str) -> None:
        sock.listen(_nng_address(address))

    def connect(self, sock: pynng.Socket, address: str) -> None:
        sock.dial(_nng_address(address), block=False)

    def sender(self, sock: pynng.Socket) -> Callable[[bytes], Any]:
        return sock.send

    def receiver(self, sock: pynng.Socket) -> Callable[[], Any]:
        return sock.recv

    def recv_marker(self, sock: pynng.Socket) -> int:
        # pynng's recv() fails on an empty message ("cannot use unpack() on NULL").
        return len(sock.recv_msg().bytes)

    def recv_timeout(self, sock: pynng.Socket, timeout_ms: int) -> Optional[bytes]:
        sock.recv_timeout = timeout_ms
        try:
            return sock.recv()
        except pynng.Timeout:
            return None
        finally:
            sock.recv_timeout = -1

    def recv_nowait(self, sock: pynng.Socket) -> Optional[bytes]:
        try:
            return sock.recv(block=False)
        except pynng.TryAgain:
            return None

    def close(self, sock: pynng.Socket) -> None:
        sock.close()


PEER_CLASS = PynngPeer
