"""nanocat's command line: the option table, its abbreviation and clustering rules, the
mutual exclusions and requirements, and the usage and help texts."""

from __future__ import annotations

import math
import os
import re
import struct
import sys
from dataclasses import dataclass, field
from typing import Dict, List, Sequence, Tuple

from .formats import FORMATS

PROG = "nanopy cat"

# Bits an option provides (and that other options may require or conflict with).
_SOCK = 1
_WRITEABLE = 2
_READABLE = 4
_SOCK_SUB = 8
_DATA = 16
_ENDPOINT = 32
_REQUIRED = _SOCK | _ENDPOINT

# Kinds of option.
_INCREMENT, _DECREMENT, _HELP, _SET, _ENUM, _STRING, _BLOB, _FLOAT, _APPEND, _APPEND_FMT, _FILE = (
    range(11)
)
_TAKES_ARGUMENT = {_ENUM, _STRING, _BLOB, _FLOAT, _APPEND, _APPEND_FMT, _FILE}


@dataclass(frozen=True)
class _Option:
    """One command-line option: its names, what it stores, and how it combines with others."""

    long: str
    short: str | None
    kind: int
    dest: str
    value: object
    provides: int
    conflicts: int
    requires: int
    group: str
    metavar: str | None
    help: str


def _socket_option(name: str, provides: int, requires: int) -> _Option:
    return _Option(
        name.lower(), None, _SET, "socket_type", name, provides, _SOCK, requires,
        "Socket types", None, f"use an NN_{name} socket",
    )


