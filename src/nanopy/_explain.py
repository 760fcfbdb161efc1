"""Error details: what exactly was wrong with an address, an option or a protocol number.

The C core reports a bare errno. When a call fails, the compiled module asks this module for a
sentence built from the call's own arguments; the errno stays the one nanomsg uses, and the
message becomes ``nn_strerror(errno) + ": " + detail``. Nothing here runs on a successful call.
"""

from __future__ import annotations

import errno as _errno
import os
from typing import Any, Optional

from .constants import (
    AF_SP,
    AF_SP_RAW,
    EFSM,
    NN_DOMAIN,
    NN_INPROC,
    NN_IPC,
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
    NN_REP,
    NN_REQ,
    NN_REQ_RESEND_IVL,
    NN_RESPONDENT,
    NN_SNDBUF,
    NN_SNDFD,
    NN_SNDPRIO,
    NN_SNDTIMEO,
    NN_SOCKADDR_MAX,
    NN_SOCKET_NAME,
    NN_SOL_SOCKET,
    NN_SUB,
    NN_SUB_SUBSCRIBE,
    NN_SUB_UNSUBSCRIBE,
    NN_SURVEYOR,
    NN_SURVEYOR_DEADLINE,
    NN_TCP,
    NN_TCP_NODELAY,
    NN_WS,
    NN_WS_MSG_TYPE,
    PROTOCOL_NAMES,
    SYMBOLS,
)

#: Transport schemes the core accepts.
KNOWN_SCHEMES = ("inproc", "ipc", "tcp", "ws", "wss", "tls+tcp", "abstract")

#: Longest ipc path a Unix domain socket takes (sun_path holds 108 bytes with the NUL).
IPC_PATH_MAX = 107

_MS_FOREVER = "an int number of milliseconds (-1 for forever)"

#: What each settable option accepts, by (level, option): nn_* wording.
OPTION_ACCEPTS: dict[tuple[int, int], str] = {
    (NN_SOL_SOCKET, NN_LINGER): _MS_FOREVER,
    (NN_SOL_SOCKET, NN_SNDBUF): "an int number of bytes, 1 or more",
    (NN_SOL_SOCKET, NN_RCVBUF): "an int number of bytes, 1 or more",
    (NN_SOL_SOCKET, NN_SNDTIMEO): _MS_FOREVER,
    (NN_SOL_SOCKET, NN_RCVTIMEO): _MS_FOREVER,
    (NN_SOL_SOCKET, NN_RECONNECT_IVL): "an int number of milliseconds, 0 or more",
    (NN_SOL_SOCKET, NN_RECONNECT_IVL_MAX): "an int number of milliseconds, 0 or more",
    (NN_SOL_SOCKET, NN_SNDPRIO): "an int from 1 (highest priority) to 16",
    (NN_SOL_SOCKET, NN_RCVPRIO): "an int from 1 (highest priority) to 16",
    (NN_SOL_SOCKET, NN_IPV4ONLY): "0 or 1",
    (NN_SOL_SOCKET, NN_SOCKET_NAME): "bytes or str of at most 63 bytes",
    (NN_SOL_SOCKET, NN_RCVMAXSIZE): "an int number of bytes (-1 for no limit)",
    (NN_SOL_SOCKET, NN_MAXTTL): "an int from 1 to 255",
    (NN_SUB, NN_SUB_SUBSCRIBE): "bytes or str (a topic prefix; empty for everything)",
    (NN_SUB, NN_SUB_UNSUBSCRIBE): "bytes or str, a topic this socket subscribed to",
    (NN_REQ, NN_REQ_RESEND_IVL): "an int number of milliseconds, 0 or more",
    (NN_SURVEYOR, NN_SURVEYOR_DEADLINE): "an int number of milliseconds, 0 or more",
    (NN_TCP, NN_TCP_NODELAY): "0 or 1",
    (NN_WS, NN_WS_MSG_TYPE): "NN_WS_MSG_TYPE_TEXT (1) or NN_WS_MSG_TYPE_BINARY (2)",
}

#: Options nn_getsockopt reads but nn_setsockopt refuses.
READ_ONLY = {(NN_SOL_SOCKET, NN_SNDFD), (NN_SOL_SOCKET, NN_RCVFD), (NN_SOL_SOCKET, NN_DOMAIN),
             (NN_SOL_SOCKET, NN_PROTOCOL)}

#: Options nn_setsockopt takes but nn_getsockopt refuses.
WRITE_ONLY = {(NN_SUB, NN_SUB_SUBSCRIBE), (NN_SUB, NN_SUB_UNSUBSCRIBE)}

_LEVEL_NAMES = {NN_SOL_SOCKET: "NN_SOL_SOCKET", NN_TCP: "NN_TCP", NN_IPC: "NN_IPC",
                NN_WS: "NN_WS", NN_INPROC: "NN_INPROC"}
