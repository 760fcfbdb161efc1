"""Raw SP headers exposed through nn_recvmsg/nn_sendmsg (the backtrace of request ids and
hops; nanomsg's tests/cmsg.c)."""

from __future__ import annotations

import struct

import pytest
from conftest import wait_connected

import nanopy

TOP = 0x80000000


def _connected(nn, url, server, client, server_domain=nanopy.AF_SP_RAW):
    srv = nn(server, domain=server_domain)
    cli = nn(client)
    nanopy.nn_bind(srv, url)
    nanopy.nn_connect(cli, url)
    wait_connected(srv)
    wait_connected(cli)
    return srv, cli


def test_raw_rep_header_is_pipe_id_then_request_id(nn, addr) -> None:
    rep, req = _connected(nn, addr(), nanopy.NN_REP, nanopy.NN_REQ)
    nanopy.nn_send(req, b"ABC")
    body, hdr = nanopy.nn_recvmsg(rep)
    assert body == b"ABC"
    assert len(hdr) == 8
    pipe_id, request_id = struct.unpack(">II", hdr)
    assert pipe_id & TOP == 0
    assert request_id & TOP == TOP


def test_raw_rep_sendmsg_with_received_header_routes_reply(nn, addr) -> None:
    rep, req = _connected(nn, addr(), nanopy.NN_REP, nanopy.NN_REQ)
    nanopy.nn_send(req, b"ABC")
    body, hdr = nanopy.nn_recvmsg(rep)
    assert nanopy.nn_sendmsg(rep, [b"DE", b"F"], control=hdr) == 3
    assert nanopy.nn_recv(req) == b"DEF"


def test_raw_rep_routes_each_reply_to_its_own_client(nn, addr) -> None:
    url = addr()
    rep = nn(nanopy.NN_REP, domain=nanopy.AF_SP_RAW)
    nanopy.nn_bind(rep, url)
    reqs = [nn(nanopy.NN_REQ) for _ in range(3)]
    for r in reqs:
        nanopy.nn_connect(r, url)
    wait_connected(rep, 3)
    for i, r in enumerate(reqs):
        nanopy.nn_send(r, b"%d" % i)
    held = [nanopy.nn_recvmsg(rep) for _ in reqs]
    assert len({h[:4] for _, h in held}) == 3  # three distinct pipe ids
    for body, hdr in reversed(held):
        nanopy.nn_sendmsg(rep, [b"re" + body], control=hdr)
    for i, r in enumerate(reqs):
        assert nanopy.nn_recv(r) == b"re%d" % i


def test_consecutive_request_ids_increase_by_one(nn, addr) -> None:
    rep, req = _connected(nn, addr(), nanopy.NN_REP, nanopy.NN_REQ)
    ids = []
    for _ in range(3):
        nanopy.nn_send(req, b"q")
        _, hdr = nanopy.nn_recvmsg(rep)
        ids.append(struct.unpack(">I", hdr[4:8])[0] & ~TOP)
        nanopy.nn_sendmsg(rep, [b"a"], control=hdr)
        nanopy.nn_recv(req)
    assert [(b - a) & 0x7FFFFFFF for a, b in zip(ids, ids[1:])] == [1, 1]


def test_raw_rep_reply_with_short_header_is_dropped_silently(nn, addr) -> None:
    rep, req = _connected(nn, addr(), nanopy.NN_REP, nanopy.NN_REQ)
    nanopy.nn_send(req, b"ABC")
    nanopy.nn_recvmsg(rep)
    assert nanopy.nn_sendmsg(rep, [b"lost"], control=b"\0\0") == 4
    nanopy.nn_setsockopt(req, nanopy.NN_SOL_SOCKET, nanopy.NN_RCVTIMEO, 300)
    with pytest.raises(nanopy.Timeout):
        nanopy.nn_recv(req)


