"""Several sockets of one process bound to one ws:// (or wss://) address with different paths.

The endpoints share one listening socket; each upgrade request goes to the endpoint bound to
its path (the root, ``ws://host:port`` or ``ws://host:port/``, serves every path nobody else
claims); an unclaimed path without a root is answered 404. Covered here: two and three sockets
of different protocols on one port through both APIs, ws and wss; 404 for an unknown path
while the others keep serving; EADDRINUSE for a path bound twice and for ws + wss on one
port; closing one endpoint leaves the others and frees its path; the last one frees the
port; binding port 0 and then the real port; path normalisation; the Host header; and the
pong and close replies inside TLS.
"""

from __future__ import annotations

import os
import socket
import ssl
import struct
import time
from contextlib import ExitStack
from typing import Callable, Optional

import pytest
from conftest import skip_or_fail
from tls_certs import Pki, make_pki

import nanopy

pytestmark = pytest.mark.timeout(60)

UPGRADE = (b"GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
           b"Sec-WebSocket-Protocol: %s.sp.nanomsg.org\r\n\r\n")


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


def tls_for(scheme: str, pki: Pki, server: bool) -> Optional[nanopy.TLSConfig]:
    if scheme != "wss":
        return None
    if server:
        return nanopy.TLSConfig(server=True, cert_file=pki.server_cert, key_file=pki.server_key)
    return nanopy.TLSConfig(server=False, ca_file=pki.ca)


def wait_until(cond: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.02)
    return cond()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def raw_upgrade(port: int, path: bytes, proto: bytes = b"pair", host: bytes = b"x",
                tls: Optional[ssl.SSLContext] = None) -> socket.socket:
    """A hand-made client: connect, send the upgrade request, return the socket."""
    raw = socket.create_connection(("127.0.0.1", port), timeout=5)
    if tls is not None:
        raw = tls.wrap_socket(raw, server_hostname="localhost")
    raw.sendall(UPGRADE % (path, host, proto))
    return raw


def read_head(raw: socket.socket) -> bytes:
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = raw.recv(1)
        if not chunk:
            break
        head += chunk
    return head


def read_exactly(raw: socket.socket, n: int) -> bytes:
    got = b""
    while len(got) < n:
        chunk = raw.recv(n - len(got))
        assert chunk, f"closed after {got!r}"
        got += chunk
    return got


def masked_frame(opcode: int, payload: bytes) -> bytes:
    mask = b"\x11\x22\x33\x44"
    body = bytes(c ^ mask[i % 4] for i, c in enumerate(payload))
    return bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + body


@pytest.mark.parametrize("scheme", ["ws", "wss"])
def test_three_sockets_share_a_port_socket_api(scheme, pki):
    """REP on /rep, PULL on /pull and PAIR on /pair: one port, each reached by its path."""
    port = free_port()
    base = f"{scheme}://localhost:{port}"
    srv = tls_for(scheme, pki, True)
    cli = tls_for(scheme, pki, False)
    with ExitStack() as stack:
        rep = stack.enter_context(nanopy.Socket(nanopy.REP, tls=srv, recv_timeout=5000))
        pull = stack.enter_context(nanopy.Socket(nanopy.PULL, tls=srv, recv_timeout=5000))
        pair = stack.enter_context(nanopy.Socket(nanopy.PAIR, tls=srv, recv_timeout=5000))
        eps = [rep.bind(base + "/rep"), pull.bind(base + "/pull"), pair.bind(base + "/pair")]
        assert {ep.port for ep in eps} == {port}
        req = stack.enter_context(nanopy.Socket(nanopy.REQ, tls=cli, recv_timeout=5000))
        push = stack.enter_context(nanopy.Socket(nanopy.PUSH, tls=cli, send_timeout=5000))
        peer = stack.enter_context(nanopy.Socket(nanopy.PAIR, tls=cli, recv_timeout=5000))
        req.connect(base + "/rep")
        push.connect(base + "/pull")
        peer.connect(base + "/pair")
        for i in range(20):
            req.send(b"q%d" % i)
            assert rep.recv() == b"q%d" % i
            rep.send(b"a%d" % i)
            assert req.recv() == b"a%d" % i
            push.send(b"p%d" % i)
            assert pull.recv() == b"p%d" % i
            peer.send(b"x%d" % i)
            assert pair.recv() == b"x%d" % i
            pair.send(b"y%d" % i)
            assert peer.recv() == b"y%d" % i


