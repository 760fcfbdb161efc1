"""Socket.monitor(): connection events queued in C, read with recv/iteration/asyncio, bounded
with an exact drop count, and Message.pipe naming the same connections."""

from __future__ import annotations

import asyncio
import os
import socket as pysocket
import struct
import subprocess
import sys
import textwrap
import threading
import time

import pytest

import nanopy

HANDSHAKE = b"\x00SP\x00" + struct.pack(">H", nanopy.PAIR) + b"\x00\x00"


def wait_until(condition, timeout: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.002)


def gone(sock: nanopy.Socket) -> int:
    """Connections of ``sock`` that have been detached (dropped + broken)."""
    return int(nanopy.nn_get_statistic(sock.id, nanopy.NN_STAT_DROPPED_CONNECTIONS)
               + nanopy.nn_get_statistic(sock.id, nanopy.NN_STAT_BROKEN_CONNECTIONS))


def sp_client(port: int, protocol_header: bytes = HANDSHAKE) -> pysocket.socket:
    """A plain TCP client that completes the SP handshake; returns it connected."""
    c = pysocket.create_connection(("127.0.0.1", port), timeout=5)
    c.sendall(protocol_header)
    got = b""
    while len(got) < 8:
        chunk = c.recv(8 - len(got))
        assert chunk, "server closed during the handshake"
        got += chunk
    return c


def test_exports() -> None:
    assert nanopy.Monitor.__name__ == "Monitor"
    assert nanopy.PipeEvent._fields == ("kind", "pipe", "address", "endpoint", "dropped")
    assert "Monitor" in nanopy.__all__ and "PipeEvent" in nanopy.__all__


@pytest.mark.parametrize("transport", ["tcp", "ipc", "inproc"])
def test_connect_disconnect_events_and_message_pipe(sock, transport, tmp_ipc_dir) -> None:
    server = sock(nanopy.PULL)
    with server.monitor() as mon:
        if transport == "tcp":
            ep = server.bind("tcp://127.0.0.1:0")
        elif transport == "ipc":
            ep = server.bind(f"ipc://{tmp_ipc_dir}/mon.ipc")
        else:
            ep = server.bind(f"inproc://mon-{os.getpid()}-{id(server)}")
        clients = [sock(nanopy.PUSH) for _ in range(3)]
        for c in clients:
            c.connect(ep.url)
        connected = [mon.recv(5000) for _ in clients]
        assert [e.kind for e in connected] == ["connected"] * 3
        assert all(e.endpoint == ep.id and e.dropped == 0 and e.pipe > 0 for e in connected)
        assert len({e.pipe for e in connected}) == 3
        if transport == "tcp":
            for e in connected:
                host, port = e.address.rsplit(":", 1)
                assert host == "tcp://127.0.0.1" and int(port) != ep.port
        else:
            assert {e.address for e in connected} == {ep.url}

        # Message.pipe names the connection the message came through.
        by_pipe = {}
        for i, c in enumerate(clients):
            c.send(b"from %d" % i)
            msg = server.recv_msg()
            assert bytes(msg) == b"from %d" % i
            by_pipe[i] = msg.pipe
        assert set(by_pipe.values()) == {e.pipe for e in connected}

        clients[1].close()
        ev = mon.recv(5000)
        assert (ev.kind, ev.pipe, ev.endpoint) == ("disconnected", by_pipe[1], ep.id)
        assert ev.address == [e for e in connected if e.pipe == by_pipe[1]][0].address


def test_recv_timeout_and_close_wakes_a_waiting_thread(sock) -> None:
    s = sock(nanopy.PAIR)
    mon = s.monitor()
    t0 = time.monotonic()
    with pytest.raises(nanopy.Timeout):
        mon.recv(timeout=50)
    assert time.monotonic() - t0 >= 0.045
    with pytest.raises(nanopy.Timeout):
        mon.recv(timeout=0)
    errors: list[BaseException] = []

    def reader() -> None:
        try:
            mon.recv()
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread
            errors.append(exc)

    t = threading.Thread(target=reader)
    t.start()
    time.sleep(0.05)
    mon.close()
    t.join(5)
    assert not t.is_alive()
    assert isinstance(errors[0], nanopy.BadSocket)
    assert list(mon) == []


