"""nanopy's constants against nanomsg 1.1.5's published values, written out here.

The values below are nanomsg's own (``nn.h`` and the protocol and transport headers of
release 1.1.5, and what its ``nn_symbol_info`` returns), never read from nanopy: a wrong value
in nanopy fails here. Error numbers are the host's (Linux, macOS columns) except nanomsg's
ETERM and EFSM, which sit above NN_HAUSNUMERO on every platform.
"""

from __future__ import annotations

import errno as os_errno
import sys

import pytest

import nanopy
from nanopy import _core

MACOS = sys.platform == "darwin"

# (name, value, namespace, type, unit) in nanomsg's nn_symbol order; an errno's value is
# (Linux, macOS).
SYMBOLS = [
    ("NN_NS_NAMESPACE", 0, "NAMESPACE", "NONE", "NONE"),
    ("NN_NS_VERSION", 1, "NAMESPACE", "NONE", "NONE"),
    ("NN_NS_DOMAIN", 2, "NAMESPACE", "NONE", "NONE"),
    ("NN_NS_TRANSPORT", 3, "NAMESPACE", "NONE", "NONE"),
    ("NN_NS_PROTOCOL", 4, "NAMESPACE", "NONE", "NONE"),
    ("NN_NS_OPTION_LEVEL", 5, "NAMESPACE", "NONE", "NONE"),
    ("NN_NS_SOCKET_OPTION", 6, "NAMESPACE", "NONE", "NONE"),
    ("NN_NS_TRANSPORT_OPTION", 7, "NAMESPACE", "NONE", "NONE"),
    ("NN_NS_OPTION_TYPE", 8, "NAMESPACE", "NONE", "NONE"),
    ("NN_NS_OPTION_UNIT", 9, "NAMESPACE", "NONE", "NONE"),
    ("NN_NS_FLAG", 10, "NAMESPACE", "NONE", "NONE"),
    ("NN_NS_ERROR", 11, "NAMESPACE", "NONE", "NONE"),
    ("NN_NS_LIMIT", 12, "NAMESPACE", "NONE", "NONE"),
    ("NN_NS_EVENT", 13, "NAMESPACE", "NONE", "NONE"),
    ("NN_NS_STATISTIC", 14, "NAMESPACE", "NONE", "NONE"),
    ("NN_TYPE_NONE", 0, "OPTION_TYPE", "NONE", "NONE"),
    ("NN_TYPE_INT", 1, "OPTION_TYPE", "NONE", "NONE"),
    ("NN_TYPE_STR", 2, "OPTION_TYPE", "NONE", "NONE"),
    ("NN_UNIT_NONE", 0, "OPTION_UNIT", "NONE", "NONE"),
    ("NN_UNIT_BYTES", 1, "OPTION_UNIT", "NONE", "NONE"),
    ("NN_UNIT_MILLISECONDS", 2, "OPTION_UNIT", "NONE", "NONE"),
    ("NN_UNIT_PRIORITY", 3, "OPTION_UNIT", "NONE", "NONE"),
    ("NN_UNIT_BOOLEAN", 4, "OPTION_UNIT", "NONE", "NONE"),
    ("NN_UNIT_COUNTER", 6, "OPTION_UNIT", "NONE", "NONE"),
    ("NN_UNIT_MESSAGES", 5, "OPTION_UNIT", "NONE", "NONE"),
    ("NN_VERSION_CURRENT", 5, "VERSION", "NONE", "NONE"),
    ("NN_VERSION_REVISION", 1, "VERSION", "NONE", "NONE"),
    ("NN_VERSION_AGE", 0, "VERSION", "NONE", "NONE"),
    ("AF_SP", 1, "DOMAIN", "NONE", "NONE"),
    ("AF_SP_RAW", 2, "DOMAIN", "NONE", "NONE"),
    ("NN_INPROC", -1, "TRANSPORT", "NONE", "NONE"),
    ("NN_IPC", -2, "TRANSPORT", "NONE", "NONE"),
    ("NN_TCP", -3, "TRANSPORT", "NONE", "NONE"),
    ("NN_WS", -4, "TRANSPORT", "NONE", "NONE"),
    ("NN_PAIR", 16, "PROTOCOL", "NONE", "NONE"),
    ("NN_PUB", 32, "PROTOCOL", "NONE", "NONE"),
    ("NN_SUB", 33, "PROTOCOL", "NONE", "NONE"),
    ("NN_REP", 49, "PROTOCOL", "NONE", "NONE"),
    ("NN_REQ", 48, "PROTOCOL", "NONE", "NONE"),
    ("NN_PUSH", 80, "PROTOCOL", "NONE", "NONE"),
    ("NN_PULL", 81, "PROTOCOL", "NONE", "NONE"),
    ("NN_SURVEYOR", 98, "PROTOCOL", "NONE", "NONE"),
    ("NN_RESPONDENT", 99, "PROTOCOL", "NONE", "NONE"),
    ("NN_BUS", 112, "PROTOCOL", "NONE", "NONE"),
    ("NN_SOCKADDR_MAX", 128, "LIMIT", "NONE", "NONE"),
    ("NN_SOL_SOCKET", 0, "OPTION_LEVEL", "NONE", "NONE"),
    ("NN_LINGER", 1, "SOCKET_OPTION", "INT", "MILLISECONDS"),
    ("NN_SNDBUF", 2, "SOCKET_OPTION", "INT", "BYTES"),
    ("NN_RCVBUF", 3, "SOCKET_OPTION", "INT", "BYTES"),
    ("NN_RCVMAXSIZE", 16, "SOCKET_OPTION", "INT", "BYTES"),
    ("NN_SNDTIMEO", 4, "SOCKET_OPTION", "INT", "MILLISECONDS"),
    ("NN_RCVTIMEO", 5, "SOCKET_OPTION", "INT", "MILLISECONDS"),
    ("NN_RECONNECT_IVL", 6, "SOCKET_OPTION", "INT", "MILLISECONDS"),
    ("NN_RECONNECT_IVL_MAX", 7, "SOCKET_OPTION", "INT", "MILLISECONDS"),
    ("NN_SNDPRIO", 8, "SOCKET_OPTION", "INT", "PRIORITY"),
    ("NN_RCVPRIO", 9, "SOCKET_OPTION", "INT", "PRIORITY"),
    ("NN_SNDFD", 10, "SOCKET_OPTION", "INT", "NONE"),
    ("NN_RCVFD", 11, "SOCKET_OPTION", "INT", "NONE"),
    ("NN_DOMAIN", 12, "SOCKET_OPTION", "INT", "NONE"),
    ("NN_PROTOCOL", 13, "SOCKET_OPTION", "INT", "NONE"),
    ("NN_IPV4ONLY", 14, "SOCKET_OPTION", "INT", "BOOLEAN"),
    ("NN_SOCKET_NAME", 15, "SOCKET_OPTION", "STR", "NONE"),
    ("NN_MAXTTL", 17, "SOCKET_OPTION", "INT", "NONE"),
    ("NN_SUB_SUBSCRIBE", 1, "TRANSPORT_OPTION", "STR", "NONE"),
    ("NN_SUB_UNSUBSCRIBE", 2, "TRANSPORT_OPTION", "STR", "NONE"),
    ("NN_REQ_RESEND_IVL", 1, "TRANSPORT_OPTION", "INT", "MILLISECONDS"),
    ("NN_SURVEYOR_DEADLINE", 1, "TRANSPORT_OPTION", "INT", "MILLISECONDS"),
    ("NN_TCP_NODELAY", 1, "TRANSPORT_OPTION", "INT", "BOOLEAN"),
    ("NN_WS_MSG_TYPE", 1, "TRANSPORT_OPTION", "INT", "NONE"),
    ("NN_DONTWAIT", 1, "FLAG", "NONE", "NONE"),
    ("NN_WS_MSG_TYPE_TEXT", 1, "FLAG", "NONE", "NONE"),
    ("NN_WS_MSG_TYPE_BINARY", 2, "FLAG", "NONE", "NONE"),
    ("NN_POLLIN", 1, "EVENT", "NONE", "NONE"),
    ("NN_POLLOUT", 2, "EVENT", "NONE", "NONE"),
    ("EADDRINUSE", (98, 48), "ERROR", "NONE", "NONE"),
    ("EADDRNOTAVAIL", (99, 49), "ERROR", "NONE", "NONE"),
    ("EAFNOSUPPORT", (97, 47), "ERROR", "NONE", "NONE"),
    ("EAGAIN", (11, 35), "ERROR", "NONE", "NONE"),
    ("EBADF", (9, 9), "ERROR", "NONE", "NONE"),
    ("ECONNREFUSED", (111, 61), "ERROR", "NONE", "NONE"),
    ("EFAULT", (14, 14), "ERROR", "NONE", "NONE"),
    ("EFSM", 156384766, "ERROR", "NONE", "NONE"),
    ("EINPROGRESS", (115, 36), "ERROR", "NONE", "NONE"),
    ("EINTR", (4, 4), "ERROR", "NONE", "NONE"),
    ("EINVAL", (22, 22), "ERROR", "NONE", "NONE"),
    ("EMFILE", (24, 24), "ERROR", "NONE", "NONE"),
    ("ENAMETOOLONG", (36, 63), "ERROR", "NONE", "NONE"),
    ("ENETDOWN", (100, 50), "ERROR", "NONE", "NONE"),
    ("ENOBUFS", (105, 55), "ERROR", "NONE", "NONE"),
    ("ENODEV", (19, 19), "ERROR", "NONE", "NONE"),
    ("ENOMEM", (12, 12), "ERROR", "NONE", "NONE"),
    ("ENOPROTOOPT", (92, 42), "ERROR", "NONE", "NONE"),
    ("ENOTSOCK", (88, 38), "ERROR", "NONE", "NONE"),
    ("ENOTSUP", (95, 45), "ERROR", "NONE", "NONE"),
    ("EPROTO", (71, 100), "ERROR", "NONE", "NONE"),
    ("EPROTONOSUPPORT", (93, 43), "ERROR", "NONE", "NONE"),
    ("ETERM", 156384765, "ERROR", "NONE", "NONE"),
    ("ETIMEDOUT", (110, 60), "ERROR", "NONE", "NONE"),
    ("EACCES", (13, 13), "ERROR", "NONE", "NONE"),
    ("ECONNABORTED", (103, 53), "ERROR", "NONE", "NONE"),
    ("ECONNRESET", (104, 54), "ERROR", "NONE", "NONE"),
    ("EHOSTUNREACH", (113, 65), "ERROR", "NONE", "NONE"),
    ("EMSGSIZE", (90, 40), "ERROR", "NONE", "NONE"),
    ("ENETRESET", (102, 52), "ERROR", "NONE", "NONE"),
    ("ENETUNREACH", (101, 51), "ERROR", "NONE", "NONE"),
    ("ENOTCONN", (107, 57), "ERROR", "NONE", "NONE"),
    ("NN_STAT_ESTABLISHED_CONNECTIONS", 101, "STATISTIC", "INT", "COUNTER"),
    ("NN_STAT_ACCEPTED_CONNECTIONS", 102, "STATISTIC", "INT", "COUNTER"),
    ("NN_STAT_DROPPED_CONNECTIONS", 103, "STATISTIC", "INT", "COUNTER"),
    ("NN_STAT_BROKEN_CONNECTIONS", 104, "STATISTIC", "INT", "COUNTER"),
    ("NN_STAT_CONNECT_ERRORS", 105, "STATISTIC", "INT", "COUNTER"),
    ("NN_STAT_BIND_ERRORS", 106, "STATISTIC", "INT", "COUNTER"),
    ("NN_STAT_ACCEPT_ERRORS", 107, "STATISTIC", "INT", "COUNTER"),
    ("NN_STAT_MESSAGES_SENT", 301, "STATISTIC", "INT", "MESSAGES"),
    ("NN_STAT_MESSAGES_RECEIVED", 302, "STATISTIC", "INT", "MESSAGES"),
    ("NN_STAT_BYTES_SENT", 303, "STATISTIC", "INT", "BYTES"),
    ("NN_STAT_BYTES_RECEIVED", 304, "STATISTIC", "INT", "BYTES"),
    ("NN_STAT_CURRENT_CONNECTIONS", 201, "STATISTIC", "INT", "NONE"),
    ("NN_STAT_INPROGRESS_CONNECTIONS", 202, "STATISTIC", "INT", "NONE"),
    ("NN_STAT_CURRENT_SND_PRIORITY", 401, "STATISTIC", "INT", "PRIORITY"),
    ("NN_STAT_CURRENT_EP_ERRORS", 203, "STATISTIC", "INT", "NONE"),
]