_OPTIONS: Tuple[_Option, ...] = (
    _Option("verbose", "v", _INCREMENT, "verbose", None, 0, 0, 0,
            "General", None, "more diagnostics (accepted for compatibility)"),
    _Option("silent", "q", _DECREMENT, "verbose", None, 0, 0, 0,
            "General", None, "fewer diagnostics (accepted for compatibility)"),
    _Option("help", "h", _HELP, "", None, 0, 0, 0,
            "General", None, "show this help and exit"),
    _socket_option("PUSH", _SOCK | _WRITEABLE, _DATA),
    _socket_option("PULL", _SOCK | _READABLE, 0),
    _socket_option("PUB", _SOCK | _WRITEABLE, _DATA),
    _socket_option("SUB", _SOCK | _READABLE | _SOCK_SUB, 0),
    _socket_option("REQ", _SOCK | _WRITEABLE | _READABLE, _DATA),
    _socket_option("REP", _SOCK | _WRITEABLE | _READABLE, 0),
    _socket_option("SURVEYOR", _SOCK | _WRITEABLE | _READABLE, _DATA),
    _socket_option("RESPONDENT", _SOCK | _WRITEABLE | _READABLE, 0),
    _socket_option("BUS", _SOCK | _WRITEABLE | _READABLE, 0),
    _socket_option("PAIR", _SOCK | _WRITEABLE | _READABLE, 0),
    _Option("bind", None, _APPEND, "bind", None, _ENDPOINT, 0, 0,
            "Endpoints and socket options", "ADDR", "bind the socket to ADDR"),
    _Option("connect", None, _APPEND, "connect", None, _ENDPOINT, 0, 0,
            "Endpoints and socket options", "ADDR", "connect the socket to ADDR"),
    _Option("bind-ipc", "X", _APPEND_FMT, "bind", "ipc://{}", _ENDPOINT, 0, 0,
            "Endpoints and socket options", "PATH", "bind to ipc://PATH"),
    _Option("connect-ipc", "x", _APPEND_FMT, "connect", "ipc://{}", _ENDPOINT, 0, 0,
            "Endpoints and socket options", "PATH", "connect to ipc://PATH"),
    _Option("bind-local", "L", _APPEND_FMT, "bind", "tcp://127.0.0.1:{}", _ENDPOINT, 0, 0,
            "Endpoints and socket options", "PORT", "bind to tcp://127.0.0.1:PORT"),
    _Option("connect-local", "l", _APPEND_FMT, "connect", "tcp://127.0.0.1:{}", _ENDPOINT, 0,
            0, "Endpoints and socket options", "PORT", "connect to tcp://127.0.0.1:PORT"),
    _Option("recv-timeout", None, _FLOAT, "recv_timeout", None, 0, 0, _READABLE,
            "Endpoints and socket options", "SEC",
            "give up waiting for a message after SEC seconds (whole seconds, as nanocat)"),
    _Option("send-timeout", None, _FLOAT, "send_timeout", None, 0, 0, _WRITEABLE,
            "Endpoints and socket options", "SEC", "give up sending after SEC seconds"),
    _Option("socket-name", None, _STRING, "socket_name", None, 0, 0, 0,
            "Endpoints and socket options", "NAME", "set NN_SOCKET_NAME (used in statistics)"),
    _Option("cacert", None, _STRING, "cacert", None, 0, 0, 0,
            "TLS (tls+tcp://, wss://)", "FILE",
            "PEM CA certificates to check the peer with (a listener then requires client "
            "certificates)"),
    _Option("cert", "E", _STRING, "cert", None, 0, 0, 0,
            "TLS (tls+tcp://, wss://)", "FILE", "PEM certificate (chain) to present"),
    _Option("key", None, _STRING, "key", None, 0, 0, 0,
            "TLS (tls+tcp://, wss://)", "FILE", "PEM private key of --cert"),
    _Option("insecure", "k", _SET, "insecure", True, 0, 0, 0,
            "TLS (tls+tcp://, wss://)", None,
            "do not verify the peer's certificate (tests only: no protection from an "
            "active attacker)"),
    _Option("subscribe", None, _APPEND, "subscriptions", None, 0, 0, _SOCK_SUB,
            "SUB options", "PREFIX",
            "receive only messages starting with PREFIX; may be repeated; without it the "
            "socket receives everything"),
    _Option("format", None, _ENUM, "echo_format", FORMATS, 0, 0, _READABLE,
            "Printing received messages", "FORMAT",
            "one of " + ", ".join(FORMATS) + " (default: no, print nothing)"),
    _Option("raw", None, _SET, "echo_format", "raw", 0, 0, _READABLE,
            "Printing received messages", None, "write each message unchanged, no separator"),
    _Option("ascii", "A", _SET, "echo_format", "ascii", 0, 0, _READABLE,
            "Printing received messages", None,
            "one line per message, non-printable bytes shown as '.'"),
    _Option("quoted", "Q", _SET, "echo_format", "quoted", 0, 0, _READABLE,
            "Printing received messages", None,
            "one double-quoted line per message with C-style escapes"),
    _Option("msgpack", None, _SET, "echo_format", "msgpack", 0, 0, _READABLE,
            "Printing received messages", None,
            "each message as a msgpack binary object, for programs to parse"),
    _Option("hex", None, _SET, "echo_format", "hex", 0, 0, _READABLE,
            "Printing received messages", None,
            "one double-quoted line per message, every byte as \\xNN"),
    _Option("interval", "i", _FLOAT, "send_interval", None, 0, 0, _WRITEABLE,
            "Sending", "SEC", "send again every SEC seconds"),
    _Option("delay", "d", _FLOAT, "send_delay", None, 0, 0, 0,
            "Sending", "SEC",
            "wait SEC seconds after connecting before the first send (lets a PUB's "
            "subscribers connect)"),
    _Option("data", "D", _BLOB, "data", None, _DATA, _DATA, _WRITEABLE,
            "Sending", "DATA",
            "the message to send: PUB, PUSH, PAIR and BUS send it and exit (unless "
            "--interval), REQ and SURVEYOR send it as the request, REP and RESPONDENT send "
            "it as the reply to every request"),
    _Option("file", "F", _FILE, "data", None, _DATA, _DATA, _WRITEABLE,
            "Sending", "PATH", "like --data, with the contents of PATH ('-' reads stdin)"),
)

SOCKET_TYPES: Tuple[str, ...] = tuple(
    str(opt.value) for opt in _OPTIONS if opt.dest == "socket_type"
)


