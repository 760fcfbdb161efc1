"""The nn_* functions: nanomsg's C API rendered one-to-one in Python.

The data-path calls (nn_send, nn_recv, ...) are the compiled functions themselves, so a call
costs no extra Python frame. The rest is thin.
"""

from __future__ import annotations

from typing import NamedTuple

from . import _core
from .constants import EINVAL, SYMBOLS
from .errors import error_for, nn_errno, nn_strerror

nn_socket = _core.nn_socket
nn_close = _core.nn_close
nn_setsockopt = _core.nn_setsockopt
nn_getsockopt = _core.nn_getsockopt
nn_bind = _core.nn_bind
nn_connect = _core.nn_connect
nn_shutdown = _core.nn_shutdown
nn_send = _core.nn_send
nn_recv = _core.nn_recv
nn_recv_into = _core.nn_recv_into
nn_recv_msg = _core.nn_recv_msg
nn_sendmsg = _core.nn_sendmsg
nn_recvmsg = _core.nn_recvmsg
nn_poll = _core.nn_poll
nn_device = _core.nn_device
nn_term = _core.nn_term
nn_get_statistic = _core.nn_get_statistic
send_many = _core.send_many
recv_many = _core.recv_many

__all__ = [
    "nn_socket", "nn_close", "nn_setsockopt", "nn_getsockopt", "nn_bind", "nn_connect",
    "nn_shutdown", "nn_send", "nn_recv", "nn_recv_into", "nn_recv_msg", "nn_sendmsg",
    "nn_recvmsg", "nn_poll", "nn_device", "nn_term", "nn_get_statistic", "nn_errno",
    "nn_strerror", "nn_symbol", "nn_symbol_info", "SymbolInfo", "send_many", "recv_many",
]


class SymbolInfo(NamedTuple):
    """One entry of nanomsg's symbol table (struct nn_symbol_properties)."""

    value: int
    name: str
    ns: int
    type: int
    unit: int


def _symbol_row(i: int) -> tuple[str, int, int, int, int]:
    if isinstance(i, bool) or not isinstance(i, int) or i < 0 or i >= len(SYMBOLS):
        raise error_for(EINVAL, f"symbol index {i!r}: expected an int from 0 to {len(SYMBOLS) - 1}")
    return SYMBOLS[i]


def nn_symbol(i: int) -> tuple[str, int]:
    """Return the name and value of constant number ``i``, walking nanomsg's symbol table.

    Parameters
    ----------
    i : int
        Index from 0; the table has 121 entries, in nanomsg's order.

    Returns
    -------
    tuple of (str, int)
        The constant's name and value.

    Raises
    ------
    NNError
        EINVAL past the end (how C callers find the end of the table).
    """
    name, value, _ns, _type, _unit = _symbol_row(i)
    return name, value


def nn_symbol_info(i: int) -> SymbolInfo:
    """Return the full properties of constant number ``i``.

    Parameters
    ----------
    i : int
        Index from 0, as for nn_symbol.

    Returns
    -------
    SymbolInfo
        ``(value, name, ns, type, unit)``: ``ns`` is an ``NN_NS_*`` namespace, ``type`` an
        ``NN_TYPE_*`` and ``unit`` an ``NN_UNIT_*``.

    Raises
    ------
    NNError
        EINVAL past the end.
    """
    name, value, ns, typ, unit = _symbol_row(i)
    return SymbolInfo(value, name, ns, typ, unit)
