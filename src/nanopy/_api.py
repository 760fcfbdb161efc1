"""The nn_* functions: nanomsg's C API rendered one-to-one in Python (API.md section 1).

The data-path calls (nn_send, nn_recv, ...) are the compiled functions themselves, so a call
costs no extra Python frame. The rest is thin.
"""

from __future__ import annotations

from typing import NamedTuple

from . import _core
from .constants import SYMBOLS
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


def nn_symbol(i: int) -> tuple[str, int]:
    """Return (name, value) of constant number ``i``; EINVAL past the end, as in C."""
    if not isinstance(i, int) or i < 0 or i >= len(SYMBOLS):
        raise error_for(22)
    name, value, _ns, _type, _unit = SYMBOLS[i]
    return name, value


def nn_symbol_info(i: int) -> SymbolInfo:
    """Return the full properties of constant number ``i``; EINVAL past the end."""
    if not isinstance(i, int) or i < 0 or i >= len(SYMBOLS):
        raise error_for(22)
    name, value, ns, typ, unit = SYMBOLS[i]
    return SymbolInfo(value, name, ns, typ, unit)
