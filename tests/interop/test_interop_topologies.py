"""Interop beyond one-to-one: several native peers at once, and peers that die or restart.

* ``test_rep_fan_in``: one nanopy REP serving three native REQs at once (libnanomsg and NNG
  mixed), each sending its own payloads; every reply must reach the REQ that asked.
* ``test_surveyor_fan_out``: one nanopy SURVEYOR, three native RESPONDENTs; each survey gets
  one correct response from every respondent.
* ``test_pub_fan_out``: one nanopy PUB, three native SUBs; every SUB gets every message.
* ``test_pair_accepts_new_peer_after_kill``: a native PAIR connected to a nanopy PAIR is
  SIGKILLed; nanopy must notice the dead connection and accept the next native PAIR (PAIR takes
  a single peer, so a dead connection left behind would lock everyone out).
* ``test_reconnect_to_restarted_native``: nanopy PUSH connected to a native PULL that exits and
  is started again on the same address; nanopy reconnects and the next message arrives.
"""

from __future__ import annotations

import itertools
import time
from collections import Counter
from typing import List, Sequence

import pytest

import nanopy

from .interop_harness import (
    MESSAGE_SIZES,
    NATIVE_PEERS,
    TRANSPORTS,
    PeerProcess,
    assert_described,
    payloads,
)
from .nanopy_side import connections, nanopy_send, nanopy_serve, wait_for_connections
from .peers.peer_common import answer_for, describe, make_payload

pytestmark = pytest.mark.timeout(90)

# Three native peers of mixed implementations, each with its own payload tag.
FAN_PEERS = (("nanomsg", "first"), ("nng", "second"), ("nanomsg", "third"))


def finish_all(peers: Sequence[PeerProcess]) -> List[List[str]]:
    """Wait until every peer is DONE before letting any of them close (nanomsg has no linger)."""
    for peer in peers:
        peer.wait_for_line("DONE", 30)
    return [peer.finish() for peer in peers]


def assert_same_messages(who: str, expected: Sequence[bytes], got: Sequence[bytes]) -> None:
    """Assert that ``got`` holds exactly the messages of ``expected``, in any order."""
    want = Counter(describe(message) for message in expected)
    have = Counter(describe(message) for message in got)
    missing, unexpected = want - have, have - want
    assert not missing and not unexpected, (
        f"{who}: missing {sorted(missing)}; unexpected {sorted(unexpected)}"
    )


def wait_for_no_connection(s: int, timeout_s: float = 10.0) -> None:
    """Poll until nanopy socket ``s`` reports no live connection; fail the test otherwise."""
    deadline = time.monotonic() + timeout_s
    while connections(s) > 0:
        if time.monotonic() > deadline:
            raise AssertionError(
                f"nanopy still counts {connections(s)} connection(s) {timeout_s} s after the "
                "native peer went away"
            )
        time.sleep(0.01)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_rep_fan_in(transport, addresses, nanopy_sockets, spawn_peer):
    """Three native REQs, one nanopy REP: each REQ gets the answers to its own requests."""
    s = nanopy_sockets.open("rep")
    url = nanopy_sockets.bind(s, addresses, transport)
    askers = [
        spawn_peer(backend, "req", "ask", connect=[url], extra=["--tag", tag])
        for backend, tag in FAN_PEERS
    ]
    for asker in askers:
        asker.wait_ready()

    received = nanopy_serve(s, "rep", list(MESSAGE_SIZES) * len(askers))
    all_lines = finish_all(askers)
    all_requests = [m for _, tag in FAN_PEERS for m in payloads(MESSAGE_SIZES, tag)]
    assert_same_messages("nanopy REP received", all_requests, received)
    for (backend, tag), lines in zip(FAN_PEERS, all_lines):
        answers = [answer_for(m) for m in payloads(MESSAGE_SIZES, tag)]
        assert_described(f"native {backend} REQ '{tag}' received", answers, lines)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_surveyor_fan_out(transport, addresses, nanopy_sockets, spawn_peer):
    """One nanopy SURVEYOR, three native RESPONDENTs: one right response from each."""
    s = nanopy_sockets.open("surveyor")
    url = nanopy_sockets.bind(s, addresses, transport)
    respondents = [
        spawn_peer(backend, "respondent", "serve", connect=[url]) for backend, _ in FAN_PEERS
    ]
    for respondent in respondents:
        respondent.wait_ready()
    wait_for_connections(s, len(respondents))

    for index, size in enumerate(MESSAGE_SIZES):
        survey = make_payload(index, size)
        nanopy.nn_send(s, survey)
        responses = [nanopy.nn_recv(s) for _ in respondents]
        assert_same_messages(
            f"responses to survey #{index}", [answer_for(survey)] * len(respondents), responses
        )
    for (backend, _), lines in zip(FAN_PEERS, finish_all(respondents)):
        assert_described(f"native {backend} RESPONDENT received", payloads(), lines)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_pub_fan_out(transport, addresses, nanopy_sockets, spawn_peer):
    """One nanopy PUB, three native SUBs: every SUB receives every message, in order."""
    s = nanopy_sockets.open("pub")
    url = nanopy_sockets.bind(s, addresses, transport)
    subscribers = [spawn_peer(backend, "sub", "recv", connect=[url]) for backend, _ in FAN_PEERS]
    for subscriber in subscribers:
        subscriber.wait_ready()
    wait_for_connections(s, len(subscribers))

    nanopy_send(s, "pub", MESSAGE_SIZES)
    for (backend, _), lines in zip(FAN_PEERS, finish_all(subscribers)):
        assert_described(f"native {backend} SUB received", payloads(), lines)


