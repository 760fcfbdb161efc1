"""The Pythonic socket (API.md section 2): options as properties, endpoints as objects,
context managers, batching and asyncio, all over the same compiled core as nn_*."""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable, Sequence
from typing import Any, Optional, Union

from . import _aio, _core
from .constants import (
    AF_SP,
    AF_SP_RAW,
    EBADF,
    ETERM,
    NN_BUS,
    NN_DOMAIN,
    NN_DONTWAIT,
    NN_IPV4ONLY,
    NN_LINGER,
    NN_MAXTTL,
    NN_PAIR,
    NN_PROTOCOL,
    NN_PUB,
    NN_PULL,
    NN_PUSH,
    NN_RCVBUF,
    NN_RCVFD,
    NN_RCVMAXSIZE,
    NN_RCVPRIO,
    NN_RCVTIMEO,
    NN_RECONNECT_IVL,
    NN_RECONNECT_IVL_MAX,
    NN_REP,
    NN_REQ,
    NN_REQ_RESEND_IVL,
    NN_RESPONDENT,
    NN_SNDBUF,
    NN_SNDFD,
    NN_SNDPRIO,
    NN_SNDTIMEO,
    NN_SOCKET_NAME,
    NN_SOL_SOCKET,
    NN_SUB,
    NN_SUB_SUBSCRIBE,
    NN_SUB_UNSUBSCRIBE,
    NN_SURVEYOR,
    NN_SURVEYOR_DEADLINE,
    NN_TCP,
    NN_TCP_NODELAY,
)
from .errors import NNError, error_for

__all__ = ["Socket", "Endpoint", "Context"]

Buffer = Union[bytes, bytearray, memoryview, Any]

PROTOCOL_NAMES = {
    NN_PAIR: "PAIR", NN_PUB: "PUB", NN_SUB: "SUB", NN_REQ: "REQ", NN_REP: "REP",
    NN_PUSH: "PUSH", NN_PULL: "PULL", NN_SURVEYOR: "SURVEYOR", NN_RESPONDENT: "RESPONDENT",
    NN_BUS: "BUS",
}


class Endpoint:
    """One bind or connect of a socket; ``shutdown()`` (or leaving a ``with``) removes it."""

    def __init__(self, socket: Socket, eid: int, address: str, bound: bool) -> None:
        self.socket = socket
        self.id = eid
        self.address = address
        self.bound = bound
        self._open = True

    def shutdown(self) -> None:
        """Remove the endpoint and close every connection made through it."""
        if self._open:
            self._open = False
            self.socket._endpoints.pop(self.id, None)
            _core.nn_shutdown(self.socket.id, self.id)

    close = shutdown

    def __enter__(self) -> Endpoint:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._open and not self.socket.closed:
            self.shutdown()

    def __repr__(self) -> str:
        kind = "bind" if self.bound else "connect"
        state = "" if self._open else " (shut down)"
        return f"<Endpoint {self.id} {kind} {self.address!r}{state}>"


def _timeout_in(value: Optional[float]) -> int:
    """Python timeout (ms; None or negative = forever) -> nanomsg's int."""
    if value is None:
        return -1
    return int(value) if value >= 0 else -1


def _timeout_out(value: int) -> Optional[int]:
    return None if value < 0 else value


def _int_option(option: int, doc: str) -> property:
    def get(self: Socket) -> int:
        return int(self.getsockopt(NN_SOL_SOCKET, option))

    def set(self: Socket, value: int) -> None:
        self.setsockopt(NN_SOL_SOCKET, option, value)

    return property(get, set, doc=doc)


def _bool_option(level: int, option: int, doc: str) -> property:
    def get(self: Socket) -> bool:
        return bool(self.getsockopt(level, option))

    def set(self: Socket, value: bool) -> None:
        self.setsockopt(level, option, 1 if value else 0)

    return property(get, set, doc=doc)


def _timeout_option(level: int, option: int, doc: str) -> property:
    def get(self: Socket) -> Optional[int]:
        return _timeout_out(int(self.getsockopt(level, option)))

    def set(self: Socket, value: Optional[float]) -> None:
        self.setsockopt(level, option, _timeout_in(value))

    return property(get, set, doc=doc)


_OPTION_KEYWORDS = (
    "linger", "send_buffer", "recv_buffer", "send_timeout", "recv_timeout",
    "reconnect_interval", "reconnect_interval_max", "send_priority", "recv_priority",
    "ipv4only", "name", "recv_max_size", "max_ttl", "tcp_nodelay", "resend_interval",
    "survey_deadline",
)