def test_raw_rep_reply_to_unknown_pipe_is_dropped_silently(nn, addr) -> None:
    rep, req = _connected(nn, addr(), nanopy.NN_REP, nanopy.NN_REQ)
    nanopy.nn_send(req, b"ABC")
    _, hdr = nanopy.nn_recvmsg(rep)
    bogus = struct.pack(">I", (struct.unpack(">I", hdr[:4])[0] + 12345) & 0x7FFFFFFF) + hdr[4:]
    assert nanopy.nn_sendmsg(rep, [b"lost"], control=bogus) == 4
    nanopy.nn_setsockopt(req, nanopy.NN_SOL_SOCKET, nanopy.NN_RCVTIMEO, 300)
    with pytest.raises(nanopy.Timeout):
        nanopy.nn_recv(req)


def test_raw_rep_plain_recv_drops_header(nn, addr) -> None:
    rep, req = _connected(nn, addr(), nanopy.NN_REP, nanopy.NN_REQ)
    nanopy.nn_send(req, b"body-only")
    assert nanopy.nn_recv(rep) == b"body-only"


def test_raw_req_exposes_4_byte_request_id_header(nn, addr) -> None:
    url = addr()
    rep = nn(nanopy.NN_REP)
    xreq = nn(nanopy.NN_REQ, domain=nanopy.AF_SP_RAW)
    nanopy.nn_bind(rep, url)
    nanopy.nn_connect(xreq, url)
    wait_connected(xreq)
    rid = struct.pack(">I", TOP | 77)
    nanopy.nn_sendmsg(xreq, [b"raw-req"], control=rid)
    assert nanopy.nn_recv(rep) == b"raw-req"
    nanopy.nn_send(rep, b"raw-rep")
    assert nanopy.nn_recvmsg(xreq) == (b"raw-rep", rid)


def test_raw_respondent_header_is_pipe_id_then_survey_id(nn, addr) -> None:
    url = addr()
    surveyor = nn(nanopy.NN_SURVEYOR)
    nanopy.nn_setsockopt(surveyor, nanopy.NN_SURVEYOR, nanopy.NN_SURVEYOR_DEADLINE, 3000)
    resp = nn(nanopy.NN_RESPONDENT, domain=nanopy.AF_SP_RAW)
    nanopy.nn_bind(surveyor, url)
    nanopy.nn_connect(resp, url)
    wait_connected(surveyor)
    wait_connected(resp)
    nanopy.nn_send(surveyor, b"poll")
    body, hdr = nanopy.nn_recvmsg(resp)
    assert body == b"poll" and len(hdr) == 8
    pipe_id, survey_id = struct.unpack(">II", hdr)
    assert pipe_id & TOP == 0 and survey_id & TOP == TOP
    nanopy.nn_sendmsg(resp, [b"vote"], control=hdr)
    assert nanopy.nn_recv(surveyor) == b"vote"


def test_raw_surveyor_exposes_4_byte_survey_id_header(nn, addr) -> None:
    url = addr()
    xsurv = nn(nanopy.NN_SURVEYOR, domain=nanopy.AF_SP_RAW)
    resp = nn(nanopy.NN_RESPONDENT)
    nanopy.nn_bind(xsurv, url)
    nanopy.nn_connect(resp, url)
    wait_connected(xsurv)
    wait_connected(resp)
    sid = struct.pack(">I", TOP | 5)
    nanopy.nn_sendmsg(xsurv, [b"s"], control=sid)
    assert nanopy.nn_recv(resp) == b"s"
    nanopy.nn_send(resp, b"r")
    assert nanopy.nn_recvmsg(xsurv) == (b"r", sid)


@pytest.mark.parametrize(
    "protocol", [nanopy.NN_REQ, nanopy.NN_REP, nanopy.NN_SURVEYOR, nanopy.NN_RESPONDENT]
)
def test_cooked_sendmsg_with_control_is_einval(nn, protocol) -> None:
    s = nn(protocol)
    with pytest.raises(nanopy.NNError) as info:
        nanopy.nn_sendmsg(s, [b"x"], control=struct.pack(">II", 1, TOP | 1))
    assert info.value.errno == nanopy.EINVAL