def test_iteration_ends_when_the_socket_closes_after_the_queued_events(sock) -> None:
    server = nanopy.Socket(nanopy.PAIR)
    mon = server.monitor()
    ep = server.bind("tcp://127.0.0.1:0")
    c = sp_client(ep.port)
    wait_until(lambda: nanopy.nn_get_statistic(server.id, nanopy.NN_STAT_CURRENT_CONNECTIONS) == 1)
    server.close()
    c.close()
    kinds = [e.kind for e in mon]  # the queued events, then the end
    assert kinds == ["connected", "disconnected"]
    with pytest.raises(nanopy.BadSocket):
        mon.recv(0)
    with pytest.raises(nanopy.BadSocket):
        server.monitor()


def test_every_monitor_gets_every_event(sock) -> None:
    server = sock(nanopy.PAIR)
    a, b = server.monitor(), server.monitor()
    ep = server.bind("tcp://127.0.0.1:0")
    c = sp_client(ep.port)
    assert a.recv(5000) == b.recv(5000)
    a.close()
    c.close()
    assert b.recv(5000).kind == "disconnected"
    b.close()


def test_connect_failed_and_handshake_failed(sock, tmp_ipc_dir) -> None:
    dialer = sock(nanopy.PAIR, reconnect_interval=20)
    with dialer.monitor() as mon:
        missing = f"ipc://{tmp_ipc_dir}/nobody.ipc"
        ep = dialer.connect(missing)
        ev = mon.recv(5000)
        assert ev == nanopy.PipeEvent("connect_failed", 0, missing, ep.id, 0)
        ep.shutdown()

    # A REQ peer cannot talk to PAIR: both sides report the failed handshake.
    server = sock(nanopy.PAIR)
    wrong = sock(nanopy.REQ, reconnect_interval=1000)
    with server.monitor() as smon, wrong.monitor() as wmon:
        sep = server.bind("tcp://127.0.0.1:0")
        wep = wrong.connect(sep.url)
        sev, wev = smon.recv(5000), wmon.recv(5000)
        assert (sev.kind, sev.pipe, sev.endpoint) == ("handshake_failed", 0, sep.id)
        assert sev.address.startswith("tcp://127.0.0.1:")
        assert (wev.kind, wev.address, wev.endpoint) == ("handshake_failed", sep.url, wep.id)

    wrong.close()  # stop its redials: they would report more failed handshakes below

    # Something that is not an SP peer at all. A redial of the REQ may still have been in
    # flight when it closed, so events from other addresses are passed over (a few at most).
    with server.monitor() as smon:
        raw = pysocket.create_connection(("127.0.0.1", sep.port))
        raw_url = f"tcp://127.0.0.1:{raw.getsockname()[1]}"
        raw.sendall(b"GET / HTTP/1.0\r\n\r\n")
        seen = [smon.recv(5000) for _ in range(1)]
        while seen[-1].address != raw_url and len(seen) < 4:
            seen.append(smon.recv(5000))
        assert seen[-1].address == raw_url, seen
        assert seen[-1].kind == "handshake_failed"
        raw.close()


