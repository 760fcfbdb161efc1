"""REQ/REP semantics (resend, one request at a time, raw backtraces; nanomsg tests/reqrep.c
and tests/reqttl.c)."""

from __future__ import annotations

import threading

import pytest
from conftest import wait_connected

import nanopy


def _pair(nn, url, req_binds=False):
    req = nn(nanopy.NN_REQ)
    rep = nn(nanopy.NN_REP)
    if req_binds:
        nanopy.nn_bind(req, url)
        nanopy.nn_connect(rep, url)
    else:
        nanopy.nn_bind(rep, url)
        nanopy.nn_connect(req, url)
    wait_connected(req)
    wait_connected(rep)
    return req, rep


def test_request_reply_roundtrip(nn, addr) -> None:
    req, rep = _pair(nn, addr())
    nanopy.nn_send(req, b"ABC")
    assert nanopy.nn_recv(rep) == b"ABC"
    nanopy.nn_send(rep, b"OK")
    assert nanopy.nn_recv(req) == b"OK"


def test_rep_send_before_recv_is_efsm_with_message(nn) -> None:
    rep = nn(nanopy.NN_REP)
    with pytest.raises(nanopy.StateError) as info:
        nanopy.nn_send(rep, b"x")
    assert info.value.errno == nanopy.EFSM
    text = str(info.value)
    assert "REP" in text and "send" in text, text


def test_req_recv_before_send_is_efsm_with_message(nn) -> None:
    req = nn(nanopy.NN_REQ)
    with pytest.raises(nanopy.StateError) as info:
        nanopy.nn_recv(req)
    assert info.value.errno == nanopy.EFSM
    text = str(info.value)
    assert "REQ" in text and "recv" in text, text


def test_req_second_recv_after_reply_is_efsm(nn, addr) -> None:
    req, rep = _pair(nn, addr())
    nanopy.nn_send(req, b"q")
    nanopy.nn_recv(rep)
    nanopy.nn_send(rep, b"a")
    assert nanopy.nn_recv(req) == b"a"
    with pytest.raises(nanopy.StateError):
        nanopy.nn_recv(req)


def test_rep_second_send_without_new_request_is_efsm(nn, addr) -> None:
    req, rep = _pair(nn, addr())
    nanopy.nn_send(req, b"q")
    nanopy.nn_recv(rep)
    nanopy.nn_send(rep, b"a")
    with pytest.raises(nanopy.StateError):
        nanopy.nn_send(rep, b"again")


def test_req_recv_waiting_for_reply_times_out(nn, addr) -> None:
    req, rep = _pair(nn, addr())
    nanopy.nn_setsockopt(req, nanopy.NN_SOL_SOCKET, nanopy.NN_RCVTIMEO, 100)
    nanopy.nn_send(req, b"q")
    with pytest.raises(nanopy.Timeout):
        nanopy.nn_recv(req)


def test_rep_fair_queues_two_reqs(nn, addr) -> None:
    url = addr()
    rep = nn(nanopy.NN_REP)
    nanopy.nn_bind(rep, url)
    req1 = nn(nanopy.NN_REQ)
    req2 = nn(nanopy.NN_REQ)
    nanopy.nn_connect(req1, url)
    nanopy.nn_connect(req2, url)
    wait_connected(rep, 2)
    nanopy.nn_send(req1, b"one")
    nanopy.nn_send(req2, b"two")
    got = []
    for _ in range(2):
        body = nanopy.nn_recv(rep)
        got.append(body)
        nanopy.nn_send(rep, body + b"-reply")
    assert sorted(got) == [b"one", b"two"]
    assert nanopy.nn_recv(req1) == b"one-reply"
    assert nanopy.nn_recv(req2) == b"two-reply"


def test_req_load_balances_over_two_reps(nn, addr) -> None:
    req = nn(nanopy.NN_REQ)
    rep1 = nn(nanopy.NN_REP)
    rep2 = nn(nanopy.NN_REP)
    url = addr()
    nanopy.nn_bind(req, url)
    nanopy.nn_connect(rep1, url)
    nanopy.nn_connect(rep2, url)
    wait_connected(req, 2)
    counts = {rep1: 0, rep2: 0}
    for i in range(4):
        nanopy.nn_send(req, b"%d" % i)
        ready = nanopy.nn_poll([(rep1, nanopy.NN_POLLIN), (rep2, nanopy.NN_POLLIN)], 5000)
        server = rep1 if ready[0] & nanopy.NN_POLLIN else rep2
        assert nanopy.nn_recv(server) == b"%d" % i
        nanopy.nn_send(server, b"r%d" % i)
        assert nanopy.nn_recv(req) == b"r%d" % i
        counts[server] += 1
    assert counts == {rep1: 2, rep2: 2}


