"""A host's process is killed (SIGKILL) and started again at the same address, for every
protocol. The bound side is the one that dies; the other side, on another host, keeps its
socket and reconnects by itself (reconnect interval 100 ms):

- PUSH/PULL, PAIR, PUB/SUB: messages from the new process arrive.
- REQ/REP: the request that was in flight when the replier died is resent to the new one
  and answered; every reply matches its request.
- SURVEYOR/RESPONDENT: surveys get answers from the new respondent.

Figures: reconnect time (from the new process's bind to the first message, reply or answer
through it) and the whole outage (from the kill to that message).
"""

from __future__ import annotations

import time

import pytest

from ._net import Net, Peer, pick, record

PORT = 5555
ROUNDS = pick(1, 5)

# name: (bound role + args, connecting role + args, is an event on the survivor "through"?)
CASES = {
    "push/pull": (["send", "--proto", "push"], ["recv", "--proto", "pull"]),
    "pair/pair": (["send", "--proto", "pair"], ["recv", "--proto", "pair"]),
    "pub/sub": (["send", "--proto", "pub"], ["recv", "--proto", "sub"]),
    "rep/req": (["rep"], ["req", "--resend", "300"]),
    "respondent/surveyor": (["respondent"], ["surveyor", "--deadline", "300"]),
}


def _through(ev: dict, since: float) -> bool:
    """An event on the surviving side showing traffic through the new process."""
    if ev["ev"] == "recv":
        return bool(ev["sent"] > since)  # sent by the new process
    if ev["ev"] == "reply":
        return bool(ev["t"] > since)
    if ev["ev"] == "survey":
        return bool(ev["t"] > since and ev["answers"] == 1)
    return False


@pytest.mark.timeout(pick(60, 240))
@pytest.mark.parametrize("case", list(CASES))
def test_killed_process_restarts_at_the_same_address(net: Net, case: str) -> None:
    bound_args, connect_args = CASES[case]
    a, b = net.add_hosts(2)
    url = b.url(PORT)
    server: Peer = b.run(bound_args[0], url, *bound_args[1:], "--bind")
    server.next()
    client = a.run(connect_args[0], url, *connect_args[1:])
    client.next()
    client.wait(lambda e: _through(e, 0.0), what="traffic before the kill")
    reconnect, outage = [], []
    for _ in range(ROUNDS):
        t_kill = time.monotonic()
        server.kill()
        server = b.run(bound_args[0], url, *bound_args[1:], "--bind")
        t_bound = server.next(timeout=30)["t"]
        ev = client.wait(lambda e, t=t_bound: _through(e, t), timeout=30,
                         what="traffic through the restarted process")
        reconnect.append(round(ev["t"] - t_bound, 3))
        outage.append(round(ev["t"] - t_kill, 3))
    record("kill_restart", protocol=case, rounds=ROUNDS, reconnect_s=reconnect,
           outage_s=outage)
    if connect_args[0] == "req":
        client.command("stop")
        client.wait(lambda e: e["ev"] == "stopped")
        replies = [e for e in client.drain() if e["ev"] == "reply"]
        assert all(e["ok"] for e in replies), "a reply to another request reached the user"
        assert [e["seq"] for e in replies] == list(range(len(replies)))
    if connect_args[0] == "surveyor":
        assert all(e["stale"] == 0 for e in client.drain() if e["ev"] == "survey")
