"""tls+tcp://, wss://, ws:// and abstract:// between nanopy sockets, and what a hostile or
misconfigured peer gets.

Security cases (each: nothing is delivered, the failure is counted, other peers of the same
socket keep working while it happens):
  * a server whose certificate the client does not trust (signed by another CA);
  * a server whose certificate names another host;
  * a client without a certificate where the server requires one;
  * garbage bytes instead of a TLS ClientHello or an HTTP upgrade;
  * a handshake that stalls half-way (it is dropped after the handshake timeout).
Plus the API: TLSConfig checks, the EINVAL for a missing configuration, NN_WS_MSG_TYPE,
ws paths (404 for another path), URLs with port 0 and host names on bind.
"""

from __future__ import annotations

import socket
import time
from typing import Callable

import pytest
from tls_certs import Pki, make_pki

import nanopy

pytestmark = pytest.mark.timeout(60)

TLS_SCHEMES = ("tls+tcp", "wss")


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def url(scheme: str, port: int, host: str = "localhost") -> str:
    return f"{scheme}://{host}:{port}" + ("/sp" if scheme in ("ws", "wss") else "")


def server_cfg(pki: Pki, **kw) -> nanopy.TLSConfig:
    kw.setdefault("cert_file", pki.server_cert)
    kw.setdefault("key_file", pki.server_key)
    return nanopy.TLSConfig(server=True, **kw)


def client_cfg(pki: Pki, **kw) -> nanopy.TLSConfig:
    kw.setdefault("ca_file", pki.ca)
    return nanopy.TLSConfig(server=False, **kw)


def wait_until(cond: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.02)
    return cond()


def stat(sock: nanopy.Socket, which: int) -> int:
    return nanopy.nn_get_statistic(sock.id, which)


@pytest.mark.parametrize("scheme", ["tls+tcp", "wss", "ws", "abstract"])
@pytest.mark.parametrize("size", [0, 100, 70000, 1 << 20])
def test_round_trip_both_ways(scheme, size, pki):
    """PAIR both ways; 70000 and 1 MiB cross the 64 KiB WebSocket fragment size."""
    addr = (f"abstract://nanopy-test-{free_port()}" if scheme == "abstract"
            else url(scheme, free_port()))
    tls = scheme in TLS_SCHEMES
    with nanopy.Socket(nanopy.PAIR, tls=server_cfg(pki) if tls else None,
                       recv_timeout=5000, recv_max_size=-1) as a, \
         nanopy.Socket(nanopy.PAIR, tls=client_cfg(pki) if tls else None,
                       recv_timeout=5000, recv_max_size=-1) as b:
        a.bind(addr)
        b.connect(addr)
        data = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
        b.send(data)
        assert a.recv() == data
        a.send(data[::-1])
        assert b.recv() == data[::-1]


@pytest.mark.parametrize("scheme", ["tls+tcp", "wss"])
def test_reqrep_many(scheme, pki):
    """A burst of requests: records and frames cut at arbitrary points reassemble."""
    addr = url(scheme, free_port())
    with nanopy.Socket(nanopy.REP, tls=server_cfg(pki), recv_timeout=5000) as rep, \
         nanopy.Socket(nanopy.REQ, tls=client_cfg(pki), recv_timeout=5000) as req:
        rep.bind(addr)
        req.connect(addr)
        for i in range(200):
            req.send(b"q%d" % i * (i % 7 + 1))
            rep.send(rep.recv() + b"!")
            assert req.recv() == b"q%d" % i * (i % 7 + 1) + b"!"


def test_missing_config_is_einval(pki):
    for scheme in TLS_SCHEMES:
        with nanopy.Socket(nanopy.PAIR) as s:
            with pytest.raises(nanopy.NNError) as exc:
                s.bind(url(scheme, free_port()))
            assert exc.value.errno == nanopy.EINVAL
            assert "TLS" in str(exc.value)
            with pytest.raises(nanopy.NNError) as exc:
                nanopy.nn_connect(s.id, url(scheme, free_port()))
            assert exc.value.errno == nanopy.EINVAL
            assert "TLS configuration" in str(exc.value)


