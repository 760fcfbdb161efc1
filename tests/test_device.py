"""nn_device (forwarding both ways between raw sockets, loopback devices; nanomsg
tests/device.c, device4.c ... device7.c)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading

import pytest
from conftest import make_address, wait_connected

import nanopy


class DeviceThread:
    """Runs nn_device(s1, s2) in a daemon thread and records how it ended."""

    def __init__(self, s1: int, s2: int) -> None:
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(s1, s2), daemon=True)
        self.thread.start()

    def _run(self, s1: int, s2: int) -> None:
        try:
            nanopy.nn_device(s1, s2)
        except BaseException as exc:  # noqa: BLE001 - recorded for the test to inspect
            self.error = exc

    def stop(self, *socks: int) -> None:
        """Close the device's sockets; the device must end with EBADF."""
        for s in socks:
            nanopy.nn_setsockopt(s, nanopy.NN_SOL_SOCKET, nanopy.NN_LINGER, 0)
            nanopy.nn_close(s)
        self.thread.join(5)
        assert not self.thread.is_alive(), "device did not end when its socket closed"
        assert isinstance(self.error, nanopy.NNError), self.error
        assert self.error.errno == nanopy.EBADF


def _raw(nn, protocol):
    return nn(protocol, domain=nanopy.AF_SP_RAW)


# ---- argument checks ----------------------------------------------------------------------


def test_both_sockets_negative_is_ebadf() -> None:
    with pytest.raises(nanopy.NNError) as info:
        nanopy.nn_device(-1, -1)
    assert info.value.errno == nanopy.EBADF


def test_cooked_socket_is_einval(nn) -> None:
    a = _raw(nn, nanopy.NN_PAIR)
    b = nn(nanopy.NN_PAIR)
    with pytest.raises(nanopy.NNError) as info:
        nanopy.nn_device(a, b)
    assert info.value.errno == nanopy.EINVAL


def test_loopback_on_cooked_socket_is_einval(nn) -> None:
    b = nn(nanopy.NN_BUS)
    with pytest.raises(nanopy.NNError) as info:
        nanopy.nn_device(b, -1)
    assert info.value.errno == nanopy.EINVAL


def test_different_protocol_families_is_einval(nn) -> None:
    a = _raw(nn, nanopy.NN_REP)
    b = _raw(nn, nanopy.NN_PUSH)
    with pytest.raises(nanopy.NNError) as info:
        nanopy.nn_device(a, b)
    assert info.value.errno == nanopy.EINVAL


def test_two_pulls_is_einval(nn) -> None:
    a = _raw(nn, nanopy.NN_PULL)
    b = _raw(nn, nanopy.NN_PULL)
    with pytest.raises(nanopy.NNError) as info:
        nanopy.nn_device(a, b)
    assert info.value.errno == nanopy.EINVAL


def test_closed_socket_is_ebadf(nn) -> None:
    a = _raw(nn, nanopy.NN_PAIR)
    b = _raw(nn, nanopy.NN_PAIR)
    nanopy.nn_close(b)
    with pytest.raises(nanopy.NNError) as info:
        nanopy.nn_device(a, b)
    assert info.value.errno == nanopy.EBADF


# ---- forwarding (tests/device.c) ------------------------------------------------------------


def test_raw_pair_device_forwards_both_ways(nn, addr) -> None:
    a1, a2 = addr(), addr()
    d1, d2 = _raw(nn, nanopy.NN_PAIR), _raw(nn, nanopy.NN_PAIR)
    nanopy.nn_bind(d1, a1)
    nanopy.nn_bind(d2, a2)
    dev = DeviceThread(d1, d2)
    left, right = nn(nanopy.NN_PAIR), nn(nanopy.NN_PAIR)
    nanopy.nn_connect(left, a1)
    nanopy.nn_connect(right, a2)
    wait_connected(d1)
    wait_connected(d2)
    nanopy.nn_send(left, b"ABC")
    assert nanopy.nn_recv(right) == b"ABC"
    nanopy.nn_send(right, b"XYZ")
    assert nanopy.nn_recv(left) == b"XYZ"
    dev.stop(d1, d2)


