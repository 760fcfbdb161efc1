"""Contexts: independent request states on one REQ / REP / RESPONDENT socket."""

from __future__ import annotations

import asyncio
import threading

import pytest
from conftest import wait_connected

import nanopy


def _pair(sock, addr):
    url = addr()
    rep = sock(nanopy.REP, bind=url)
    req = sock(nanopy.REQ, connect=url)
    wait_connected(req.id)
    return req, rep


def test_two_req_contexts_have_requests_in_flight_at_once(sock, addr) -> None:
    req, rep = _pair(sock, addr)
    a, b = req.context(), req.context()
    a.send(b"first")
    b.send(b"second")  # does not cancel a's request, unlike a plain REQ socket
    got = {rep.recv(), rep.recv()}
    assert got == {b"first", b"second"}


def test_replies_reach_the_context_that_asked(sock, addr) -> None:
    req, rep = _pair(sock, addr)
    ra, rb = rep.context(), rep.context()
    a, b = req.context(), req.context()
    a.send(b"A")
    b.send(b"B")
    qa = ra.recv()
    qb = rb.recv()
    # answer in the opposite order of arrival
    rb.send(b"reply-to-" + qb)
    ra.send(b"reply-to-" + qa)
    assert a.recv() == b"reply-to-A"
    assert b.recv() == b"reply-to-B"


def test_context_recv_before_send_is_efsm(sock, addr) -> None:
    req, rep = _pair(sock, addr)
    with req.context() as c, pytest.raises(nanopy.StateError):
        c.recv()
    with rep.context() as r, pytest.raises(nanopy.StateError):
        r.send(b"no request held")


def test_context_on_other_protocols_is_enotsup(sock) -> None:
    with sock(nanopy.PAIR) as s, pytest.raises(nanopy.NNError) as e:
        s.context()
    assert e.value.errno == nanopy.ENOTSUP


def test_closed_context_is_ebadf(sock, addr) -> None:
    req, _ = _pair(sock, addr)
    c = req.context()
    c.close()
    with pytest.raises(nanopy.BadSocket):
        c.send(b"x")


def test_context_recv_times_out_with_socket_timeout(sock, addr) -> None:
    req, _ = _pair(sock, addr)
    req.recv_timeout = 100
    c = req.context()
    c.send(b"nobody answers")
    with pytest.raises(nanopy.Timeout):
        c.recv()


def test_closing_the_socket_wakes_a_context_waiter(sock, addr) -> None:
    req, _ = _pair(sock, addr)
    req.recv_timeout = None
    c = req.context()
    c.send(b"wait")
    errors: list[BaseException] = []

    def waiter() -> None:
        try:
            c.recv()
        except nanopy.NNError as e:
            errors.append(e)

    t = threading.Thread(target=waiter)
    t.start()
    import time

    time.sleep(0.1)
    req.linger = 0
    req.close()
    t.join(5)
    assert not t.is_alive()
    assert errors and errors[0].errno in (nanopy.EBADF, nanopy.ETERM)


@pytest.mark.timeout(60)
def test_many_threads_share_one_req_socket_through_contexts(sock, addr) -> None:
    req, rep = _pair(sock, addr)
    stop = threading.Event()

    def server() -> None:
        with rep.context() as c:
            while not stop.is_set():
                try:
                    q = c.recv()
                except nanopy.Timeout:
                    continue
                except nanopy.NNError:
                    return
                c.send(b"re:" + q)

    rep.recv_timeout = 200
    servers = [threading.Thread(target=server) for _ in range(4)]
    for t in servers:
        t.start()
    failures: list[str] = []

    def client(k: int) -> None:
        with req.context() as c:
            for i in range(200):
                c.send(b"%d-%d" % (k, i))
                r = c.recv()
                if r != b"re:%d-%d" % (k, i):
                    failures.append(f"client {k} got {r!r}")

    clients = [threading.Thread(target=client, args=(k,)) for k in range(8)]
    for t in clients:
        t.start()
    for t in clients:
        t.join(50)
    stop.set()
    for t in servers:
        t.join(5)
    assert not failures


def test_asyncio_coroutines_use_contexts(sock, addr) -> None:
    req, rep = _pair(sock, addr)

    async def main() -> list[bytes]:
        async def serve_one() -> None:
            with rep.context() as c:
                q = await c.arecv()
                await c.asend(b"re:" + q)

        async def ask(i: int) -> bytes:
            with req.context() as c:
                await c.asend(b"%d" % i)
                return await c.arecv()

        servers = [asyncio.ensure_future(serve_one()) for _ in range(5)]
        answers = await asyncio.gather(*(ask(i) for i in range(5)))
        await asyncio.gather(*servers)
        return answers

    answers = asyncio.run(asyncio.wait_for(main(), 10))
    assert sorted(answers) == [b"re:%d" % i for i in range(5)]


def test_respondent_contexts_answer_the_right_survey(sock, addr) -> None:
    url = addr()
    surveyor = sock(nanopy.SURVEYOR, bind=url, survey_deadline=2000)
    resp = sock(nanopy.RESPONDENT, connect=url)
    wait_connected(resp.id)
    c = resp.context()
    surveyor.send(b"who?")
    assert c.recv() == b"who?"
    c.send(b"me")
    assert surveyor.recv() == b"me"


def test_surveyor_contexts_run_independent_surveys(sock, addr) -> None:
    url = addr()
    surveyor = sock(nanopy.SURVEYOR, bind=url, survey_deadline=1000)
    resp = sock(nanopy.RESPONDENT, connect=url)
    wait_connected(surveyor.id)
    a, b = surveyor.context(), surveyor.context()
    a.send(b"survey-a")
    b.send(b"survey-b")  # does not cancel a's survey
    r1, r2 = resp.context(), resp.context()
    q1, q2 = r1.recv(), r2.recv()
    assert {q1, q2} == {b"survey-a", b"survey-b"}
    r1.send(b"answer-to-" + q1)
    r2.send(b"answer-to-" + q2)
    assert a.recv() == b"answer-to-survey-a"
    assert b.recv() == b"answer-to-survey-b"


def test_surveyor_context_deadline_then_efsm(sock, addr) -> None:
    url = addr()
    surveyor = sock(nanopy.SURVEYOR, bind=url, survey_deadline=100)
    with surveyor.context() as c:
        with pytest.raises(nanopy.StateError):
            c.recv()
        c.send(b"anyone?")
        with pytest.raises(nanopy.Timeout):
            c.recv()
        with pytest.raises(nanopy.StateError):
            c.recv()