def test_config_role_and_files(pki, tmp_path):
    with pytest.raises(nanopy.NNError) as exc:
        nanopy.TLSConfig(server=True)
    assert exc.value.errno == nanopy.EINVAL
    with pytest.raises(nanopy.NNError):
        nanopy.TLSConfig(server=False, ca_file=str(tmp_path / "missing.pem"))
    with nanopy.Socket(nanopy.PAIR, tls=client_cfg(pki)) as s:
        with pytest.raises(nanopy.NNError) as exc:
            s.bind(url("tls+tcp", free_port()))
        assert exc.value.errno == nanopy.EINVAL
    # A key that is not the certificate's: refused when the endpoint starts.
    bad = nanopy.TLSConfig(server=True, cert_file=pki.server_cert, key_file=pki.client_key)
    with nanopy.Socket(nanopy.PAIR, tls=bad) as s:
        with pytest.raises(nanopy.NNError) as exc:
            s.bind(url("tls+tcp", free_port()))
        assert exc.value.errno == nanopy.EINVAL
        assert "key" in str(exc.value)
    assert client_cfg(pki) == client_cfg(pki)
    assert "ca_file" in repr(client_cfg(pki))


def _good_client_still_works(server: nanopy.Socket, addr: str, pki: Pki, tls: bool) -> None:
    with nanopy.Socket(nanopy.PAIR, tls=client_cfg(pki) if tls else None,
                       recv_timeout=5000) as good:
        good.connect(addr)
        good.send(b"still served")
        assert server.recv() == b"still served"


@pytest.mark.parametrize("scheme", TLS_SCHEMES)
@pytest.mark.parametrize("case", ["untrusted_ca", "wrong_host"])
def test_client_refuses_bad_server(scheme, case, pki):
    """The client never delivers from a server it cannot verify, and counts each attempt."""
    port = free_port()
    addr = url(scheme, port)
    cert, key = ((pki.rogue_cert, pki.rogue_key) if case == "untrusted_ca"
                 else (pki.other_cert, pki.other_key))
    with nanopy.Socket(nanopy.PAIR, tls=nanopy.TLSConfig(server=True, cert_file=cert,
                                                         key_file=key),
                       recv_timeout=300) as impostor, \
         nanopy.Socket(nanopy.PAIR, tls=client_cfg(pki), recv_timeout=300,
                       reconnect_interval=50) as client:
        impostor.bind(addr)
        client.connect(addr)
        assert wait_until(lambda: stat(client, nanopy.NN_STAT_CONNECT_ERRORS) >= 2)
        assert stat(client, nanopy.NN_STAT_CURRENT_CONNECTIONS) == 0
        with pytest.raises(nanopy.NNError):
            client.send(b"secret", block=False)
        with pytest.raises(nanopy.Timeout):
            impostor.recv()
        # The same client with verification off connects (and that is why it is not the
        # default): the impostor receives.
    with nanopy.Socket(nanopy.PAIR, tls=nanopy.TLSConfig(server=True, cert_file=cert,
                                                         key_file=key),
                       recv_timeout=5000) as impostor, \
         nanopy.Socket(nanopy.PAIR, tls=client_cfg(pki, verify=False)) as careless:
        impostor.bind(url(scheme, port))
        careless.connect(url(scheme, port))
        careless.send(b"exposed")
        assert impostor.recv() == b"exposed"


@pytest.mark.parametrize("scheme", TLS_SCHEMES)
def test_server_requires_client_certificate(scheme, pki):
    addr = url(scheme, free_port())
    with nanopy.Socket(nanopy.PAIR, tls=server_cfg(pki, ca_file=pki.ca),
                       recv_timeout=300) as server, \
         nanopy.Socket(nanopy.PAIR, tls=client_cfg(pki), reconnect_interval=50) as anon:
        server.bind(addr)
        anon.connect(addr)
        assert wait_until(lambda: stat(server, nanopy.NN_STAT_ACCEPT_ERRORS) >= 1)
        with pytest.raises(nanopy.Timeout):
            server.recv()
        server.recv_timeout = 5000
        with nanopy.Socket(nanopy.PAIR, tls=client_cfg(pki, cert_file=pki.client_cert,
                                                       key_file=pki.client_key),
                           recv_timeout=5000) as known:
            known.connect(addr)
            known.send(b"with certificate")
            anon.close()
            assert server.recv() == b"with certificate"