def test_pull_to_push_one_way_device(nn, addr) -> None:
    a1, a2 = addr(), addr()
    pull, push = _raw(nn, nanopy.NN_PULL), _raw(nn, nanopy.NN_PUSH)
    nanopy.nn_bind(pull, a1)
    nanopy.nn_bind(push, a2)
    dev = DeviceThread(pull, push)
    src, dst = nn(nanopy.NN_PUSH), nn(nanopy.NN_PULL)
    nanopy.nn_connect(src, a1)
    nanopy.nn_connect(dst, a2)
    for i in range(20):
        nanopy.nn_send(src, b"%d" % i)
    assert [nanopy.nn_recv(dst) for _ in range(20)] == [b"%d" % i for i in range(20)]
    dev.stop(pull, push)


def test_push_pull_device_in_reversed_argument_order(nn, addr) -> None:
    a1, a2 = addr(), addr()
    pull, push = _raw(nn, nanopy.NN_PULL), _raw(nn, nanopy.NN_PUSH)
    nanopy.nn_bind(pull, a1)
    nanopy.nn_bind(push, a2)
    dev = DeviceThread(push, pull)
    src, dst = nn(nanopy.NN_PUSH), nn(nanopy.NN_PULL)
    nanopy.nn_connect(src, a1)
    nanopy.nn_connect(dst, a2)
    nanopy.nn_send(src, b"rev")
    assert nanopy.nn_recv(dst) == b"rev"
    dev.stop(pull, push)


def test_pub_sub_device_needs_raw_sub_subscription(nn, addr) -> None:
    a1, a2 = addr(), addr()
    xsub, xpub = _raw(nn, nanopy.NN_SUB), _raw(nn, nanopy.NN_PUB)
    nanopy.nn_setsockopt(xsub, nanopy.NN_SUB, nanopy.NN_SUB_SUBSCRIBE, b"")
    nanopy.nn_bind(xsub, a1)
    nanopy.nn_bind(xpub, a2)
    dev = DeviceThread(xsub, xpub)
    pub, sub = nn(nanopy.NN_PUB), nn(nanopy.NN_SUB)
    nanopy.nn_setsockopt(sub, nanopy.NN_SUB, nanopy.NN_SUB_SUBSCRIBE, b"")
    nanopy.nn_connect(pub, a1)
    nanopy.nn_connect(sub, a2)
    wait_connected(xsub)
    wait_connected(xpub)
    wait_connected(pub)
    wait_connected(sub)
    nanopy.nn_send(pub, b"news")
    assert nanopy.nn_recv(sub) == b"news"
    dev.stop(xsub, xpub)


def test_raw_bus_loopback_rebroadcasts_to_others_not_sender(nn, addr) -> None:
    url = addr()
    hub = _raw(nn, nanopy.NN_BUS)
    nanopy.nn_bind(hub, url)
    dev = DeviceThread(hub, -1)
    b1, b2 = nn(nanopy.NN_BUS), nn(nanopy.NN_BUS)
    nanopy.nn_connect(b1, url)
    nanopy.nn_connect(b2, url)
    wait_connected(hub, 2)
    wait_connected(b1)
    wait_connected(b2)
    nanopy.nn_send(b1, b"XYZ")
    assert nanopy.nn_recv(b2) == b"XYZ"
    nanopy.nn_setsockopt(b1, nanopy.NN_SOL_SOCKET, nanopy.NN_RCVTIMEO, 100)
    with pytest.raises(nanopy.Timeout):
        nanopy.nn_recv(b1)
    dev.stop(hub)


def test_pythonic_device_wrapper(sock, addr) -> None:
    a1, a2 = addr(), addr()
    d1 = sock(nanopy.PAIR, raw=True)
    d2 = sock(nanopy.PAIR, raw=True)
    d1.bind(a1)
    d2.bind(a2)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            nanopy.device(d1, d2)
        except nanopy.NNError as exc:
            errors.append(exc)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    left, right = sock(nanopy.PAIR), sock(nanopy.PAIR)
    left.connect(a1)
    right.connect(a2)
    left.send(b"via-socket")
    assert right.recv() == b"via-socket"
    d1.linger = 0
    d1.close()
    t.join(5)
    assert not t.is_alive()
    assert errors and errors[0].errno == nanopy.EBADF


# ---- REQ/REP and SURVEYOR/RESPONDENT through devices (device4 ... device7) ------------------


