"""SURVEYOR/RESPONDENT semantics (deadlines, one answer per respondent, stale answers dropped;
nanomsg tests/survey.c, surveyttl.c)."""

from __future__ import annotations

import threading
import time

import pytest
from conftest import wait_connected

import nanopy


def _surveyor(nn, url, deadline=500, respondents=1):
    surveyor = nn(nanopy.NN_SURVEYOR)
    nanopy.nn_setsockopt(surveyor, nanopy.NN_SURVEYOR, nanopy.NN_SURVEYOR_DEADLINE, deadline)
    nanopy.nn_bind(surveyor, url)
    resps = [nn(nanopy.NN_RESPONDENT) for _ in range(respondents)]
    for r in resps:
        nanopy.nn_connect(r, url)
    wait_connected(surveyor, respondents)
    for r in resps:
        wait_connected(r)
    return surveyor, resps


def test_survey_reaches_every_respondent_and_collects_answers(nn, addr) -> None:
    surveyor, resps = _surveyor(nn, addr(), deadline=2000, respondents=3)
    nanopy.nn_send(surveyor, b"ABC")
    for i, r in enumerate(resps):
        assert nanopy.nn_recv(r) == b"ABC"
        nanopy.nn_send(r, b"ans%d" % i)
    got = sorted(nanopy.nn_recv(surveyor) for _ in range(3))
    assert got == [b"ans0", b"ans1", b"ans2"]


def test_recv_before_any_survey_is_efsm(nn) -> None:
    surveyor = nn(nanopy.NN_SURVEYOR)
    with pytest.raises(nanopy.StateError) as info:
        nanopy.nn_recv(surveyor)
    assert info.value.errno == nanopy.EFSM
    assert "SURVEYOR" in str(info.value) and "recv" in str(info.value)


def test_respondent_send_before_recv_is_efsm(nn) -> None:
    resp = nn(nanopy.NN_RESPONDENT)
    with pytest.raises(nanopy.StateError) as info:
        nanopy.nn_send(resp, b"unasked")
    assert "RESPONDENT" in str(info.value) and "send" in str(info.value)


def test_respondent_second_send_is_efsm(nn, addr) -> None:
    surveyor, (resp,) = _surveyor(nn, addr(), deadline=2000)
    nanopy.nn_send(surveyor, b"q")
    nanopy.nn_recv(resp)
    nanopy.nn_send(resp, b"a")
    with pytest.raises(nanopy.StateError):
        nanopy.nn_send(resp, b"a-again")


def test_waiting_recv_gets_etimedout_at_deadline_then_efsm(nn, addr) -> None:
    surveyor, (resp,) = _surveyor(nn, addr(), deadline=300)
    nanopy.nn_send(surveyor, b"anyone?")
    assert nanopy.nn_recv(resp) == b"anyone?"
    start = time.monotonic()
    with pytest.raises(nanopy.Timeout):
        nanopy.nn_recv(surveyor)  # RCVTIMEO is 5 s, the deadline wakes it
    assert time.monotonic() - start < 4.0
    with pytest.raises(nanopy.StateError):
        nanopy.nn_recv(surveyor)


def test_expired_survey_gives_etimedout_once_then_efsm(nn, addr) -> None:
    surveyor, _ = _surveyor(nn, addr(), deadline=100)
    nanopy.nn_send(surveyor, b"q")
    time.sleep(0.4)
    with pytest.raises(nanopy.Timeout):
        nanopy.nn_recv(surveyor)
    with pytest.raises(nanopy.StateError):
        nanopy.nn_recv(surveyor)
    with pytest.raises(nanopy.StateError):
        nanopy.nn_recv(surveyor)


@pytest.mark.timeout(30)
def test_deadline_sequence_with_late_answer_dropped(nn, addr) -> None:
    """tests/survey.c: 3 respondents, 2 answer in time, the third answers late and its
    answer is dropped during the next survey."""
    surveyor, (r1, r2, r3) = _surveyor(nn, addr(), deadline=500, respondents=3)
    nanopy.nn_send(surveyor, b"ABC")
    for r in (r1, r2, r3):
        assert nanopy.nn_recv(r) == b"ABC"
    nanopy.nn_send(r1, b"DEF")
    nanopy.nn_send(r2, b"DEF")
    assert nanopy.nn_recv(surveyor) == b"DEF"
    assert nanopy.nn_recv(surveyor) == b"DEF"
    with pytest.raises(nanopy.Timeout):
        nanopy.nn_recv(surveyor)
    nanopy.nn_send(r3, b"GHI")  # late
    nanopy.nn_send(surveyor, b"ABC")  # second survey; nobody answers it
    with pytest.raises(nanopy.Timeout):
        nanopy.nn_recv(surveyor)  # the stale GHI is not delivered
    with pytest.raises(nanopy.StateError):
        nanopy.nn_recv(surveyor)