@dataclass
class CatOptions:
    """The parsed ``nanopy cat`` command line (defaults are nanocat's)."""

    verbose: int = 0
    socket_type: str | None = None
    bind: List[str] = field(default_factory=list)
    connect: List[str] = field(default_factory=list)
    send_timeout: float = -1.0
    recv_timeout: float = -1.0
    subscriptions: List[bytes] = field(default_factory=list)
    socket_name: str | None = None
    send_delay: float = 0.0
    send_interval: float = -1.0
    data: bytes | None = None
    echo_format: str = "no"
    cacert: str | None = None
    cert: str | None = None
    key: str | None = None
    insecure: bool = False


class CatUsageError(Exception):
    """The command line is invalid; ``str(err)`` says why, ``exit_code`` is what to exit with."""

    def __init__(self, message: str, exit_code: int = 2, show_usage: bool = True) -> None:
        super().__init__(message)
        self.exit_code = exit_code
        self.show_usage = show_usage


class _HelpRequested(Exception):
    """``-h``/``--help`` was given."""


# strtof() accepts leading blanks, decimal and hexadecimal floats, inf/infinity and nan.
_DECIMAL_FLOAT = re.compile(
    r"[ \t\n\v\f\r]*[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)\Z"
)
_HEX_FLOAT = re.compile(
    r"[ \t\n\v\f\r]*([+-]?)0[xX]((?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)"
    r"(?:[pP][+-]?\d+)?)\Z"
)
_SPECIAL_FLOAT = re.compile(
    r"[ \t\n\v\f\r]*([+-]?)(inf|infinity|nan(?:\([0-9A-Za-z_]*\))?)\Z", re.IGNORECASE
)

_FLT_MAX = struct.unpack("<f", b"\xff\xff\x7f\x7f")[0]
_INT_MIN = -(2**31)
_INT_MAX = 2**31 - 1


def to_float32(value: float) -> float:
    """Round a Python float to the nearest C ``float`` (overflow gives an infinity)."""
    if math.isnan(value) or math.isinf(value):
        return value
    try:
        return float(struct.unpack("<f", struct.pack("<f", value))[0])
    except OverflowError:
        return math.copysign(math.inf, value)


def _parse_c_float(text: str) -> float | None:
    """Parse ``text`` the way ``strtof`` does when the whole string must be consumed."""
    if _DECIMAL_FLOAT.match(text):
        value = float(text.strip(" \t\n\v\f\r"))
    else:
        hex_match = _HEX_FLOAT.match(text)
        special = _SPECIAL_FLOAT.match(text)
        if hex_match:
            body = hex_match.group(2)
            if "p" not in body.lower():
                body += "p0"
            value = float.fromhex(hex_match.group(1) + "0x" + body)
        elif special:
            word = special.group(2).lower()
            value = math.nan if word.startswith("nan") else math.inf
            if special.group(1) == "-":
                value = -value
        else:
            return None
    return to_float32(value)


def _c_int(value: float) -> int:
    """C's ``(int)`` of a float on x86-64: truncation; NaN or out of range gives INT_MIN."""
    if math.isnan(value) or math.isinf(value):
        return _INT_MIN
    truncated = int(value)
    if truncated < _INT_MIN or truncated > _INT_MAX:
        return _INT_MIN
    return truncated


def _wrap_int32(value: int) -> int:
    """Two's-complement wrap-around of a C ``int`` multiplication."""
    return (value + 2**31) % 2**32 - 2**31


def seconds_to_ms(seconds: float) -> int:
    """``(int)(seconds * 1000)`` evaluated in C ``float`` arithmetic."""
    return _c_int(to_float32(seconds * 1000.0))


def socket_recv_timeout_ms(seconds: float) -> int:
    """The value nanocat gives NN_RCVTIMEO: whole seconds (truncated) times 1000."""
    return _wrap_int32(_c_int(seconds) * 1000)


def _describe(opt: _Option, spelled: str) -> str:
    """Name an option the way the user typed it, with its long name when that differs."""
    if spelled.startswith("--"):
        return spelled if spelled == "--" + opt.long else f"{spelled} (--{opt.long})"
    return f"-{opt.short} (--{opt.long})"


