"""NN_SNDFD / NN_RCVFD readiness per socket type (when each protocol can send or
receive) and nn_poll (nanomsg's poll.c)."""

from __future__ import annotations

import select
import threading
import time

import pytest
from conftest import wait_connected

import nanopy

RAW = nanopy.AF_SP_RAW


def _fd(s, option):
    return nanopy.nn_getsockopt(s, nanopy.NN_SOL_SOCKET, option)


def _ready(s, option, timeout=0.05):
    r, _, _ = select.select([_fd(s, option)], [], [], timeout)
    return bool(r)


def rcv_ready(s, timeout=0.05):
    return _ready(s, nanopy.NN_RCVFD, timeout)


def snd_ready(s, timeout=0.05):
    return _ready(s, nanopy.NN_SNDFD, timeout)


def _link(nn, url, server, client, sdomain=nanopy.AF_SP, cdomain=nanopy.AF_SP):
    srv, cli = nn(server, domain=sdomain), nn(client, domain=cdomain)
    nanopy.nn_bind(srv, url)
    nanopy.nn_connect(cli, url)
    wait_connected(srv)
    wait_connected(cli)
    return srv, cli


# ---- ENOPROTOOPT for the direction a type does not have ------------------------------------


@pytest.mark.parametrize("domain", [nanopy.AF_SP, RAW], ids=["cooked", "raw"])
@pytest.mark.parametrize(
    "protocol,option",
    [
        (nanopy.NN_SUB, nanopy.NN_SNDFD),
        (nanopy.NN_PULL, nanopy.NN_SNDFD),
        (nanopy.NN_PUB, nanopy.NN_RCVFD),
        (nanopy.NN_PUSH, nanopy.NN_RCVFD),
    ],
    ids=["SUB-SNDFD", "PULL-SNDFD", "PUB-RCVFD", "PUSH-RCVFD"],
)
def test_fd_for_missing_direction_is_enoprotoopt(nn, protocol, option, domain) -> None:
    s = nn(protocol, domain=domain)
    with pytest.raises(nanopy.NNError) as info:
        _fd(s, option)
    assert info.value.errno == nanopy.ENOPROTOOPT


def test_fds_are_stable_os_descriptors(nn) -> None:
    s = nn(nanopy.NN_PAIR)
    assert _fd(s, nanopy.NN_RCVFD) == _fd(s, nanopy.NN_RCVFD) >= 0
    assert _fd(s, nanopy.NN_SNDFD) == _fd(s, nanopy.NN_SNDFD) >= 0


# ---- always-writable types ------------------------------------------------------------------


@pytest.mark.parametrize(
    "protocol,domain",
    [
        (nanopy.NN_PUB, nanopy.AF_SP),
        (nanopy.NN_PUB, RAW),
        (nanopy.NN_REQ, nanopy.AF_SP),
        (nanopy.NN_REP, RAW),
        (nanopy.NN_SURVEYOR, nanopy.AF_SP),
        (nanopy.NN_SURVEYOR, RAW),
        (nanopy.NN_RESPONDENT, RAW),
        (nanopy.NN_BUS, nanopy.AF_SP),
        (nanopy.NN_BUS, RAW),
    ],
    ids=["PUB", "rawPUB", "REQ", "rawREP", "SURVEYOR", "rawSURVEYOR", "rawRESPONDENT", "BUS",
         "rawBUS"],
)
def test_sndfd_always_ready_without_peers(nn, protocol, domain) -> None:
    assert snd_ready(nn(protocol, domain=domain))


# ---- types whose send needs a writable pipe -------------------------------------------------


@pytest.mark.parametrize(
    "client,server,domain",
    [
        (nanopy.NN_PAIR, nanopy.NN_PAIR, nanopy.AF_SP),
        (nanopy.NN_PAIR, nanopy.NN_PAIR, RAW),
        (nanopy.NN_PUSH, nanopy.NN_PULL, nanopy.AF_SP),
        (nanopy.NN_PUSH, nanopy.NN_PULL, RAW),
        (nanopy.NN_REQ, nanopy.NN_REP, RAW),
    ],
    ids=["PAIR", "rawPAIR", "PUSH", "rawPUSH", "rawREQ"],
)
def test_sndfd_ready_only_once_connected(nn, addr, client, server, domain) -> None:
    url = addr()
    c = nn(client, domain=domain)
    nanopy.nn_connect(c, url)
    assert not snd_ready(c)
    s = nn(server)
    nanopy.nn_bind(s, url)
    assert snd_ready(c, timeout=5)