# nn.h constants that nn_symbol does not walk.
NOT_IN_SYMBOL_TABLE = {
    "NN_HAUSNUMERO": 156384712,
    "NN_MSG": 2**64 - 1,  # (size_t)-1 on a 64-bit host
    "NN_PROTO_PAIR": 1,
    "NN_PROTO_PUBSUB": 2,
    "NN_PROTO_REQREP": 3,
    "NN_PROTO_PIPELINE": 5,
    "NN_PROTO_SURVEY": 6,
    "NN_PROTO_BUS": 7,
    "NN_IPC_SEC_ATTR": 1,
    "NN_IPC_OUTBUFSZ": 2,
    "NN_IPC_INBUFSZ": 3,
    "PROTO_SP": 1,
    "SP_HDR": 1,
    "EACCESS": 13,  # nanomsg's alias of EACCES
}

NAMESPACES = {"NAMESPACE": 0, "VERSION": 1, "DOMAIN": 2, "TRANSPORT": 3, "PROTOCOL": 4,
              "OPTION_LEVEL": 5, "SOCKET_OPTION": 6, "TRANSPORT_OPTION": 7, "OPTION_TYPE": 8,
              "OPTION_UNIT": 9, "FLAG": 10, "ERROR": 11, "LIMIT": 12, "EVENT": 13,
              "STATISTIC": 14}
