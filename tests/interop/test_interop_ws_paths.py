"""Interop of ws:// and wss:// paths that share one port, against NNG (pynng's bundled NNG).

Both directions, over ws and wss (4 cases):
  * nanopy binds REP on /rep and PULL on /pull of one port; two NNG peers (REQ, PUSH) dial
    one path each, and each reaches the socket bound to its path;
  * an NNG peer listens on two paths of one port (NNG shares one HTTP server between them);
    two nanopy REQ sockets dial one path each and are both answered.
Payloads are the matrix's (0 B to 1 MiB), checked byte for byte at both ends.
"""

from __future__ import annotations

from typing import Callable, List, Optional

import pytest
from tls_certs import Pki, make_pki

import nanopy

from .interop_harness import (
    MESSAGE_SIZES,
    PROTOCOL_PAIRS,
    PeerProcess,
    Role,
    assert_described,
    assert_messages,
    expected_receipts,
    free_tcp_port,
)
from .nanopy_side import NANOPY_ACTIONS, NanopySockets

pytestmark = pytest.mark.timeout(90)

TLS_LEVEL, TLS_CONFIG = -1001, 1


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


def role(pair: str, role_id: str) -> Role:
    return next(r for r in PROTOCOL_PAIRS[pair] if r.id == role_id)


def configure_tls(s: int, transport: str, pki: Pki, server: bool) -> List[str]:
    """TLS for a nanopy socket (nn_* API); returns the NNG peer's matching flags."""
    if transport != "wss":
        return []
    config = (nanopy.TLSConfig(server=True, cert_file=pki.server_cert, key_file=pki.server_key)
              if server else nanopy.TLSConfig(server=False, ca_file=pki.ca))
    nanopy.nn_setsockopt(s, TLS_LEVEL, TLS_CONFIG, config.to_bytes())
    if server:
        return ["--tls-ca", pki.ca]
    return ["--tls-cert", pki.server_cert, "--tls-key", pki.server_key]


def check_peer(peer: PeerProcess, r: Role, received: Optional[List[bytes]]) -> None:
    lines = peer.finish()
    expected_local, expected_remote = expected_receipts(r)
    if expected_local is not None:
        assert_messages(f"nanopy {r.local_proto} received", expected_local, received or [])
    if expected_remote is not None:
        assert_described(f"NNG {r.remote_proto} received", expected_remote, lines)


@pytest.mark.parametrize("transport", ["ws", "wss"])
def test_nng_dialers_reach_two_paths_of_one_nanopy_port(
    transport, pki, nanopy_sockets: NanopySockets, spawn_peer: Callable[..., PeerProcess]
):
    base = f"{transport}://localhost:{free_tcp_port()}"
    cases = [(role("reqrep", "nanopy_is_rep"), "/rep"),
             (role("pipeline", "nanopy_is_pull"), "/pull")]
    peers = []
    for r, path in cases:
        s = nanopy_sockets.open(r.local_proto)
        peer_tls = configure_tls(s, transport, pki, server=True)
        nanopy.nn_bind(s, base + path)
        peers.append((s, r, path, peer_tls))
    started = []
    for _s, r, path, peer_tls in peers:
        peer = spawn_peer("nng", r.remote_proto, r.remote_action, connect=[base + path],
                          extra=peer_tls)
        peer.wait_ready()
        started.append(peer)
    for (s, r, path, _), peer in zip(peers, started):
        try:
            received = NANOPY_ACTIONS[r.local_action](s, r.local_proto, MESSAGE_SIZES)
        except nanopy.NNError as exc:
            raise peer.failure(f"nanopy {r.local_proto} on {base + path} raised {exc!r}") \
                from exc
        check_peer(peer, r, received)


@pytest.mark.parametrize("transport", ["ws", "wss"])
def test_nanopy_dialers_reach_two_paths_of_one_nng_listener(
    transport, pki, nanopy_sockets: NanopySockets, spawn_peer: Callable[..., PeerProcess]
):
    base = f"{transport}://localhost:{free_tcp_port()}"
    r = role("reqrep", "nanopy_is_req")
    paths = ("/one", "/two")
    clients = []
    peer_tls: List[str] = []
    for _ in paths:
        s = nanopy_sockets.open(r.local_proto)
        peer_tls = configure_tls(s, transport, pki, server=False)
        clients.append(s)
    peer = spawn_peer("nng", r.remote_proto, r.remote_action,
                      bind=[base + p for p in paths],
                      extra=[*peer_tls, "--count", str(2 * len(MESSAGE_SIZES))])
    peer.wait_ready()
    answers = []
    for s, path in zip(clients, paths):
        nanopy.nn_connect(s, base + path)
        try:
            answers.append(NANOPY_ACTIONS[r.local_action](s, r.local_proto, MESSAGE_SIZES))
        except nanopy.NNError as exc:
            raise peer.failure(f"nanopy REQ on {base + path} raised {exc!r}") from exc
    lines = peer.finish()
    expected_local, expected_remote = expected_receipts(r)
    for got in answers:
        assert_messages("nanopy req received", expected_local, got)
    assert_described("NNG rep received", list(expected_remote) * 2, lines)