@pytest.mark.parametrize("scheme", ["ws", "wss"])
def test_two_sockets_share_a_port_nn_api(scheme, pki):
    """The same through nn_*: REP and PULL on two paths, the port taken from the first."""
    srv = nanopy.Socket(nanopy.REP, tls=tls_for(scheme, pki, True))
    pull = nanopy.Socket(nanopy.PULL, tls=tls_for(scheme, pki, True))
    req = nanopy.Socket(nanopy.REQ, tls=tls_for(scheme, pki, False))
    push = nanopy.Socket(nanopy.PUSH, tls=tls_for(scheme, pki, False))
    try:
        for s in (srv, pull, req):
            nanopy.nn_setsockopt(s.id, nanopy.NN_SOL_SOCKET, nanopy.NN_RCVTIMEO, 5000)
        first = srv.bind(f"{scheme}://127.0.0.1:0/a")
        port = first.port
        assert first.url == f"{scheme}://127.0.0.1:{port}/a"
        eid = nanopy.nn_bind(pull.id, f"{scheme}://127.0.0.1:{port}/b")
        assert eid >= 0
        nanopy.nn_connect(req.id, f"{scheme}://localhost:{port}/a")
        nanopy.nn_connect(push.id, f"{scheme}://localhost:{port}/b")
        nanopy.nn_send(req.id, b"to a")
        assert nanopy.nn_recv(srv.id) == b"to a"
        nanopy.nn_send(srv.id, b"from a")
        assert nanopy.nn_recv(req.id) == b"from a"
        nanopy.nn_send(push.id, b"to b")
        assert nanopy.nn_recv(pull.id) == b"to b"
    finally:
        for s in (srv, pull, req, push):
            s.close()


def test_unknown_path_gets_404_and_others_keep_serving():
    with nanopy.Socket(nanopy.PAIR, recv_timeout=5000) as a, \
         nanopy.Socket(nanopy.PULL, recv_timeout=5000) as b, \
         nanopy.Socket(nanopy.PAIR, recv_timeout=5000) as ca, \
         nanopy.Socket(nanopy.PUSH) as cb:
        port = a.bind("ws://127.0.0.1:0/a").port
        b.bind(f"ws://127.0.0.1:{port}/b")
        ca.connect(f"ws://127.0.0.1:{port}/a")
        ca.send(b"before")
        assert a.recv() == b"before"
        errors_before = sum(nanopy.nn_get_statistic(s.id, nanopy.NN_STAT_ACCEPT_ERRORS)
                            for s in (a, b))
        for path in (b"/nope", b"/a/b", b"/", b"/b-c"):
            raw = raw_upgrade(port, path)
            assert read_head(raw).startswith(b"HTTP/1.1 404"), path
            raw.settimeout(5)
            assert raw.recv(10) == b""  # closed after the answer
            raw.close()
        assert wait_until(lambda: sum(
            nanopy.nn_get_statistic(s.id, nanopy.NN_STAT_ACCEPT_ERRORS) for s in (a, b))
            >= errors_before + 4)
        ca.send(b"after")
        assert a.recv() == b"after"
        cb.connect(f"ws://127.0.0.1:{port}/b")
        cb.send(b"to b")
        assert b.recv() == b"to b"


def test_root_serves_unclaimed_paths():
    """A bind without a path keeps nanomsg's rule (every path) except those claimed."""
    with nanopy.Socket(nanopy.PAIR, recv_timeout=5000) as root, \
         nanopy.Socket(nanopy.PAIR, recv_timeout=5000) as x:
        port = root.bind("ws://127.0.0.1:0").port
        x.bind(f"ws://127.0.0.1:{port}/x")
        for path, expect in ((b"/anything", root), (b"/", root), (b"/x", x), (b"/x/", x),
                             (b"/x?q=1", x), (b"/%78", x), (b"/x/y", root)):
            raw = raw_upgrade(port, path)
            assert read_head(raw).startswith(b"HTTP/1.1 101"), path
            raw.sendall(masked_frame(2, b"via " + path))
            assert expect.recv() == b"via " + path
            raw.close()
            assert wait_until(lambda s=expect: nanopy.nn_get_statistic(
                s.id, nanopy.NN_STAT_CURRENT_CONNECTIONS) == 0)