TYPES = {"NONE": 0, "INT": 1, "STR": 2}
UNITS = {"NONE": 0, "BYTES": 1, "MILLISECONDS": 2, "PRIORITY": 3, "BOOLEAN": 4, "MESSAGES": 5,
         "COUNTER": 6}

# The protocol names nanopy exports without the NN_ prefix.
PROTOCOLS = {"PAIR": 16, "PUB": 32, "SUB": 33, "REQ": 48, "REP": 49, "PUSH": 80, "PULL": 81,
             "SURVEYOR": 98, "RESPONDENT": 99, "BUS": 112}


def expected(value: int | tuple[int, int]) -> int:
    if isinstance(value, tuple):
        return value[1] if MACOS else value[0]
    return value


NAMES = [row[0] for row in SYMBOLS]
EXPECTED = {row[0]: expected(row[1]) for row in SYMBOLS} | NOT_IN_SYMBOL_TABLE


def _all_symbols() -> list[tuple[str, int]]:
    out = []
    i = 0
    while True:
        try:
            out.append(nanopy.nn_symbol(i))
        except nanopy.NNError as exc:
            assert exc.errno == 22  # EINVAL
            return out
        i += 1
        assert i <= 10000, "nn_symbol never ends"


def test_symbol_table_has_121_entries() -> None:
    assert len(SYMBOLS) == 121
    assert len(_all_symbols()) == 121


