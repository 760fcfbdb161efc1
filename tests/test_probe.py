"""``nanopy probe``: what answers at an address, against nanopy, nanomsg (nanocat) and NNG
(nngcat, pynng) peers, against listeners that are not SP peers, and against nothing."""

from __future__ import annotations

import datetime
import ipaddress
import os
import shutil
import signal
import socket as pysocket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Callable, List

import pytest
from conftest import skip_or_fail

import nanopy
from nanopy import cli
from nanopy.probe import PROTOCOLS, describe_protocol, main, probe

ALL = [(name, number) for number, name in PROTOCOLS.items() if name != "PAIR1"]


def run_cli(args: List[str], capsys) -> tuple[int, str]:
    code = cli.main(["probe", *args])
    out = capsys.readouterr().out
    return code, out.strip()


# ---- nanopy peers ----------------------------------------------------------------------


@pytest.mark.parametrize("name,number", ALL)
def test_nanopy_peer_over_tcp(sock, capsys, name, number) -> None:
    s = sock(getattr(nanopy, name))
    url = s.bind("tcp://127.0.0.1:0").url
    code, line = run_cli([url], capsys)
    assert code == 0
    assert line == f"{url}: {describe_protocol(number)}"
    assert f"SP protocol {name} ({number}), compatible with " in line


def test_exact_line_for_rep(sock, capsys) -> None:
    url = sock(nanopy.REP).bind("tcp://127.0.0.1:0").url
    assert run_cli([url], capsys) == (0, f"{url}: SP protocol REP (49), compatible with REQ")


def test_nanopy_peer_over_ipc(sock, capsys, tmp_ipc_dir) -> None:
    url = f"ipc://{tmp_ipc_dir}/probe.ipc"
    sock(nanopy.SURVEYOR).bind(url)
    assert run_cli([url], capsys) == (
        0, f"{url}: SP protocol SURVEYOR (98), compatible with RESPONDENT")


def test_probe_does_not_become_a_connection(sock) -> None:
    """The probe only reads the peer's header: a PAIR socket stays free for its real peer."""
    s = sock(nanopy.PAIR)
    url = s.bind("tcp://127.0.0.1:0").url
    with s.monitor() as mon:
        assert probe(url).status == "sp"
        ev = mon.recv(5000)
        assert ev.kind == "handshake_failed"  # no pipe was ever attached
    peer = sock(nanopy.PAIR, connect=url)
    peer.send(b"still free")
    assert s.recv() == b"still free"


# ---- native peers ----------------------------------------------------------------------


def _unused_port() -> int:
    with pysocket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def native() -> Iterator[Callable[[Callable[[str], List[str]], str], str]]:
    """native(argv_for(url), scheme_template) -> url: start a native listener process; tcp
    ports are tried until one is free (native nanomsg cannot bind port 0)."""
    procs: list[subprocess.Popen] = []

    def start(argv_for: Callable[[str], List[str]], template: str) -> str:
        for _ in range(5):
            url = template.format(port=_unused_port())
            tool = argv_for(url)[0]
            if shutil.which(tool) is None:
                skip_or_fail(f"{tool} is not installed")
            proc = subprocess.Popen(argv_for(url), stdout=subprocess.DEVNULL,
                                    stderr=subprocess.PIPE)
            procs.append(proc)
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and proc.poll() is None:
                if probe(url, timeout=500).status != "refused":
                    return url
                time.sleep(0.02)
        raise AssertionError(f"could not start {argv_for(url)}")

    yield start
    for proc in procs:
        proc.kill()
        proc.wait()


@pytest.mark.parametrize("proto,number", [("rep", 49), ("pull", 81), ("sub", 33), ("bus", 112),
                                          ("pair", 16), ("respondent", 99)])
@pytest.mark.parametrize("transport", ["tcp", "ipc", "ws"])
def test_nanomsg_peer(native, tmp_ipc_dir, proto, number, transport) -> None:
    template = {"tcp": "tcp://127.0.0.1:{port}", "ipc": f"ipc://{tmp_ipc_dir}/nc-{proto}.ipc",
                "ws": "ws://127.0.0.1:{port}"}[transport]
    url = native(lambda u: ["nanocat", f"--{proto}", "--bind", u], template)
    result = probe(url)
    assert (result.status, result.protocol) == ("sp", number), result
    assert result.line() == f"{url}: {describe_protocol(number)}"


@pytest.mark.parametrize("proto,number", [("rep0", 49), ("pub0", 32), ("push0", 80),
                                          ("surveyor0", 98), ("pair1", 17)])
