"""Topologies across hosts: a device on a middle host between two others, and a BUS mesh
of ten hosts.

- REQ (host A) -> device (host M: raw REP bound, raw REQ connected onwards) -> REP (host C).
  The link to C is cut mid-stream and healed: the REQ's resends and the device carry the
  traffic through again, and every reply matches its request.
- Ten hosts, each a BUS socket bound on its own address and connected to every host after
  it (45 connections, 9 per host): every node's messages reach the nine others.
"""

from __future__ import annotations

import time

import pytest

from ._net import Net, pick, record

CUT_S = pick(2.0, 20.0)
MESH = 10
MESH_MESSAGES = pick(200, 5000)


@pytest.mark.timeout(pick(60, 180))
def test_device_on_a_middle_host(net: Net) -> None:
    a, m, c = net.add_hosts(3)
    rep = c.run("rep", c.url(5556), "--bind")
    rep.next()
    device = m.run("device", m.url(5555), "--peers", c.url(5556))
    device.next()
    req = a.run("req", m.url(5555), "--resend", "500", "--interval", "5")
    t_ready = req.next()["t"]
    first = req.wait(lambda e: e["ev"] == "reply", what="a reply through the device")
    req.wait(lambda e: e["ev"] == "reply" and e["seq"] >= 50, what="50 replies")
    c.cut("blackhole")
    time.sleep(CUT_S)  # the outage itself
    t_heal = time.monotonic()
    c.heal()
    after = req.wait(lambda e: e["ev"] == "reply" and e["t"] > t_heal, timeout=60,
                     what="a reply after the heal")
    req.command("stop")
    last = req.wait(lambda e: e["ev"] == "stopped")["last"]
    replies = [e for e in req.drain() if e["ev"] == "reply"]
    record("device_middle_host", cut_s=CUT_S, first_reply_s=round(first["t"] - t_ready, 3),
           resumed_after_heal_s=round(after["t"] - t_heal, 3), requests=last + 1)
    assert all(e["ok"] for e in replies), "a reply to another request reached the user"
    assert [e["seq"] for e in replies] == list(range(last + 1))


@pytest.mark.timeout(pick(90, 300))
def test_ten_host_bus_mesh(net: Net) -> None:
    hosts = net.add_hosts(MESH)
    urls = [h.url(5555) for h in hosts]
    t0 = time.monotonic()
    nodes = [h.run("bus", urls[i], "--peers", ",".join(urls[i + 1:]), "--mesh", str(MESH),
                   "--count", str(MESH_MESSAGES))
             for i, h in enumerate(hosts)]
    for n in nodes:
        n.wait(lambda e: e["ev"] == "ready", timeout=60, what="a full mesh")
    formed = time.monotonic() - t0
    t_go = time.monotonic()
    for n in nodes:
        n.command("go")
    done = [n.wait(lambda e: e["ev"] == "done", timeout=120, what="every message")
            for n in nodes]
    record("bus_mesh", hosts=MESH, connections=MESH * (MESH - 1) // 2,
           mesh_formed_s=round(formed, 3), messages_per_node=MESH_MESSAGES,
           all_delivered_s=round(max(d["t"] for d in done) - t_go, 3))
    assert all(d["received"] == MESH_MESSAGES * (MESH - 1) for d in done)
