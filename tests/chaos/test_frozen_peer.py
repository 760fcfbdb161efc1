"""A peer frozen with SIGSTOP (alive, connected, reading nothing) must not hold up the
others: PUSH load-balances around its full pipe and PUB drops for it alone, while an
in-process consumer keeps receiving everything. After SIGCONT the frozen peer drains
its queue and, for PUSH, every message arrives exactly once across both consumers;
for PUB the healthy subscriber (kept in lock-step) gets every message."""

from __future__ import annotations

import signal
import time

import pytest

import nanopy

from ._common import Peer, figures, peers, pick, wait_for

MESSAGES = pick(20000, 200000)


@pytest.mark.timeout(pick(60, 300))
@pytest.mark.parametrize("transport", ["tcp", "ipc"])
@pytest.mark.parametrize("sender,receiver", [("PUSH", "PULL"), ("PUB", "SUB")])
def test_frozen_peer_does_not_block_others(sender: str, receiver: str, transport: str,
                                           tmp_ipc_dir: str) -> None:
    from conftest import make_address

    address = make_address(transport, tmp_ipc_dir)
    with peers() as procs, \
         nanopy.Socket(getattr(nanopy, sender), send_timeout=3000, linger=0) as out, \
         nanopy.Socket(getattr(nanopy, receiver), recv_timeout=3000, linger=0) as local:
        out.bind(address)
        if receiver == "SUB":
            local.subscribe(b"")
        frozen = Peer("peer.py", receiver, "connect", address, "count")
        procs.append(frozen)
        frozen.expect("ready")
        local.connect(address)
        wait_for(lambda: nanopy.nn_get_statistic(out.id, nanopy.NN_STAT_CURRENT_CONNECTIONS)
                 == 2, 10, "both consumers")
        frozen.proc.send_signal(signal.SIGSTOP)
        body = b"m" * 1000
        local_got = 0
        t0 = time.monotonic()
        for _ in range(MESSAGES):
            out.send(body)  # a Timeout here means the frozen peer blocked everyone
            if sender == "PUB":
                # Lock-step, so the healthy subscriber's own queue never overflows (PUB
                # would rightly drop for it): everything it misses is the frozen one's fault.
                local.recv()
                local_got += 1
                continue
            try:
                while True:
                    local.recv(block=False)
                    local_got += 1
            except nanopy.Again:
                pass
        elapsed = time.monotonic() - t0
        frozen.proc.send_signal(signal.SIGCONT)
        remote = [0]

        def remote_count() -> int:
            while (ev := frozen.poll_event()) is not None:
                if ev["event"] == "count":
                    remote[0] = ev["n"]
            return remote[0]

        def settled() -> bool:
            nonlocal local_got
            try:
                while True:
                    local.recv(block=False)
                    local_got += 1
            except nanopy.Again:
                pass
            if sender == "PUSH":
                return local_got + remote_count() >= MESSAGES
            return local_got >= MESSAGES

        wait_for(settled, 20, "every message to arrive", step=0.05)
        time.sleep(0.3)
        settled()
        remote_count()
    figures("frozen_peer", case=f"{sender}/{receiver}/{transport}", messages=MESSAGES,
            seconds_while_frozen=round(elapsed, 2), local_received=local_got,
            frozen_peer_received=remote[0])
    if sender == "PUSH":
        assert local_got + remote[0] == MESSAGES
    else:
        assert local_got == MESSAGES  # PUB drops only for the frozen subscriber
        assert remote[0] <= MESSAGES
