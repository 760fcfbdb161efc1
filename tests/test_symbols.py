"""nn_symbol / nn_symbol_info: nanomsg's 121-entry constant table (NANOMSG.md §1.3.10, §2.8;
tests/symbol.c)."""

from __future__ import annotations

import errno as os_errno

import pytest

import nanopy

# (name, namespace, type, unit) in nanomsg's index order.
TABLE = [
    ("NN_NS_NAMESPACE", "NAMESPACE", "NONE", "NONE"),
    ("NN_NS_VERSION", "NAMESPACE", "NONE", "NONE"),
    ("NN_NS_DOMAIN", "NAMESPACE", "NONE", "NONE"),
    ("NN_NS_TRANSPORT", "NAMESPACE", "NONE", "NONE"),
    ("NN_NS_PROTOCOL", "NAMESPACE", "NONE", "NONE"),
    ("NN_NS_OPTION_LEVEL", "NAMESPACE", "NONE", "NONE"),
    ("NN_NS_SOCKET_OPTION", "NAMESPACE", "NONE", "NONE"),
    ("NN_NS_TRANSPORT_OPTION", "NAMESPACE", "NONE", "NONE"),
    ("NN_NS_OPTION_TYPE", "NAMESPACE", "NONE", "NONE"),
    ("NN_NS_OPTION_UNIT", "NAMESPACE", "NONE", "NONE"),
    ("NN_NS_FLAG", "NAMESPACE", "NONE", "NONE"),
    ("NN_NS_ERROR", "NAMESPACE", "NONE", "NONE"),
    ("NN_NS_LIMIT", "NAMESPACE", "NONE", "NONE"),
    ("NN_NS_EVENT", "NAMESPACE", "NONE", "NONE"),
    ("NN_NS_STATISTIC", "NAMESPACE", "NONE", "NONE"),
    ("NN_TYPE_NONE", "OPTION_TYPE", "NONE", "NONE"),
    ("NN_TYPE_INT", "OPTION_TYPE", "NONE", "NONE"),
    ("NN_TYPE_STR", "OPTION_TYPE", "NONE", "NONE"),
    ("NN_UNIT_NONE", "OPTION_UNIT", "NONE", "NONE"),
    ("NN_UNIT_BYTES", "OPTION_UNIT", "NONE", "NONE"),
    ("NN_UNIT_MILLISECONDS", "OPTION_UNIT", "NONE", "NONE"),
    ("NN_UNIT_PRIORITY", "OPTION_UNIT", "NONE", "NONE"),
    ("NN_UNIT_BOOLEAN", "OPTION_UNIT", "NONE", "NONE"),
    ("NN_UNIT_COUNTER", "OPTION_UNIT", "NONE", "NONE"),
    ("NN_UNIT_MESSAGES", "OPTION_UNIT", "NONE", "NONE"),
    ("NN_VERSION_CURRENT", "VERSION", "NONE", "NONE"),
    ("NN_VERSION_REVISION", "VERSION", "NONE", "NONE"),
    ("NN_VERSION_AGE", "VERSION", "NONE", "NONE"),
    ("AF_SP", "DOMAIN", "NONE", "NONE"),
    ("AF_SP_RAW", "DOMAIN", "NONE", "NONE"),
    ("NN_INPROC", "TRANSPORT", "NONE", "NONE"),
    ("NN_IPC", "TRANSPORT", "NONE", "NONE"),
    ("NN_TCP", "TRANSPORT", "NONE", "NONE"),
    ("NN_WS", "TRANSPORT", "NONE", "NONE"),
    ("NN_PAIR", "PROTOCOL", "NONE", "NONE"),
    ("NN_PUB", "PROTOCOL", "NONE", "NONE"),
    ("NN_SUB", "PROTOCOL", "NONE", "NONE"),
    ("NN_REP", "PROTOCOL", "NONE", "NONE"),
    ("NN_REQ", "PROTOCOL", "NONE", "NONE"),
    ("NN_PUSH", "PROTOCOL", "NONE", "NONE"),
    ("NN_PULL", "PROTOCOL", "NONE", "NONE"),
    ("NN_SURVEYOR", "PROTOCOL", "NONE", "NONE"),
    ("NN_RESPONDENT", "PROTOCOL", "NONE", "NONE"),
    ("NN_BUS", "PROTOCOL", "NONE", "NONE"),
    ("NN_SOCKADDR_MAX", "LIMIT", "NONE", "NONE"),
    ("NN_SOL_SOCKET", "OPTION_LEVEL", "NONE", "NONE"),
    ("NN_LINGER", "SOCKET_OPTION", "INT", "MILLISECONDS"),
    ("NN_SNDBUF", "SOCKET_OPTION", "INT", "BYTES"),
    ("NN_RCVBUF", "SOCKET_OPTION", "INT", "BYTES"),
    ("NN_RCVMAXSIZE", "SOCKET_OPTION", "INT", "BYTES"),
    ("NN_SNDTIMEO", "SOCKET_OPTION", "INT", "MILLISECONDS"),
    ("NN_RCVTIMEO", "SOCKET_OPTION", "INT", "MILLISECONDS"),
    ("NN_RECONNECT_IVL", "SOCKET_OPTION", "INT", "MILLISECONDS"),
    ("NN_RECONNECT_IVL_MAX", "SOCKET_OPTION", "INT", "MILLISECONDS"),
    ("NN_SNDPRIO", "SOCKET_OPTION", "INT", "PRIORITY"),
    ("NN_RCVPRIO", "SOCKET_OPTION", "INT", "PRIORITY"),
    ("NN_SNDFD", "SOCKET_OPTION", "INT", "NONE"),
    ("NN_RCVFD", "SOCKET_OPTION", "INT", "NONE"),
    ("NN_DOMAIN", "SOCKET_OPTION", "INT", "NONE"),
    ("NN_PROTOCOL", "SOCKET_OPTION", "INT", "NONE"),
    ("NN_IPV4ONLY", "SOCKET_OPTION", "INT", "BOOLEAN"),
    ("NN_SOCKET_NAME", "SOCKET_OPTION", "STR", "NONE"),
    ("NN_MAXTTL", "SOCKET_OPTION", "INT", "NONE"),
    ("NN_SUB_SUBSCRIBE", "TRANSPORT_OPTION", "STR", "NONE"),
    ("NN_SUB_UNSUBSCRIBE", "TRANSPORT_OPTION", "STR", "NONE"),
    ("NN_REQ_RESEND_IVL", "TRANSPORT_OPTION", "INT", "MILLISECONDS"),
    ("NN_SURVEYOR_DEADLINE", "TRANSPORT_OPTION", "INT", "MILLISECONDS"),
    ("NN_TCP_NODELAY", "TRANSPORT_OPTION", "INT", "BOOLEAN"),
    ("NN_WS_MSG_TYPE", "TRANSPORT_OPTION", "INT", "NONE"),
    ("NN_DONTWAIT", "FLAG", "NONE", "NONE"),
    ("NN_WS_MSG_TYPE_TEXT", "FLAG", "NONE", "NONE"),
    ("NN_WS_MSG_TYPE_BINARY", "FLAG", "NONE", "NONE"),
    ("NN_POLLIN", "EVENT", "NONE", "NONE"),
    ("NN_POLLOUT", "EVENT", "NONE", "NONE"),
    ("EADDRINUSE", "ERROR", "NONE", "NONE"),
    ("EADDRNOTAVAIL", "ERROR", "NONE", "NONE"),
    ("EAFNOSUPPORT", "ERROR", "NONE", "NONE"),
    ("EAGAIN", "ERROR", "NONE", "NONE"),
    ("EBADF", "ERROR", "NONE", "NONE"),
    ("ECONNREFUSED", "ERROR", "NONE", "NONE"),
    ("EFAULT", "ERROR", "NONE", "NONE"),
    ("EFSM", "ERROR", "NONE", "NONE"),
    ("EINPROGRESS", "ERROR", "NONE", "NONE"),
    ("EINTR", "ERROR", "NONE", "NONE"),
    ("EINVAL", "ERROR", "NONE", "NONE"),
    ("EMFILE", "ERROR", "NONE", "NONE"),
    ("ENAMETOOLONG", "ERROR", "NONE", "NONE"),
    ("ENETDOWN", "ERROR", "NONE", "NONE"),
    ("ENOBUFS", "ERROR", "NONE", "NONE"),
    ("ENODEV", "ERROR", "NONE", "NONE"),
    ("ENOMEM", "ERROR", "NONE", "NONE"),
    ("ENOPROTOOPT", "ERROR", "NONE", "NONE"),
    ("ENOTSOCK", "ERROR", "NONE", "NONE"),
    ("ENOTSUP", "ERROR", "NONE", "NONE"),
    ("EPROTO", "ERROR", "NONE", "NONE"),
    ("EPROTONOSUPPORT", "ERROR", "NONE", "NONE"),
    ("ETERM", "ERROR", "NONE", "NONE"),
    ("ETIMEDOUT", "ERROR", "NONE", "NONE"),
    ("EACCES", "ERROR", "NONE", "NONE"),
    ("ECONNABORTED", "ERROR", "NONE", "NONE"),
    ("ECONNRESET", "ERROR", "NONE", "NONE"),
    ("EHOSTUNREACH", "ERROR", "NONE", "NONE"),
    ("EMSGSIZE", "ERROR", "NONE", "NONE"),
    ("ENETRESET", "ERROR", "NONE", "NONE"),
    ("ENETUNREACH", "ERROR", "NONE", "NONE"),
    ("ENOTCONN", "ERROR", "NONE", "NONE"),
    ("NN_STAT_ESTABLISHED_CONNECTIONS", "STATISTIC", "INT", "COUNTER"),
    ("NN_STAT_ACCEPTED_CONNECTIONS", "STATISTIC", "INT", "COUNTER"),
    ("NN_STAT_DROPPED_CONNECTIONS", "STATISTIC", "INT", "COUNTER"),
    ("NN_STAT_BROKEN_CONNECTIONS", "STATISTIC", "INT", "COUNTER"),
    ("NN_STAT_CONNECT_ERRORS", "STATISTIC", "INT", "COUNTER"),
    ("NN_STAT_BIND_ERRORS", "STATISTIC", "INT", "COUNTER"),
    ("NN_STAT_ACCEPT_ERRORS", "STATISTIC", "INT", "COUNTER"),
    ("NN_STAT_MESSAGES_SENT", "STATISTIC", "INT", "MESSAGES"),
    ("NN_STAT_MESSAGES_RECEIVED", "STATISTIC", "INT", "MESSAGES"),
    ("NN_STAT_BYTES_SENT", "STATISTIC", "INT", "BYTES"),
    ("NN_STAT_BYTES_RECEIVED", "STATISTIC", "INT", "BYTES"),
    ("NN_STAT_CURRENT_CONNECTIONS", "STATISTIC", "INT", "NONE"),
    ("NN_STAT_INPROGRESS_CONNECTIONS", "STATISTIC", "INT", "NONE"),
    ("NN_STAT_CURRENT_SND_PRIORITY", "STATISTIC", "INT", "PRIORITY"),
    ("NN_STAT_CURRENT_EP_ERRORS", "STATISTIC", "INT", "NONE"),
]