def test_accept_failed_when_out_of_descriptors(tmp_path) -> None:
    """accept() failing (EMFILE) is reported; run in a child whose descriptor limit is low."""
    script = textwrap.dedent("""
        import resource, socket, sys, nanopy
        s = nanopy.Socket(nanopy.PAIR)
        mon = s.monitor()
        ep = s.bind("tcp://127.0.0.1:0")
        clients = [socket.socket() for _ in range(2)]  # descriptors made before the limit
        fds = sorted(int(f) for f in __import__("os").listdir("/proc/self/fd"))
        resource.setrlimit(resource.RLIMIT_NOFILE, (fds[-1] + 3, fds[-1] + 3))
        hogs = []
        try:
            while True:
                hogs.append(open("/dev/null"))
        except OSError:
            pass
        for c in clients:
            c.connect(("127.0.0.1", ep.port))
        ev = mon.recv(5000)
        while ev.kind != "accept_failed":
            ev = mon.recv(5000)
        for h in hogs:
            h.close()
        print(ev.kind, ev.pipe, ev.endpoint == ep.id, ev.address == ep.url)
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["accept_failed", "0", "True", "True"]


def test_thousands_of_connections_under_load(sock) -> None:
    """Every connect and disconnect is reported, in order per pipe, while a reader thread
    consumes concurrently and data flows on a long-lived connection."""
    cycles = int(os.environ.get("NANOPY_MONITOR_CYCLES", "2000"))
    server = sock(nanopy.PAIR)
    mon = server.monitor(capacity=4 * cycles + 16)
    ep = server.bind("tcp://127.0.0.1:0")
    events: list[nanopy.PipeEvent] = []

    def reader() -> None:
        for ev in mon:
            events.append(ev)

    t = threading.Thread(target=reader)
    t.start()
    ports = []
    for _ in range(cycles):
        c = sp_client(ep.port)
        ports.append(c.getsockname()[1])
        c.close()
    wait_until(lambda: gone(server) == cycles, 30, "every disconnect")
    wait_until(lambda: len(events) == 2 * cycles, 30, "every event")
    mon.close()
    t.join(5)
    assert all(e.dropped == 0 for e in events)
    first_seen: dict[int, str] = {}
    for e in events:
        if e.kind == "connected":
            assert e.pipe not in first_seen
            first_seen[e.pipe] = e.address
        else:
            assert e.kind == "disconnected"
            assert first_seen.pop(e.pipe) == e.address
    assert not first_seen
    assert sorted(int(e.address.rsplit(":", 1)[1]) for e in events
                  if e.kind == "connected") == sorted(ports)


def test_slow_reader_loses_the_oldest_events_and_is_told_how_many(sock) -> None:
    cycles, capacity = 50, 8
    server = sock(nanopy.PAIR)
    mon = server.monitor(capacity=capacity)
    ep = server.bind("tcp://127.0.0.1:0")
    ports = []

    def one_connection() -> None:
        c = sp_client(ep.port)
        ports.append(c.getsockname()[1])
        wait_until(lambda: nanopy.nn_get_statistic(
            server.id, nanopy.NN_STAT_CURRENT_CONNECTIONS) == 1)
        c.close()
        done = len(ports)
        wait_until(lambda: gone(server) == done)

    for _ in range(cycles):
        one_connection()
    # 100 events happened; the monitor kept the newest 8: the last 4 connections.
    got = [mon.recv(0) for _ in range(capacity)]
    with pytest.raises(nanopy.Timeout):
        mon.recv(0)
    assert [e.dropped for e in got] == [2 * cycles - capacity] + [0] * (capacity - 1)
    assert [e.kind for e in got] == ["connected", "disconnected"] * (capacity // 2)
    assert [int(e.address.rsplit(":", 1)[1]) for e in got] == [
        p for p in ports[-capacity // 2:] for _ in range(2)]
    # Losses after a read are counted from that read on.
    for _ in range(3):
        one_connection()
    got = [mon.recv(0) for _ in range(capacity - 2)]  # 6 events, nothing lost
    assert [e.dropped for e in got] == [0] * 6
    mon.close()


def test_monitor_argument_checks(sock) -> None:
    s = sock(nanopy.PAIR)
    for bad in (0, -1, 1 << 30, "8", 2.5):
        with pytest.raises(nanopy.NNError) as info:
            s.monitor(capacity=bad)
        assert info.value.errno == nanopy.EINVAL


def test_asyncio_arecv_and_async_for(sock) -> None:
    server = sock(nanopy.PAIR)
    ep = server.bind("tcp://127.0.0.1:0")

    async def main() -> list[str]:
        mon = server.monitor()
        # A cancelled arecv takes nothing: the event is still there afterwards.
        waiter = asyncio.ensure_future(mon.arecv())
        await asyncio.sleep(0.02)
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        with pytest.raises(nanopy.Timeout):
            await mon.arecv(timeout=20)
        c = sp_client(ep.port)
        first = await asyncio.wait_for(mon.arecv(), 5)
        c.close()
        kinds = [first.kind]
        loop = asyncio.get_running_loop()
        loop.call_later(0.2, mon.close)
        async for ev in mon:
            kinds.append(ev.kind)
        return kinds

    assert asyncio.run(main()) == ["connected", "disconnected"]


def test_message_pipe_on_reqrep_and_raw(sock) -> None:
    rep = sock(nanopy.REP)
    with rep.monitor() as mon:
        ep = rep.bind("tcp://127.0.0.1:0")
        req = sock(nanopy.REQ)
        req.connect(ep.url)
        pipe = mon.recv(5000).pipe
        req.send(b"q")
        assert rep.recv_msg().pipe == pipe
        rep.send(b"a")
        reply = req.recv_msg()
        assert reply.pipe > 0 and bytes(reply) == b"a"
    assert nanopy.Message.pipe.__doc__


def test_trio_arecv(sock) -> None:
    import trio
    server = sock(nanopy.PAIR)
    ep = server.bind("tcp://127.0.0.1:0")
    mon = server.monitor()

    async def main() -> list[str]:
        with trio.move_on_after(0.05):  # cancelled: takes nothing
            await mon.arecv()
        c = sp_client(ep.port)
        kinds = [(await mon.arecv(timeout=5000)).kind]
        c.close()
        kinds.append((await mon.arecv(timeout=5000)).kind)
        return kinds

    assert trio.run(main) == ["connected", "disconnected"]
    mon.close()


@pytest.mark.parametrize("transport", ["tcp", "ipc"])
def test_bench_cells_run_and_lose_no_message(transport, tmp_path) -> None:
    """The bench module's cells (bench/monitor_bench.py), in a short form: every message of a
    PUSH process arrives at the PULL socket in every mode, with the monitor never read while
    another process connects and disconnects as fast as it can."""
    bench_dir = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                             "bench")
    sys.path.insert(0, bench_dir)
    try:
        import monitor_bench
    finally:
        sys.path.remove(bench_dir)
    for mode in monitor_bench.MODES:
        assert monitor_bench.measure(transport, 64, 5000, mode, str(tmp_path)) > 0


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_a_forked_child_cannot_use_the_parents_monitor(sock) -> None:
    s = sock(nanopy.PAIR)
    mon = s.monitor()
    ep = s.bind("tcp://127.0.0.1:0")
    pid = os.fork()
    if pid == 0:  # child: the inherited monitor refuses, and dropping it touches nothing
        code = 1
        try:
            mon.recv(0)
        except nanopy.BadSocket:
            code = 0
        except BaseException:  # noqa: BLE001 - any other outcome fails the test
            code = 2
        del mon
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    c = sp_client(ep.port)  # the parent's monitor still works
    assert mon.recv(5000).kind == "connected"
    c.close()
    mon.close()


@pytest.mark.parametrize("scheme", ["ws", "wss", "tls+tcp", "abstract"])
def test_events_and_message_pipe_over_other_transports(sock, tmp_path, scheme) -> None:
    from tls_certs import make_pki

    tls = {}
    if scheme in ("wss", "tls+tcp"):
        pki = make_pki(tmp_path)
        tls = {"server": nanopy.TLSConfig(server=True, cert_file=pki.server_cert,
                                          key_file=pki.server_key),
               "client": nanopy.TLSConfig(server=False, ca_file=pki.ca)}
    server = sock(nanopy.PULL, tls=tls["server"]) if tls else sock(nanopy.PULL)
    with server.monitor() as mon:
        if scheme == "abstract":
            ep = server.bind(f"abstract://nanopy-monitor-{os.getpid()}")
        else:
            path = "/m" if scheme.startswith("w") else ""
            ep = server.bind(f"{scheme}://localhost:0{path}")
            assert ep.port > 0 and ":0" not in ep.url
        client = sock(nanopy.PUSH, tls=tls["client"]) if tls else sock(nanopy.PUSH)
        client.connect(ep.url)
        ev = mon.recv(10000)
        assert (ev.kind, ev.endpoint) == ("connected", ep.id)
        if scheme == "abstract":
            assert ev.address == ep.url
        else:
            assert ev.address.startswith(f"{scheme}://127.0.0.1:")
        client.send(b"m")
        assert server.recv_msg().pipe == ev.pipe
        client.close()
        gone_ev = mon.recv(10000)
        assert (gone_ev.kind, gone_ev.pipe) == ("disconnected", ev.pipe)
    if tls:  # a client that does not trust the server: a failed handshake on both sides
        with server.monitor() as mon:
            untrusting = sock(nanopy.PUSH, tls=nanopy.TLSConfig(server=False),
                              reconnect_interval=1000)
            with untrusting.monitor() as cmon:
                untrusting.connect(ep.url)
                assert mon.recv(10000).kind == "handshake_failed"
                assert cmon.recv(10000).kind == "handshake_failed"