def test_same_path_twice_is_eaddrinuse(pki):
    with nanopy.Socket(nanopy.PAIR) as a, nanopy.Socket(nanopy.PAIR) as b, \
         nanopy.Socket(nanopy.PAIR, tls=tls_for("wss", pki, True)) as c:
        port = a.bind("ws://127.0.0.1:0/same").port
        for again in (f"ws://127.0.0.1:{port}/same", f"ws://127.0.0.1:{port}/same/",
                      f"ws://127.0.0.1:{port}/same?v=2"):
            with pytest.raises(nanopy.NNError) as exc:
                b.bind(again)
            assert exc.value.errno == nanopy.EADDRINUSE
            assert "path /same is already bound" in str(exc.value)
        # The root, bound as no path or as "/", is one path too.
        a.bind(f"ws://127.0.0.1:{port}")
        with pytest.raises(nanopy.NNError) as exc:
            b.bind(f"ws://127.0.0.1:{port}/")
        assert exc.value.errno == nanopy.EADDRINUSE
        assert "root path" in str(exc.value)
        # ws and wss are different servers: they cannot share a port.
        with pytest.raises(nanopy.NNError) as exc:
            c.bind(f"wss://127.0.0.1:{port}/secure")
        assert exc.value.errno == nanopy.EADDRINUSE
        assert "ws:// and wss://" in str(exc.value)
        # A failed bind left nothing behind: b can still take a free path.
        b.bind(f"ws://127.0.0.1:{port}/other")
        # The other way round: ws where wss listens.
        wss_port = c.bind("wss://127.0.0.1:0/secure").port
        with pytest.raises(nanopy.NNError) as exc:
            b.bind(f"ws://127.0.0.1:{wss_port}/plain")
        assert exc.value.errno == nanopy.EADDRINUSE
        assert "already serves wss://" in str(exc.value)


def test_closing_one_endpoint_keeps_the_others_and_frees_its_path():
    with nanopy.Socket(nanopy.PAIR, recv_timeout=5000) as keep, \
         nanopy.Socket(nanopy.PAIR, recv_timeout=5000) as again, \
         nanopy.Socket(nanopy.PAIR, recv_timeout=5000) as peer:
        port = keep.bind("ws://127.0.0.1:0/keep").port
        gone = nanopy.Socket(nanopy.PAIR)
        gone.bind(f"ws://127.0.0.1:{port}/gone")
        peer.connect(f"ws://127.0.0.1:{port}/keep")
        peer.send(b"one")
        assert keep.recv() == b"one"
        gone.close()
        raw = raw_upgrade(port, b"/gone")
        assert read_head(raw).startswith(b"HTTP/1.1 404")
        raw.close()
        peer.send(b"two")
        assert keep.recv() == b"two"
        # nn_shutdown of one endpoint frees its path the same way.
        eid = nanopy.nn_bind(again.id, f"ws://127.0.0.1:{port}/gone")
        nanopy.nn_shutdown(again.id, eid)
        ep = again.bind(f"ws://127.0.0.1:{port}/gone")
        assert ep.port == port
        with nanopy.Socket(nanopy.PAIR) as dialer:
            dialer.connect(f"ws://127.0.0.1:{port}/gone")
            dialer.send(b"re-bound")
            assert again.recv() == b"re-bound"
        peer.send(b"three")
        assert keep.recv() == b"three"


@pytest.mark.parametrize("scheme", ["ws", "wss"])
def test_last_close_frees_the_port(scheme, pki):
    srv = tls_for(scheme, pki, True)
    a = nanopy.Socket(nanopy.PAIR, tls=srv)
    b = nanopy.Socket(nanopy.PULL, tls=srv)
    port = a.bind(f"{scheme}://127.0.0.1:0/a").port
    b.bind(f"{scheme}://127.0.0.1:{port}/b")
    a.close()
    with nanopy.Socket(nanopy.PAIR) as tcp:
        with pytest.raises(nanopy.NNError) as exc:
            tcp.bind(f"tcp://127.0.0.1:{port}")  # b still listens there
        assert exc.value.errno == nanopy.EADDRINUSE
    b.close()
    with nanopy.Socket(nanopy.PAIR, recv_timeout=5000) as tcp, \
         nanopy.Socket(nanopy.PAIR) as dialer:
        tcp.bind(f"tcp://127.0.0.1:{port}")
        dialer.connect(f"tcp://127.0.0.1:{port}")
        dialer.send(b"tcp now")
        assert tcp.recv() == b"tcp now"


def test_host_header_is_not_checked():
    """NNG compares Host with the bound host (names case-insensitively, any port); nanopy
    accepts every value, so whatever NNG lets through gets through here too."""
    with nanopy.Socket(nanopy.PAIR, recv_timeout=5000) as a:
        port = a.bind("ws://localhost:0/h").port
        for host in (b"localhost:%d" % port, b"LOCALHOST", b"localhost.", b"127.0.0.1:%d" % port,
                     b"example.invalid"):
            raw = raw_upgrade(port, b"/h", host=host)
            assert read_head(raw).startswith(b"HTTP/1.1 101"), host
            raw.sendall(masked_frame(2, host))
            assert a.recv() == host
            raw.close()
            assert wait_until(lambda: nanopy.nn_get_statistic(
                a.id, nanopy.NN_STAT_CURRENT_CONNECTIONS) == 0)
        with nanopy.Socket(nanopy.PAIR) as b:
            b.connect(f"ws://localhost:{port}/h")
            b.send(b"dialled localhost")
            assert a.recv() == b"dialled localhost"