def _ns(name: str) -> int:
    return int(getattr(nanopy, f"NN_NS_{name}"))


def _type(name: str) -> int:
    return int(getattr(nanopy, f"NN_TYPE_{name}"))


def _unit(name: str) -> int:
    return int(getattr(nanopy, f"NN_UNIT_{name}"))


def _all_symbols() -> list[tuple[str, int]]:
    out = []
    i = 0
    while True:
        try:
            out.append(nanopy.nn_symbol(i))
        except nanopy.NNError as exc:
            assert exc.errno == nanopy.EINVAL
            return out
        i += 1
        assert i <= 10000, "nn_symbol never ends"


def test_symbol_table_has_121_entries() -> None:
    assert len(_all_symbols()) == 121


def test_symbol_names_in_nanomsg_order() -> None:
    assert [name for name, _ in _all_symbols()] == [row[0] for row in TABLE]


@pytest.mark.parametrize("i", range(len(TABLE)), ids=[row[0] for row in TABLE])
def test_symbol_value_matches_exported_constant(i: int) -> None:
    name, value = nanopy.nn_symbol(i)
    assert name == TABLE[i][0]
    assert getattr(nanopy, name) == value


@pytest.mark.parametrize("i", range(len(TABLE)), ids=[row[0] for row in TABLE])
def test_symbol_info_matches_table(i: int) -> None:
    name, ns, typ, unit = TABLE[i]
    info = nanopy.nn_symbol_info(i)
    assert info.name == name
    assert info.value == nanopy.nn_symbol(i)[1]
    assert (info.ns, info.type, info.unit) == (_ns(ns), _type(typ), _unit(unit))


