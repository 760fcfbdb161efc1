#!/usr/bin/env python3
"""A native nanomsg 1.1.5 PAIR over ws:// that reads and writes NN_WS_MSG_TYPE per message.

Standalone on purpose (libnanomsg through ctypes, no nanopy import), so the test sees what
native nanomsg puts on the wire and what it reports. Usage::

    nanomsg_ws_msg_type.py (--bind URL | --connect URL) --socket-type {1,2} \\
        --expect N --send default,1,2

Steps: set the socket's NN_WS_MSG_TYPE, bind or connect, print ``READY``; receive N messages
with nn_recvmsg and a control buffer and print ``RECV <type> <body>`` for each (``<type>`` is
the data byte of its (NN_WS, NN_WS_MSG_TYPE) control property, ``none`` without one); then send
one message per --send item, with no control data (``default``) or with that property
(``1`` text, ``2`` binary), body ``native-<i>-<item>``; print ``DONE`` and wait for stdin to
close (nanomsg drops queued messages at close, so the test says when they have arrived).
Errors go to stderr with exit status 1.
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import os
import struct
import sys

AF_SP, NN_PAIR = 1, 16
NN_SOL_SOCKET, NN_LINGER, NN_SNDTIMEO, NN_RCVTIMEO = 0, 1, 4, 5
NN_WS, NN_WS_MSG_TYPE = -4, 1
PROTO_SP, SP_HDR = 1, 1
ALIGN = ctypes.sizeof(ctypes.c_size_t)
CMSG_HDR = ctypes.sizeof(ctypes.c_size_t) + 2 * ctypes.sizeof(ctypes.c_int)  # nn_cmsghdr


class IoVec(ctypes.Structure):
    _fields_ = [("iov_base", ctypes.c_void_p), ("iov_len", ctypes.c_size_t)]


class MsgHdr(ctypes.Structure):
    _fields_ = [("msg_iov", ctypes.POINTER(IoVec)), ("msg_iovlen", ctypes.c_int),
                ("msg_control", ctypes.c_void_p), ("msg_controllen", ctypes.c_size_t)]


def aligned(n: int) -> int:
    return (n + ALIGN - 1) & ~(ALIGN - 1)


def load() -> ctypes.CDLL:
    names = [os.environ.get("NANOMSG_LIBRARY"), "libnanomsg.so.5",
             ctypes.util.find_library("nanomsg")]
    for name in filter(None, names):
        try:
            lib = ctypes.CDLL(name, use_errno=True)
            break
        except OSError:
            continue
    else:
        raise SystemExit("libnanomsg not loadable")
    i, p, sz = ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t
    for fn, res, args in [
        ("nn_socket", i, [i, i]), ("nn_close", i, [i]), ("nn_bind", i, [i, ctypes.c_char_p]),
        ("nn_connect", i, [i, ctypes.c_char_p]), ("nn_setsockopt", i, [i, i, i, p, sz]),
        ("nn_sendmsg", i, [i, ctypes.POINTER(MsgHdr), i]),
        ("nn_recvmsg", i, [i, ctypes.POINTER(MsgHdr), i]),
        ("nn_errno", i, []), ("nn_strerror", ctypes.c_char_p, [i]),
    ]:
        getattr(lib, fn).restype = res
        getattr(lib, fn).argtypes = args
    return lib


class Native:
    def __init__(self, lib: ctypes.CDLL) -> None:
        self.lib = lib
        self.s = self.check(lib.nn_socket(AF_SP, NN_PAIR), "nn_socket")

    def check(self, rc: int, what: str) -> int:
        if rc < 0:
            err = self.lib.nn_errno()
            raise SystemExit(f"{what}: {self.lib.nn_strerror(err).decode()} (errno {err})")
        return rc

    def set_int(self, level: int, option: int, value: int) -> None:
        v = ctypes.c_int(value)
        self.check(self.lib.nn_setsockopt(self.s, level, option, ctypes.byref(v), 4),
                   f"nn_setsockopt {level}/{option}")

    def send(self, body: bytes, ws_type: int) -> None:
        """nn_sendmsg with, unless ws_type is 0, the (NN_WS, NN_WS_MSG_TYPE) property."""
        data = ctypes.create_string_buffer(body, len(body))
        iov = IoVec(ctypes.cast(data, ctypes.c_void_p), len(body))
        control = b""
        if ws_type:
            cmsg_len = aligned(CMSG_HDR) + 1   # NN_CMSG_LEN(1)
            control = struct.pack("@Nii", cmsg_len, NN_WS, NN_WS_MSG_TYPE) + bytes([ws_type])
            control += b"\0" * (aligned(cmsg_len) - len(control))
        cbuf = ctypes.create_string_buffer(control, len(control)) if control else None
        hdr = MsgHdr(ctypes.pointer(iov), 1,
                     ctypes.cast(cbuf, ctypes.c_void_p) if cbuf else None, len(control))
        sent = self.check(self.lib.nn_sendmsg(self.s, ctypes.byref(hdr), 0), "nn_sendmsg")
        if sent != len(body):
            raise SystemExit(f"nn_sendmsg sent {sent} of {len(body)}")

    def recv(self):
        """nn_recvmsg with a control buffer: (body, data byte of NN_WS_MSG_TYPE or None)."""
        size = 1 << 16
        data = ctypes.create_string_buffer(size)
        iov = IoVec(ctypes.cast(data, ctypes.c_void_p), size)
        cbuf = ctypes.create_string_buffer(256)
        hdr = MsgHdr(ctypes.pointer(iov), 1, ctypes.cast(cbuf, ctypes.c_void_p), 256)
        n = self.check(self.lib.nn_recvmsg(self.s, ctypes.byref(hdr), 0), "nn_recvmsg")
        raw, off, found = cbuf.raw, 0, None
        while off + aligned(CMSG_HDR) <= len(raw):   # NN_CMSG_FIRSTHDR / NN_CMSG_NXTHDR
            cmsg_len, level, ctype = struct.unpack_from("@Nii", raw, off)
            if cmsg_len < aligned(CMSG_HDR) or off + aligned(cmsg_len) > len(raw):
                break
            if (level, ctype) == (NN_WS, NN_WS_MSG_TYPE):
                found = raw[off + aligned(CMSG_HDR)]
            off += aligned(cmsg_len)
        return data.raw[:n], found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bind")
    parser.add_argument("--connect")
    parser.add_argument("--socket-type", type=int, choices=(1, 2), required=True)
    parser.add_argument("--expect", type=int, default=0)
    parser.add_argument("--send", default="")
    opts = parser.parse_args()
    native = Native(load())
    native.set_int(NN_SOL_SOCKET, NN_SNDTIMEO, 10000)
    native.set_int(NN_SOL_SOCKET, NN_RCVTIMEO, 10000)
    native.set_int(NN_SOL_SOCKET, NN_LINGER, 0)
    native.set_int(NN_WS, NN_WS_MSG_TYPE, opts.socket_type)
    if opts.bind:
        native.check(native.lib.nn_bind(native.s, opts.bind.encode()), "nn_bind")
    if opts.connect:
        native.check(native.lib.nn_connect(native.s, opts.connect.encode()), "nn_connect")
    print("READY", flush=True)
    for _ in range(opts.expect):
        body, ws_type = native.recv()
        print(f"RECV {'none' if ws_type is None else ws_type} {body.decode()}", flush=True)
    for i, item in enumerate(filter(None, opts.send.split(","))):
        native.send(f"native-{i}-{item}".encode(), 0 if item == "default" else int(item))
    print("DONE", flush=True)
    sys.stdin.read()
    native.lib.nn_close(native.s)
    return 0


if __name__ == "__main__":
    sys.exit(main())