def _options_with(mask: int) -> List[str]:
    names: List[str] = []
    for opt in _OPTIONS:
        if opt.provides & mask:
            names.append("--" + opt.long)
            if opt.short:
                names.append("-" + opt.short)
    return names


def _read_data_file(path: str) -> bytes:
    """Contents of ``--file PATH`` (``-`` is stdin)."""
    if path == "-":
        return sys.stdin.buffer.read()
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as exc:
        raise CatUsageError(
            f"cannot read file '{path}': {exc.strerror or exc}", show_usage=False
        ) from None


class _Parser:
    """nanocat's command-line grammar, applied to one argument vector."""

    def __init__(self) -> None:
        self.options = CatOptions()
        self.mask = 0
        self.seen: Dict[str, str] = {}  # long name -> how it was spelled

    def parse(self, argv: Sequence[str]) -> CatOptions:
        args = list(argv)
        position = 0
        while position < len(args):
            arg = args[position]
            position += 1
            if arg.startswith("--"):
                if arg == "--":
                    continue  # nanocat skips it and keeps parsing options
                position = self._long(arg, args, position)
            elif arg.startswith("-"):
                position = self._short_cluster(arg, args, position)
            else:
                raise CatUsageError(f"unexpected argument '{arg}'")
        self._check_requirements()
        return self.options

    def _long(self, arg: str, args: List[str], position: int) -> int:
        name, has_value, value = arg[2:].partition("=")
        exact = [opt for opt in _OPTIONS if opt.long == name]
        matches = exact or [opt for opt in _OPTIONS if name and opt.long.startswith(name)]
        if not matches:
            raise CatUsageError(f"unknown option '--{name}'")
        if len(matches) > 1:
            candidates = ", ".join("--" + opt.long for opt in matches)
            raise CatUsageError(f"ambiguous option '--{name}' (could be {candidates})")
        opt = matches[0]
        spelled = "--" + name
        self.seen[opt.long] = spelled
        if opt.kind in _TAKES_ARGUMENT:
            if not has_value:
                if position >= len(args):
                    raise CatUsageError(f"option {_describe(opt, spelled)} needs an argument")
                value = args[position]
                position += 1
            self._apply(opt, spelled, value)
        else:
            if has_value:
                raise CatUsageError(f"option {_describe(opt, spelled)} takes no argument")
            self._apply(opt, spelled, None)
        return position

    def _short_cluster(self, arg: str, args: List[str], position: int) -> int:
        letters = arg[1:]
        index = 0
        while index < len(letters):
            letter = letters[index]
            index += 1
            opt = next((o for o in _OPTIONS if o.short == letter), None)
            if opt is None:
                raise CatUsageError(f"unknown option '-{letter}'")
            spelled = "-" + letter
            self.seen[opt.long] = spelled
            if opt.kind in _TAKES_ARGUMENT:
                if index < len(letters):
                    value = letters[index:]
                elif position < len(args):
                    value = args[position]
                    position += 1
                else:
                    raise CatUsageError(f"option {_describe(opt, spelled)} needs an argument")
                self._apply(opt, spelled, value)
                break
            self._apply(opt, spelled, None)
        return position

    def _apply(self, opt: _Option, spelled: str, value: str | None) -> None:
        if self.mask & opt.conflicts:
            others = [
                _describe(other, self.seen[other.long])
                for other in _OPTIONS
                if other is not opt and other.long in self.seen and other.provides & opt.conflicts
            ]
            clash = ", ".join(others) if others else "itself (given twice)"
            raise CatUsageError(f"option {_describe(opt, spelled)} cannot be used with {clash}")
        self.mask |= opt.provides
        target = self.options
        if opt.kind == _HELP:
            raise _HelpRequested()
        if opt.kind == _INCREMENT:
            target.verbose += 1
        elif opt.kind == _DECREMENT:
            target.verbose -= 1
        elif opt.kind == _SET:
            setattr(target, opt.dest, opt.value)
        elif opt.kind == _ENUM:
            assert value is not None
            if value not in FORMATS:
                raise CatUsageError(
                    f"invalid value '{value}' for {_describe(opt, spelled)}; "
                    f"choose from {', '.join(FORMATS)}"
                )
            setattr(target, opt.dest, value)
        elif opt.kind == _STRING:
            setattr(target, opt.dest, value)
        elif opt.kind == _BLOB:
            assert value is not None
            target.data = os.fsencode(value)
        elif opt.kind == _FILE:
            assert value is not None
            target.data = _read_data_file(value)
        elif opt.kind == _FLOAT:
            assert value is not None
            number = _parse_c_float(value)
            if number is None:
                raise CatUsageError(
                    f"option {_describe(opt, spelled)} expects a number of seconds, "
                    f"got '{value}'"
                )
            setattr(target, opt.dest, number)
        elif opt.kind == _APPEND:
            assert value is not None
            item: object = os.fsencode(value) if opt.dest == "subscriptions" else value
            getattr(target, opt.dest).append(item)
        elif opt.kind == _APPEND_FMT:
            assert value is not None
            getattr(target, opt.dest).append(str(opt.value).format(value))

    def _check_requirements(self) -> None:
        for opt in _OPTIONS:
            if opt.long in self.seen and opt.requires & self.mask != opt.requires:
                needed = ", ".join(_options_with(opt.requires & ~self.mask))
                raise CatUsageError(
                    f"option {_describe(opt, self.seen[opt.long])} needs one of: {needed}"
                )
        missing = _REQUIRED & ~self.mask
        if missing:
            needed = ", ".join(_options_with(missing))
            raise CatUsageError(f"one of these options is required: {needed}")
        if self.options.send_delay < 0:
            raise CatUsageError("--delay cannot be negative")