def test_symbol_info_is_a_tuple_in_c_field_order() -> None:
    info = nanopy.nn_symbol_info(46)
    value, name, ns, typ, unit = info
    assert (value, name) == (nanopy.NN_LINGER, "NN_LINGER")
    assert (ns, typ, unit) == (
        nanopy.NN_NS_SOCKET_OPTION,
        nanopy.NN_TYPE_INT,
        nanopy.NN_UNIT_MILLISECONDS,
    )


def test_symbol_index_6_is_valid_and_non_zero() -> None:
    name, value = nanopy.nn_symbol(6)
    assert name and value != 0


@pytest.mark.parametrize("i", [-1, 121, 2000])
def test_symbol_out_of_range_is_einval(i: int) -> None:
    with pytest.raises(nanopy.NNError) as info:
        nanopy.nn_symbol(i)
    assert info.value.errno == nanopy.EINVAL
    assert nanopy.nn_errno() == nanopy.EINVAL


@pytest.mark.parametrize("i", [-1, 121, 2000])
def test_symbol_info_out_of_range_is_einval(i: int) -> None:
    with pytest.raises(nanopy.NNError) as info:
        nanopy.nn_symbol_info(i)
    assert info.value.errno == nanopy.EINVAL


def test_nn_msg_is_not_in_the_symbol_table() -> None:
    assert "NN_MSG" not in [name for name, _ in _all_symbols()]


def test_symbol_names_are_unique() -> None:
    names = [name for name, _ in _all_symbols()]
    assert len(names) == len(set(names))


def test_errno_symbols_have_host_values() -> None:
    for name, value in _all_symbols():
        if name in ("ETERM", "EFSM") or not name.startswith("E"):
            continue
        host = os_errno.EOPNOTSUPP if name == "ENOTSUP" else getattr(os_errno, name)
        assert value == host, name


def test_eterm_and_efsm_symbol_values() -> None:
    symbols = dict(_all_symbols())
    assert symbols["ETERM"] == 156384765
    assert symbols["EFSM"] == 156384766