def test_cooked_recvmsg_header_is_empty(nn, addr) -> None:
    rep, req = _connected(nn, addr(), nanopy.NN_REP, nanopy.NN_REQ, nanopy.AF_SP)
    nanopy.nn_send(req, b"ABC")
    assert nanopy.nn_recvmsg(rep) == (b"ABC", b"")
    nanopy.nn_send(rep, b"OK")
    assert nanopy.nn_recvmsg(req) == (b"OK", b"")


def test_raw_rep_drops_request_without_terminating_id(nn, addr) -> None:
    url = addr()
    rep = nn(nanopy.NN_REP, timeout=300)
    xreq = nn(nanopy.NN_REQ, domain=nanopy.AF_SP_RAW)
    nanopy.nn_bind(rep, url)
    nanopy.nn_connect(xreq, url)
    wait_connected(xreq)
    nanopy.nn_sendmsg(xreq, [b""], control=struct.pack(">I", 5))  # no word with bit 31
    with pytest.raises(nanopy.Timeout):
        nanopy.nn_recv(rep)


def _raw_req_to_rep(nn, url, maxttl=None):
    rep = nn(nanopy.NN_REP, timeout=500)
    if maxttl is not None:
        nanopy.nn_setsockopt(rep, nanopy.NN_SOL_SOCKET, nanopy.NN_MAXTTL, maxttl)
    xreq = nn(nanopy.NN_REQ, domain=nanopy.AF_SP_RAW)
    nanopy.nn_bind(rep, url)
    nanopy.nn_connect(xreq, url)
    wait_connected(xreq)
    wait_connected(rep)
    return rep, xreq


def _stack(hops):
    """A backtrace of ``hops`` words: hops-1 pipe ids then the request id."""
    return b"".join(struct.pack(">I", 100 + i) for i in range(hops - 1)) + struct.pack(
        ">I", TOP | 9
    )


def test_rep_accepts_request_at_exactly_maxttl_hops(nn, addr) -> None:
    rep, xreq = _raw_req_to_rep(nn, addr())
    nanopy.nn_sendmsg(xreq, [b"eight"], control=_stack(8))
    assert nanopy.nn_recv(rep) == b"eight"


def test_rep_drops_request_beyond_maxttl_hops(nn, addr) -> None:
    rep, xreq = _raw_req_to_rep(nn, addr())
    nanopy.nn_sendmsg(xreq, [b"nine"], control=_stack(9))
    with pytest.raises(nanopy.Timeout):
        nanopy.nn_recv(rep)


def test_raised_maxttl_accepts_deeper_request(nn, addr) -> None:
    rep, xreq = _raw_req_to_rep(nn, addr(), maxttl=20)
    nanopy.nn_sendmsg(xreq, [b"twenty"], control=_stack(20))
    assert nanopy.nn_recv(rep) == b"twenty"


def test_rep_reply_carries_whole_stack_back(nn, addr) -> None:
    rep, xreq = _raw_req_to_rep(nn, addr())
    stack = _stack(3)
    nanopy.nn_sendmsg(xreq, [b"q"], control=stack)
    assert nanopy.nn_recv(rep) == b"q"
    nanopy.nn_send(rep, b"a")
    # raw REQ exposes only the first 4 bytes as header; the rest of the stack stays in the body
    assert nanopy.nn_recvmsg(xreq) == (stack[4:] + b"a", stack[:4])


def test_raw_pair_sends_no_header_by_default(nn, addr) -> None:
    url = addr()
    a = nn(nanopy.NN_PAIR, domain=nanopy.AF_SP_RAW)
    b = nn(nanopy.NN_PAIR, domain=nanopy.AF_SP_RAW)
    nanopy.nn_bind(a, url)
    nanopy.nn_connect(b, url)
    wait_connected(b)
    nanopy.nn_send(b, b"plain")
    assert nanopy.nn_recvmsg(a) == (b"plain", b"")
