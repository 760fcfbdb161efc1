"""The Pythonic socket: options as properties, endpoints as objects, context managers and
asyncio, over the compiled socket type of nanopy._core.

``nanopy.Socket`` subclasses ``nanopy._core.Socket``: the per-message methods (send, recv,
recv_into, sendmsg, recvmsg, send_many, recv_many, setsockopt, getsockopt) are the compiled
ones, so a call costs what the matching nn_* call costs. This module adds what a Python user
expects around them.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Optional, Union

from . import _aio, _core, _explain
from .constants import (
    AF_SP_RAW,
    EBADF,
    EINVAL,
    NN_DOMAIN,
    NN_DONTWAIT,
    NN_IPV4ONLY,
    NN_LINGER,
    NN_MAXTTL,
    NN_PROTOCOL,
    NN_RCVBUF,
    NN_RCVFD,
    NN_RCVMAXSIZE,
    NN_RCVPRIO,
    NN_RCVTIMEO,
    NN_RECONNECT_IVL,
    NN_RECONNECT_IVL_MAX,
    NN_REQ,
    NN_REQ_RESEND_IVL,
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
    PROTOCOL_NAMES,
)
from .errors import NNError, error_for
from .tls import TLS_OPTION_CONFIG, TLS_OPTION_LEVEL, TLSConfig, needs_tls

if TYPE_CHECKING:  # pragma: no cover
    from .monitor import Monitor

__all__ = ["Socket", "Endpoint", "Context", "PROTOCOL_NAMES"]

# Schemes whose addresses carry an IP port (Endpoint.port is None for the others).
_IP_SCHEMES = {"tcp": None, "tls+tcp": None, "ws": 80, "wss": 443}

Buffer = Union[bytes, bytearray, memoryview, Any]


class Endpoint:
    """One bind or connect of a socket; ``shutdown()`` (or leaving a ``with``) removes it.

    Attributes: ``socket`` (the owner), ``id`` (the nn_* endpoint id), ``address`` (as
    given), ``bound`` (True for a bind, False for a connect).
    """

    def __init__(self, socket: Socket, eid: int, address: str, bound: bool) -> None:
        self.socket = socket
        self.id = eid
        self.address = address
        self.bound = bound
        self._open = True
        self._url = address

    @property
    def port(self) -> Optional[int]:
        """The IP port (for a bind to port 0, the one the kernel picked); None for inproc,
        ipc and abstract addresses."""
        scheme, sep, rest = self._url.partition("://")
        if not sep or scheme not in _IP_SCHEMES:
            return None
        port = _address_port(rest)
        return _IP_SCHEMES[scheme] if port is None else port

    @property
    def url(self) -> str:
        """The address as bound: ``address``, with the real port when port 0 was asked for."""
        return self._url

    def shutdown(self) -> None:
        """Remove the endpoint and close every connection made through it.

        Raises
        ------
        NNError
            EBADF when the socket is closed.
        """
        if self._open:
            self._open = False
            self.socket._endpoints.pop(self.id, None)
            self.socket._shutdown(self.id)

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


def _port_span(rest: str) -> tuple[int, int]:
    """Where the port is in ``host:port/path`` (an empty span when there is none)."""
    slash = rest.find("/")
    authority_end = len(rest) if slash < 0 else slash
    authority = rest[:authority_end]
    colon = authority.rfind(":")
    if colon < 0 or colon < authority.rfind("]"):
        return authority_end, authority_end
    return colon + 1, authority_end


def _address_port(rest: str) -> Optional[int]:
    start, end = _port_span(rest)
    text = rest[start:end]
    return int(text) if text.isdigit() else None



_MS_FOREVER = "an int number of milliseconds (-1 or None for forever)"


def _set_option(sock: Socket, level: int, option: int, value: Any, name: str,
                accepts: str) -> None:
    """setsockopt, with an EINVAL that names the property and what it accepts."""
    try:
        sock.setsockopt(level, option, value)
    except NNError as e:
        if e.errno != EINVAL:
            raise
        raise error_for(EINVAL, _explain.option_value_problem(
            level, option, value, name, accepts)) from None


def _is_int(value: Any) -> bool:
    return hasattr(value, "__index__") and not isinstance(value, (str, bytes, bytearray))


def _int_option(level: int, option: int, name: str, accepts: str, doc: str) -> property:
    def get(self: Socket) -> int:
        return int(self.getsockopt(level, option))

    def set(self: Socket, value: int) -> None:
        _set_option(self, level, option, value, name, accepts)

    return property(get, set, doc=doc)


def _bool_option(level: int, option: int, doc: str) -> property:
    def get(self: Socket) -> bool:
        return bool(self.getsockopt(level, option))

    def set(self: Socket, value: bool) -> None:
        self.setsockopt(level, option, 1 if value else 0)

    return property(get, set, doc=doc)


def _timeout_option(level: int, option: int, name: str, doc: str) -> property:
    def get(self: Socket) -> Optional[int]:
        value = int(self.getsockopt(level, option))
        return None if value < 0 else value

    def set(self: Socket, value: Optional[float]) -> None:
        if value is None:
            ms = -1
        elif _is_int(value) or isinstance(value, float):
            ms = int(value) if value >= 0 else -1
        else:
            raise error_for(EINVAL, _explain.option_value_problem(
                level, option, value, name, _MS_FOREVER))
        _set_option(self, level, option, ms, name, _MS_FOREVER)

    return property(get, set, doc=doc)


_OPTION_KEYWORDS = (
    "linger", "send_buffer", "recv_buffer", "send_timeout", "recv_timeout",
    "reconnect_interval", "reconnect_interval_max", "send_priority", "recv_priority",
    "ipv4only", "name", "recv_max_size", "max_ttl", "tcp_nodelay", "tcp_keepalive",
    "resend_interval",
    "survey_deadline", "tls",
)


class Socket(_core.Socket):
    """An SP socket.

    >>> with Socket(PAIR) as a, Socket(PAIR) as b:
    ...     a.bind("inproc://x"); b.connect("inproc://x")
    ...     a.send(b"hi"); b.recv()

    Thread safety: every method may be called from several threads at once (the core locks
    per socket); a message is delivered to exactly one of several concurrent receivers.
    A socket inherited through ``fork()`` raises EBADF in the child.

    Parameters
    ----------
    protocol : int
        ``nanopy.PAIR``, ``nanopy.REQ``... (nanomsg's protocol numbers).
    raw : bool
        True for an ``AF_SP_RAW`` socket (devices).
    bind, listen : str or iterable of str
        Addresses to bind at once (``listen`` is an alias).
    connect, dial : str or iterable of str
        Addresses to connect to at once (``dial`` is an alias).
    **options
        Any option property (``recv_timeout=500``, ``linger=0``...), set before the
        endpoints above so that they apply to them.

    Raises
    ------
    NNError
        EINVAL for an unknown protocol (the message lists those that exist) or a bad option
        value; any error of bind/connect.
    TypeError
        For an unknown keyword.
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
        self._recv_fd = self._send_fd = -1
        self._endpoints: dict[int, Endpoint] = {}
        self._tls: Optional[TLSConfig] = None
        unknown = set(options) - set(_OPTION_KEYWORDS)
        if unknown:
            raise TypeError(f"unknown Socket option(s): {', '.join(sorted(unknown))}")
        super().__init__(protocol, raw=raw)
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
    def protocol(self) -> int:
        """The protocol number (``nanopy.PAIR``...)."""
        return int(self.getsockopt(NN_SOL_SOCKET, NN_PROTOCOL))

    @property
    def raw(self) -> bool:
        """True for an ``AF_SP_RAW`` socket."""
        return self.getsockopt(NN_SOL_SOCKET, NN_DOMAIN) == AF_SP_RAW

    @property
    def endpoints(self) -> list[Endpoint]:
        """The endpoints still open, in the order they were made."""
        return list(self._endpoints.values())

    def _check_open(self) -> None:
        """Raise EBADF when the socket is closed or was inherited through fork()."""
        self.id  # noqa: B018 (the property raises)

    def close(self) -> None:
        """Close the socket. Queued outbound messages get up to ``linger`` ms to leave.

        Coroutines waiting in ``arecv``/``asend`` wake up and raise EBADF. Closing twice does
        nothing.
        """
        if self.closed:
            return
        try:
            self.id  # noqa: B018 (raises EBADF when inherited through fork)
        except NNError:  # inherited through fork(): the parent owns it
            super().close()
            return
        _aio.wake_on_close(self)
        self._endpoints.clear()
        super().close()

    def __enter__(self) -> Socket:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> Socket:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        if self.closed:
            return
        warnings.warn(f"unclosed {self!r}", ResourceWarning, source=self, stacklevel=2)
        try:
            self.close()
        except Exception:
            pass

    def __repr__(self) -> str:
        if self.closed:
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

    linger = _timeout_option(NN_SOL_SOCKET, NN_LINGER, "linger",
                             "ms that close() waits for queued messages (None = forever)")
    send_buffer = _int_option(NN_SOL_SOCKET, NN_SNDBUF, "send_buffer",
                              "an int number of bytes, 1 or more",
                              "bytes queued for sending per connection")
    recv_buffer = _int_option(NN_SOL_SOCKET, NN_RCVBUF, "recv_buffer",
                              "an int number of bytes, 1 or more",
                              "bytes queued for receiving per connection")
    send_timeout = _timeout_option(NN_SOL_SOCKET, NN_SNDTIMEO, "send_timeout",
                                   "ms a blocking send waits (None = forever)")
    recv_timeout = _timeout_option(NN_SOL_SOCKET, NN_RCVTIMEO, "recv_timeout",
                                   "ms a blocking recv waits (None = forever)")
    reconnect_interval = _int_option(NN_SOL_SOCKET, NN_RECONNECT_IVL, "reconnect_interval",
                                     "an int number of milliseconds, 0 or more",
                                     "ms before reconnecting")
    reconnect_interval_max = _int_option(
        NN_SOL_SOCKET, NN_RECONNECT_IVL_MAX, "reconnect_interval_max",
        "an int number of milliseconds, 0 or more (0 = no backoff)",
        "upper bound of the reconnect backoff (0 = no backoff)")
    send_priority = _int_option(NN_SOL_SOCKET, NN_SNDPRIO, "send_priority",
                                "an int from 1 (highest priority) to 16",
                                "priority (1 best .. 16) of later endpoints")
    recv_priority = _int_option(NN_SOL_SOCKET, NN_RCVPRIO, "recv_priority",
                                "an int from 1 (highest priority) to 16",
                                "priority (1 best .. 16) of later endpoints")
    ipv4only = _bool_option(NN_SOL_SOCKET, NN_IPV4ONLY, "refuse IPv6 addresses")
    recv_max_size = _int_option(NN_SOL_SOCKET, NN_RCVMAXSIZE, "recv_max_size",
                                "an int number of bytes (-1 for no limit)",
                                "largest message accepted (-1 = unlimited)")
    max_ttl = _int_option(NN_SOL_SOCKET, NN_MAXTTL, "max_ttl", "an int from 1 to 255",
                          "max hops of a request or survey (1..255)")
    tcp_nodelay = _bool_option(NN_TCP, NN_TCP_NODELAY, "TCP_NODELAY on tcp connections")
    tcp_keepalive = _bool_option(
        *_core.TCP_KEEPALIVE_OPTION,
        "SO_KEEPALIVE on tcp connections made after it is set (default off), so the kernel "
        "finds a peer that vanished without closing")
    resend_interval = _int_option(NN_REQ, NN_REQ_RESEND_IVL, "resend_interval",
                                  "an int number of milliseconds, 0 or more",
                                  "REQ: ms before an unanswered request is sent again")
    survey_deadline = _int_option(NN_SURVEYOR, NN_SURVEYOR_DEADLINE, "survey_deadline",
                                  "an int number of milliseconds, 0 or more",
                                  "SURVEYOR: ms during which answers are collected")

    @property
    def name(self) -> str:
        """The socket name (NN_SOCKET_NAME, at most 63 bytes)."""
        return str(self.getsockopt(NN_SOL_SOCKET, NN_SOCKET_NAME))

    @name.setter
    def name(self, value: str) -> None:
        _set_option(self, NN_SOL_SOCKET, NN_SOCKET_NAME, value, "name",
                    "a str of at most 63 bytes")

    @property
    def recv_fd(self) -> int:
        """OS descriptor readable while recv() would not block (NN_RCVFD)."""
        return int(self.getsockopt(NN_SOL_SOCKET, NN_RCVFD))

    @property
    def send_fd(self) -> int:
        """OS descriptor readable while send() would not block (NN_SNDFD)."""
        return int(self.getsockopt(NN_SOL_SOCKET, NN_SNDFD))

    def subscribe(self, topic: Union[bytes, str]) -> None:
        """SUB: receive messages starting with ``topic`` (b"" = everything).

        Parameters
        ----------
        topic : bytes or str
            The prefix (a str is encoded as UTF-8).

        Raises
        ------
        NNError
            ENOPROTOOPT on a socket that is not SUB.
        """
        self.setsockopt(NN_SUB, NN_SUB_SUBSCRIBE, topic)

    def unsubscribe(self, topic: Union[bytes, str]) -> None:
        """SUB: drop one subscription to ``topic``.

        Parameters
        ----------
        topic : bytes or str
            A prefix given to subscribe() before.

        Raises
        ------
        NNError
            EINVAL when not subscribed to it, ENOPROTOOPT on a socket that is not SUB.
        """
        self.setsockopt(NN_SUB, NN_SUB_UNSUBSCRIBE, topic)

    # ---- endpoints --------------------------------------------------------------------

    def bind(self, address: str) -> Endpoint:
        """Listen on an address.

        Parameters
        ----------
        address : str
            ``inproc://name``, ``ipc:///path``, ``tcp://iface:port`` (``*`` = every
            interface).

        Returns
        -------
        Endpoint
            Its ``shutdown()`` removes the endpoint again.

        Raises
        ------
        NNError
            EINVAL (ill-formed), EPROTONOSUPPORT (unknown transport), EADDRINUSE, EACCES...;
            the message names the address and the reason.
        """
        self._check_tls(address, True)
        eid = self._add_endpoint(address, True)
        ep = self._endpoints[eid] = Endpoint(self, eid, address, True)
        ep._url = _core.endpoint_url(self._s, eid)
        return ep

    def connect(self, address: str) -> Endpoint:
        """Connect to an address, in the background and reconnecting as needed.

        Parameters
        ----------
        address : str
            ``inproc://name``, ``ipc:///path``, ``tcp://[iface;]host:port``.

        Returns
        -------
        Endpoint
            Its ``shutdown()`` removes the endpoint again.

        Raises
        ------
        NNError
            As bind() (a peer that is not there yet is no error).
        """
        self._check_tls(address, False)
        eid = self._add_endpoint(address, False)
        ep = self._endpoints[eid] = Endpoint(self, eid, address, False)
        return ep

    listen = bind
    dial = connect

    # ---- TLS (tls+tcp://, wss://) -----------------------------------------------------

    @property
    def tls(self) -> Optional[TLSConfig]:
        """The :class:`nanopy.TLSConfig` of this socket's tls+tcp:// and wss:// endpoints
        (None until set). Set it before ``bind``/``connect``; endpoints made earlier keep
        the configuration they started with."""
        return self._tls

    @tls.setter
    def tls(self, config: Optional[TLSConfig]) -> None:
        if config is not None and not isinstance(config, TLSConfig):
            raise TypeError("tls must be a nanopy.TLSConfig or None")
        data = config.to_bytes() if config is not None else b""
        self.setsockopt(TLS_OPTION_LEVEL, TLS_OPTION_CONFIG, data)
        self._tls = config

    def _check_tls(self, address: str, bind: bool) -> None:
        if not isinstance(address, str) or not needs_tls(address):
            return
        scheme = address.split("://", 1)[0]
        if self._tls is None:
            raise error_for(EINVAL, f"{scheme}:// needs a TLS configuration: pass "
                            "tls=nanopy.TLSConfig(...) to Socket() or set sock.tls first")
        if self._tls.server != bind:
            role = "server=True" if bind else "server=False"
            raise error_for(EINVAL, f"{'bind' if bind else 'connect'} of {scheme}:// needs "
                            f"a TLSConfig({role}, ...); this socket's is for the other role")

    def monitor(self, *, capacity: int = 1024) -> Monitor:
        """Watch this socket's connections: a :class:`nanopy.Monitor` of
        :class:`nanopy.PipeEvent` (connected, disconnected, connect_failed, accept_failed,
        handshake_failed).

        Parameters
        ----------
        capacity:
            Events kept for a reader that falls behind; beyond it the oldest are dropped
            and the next event's ``dropped`` says how many.

        Returns
        -------
        Monitor
            Close it (or use ``with``) when done; it ends when the socket closes.

        Raises
        ------
        nanopy.BadSocket
            The socket is closed.
        """
        from .monitor import Monitor

        self._check_open()
        return Monitor(self, capacity)

    def context(self) -> Context:
        """A new :class:`Context`: an independent request state, so several requests can be
        in flight on this one socket (REQ, REP, SURVEYOR, RESPONDENT).

        Returns
        -------
        Context
            Close it, or leave its ``with`` block, when done.

        Raises
        ------
        NNError
            ENOTSUP on other socket types.
        """
        return Context(self)

    # ---- async (asyncio, uvloop, trio): the coroutines live in nanopy._aio ------------

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