def parse_args(argv: Sequence[str]) -> CatOptions:
    """Parse a nanocat command line (without the program name).

    Raises
    ------
    CatUsageError
        For anything nanocat rejects, and for a negative ``--delay``.
    _HelpRequested
        When ``-h``/``--help`` is met (before any later argument is looked at).
    """
    return _Parser().parse(argv)


def usage_line(prog: str = PROG) -> str:
    """The one-line synopsis, built from the option table like nanocat's."""
    required = "|".join("--" + opt.long for opt in _OPTIONS if opt.provides & _REQUIRED)
    flags = "".join(
        opt.short for opt in _OPTIONS
        if opt.short and opt.kind not in _TAKES_ARGUMENT and not opt.provides & _REQUIRED
    )
    with_args = " ".join(
        f"[-{opt.short} {opt.metavar}]" for opt in _OPTIONS
        if opt.short and opt.kind in _TAKES_ARGUMENT and opt.metavar
        and not opt.provides & _REQUIRED
    )
    return f"{prog} {{{required}}} [-{flags}] {with_args} [options]"


def help_text(prog: str = PROG) -> str:
    """The full ``--help`` text."""
    lines = [
        f"usage: {usage_line(prog)}",
        "",
        "Open one nanomsg socket, bind and/or connect it, then send and/or print messages",
        "(a nanocat-compatible tool built on nanopy).",
    ]
    group = None
    for opt in _OPTIONS:
        if opt.group != group:
            group = opt.group
            lines += ["", f"{group}:"]
        names = "  --" + opt.long + (f", -{opt.short}" if opt.short else "")
        if opt.kind in _TAKES_ARGUMENT:
            names += " " + (opt.metavar or "ARG")
        words = opt.help.split()
        text_lines: List[str] = []
        current = ""
        for word in words:
            if current and len(current) + 1 + len(word) > 54:
                text_lines.append(current)
                current = word
            else:
                current = f"{current} {word}" if current else word
        text_lines.append(current)
        if len(names) < 25:
            lines.append(names.ljust(26) + text_lines[0])
            rest = text_lines[1:]
        else:
            lines.append(names)
            rest = text_lines
        lines += [" " * 26 + text for text in rest]
    lines += [
        "",
        "Exit status: 0 when done (a receive timeout ends receiving normally), 2 for a bad",
        "command line or unreadable --file, 3 when a socket call fails.",
    ]
    return "\n".join(lines) + "\n"