def test_resend_interval_makes_rep_see_same_request_twice(nn, addr) -> None:
    req, rep = _pair(nn, addr())
    nanopy.nn_setsockopt(req, nanopy.NN_REQ, nanopy.NN_REQ_RESEND_IVL, 100)
    nanopy.nn_send(req, b"ABC")
    assert nanopy.nn_recv(rep) == b"ABC"
    assert nanopy.nn_recv(rep) == b"ABC"  # resent after 100 ms with no reply
    nanopy.nn_send(rep, b"DEF")
    assert nanopy.nn_recv(req) == b"DEF"


def test_resend_interval_roundtrips_through_getsockopt(nn) -> None:
    req = nn(nanopy.NN_REQ)
    assert nanopy.nn_getsockopt(req, nanopy.NN_REQ, nanopy.NN_REQ_RESEND_IVL) == 60000
    nanopy.nn_setsockopt(req, nanopy.NN_REQ, nanopy.NN_REQ_RESEND_IVL, 250)
    assert nanopy.nn_getsockopt(req, nanopy.NN_REQ, nanopy.NN_REQ_RESEND_IVL) == 250


def test_negative_resend_interval_is_einval(nn) -> None:
    req = nn(nanopy.NN_REQ)
    with pytest.raises(nanopy.NNError) as info:
        nanopy.nn_setsockopt(req, nanopy.NN_REQ, nanopy.NN_REQ_RESEND_IVL, -1)
    assert info.value.errno == nanopy.EINVAL


def test_socket_resend_interval_property(sock) -> None:
    req = sock(nanopy.REQ)
    req.resend_interval = 123
    assert req.resend_interval == 123


def test_new_request_cancels_old_and_its_late_reply_is_dropped(nn, addr) -> None:
    url = addr()
    req = nn(nanopy.NN_REQ)
    rep = nn(nanopy.NN_REP, domain=nanopy.AF_SP_RAW)
    nanopy.nn_bind(rep, url)
    nanopy.nn_connect(req, url)
    wait_connected(req)
    nanopy.nn_send(req, b"first")
    body_a, hdr_a = nanopy.nn_recvmsg(rep)
    nanopy.nn_send(req, b"second")
    body_b, hdr_b = nanopy.nn_recvmsg(rep)
    assert (body_a, body_b) == (b"first", b"second")
    nanopy.nn_sendmsg(rep, [b"reply-to-first"], control=hdr_a)
    nanopy.nn_sendmsg(rep, [b"reply-to-second"], control=hdr_b)
    assert nanopy.nn_recv(req) == b"reply-to-second"


def test_two_sends_before_peer_exists_deliver_only_the_last(nn, addr) -> None:
    url = addr()
    req = nn(nanopy.NN_REQ)
    nanopy.nn_connect(req, url)
    nanopy.nn_send(req, b"old")
    nanopy.nn_send(req, b"new")
    rep = nn(nanopy.NN_REP)
    nanopy.nn_bind(rep, url)
    assert nanopy.nn_recv(rep) == b"new"
    nanopy.nn_setsockopt(rep, nanopy.NN_SOL_SOCKET, nanopy.NN_RCVTIMEO, 300)
    with pytest.raises(nanopy.Timeout):
        nanopy.nn_recv(rep)


def test_request_sent_before_rep_binds_is_delivered(nn, addr) -> None:
    url = addr()
    req = nn(nanopy.NN_REQ)
    nanopy.nn_setsockopt(req, nanopy.NN_SOL_SOCKET, nanopy.NN_RECONNECT_IVL, 20)
    nanopy.nn_connect(req, url)
    assert nanopy.nn_send(req, b"early") == 5  # never blocks, even with no peer
    rep = nn(nanopy.NN_REP)
    nanopy.nn_bind(rep, url)
    assert nanopy.nn_recv(rep) == b"early"
    nanopy.nn_send(rep, b"late-reply")
    assert nanopy.nn_recv(req) == b"late-reply"


