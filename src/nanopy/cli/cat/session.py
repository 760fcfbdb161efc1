"""One nanocat session: open the socket the options describe and run the send/receive loop
of its type."""

from __future__ import annotations

import sys
import time
from typing import IO, Callable, Tuple

from .formats import format_message
from .options import CatOptions, seconds_to_ms, socket_recv_timeout_ms


class _SocketFailure(Exception):
    """A socket call failed in a way nanocat treats as fatal (exit status 3)."""

    def __init__(self, what: str, message: str) -> None:
        super().__init__(f"{what}: {message}")


def _now_ms() -> int:
    return int(time.monotonic() * 1000)


def _sleep_ms(milliseconds: int) -> None:
    if milliseconds > 0:
        time.sleep(milliseconds / 1000.0)


class _CatSession:
    """One socket and the send/receive loops nanocat runs on it."""

    def __init__(self, options: CatOptions, out: IO[bytes], err: IO[str]) -> None:
        import nanopy

        self.nn = nanopy
        self.options = options
        self.out = out
        self.err = err
        self.sock: int | None = None

    # -- helpers -------------------------------------------------------------------------

    def _call(self, what: str, func: Callable[..., object], *args: object) -> object:
        try:
            return func(*args)
        except self.nn.NNError as exc:
            raise _SocketFailure(what, self.nn.nn_strerror(exc.errno or 0)) from None

    def _set_recv_timeout(self, milliseconds: int) -> None:
        nn = self.nn
        self._call("Can't set recv timeout", nn.nn_setsockopt, self.sock, nn.NN_SOL_SOCKET,
                   nn.NN_RCVTIMEO, milliseconds if milliseconds >= 0 else -1)

    def _print(self, data: bytes) -> None:
        text = format_message(data, self.options.echo_format)
        if text:
            self.out.write(text)
            self.out.flush()

    def _send(self) -> None:
        """Send the --data/--file payload once; EAGAIN is reported and tolerated."""
        nn = self.nn
        try:
            nn.nn_send(self.sock, self.options.data or b"")
        except nn.NNError as exc:
            if exc.errno == nn.EAGAIN:
                self.err.write("Message not sent (EAGAIN)\n")
                self.err.flush()
                return
            raise _SocketFailure("Can't send", nn.nn_strerror(exc.errno)) from None

    def _recv(self) -> Tuple[bytes | None, int]:
        """Receive one message: ``(data, 0)`` or ``(None, errno)`` for EAGAIN/ETIMEDOUT/EFSM."""
        nn = self.nn
        try:
            return nn.nn_recv(self.sock), 0
        except nn.NNError as exc:
            if exc.errno in (nn.EAGAIN, nn.ETIMEDOUT, nn.EFSM):
                return None, exc.errno
            raise _SocketFailure("Can't recv", nn.nn_strerror(exc.errno)) from None

    # -- setup ---------------------------------------------------------------------------

    def open(self) -> None:
        nn = self.nn
        options = self.options
        protocol = getattr(nn, "NN_" + str(options.socket_type))
        self.sock = self._call("Can't create socket", nn.nn_socket, nn.AF_SP, protocol)  # type: ignore[assignment]
        if options.send_timeout >= 0:
            self._call("Can't set send timeout", nn.nn_setsockopt, self.sock, nn.NN_SOL_SOCKET,
                       nn.NN_SNDTIMEO, max(seconds_to_ms(options.send_timeout), -1))
        if options.recv_timeout >= 0:
            self._set_recv_timeout(socket_recv_timeout_ms(options.recv_timeout))
        if options.socket_name is not None:
            self._call("Can't set socket name", nn.nn_setsockopt, self.sock, nn.NN_SOL_SOCKET,
                       nn.NN_SOCKET_NAME, options.socket_name)
        if options.socket_type == "SUB":
            for prefix in options.subscriptions or [b""]:
                self._call("Can't subscribe", nn.nn_setsockopt, self.sock, nn.NN_SUB,
                           nn.NN_SUB_SUBSCRIBE, prefix)
        for address in options.bind:
            self._tls_for(address, True)
            self._call("Can't bind", nn.nn_bind, self.sock, address)
        for address in options.connect:
            self._tls_for(address, False)
            self._call("Can't connect", nn.nn_connect, self.sock, address)

    def _tls_for(self, address: str, server: bool) -> None:
        """Before a tls+tcp:// or wss:// endpoint: the socket's TLS configuration for that
        role, from --cacert/--cert/--key/--insecure (nngcat's flags)."""
        from ...tls import TLS_OPTION_CONFIG, TLS_OPTION_LEVEL, TLSConfig, needs_tls

        if not needs_tls(address):
            return
        o = self.options
        try:
            config = TLSConfig(server=server, cert_file=o.cert, key_file=o.key,
                               ca_file=o.cacert, verify=not o.insecure)
        except self.nn.NNError as exc:
            raise _SocketFailure("Can't set TLS configuration", str(exc)) from None
        self._call("Can't set TLS configuration", self.nn.nn_setsockopt, self.sock,
                   TLS_OPTION_LEVEL, TLS_OPTION_CONFIG, config.to_bytes())

    def close(self, linger_ms: int | None = None) -> None:
        if self.sock is None:
            return
        nn = self.nn
        sock, self.sock = self.sock, None
        try:
            if linger_ms is not None:
                nn.nn_setsockopt(sock, nn.NN_SOL_SOCKET, nn.NN_LINGER, linger_ms)
            nn.nn_close(sock)
        except nn.NNError:
            pass

    # -- loops ---------------------------------------------------------------------------

    def send_loop(self) -> None:
        """PUB/PUSH: send once, or every --interval forever."""
        interval = seconds_to_ms(self.options.send_interval)
        while True:
            started = _now_ms()
            self._send()
            if interval < 0:
                return
            _sleep_ms(started + interval - _now_ms())

    def recv_loop(self) -> None:
        """Print messages until a timeout or a state error says no more can come."""
        nn = self.nn
        while True:
            data, errnum = self._recv()
            if data is None:
                if errnum == nn.EAGAIN:
                    continue
                return
            self._print(data)

    def send_recv_loop(self) -> None:
        """REQ/SURVEYOR (and PAIR/BUS with data): send, print replies, resend every interval."""
        nn = self.nn
        interval = seconds_to_ms(self.options.send_interval)
        recv_timeout = seconds_to_ms(self.options.recv_timeout)
        while True:
            started = _now_ms()
            self._send()
            if self.options.send_interval < 0:
                self.recv_loop()
                return
            while True:
                wait = started + interval - _now_ms()
                if wait <= 0:
                    break
                if 0 <= recv_timeout < wait:
                    wait = recv_timeout
                self._set_recv_timeout(wait)
                data, errnum = self._recv()
                if data is None:
                    if errnum != nn.EAGAIN:
                        _sleep_ms(started + interval - _now_ms())
                    continue
                self._print(data)

    def reply_loop(self) -> None:
        """REP/RESPONDENT with data: print each request and answer it with the data."""
        nn = self.nn
        while True:
            try:
                data = nn.nn_recv(self.sock)
            except nn.NNError as exc:
                if exc.errno == nn.EAGAIN:
                    continue
                raise _SocketFailure("Can't recv", nn.nn_strerror(exc.errno)) from None
            self._print(data)
            self._send()

    def run(self) -> None:
        options = self.options
        _sleep_ms(seconds_to_ms(options.send_delay))
        kind = options.socket_type
        if kind in ("PUB", "PUSH"):
            self.send_loop()
        elif kind in ("SUB", "PULL"):
            self.recv_loop()
        elif kind in ("BUS", "PAIR"):
            if options.data is not None:
                self.send_recv_loop()
            else:
                self.recv_loop()
        elif kind in ("REQ", "SURVEYOR"):
            self.send_recv_loop()
        elif kind in ("REP", "RESPONDENT"):
            if options.data is not None:
                self.reply_loop()
            else:
                self.recv_loop()


def run(options: CatOptions, out: IO[bytes] | None = None,
        err: IO[str] | None = None) -> int:
    """Open the socket described by ``options`` and run nanocat's loop for its type.

    Returns
    -------
    int
        0 on normal completion, 3 when a socket call fails (the reason is written to ``err``
        as ``<what>: <nn_strerror>``), 130 on Ctrl-C.
    """
    out = out if out is not None else sys.stdout.buffer
    err = err if err is not None else sys.stderr
    session = _CatSession(options, out, err)
    try:
        session.open()
        session.run()
    except _SocketFailure as exc:
        session.close()
        err.write(f"{exc}\n")
        err.flush()
        return 3
    except KeyboardInterrupt:
        session.close(linger_ms=0)
        return 130
    session.close()
    return 0