def test_symbol_names_in_nanomsg_order() -> None:
    assert [name for name, _ in _all_symbols()] == NAMES


@pytest.mark.parametrize("i", range(len(SYMBOLS)), ids=NAMES)
def test_nn_symbol_gives_nanomsg_value(i: int) -> None:
    name, value, _ns, _type, _unit = SYMBOLS[i]
    assert nanopy.nn_symbol(i) == (name, expected(value))


@pytest.mark.parametrize("i", range(len(SYMBOLS)), ids=NAMES)
def test_nn_symbol_info_gives_nanomsg_properties(i: int) -> None:
    name, value, ns, typ, unit = SYMBOLS[i]
    info = nanopy.nn_symbol_info(i)
    assert tuple(info) == (expected(value), name, NAMESPACES[ns], TYPES[typ], UNITS[unit])


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_exported_constant_has_nanomsg_value(name: str) -> None:
    assert getattr(nanopy, name) == EXPECTED[name]


def test_every_exported_nn_constant_is_checked_here() -> None:
    exported = {n for n in nanopy.__all__ if n.startswith(("NN_", "AF_SP"))}
    exported |= {n for n in nanopy.__all__ if n.startswith("E") and n.isupper()}
    assert exported - set(EXPECTED) == set()


@pytest.mark.parametrize("name", sorted(PROTOCOLS))
def test_protocol_names_without_prefix(name: str) -> None:
    assert getattr(nanopy, name) == PROTOCOLS[name]
    assert nanopy.PROTOCOL_NAMES[PROTOCOLS[name]] == name


def test_nanomsg_own_errnos() -> None:
    assert nanopy.ETERM == 156384712 + 53 == 156384765
    assert nanopy.EFSM == 156384712 + 54 == 156384766


def test_os_errnos_are_the_hosts() -> None:
    for name, value, ns, _type, _unit in SYMBOLS:
        if ns == "ERROR" and name not in ("ETERM", "EFSM"):
            host = os_errno.EOPNOTSUPP if name == "ENOTSUP" else getattr(os_errno, name)
            assert expected(value) == host, name


def test_compiled_core_agrees_with_the_table() -> None:
    """The C core's header defines its own copies of these numbers: they must match."""
    core = _core.core_constants()
    assert len(core) > 50
    for name, value in core.items():
        assert value == EXPECTED[name], name


def test_symbol_info_is_a_tuple_in_c_field_order() -> None:
    value, name, ns, typ, unit = nanopy.nn_symbol_info(46)
    assert (value, name, ns, typ, unit) == (1, "NN_LINGER", 6, 1, 2)


@pytest.mark.parametrize("i", [-1, 121, 2000])
def test_symbol_out_of_range_is_einval(i: int) -> None:
    with pytest.raises(nanopy.NNError) as info:
        nanopy.nn_symbol(i)
    assert info.value.errno == 22
    assert nanopy.nn_errno() == 22


@pytest.mark.parametrize("i", [-1, 121, 2000])
def test_symbol_info_out_of_range_is_einval(i: int) -> None:
    with pytest.raises(nanopy.NNError) as info:
        nanopy.nn_symbol_info(i)
    assert info.value.errno == 22


def test_nn_msg_is_not_in_the_symbol_table() -> None:
    assert "NN_MSG" not in [name for name, _ in _all_symbols()]