def _reqrep_chain(nn, urls):
    """REQ -> [raw REP | raw REQ] x len(urls)-1 -> REP; returns (req, rep, stops)."""
    stops = []
    req = nn(nanopy.NN_REQ)
    nanopy.nn_connect(req, urls[0])
    for front, back in zip(urls, urls[1:]):
        xrep, xreq = _raw(nn, nanopy.NN_REP), _raw(nn, nanopy.NN_REQ)
        nanopy.nn_bind(xrep, front)
        nanopy.nn_connect(xreq, back)
        stops.append((DeviceThread(xrep, xreq), xrep, xreq))
    rep = nn(nanopy.NN_REP)
    nanopy.nn_bind(rep, urls[-1])
    wait_connected(req)
    wait_connected(rep)
    return req, rep, stops


def _survey_chain(nn, urls):
    stops = []
    surveyor = nn(nanopy.NN_SURVEYOR)
    nanopy.nn_setsockopt(surveyor, nanopy.NN_SURVEYOR, nanopy.NN_SURVEYOR_DEADLINE, 3000)
    nanopy.nn_connect(surveyor, urls[0])
    for front, back in zip(urls, urls[1:]):
        xresp, xsurv = _raw(nn, nanopy.NN_RESPONDENT), _raw(nn, nanopy.NN_SURVEYOR)
        nanopy.nn_bind(xresp, front)
        nanopy.nn_connect(xsurv, back)
        stops.append((DeviceThread(xresp, xsurv), xresp, xsurv))
    resp = nn(nanopy.NN_RESPONDENT)
    nanopy.nn_bind(resp, urls[-1])
    wait_connected(surveyor)
    wait_connected(resp)
    for _dev, _front, back in stops:
        wait_connected(back)
    return surveyor, resp, stops


def _stop_all(stops):
    for dev, a, b in stops:
        dev.stop(a, b)


def _urls(kinds, tmp_ipc_dir):
    return [make_address(k, tmp_ipc_dir) for k in kinds]


CHAINS = {
    "one-device-tcp": ["tcp", "tcp"],  # device4
    "two-devices-tcp": ["tcp", "tcp", "tcp"],  # device5
    "two-devices-inproc-middle": ["tcp", "inproc", "tcp"],  # device7
    "one-device-inproc": ["inproc", "inproc"],
    "one-device-ipc": ["ipc", "ipc"],
}


@pytest.mark.timeout(30)
@pytest.mark.parametrize("kinds", list(CHAINS.values()), ids=list(CHAINS))
def test_reqrep_through_devices(nn, tmp_ipc_dir, kinds) -> None:
    req, rep, stops = _reqrep_chain(nn, _urls(kinds, tmp_ipc_dir))
    for i in range(3):
        nanopy.nn_send(req, b"ABC%d" % i)
        assert nanopy.nn_recv(rep) == b"ABC%d" % i
        nanopy.nn_send(rep, b"DEFGHIJ%d" % i)  # 8-byte reply as in device4.c
        assert nanopy.nn_recv(req) == b"DEFGHIJ%d" % i
    _stop_all(stops)


@pytest.mark.timeout(30)
@pytest.mark.parametrize("kinds", list(CHAINS.values()), ids=list(CHAINS))
def test_survey_through_devices(nn, tmp_ipc_dir, kinds) -> None:
    surveyor, resp, stops = _survey_chain(nn, _urls(kinds, tmp_ipc_dir))
    nanopy.nn_send(surveyor, b"XYZ")
    assert nanopy.nn_recv(resp) == b"XYZ"
    nanopy.nn_send(resp, b"DEF")
    assert nanopy.nn_recv(surveyor) == b"DEF"
    _stop_all(stops)


@pytest.mark.timeout(30)
def test_reqrep_device_keeps_concurrent_clients_apart(nn, tmp_ipc_dir) -> None:
    front, back = _urls(["tcp", "tcp"], tmp_ipc_dir)
    xrep, xreq = _raw(nn, nanopy.NN_REP), _raw(nn, nanopy.NN_REQ)
    nanopy.nn_bind(xrep, front)
    nanopy.nn_bind(xreq, back)
    dev = DeviceThread(xrep, xreq)
    rep = nn(nanopy.NN_REP)
    nanopy.nn_connect(rep, back)
    clients = [nn(nanopy.NN_REQ) for _ in range(3)]
    for c in clients:
        nanopy.nn_connect(c, front)
    wait_connected(xrep, 3)
    wait_connected(xreq)
    for i, c in enumerate(clients):
        nanopy.nn_send(c, b"client%d" % i)
    for _ in clients:
        body = nanopy.nn_recv(rep)
        nanopy.nn_send(rep, body + b"-ok")
    for i, c in enumerate(clients):
        assert nanopy.nn_recv(c) == b"client%d-ok" % i
    dev.stop(xrep, xreq)