@pytest.mark.parametrize("scheme", ["tls+tcp", "wss", "ws"])
@pytest.mark.parametrize("attack", ["garbage", "stall"])
def test_hostile_handshake(scheme, attack, pki):
    """Junk or a stalled handshake: counted, dropped, and other clients are served meanwhile."""
    port = free_port()
    addr = url(scheme, port)
    tls = scheme in TLS_SCHEMES
    with nanopy.Socket(nanopy.PAIR, tls=server_cfg(pki) if tls else None,
                       recv_timeout=5000) as server:
        server.bind(addr)
        raw = socket.create_connection(("127.0.0.1", port))
        try:
            if attack == "garbage":
                junk = b"\x16\x03\x01\x00\x05hello" if tls else b"BREW /pot HTCPCP/1.0\r\n\r\n"
                raw.sendall(junk)
                raw.sendall(bytes(range(256)) * 8)
            else:
                raw.sendall(b"\x16\x03\x01" if tls else b"GET /sp HTTP/1.1\r\nHost: x")
            _good_client_still_works(server, addr, pki, tls)
            assert wait_until(lambda: stat(server, nanopy.NN_STAT_ACCEPT_ERRORS) >= 1)
            # The hostile connection is closed by the server (at once, or at the timeout).
            raw.settimeout(5)
            got = b""
            try:
                while True:
                    chunk = raw.recv(4096)
                    if not chunk:
                        break
                    got += chunk
            except ConnectionResetError:
                pass
            assert b"\x80\x00" not in got or not tls
        finally:
            raw.close()


def test_ws_path_routing_and_404():
    port = free_port()
    with nanopy.Socket(nanopy.PAIR, recv_timeout=5000) as a:
        a.bind(f"ws://127.0.0.1:{port}/here")
        raw = socket.create_connection(("127.0.0.1", port))
        raw.sendall(b"GET /elsewhere HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                    b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                    b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: pair.sp.nanomsg.org"
                    b"\r\n\r\n")
        raw.settimeout(5)
        assert raw.recv(100).startswith(b"HTTP/1.1 404")
        raw.close()
        with nanopy.Socket(nanopy.PAIR) as b:
            b.connect(f"ws://127.0.0.1:{port}/here")
            b.send(b"routed")
            assert a.recv() == b"routed"


def test_ws_upgrade_answer_and_text_frames():
    """The server's 101 names the subprotocol; NN_WS_MSG_TYPE=text sends opcode 1."""
    port = free_port()
    with nanopy.Socket(nanopy.PAIR, recv_timeout=5000) as a:
        nanopy.nn_setsockopt(a.id, nanopy.NN_WS, nanopy.NN_WS_MSG_TYPE,
                             nanopy.NN_WS_MSG_TYPE_TEXT)
        assert nanopy.nn_getsockopt(a.id, nanopy.NN_WS, nanopy.NN_WS_MSG_TYPE) == 1
        a.bind(f"ws://127.0.0.1:{port}")
        raw = socket.create_connection(("127.0.0.1", port))
        raw.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                    b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                    b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: pair.sp.nanomsg.org"
                    b"\r\n\r\n")
        raw.settimeout(5)
        head = b""
        while b"\r\n\r\n" not in head:
            head += raw.recv(1)
        assert head.startswith(b"HTTP/1.1 101")
        assert b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" in head
        assert b"pair.sp.nanomsg.org" in head
        assert wait_until(lambda: stat(a, nanopy.NN_STAT_CURRENT_CONNECTIONS) == 1)
        a.send(b"caf\xc3\xa9")
        frame = raw.recv(100)
        assert frame == b"\x81\x05caf\xc3\xa9"
        mask = b"\x01\x02\x03\x04"
        payload = bytes(c ^ mask[i % 4] for i, c in enumerate(b"from raw"))
        raw.sendall(b"\x82\x88" + mask + payload)
        assert a.recv() == b"from raw"
        raw.close()
    with nanopy.Socket(nanopy.PAIR) as s:
        with pytest.raises(nanopy.NNError) as exc:
            nanopy.nn_setsockopt(s.id, nanopy.NN_WS, nanopy.NN_WS_MSG_TYPE, 3)
        assert exc.value.errno == nanopy.EINVAL