def test_rep_closing_while_holding_request_hands_it_to_other_rep(nn, addr) -> None:
    url = addr()
    req = nn(nanopy.NN_REQ)
    nanopy.nn_bind(req, url)
    rep1 = nn(nanopy.NN_REP)
    nanopy.nn_connect(rep1, url)
    wait_connected(req, 1)
    nanopy.nn_send(req, b"job")
    assert nanopy.nn_recv(rep1) == b"job"
    rep2 = nn(nanopy.NN_REP)
    nanopy.nn_connect(rep2, url)
    wait_connected(req, 2)
    nanopy.nn_setsockopt(rep1, nanopy.NN_SOL_SOCKET, nanopy.NN_LINGER, 0)
    nanopy.nn_close(rep1)
    # The default resend interval is 60 s: receiving within 3 s means an immediate resend.
    nanopy.nn_setsockopt(rep2, nanopy.NN_SOL_SOCKET, nanopy.NN_RCVTIMEO, 3000)
    assert nanopy.nn_recv(rep2) == b"job"
    nanopy.nn_send(rep2, b"done")
    assert nanopy.nn_recv(req) == b"done"


def test_rep_recv_discards_held_request(nn, addr) -> None:
    url = addr()
    req1 = nn(nanopy.NN_REQ)
    req2 = nn(nanopy.NN_REQ)
    rep = nn(nanopy.NN_REP)
    nanopy.nn_bind(rep, url)
    nanopy.nn_connect(req1, url)
    nanopy.nn_connect(req2, url)
    wait_connected(rep, 2)
    nanopy.nn_setsockopt(req1, nanopy.NN_SOL_SOCKET, nanopy.NN_RCVTIMEO, 300)
    nanopy.nn_send(req1, b"a")
    assert nanopy.nn_recv(rep) == b"a"
    nanopy.nn_send(req2, b"b")
    assert nanopy.nn_recv(rep) == b"b"
    nanopy.nn_send(rep, b"for-b")
    assert nanopy.nn_recv(req2) == b"for-b"
    with pytest.raises(nanopy.Timeout):
        nanopy.nn_recv(req1)


def test_pythonic_req_rep(sock, addr) -> None:
    url = addr()
    rep = sock(nanopy.REP)
    req = sock(nanopy.REQ)
    rep.bind(url)
    req.connect(url)
    req.send(b"ping")
    assert rep.recv() == b"ping"
    rep.send(b"pong")
    assert req.recv() == b"pong"


# ---- NN_MAXTTL (tests/reqttl.c) ------------------------------------------------------------


def test_maxttl_defaults_to_8(nn) -> None:
    rep = nn(nanopy.NN_REP)
    assert nanopy.nn_getsockopt(rep, nanopy.NN_SOL_SOCKET, nanopy.NN_MAXTTL) == 8


@pytest.mark.parametrize("value", [-1, 0, 256])
def test_maxttl_out_of_range_is_einval(nn, value) -> None:
    rep = nn(nanopy.NN_REP)
    with pytest.raises(nanopy.NNError) as info:
        nanopy.nn_setsockopt(rep, nanopy.NN_SOL_SOCKET, nanopy.NN_MAXTTL, value)
    assert info.value.errno == nanopy.EINVAL
    assert nanopy.nn_getsockopt(rep, nanopy.NN_SOL_SOCKET, nanopy.NN_MAXTTL) == 8


def _device_chain(nn, addr, ttl):
    """REQ -> raw REP | device | raw REQ -> REP (final REP with NN_MAXTTL = ttl)."""
    front, back = addr(), addr()
    dev_rep = nn(nanopy.NN_REP, domain=nanopy.AF_SP_RAW)
    dev_req = nn(nanopy.NN_REQ, domain=nanopy.AF_SP_RAW)
    nanopy.nn_bind(dev_rep, front)
    nanopy.nn_bind(dev_req, back)
    rep = nn(nanopy.NN_REP)
    nanopy.nn_setsockopt(rep, nanopy.NN_SOL_SOCKET, nanopy.NN_MAXTTL, ttl)
    nanopy.nn_connect(rep, back)
    req = nn(nanopy.NN_REQ)
    nanopy.nn_connect(req, front)
    wait_connected(req)
    wait_connected(dev_req)
    thread = threading.Thread(target=_run_device, args=(dev_rep, dev_req), daemon=True)
    thread.start()
    return req, rep, (dev_rep, dev_req, thread)


def _run_device(s1, s2):
    try:
        nanopy.nn_device(s1, s2)
    except nanopy.NNError:
        pass


def _stop_device(dev):
    s1, s2, thread = dev
    for s in (s1, s2):
        nanopy.nn_setsockopt(s, nanopy.NN_SOL_SOCKET, nanopy.NN_LINGER, 0)
        nanopy.nn_close(s)
    thread.join(5)
    assert not thread.is_alive()


@pytest.mark.timeout(30)
def test_ttl_1_drops_request_after_one_device(nn, addr) -> None:
    req, rep, dev = _device_chain(nn, addr, 1)
    nanopy.nn_setsockopt(rep, nanopy.NN_SOL_SOCKET, nanopy.NN_RCVTIMEO, 300)
    nanopy.nn_send(req, b"hop")
    with pytest.raises(nanopy.Timeout):
        nanopy.nn_recv(rep)
    _stop_device(dev)


