"""nnpy (native libnanomsg through cffi) as a benchmark peer."""

from __future__ import annotations

from typing import Any, Callable, List, Optional

import nnpy

from nanopy.perf import Peer


class NnpyPeer(Peer):
    """libnanomsg sockets; nanomsg 1.1.5 may drop queued messages on close, hence the
    one-second wait before closing (never inside the timed part)."""

    name = "nnpy"
    close_drops_queued = True

    def _socket(self, protocol: int) -> nnpy.Socket:
        sock = nnpy.Socket(nnpy.AF_SP, protocol)
        sock.setsockopt(nnpy.SOL_SOCKET, nnpy.RCVMAXSIZE, -1)
        if self.nodelay is not None:
            sock.setsockopt(nnpy.TCP, nnpy.TCP_NODELAY, int(self.nodelay))
        return sock

    def pair(self) -> nnpy.Socket:
        return self._socket(nnpy.PAIR)

    def pub(self) -> nnpy.Socket:
        return self._socket(nnpy.PUB)

    def sub(self, topics: List[bytes]) -> nnpy.Socket:
        sock = self._socket(nnpy.SUB)
        for topic in topics:
            sock.setsockopt(nnpy.SUB, nnpy.SUB_SUBSCRIBE, topic)
        return sock

    def push(self) -> nnpy.Socket:
        return self._socket(nnpy.PUSH)

    def pull(self) -> nnpy.Socket:
        return self._socket(nnpy.PULL)

    def bind(self, sock: nnpy.Socket, address: str) -> None:
        sock.bind(address)

    def connect(self, sock: nnpy.Socket, address: str) -> None:
        sock.connect(address)

    def sender(self, sock: nnpy.Socket) -> Callable[[bytes], Any]:
        return sock.send

    def receiver(self, sock: nnpy.Socket) -> Callable[[], Any]:
        return sock.recv

    def recv_timeout(self, sock: nnpy.Socket, timeout_ms: int) -> Optional[bytes]:
        sock.setsockopt(nnpy.SOL_SOCKET, nnpy.RCVTIMEO, timeout_ms)
        try:
            return sock.recv()
        except nnpy.NNError as exc:
            if exc.error_no != nnpy.ETIMEDOUT:
                raise
            return None
        finally:
            sock.setsockopt(nnpy.SOL_SOCKET, nnpy.RCVTIMEO, -1)

    def recv_nowait(self, sock: nnpy.Socket) -> Optional[bytes]:
        try:
            return sock.recv(flags=nnpy.DONTWAIT)
        except nnpy.NNError as exc:
            if exc.error_no != nnpy.EAGAIN:
                raise
            return None

    def close(self, sock: nnpy.Socket) -> None:
        sock.close()


PEER_CLASS = NnpyPeer