@pytest.mark.parametrize(
    ("backend", "transport"),
    [pytest.param(b, t, id=f"{b}-{t}") for b, t in itertools.product(NATIVE_PEERS, TRANSPORTS)],
)
def test_pair_accepts_new_peer_after_kill(
    backend, transport, addresses, nanopy_sockets, spawn_peer
):
    """After its only native PAIR peer is killed, nanopy PAIR talks to the next one."""
    s = nanopy_sockets.open("pair")
    url = nanopy_sockets.bind(s, addresses, transport)
    first = spawn_peer(backend, "pair", "serve", connect=[url], extra=["--count", "1"])
    first.wait_ready()
    request = make_payload(0, 100, "before")
    nanopy.nn_send(s, request)
    assert nanopy.nn_recv(s) == answer_for(request)
    first.wait_for_line("DONE")
    first.kill()
    wait_for_no_connection(s)

    second = spawn_peer(backend, "pair", "serve", connect=[url], extra=["--count", "1"])
    second.wait_ready()
    wait_for_connections(s, 1)
    request = make_payload(0, 100, "after")
    nanopy.nn_send(s, request)
    try:
        reply = nanopy.nn_recv(s)
    except nanopy.NNError as exc:
        raise second.failure(f"nanopy PAIR got no answer from the new peer: {exc!r}") from exc
    assert reply == answer_for(request)
    assert_described(f"native {backend} PAIR (second) received", [request], second.finish())


@pytest.mark.parametrize(
    ("backend", "transport"),
    [pytest.param(b, t, id=f"{b}-{t}") for b, t in itertools.product(NATIVE_PEERS, TRANSPORTS)],
)
def test_reconnect_to_restarted_native(backend, transport, addresses, nanopy_sockets, spawn_peer):
    """nanopy PUSH reconnects to a native PULL restarted on the same address."""
    url = addresses.url(transport)
    s = nanopy_sockets.open("push")
    nanopy.nn_setsockopt(s, nanopy.NN_SOL_SOCKET, nanopy.NN_RECONNECT_IVL, 50)
    nanopy.nn_setsockopt(s, nanopy.NN_SOL_SOCKET, nanopy.NN_RECONNECT_IVL_MAX, 200)
    for round_number in range(2):
        puller = spawn_peer(backend, "pull", "recv", bind=[url], extra=["--count", "1"])
        puller.wait_ready()
        if round_number == 0:
            nanopy.nn_connect(s, url)
        wait_for_connections(s, 1)
        message = make_payload(round_number, 5000, "restart")
        nanopy.nn_send(s, message)
        assert_described(
            f"native {backend} PULL (start #{round_number + 1}) received",
            [message],
            puller.finish(),
        )
        wait_for_no_connection(s)