@pytest.mark.timeout(30)
def test_ttl_2_passes_one_device(nn, addr) -> None:
    req, rep, dev = _device_chain(nn, addr, 2)
    nanopy.nn_send(req, b"hop")
    assert nanopy.nn_recv(rep) == b"hop"
    nanopy.nn_send(rep, b"back")
    assert nanopy.nn_recv(req) == b"back"
    _stop_device(dev)


def test_req_recv_dontwait_while_request_outstanding_is_eagain(nn, addr) -> None:
    req, rep = _pair(nn, addr())
    nanopy.nn_send(req, b"q")
    with pytest.raises(nanopy.Again):
        nanopy.nn_recv(req, nanopy.NN_DONTWAIT)


def test_request_stays_outstanding_after_recv_timeout(nn, addr) -> None:
    req, rep = _pair(nn, addr())
    nanopy.nn_setsockopt(req, nanopy.NN_SOL_SOCKET, nanopy.NN_RCVTIMEO, 100)
    nanopy.nn_send(req, b"slow")
    with pytest.raises(nanopy.Timeout):
        nanopy.nn_recv(req)
    assert nanopy.nn_recv(rep) == b"slow"
    nanopy.nn_send(rep, b"finally")
    nanopy.nn_setsockopt(req, nanopy.NN_SOL_SOCKET, nanopy.NN_RCVTIMEO, 5000)
    assert nanopy.nn_recv(req) == b"finally"


def test_rep_reply_to_vanished_req_is_silently_dropped(nn, addr) -> None:
    req, rep = _pair(nn, addr())
    nanopy.nn_send(req, b"q")
    assert nanopy.nn_recv(rep) == b"q"
    nanopy.nn_setsockopt(req, nanopy.NN_SOL_SOCKET, nanopy.NN_LINGER, 0)
    nanopy.nn_close(req)
    import time

    deadline = time.monotonic() + 5
    while nanopy.nn_get_statistic(rep, nanopy.NN_STAT_CURRENT_CONNECTIONS) > 0:
        assert time.monotonic() < deadline
        time.sleep(0.005)
    assert nanopy.nn_send(rep, b"nobody-home") == 11


def test_req_resends_to_rep_that_appears_after_first_rep_died(nn, addr) -> None:
    url = addr()
    rep1 = nn(nanopy.NN_REP)
    nanopy.nn_bind(rep1, url)
    req = nn(nanopy.NN_REQ)
    nanopy.nn_setsockopt(req, nanopy.NN_SOL_SOCKET, nanopy.NN_RECONNECT_IVL, 20)
    nanopy.nn_connect(req, url)
    wait_connected(req)
    nanopy.nn_send(req, b"survivor")
    assert nanopy.nn_recv(rep1) == b"survivor"
    nanopy.nn_setsockopt(rep1, nanopy.NN_SOL_SOCKET, nanopy.NN_LINGER, 0)
    nanopy.nn_close(rep1)
    rep2 = nn(nanopy.NN_REP)
    nanopy.nn_bind(rep2, url)
    assert nanopy.nn_recv(rep2) == b"survivor"
    nanopy.nn_send(rep2, b"ok")
    assert nanopy.nn_recv(req) == b"ok"


def test_concurrent_raw_rep_server_threads(nn, addr) -> None:
    """A raw REP shared by worker threads answers many clients, each reply to its sender."""
    url = addr()
    xrep = nn(nanopy.NN_REP, domain=nanopy.AF_SP_RAW)
    nanopy.nn_bind(xrep, url)
    clients = [nn(nanopy.NN_REQ) for _ in range(4)]
    for c in clients:
        nanopy.nn_connect(c, url)
    wait_connected(xrep, 4)
    rounds = 50
    errors: list[BaseException] = []

    def worker(count: int) -> None:
        try:
            for _ in range(count):
                body, hdr = nanopy.nn_recvmsg(xrep)
                nanopy.nn_sendmsg(xrep, [b"re:" + body], control=hdr)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    workers = [threading.Thread(target=worker, args=(rounds * 2,)) for _ in range(2)]
    for w in workers:
        w.start()

    def client(i: int, c: int) -> None:
        try:
            for k in range(rounds):
                nanopy.nn_send(c, b"%d-%d" % (i, k))
                assert nanopy.nn_recv(c) == b"re:%d-%d" % (i, k)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=client, args=(i, c)) for i, c in enumerate(clients)]
    for t in threads:
        t.start()
    for t in threads + workers:
        t.join(30)
    assert not errors, errors