def test_new_survey_cancels_previous(nn, addr) -> None:
    url = addr()
    surveyor = nn(nanopy.NN_SURVEYOR)
    nanopy.nn_setsockopt(surveyor, nanopy.NN_SURVEYOR, nanopy.NN_SURVEYOR_DEADLINE, 3000)
    nanopy.nn_bind(surveyor, url)
    raw = nn(nanopy.NN_RESPONDENT, domain=nanopy.AF_SP_RAW)
    nanopy.nn_connect(raw, url)
    wait_connected(surveyor)
    wait_connected(raw)
    nanopy.nn_send(surveyor, b"s1")
    b1, h1 = nanopy.nn_recvmsg(raw)
    nanopy.nn_send(surveyor, b"s2")
    b2, h2 = nanopy.nn_recvmsg(raw)
    assert (b1, b2) == (b"s1", b"s2")
    nanopy.nn_sendmsg(raw, [b"for-s1"], control=h1)
    nanopy.nn_sendmsg(raw, [b"for-s2"], control=h2)
    assert nanopy.nn_recv(surveyor) == b"for-s2"


def test_survey_deadline_default_and_roundtrip(nn) -> None:
    s = nn(nanopy.NN_SURVEYOR)
    assert nanopy.nn_getsockopt(s, nanopy.NN_SURVEYOR, nanopy.NN_SURVEYOR_DEADLINE) == 1000
    nanopy.nn_setsockopt(s, nanopy.NN_SURVEYOR, nanopy.NN_SURVEYOR_DEADLINE, 250)
    assert nanopy.nn_getsockopt(s, nanopy.NN_SURVEYOR, nanopy.NN_SURVEYOR_DEADLINE) == 250


def test_negative_survey_deadline_is_einval(nn) -> None:
    s = nn(nanopy.NN_SURVEYOR)
    with pytest.raises(nanopy.NNError) as info:
        nanopy.nn_setsockopt(s, nanopy.NN_SURVEYOR, nanopy.NN_SURVEYOR_DEADLINE, -1)
    assert info.value.errno == nanopy.EINVAL


def test_socket_survey_deadline_property(sock) -> None:
    s = sock(nanopy.SURVEYOR)
    s.survey_deadline = 321
    assert s.survey_deadline == 321


def test_survey_without_respondents_is_not_an_error(nn) -> None:
    s = nn(nanopy.NN_SURVEYOR)
    nanopy.nn_setsockopt(s, nanopy.NN_SURVEYOR, nanopy.NN_SURVEYOR_DEADLINE, 100)
    assert nanopy.nn_send(s, b"void", nanopy.NN_DONTWAIT) == 4
    with pytest.raises(nanopy.Timeout):
        nanopy.nn_recv(s)


# ---- NN_MAXTTL through a device (tests/surveyttl.c) ----------------------------------------


def _run_device(s1, s2):
    try:
        nanopy.nn_device(s1, s2)
    except nanopy.NNError:
        pass


def _chain(nn, addr, ttl):
    """SURVEYOR -> raw RESPONDENT | device | raw SURVEYOR -> RESPONDENT(NN_MAXTTL = ttl)."""
    front, back = addr(), addr()
    dev_resp = nn(nanopy.NN_RESPONDENT, domain=nanopy.AF_SP_RAW)
    dev_surv = nn(nanopy.NN_SURVEYOR, domain=nanopy.AF_SP_RAW)
    nanopy.nn_bind(dev_resp, front)
    nanopy.nn_bind(dev_surv, back)
    resp = nn(nanopy.NN_RESPONDENT)
    nanopy.nn_setsockopt(resp, nanopy.NN_SOL_SOCKET, nanopy.NN_MAXTTL, ttl)
    nanopy.nn_connect(resp, back)
    surveyor = nn(nanopy.NN_SURVEYOR)
    nanopy.nn_setsockopt(surveyor, nanopy.NN_SURVEYOR, nanopy.NN_SURVEYOR_DEADLINE, 2000)
    nanopy.nn_connect(surveyor, front)
    wait_connected(surveyor)
    wait_connected(dev_surv)
    wait_connected(resp)
    thread = threading.Thread(target=_run_device, args=(dev_resp, dev_surv), daemon=True)
    thread.start()
    return surveyor, resp, (dev_resp, dev_surv, thread)