# ---- nn_term (in a subprocess: it shuts the whole library down) ----------------------------

_TERM_SCRIPT = textwrap.dedent(
    """
    import threading, time, nanopy
    results = {}
    def run(name, s1, s2):
        try:
            nanopy.nn_device(s1, s2)
            results[name] = "returned"
        except nanopy.NNError as exc:
            results[name] = exc.errno
    pair1 = nanopy.nn_socket(nanopy.AF_SP_RAW, nanopy.NN_PAIR)
    pair2 = nanopy.nn_socket(nanopy.AF_SP_RAW, nanopy.NN_PAIR)
    pull = nanopy.nn_socket(nanopy.AF_SP_RAW, nanopy.NN_PULL)
    push = nanopy.nn_socket(nanopy.AF_SP_RAW, nanopy.NN_PUSH)
    bus = nanopy.nn_socket(nanopy.AF_SP_RAW, nanopy.NN_BUS)
    nanopy.nn_bind(pair1, "inproc://a"); nanopy.nn_bind(pair2, "inproc://b")
    nanopy.nn_bind(pull, "inproc://c"); nanopy.nn_bind(push, "inproc://d")
    nanopy.nn_bind(bus, "inproc://e")
    threads = [threading.Thread(target=run, args=a, daemon=True) for a in
               (("pair", pair1, pair2), ("pipeline", pull, push), ("bus", bus, -1))]
    for t in threads: t.start()
    time.sleep(0.3)
    nanopy.nn_term()
    for t in threads: t.join(5)
    alive = [t.is_alive() for t in threads]
    print(repr((results, alive)))
    """
)


@pytest.mark.timeout(60)
def test_nn_term_ends_every_device_with_eterm() -> None:
    out = subprocess.run(
        [sys.executable, "-c", _TERM_SCRIPT], capture_output=True, text=True, timeout=30
    )
    assert out.returncode == 0, out.stderr
    results, alive = eval(out.stdout.strip().splitlines()[-1])  # noqa: S307 - our own output
    assert alive == [False, False, False]
    eterm = nanopy.ETERM
    assert results == {"pair": eterm, "pipeline": eterm, "bus": eterm}


def _inproc_reqrep_chain(nn, devices, maxttl=None):
    urls = [f"inproc://ttl-chain-{id(nn)}-{devices}-{i}" for i in range(devices + 1)]
    req, rep, stops = None, None, []
    rep = nn(nanopy.NN_REP, timeout=500)
    if maxttl is not None:
        nanopy.nn_setsockopt(rep, nanopy.NN_SOL_SOCKET, nanopy.NN_MAXTTL, maxttl)
    nanopy.nn_bind(rep, urls[-1])
    for front, back in zip(urls, urls[1:]):
        xrep, xreq = _raw(nn, nanopy.NN_REP), _raw(nn, nanopy.NN_REQ)
        nanopy.nn_bind(xrep, front)
        nanopy.nn_connect(xreq, back)
        stops.append((DeviceThread(xrep, xreq), xrep, xreq))
    req = nn(nanopy.NN_REQ)
    nanopy.nn_connect(req, urls[0])
    return req, rep, stops


@pytest.mark.timeout(30)
def test_seven_devices_fit_default_maxttl(nn) -> None:
    req, rep, stops = _inproc_reqrep_chain(nn, 7)
    nanopy.nn_send(req, b"deep")
    assert nanopy.nn_recv(rep) == b"deep"
    nanopy.nn_send(rep, b"back")
    assert nanopy.nn_recv(req) == b"back"
    _stop_all(stops)


@pytest.mark.timeout(30)
def test_eight_devices_exceed_default_maxttl(nn) -> None:
    req, rep, stops = _inproc_reqrep_chain(nn, 8)
    nanopy.nn_send(req, b"too-deep")
    with pytest.raises(nanopy.Timeout):
        nanopy.nn_recv(rep)
    _stop_all(stops)