def test_different_hosts_of_one_address_share_it():
    """localhost and 127.0.0.1 resolve to one address: one listener serves both binds."""
    with nanopy.Socket(nanopy.PAIR, recv_timeout=5000) as a, \
         nanopy.Socket(nanopy.PAIR, recv_timeout=5000) as b:
        port = a.bind("ws://127.0.0.1:0/by-ip").port
        first = socket.getaddrinfo("localhost", port, type=socket.SOCK_STREAM)[0][4][0]
        if first != "127.0.0.1":
            skip_or_fail(f"localhost resolves to {first} first here, not 127.0.0.1")
        b.bind(f"ws://localhost:{port}/by-name")
        for path, sock in (("/by-ip", a), ("/by-name", b)):
            with nanopy.Socket(nanopy.PAIR) as d:
                d.connect(f"ws://127.0.0.1:{port}{path}")
                d.send(path.encode())
                assert sock.recv() == path.encode()


@pytest.mark.parametrize("scheme", ["ws", "wss"])
def test_pong_and_close_replies(scheme, pki):
    """A ping gets its pong and a close gets its close, inside TLS as over plain ws."""
    with nanopy.Socket(nanopy.PAIR, tls=tls_for(scheme, pki, True), recv_timeout=5000) as a, \
         nanopy.Socket(nanopy.PULL, tls=tls_for(scheme, pki, True)) as other:
        port = a.bind(f"{scheme}://localhost:0/p").port
        other.bind(f"{scheme}://localhost:{port}/other")
        ctx = None
        if scheme == "wss":
            ctx = ssl.create_default_context(cafile=pki.ca)
        raw = raw_upgrade(port, b"/p", tls=ctx)
        raw.settimeout(5)
        assert read_head(raw).startswith(b"HTTP/1.1 101")
        raw.sendall(masked_frame(9, b"are you there"))
        assert read_exactly(raw, 2 + 13) == b"\x8a\x0dare you there"
        raw.sendall(masked_frame(2, b"data"))
        assert a.recv() == b"data"
        a.send(b"reply")
        assert read_exactly(raw, 7) == b"\x82\x05reply"
        raw.sendall(masked_frame(8, struct.pack(">H", 1000)))
        assert read_exactly(raw, 4) == b"\x88\x02" + struct.pack(">H", 1000)
        raw.close()


def test_fork_child_starts_a_fresh_registry():
    """A forked child forgets the parent's listeners: it binds and serves its own port."""
    if not hasattr(os, "fork"):
        pytest.fail("no fork on this platform")
    with nanopy.Socket(nanopy.PAIR) as parent_side:
        parent_side.bind("ws://127.0.0.1:0/parent")
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child reports through its exit status
            code = 1
            try:
                with nanopy.Socket(nanopy.PAIR, recv_timeout=5000) as a, \
                     nanopy.Socket(nanopy.PAIR, recv_timeout=5000) as b, \
                     nanopy.Socket(nanopy.PAIR) as d:
                    p = a.bind("ws://127.0.0.1:0/one").port
                    b.bind(f"ws://127.0.0.1:{p}/two")
                    d.connect(f"ws://127.0.0.1:{p}/two")
                    d.send(b"child")
                    code = 0 if b.recv() == b"child" else 2
            finally:
                os.write(w, bytes([code]))
                os._exit(code)
        os.close(w)
        status = os.read(r, 1)
        os.close(r)
        os.waitpid(pid, 0)
        assert status == b"\x00"


def test_threads_bind_and_close_paths_of_one_port_concurrently():
    """Binder threads race each other (every bind and close goes through the I/O thread,
    which also accepts and routes): each thread's path keeps working, the others' too."""
    import threading

    with nanopy.Socket(nanopy.PAIR) as anchor:
        port = anchor.bind("ws://127.0.0.1:0/anchor").port
        failures: list = []

        def worker(n: int) -> None:
            try:
                for round_ in range(8):
                    url = f"ws://127.0.0.1:{port}/t{n}"
                    with nanopy.Socket(nanopy.PAIR, recv_timeout=5000) as srv, \
                         nanopy.Socket(nanopy.PAIR) as cli:
                        srv.bind(url)
                        cli.connect(url)
                        cli.send(b"%d-%d" % (n, round_))
                        if srv.recv() != b"%d-%d" % (n, round_):
                            failures.append((n, round_, "wrong message"))
            except Exception as exc:  # reported below with the thread's number
                failures.append((n, repr(exc)))

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=50)
        assert not failures
        with nanopy.Socket(nanopy.PAIR, recv_timeout=5000) as check, \
             nanopy.Socket(nanopy.PAIR) as d:
            check.bind(f"ws://127.0.0.1:{port}/t0")  # freed by its last owner
            d.connect(f"ws://127.0.0.1:{port}/t0")
            d.send(b"still one port")
            assert check.recv() == b"still one port"