_LEVEL_NAMES.update({p: "NN_" + name for p, name in PROTOCOL_NAMES.items()})

_NAMESPACE_SOCKET_OPTION = 6
_NAMESPACE_TRANSPORT_OPTION = 7

# Which level each protocol- or transport-specific option name lives at.
_OPTION_LEVEL_PREFIX = {"NN_SUB_": NN_SUB, "NN_REQ_": NN_REQ, "NN_SURVEYOR_": NN_SURVEYOR,
                        "NN_TCP_": NN_TCP, "NN_WS_": NN_WS}


def _option_names() -> dict[tuple[int, int], str]:
    names: dict[tuple[int, int], str] = {}
    for name, value, ns, _type, _unit in SYMBOLS:
        if ns == _NAMESPACE_SOCKET_OPTION:
            names[(NN_SOL_SOCKET, value)] = name
        elif ns == _NAMESPACE_TRANSPORT_OPTION:
            for prefix, level in _OPTION_LEVEL_PREFIX.items():
                if name.startswith(prefix):
                    names[(level, value)] = name
    return names


#: Option names by (level, option), from the symbol table.
OPTION_NAMES = _option_names()


def level_name(level: int) -> str:
    """``NN_SOL_SOCKET``, ``NN_SUB``... or the bare number for an unknown level."""
    return _LEVEL_NAMES.get(level, str(level))


def option_name(level: int, option: int) -> str:
    """The option's nanomsg name, or ``option N at level L`` when it has none."""
    return OPTION_NAMES.get((level, option), f"option {option} at level {level_name(level)}")


def type_name(value: Any) -> str:
    return type(value).__name__


# ---- protocols and domains ----------------------------------------------------------------


def protocol_list() -> str:
    """``PAIR (16), PUB (32), ...``: every protocol nanopy has."""
    return ", ".join(f"{name} ({number})" for number, name in PROTOCOL_NAMES.items())


def socket_problem(errnum: int, domain: Any, protocol: Any) -> Optional[str]:
    """Why nn_socket(domain, protocol) failed, or None when the errno says it all."""
    if errnum == _errno.EAFNOSUPPORT:
        return f"domain {domain!r}: expected AF_SP ({AF_SP}) or AF_SP_RAW ({AF_SP_RAW})"
    if errnum == _errno.EINVAL:
        return f"{protocol!r} is not a protocol; nanopy has {protocol_list()}"
    if errnum == _errno.EMFILE:
        return "too many open sockets (close some first)"
    return None


def state_problem(operation: str, protocol: int) -> Optional[str]:
    """Why a protocol refused a call in its current state (EFSM)."""
    return _STATE_PROBLEMS.get((operation, protocol))


_STATE_PROBLEMS = {
    ("recv", NN_REQ): "recv() on REQ before send(): there is no request waiting for a reply",
    ("recv", NN_SURVEYOR): "recv() on SURVEYOR outside a survey: send a survey first",
    ("send", NN_REP): "send() on REP before recv(): there is no request to reply to",
    ("send", NN_RESPONDENT): "send() on RESPONDENT before recv(): there is no survey to answer",
}


# ---- options ------------------------------------------------------------------------------


def option_value_problem(level: int, option: int, value: Any, name: Optional[str] = None,
                         accepts: Optional[str] = None) -> str:
    """``NAME: expected WHAT, got VALUE`` for a value an option refused (EINVAL).

    ``name`` and ``accepts`` override the nanomsg wording (the Socket properties pass their
    Python names). A value of the wrong type is named by its type, a wrong int by itself.
    """
    label = name or option_name(level, option)
    wanted = accepts or OPTION_ACCEPTS.get((level, option), "a valid value")
    if isinstance(value, bool) or not isinstance(value, (int, bytes, str)):
        got = type_name(value)
    elif isinstance(value, int):
        got = repr(value)
    elif (level, option) in ((NN_SUB, NN_SUB_SUBSCRIBE), (NN_SUB, NN_SUB_UNSUBSCRIBE)):
        got = repr(value)
        if option == NN_SUB_UNSUBSCRIBE:
            return f"{label}: not subscribed to {value!r}"
    elif len(value) > 63:
        got = f"{len(value)} bytes"
    else:
        is_name = (level, option) == (NN_SOL_SOCKET, NN_SOCKET_NAME)
        got = repr(value) if is_name else type_name(value)
    return f"{label}: expected {wanted}, got {got}"