@pytest.mark.parametrize("transport", ["tcp", "ipc", "abstract", "ws"])
def test_nng_peer(native, tmp_ipc_dir, proto, number, transport) -> None:
    template = {"tcp": "tcp://127.0.0.1:{port}", "ipc": f"ipc://{tmp_ipc_dir}/ng-{proto}.ipc",
                "abstract": f"abstract://nanopy-probe-{os.getpid()}-{proto}",
                "ws": "ws://127.0.0.1:{port}/sp"}[transport]
    sends = proto in ("pub0", "push0", "surveyor0")
    extra = ["--data", "x", "--interval", "1"] if sends else []
    url = native(lambda u: ["nngcat", f"--{proto}", "--listen", u, *extra], template)
    result = probe(url)
    assert (result.status, result.protocol) == ("sp", number), result
    if number == 17:
        assert "PAIR1 (17), compatible with PAIR1" in result.line()


def _self_signed(tmp: Path) -> tuple[str, str, str]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    path = tmp / "ca.pem"
    path.write_text(cert_pem)
    return cert_pem, key_pem, str(path)


@pytest.mark.parametrize("scheme", ["tls+tcp", "wss"])
def test_tls_peer_with_pynng(tmp_path, capsys, scheme) -> None:
    import pynng
    cert_pem, key_pem, ca_file = _self_signed(tmp_path)
    cfg = pynng.TLSConfig(pynng.TLSConfig.MODE_SERVER, own_key_string=key_pem,
                          own_cert_string=cert_pem)
    with pynng.Rep0(tls_config=cfg) as server:
        path = "/x" if scheme == "wss" else ""
        listener = server.listen(f"{scheme}://localhost:0{path}")
        port = int(str(listener.local_address).rsplit(":", 1)[1])
        url = f"{scheme}://localhost:{port}{path}"
        code, line = run_cli([url], capsys)
        assert code == 1 and "certificate was not accepted" in line and "--cacert" in line
        assert run_cli([url, "--cacert", ca_file], capsys) == (
            0, f"{url}: SP protocol REP (49), compatible with REQ")
        assert run_cli([url, "--insecure"], capsys)[0] == 0
        assert run_cli([url, "-k"], capsys)[0] == 0
        # A TLS server dialled without TLS never sends an SP header.
        code, line = run_cli([f"tcp://127.0.0.1:{port}", "--timeout", "300"], capsys)
        assert code == 1 and "not an SP peer" in line


def test_pynng_peer_over_tcp_and_ws(capsys) -> None:
    import pynng
    with pynng.Respondent0() as server:
        tcp = server.listen("tcp://127.0.0.1:0")
        ws = server.listen("ws://127.0.0.1:0/sp")
        for listener, scheme, path in ((tcp, "tcp", ""), (ws, "ws", "/sp")):
            port = int(str(listener.local_address).rsplit(":", 1)[1])
            url = f"{scheme}://127.0.0.1:{port}{path}"
            assert run_cli([url], capsys) == (
                0, f"{url}: SP protocol RESPONDENT (99), compatible with SURVEYOR")


# ---- things that are not SP peers, and nothing -------------------------------------------


@pytest.fixture
def plain_server() -> Iterator[Callable[[Callable[[pysocket.socket], None]], int]]:
    """plain_server(handler) -> port: a TCP listener that runs handler(conn) per connection."""
    listeners: list[pysocket.socket] = []

    def start(handler: Callable[[pysocket.socket], None]) -> int:
        lst = pysocket.socket()
        lst.bind(("127.0.0.1", 0))
        lst.listen(16)
        listeners.append(lst)

        def serve() -> None:
            while True:
                try:
                    conn, _ = lst.accept()
                except OSError:
                    return
                with conn:
                    handler(conn)

        threading.Thread(target=serve, daemon=True).start()
        return int(lst.getsockname()[1])

    yield start
    for lst in listeners:
        lst.close()


def test_http_banner_is_not_an_sp_peer(plain_server, capsys) -> None:
    port = plain_server(lambda c: c.sendall(b"HTTP/1.0 200 OK\r\nServer: test\r\n\r\nhello"))
    code, line = run_cli([f"tcp://127.0.0.1:{port}"], capsys)
    assert code == 1
    # What arrived with the first eight bytes is shown too (the rest normally has).
    head = f"tcp://127.0.0.1:{port}: not an SP peer (it sent "
    assert line in (head + "'HTTP/1.0 200 OK..Server:'...)", head + "'HTTP/1.0')")


def test_silent_and_closing_listeners(plain_server) -> None:
    silent = plain_server(lambda c: time.sleep(0.5))
    closing = plain_server(lambda c: None)
    half = plain_server(lambda c: c.sendall(b"\x00SP"))
    r = probe(f"tcp://127.0.0.1:{silent}", timeout=200)
    assert (r.status, r.exit_code) == ("not_sp", 1) and "sent nothing in 200 ms" in r.detail
    r = probe(f"tcp://127.0.0.1:{closing}")
    assert r.status == "not_sp" and "closed the connection" in r.detail
    r = probe(f"tcp://127.0.0.1:{half}")
    assert r.status == "not_sp" and "incomplete SP header 00 53 50" in r.detail


