"""nanocat's five output formats for received messages, byte for byte."""

from __future__ import annotations

import struct
from typing import Tuple

#: Output formats in nanocat's order; ``no`` (the default) prints nothing.
FORMATS: Tuple[str, ...] = ("no", "raw", "ascii", "quoted", "msgpack", "hex")


def _is_c_printable(byte: int) -> bool:
    """``isprint()`` in the C locale: space through tilde."""
    return 0x20 <= byte <= 0x7E


_ASCII_TABLE = bytes(b if _is_c_printable(b) else ord(".") for b in range(256))


def _quoted_escape(byte: int) -> bytes:
    """How the ``quoted`` format writes one byte."""
    if byte == 0x0A:
        return b"\\n"
    if byte == 0x0D:
        return b"\\r"
    if byte in (0x5C, 0x22):  # backslash and double quote get a backslash in front
        return b"\\" + bytes([byte])
    if _is_c_printable(byte):
        return bytes([byte])
    return b"\\x%02x" % byte


_QUOTED_TABLE: Tuple[bytes, ...] = tuple(_quoted_escape(b) for b in range(256))

_HEX_TABLE: Tuple[bytes, ...] = tuple(b"\\x%02x" % b for b in range(256))


def format_message(data: bytes, fmt: str) -> bytes:
    """Render one received message the way nanocat prints it.

    Parameters
    ----------
    data:
        The message body.
    fmt:
        One of :data:`FORMATS`: ``no`` (nothing), ``raw`` (the bytes as they are, no
        delimiter), ``ascii`` (non-printable bytes become ``.``, then a newline), ``quoted``
        (C-like escapes inside double quotes, then a newline), ``msgpack`` (a msgpack ``bin``
        object: ``c4``/``c5``/``c6`` marker, big-endian length, the bytes) or ``hex`` (every
        byte as ``\\xNN`` inside double quotes, then a newline).

    Returns
    -------
    bytes
        Exactly what nanocat writes to stdout for this message.

    Raises
    ------
    ValueError
        If ``fmt`` is not a known format.
    """
    data = bytes(data)
    if fmt == "no":
        return b""
    if fmt == "raw":
        return data
    if fmt == "ascii":
        return data.translate(_ASCII_TABLE) + b"\n"
    if fmt == "quoted":
        return b'"' + b"".join(_QUOTED_TABLE[b] for b in data) + b'"\n'
    if fmt == "hex":
        return b'"' + b"".join(_HEX_TABLE[b] for b in data) + b'"\n'
    if fmt == "msgpack":
        size = len(data)
        if size < 0x100:
            header = b"\xc4" + struct.pack(">B", size)
        elif size < 0x10000:
            header = b"\xc5" + struct.pack(">H", size)
        else:
            header = b"\xc6" + struct.pack(">I", size & 0xFFFFFFFF)
        return header + data
    raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")

