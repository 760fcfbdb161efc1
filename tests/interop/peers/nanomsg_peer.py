#!/usr/bin/env python3
"""Interop test peer backed by native libnanomsg (loaded with ctypes).

Standalone on purpose: it never imports nanopy. The command line and the output format are
described in ``peer_common.py``; example::

    python nanomsg_peer.py --proto rep --bind tcp://127.0.0.1:5555 --action serve

The library is found through ``$NANOMSG_LIBRARY`` if set, else ``libnanomsg.so.5`` /
``ctypes.util.find_library("nanomsg")``.
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import errno
import os
import sys

from peer_common import BackendUnavailable, PeerError, main

# Values from nanomsg's nn.h and protocol headers (duplicated here: no nanopy import).
AF_SP = 1
NN_SOL_SOCKET = 0
NN_LINGER = 1
NN_SNDTIMEO = 4
NN_RCVTIMEO = 5
NN_RCVMAXSIZE = 16
NN_SUB_SUBSCRIBE = 1
NN_REQ_RESEND_IVL = 1
NN_SURVEYOR_DEADLINE = 1
NN_STAT_CURRENT_CONNECTIONS = 201
NN_MSG = ctypes.c_size_t(-1).value

PROTOCOL_IDS = {
    "pair": 16,
    "pub": 32,
    "sub": 33,
    "req": 48,
    "rep": 49,
    "push": 80,
    "pull": 81,
    "surveyor": 98,
    "respondent": 99,
    "bus": 112,
}


def library_candidates() -> list:
    """Return the names under which to look for libnanomsg, most specific first."""
    names = []
    if os.environ.get("NANOMSG_LIBRARY"):
        names.append(os.environ["NANOMSG_LIBRARY"])
    names.append("libnanomsg.so.5")
    found = ctypes.util.find_library("nanomsg")
    if found:
        names.append(found)
    return names


def load_library() -> ctypes.CDLL:
    """Load libnanomsg and declare the signatures this peer calls."""
    errors = []
    for name in library_candidates():
        try:
            lib = ctypes.CDLL(name, use_errno=True)
            lib.loaded_from = name
            break
        except OSError as exc:
            errors.append(f"{name}: {exc}")
    else:
        raise BackendUnavailable("libnanomsg not loadable (" + "; ".join(errors) + ")")
    c_int, c_void_p, c_size_t = ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t
    c_char_p = ctypes.c_char_p
    signatures = {
        "nn_socket": (c_int, [c_int, c_int]),
        "nn_close": (c_int, [c_int]),
        "nn_bind": (c_int, [c_int, c_char_p]),
        "nn_connect": (c_int, [c_int, c_char_p]),
        "nn_setsockopt": (c_int, [c_int, c_int, c_int, c_void_p, c_size_t]),
        "nn_send": (c_int, [c_int, c_void_p, c_size_t, c_int]),
        "nn_recv": (c_int, [c_int, c_void_p, c_size_t, c_int]),
        "nn_freemsg": (c_int, [c_void_p]),
        "nn_errno": (c_int, []),
        "nn_strerror": (c_char_p, [c_int]),
        "nn_get_statistic": (ctypes.c_uint64, [c_int, c_int]),
    }
    for function_name, (restype, argtypes) in signatures.items():
        function = getattr(lib, function_name)
        function.restype = restype
        function.argtypes = argtypes
    return lib


class NanomsgSocket:
    """One native nanomsg socket with the PeerSocket interface."""

    def __init__(self, lib: ctypes.CDLL, protocol: str) -> None:
        self.lib = lib
        self.protocol = protocol
        self.sid = self.check(lib.nn_socket(AF_SP, PROTOCOL_IDS[protocol]), "nn_socket")

    def check(self, result: int, what: str) -> int:
        """Return ``result``, or raise PeerError with nanomsg's errno text if it is negative."""
        if result >= 0:
            return result
        errnum = self.lib.nn_errno()
        message = self.lib.nn_strerror(errnum).decode(errors="replace")
        raise PeerError(f"{what}: {message} (errno {errnum})", timed_out=errnum == errno.ETIMEDOUT)

    def set_int(self, level: int, option: int, value: int, what: str) -> None:
        """Set an integer socket option."""
        cvalue = ctypes.c_int(value)
        self.check(
            self.lib.nn_setsockopt(
                self.sid, level, option, ctypes.byref(cvalue), ctypes.sizeof(cvalue)
            ),
            what,
        )

    def subscribe_all(self) -> None:
        """Subscribe a SUB socket to every message (the empty topic)."""
        self.check(
            self.lib.nn_setsockopt(self.sid, PROTOCOL_IDS["sub"], NN_SUB_SUBSCRIBE, None, 0),
            "subscribe",
        )

    def bind(self, url: str) -> None:
        """Bind to ``url``."""
        self.check(self.lib.nn_bind(self.sid, url.encode()), f"nn_bind {url}")

    def connect(self, url: str) -> None:
        """Connect to ``url`` (asynchronous, as always in nanomsg)."""
        self.check(self.lib.nn_connect(self.sid, url.encode()), f"nn_connect {url}")

    def send(self, data: bytes) -> None:
        """Send one message."""
        sent = self.check(self.lib.nn_send(self.sid, data, len(data), 0), "nn_send")
        if sent != len(data):
            raise PeerError(f"nn_send sent {sent} of {len(data)} bytes")

    def recv(self) -> bytes:
        """Receive one message into a library-allocated buffer and copy it out."""
        buffer = ctypes.c_void_p()
        size = self.check(self.lib.nn_recv(self.sid, ctypes.byref(buffer), NN_MSG, 0), "nn_recv")
        try:
            return ctypes.string_at(buffer, size)
        finally:
            self.lib.nn_freemsg(buffer)

    def connections(self) -> int:
        """Return NN_STAT_CURRENT_CONNECTIONS."""
        return int(self.lib.nn_get_statistic(self.sid, NN_STAT_CURRENT_CONNECTIONS))

    def close(self) -> None:
        """Close the socket."""
        self.lib.nn_close(self.sid)


def open_socket(options: argparse.Namespace) -> NanomsgSocket:
    """Create, configure, bind and connect the socket the command line asks for."""
    sock = NanomsgSocket(load_library(), options.proto)
    sock.set_int(NN_SOL_SOCKET, NN_SNDTIMEO, options.timeout_ms, "NN_SNDTIMEO")
    sock.set_int(NN_SOL_SOCKET, NN_RCVTIMEO, options.timeout_ms, "NN_RCVTIMEO")
    sock.set_int(NN_SOL_SOCKET, NN_RCVMAXSIZE, options.rcvmaxsize, "NN_RCVMAXSIZE")
    sock.set_int(NN_SOL_SOCKET, NN_LINGER, 0, "NN_LINGER")
    if options.proto == "sub":
        sock.subscribe_all()
    if options.proto == "surveyor":
        sock.set_int(
            PROTOCOL_IDS["surveyor"], NN_SURVEYOR_DEADLINE, options.timeout_ms, "deadline"
        )
    if options.proto == "req" and options.resend_ivl_ms is not None:
        sock.set_int(PROTOCOL_IDS["req"], NN_REQ_RESEND_IVL, options.resend_ivl_ms, "resend")
    for url in options.bind:
        sock.bind(url)
    for url in options.connect:
        sock.connect(url)
    return sock


def describe_backend() -> str:
    """Load the library and say which file it came from."""
    return f"libnanomsg from {load_library().loaded_from}"


if __name__ == "__main__":
    sys.exit(main(None, "libnanomsg", describe_backend, open_socket))