def _stop(dev):
    *socks, thread = dev
    for s in socks:
        nanopy.nn_setsockopt(s, nanopy.NN_SOL_SOCKET, nanopy.NN_LINGER, 0)
        nanopy.nn_close(s)
    thread.join(5)
    assert not thread.is_alive()


@pytest.mark.timeout(30)
def test_survey_ttl_1_drops_after_one_device(nn, addr) -> None:
    surveyor, resp, dev = _chain(nn, addr, 1)
    nanopy.nn_setsockopt(resp, nanopy.NN_SOL_SOCKET, nanopy.NN_RCVTIMEO, 300)
    nanopy.nn_send(surveyor, b"hop")
    with pytest.raises(nanopy.Timeout):
        nanopy.nn_recv(resp)
    _stop(dev)


@pytest.mark.timeout(30)
def test_survey_ttl_2_passes_one_device(nn, addr) -> None:
    surveyor, resp, dev = _chain(nn, addr, 2)
    nanopy.nn_send(surveyor, b"hop")
    assert nanopy.nn_recv(resp) == b"hop"
    nanopy.nn_send(resp, b"back")
    assert nanopy.nn_recv(surveyor) == b"back"
    _stop(dev)


def test_surveyor_recv_dontwait_during_survey_is_eagain(nn, addr) -> None:
    surveyor, _ = _surveyor(nn, addr(), deadline=3000)
    nanopy.nn_send(surveyor, b"q")
    with pytest.raises(nanopy.Again):
        nanopy.nn_recv(surveyor, nanopy.NN_DONTWAIT)


def test_respondent_answers_reach_the_right_surveyor(nn, addr) -> None:
    u1, u2 = addr(), addr()
    s1, s2 = nn(nanopy.NN_SURVEYOR), nn(nanopy.NN_SURVEYOR)
    for s, u in ((s1, u1), (s2, u2)):
        nanopy.nn_setsockopt(s, nanopy.NN_SURVEYOR, nanopy.NN_SURVEYOR_DEADLINE, 3000)
        nanopy.nn_bind(s, u)
    resp = nn(nanopy.NN_RESPONDENT)
    nanopy.nn_connect(resp, u1)
    nanopy.nn_connect(resp, u2)
    wait_connected(resp, 2)
    wait_connected(s1)
    wait_connected(s2)
    nanopy.nn_send(s1, b"from-1")
    assert nanopy.nn_recv(resp) == b"from-1"
    nanopy.nn_send(resp, b"to-1")
    nanopy.nn_send(s2, b"from-2")
    assert nanopy.nn_recv(resp) == b"from-2"
    nanopy.nn_send(resp, b"to-2")
    assert nanopy.nn_recv(s1) == b"to-1"
    assert nanopy.nn_recv(s2) == b"to-2"


def test_respondent_recv_discards_held_survey(nn, addr) -> None:
    surveyor, (resp,) = _surveyor(nn, addr(), deadline=3000)
    nanopy.nn_send(surveyor, b"one")
    assert nanopy.nn_recv(resp) == b"one"
    nanopy.nn_send(surveyor, b"two")
    assert nanopy.nn_recv(resp) == b"two"
    nanopy.nn_send(resp, b"answer-two")
    assert nanopy.nn_recv(surveyor) == b"answer-two"


def test_new_survey_after_deadline_works(nn, addr) -> None:
    surveyor, (resp,) = _surveyor(nn, addr(), deadline=100)
    nanopy.nn_send(surveyor, b"first")
    nanopy.nn_recv(resp)
    with pytest.raises(nanopy.Timeout):
        nanopy.nn_recv(surveyor)
    nanopy.nn_setsockopt(surveyor, nanopy.NN_SURVEYOR, nanopy.NN_SURVEYOR_DEADLINE, 3000)
    nanopy.nn_send(surveyor, b"second")
    assert nanopy.nn_recv(resp) == b"second"
    nanopy.nn_send(resp, b"yes")
    assert nanopy.nn_recv(surveyor) == b"yes"
