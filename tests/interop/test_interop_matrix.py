"""The interop matrix: nanopy against native nanomsg and NNG, every protocol pair.

Matrix (96 cases): 6 protocol pairs (PAIR-PAIR, PUB-SUB, REQ-REP, PUSH-PULL,
SURVEYOR-RESPONDENT, BUS-BUS) x 2 role assignments (nanopy on either side; for the symmetric
PAIR and BUS, nanopy either asks or answers) x 2 transports (tcp, ipc) x 2 bind sides (nanopy
binds or connects) x 2 native peers (libnanomsg 1.1.5 through ctypes, NNG through pynng).
``pytest_report_header`` in conftest.py prints the same count at the top of every run.

Each case moves messages of 0, 1, 7, 1000 and 1 MiB bytes (pseudo-random, see
``peers/peer_common.make_payload``) and checks them byte for byte at both ends: nanopy compares
the bytes it received, the native peer reports a SHA-256 of each message it received.
Test ids read ``test_<pair>[<native peer>-<transport>-<bind side>-<nanopy role>]``, e.g.
``test_reqrep[nanomsg-tcp-nanopy_binds-nanopy_is_req]``.

Reproduce one case: ``PYTHONPATH=src python -m pytest -q
'tests/interop/test_interop_matrix.py::test_reqrep[nanomsg-tcp-nanopy_binds-nanopy_is_req]'``.
"""

from __future__ import annotations

import itertools
from typing import Callable, List

import pytest

import nanopy

from .interop_harness import (
    BIND_SIDES,
    MESSAGE_SIZES,
    NATIVE_PEERS,
    PROTOCOL_PAIRS,
    TRANSPORTS,
    AddressBook,
    PeerProcess,
    Role,
    assert_described,
    assert_messages,
    expected_receipts,
)
from .nanopy_side import NANOPY_ACTIONS, NanopySockets

pytestmark = pytest.mark.timeout(60)


def matrix_params(protocol_pair: str) -> List:
    """Every (native peer, transport, bind side, role) case of one protocol pair, with ids."""
    return [
        pytest.param(backend, transport, bind_side, role,
                     id=f"{backend}-{transport}-{bind_side}-{role.id}")
        for backend, transport, bind_side, role in itertools.product(
            NATIVE_PEERS, TRANSPORTS, BIND_SIDES, PROTOCOL_PAIRS[protocol_pair]
        )
    ]


MATRIX_ARGS = ("backend", "transport", "bind_side", "role")


def run_case(
    backend: str,
    transport: str,
    bind_side: str,
    role: Role,
    addresses: AddressBook,
    nanopy_sockets: NanopySockets,
    spawn_peer: Callable[..., PeerProcess],
) -> None:
    """Run one matrix case end to end and check what each side received."""
    s = nanopy_sockets.open(role.local_proto)
    if bind_side == "nanopy_binds":
        url = nanopy_sockets.bind(s, addresses, transport)
        peer = spawn_peer(backend, role.remote_proto, role.remote_action, connect=[url])
        peer.wait_ready()
    else:
        url = addresses.url(transport)
        peer = spawn_peer(backend, role.remote_proto, role.remote_action, bind=[url])
        peer.wait_ready()
        nanopy.nn_connect(s, url)

    try:
        received = NANOPY_ACTIONS[role.local_action](s, role.local_proto, MESSAGE_SIZES)
    except nanopy.NNError as exc:
        raise peer.failure(
            f"nanopy {role.local_proto} {role.local_action} over {url} raised {exc!r}"
        ) from exc
    peer_lines = peer.finish()

    expected_local, expected_remote = expected_receipts(role)
    if expected_local is not None:
        assert_messages(f"nanopy {role.local_proto} received", expected_local, received)
    if expected_remote is not None:
        assert_described(
            f"native {backend} {role.remote_proto} received", expected_remote, peer_lines
        )


@pytest.mark.parametrize(MATRIX_ARGS, matrix_params("pair"))
def test_pair(backend, transport, bind_side, role, addresses, nanopy_sockets, spawn_peer):
    """PAIR <-> PAIR: one side asks, the other answers every message."""
    run_case(backend, transport, bind_side, role, addresses, nanopy_sockets, spawn_peer)


@pytest.mark.parametrize(MATRIX_ARGS, matrix_params("pubsub"))
def test_pubsub(backend, transport, bind_side, role, addresses, nanopy_sockets, spawn_peer):
    """PUB -> SUB (subscribed to everything), sender waits for the connection first."""
    run_case(backend, transport, bind_side, role, addresses, nanopy_sockets, spawn_peer)


@pytest.mark.parametrize(MATRIX_ARGS, matrix_params("reqrep"))
def test_reqrep(backend, transport, bind_side, role, addresses, nanopy_sockets, spawn_peer):
    """REQ <-> REP: request ids and backtraces must round-trip with the native side."""
    run_case(backend, transport, bind_side, role, addresses, nanopy_sockets, spawn_peer)


@pytest.mark.parametrize(MATRIX_ARGS, matrix_params("pipeline"))
def test_pipeline(backend, transport, bind_side, role, addresses, nanopy_sockets, spawn_peer):
    """PUSH -> PULL, in order, nothing lost."""
    run_case(backend, transport, bind_side, role, addresses, nanopy_sockets, spawn_peer)


@pytest.mark.parametrize(MATRIX_ARGS, matrix_params("survey"))
def test_survey(backend, transport, bind_side, role, addresses, nanopy_sockets, spawn_peer):
    """SURVEYOR <-> RESPONDENT: survey ids must round-trip with the native side."""
    run_case(backend, transport, bind_side, role, addresses, nanopy_sockets, spawn_peer)


@pytest.mark.parametrize(MATRIX_ARGS, matrix_params("bus"))
def test_bus(backend, transport, bind_side, role, addresses, nanopy_sockets, spawn_peer):
    """BUS <-> BUS: one node asks, the other answers (sender waits for the connection)."""
    run_case(backend, transport, bind_side, role, addresses, nanopy_sockets, spawn_peer)
