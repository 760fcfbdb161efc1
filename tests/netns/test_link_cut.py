"""A link cut in the middle of a stream and healed, for every protocol. The connection is
never reset (a cut drops packets, it sends nothing), so TCP carries what it held once the
link is back:

- PUSH/PULL and PAIR lose nothing: every message whose send returned arrives, once, in
  order.
- PUB/SUB resumes: what arrives is in order and never twice; messages dropped while the
  pipe was full are allowed (PUB never blocks), the last one sent arrives.
- REQ resends an unanswered request every resend interval; every reply the user sees is the
  reply to the request just sent (duplicates of old answers are dropped).
- SURVEYOR: a survey that gets no answer before its deadline ends with ETIMEDOUT and the
  next one is sent; answers to old surveys, delivered after the heal, never reach the user.

Two kinds of cut (see Host.cut): the host's link goes down (it sees its carrier go), or
the switch silently stops forwarding (every link stays up, TCP's retransmissions back off).

Recovery time: from the heal to the first message (reply, answer) that gets through.
"""

from __future__ import annotations

import time

import pytest

from ._net import Host, Net, pick, record

CUT_S = pick(2.0, 20.0)
PORT = 5555


HOW = pytest.mark.parametrize("how", ["link-down", "blackhole"])


def _outage(host_to_cut: Host, how: str) -> tuple[float, float]:
    """Cut the link, wait CUT_S, heal. Returns (cut time, heal time), monotonic."""
    t_cut = time.monotonic()
    host_to_cut.cut(how)
    time.sleep(CUT_S)  # the outage itself, not a synchronisation
    t_heal = time.monotonic()
    host_to_cut.heal()
    return t_cut, t_heal


@pytest.mark.timeout(pick(60, 180))
@HOW
@pytest.mark.parametrize("send_proto,recv_proto", [("push", "pull"), ("pair", "pair"),
                                                   ("pub", "sub")])
def test_stream_survives_a_cut_link(net: Net, send_proto: str, recv_proto: str,
                                    how: str) -> None:
    a, b = net.add_hosts(2)
    url = b.url(PORT)
    receiver = b.run("recv", url, "--proto", recv_proto, "--bind")
    receiver.next()
    sender = a.run("send", url, "--proto", send_proto)
    sender.next()
    receiver.wait(lambda e: e["ev"] == "recv" and e["seq"] >= 20, what="the first messages")
    t_cut, t_heal = _outage(a, how)
    first_after = receiver.wait(lambda e: e["ev"] == "recv" and e["t"] > t_heal,
                                timeout=60, what="a message after the heal")
    fresh = receiver.wait(lambda e: e["ev"] == "recv" and e["sent"] > t_heal, timeout=60,
                          what="a message sent after the heal")
    sender.command("stop")
    last = sender.wait(lambda e: e["ev"] == "stopped")["last"]
    receiver.wait(lambda e: e["ev"] == "recv" and e["seq"] == last, timeout=60,
                  what=f"the last message ({last})")
    seqs = [e["seq"] for e in receiver.drain() if e["ev"] == "recv"]
    during = sum(1 for e in receiver.seen if e["ev"] == "recv" and t_cut < e["sent"] < t_heal)
    record("link_cut", cut=how, protocol=f"{send_proto}/{recv_proto}", cut_s=CUT_S,
           resumed_after_heal_s=round(first_after["t"] - t_heal, 3),
           fresh_message_after_heal_s=round(fresh["t"] - t_heal, 3),
           sent=last + 1, received=len(seqs), sent_during_cut_received=during)
    if send_proto == "pub":
        assert seqs == sorted(set(seqs)), "PUB/SUB delivered out of order or twice"
        assert seqs[-1] == last
    else:
        assert seqs == list(range(last + 1)), "messages lost, repeated or reordered"


@pytest.mark.timeout(pick(60, 180))
@HOW
def test_req_resends_across_a_cut_link(net: Net, how: str) -> None:
    a, b = net.add_hosts(2)
    url = b.url(PORT)
    rep = b.run("rep", url, "--bind")
    rep.next()
    req = a.run("req", url, "--resend", "500", "--interval", "5")
    req.next()
    req.wait(lambda e: e["ev"] == "reply" and e["seq"] >= 20, what="the first replies")
    t_cut, t_heal = _outage(b, how)
    first = req.wait(lambda e: e["ev"] == "reply" and e["t"] > t_heal, timeout=60,
                     what="a reply after the heal")
    req.command("stop")
    last = req.wait(lambda e: e["ev"] == "stopped")["last"]
    replies = [e for e in req.drain() if e["ev"] == "reply"]
    served = [e["seq"] for e in rep.drain() if e["ev"] == "served"]
    resent = len(served) - len(set(served))
    record("link_cut", cut=how, protocol="req/rep", cut_s=CUT_S, resend_ivl_ms=500,
           resumed_after_heal_s=round(first["t"] - t_heal, 3), requests=last + 1,
           requests_served_twice_or_more=resent)
    assert all(e["ok"] for e in replies), "a reply to another request reached the user"
    assert [e["seq"] for e in replies] == list(range(last + 1))
    # The request caught by the cut was resent while the link was down (queued in TCP),
    # so the replier saw it more than once.
    assert resent >= 1


@pytest.mark.timeout(pick(60, 180))
@HOW
def test_surveys_resume_after_a_cut_link(net: Net, how: str) -> None:
    a, b = net.add_hosts(2)
    url = a.url(PORT)
    surveyor = a.run("surveyor", url, "--bind", "--deadline", "300")
    surveyor.next()
    resp = b.run("respondent", url)
    resp.next()
    surveyor.wait(lambda e: e["ev"] == "survey" and e["answers"] == 1, what="an answer")
    t_cut, t_heal = _outage(b, how)
    first = surveyor.wait(lambda e: e["ev"] == "survey" and e["answers"] == 1
                          and e["t"] > t_heal, timeout=60, what="an answered survey")
    surveyor.command("stop")
    surveyor.wait(lambda e: e["ev"] == "stopped")
    surveys = [e for e in surveyor.drain() if e["ev"] == "survey"]
    unanswered = [e for e in surveys if e["answers"] == 0]
    answered_late = len([e for e in resp.drain() if e["ev"] == "served"]) - sum(
        e["answers"] for e in surveys)
    record("link_cut", cut=how, protocol="surveyor/respondent", cut_s=CUT_S, deadline_ms=300,
           resumed_after_heal_s=round(first["t"] - t_heal, 3), surveys=len(surveys),
           timed_out=len(unanswered), answers_to_old_surveys_dropped=answered_late)
    assert all(e["stale"] == 0 for e in surveys), "an answer to an old survey was delivered"
    assert all(e["answers"] <= 1 for e in surveys)
    assert unanswered, "no survey timed out during the cut"