# ---- receive readiness ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sender,receiver,rdomain",
    [
        (nanopy.NN_PAIR, nanopy.NN_PAIR, nanopy.AF_SP),
        (nanopy.NN_PUSH, nanopy.NN_PULL, nanopy.AF_SP),
        (nanopy.NN_PUSH, nanopy.NN_PULL, RAW),
        (nanopy.NN_BUS, nanopy.NN_BUS, nanopy.AF_SP),
        (nanopy.NN_BUS, nanopy.NN_BUS, RAW),
        (nanopy.NN_REQ, nanopy.NN_REP, nanopy.AF_SP),
        (nanopy.NN_REQ, nanopy.NN_REP, RAW),
    ],
    ids=["PAIR", "PULL", "rawPULL", "BUS", "rawBUS", "REP", "rawREP"],
)
def test_rcvfd_signals_arrival_and_clears_after_recv(nn, addr, sender, receiver, rdomain) -> None:
    r, s = _link(nn, addr(), receiver, sender, sdomain=rdomain)
    assert not rcv_ready(r)
    nanopy.nn_send(s, b"ping")
    assert rcv_ready(r, timeout=5)
    assert rcv_ready(r)  # level-style: still set until the message is taken
    nanopy.nn_recv(r)
    assert not rcv_ready(r)


def test_sub_rcvfd_signals_matching_message(nn, addr) -> None:
    pub, sub = _link(nn, addr(), nanopy.NN_PUB, nanopy.NN_SUB)
    nanopy.nn_setsockopt(sub, nanopy.NN_SUB, nanopy.NN_SUB_SUBSCRIBE, b"")
    assert not rcv_ready(sub)
    nanopy.nn_send(pub, b"news")
    assert rcv_ready(sub, timeout=5)
    assert nanopy.nn_recv(sub) == b"news"
    assert not rcv_ready(sub)


def test_req_rcvfd_only_when_reply_stored(nn, addr) -> None:
    rep, req = _link(nn, addr(), nanopy.NN_REP, nanopy.NN_REQ)
    nanopy.nn_send(req, b"q")
    assert nanopy.nn_recv(rep) == b"q"
    assert not rcv_ready(req)
    nanopy.nn_send(rep, b"a")
    assert rcv_ready(req, timeout=5)
    nanopy.nn_recv(req)
    assert not rcv_ready(req)


def test_req_rcvfd_not_set_by_stale_reply(nn, addr) -> None:
    xrep, req = _link(nn, addr(), nanopy.NN_REP, nanopy.NN_REQ, sdomain=RAW)
    nanopy.nn_send(req, b"old")
    _, old_hdr = nanopy.nn_recvmsg(xrep)
    nanopy.nn_send(req, b"new")
    nanopy.nn_recvmsg(xrep)
    nanopy.nn_sendmsg(xrep, [b"stale"], control=old_hdr)
    # Closing the replier puts the end of the connection after the stale reply on the same
    # stream: once REQ has seen the connection end, it has seen the reply too.
    nanopy.nn_close(xrep)
    deadline = time.monotonic() + 10
    while nanopy.nn_get_statistic(req, nanopy.NN_STAT_CURRENT_CONNECTIONS) > 0:
        assert time.monotonic() < deadline, "REQ never saw the replier go"
        time.sleep(0.005)
    assert not rcv_ready(req)


def test_rep_sndfd_only_while_holding_request(nn, addr) -> None:
    rep, req = _link(nn, addr(), nanopy.NN_REP, nanopy.NN_REQ)
    assert not snd_ready(rep)
    nanopy.nn_send(req, b"q")
    nanopy.nn_recv(rep)
    assert snd_ready(rep)
    nanopy.nn_send(rep, b"a")
    assert not snd_ready(rep)


def test_respondent_sndfd_only_while_holding_survey(nn, addr) -> None:
    surveyor, resp = _link(nn, addr(), nanopy.NN_SURVEYOR, nanopy.NN_RESPONDENT)
    nanopy.nn_setsockopt(surveyor, nanopy.NN_SURVEYOR, nanopy.NN_SURVEYOR_DEADLINE, 3000)
    assert not snd_ready(resp)
    nanopy.nn_send(surveyor, b"s")
    assert rcv_ready(resp, timeout=5)
    nanopy.nn_recv(resp)
    assert snd_ready(resp)
    nanopy.nn_send(resp, b"r")
    assert not snd_ready(resp)