@pytest.mark.timeout(30)
def test_large_message_through_device(nn, tmp_ipc_dir) -> None:
    req, rep, stops = _reqrep_chain(nn, _urls(["tcp", "tcp"], tmp_ipc_dir))
    big = bytes(range(256)) * 4000  # ~1 MB, under the default NN_RCVMAXSIZE
    nanopy.nn_send(req, big)
    assert nanopy.nn_recv(rep) == big
    nanopy.nn_send(rep, big[::-1])
    assert nanopy.nn_recv(req) == big[::-1]
    _stop_all(stops)


@pytest.mark.timeout(60)
def test_pipeline_device_forwards_10k_in_order(nn, tmp_ipc_dir) -> None:
    a1, a2 = _urls(["tcp", "tcp"], tmp_ipc_dir)
    pull, push = _raw(nn, nanopy.NN_PULL), _raw(nn, nanopy.NN_PUSH)
    nanopy.nn_bind(pull, a1)
    nanopy.nn_bind(push, a2)
    dev = DeviceThread(pull, push)
    src, dst = nn(nanopy.NN_PUSH), nn(nanopy.NN_PULL)
    nanopy.nn_connect(src, a1)
    nanopy.nn_connect(dst, a2)
    wait_connected(src)
    wait_connected(dst)
    n = 10_000
    sender = threading.Thread(
        target=lambda: [nanopy.nn_send(src, b"%d" % i) for i in range(n)], daemon=True
    )
    sender.start()
    assert [nanopy.nn_recv(dst) for _ in range(n)] == [b"%d" % i for i in range(n)]
    sender.join(10)
    dev.stop(pull, push)


@pytest.mark.timeout(60)
def test_reqrep_device_under_concurrent_load_routes_every_reply(nn, tmp_ipc_dir) -> None:
    front, back = _urls(["tcp", "tcp"], tmp_ipc_dir)
    xrep, xreq = _raw(nn, nanopy.NN_REP), _raw(nn, nanopy.NN_REQ)
    nanopy.nn_bind(xrep, front)
    nanopy.nn_bind(xreq, back)
    dev = DeviceThread(xrep, xreq)
    servers = [nn(nanopy.NN_REP) for _ in range(2)]
    for s in servers:
        nanopy.nn_connect(s, back)
    clients = [nn(nanopy.NN_REQ) for _ in range(4)]
    for c in clients:
        nanopy.nn_connect(c, front)
    wait_connected(xrep, 4)
    wait_connected(xreq, 2)
    rounds = 300
    errors: list[BaseException] = []
    stop = threading.Event()

    def serve(s: int) -> None:
        nanopy.nn_setsockopt(s, nanopy.NN_SOL_SOCKET, nanopy.NN_RCVTIMEO, 200)
        while not stop.is_set():
            try:
                body = nanopy.nn_recv(s)
            except nanopy.Timeout:
                continue
            except nanopy.NNError as exc:
                errors.append(exc)
                return
            nanopy.nn_send(s, b"re:" + body)

    def client(i: int, c: int) -> None:
        try:
            for k in range(rounds):
                nanopy.nn_send(c, b"%d/%d" % (i, k))
                assert nanopy.nn_recv(c) == b"re:%d/%d" % (i, k)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    workers = [threading.Thread(target=serve, args=(s,), daemon=True) for s in servers]
    users = [threading.Thread(target=client, args=(i, c)) for i, c in enumerate(clients)]
    for t in workers + users:
        t.start()
    for t in users:
        t.join(40)
    stop.set()
    for t in workers:
        t.join(5)
    assert not errors, errors
    dev.stop(xrep, xreq)


def test_device_ends_with_ebadf_when_closed_during_traffic(nn, addr) -> None:
    a1, a2 = addr(), addr()
    pull, push = _raw(nn, nanopy.NN_PULL), _raw(nn, nanopy.NN_PUSH)
    nanopy.nn_bind(pull, a1)
    nanopy.nn_bind(push, a2)
    dev = DeviceThread(pull, push)
    src = nn(nanopy.NN_PUSH)
    dst = nn(nanopy.NN_PULL)
    nanopy.nn_connect(src, a1)
    nanopy.nn_connect(dst, a2)
    for i in range(200):
        nanopy.nn_send(src, b"%d" % i)
    assert nanopy.nn_recv(dst) == b"0"
    dev.stop(pull, push)