def test_host_names_resolve_on_bind():
    port = free_port()
    with nanopy.Socket(nanopy.PAIR, recv_timeout=5000) as a, nanopy.Socket(nanopy.PAIR) as b:
        a.bind(f"ws://localhost:{port}/z")
        b.connect(f"ws://localhost:{port}/z")
        b.send(b"by name")
        assert a.recv() == b"by name"


def test_bad_urls():
    with nanopy.Socket(nanopy.PAIR) as s:
        for bad in ("ws://:80/x", "ws://h:99999/", "abstract://", "tls+tcp://h",
                    "ws://[::1/x"):
            with pytest.raises(nanopy.NNError) as exc:
                if bad.startswith("abstract"):
                    s.bind(bad)
                else:
                    nanopy.nn_connect(s.id, bad)
            assert exc.value.errno == nanopy.EINVAL, bad


def _nanopy_cmd(*args: str) -> list:
    import sys

    return [sys.executable, "-m", "nanopy", *args]


def test_cat_tls_flags_both_roles(pki):
    """nanopy cat with nngcat's TLS flags: a REP server with --cert/--key, a REQ client
    with --cacert; and --insecure (-k) against a certificate the client cannot verify."""
    import subprocess

    port = free_port()
    addr = f"tls+tcp://localhost:{port}"
    server = subprocess.Popen(_nanopy_cmd("cat", "--rep", "--bind", addr, "--cert",
                                          pki.server_cert, "--key", pki.server_key,
                                          "--data", "pong", "-A"),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        client = subprocess.run(_nanopy_cmd("cat", "--req", "--connect", addr, "--cacert",
                                            pki.ca, "--data", "ping", "-A",
                                            "--recv-timeout", "10"),
                                capture_output=True, timeout=60)
        assert client.stdout.strip() == b"pong", client.stderr
        insecure = subprocess.run(_nanopy_cmd("cat", "--req", "--connect", addr, "-k",
                                              "--data", "ping", "-A", "--recv-timeout", "10"),
                                  capture_output=True, timeout=60)
        assert insecure.stdout.strip() == b"pong", insecure.stderr
    finally:
        server.kill()
        server.wait(timeout=10)


@pytest.mark.parametrize("scheme", ["ws", "tls+tcp", "wss", "abstract"])
def test_perf_tools_take_the_new_schemes(scheme, pki):
    """nanopy perf local_thr/remote_thr over each new transport (TLS files from NANOPY_TLS_*)."""
    import os
    import subprocess

    addr = (f"abstract://nanopy-perf-{free_port()}" if scheme == "abstract"
            else url(scheme, free_port()))
    env = dict(os.environ, NANOPY_TLS_CERT=pki.server_cert, NANOPY_TLS_KEY=pki.server_key,
               NANOPY_TLS_CA=pki.ca)
    local = subprocess.Popen(_nanopy_cmd("perf", "local_thr", addr, "100", "200"), env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(0.5)
        remote = subprocess.run(_nanopy_cmd("perf", "remote_thr", addr, "100", "200"),
                                env=env, capture_output=True, text=True, timeout=60)
        assert remote.returncode == 0, remote.stderr
        out, err = local.communicate(timeout=60)
        assert "throughput" in out, err
    finally:
        if local.poll() is None:
            local.kill()
            local.wait(timeout=10)