def _raw_rep_pair(nn, url):
    xrep = nn(nanopy.NN_REP, domain=nanopy.AF_SP_RAW)
    req = nn(nanopy.NN_REQ)
    nanopy.nn_bind(xrep, url)
    nanopy.nn_connect(req, url)
    wait_connected(req)
    wait_connected(xrep)
    return xrep, req


def test_duplicate_reply_is_not_delivered_twice(nn, addr) -> None:
    xrep, req = _raw_rep_pair(nn, addr())
    nanopy.nn_send(req, b"q")
    _, hdr = nanopy.nn_recvmsg(xrep)
    nanopy.nn_sendmsg(xrep, [b"first"], control=hdr)
    nanopy.nn_sendmsg(xrep, [b"duplicate"], control=hdr)
    import time

    time.sleep(0.2)  # makes it likely the duplicate arrives while the first reply is stored
    assert nanopy.nn_recv(req) == b"first"
    with pytest.raises(nanopy.StateError):
        nanopy.nn_recv(req)
    # The duplicate went before the next reply on the same connection: when the next reply
    # is the one received, the duplicate was seen and dropped, whatever the timing.
    nanopy.nn_send(req, b"q2")
    _, hdr2 = nanopy.nn_recvmsg(xrep)
    nanopy.nn_sendmsg(xrep, [b"second"], control=hdr2)
    assert nanopy.nn_recv(req) == b"second"


def test_duplicate_of_old_reply_is_dropped_during_next_request(nn, addr) -> None:
    xrep, req = _raw_rep_pair(nn, addr())
    nanopy.nn_send(req, b"q1")
    _, h1 = nanopy.nn_recvmsg(xrep)
    nanopy.nn_sendmsg(xrep, [b"a1"], control=h1)
    assert nanopy.nn_recv(req) == b"a1"
    nanopy.nn_send(req, b"q2")
    _, h2 = nanopy.nn_recvmsg(xrep)
    nanopy.nn_sendmsg(xrep, [b"a1-again"], control=h1)
    nanopy.nn_sendmsg(xrep, [b"a2"], control=h2)
    assert nanopy.nn_recv(req) == b"a2"


def test_req_drops_reply_shorter_than_4_bytes(nn, addr) -> None:
    xrep, req = _raw_rep_pair(nn, addr())
    nanopy.nn_send(req, b"q")
    _, hdr = nanopy.nn_recvmsg(xrep)
    nanopy.nn_sendmsg(xrep, [b"ab"], control=hdr[:4])  # wire body "ab": no request id
    nanopy.nn_sendmsg(xrep, [b"good"], control=hdr)
    assert nanopy.nn_recv(req) == b"good"


def test_req_drops_reply_whose_id_lacks_top_bit(nn, addr) -> None:
    xrep, req = _raw_rep_pair(nn, addr())
    nanopy.nn_send(req, b"q")
    _, hdr = nanopy.nn_recvmsg(xrep)
    bad = hdr[:4] + bytes([hdr[4] & 0x7F]) + hdr[5:8]
    nanopy.nn_sendmsg(xrep, [b"bad"], control=bad)
    nanopy.nn_sendmsg(xrep, [b"good"], control=hdr)
    assert nanopy.nn_recv(req) == b"good"


def test_raw_rep_behind_device_sees_three_word_header(nn, addr) -> None:
    front, back = addr(), addr()
    dev_rep = nn(nanopy.NN_REP, domain=nanopy.AF_SP_RAW)
    dev_req = nn(nanopy.NN_REQ, domain=nanopy.AF_SP_RAW)
    nanopy.nn_bind(dev_rep, front)
    nanopy.nn_bind(dev_req, back)
    server = nn(nanopy.NN_REP, domain=nanopy.AF_SP_RAW)
    nanopy.nn_connect(server, back)
    req = nn(nanopy.NN_REQ)
    nanopy.nn_connect(req, front)
    wait_connected(req)
    wait_connected(server)
    thread = threading.Thread(target=_run_device, args=(dev_rep, dev_req), daemon=True)
    thread.start()
    nanopy.nn_send(req, b"deep")
    body, hdr = nanopy.nn_recvmsg(server)
    assert body == b"deep" and len(hdr) == 12
    words = [int.from_bytes(hdr[i : i + 4], "big") for i in (0, 4, 8)]
    assert [w >> 31 for w in words] == [0, 0, 1]
    nanopy.nn_sendmsg(server, [b"up"], control=hdr)
    assert nanopy.nn_recv(req) == b"up"
    _stop_device((dev_rep, dev_req, thread))
