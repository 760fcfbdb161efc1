"""TLS settings for the ``tls+tcp://`` and ``wss://`` transports.

A :class:`TLSConfig` is given to a socket (``Socket(..., tls=cfg)`` or ``sock.tls = cfg``)
before ``bind``/``connect``. The handshake itself runs in C on nanopy's I/O thread, with
OpenSSL loaded at run time (see docs/security.md).
"""

from __future__ import annotations

import os
from typing import Optional

from .constants import EINVAL
from .errors import error_for

__all__ = ["TLSConfig", "TLS_SCHEMES"]

#: URL schemes that need a TLS configuration on the socket.
TLS_SCHEMES = ("tls+tcp://", "wss://")

# The private socket option that carries a configuration to the C transports: level and
# option number (the core stores the bytes, the TLS transports read them).
TLS_OPTION_LEVEL = -1001
TLS_OPTION_CONFIG = 1


def _pem_path(name: str, value: Optional[str]) -> Optional[str]:
    if value is None:
        return None
    path = os.fspath(value)
    if not isinstance(path, str) or not path:
        raise error_for(EINVAL, f"TLSConfig: {name} must be a file path")
    if "\n" in path or "\0" in path:
        raise error_for(EINVAL, f"TLSConfig: {name} contains a line break or NUL")
    if not os.path.isfile(path):
        raise error_for(EINVAL, f"TLSConfig: {name} {path!r} is not a readable file")
    return os.path.abspath(path)


class TLSConfig:
    """How a socket's ``tls+tcp://`` and ``wss://`` endpoints authenticate.

    Parameters
    ----------
    server:
        True for a socket that binds (it presents ``cert_file``), False for one that
        connects.
    cert_file, key_file:
        PEM certificate chain and its private key. Required for a server; a client gives
        them when the server asks for a client certificate.
    ca_file:
        PEM CA certificates the peer's certificate is checked against. A client without one
        uses the system's trust store. A server with one *requires* every client to present
        a certificate signed by it.
    server_name:
        Client: the name the server's certificate must carry (and the SNI sent). Default: the
        host of the URL passed to ``connect``.
    verify:
        Check the peer (default True). ``verify=False`` accepts any server certificate, which
        protects against eavesdroppers but not against an active attacker: use it only for
        tests.

    Raises
    ------
    NNError
        EINVAL when a file does not exist or a server lacks ``cert_file``/``key_file``.
    """

    __slots__ = ("server", "cert_file", "key_file", "ca_file", "server_name", "verify")

    def __init__(
        self,
        *,
        server: bool,
        cert_file: Optional[str] = None,
        key_file: Optional[str] = None,
        ca_file: Optional[str] = None,
        server_name: Optional[str] = None,
        verify: bool = True,
    ) -> None:
        self.server = bool(server)
        self.cert_file = _pem_path("cert_file", cert_file)
        self.key_file = _pem_path("key_file", key_file)
        self.ca_file = _pem_path("ca_file", ca_file)
        if server_name is not None and (not server_name or any(c in server_name for c in "\n\0")):
            raise error_for(EINVAL, "TLSConfig: server_name must be a non-empty host name")
        self.server_name = server_name
        self.verify = bool(verify)
        if self.server and not (self.cert_file and self.key_file):
            raise error_for(EINVAL, "TLSConfig(server=True) needs cert_file and key_file")
        if bool(self.cert_file) != bool(self.key_file):
            raise error_for(EINVAL, "TLSConfig: cert_file and key_file go together")

    def to_bytes(self) -> bytes:
        """The configuration as the C transports read it ("name=value" lines).

        Returns
        -------
        bytes
            The option value stored on the socket.
        """
        lines = [f"server={int(self.server)}", f"verify={int(self.verify)}"]
        for name in ("cert_file", "key_file", "ca_file", "server_name"):
            value = getattr(self, name)
            if value:
                lines.append(f"{name}={value}")
        return "\n".join(lines).encode("utf-8")

    def __repr__(self) -> str:
        fields = ", ".join(f"{n}={getattr(self, n)!r}" for n in self.__slots__
                           if getattr(self, n) is not None)
        return f"TLSConfig({fields})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TLSConfig):
            return NotImplemented
        return self.to_bytes() == other.to_bytes()

    __hash__ = None  # type: ignore[assignment]


def needs_tls(address: str) -> bool:
    """True for a URL whose transport needs a TLS configuration."""
    return address.startswith(TLS_SCHEMES)
