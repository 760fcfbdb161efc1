"""``nanopy probe URL``: who is listening at an address, and which SP protocol does it speak?

It dials the address, reads the peer's side of the SP opening exchange and prints one line::

    tcp://127.0.0.1:5555: SP protocol REP (49), compatible with REQ

Over tcp, ipc and abstract (and tls+tcp) every SP implementation sends its 8-byte header at
once (``00 'S' 'P' 00``, protocol id as a big-endian 16-bit number, two zero bytes), so the
probe only reads; it never sends a header of its own and so never becomes a pipe of the peer.
Over ws and wss there is no such header: the client names the protocol it wants the server to
be (``rep.sp.nanomsg.org``) and the server agrees only to its own, so the probe asks for each
SP protocol in turn, one connection each, and reports the one the server accepts.

``--watch`` binds the address instead and prints one line per connection event, as the
socket's monitor reports them, until interrupted.

Exit status: 0 an SP peer answered; 1 something answered that is not an SP peer (or a TLS
peer whose certificate was refused); 3 nothing answered (refused, no route, timed out);
2 bad command line or address.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import os
import socket
import ssl
import struct
import sys
import time
from typing import List, NamedTuple, Optional, Sequence, TextIO, Tuple
from urllib.parse import unquote

__all__ = [
    "PROTOCOLS",
    "PEERS",
    "ProbeResult",
    "describe_protocol",
    "probe",
    "main",
]

PROG = "nanopy probe"

EXIT_SP = 0
EXIT_NOT_SP = 1
EXIT_USAGE = 2
EXIT_NO_ANSWER = 3

#: SP protocol ids and names (nanomsg's, plus NNG's PAIR version 1).
PROTOCOLS = {
    16: "PAIR", 17: "PAIR1", 32: "PUB", 33: "SUB", 48: "REQ", 49: "REP", 80: "PUSH",
    81: "PULL", 98: "SURVEYOR", 99: "RESPONDENT", 112: "BUS",
}

#: Which protocols may connect to each one (the SP peer rule).
PEERS = {
    16: (16,), 17: (17,), 32: (33,), 33: (32,), 48: (49,), 49: (48,), 80: (81,), 81: (80,),
    98: (99,), 99: (98,), 112: (112,),
}

_SP_MAGIC = b"\x00SP\x00"
_HEADER_LEN = 8
_WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_HTTP_MAX = 4096

# The order the ws probe asks in: most common server types first.
_WS_ORDER = (49, 16, 32, 81, 48, 33, 80, 98, 99, 112, 17)


class ProbeResult(NamedTuple):
    """What answered at an address.

    ``status`` is ``"sp"`` (``protocol`` is its id), ``"not_sp"`` (something answered that
    does not speak SP), ``"tls_refused"`` (a TLS peer whose certificate was not accepted),
    ``"refused"`` or ``"no_answer"``. ``detail`` is the human explanation.
    """

    url: str
    status: str
    protocol: Optional[int]
    detail: str

    @property
    def exit_code(self) -> int:
        if self.status == "sp":
            return EXIT_SP
        if self.status in ("refused", "no_answer"):
            return EXIT_NO_ANSWER
        return EXIT_NOT_SP

    def line(self) -> str:
        """The one line ``nanopy probe`` prints."""
        if self.status == "sp" and self.protocol is not None:
            text = describe_protocol(self.protocol)
            return f"{self.url}: {text}{'; ' + self.detail if self.detail else ''}"
        return f"{self.url}: {self.detail}"


class ProbeUsageError(ValueError):
    """The URL cannot be probed (unknown scheme, malformed)."""


def describe_protocol(protocol: int) -> str:
    """``"SP protocol REP (49), compatible with REQ"`` for a protocol id."""
    name = PROTOCOLS.get(protocol)
    if name is None:
        return f"SP protocol {protocol} (not one nanopy knows)"
    peers = ", ".join(PROTOCOLS[p] for p in PEERS[protocol])
    text = f"SP protocol {name} ({protocol}), compatible with {peers}"
    if protocol == 17:
        text += " (NNG's pair version 1; nanopy speaks version 0)"
    return text


# ---- addresses -------------------------------------------------------------------------


class _Target(NamedTuple):
    scheme: str              # tcp, ipc, abstract, ws, wss, tls+tcp
    family: int
    sockaddr: object         # what socket.connect takes (None: resolve host/port)
    host: str
    port: int
    path: str                # ws resource
    tls: bool
    websocket: bool


def _split_host_port(text: str, default_port: Optional[int], url: str) -> Tuple[str, int]:
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise ProbeUsageError(f"{url}: unclosed '[' in the host")
        host, rest = text[1:end], text[end + 1:]
        if rest and not rest.startswith(":"):
            raise ProbeUsageError(f"{url}: expected ':port' after ']'")
        port_text = rest[1:] if rest else ""
    elif ":" in text:
        host, port_text = text.rsplit(":", 1)
    else:
        host, port_text = text, ""
    if not port_text:
        if default_port is None:
            raise ProbeUsageError(f"{url}: a port is required")
        return host, default_port
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ProbeUsageError(f"{url}: port {port_text!r} is not in 1..65535")
    if not host or host == "*":
        raise ProbeUsageError(f"{url}: a host to dial is required (not {host or 'empty'!r})")
    return host, int(port_text)


def _parse(url: str) -> _Target:
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ProbeUsageError(f"{url}: not a URL (expected scheme://address)")
    scheme = scheme.lower()
    if scheme == "inproc":
        raise ProbeUsageError(f"{url}: inproc addresses exist only inside one process")
    if scheme == "ipc":
        if not rest:
            raise ProbeUsageError(f"{url}: empty path")
        return _Target(scheme, socket.AF_UNIX, rest, "", 0, "", False, False)
    if scheme == "abstract":
        if not rest:
            raise ProbeUsageError(f"{url}: empty name")
        name = b"\0" + unquote(rest).encode("utf-8")
        return _Target(scheme, socket.AF_UNIX, name, "", 0, "", False, False)
    if scheme in ("tcp", "tls+tcp"):
        hostport = rest.split(";", 1)[1] if ";" in rest else rest  # drop a local interface
        host, port = _split_host_port(hostport, None, url)
        return _Target(scheme, 0, None, host, port, "", scheme == "tls+tcp", False)
    if scheme in ("ws", "wss"):
        hostport, slash, path = rest.partition("/")
        hostport = hostport.split(";", 1)[1] if ";" in hostport else hostport
        host, port = _split_host_port(hostport, 443 if scheme == "wss" else 80, url)
        return _Target(scheme, 0, None, host, port, "/" + path if slash else "/",
                       scheme == "wss", True)
    raise ProbeUsageError(
        f"{url}: unknown scheme {scheme!r} (tcp, ipc, abstract, ws, wss, tls+tcp)")


# ---- dialling --------------------------------------------------------------------------


class _NoAnswer(Exception):
    def __init__(self, status: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def _connect(target: _Target, timeout_s: float) -> socket.socket:
    """A connected plain socket, or _NoAnswer saying why not."""
    if target.family == socket.AF_UNIX:
        candidates = [(socket.AF_UNIX, target.sockaddr)]
    else:
        try:
            infos = socket.getaddrinfo(target.host, target.port, 0, socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise _NoAnswer("no_answer", f"no answer: cannot resolve {target.host!r} "
                                         f"({exc.strerror})") from None
        candidates = [(info[0], info[4]) for info in infos]
    last: Optional[BaseException] = None
    for family, sockaddr in candidates:
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.settimeout(timeout_s)
        try:
            sock.connect(sockaddr)  # type: ignore[arg-type]
            return sock
        except BaseException as exc:
            sock.close()
            last = exc
    if isinstance(last, ConnectionRefusedError):
        raise _NoAnswer("refused", "refused (nothing listens there)")
    if isinstance(last, FileNotFoundError):
        raise _NoAnswer("refused", "refused (no such socket file)")
    if isinstance(last, socket.timeout):
        raise _NoAnswer("no_answer", f"no answer within {timeout_s * 1000:.0f} ms")
    if isinstance(last, OSError):
        reason = last.strerror or str(last)
        raise _NoAnswer("no_answer", f"no answer ({reason})")
    raise _NoAnswer("no_answer", "no answer")


def _tls_wrap(sock: socket.socket, target: _Target, cacert: Optional[str],
              insecure: bool) -> socket.socket:
    context = ssl.create_default_context(cafile=cacert)
    if insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    try:
        return context.wrap_socket(sock, server_hostname=target.host)
    except ssl.SSLCertVerificationError as exc:
        sock.close()
        reason = exc.verify_message or exc.reason or str(exc)
        raise _NoAnswer("tls_refused", f"TLS peer, but its certificate was not accepted "
                                       f"({reason}); give --cacert FILE or --insecure") from None
    except (ssl.SSLError, OSError) as exc:
        sock.close()
        reason = getattr(exc, "reason", None) or str(exc)
        raise _NoAnswer("not_sp", f"not an SP peer (the TLS handshake failed: {reason})") from None


def _read_up_to(sock: socket.socket, count: int) -> Tuple[bytes, str]:
    """Read up to ``count`` bytes; returns them and why reading stopped early ('' if not)."""
    data = b""
    while len(data) < count:
        try:
            chunk = sock.recv(count - len(data))
        except socket.timeout:
            return data, "timeout"
        except OSError as exc:
            return data, exc.strerror or str(exc)
        if not chunk:
            return data, "closed"
        data += chunk
    return data, ""


_SHOWN = 24


def _shown(data: bytes) -> str:
    text = data[:_SHOWN].decode("latin-1")
    text = "".join(ch if 32 <= ord(ch) < 127 else "." for ch in text)
    return repr(text) + ("..." if len(data) > _SHOWN else "")


def _sp_header(sock: socket.socket, timeout_s: float) -> ProbeResult:
    data, stop = _read_up_to(sock, _HEADER_LEN)
    if len(data) == _HEADER_LEN and data[:4] == _SP_MAGIC:
        protocol, reserved = struct.unpack(">HH", data[4:])
        note = f"reserved bytes are {reserved:#06x}, not zero" if reserved else ""
        return ProbeResult("", "sp", protocol, note)
    if not data:
        if stop == "timeout":
            why = f"it accepted the connection but sent nothing in {timeout_s * 1000:.0f} ms"
        elif stop == "closed":
            why = "it closed the connection without sending anything"
        else:
            why = f"reading failed: {stop}"
        return ProbeResult("", "not_sp", None, f"not an SP peer ({why})")
    if _SP_MAGIC.startswith(data[:4]) and stop:
        return ProbeResult("", "not_sp", None,
                           f"not an SP peer (an incomplete SP header {data.hex(' ')}, then {stop})")
    try:  # whatever else already arrived makes a clearer picture than eight bytes
        data += sock.recv(_SHOWN + 1 - len(data), socket.MSG_DONTWAIT)
    except OSError:
        pass
    return ProbeResult("", "not_sp", None, f"not an SP peer (it sent {_shown(data)})")


def _ws_request(target: _Target, protocol_name: str, key: str) -> bytes:
    host = f"[{target.host}]" if ":" in target.host else target.host
    lines = [
        f"GET {target.path} HTTP/1.1",
        f"Host: {host}:{target.port}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Key: {key}",
        "Sec-WebSocket-Version: 13",
        f"Sec-WebSocket-Protocol: {protocol_name}",
        "", "",
    ]
    return "\r\n".join(lines).encode("ascii")


def _http_response(sock: socket.socket) -> Tuple[bytes, str]:
    """The response head; only its status line when that is not ``101`` (nanomsg's refusal
    leaves out the blank line that ends the head and keeps the connection open)."""
    data = b""
    while b"\r\n\r\n" not in data and len(data) < _HTTP_MAX:
        chunk, stop = _read_up_to(sock, 1)
        data += chunk
        if stop:
            return data, stop
        if data.endswith(b"\r\n") and data.count(b"\r\n") == 1:
            status = data.split(None, 2)
            if data.startswith(b"HTTP/") and (len(status) < 2 or status[1] != b"101"):
                return data, ""
    return data, ""


def _ws_try(target: _Target, protocol: int, timeout_s: float, cacert: Optional[str],
            insecure: bool) -> Tuple[str, str]:
    """Ask the server to be ``protocol``. Returns ("yes", ""), ("no", status line) or
    ("not_http", description)."""
    sock = _connect(target, timeout_s)
    if target.tls:
        sock = _tls_wrap(sock, target, cacert, insecure)
    try:
        name = PROTOCOLS[protocol].lower() + ".sp.nanomsg.org"
        key = base64.b64encode(os.urandom(16)).decode("ascii")
        sock.sendall(_ws_request(target, name, key))
        data, stop = _http_response(sock)
        head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1")
        status_line, *header_lines = head.split("\r\n")
        if not status_line.startswith("HTTP/"):
            if not data:
                why = ("it closed the connection without answering" if stop == "closed"
                       else "it did not answer an HTTP upgrade request")
            else:
                why = f"it answered the upgrade request with {_shown(data)}"
            return "not_http", why
        headers = {}
        for line in header_lines:
            field, _, value = line.partition(":")
            headers[field.strip().lower()] = value.strip()
        parts = status_line.split()
        if len(parts) >= 2 and parts[1] == "101":
            expected = base64.b64encode(
                hashlib.sha1((key + _WS_GUID).encode("ascii")).digest()).decode("ascii")
            agreed = headers.get("sec-websocket-protocol", "").lower()
            if headers.get("sec-websocket-accept") != expected:
                return "not_http", "a WebSocket upgrade with a wrong Sec-WebSocket-Accept"
            if agreed == name:
                # Leave politely: a masked close frame (status 1000, normal closure).
                sock.sendall(b"\x88\x82" + b"\x00\x00\x00\x00" + b"\x03\xe8")
                return "yes", ""
            return "not_http", (f"a WebSocket server that agreed to protocol "
                                f"{agreed or 'none'!r}, not an SP protocol")
        return "no", status_line
    finally:
        sock.close()


def _probe_ws(target: _Target, timeout_s: float, cacert: Optional[str],
              insecure: bool) -> ProbeResult:
    last_status = ""
    for protocol in _WS_ORDER:
        answer, text = _ws_try(target, protocol, timeout_s, cacert, insecure)
        if answer == "yes":
            return ProbeResult("", "sp", protocol, "")
        if answer == "not_http":
            return ProbeResult("", "not_sp", None, f"not an SP peer ({text})")
        last_status = text
    return ProbeResult("", "not_sp", None,
                       f"not an SP peer (an HTTP server that accepts none of the SP WebSocket "
                       f"protocols; it answered {last_status!r})")


def probe(url: str, *, timeout: float = 2000, cacert: Optional[str] = None,
          insecure: bool = False) -> ProbeResult:
    """Dial ``url`` and find out what answers there.

    Parameters
    ----------
    url:
        ``tcp://host:port``, ``ipc://path``, ``abstract://name``, ``ws://host[:port]/path``,
        ``wss://...`` or ``tls+tcp://host:port``.
    timeout:
        Milliseconds allowed for connecting and for each answer.
    cacert:
        PEM file of certificate authorities for ``tls+tcp``/``wss`` (default: the system's).
    insecure:
        Do not verify the TLS peer's certificate or host name.

    Returns
    -------
    ProbeResult
        Its ``line()`` is what the command prints, ``exit_code`` its exit status.

    Raises
    ------
    ValueError
        The URL cannot be probed (unknown scheme, missing port, inproc).
    """
    target = _parse(url)
    timeout_s = max(timeout, 1) / 1000.0
    try:
        if target.websocket:
            result = _probe_ws(target, timeout_s, cacert, insecure)
        else:
            sock = _connect(target, timeout_s)
            if target.tls:
                sock = _tls_wrap(sock, target, cacert, insecure)
            try:
                result = _sp_header(sock, timeout_s)
            finally:
                sock.close()
    except _NoAnswer as exc:
        result = ProbeResult("", exc.status, None, exc.detail)
    return result._replace(url=url)


# ---- --watch ---------------------------------------------------------------------------


def _watch(url: str, protocol_name: str, count: Optional[int], out: TextIO) -> int:
    import nanopy

    protocol = getattr(nanopy, protocol_name.upper(), None)
    if not isinstance(protocol, int) or protocol_name.upper() not in PROTOCOLS.values():
        raise ProbeUsageError(f"--protocol {protocol_name!r}: not one of "
                              f"{', '.join(n for n in PROTOCOLS.values() if n != 'PAIR1')}")
    with nanopy.Socket(protocol) as sock, sock.monitor() as monitor:
        endpoint = sock.bind(url)
        out.write(f"{endpoint.url}: listening as {protocol_name.upper()} ({protocol})\n")
        out.flush()
        seen = 0
        for event in monitor:
            stamp = time.strftime("%H:%M:%S")
            lost = f" ({event.dropped} earlier events lost)" if event.dropped else ""
            pipe = f" pipe {event.pipe}" if event.pipe else ""
            out.write(f"{stamp} {event.kind}{pipe} {event.address}{lost}\n")
            out.flush()
            seen += 1
            if count is not None and seen >= count:
                break
    return 0


# ---- command line ----------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Dial an SP address and print which protocol answers there "
                    "(or, with --watch, bind it and print connections as they come and go).",
        epilog="Exit status: 0 an SP peer answered, 1 something that is not an SP peer, "
               "3 nothing answered, 2 usage error.",
    )
    parser.add_argument("url", help="tcp://host:port, ipc://path, abstract://name, "
                                    "ws://host:port/path, wss://..., tls+tcp://host:port")
    parser.add_argument("--timeout", type=float, default=2000, metavar="MS",
                        help="milliseconds for connecting and for each answer (default 2000)")
    parser.add_argument("--cacert", metavar="FILE", help="CA certificates (PEM) for TLS")
    parser.add_argument("--insecure", "-k", action="store_true",
                        help="do not verify the TLS peer's certificate")
    parser.add_argument("--watch", action="store_true",
                        help="bind URL and print connect/disconnect events until Ctrl-C")
    parser.add_argument("--protocol", default="PAIR", metavar="NAME",
                        help="with --watch: the bound socket's protocol (default PAIR)")
    parser.add_argument("--count", type=int, metavar="N",
                        help="with --watch: stop after N events")
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run ``nanopy probe`` and return its exit status.

    Parameters
    ----------
    argv:
        The arguments after ``probe`` (``sys.argv[1:]`` when omitted).

    Returns
    -------
    int
        0 an SP peer answered, 1 something that is not an SP peer answered, 3 nothing
        answered, 2 usage error (and 130 after Ctrl-C in ``--watch``).
    """
    args: List[str] = list(sys.argv[1:] if argv is None else argv)
    try:
        ns = _parser().parse_args(args)
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else EXIT_USAGE)
    try:
        if ns.watch:
            return _watch(ns.url, ns.protocol, ns.count, sys.stdout)
        result = probe(ns.url, timeout=ns.timeout, cacert=ns.cacert, insecure=ns.insecure)
    except ProbeUsageError as exc:
        sys.stderr.write(f"{PROG}: {exc}\n")
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except OSError as exc:  # --watch: the bind failed
        sys.stderr.write(f"{PROG}: {ns.url}: {exc.strerror or exc}\n")
        return EXIT_NO_ANSWER
    print(result.line())
    return result.exit_code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
