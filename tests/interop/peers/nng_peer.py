#!/usr/bin/env python3
"""Interop test peer backed by NNG, through the pynng binding (which bundles NNG).

Standalone on purpose: it never imports nanopy. The command line and the output format are
described in ``peer_common.py``; example::

    python nng_peer.py --proto req --connect ipc:///tmp/x.ipc --action ask

NNG's version 0 protocols (``pair0``, ``req0``, ...) are the ones that speak nanomsg's wire
protocol; ``pair1`` would not.
"""

from __future__ import annotations

import argparse
import sys

from peer_common import BackendUnavailable, PeerError, main

SOCKET_CLASS_NAMES = {
    "pair": "Pair0",
    "pub": "Pub0",
    "sub": "Sub0",
    "req": "Req0",
    "rep": "Rep0",
    "push": "Push0",
    "pull": "Pull0",
    "surveyor": "Surveyor0",
    "respondent": "Respondent0",
    "bus": "Bus0",
}


def import_pynng():
    """Import pynng, turning an ImportError into BackendUnavailable."""
    try:
        import pynng
    except ImportError as exc:
        raise BackendUnavailable(f"pynng not importable ({exc})") from exc
    return pynng


def tls_config(pynng, options: argparse.Namespace):
    """The pynng TLSConfig the --tls-* flags ask for (None without them)."""
    if not (options.tls_cert or options.tls_ca):
        return None

    def read(path):
        with open(path) as f:
            return f.read()

    server = bool(options.bind)
    kwargs = {}
    if options.tls_cert:
        kwargs["own_cert_string"] = read(options.tls_cert)
        kwargs["own_key_string"] = read(options.tls_key)
    if options.tls_ca:
        kwargs["ca_string"] = read(options.tls_ca)
        kwargs["auth_mode"] = pynng.TLSConfig.AUTH_MODE_REQUIRED
    else:
        kwargs["auth_mode"] = pynng.TLSConfig.AUTH_MODE_NONE
    if not server:
        kwargs["server_name"] = "localhost"
    mode = pynng.TLSConfig.MODE_SERVER if server else pynng.TLSConfig.MODE_CLIENT
    return pynng.TLSConfig(mode, **kwargs)


class NngSocket:
    """One pynng socket with the PeerSocket interface."""

    def __init__(self, pynng, protocol: str, options: argparse.Namespace) -> None:
        self.pynng = pynng
        socket_class = getattr(pynng, SOCKET_CLASS_NAMES[protocol])
        tls = tls_config(pynng, options)
        self.sock = socket_class(tls_config=tls) if tls is not None else socket_class()
        self.sock.recv_timeout = options.timeout_ms
        self.sock.send_timeout = options.timeout_ms
        # In NNG a limit of 0 means "no limit" (in nanomsg it means "empty messages only").
        self.sock.recv_max_size = max(options.rcvmaxsize, 0)
        if protocol == "sub":
            self.sock.subscribe(b"")
        if protocol == "surveyor":
            self.sock.survey_time = options.timeout_ms
        if protocol == "req" and options.resend_ivl_ms is not None:
            self.sock.resend_time = options.resend_ivl_ms

    def call(self, what: str, function, *args):
        """Run one pynng call, mapping its exceptions to PeerError."""
        try:
            return function(*args)
        except self.pynng.Timeout as exc:
            raise PeerError(f"{what}: {exc}", timed_out=True) from exc
        except self.pynng.NNGException as exc:
            raise PeerError(f"{what}: {exc}") from exc

    def bind(self, url: str) -> None:
        """Listen on ``url``."""
        self.call(f"listen {url}", self.sock.listen, url)

    def connect(self, url: str) -> None:
        """Dial ``url`` in the background, retrying until it succeeds (like nn_connect)."""
        self.call(f"dial {url}", lambda: self.sock.dial(url, block=False))

    def send(self, data: bytes) -> None:
        """Send one message."""
        self.call("send", self.sock.send, data)

    def recv(self) -> bytes:
        """Receive one message.

        Goes through ``recv_msg``: pynng 0.9's ``recv`` fails on an empty message (it unpacks
        a NULL pointer).
        """
        return self.call("recv", self.sock.recv_msg).bytes

    def connections(self) -> int:
        """Return the number of pipes attached to the socket."""
        return len(self.sock.pipes)

    def close(self) -> None:
        """Close the socket."""
        self.sock.close()


def open_socket(options: argparse.Namespace) -> NngSocket:
    """Create, configure, bind and connect the socket the command line asks for."""
    sock = NngSocket(import_pynng(), options.proto, options)
    for url in options.bind:
        sock.bind(url)
    for url in options.connect:
        sock.connect(url)
    return sock


def describe_backend() -> str:
    """Import pynng and give its version."""
    pynng = import_pynng()
    return f"pynng {pynng.__version__}"


if __name__ == "__main__":
    sys.exit(main(None, "NNG (pynng)", describe_backend, open_socket))
