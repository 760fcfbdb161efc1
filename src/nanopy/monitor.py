"""Connection events of a socket: ``sock.monitor()`` returns a :class:`Monitor` that yields a
:class:`PipeEvent` each time a connection comes or goes, or a dial, accept or SP handshake
fails.

The events are queued by the C core as they happen (no Python runs on the I/O thread) in a
bounded queue per monitor. A reader that falls behind loses the oldest events first, and the
next event it gets says how many it lost (``PipeEvent.dropped``); connections never wait for
a reader.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterator, NamedTuple, Optional

from . import _aio, _core
from .constants import EBADF, EINVAL
from .errors import NNError, error_for

if TYPE_CHECKING:  # pragma: no cover
    from .socket import Socket

__all__ = ["Monitor", "PipeEvent", "EVENT_KINDS", "DEFAULT_CAPACITY"]

#: The values of ``PipeEvent.kind``.
EVENT_KINDS = ("connected", "disconnected", "connect_failed", "accept_failed",
               "handshake_failed")

#: Events a monitor keeps for a reader that is not reading (then the oldest go).
DEFAULT_CAPACITY = 1024


class PipeEvent(NamedTuple):
    """One connection event.

    Attributes
    ----------
    kind:
        ``"connected"``, ``"disconnected"``, ``"connect_failed"``, ``"accept_failed"`` or
        ``"handshake_failed"``.
    pipe:
        The connection's id, the same as ``Message.pipe`` of the messages it delivers
        (0 for failures, where no connection was made).
    address:
        The remote address as a URL (``"tcp://127.0.0.1:54321"``); for a failed dial, the
        address dialled; for ipc and inproc, the endpoint's address.
    endpoint:
        Id of the endpoint (``Endpoint.id``) the connection came through.
    dropped:
        How many events this monitor lost, because its queue was full, just before this one.
    """

    kind: str
    pipe: int
    address: str
    endpoint: int
    dropped: int


class Monitor:
    """Connection events of one socket, oldest first (see :meth:`nanopy.Socket.monitor`).

    Use ``recv()``, iterate (``for event in monitor``), or ``await arecv()`` / ``async for``
    in an event loop (no thread: it waits on the monitor's descriptor). Iteration ends when
    the monitor or its socket is closed and the events already queued have been read.
    """

    def __init__(self, socket: Socket, capacity: int = DEFAULT_CAPACITY) -> None:
        if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 1:
            raise error_for(EINVAL, f"monitor capacity must be a positive int, not {capacity!r}")
        self.socket = socket
        self.capacity = capacity
        self._handle = _core.MonitorHandle(socket.id, capacity)
        self._closed = False

    def recv(self, timeout: Optional[float] = None) -> PipeEvent:
        """Return the next event, waiting for it.

        Parameters
        ----------
        timeout:
            Milliseconds to wait; None (or negative) waits forever, 0 does not wait.

        Returns
        -------
        PipeEvent
            The oldest event not yet read.

        Raises
        ------
        nanopy.Timeout
            No event came within ``timeout`` ms.
        nanopy.BadSocket
            The monitor, or its socket, is closed and every queued event has been read.
        """
        wait = -1 if timeout is None or timeout < 0 else int(timeout)
        return PipeEvent(*self._handle.recv(wait))

    async def arecv(self, timeout: Optional[float] = None) -> PipeEvent:
        """:meth:`recv` for coroutines, under asyncio, uvloop or trio: waits on the monitor's
        descriptor without blocking the event loop or using a thread. A cancelled call takes
        nothing from the queue."""
        while True:
            event = self._handle.take()
            if event is not None:
                return PipeEvent(*event)
            await _aio.wait_readable(self.fileno(), None if timeout is None or timeout < 0
                                     else int(timeout))

    def fileno(self) -> int:
        """A descriptor that is readable while an event waits (or once the monitor closed)."""
        return int(self._handle.fileno())

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Stop collecting events; a thread waiting in :meth:`recv` gets BadSocket."""
        if not self._closed:
            self._closed = True
            self._handle.close()

    def __enter__(self) -> Monitor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __iter__(self) -> Iterator[PipeEvent]:
        return self

    def __next__(self) -> PipeEvent:
        try:
            return self.recv()
        except NNError as exc:
            if exc.errno == EBADF:
                raise StopIteration from None
            raise

    def __aiter__(self) -> Monitor:
        return self

    async def __anext__(self) -> PipeEvent:
        try:
            return await self.arecv()
        except NNError as exc:
            if exc.errno == EBADF:
                raise StopAsyncIteration from None
            raise

    def __repr__(self) -> str:
        state = "closed" if self._closed else f"capacity {self.capacity}"
        return f"<nanopy.Monitor of socket {self.socket._s} ({state})>"