def option_problem(errnum: int, level: int, option: int, setting: bool,
                   protocol: Optional[int] = None, value: Any = None) -> Optional[str]:
    """Why nn_setsockopt / nn_getsockopt refused an option, or None."""
    name = option_name(level, option)
    if errnum == _errno.EINVAL and setting:
        return option_value_problem(level, option, value)
    if errnum != _errno.ENOPROTOOPT:
        return None
    known = (level, option) in OPTION_NAMES
    if not known:
        return f"unknown option: {name}"
    if setting and (level, option) in READ_ONLY:
        return f"{name} is read-only"
    if not setting and (level, option) in WRITE_ONLY:
        return f"{name} can be set but not read"
    if protocol is not None and level in PROTOCOL_NAMES and level != protocol:
        this = PROTOCOL_NAMES.get(protocol, str(protocol))
        return f"{name} applies to {PROTOCOL_NAMES[level]} sockets, this one is {this}"
    if protocol is not None and level == NN_SOL_SOCKET and option in (NN_SNDFD, NN_RCVFD):
        this = PROTOCOL_NAMES.get(protocol, str(protocol))
        verb = "send" if option == NN_SNDFD else "receive"
        return f"{name}: a {this} socket does not {verb}"
    return f"{name} is not available on this socket"


# ---- addresses ----------------------------------------------------------------------------


def address_problem(address: Any, errnum: int, bind: bool) -> Optional[str]:
    """``ADDRESS: reason`` for a bind or connect that failed with ``errnum``."""
    if not isinstance(address, (str, bytes)):
        return f"address must be str or bytes, got {type_name(address)}"
    text = address.decode("utf-8", "replace") if isinstance(address, bytes) else address
    reason = _address_reason(text, errnum, bind)
    return f"{text}: {reason}" if reason else None


def _address_reason(address: str, errnum: int, bind: bool) -> Optional[str]:
    if "\0" in address:
        return "address contains a NUL character"
    if errnum == _errno.ENAMETOOLONG and len(address.encode()) >= NN_SOCKADDR_MAX:
        return f"address longer than {NN_SOCKADDR_MAX - 1} bytes"
    scheme, sep, rest = address.partition("://")
    if not sep:
        return "no transport (expected scheme://..., e.g. tcp://127.0.0.1:5555)"
    if errnum == _errno.EPROTONOSUPPORT:
        return f"unknown transport {scheme!r} (nanopy has {', '.join(KNOWN_SCHEMES)})"
    if scheme == "tcp":
        reason = _tcp_reason(rest, errnum, bind)
        if reason:
            return reason
    if scheme == "ipc":
        if errnum == _errno.EINVAL and not rest:
            return "empty ipc path"
        if errnum == _errno.ENAMETOOLONG:
            return (f"ipc path is {len(rest.encode())} bytes, longer than the {IPC_PATH_MAX} "
                    "a Unix socket path may have")
    if scheme == "inproc" and errnum == _errno.EINVAL and not rest:
        return "empty inproc name"
    return _os_reason(errnum)


def _tcp_reason(rest: str, errnum: int, bind: bool) -> Optional[str]:
    iface, semi, hostport = rest.rpartition(";")
    if not semi:
        hostport = rest
    if hostport.startswith("["):  # [IPv6]:port
        close = hostport.find("]")
        host, after = hostport[: close + 1], hostport[close + 1:]
        colon, port = after[:1], after[1:]
    else:
        host, colon, port = hostport.rpartition(":")
    if errnum == _errno.ENODEV:
        where = iface if semi else host
        if where.startswith("[") or ":" in where:
            return f"IPv6 address {where!r} on a socket with ipv4only set (set ipv4only = False)"
        return f"no local interface or address {where!r}"
    if errnum != _errno.EINVAL:
        return None
    if semi and bind:
        return "a bind address takes no ';' (use tcp://interface:port)"
    if colon != ":" or not port:
        return "missing port (expected tcp://host:port)"
    if not port.isdigit():
        return f"port {port!r} is not a number"
    if int(port) > 65535:
        return "port out of range"
    if int(port) == 0:
        return "port 0 is not allowed here (use 1-65535)"
    if not host:
        return "missing host (expected tcp://host:port)"
    if host.startswith("[") or ":" in host:
        return "IPv6 address on a socket with ipv4only set (set ipv4only = False)"
    return "ill-formed tcp address"


_OS_REASONS = {
    _errno.EACCES: "permission denied",
    _errno.EADDRINUSE: "address already in use",
    _errno.EADDRNOTAVAIL: "address not available on this host",
    _errno.EINVAL: "ill-formed address",
    _errno.EMFILE: "too many open files",
}


def _os_reason(errnum: int) -> Optional[str]:
    if errnum in _OS_REASONS:
        return _OS_REASONS[errnum]
    if errnum == EFSM or errnum <= 0:
        return None
    return os.strerror(errnum)[:1].lower() + os.strerror(errnum)[1:]
