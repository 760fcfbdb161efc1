"""A host that vanishes: its link goes dark first (so not a single FIN or RST leaves it),
then its processes die and its namespace is deleted. The idle connection to it is only
found dead by TCP keepalive: with ``tcp_keepalive`` on, and the kernel's keepalive timing
set small inside the surviving host's namespace (net.ipv4.tcp_keepalive_time / _intvl /
_probes are per namespace), the connection count drops to 0 within
time + intvl * probes seconds. A second connection without keepalive, made at the same
moment to the same host, is the control: it still counts as connected at that point.
"""

from __future__ import annotations

import time

import pytest
from conftest import skip_or_fail

import nanopy

from ._net import Net, pick, record

KA_TIME, KA_INTVL, KA_PROBES = pick((1, 1, 3), (5, 2, 5))
CONFIGURED_S = KA_TIME + KA_INTVL * KA_PROBES
MARGIN_S = 3.0  # process start, 10 ms polling, a loaded 2-CPU machine


@pytest.mark.timeout(60)
def test_vanished_host_is_detected_by_keepalive(net: Net) -> None:
    if not hasattr(nanopy.Socket, "tcp_keepalive"):
        skip_or_fail("Socket.tcp_keepalive is not in this build")
    a, b = net.add_hosts(2)
    for key, value in (("tcp_keepalive_time", KA_TIME), ("tcp_keepalive_intvl", KA_INTVL),
                       ("tcp_keepalive_probes", KA_PROBES)):
        a.sysctl(f"net.ipv4.{key}", value)
    for port in (5555, 5556):
        b.run("recv", b.url(port), "--proto", "pair", "--bind").next()
    watched = a.run("watch", b.url(5555), "--keepalive")
    control = a.run("watch", b.url(5556))
    for w in (watched, control):
        w.wait(lambda e: e["ev"] == "conn" and e["n"] == 1, what="a connection")
    b.cut("blackhole")
    t_gone = time.monotonic()
    b.delete()
    ev = watched.wait(lambda e: e["ev"] == "conn" and e["n"] == 0,
                      timeout=CONFIGURED_S + 30, what="the loss of the connection")
    detected = ev["t"] - t_gone
    control_conn = [e["n"] for e in control.drain() if e["ev"] == "conn"][-1]
    record("vanished_host", keepalive=[KA_TIME, KA_INTVL, KA_PROBES],
           configured_s=CONFIGURED_S, detected_after_s=round(detected, 3),
           control_without_keepalive_connected=control_conn)
    assert detected < CONFIGURED_S + MARGIN_S
    assert control_conn == 1, "the connection without keepalive was dropped too"
