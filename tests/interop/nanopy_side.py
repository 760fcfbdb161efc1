"""The nanopy half of an interop case: sockets with safety nets and the four actions.

The actions mirror those of ``peers/peer_common.py`` (serve, ask, send, recv) but drive nanopy
through its documented nn_* API (names and argument shapes as in C), and return the
messages nanopy received so the test can compare them byte for byte.
"""

from __future__ import annotations

import time
from typing import Callable, Dict, List, Sequence

import nanopy

from .interop_harness import IO_TIMEOUT_MS, AddressBook
from .peers.peer_common import BROADCAST_PACING_S, BROADCASTING_PROTOCOLS, answer_for, make_payload

PROTOCOL_IDS: Dict[str, int] = {
    "pair": nanopy.NN_PAIR,
    "pub": nanopy.NN_PUB,
    "sub": nanopy.NN_SUB,
    "req": nanopy.NN_REQ,
    "rep": nanopy.NN_REP,
    "push": nanopy.NN_PUSH,
    "pull": nanopy.NN_PULL,
    "surveyor": nanopy.NN_SURVEYOR,
    "respondent": nanopy.NN_RESPONDENT,
    "bus": nanopy.NN_BUS,
}


class NanopySockets:
    """Opens nanopy sockets configured for interop and closes every one of them at the end."""

    def __init__(self) -> None:
        self.opened: List[int] = []

    def open(self, proto: str, *, raw: bool = False) -> int:
        """Return a new socket with send/recv timeouts, no size limit and, for SUB, ``""``."""
        domain = nanopy.AF_SP_RAW if raw else nanopy.AF_SP
        s = nanopy.nn_socket(domain, PROTOCOL_IDS[proto])
        self.opened.append(s)
        nanopy.nn_setsockopt(s, nanopy.NN_SOL_SOCKET, nanopy.NN_SNDTIMEO, IO_TIMEOUT_MS)
        nanopy.nn_setsockopt(s, nanopy.NN_SOL_SOCKET, nanopy.NN_RCVTIMEO, IO_TIMEOUT_MS)
        nanopy.nn_setsockopt(s, nanopy.NN_SOL_SOCKET, nanopy.NN_RCVMAXSIZE, -1)
        if proto == "sub":
            nanopy.nn_setsockopt(s, nanopy.NN_SUB, nanopy.NN_SUB_SUBSCRIBE, b"")
        if proto == "surveyor":
            # Long enough for a 1 MiB round trip on a loaded machine.
            nanopy.nn_setsockopt(s, nanopy.NN_SURVEYOR, nanopy.NN_SURVEYOR_DEADLINE, IO_TIMEOUT_MS)
        return s

    def bind(self, s: int, addresses: AddressBook, transport: str) -> str:
        """Bind ``s`` to a fresh address of ``transport``; return the URL peers connect to.
        For tcp the kernel picks the port as the socket binds (``tcp://127.0.0.1:0``), so no
        other process can take it between choosing and binding."""
        if transport == "tcp":
            from nanopy import _core

            return str(_core.endpoint_url(s, nanopy.nn_bind(s, "tcp://127.0.0.1:0")))
        url = addresses.url(transport)
        nanopy.nn_bind(s, url)
        return url

    def close(self, s: int) -> None:
        """Close ``s`` now (with its NN_LINGER as set) and forget it."""
        self.opened.remove(s)
        nanopy.nn_close(s)

    def close_all(self) -> None:
        """Close every socket opened here, with linger 0; errors are ignored (teardown)."""
        for s in self.opened:
            try:
                nanopy.nn_setsockopt(s, nanopy.NN_SOL_SOCKET, nanopy.NN_LINGER, 0)
                nanopy.nn_close(s)
            except nanopy.NNError:
                pass
        self.opened.clear()


def connections(s: int) -> int:
    """Return NN_STAT_CURRENT_CONNECTIONS of socket ``s``."""
    return nanopy.nn_get_statistic(s, nanopy.NN_STAT_CURRENT_CONNECTIONS)


def wait_for_connections(s: int, count: int = 1, timeout_s: float = IO_TIMEOUT_MS / 1000) -> None:
    """Poll until ``s`` has at least ``count`` connections; fail the test otherwise."""
    deadline = time.monotonic() + timeout_s
    while connections(s) < count:
        if time.monotonic() > deadline:
            raise AssertionError(
                f"nanopy socket has {connections(s)} connections, {count} expected after "
                f"{timeout_s} s"
            )
        time.sleep(0.01)


def nanopy_ask(s: int, proto: str, sizes: Sequence[int]) -> List[bytes]:
    """Send one payload per size and receive one answer after each; return the answers."""
    if proto in BROADCASTING_PROTOCOLS:
        wait_for_connections(s)
    answers = []
    for index, size in enumerate(sizes):
        nanopy.nn_send(s, make_payload(index, size))
        answers.append(nanopy.nn_recv(s))
    return answers


def nanopy_serve(s: int, proto: str, sizes: Sequence[int]) -> List[bytes]:
    """Receive one message per size, answering each; return what was received."""
    requests = []
    for _ in sizes:
        request = nanopy.nn_recv(s)
        requests.append(request)
        nanopy.nn_send(s, answer_for(request))
    return requests


def nanopy_send(s: int, proto: str, sizes: Sequence[int]) -> List[bytes]:
    """Send one payload per size (paced for broadcasts); nothing is received."""
    broadcasting = proto in BROADCASTING_PROTOCOLS
    if broadcasting:
        wait_for_connections(s)
    for index, size in enumerate(sizes):
        nanopy.nn_send(s, make_payload(index, size))
        if broadcasting:
            time.sleep(BROADCAST_PACING_S)
    return []


def nanopy_recv(s: int, proto: str, sizes: Sequence[int]) -> List[bytes]:
    """Receive one message per size and return them."""
    return [nanopy.nn_recv(s) for _ in sizes]


NANOPY_ACTIONS: Dict[str, Callable[[int, str, Sequence[int]], List[bytes]]] = {
    "ask": nanopy_ask,
    "serve": nanopy_serve,
    "send": nanopy_send,
    "recv": nanopy_recv,
}