class Socket:
    """An SP socket.

    >>> with Socket(PAIR) as a, Socket(PAIR) as b:
    ...     a.bind("inproc://x"); b.connect("inproc://x")
    ...     a.send(b"hi"); b.recv()

    Parameters: ``protocol`` (``nanopy.PAIR``, ``nanopy.REQ``, ...), ``raw`` for AF_SP_RAW
    (devices). Keywords ``bind=``/``listen=`` and ``connect=``/``dial=`` take an address or
    a list of them; any option property (``recv_timeout=500``, ``linger=0``, ...) may be
    given too. Options set before ``bind``/``connect`` apply to those endpoints.

    Thread safety: every method may be called from several threads at once (the core locks
    per socket); a message is delivered to exactly one of several concurrent receivers.
    """

    def __init__(
        self,
        protocol: int,
        *,
        raw: bool = False,
        bind: Union[str, Iterable[str], None] = None,
        connect: Union[str, Iterable[str], None] = None,
        listen: Union[str, Iterable[str], None] = None,
        dial: Union[str, Iterable[str], None] = None,
        **options: Any,
    ) -> None:
        self._s = -1
        self._closed = True
        self._pid = os.getpid()
        self._endpoints: dict[int, Endpoint] = {}
        unknown = set(options) - set(_OPTION_KEYWORDS)
        if unknown:
            raise TypeError(f"unknown Socket option(s): {', '.join(sorted(unknown))}")
        self._s = _core.nn_socket(AF_SP_RAW if raw else AF_SP, protocol)
        self._closed = False
        try:
            for key, value in options.items():
                setattr(self, key, value)
            for addrs, method in ((bind, self.bind), (listen, self.bind),
                                  (connect, self.connect), (dial, self.connect)):
                if addrs is None:
                    continue
                for addr in [addrs] if isinstance(addrs, str) else addrs:
                    method(addr)
        except BaseException:
            self.close()
            raise

    # ---- identity and lifecycle -------------------------------------------------------

    @property
    def id(self) -> int:
        """The nn_* socket id (usable with every nn_* function)."""
        self._check_open()
        return self._s

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def protocol(self) -> int:
        return int(self.getsockopt(NN_SOL_SOCKET, NN_PROTOCOL))

    @property
    def raw(self) -> bool:
        return self.getsockopt(NN_SOL_SOCKET, NN_DOMAIN) == AF_SP_RAW

    @property
    def endpoints(self) -> list[Endpoint]:
        return list(self._endpoints.values())

    def _check_open(self) -> None:
        if self._closed:
            raise error_for(EBADF, "socket is closed")
        if self._pid != os.getpid():
            raise error_for(EBADF, "socket created in parent process")

    def close(self) -> None:
        """Close the socket. Queued outbound messages get up to ``linger`` ms to leave."""
        if self._closed:
            return
        if self._pid != os.getpid():
            self._closed = True
            return  # the parent owns it; the child never touches its state
        _aio.wake_on_close(self)
        self._closed = True
        self._endpoints.clear()
        try:
            _core.nn_close(self._s)
        except NNError as e:
            # Already gone: closed through nn_close(sock.id), or nn_term() closed everything.
            if e.errno not in (EBADF, ETERM):
                raise

    def __enter__(self) -> Socket:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> Socket:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        if getattr(self, "_closed", True):
            return
        warnings.warn(f"unclosed {self!r}", ResourceWarning, source=self, stacklevel=2)
        try:
            self.close()
        except Exception:
            pass

    def __repr__(self) -> str:
        if self._closed:
            return "<nanopy.Socket closed>"
        try:
            name = PROTOCOL_NAMES.get(self.protocol, str(self.protocol))
            raw = " raw" if self.raw else ""
        except NNError:
            return f"<nanopy.Socket {self._s}>"
        eps = ", ".join(f"{'bind' if e.bound else 'connect'} {e.address}"
                        for e in self._endpoints.values())
        return f"<nanopy.Socket {self._s} {name}{raw} [{eps}]>"

    def __copy__(self) -> Socket:
        raise TypeError("a nanopy.Socket cannot be copied: two owners would close one socket")

    def __deepcopy__(self, memo: object) -> Socket:
        raise TypeError("a nanopy.Socket cannot be copied: two owners would close one socket")

    def __reduce__(self) -> Any:
        raise TypeError("a nanopy.Socket cannot be pickled (pass its address instead)")

    # ---- options ----------------------------------------------------------------------

    def setsockopt(self, level: int, option: int, value: Union[int, bytes, str]) -> None:
        """nn_setsockopt on this socket."""
        self._check_open()
        _core.nn_setsockopt(self._s, level, option, value)

    def getsockopt(self, level: int, option: int) -> Union[int, str]:
        """nn_getsockopt on this socket."""
        self._check_open()
        return _core.nn_getsockopt(self._s, level, option)

    linger = _timeout_option(NN_SOL_SOCKET, NN_LINGER,
                             "ms that close() waits for queued messages (None = forever)")
    send_buffer = _int_option(NN_SNDBUF, "bytes queued for sending per connection")
    recv_buffer = _int_option(NN_RCVBUF, "bytes queued for receiving per connection")
    send_timeout = _timeout_option(NN_SOL_SOCKET, NN_SNDTIMEO,
                                   "ms a blocking send waits (None = forever)")
    recv_timeout = _timeout_option(NN_SOL_SOCKET, NN_RCVTIMEO,
                                   "ms a blocking recv waits (None = forever)")
    reconnect_interval = _int_option(NN_RECONNECT_IVL, "ms before reconnecting")
    reconnect_interval_max = _int_option(NN_RECONNECT_IVL_MAX,
                                         "upper bound of the reconnect backoff (0 = no backoff)")
    send_priority = _int_option(NN_SNDPRIO, "priority (1 best .. 16) of later endpoints")
    recv_priority = _int_option(NN_RCVPRIO, "priority (1 best .. 16) of later endpoints")
    ipv4only = _bool_option(NN_SOL_SOCKET, NN_IPV4ONLY, "refuse IPv6 addresses")
    recv_max_size = _int_option(NN_RCVMAXSIZE, "largest message accepted (-1 = unlimited)")
    max_ttl = _int_option(NN_MAXTTL, "max hops of a request or survey (1..255)")
    tcp_nodelay = _bool_option(NN_TCP, NN_TCP_NODELAY, "TCP_NODELAY on tcp connections")

    @property
    def name(self) -> str:
        """The socket name (NN_SOCKET_NAME)."""
        return str(self.getsockopt(NN_SOL_SOCKET, NN_SOCKET_NAME))

    @name.setter
    def name(self, value: str) -> None:
        self.setsockopt(NN_SOL_SOCKET, NN_SOCKET_NAME, value)

    @property
    def resend_interval(self) -> int:
        """REQ: ms before an unanswered request is sent again (NN_REQ_RESEND_IVL)."""
        return int(self.getsockopt(NN_REQ, NN_REQ_RESEND_IVL))

    @resend_interval.setter
    def resend_interval(self, value: int) -> None:
        self.setsockopt(NN_REQ, NN_REQ_RESEND_IVL, value)

    @property
    def survey_deadline(self) -> int:
        """SURVEYOR: ms during which answers are collected (NN_SURVEYOR_DEADLINE)."""
        return int(self.getsockopt(NN_SURVEYOR, NN_SURVEYOR_DEADLINE))

    @survey_deadline.setter
    def survey_deadline(self, value: int) -> None:
        self.setsockopt(NN_SURVEYOR, NN_SURVEYOR_DEADLINE, value)

    @property
    def recv_fd(self) -> int:
        """OS descriptor readable while recv() would not block (NN_RCVFD)."""
        return int(self.getsockopt(NN_SOL_SOCKET, NN_RCVFD))

    @property
    def send_fd(self) -> int:
        """OS descriptor readable while send() would not block (NN_SNDFD)."""
        return int(self.getsockopt(NN_SOL_SOCKET, NN_SNDFD))

    def subscribe(self, topic: Union[bytes, str]) -> None:
        """SUB: receive messages starting with ``topic`` (b"" = everything)."""
        self.setsockopt(NN_SUB, NN_SUB_SUBSCRIBE, topic)

    def unsubscribe(self, topic: Union[bytes, str]) -> None:
        """SUB: drop one subscription to ``topic``."""
        self.setsockopt(NN_SUB, NN_SUB_UNSUBSCRIBE, topic)

    # ---- endpoints --------------------------------------------------------------------

    def bind(self, address: str) -> Endpoint:
        """Listen on ``address`` (inproc://, ipc://, tcp://); returns the Endpoint."""
        self._check_open()
        eid = _core.nn_bind(self._s, address)
        ep = self._endpoints[eid] = Endpoint(self, eid, address, True)
        return ep

    def connect(self, address: str) -> Endpoint:
        """Connect to ``address`` (in the background, reconnecting forever)."""
        self._check_open()
        eid = _core.nn_connect(self._s, address)
        ep = self._endpoints[eid] = Endpoint(self, eid, address, False)
        return ep

    listen = bind
    dial = connect

    def context(self) -> Context:
        """A new :class:`Context` (REQ, REP, SURVEYOR, RESPONDENT): an independent
        request state, so several requests can be in flight on this one socket."""
        self._check_open()
        return Context(self)

    # ---- data -------------------------------------------------------------------------

    def send(self, data: Buffer, *, block: bool = True) -> int:
        """Send one message from any bytes-like object. ``block=False`` raises
        :class:`nanopy.Again` instead of waiting."""
        self._check_open()
        return _core.nn_send(self._s, data, 0 if block else NN_DONTWAIT)

    def recv(self, *, block: bool = True) -> bytes:
        """Receive one message."""
        self._check_open()
        return _core.nn_recv(self._s, 0 if block else NN_DONTWAIT)

    def recv_msg(self, *, block: bool = True) -> _core.Message:
        """Receive one message as a zero-copy :class:`nanopy.Message` (buffer protocol)."""
        self._check_open()
        return _core.nn_recv_msg(self._s, 0 if block else NN_DONTWAIT)

    def recv_into(self, buffer: Buffer, *, block: bool = True) -> int:
        """Receive into ``buffer``; returns the full message size (truncated if larger)."""
        self._check_open()
        return _core.nn_recv_into(self._s, buffer, 0 if block else NN_DONTWAIT)

    def sendmsg(self, parts: Sequence[Buffer], header: Optional[bytes] = None, *,
                block: bool = True) -> int:
        """Send ``parts`` concatenated as one message, with an SP ``header`` (raw only)."""
        self._check_open()
        return _core.nn_sendmsg(self._s, parts, header, 0 if block else NN_DONTWAIT)

    def recvmsg(self, *, block: bool = True) -> tuple[bytes, bytes]:
        """Receive (body, header); the header is empty on cooked sockets."""
        self._check_open()
        body, header = _core.nn_recvmsg(self._s, 0 if block else NN_DONTWAIT)
        return body, header

    def send_many(self, messages: Sequence[Buffer], *, block: bool = True) -> int:
        """Send many messages with one call (one GIL release); returns how many went."""
        self._check_open()
        return _core.send_many(self._s, messages, 0 if block else NN_DONTWAIT)

    def recv_many(self, max_messages: int = 256, *, block: bool = True) -> list[bytes]:
        """Wait for one message, then take up to ``max_messages`` already queued."""
        self._check_open()
        return _core.recv_many(self._s, max_messages, 0 if block else NN_DONTWAIT)

    # ---- async (asyncio, uvloop, trio): the functions live in nanopy._aio --------------

    arecv = _aio.arecv
    asend = _aio.asend
    __anext__ = _aio.anext

    def __aiter__(self) -> Socket:
        return self