def test_http_server_over_ws_is_not_an_sp_peer(plain_server) -> None:
    def http(conn: pysocket.socket) -> None:
        conn.recv(4096)
        conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")

    port = plain_server(http)
    r = probe(f"ws://127.0.0.1:{port}/")
    assert r.exit_code == 1
    assert "not an SP peer" in r.detail and "400 Bad Request" in r.detail


def test_nothing_there(capsys, tmp_ipc_dir) -> None:
    holder = pysocket.socket()
    holder.bind(("127.0.0.1", 0))  # bound, not listening: connections are refused
    port = holder.getsockname()[1]
    try:
        assert run_cli([f"tcp://127.0.0.1:{port}"], capsys) == (
            3, f"tcp://127.0.0.1:{port}: refused (nothing listens there)")
        assert run_cli([f"ws://127.0.0.1:{port}/x"], capsys)[0] == 3
    finally:
        holder.close()
    missing = f"ipc://{tmp_ipc_dir}/nobody.ipc"
    assert run_cli([missing], capsys) == (3, f"{missing}: refused (no such socket file)")
    code, line = run_cli([f"abstract://nanopy-nobody-{os.getpid()}"], capsys)
    assert code == 3 and "refused" in line
    # A documentation-only address: no route or no answer, either way nothing answered.
    code, line = run_cli(["tcp://192.0.2.1:5555", "--timeout", "200"], capsys)
    assert code == 3 and ("no answer" in line or "refused" in line)


@pytest.mark.parametrize("url,why", [
    ("inproc://x", "only inside one process"),
    ("tcp://127.0.0.1", "a port is required"),
    ("tcp://127.0.0.1:99999", "not in 1..65535"),
    ("tcp://*:5555", "a host to dial is required"),
    ("udp://127.0.0.1:5", "unknown scheme"),
    ("nonsense", "not a URL"),
])
def test_bad_addresses(capsys, url, why) -> None:
    assert main([url]) == 2
    err = capsys.readouterr().err
    assert url in err and why in err


def test_command_line_entry_points() -> None:
    s = nanopy.Socket(nanopy.PUSH)
    try:
        url = s.bind("tcp://127.0.0.1:0").url
        out = subprocess.run([sys.executable, "-m", "nanopy", "probe", url],
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 0
        assert out.stdout == f"{url}: SP protocol PUSH (80), compatible with PULL\n"
        out = subprocess.run([sys.executable, "-m", "nanopy", "--help"],
                             capture_output=True, text=True, timeout=60)
        assert "probe" in out.stdout
    finally:
        s.close()


def test_watch_prints_connection_events(tmp_ipc_dir) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "nanopy", "probe", "--watch", "tcp://127.0.0.1:0",
         "--protocol", "pull", "--count", "3"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        url, _, rest = first.partition(": ")
        assert rest.strip() == "listening as PULL (81)" and not url.endswith(":0")
        with nanopy.Socket(nanopy.PUSH, connect=url) as push:
            push.send(b"x")
            connected = proc.stdout.readline().split()
            push.linger = 0
        disconnected = proc.stdout.readline().split()
        with nanopy.Socket(nanopy.REQ, connect=url) as wrong:
            failed = proc.stdout.readline().split()
            del wrong
        assert proc.wait(30) == 0
    finally:
        proc.kill()
        proc.wait()
    assert connected[1] == "connected" and connected[2] == "pipe"
    assert connected[4].startswith("tcp://127.0.0.1:")
    assert disconnected[1:5] == ["disconnected", "pipe", connected[3], connected[4]]
    assert failed[1] == "handshake_failed"


def test_watch_ends_on_ctrl_c_without_a_traceback() -> None:
    proc = subprocess.Popen([sys.executable, "-m", "nanopy", "probe", "--watch",
                             "tcp://127.0.0.1:0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        assert "listening as PAIR (16)" in proc.stdout.readline()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == 130 and err == ""


@pytest.mark.parametrize("scheme", ["ws", "abstract", "tls+tcp", "wss"])
def test_nanopy_peer_over_other_transports(sock, tmp_path, capsys, scheme) -> None:
    from tls_certs import make_pki

    extra: list[str] = []
    if scheme in ("tls+tcp", "wss"):
        pki = make_pki(tmp_path)
        s = sock(nanopy.RESPONDENT, tls=nanopy.TLSConfig(
            server=True, cert_file=pki.server_cert, key_file=pki.server_key))
        extra = ["--cacert", pki.ca]
    else:
        s = sock(nanopy.RESPONDENT)
    if scheme == "abstract":
        url = s.bind(f"abstract://nanopy-probe-peer-{os.getpid()}").url
    else:
        url = s.bind(f"{scheme}://localhost:0{'/sp' if scheme.endswith('s') else ''}").url
    assert run_cli([url, *extra], capsys) == (
        0, f"{url}: SP protocol RESPONDENT (99), compatible with SURVEYOR")