def test_surveyor_rcvfd_set_when_no_survey_running(nn) -> None:
    s = nn(nanopy.NN_SURVEYOR)
    assert rcv_ready(s)


def test_raw_surveyor_rcvfd_not_set_without_message(nn) -> None:
    assert not rcv_ready(nn(nanopy.NN_SURVEYOR, domain=RAW))


def test_surveyor_rcvfd_clear_during_survey_then_set_at_deadline(nn, addr) -> None:
    surveyor, resp = _link(nn, addr(), nanopy.NN_SURVEYOR, nanopy.NN_RESPONDENT)
    nanopy.nn_setsockopt(surveyor, nanopy.NN_SURVEYOR, nanopy.NN_SURVEYOR_DEADLINE, 500)
    nanopy.nn_send(surveyor, b"s")
    assert not rcv_ready(surveyor)
    assert rcv_ready(surveyor, timeout=5)  # deadline passed
    with pytest.raises(nanopy.Timeout):
        nanopy.nn_recv(surveyor, nanopy.NN_DONTWAIT)


def test_surveyor_rcvfd_set_by_response(nn, addr) -> None:
    surveyor, resp = _link(nn, addr(), nanopy.NN_SURVEYOR, nanopy.NN_RESPONDENT)
    nanopy.nn_setsockopt(surveyor, nanopy.NN_SURVEYOR, nanopy.NN_SURVEYOR_DEADLINE, 5000)
    nanopy.nn_send(surveyor, b"s")
    nanopy.nn_recv(resp)
    nanopy.nn_send(resp, b"r")
    assert rcv_ready(surveyor, timeout=3)
    assert nanopy.nn_recv(surveyor, nanopy.NN_DONTWAIT) == b"r"


def test_pythonic_fd_properties_match_getsockopt(sock) -> None:
    s = sock(nanopy.PAIR)
    assert s.recv_fd == _fd(s.id, nanopy.NN_RCVFD)
    assert s.send_fd == _fd(s.id, nanopy.NN_SNDFD)


# ---- nn_poll (tests/poll.c) ---------------------------------------------------------------


def test_poll_reports_in_and_out(nn) -> None:
    url = "inproc://poll-in-out"
    a = nn(nanopy.NN_PAIR)
    b = nn(nanopy.NN_PAIR)
    nanopy.nn_bind(a, url)
    nanopy.nn_connect(b, url)
    wait_connected(b)
    nanopy.nn_send(b, b"ABC")
    both = nanopy.NN_POLLIN | nanopy.NN_POLLOUT
    deadline = time.monotonic() + 5
    while True:
        rev = nanopy.nn_poll([(a, both), (b, both)], 1000)
        if rev[0] == both or time.monotonic() > deadline:
            break
    assert rev == [both, nanopy.NN_POLLOUT]


def test_poll_timeout_returns_no_events(nn) -> None:
    s = nn(nanopy.NN_PULL)
    start = time.monotonic()
    assert nanopy.nn_poll([(s, nanopy.NN_POLLIN)], 100) == [0]
    assert time.monotonic() - start >= 0.05


def test_poll_wakes_on_message_from_another_thread(nn, addr) -> None:
    pull, push = _link(nn, addr(), nanopy.NN_PULL, nanopy.NN_PUSH)
    timer = threading.Timer(0.1, nanopy.nn_send, args=(push, b"late"))
    timer.start()
    try:
        assert nanopy.nn_poll([(pull, nanopy.NN_POLLIN)], 5000) == [nanopy.NN_POLLIN]
    finally:
        timer.join()
    assert nanopy.nn_recv(pull) == b"late"


def test_poll_pollin_on_pub_is_enoprotoopt(nn) -> None:
    pub = nn(nanopy.NN_PUB)
    with pytest.raises(nanopy.NNError) as info:
        nanopy.nn_poll([(pub, nanopy.NN_POLLIN)], 0)
    assert info.value.errno == nanopy.ENOPROTOOPT


def test_poll_closed_socket_is_ebadf(nn) -> None:
    s = nn(nanopy.NN_PAIR)
    nanopy.nn_close(s)
    with pytest.raises(nanopy.NNError) as info:
        nanopy.nn_poll([(s, nanopy.NN_POLLIN)], 0)
    assert info.value.errno == nanopy.EBADF