class Context:
    """An independent request state on a REQ, REP, SURVEYOR or RESPONDENT socket (as NNG has).

    Each context has its own request in flight (REQ) or its own request being answered
    (REP), so many threads or coroutines can use one socket at once; the wire format is
    unchanged. Get one with :meth:`Socket.context`; close it (or leave its ``with``).
    """

    def __init__(self, socket: Socket) -> None:
        self.socket = socket
        self.id = _core.ctx_open(socket.id)
        self._open = True

    def _check(self) -> int:
        if not self._open:
            raise error_for(EBADF, "context is closed")
        return self.socket.id

    def send(self, data: Buffer) -> int:
        """REQ: send a request from this context (cancelling its previous one).
        REP: reply to the request this context received."""
        return _core.ctx_send(self._check(), self.id, data)

    def recv(self, *, block: bool = True) -> bytes:
        """REQ: the reply to this context's request. REP: the next request."""
        return _core.ctx_recv(self._check(), self.id, 0 if block else NN_DONTWAIT)

    async def arecv(self) -> bytes:
        """recv() without blocking the event loop; honours the socket's recv_timeout."""
        return await _aio.ctx_arecv(self)

    async def asend(self, data: Buffer) -> int:
        """send() for coroutines (context sends never block)."""
        return await _aio.ctx_asend(self, data)

    def close(self) -> None:
        if self._open:
            self._open = False
            if not self.socket.closed:
                _core.ctx_close(self.socket.id, self.id)

    def __enter__(self) -> Context:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<nanopy.Context {self.id} of {self.socket!r}>"
