"""A connecting endpoint whose connection is turned away right after the handshake (a
second PAIR peer: PAIR keeps one) treats it as a broken connection and redials only after
the reconnect interval, with the same backoff up to reconnect_interval_max as any other
dropped connection, never in a busy loop.

Attempts are counted on the bound side (NN_STAT_ACCEPTED_CONNECTIONS: one per redial).
Only upper bounds are timed: a slow machine makes the dialer slower, never faster, and
the bounds are relative to the time really elapsed. A busy loop makes hundreds to
thousands of attempts a second, over ten times the bound."""

from __future__ import annotations

import time

import pytest
from conftest import wait_connected, wait_stat

import nanopy

ACCEPTED = nanopy.NN_STAT_ACCEPTED_CONNECTIONS


def _bind(server: nanopy.Socket, transport: str, tmp_ipc_dir: str) -> str:
    if transport == "tcp":
        return server.bind("tcp://127.0.0.1:0").url
    return server.bind(f"ipc://{tmp_ipc_dir}/refused.ipc").url


def _refused_attempts(sock, transport: str, tmp_ipc_dir: str, seconds: float,
                      **dialer_options: int) -> tuple[int, float]:
    """Connect a second PAIR to a bound PAIR that already has its peer; return how many
    times it dialled during ``seconds`` after its first refusal, and the time elapsed."""
    server = sock(nanopy.PAIR)
    url = _bind(server, transport, tmp_ipc_dir)
    first = sock(nanopy.PAIR)
    first.connect(url)
    wait_connected(server.id)
    wait_connected(first.id)
    second = sock(nanopy.PAIR, **dialer_options)
    second.connect(url)
    base = wait_stat(server.id, ACCEPTED, 2)  # the second peer's first attempt
    start = time.monotonic()
    time.sleep(seconds)
    attempts = int(nanopy.nn_get_statistic(server.id, ACCEPTED)) - base
    elapsed = time.monotonic() - start
    # The first peer kept its place throughout and still talks.
    assert nanopy.nn_get_statistic(server.id, nanopy.NN_STAT_CURRENT_CONNECTIONS) == 1
    first.send(b"still here")
    assert server.recv() == b"still here"
    return attempts, elapsed


@pytest.mark.parametrize("transport", ["ipc", "tcp"])
def test_refused_peer_waits_the_reconnect_interval(sock, tmp_ipc_dir, transport) -> None:
    ivl = 0.1
    attempts, elapsed = _refused_attempts(sock, transport, tmp_ipc_dir, 1.0,
                                          reconnect_interval=int(ivl * 1000))
    # At most one redial per interval (plus the immediate first one); a busy loop makes
    # 300 (tcp) to 4,000 (ipc) a second.
    bound = 3 + 1.5 * elapsed / ivl
    assert attempts <= bound, (
        f"{attempts} redials in {elapsed:.2f} s with a {ivl} s reconnect interval")
    # And it does keep trying (the peer comes in once the first one leaves).
    assert attempts >= 2, f"only {attempts} redials in {elapsed:.2f} s"


@pytest.mark.parametrize("transport", ["ipc", "tcp"])
def test_refused_peer_backs_off_to_the_maximum(sock, tmp_ipc_dir, transport) -> None:
    # Waits grow 0, 100, 300, then 400 ms (the maximum) each time: about 7 attempts in
    # 2 s; without the backoff growing, a redial every 100 ms would make 20.
    ivl, ivl_max = 0.1, 0.4
    attempts, elapsed = _refused_attempts(
        sock, transport, tmp_ipc_dir, 2.0,
        reconnect_interval=int(ivl * 1000), reconnect_interval_max=int(ivl_max * 1000))
    bound = 4 + 1.25 * elapsed / ivl_max
    assert attempts <= bound, (
        f"{attempts} redials in {elapsed:.2f} s; reconnect interval {ivl} s, "
        f"maximum {ivl_max} s")
    assert attempts >= 2, f"only {attempts} redials in {elapsed:.2f} s"


def test_refused_peer_gets_in_once_the_place_is_free(sock, tmp_ipc_dir) -> None:
    server = sock(nanopy.PAIR)
    url = _bind(server, "tcp", tmp_ipc_dir)
    first = sock(nanopy.PAIR)
    first.connect(url)
    wait_connected(server.id)
    second = sock(nanopy.PAIR, reconnect_interval=50, reconnect_interval_max=200)
    second.connect(url)
    wait_stat(server.id, ACCEPTED, 3)  # refused at least twice
    first.close()
    wait_connected(second.id)
    second.send(b"in")
    assert server.recv() == b"in"
