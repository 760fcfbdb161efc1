"""NN_WS_MSG_TYPE per message, as nanomsg has it.

A message may carry its own WebSocket message type, which wins over the socket's
NN_WS_MSG_TYPE for that message: through nn_sendmsg's control entries
``(NN_WS, NN_WS_MSG_TYPE, bytes([1 or 2]))``, ``Socket.sendmsg(..., ws_msg_type=)`` or a
``Message`` whose ``ws_msg_type`` is set. Every message received over ws or wss carries the
frame's opcode (``Message.ws_msg_type``, and nn_recvmsg's control entries). Other transports
ignore the property, as nanomsg's do. Bad entries raise EINVAL and send nothing.
"""

from __future__ import annotations

import asyncio
import socket
import sys
import time

import pytest
from tls_certs import Pki, make_pki

import nanopy
from nanopy import (
    NN_WS,
    NN_WS_MSG_TYPE,
    NN_WS_MSG_TYPE_BINARY,
    NN_WS_MSG_TYPE_TEXT,
    PROTO_SP,
    SP_HDR,
)

pytestmark = pytest.mark.timeout(60)

TEXT, BINARY = NN_WS_MSG_TYPE_TEXT, NN_WS_MSG_TYPE_BINARY
OTHER = {TEXT: BINARY, BINARY: TEXT}
# 70000 bytes cross the 64 KiB fragment size: the type is the first fragment's opcode.
SIZES = (5, 70000)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


def ws_pair(scheme: str, pki: Pki, server_type: int = BINARY, client_type: int = BINARY):
    """A bound and a connected PAIR over ws or wss, connected, with the given socket types."""
    tls = scheme == "wss"
    server = nanopy.Socket(
        nanopy.PAIR, recv_timeout=5000, recv_max_size=-1,
        tls=nanopy.TLSConfig(server=True, cert_file=pki.server_cert, key_file=pki.server_key)
        if tls else None)
    client = nanopy.Socket(
        nanopy.PAIR, recv_timeout=5000, recv_max_size=-1,
        tls=nanopy.TLSConfig(server=False, ca_file=pki.ca) if tls else None)
    server.setsockopt(NN_WS, NN_WS_MSG_TYPE, server_type)
    client.setsockopt(NN_WS, NN_WS_MSG_TYPE, client_type)
    ep = server.bind(f"{scheme}://localhost:0/t")
    client.connect(ep.url)
    wait_connected(server)
    wait_connected(client)
    return server, client


def wait_connected(sock: nanopy.Socket) -> None:
    deadline = time.monotonic() + 10
    while nanopy.nn_get_statistic(sock.id, nanopy.NN_STAT_CURRENT_CONNECTIONS) < 1:
        assert time.monotonic() < deadline, "no connection"
        time.sleep(0.01)


def payload(size: int, tag: bytes) -> bytes:
    """Valid UTF-8 (a text frame must be), distinct per message."""
    return (tag + b"-" + b"x" * size)[:max(size, len(tag) + 1)]


def send_with_type(api: str, sock: nanopy.Socket, data: bytes, ws_type: int) -> None:
    """Send one message with its own NN_WS_MSG_TYPE through one of the surfaces."""
    if api == "nn_sendmsg":
        nanopy.nn_sendmsg(sock.id, [data[:3], data[3:]],
                          [(NN_WS, NN_WS_MSG_TYPE, bytes([ws_type]))])
    elif api == "nn_send_message":
        nanopy.nn_send(sock.id, nanopy.Message(data, ws_msg_type=ws_type))
    elif api == "sendmsg":
        sock.sendmsg([data], ws_msg_type=ws_type)
    elif api == "send_message":
        sock.send(nanopy.Message(data, ws_msg_type=ws_type))
    elif api == "try_send":
        assert sock.try_send(nanopy.Message(data, ws_msg_type=ws_type)) == len(data)
    else:
        raise AssertionError(api)


def recv_type(api: str, sock: nanopy.Socket):
    """Receive one message: (body, its NN_WS_MSG_TYPE or None)."""
    if api.startswith("nn_"):
        control: list = []
        body, header = nanopy.nn_recvmsg(sock.id, 0, control)
        assert control[0] == (PROTO_SP, SP_HDR, header)
        ws = [c for c in control if c[:2] == (NN_WS, NN_WS_MSG_TYPE)]
        assert len(control) == 1 + len(ws) and len(ws) <= 1
        return body, (ws[0][2][0] if ws else None)
    msg = sock.recv_msg()
    return bytes(msg), msg.ws_msg_type


@pytest.mark.parametrize("scheme", ["ws", "wss"])
@pytest.mark.parametrize("api", ["nn_sendmsg", "nn_send_message", "sendmsg", "send_message",
                                 "try_send"])
@pytest.mark.parametrize("socket_type", [BINARY, TEXT])
def test_per_message_type_wins_over_the_socket_option(scheme, api, socket_type, pki):
    """Text on a binary socket and binary on a text socket, both directions (the client's
    frames are masked, the server's are not), small and fragmented; the messages around it
    keep the socket's type."""
    server, client = ws_pair(scheme, pki, socket_type, socket_type)
    with server, client:
        for sender, receiver in ((client, server), (server, client)):
            for size in SIZES:
                own = payload(size, b"own")
                send_with_type(api, sender, own, OTHER[socket_type])
                sender.send(payload(size, b"plain"))
                assert recv_type(api, receiver) == (own, OTHER[socket_type])
                assert recv_type(api, receiver) == (payload(size, b"plain"), socket_type)
                # Asking for the socket's own type explicitly changes nothing.
                send_with_type(api, sender, own, socket_type)
                assert recv_type(api, receiver) == (own, socket_type)


def raw_ws_client(port: int, path: bytes = b"/t") -> socket.socket:
    """A hand-made WebSocket client of a PAIR server: the upgrade, then raw frames."""
    raw = socket.create_connection(("127.0.0.1", port))
    raw.settimeout(5)
    raw.sendall(b"GET " + path + b" HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: pair.sp.nanomsg.org"
                b"\r\n\r\n")
    head = b""
    while b"\r\n\r\n" not in head:
        head += raw.recv(1)
    assert head.startswith(b"HTTP/1.1 101")
    return raw


def masked_frame(first_byte: int, data: bytes) -> bytes:
    mask = b"\x11\x22\x33\x44"
    assert len(data) < 126
    return (bytes([first_byte, 0x80 | len(data)]) + mask
            + bytes(c ^ mask[i % 4] for i, c in enumerate(data)))


def read_exact(raw: socket.socket, n: int) -> bytes:
    out = b""
    while len(out) < n:
        chunk = raw.recv(n - len(out))
        assert chunk, "connection closed"
        out += chunk
    return out


@pytest.mark.parametrize("socket_type", [BINARY, TEXT])
def test_opcode_on_the_wire_both_ways(socket_type):
    """What a hand-made peer sees and sends: the frame's first byte carries the per-message
    type (FIN + opcode 1 or 2), and each received frame's opcode is reported."""
    with nanopy.Socket(nanopy.PAIR, recv_timeout=5000) as server:
        server.setsockopt(NN_WS, NN_WS_MSG_TYPE, socket_type)
        port = server.bind("ws://127.0.0.1:0/t").port
        raw = raw_ws_client(port)
        try:
            wait_connected(server)
            server.send(b"default")
            server.send(nanopy.Message(b"own", ws_msg_type=OTHER[socket_type]))
            nanopy.nn_sendmsg(server.id, [b"ctl"], [(NN_WS, NN_WS_MSG_TYPE, OTHER[socket_type])])
            assert read_exact(raw, 9) == bytes([0x80 | socket_type, 7]) + b"default"
            assert read_exact(raw, 5) == bytes([0x80 | OTHER[socket_type], 3]) + b"own"
            assert read_exact(raw, 5) == bytes([0x80 | OTHER[socket_type], 3]) + b"ctl"
            # A fragmented text message: the first fragment's opcode names it.
            raw.sendall(masked_frame(0x01, b"frag") + masked_frame(0x80, b"ment"))
            raw.sendall(masked_frame(0x82, b"bin"))
            raw.sendall(masked_frame(0x81, b"txt"))
            got = [server.recv_msg() for _ in range(3)]
            assert [(bytes(m), m.ws_msg_type) for m in got] == [
                (b"fragment", TEXT), (b"bin", BINARY), (b"txt", TEXT)]
            # An echo keeps the type the message came with.
            for m in got:
                server.send(m)
            assert read_exact(raw, 10) == b"\x81\x08fragment"
            assert read_exact(raw, 5) == b"\x82\x03bin"
            assert read_exact(raw, 5) == b"\x81\x03txt"
        finally:
            raw.close()


BAD_CONTROL = [
    ([(NN_WS, NN_WS_MSG_TYPE, b"\x03")], "not 3"),
    ([(NN_WS, NN_WS_MSG_TYPE, b"\x00")], "not 0"),
    ([(NN_WS, NN_WS_MSG_TYPE, 0x81)], "not 129"),
    ([(NN_WS, NN_WS_MSG_TYPE, b"")], "got 0 bytes"),
    ([(NN_WS, NN_WS_MSG_TYPE, b"\x01\x00")], "got 2 bytes"),
    ([(NN_WS, NN_WS_MSG_TYPE, "1")], "must be one byte"),
    ([(NN_WS, NN_WS_MSG_TYPE, True)], "must be one byte"),
    ([(NN_WS, 2, b"\x01")], "unknown control entry"),
    ([(-5, NN_WS_MSG_TYPE, b"\x01")], "unknown control entry"),
    ([(PROTO_SP, 7, b"")], "unknown control entry"),
    ([(NN_WS, NN_WS_MSG_TYPE, b"\x01"), (NN_WS, NN_WS_MSG_TYPE, b"\x02")], "two (NN_WS"),
    ([(PROTO_SP, SP_HDR, b""), (PROTO_SP, SP_HDR, b"")], "two (PROTO_SP"),
    ([(PROTO_SP, SP_HDR, 5)], "bytes-like"),
    ([(NN_WS, NN_WS_MSG_TYPE)], "not a (level, type, data) triple"),
    ([5], "not a (level, type, data) triple"),
]


@pytest.mark.parametrize("control,why", BAD_CONTROL, ids=[w for _, w in BAD_CONTROL])
def test_bad_control_entries_are_einval_and_lose_nothing(control, why, pki):
    server, client = ws_pair("ws", pki)
    with server, client:
        with pytest.raises(nanopy.NNError) as exc:
            nanopy.nn_sendmsg(client.id, [b"never"], control)
        assert exc.value.errno == nanopy.EINVAL
        assert why in str(exc.value)
        assert nanopy.nn_get_statistic(client.id, nanopy.NN_STAT_MESSAGES_SENT) == 0
        nanopy.nn_sendmsg(client.id, [b"after"], [(NN_WS, NN_WS_MSG_TYPE, b"\x01")])
        msg = server.recv_msg()
        assert (bytes(msg), msg.ws_msg_type) == (b"after", TEXT)


def test_bad_values_on_the_pythonic_side(pki):
    server, client = ws_pair("ws", pki)
    with server, client:
        for bad in (0, 3, 255, -1, "text", 1.0, True):
            with pytest.raises(nanopy.NNError) as exc:
                client.sendmsg([b"never"], ws_msg_type=bad)
            assert exc.value.errno == nanopy.EINVAL
            assert "NN_WS_MSG_TYPE must be NN_WS_MSG_TYPE_TEXT (1)" in str(exc.value)
            with pytest.raises(nanopy.NNError):
                nanopy.Message(b"never", ws_msg_type=bad)
        msg = nanopy.Message(b"kept", ws_msg_type=TEXT)
        with pytest.raises(nanopy.NNError):
            msg.ws_msg_type = 7
        assert msg.ws_msg_type == TEXT  # a refused value changes nothing
        msg.ws_msg_type = None
        assert msg.ws_msg_type is None
        msg.ws_msg_type = BINARY
        client.send(msg)
        got = server.recv_msg()
        assert (bytes(got), got.ws_msg_type) == (b"kept", BINARY)
        assert nanopy.nn_get_statistic(client.id, nanopy.NN_STAT_MESSAGES_SENT) == 1


def test_control_shapes():
    """control stays bytes-like for the SP header (as before); a string is no control data;
    nn_recvmsg checks its control list before it takes a message."""
    with nanopy.Socket(nanopy.PAIR, recv_timeout=2000) as a, nanopy.Socket(nanopy.PAIR) as b:
        a.bind("inproc://ws-msg-type-shapes")
        b.connect("inproc://ws-msg-type-shapes")
        with pytest.raises(TypeError):
            nanopy.nn_sendmsg(b.id, [b"x"], "abc")
        with pytest.raises(TypeError):
            nanopy.nn_sendmsg(b.id, [b"x"], 5)
        nanopy.nn_sendmsg(b.id, [b"empty"], b"")     # the old form: an (empty) header
        nanopy.nn_sendmsg(b.id, [b"none"], [])       # no entries at all
        nanopy.nn_sendmsg(b.id, [b"tuple"], ((PROTO_SP, SP_HDR, b""),))
        with pytest.raises(TypeError):
            nanopy.nn_recvmsg(a.id, 0, ())
        assert nanopy.nn_recvmsg(a.id) == (b"empty", b"")
        control = ["stale"]
        assert nanopy.nn_recvmsg(a.id, 0, control) == (b"none", b"")
        assert control == [(PROTO_SP, SP_HDR, b"")]
        assert nanopy.nn_recv(a.id) == b"tuple"


@pytest.mark.parametrize("transport", ["inproc", "ipc", "tcp", "abstract", "tls+tcp"])
def test_other_transports_ignore_the_property(transport, tmp_path, pki):
    """As nanomsg's tcp, ipc and inproc: the property is accepted, the message is delivered
    unchanged, and what arrives carries no WebSocket type."""
    address = {"inproc": f"inproc://ws-type-{id(tmp_path)}",
               "ipc": f"ipc://{tmp_path}/s", "tcp": "tcp://127.0.0.1:0",
               "abstract": f"abstract://nanopy-ws-type-{id(tmp_path)}",
               "tls+tcp": "tls+tcp://localhost:0"}[transport]
    tls = transport == "tls+tcp"
    with nanopy.Socket(nanopy.PAIR, recv_timeout=5000, tls=nanopy.TLSConfig(
            server=True, cert_file=pki.server_cert, key_file=pki.server_key) if tls else None
    ) as a, nanopy.Socket(nanopy.PAIR, recv_timeout=5000, tls=nanopy.TLSConfig(
            server=False, ca_file=pki.ca) if tls else None) as b:
        b.connect(a.bind(address).url)
        nanopy.nn_sendmsg(b.id, [b"ctl"], [(NN_WS, NN_WS_MSG_TYPE, bytes([TEXT]))])
        b.send(nanopy.Message(b"msg", ws_msg_type=TEXT))
        b.sendmsg([b"kw"], ws_msg_type=BINARY)
        control: list = []
        assert nanopy.nn_recvmsg(a.id, 0, control) == (b"ctl", b"")
        assert control == [(PROTO_SP, SP_HDR, b"")]
        for body in (b"msg", b"kw"):
            msg = a.recv_msg()
            assert (bytes(msg), msg.ws_msg_type) == (body, None)


def test_raw_reply_with_header_and_type_entries():
    """A raw REP answers with nanomsg-style entries: the SP header it received (its control
    list passed back as is, as a device does) plus a message type. Both sockets default to
    text, which REQ/REP cannot use (their binary SP header is no UTF-8, so a text frame
    carrying it fails the connection): per-message binary is what makes them work."""
    with nanopy.Socket(nanopy.REP, raw=True, recv_timeout=5000) as rep, \
         nanopy.Socket(nanopy.REQ, recv_timeout=5000) as req:
        rep.setsockopt(NN_WS, NN_WS_MSG_TYPE, TEXT)
        req.setsockopt(NN_WS, NN_WS_MSG_TYPE, TEXT)
        req.connect(rep.bind("ws://127.0.0.1:0/rr").url)
        req.send(nanopy.Message(b"question", ws_msg_type=BINARY))
        control: list = []
        body, header = nanopy.nn_recvmsg(rep.id, 0, control)
        assert body == b"question" and len(header) == 8
        assert control == [(PROTO_SP, SP_HDR, header), (NN_WS, NN_WS_MSG_TYPE, b"\x02")]
        nanopy.nn_sendmsg(rep.id, [b"same type back"], control)
        msg = req.recv_msg()
        assert (bytes(msg), msg.ws_msg_type) == (b"same type back", BINARY)
        req.sendmsg([b"again"], ws_msg_type=BINARY)
        body, header = nanopy.nn_recvmsg(rep.id)
        nanopy.nn_sendmsg(rep.id, [b"in the other order"],
                          [(NN_WS, NN_WS_MSG_TYPE, b"\x02"), (PROTO_SP, SP_HDR, header)])
        msg = req.recv_msg()
        assert (bytes(msg), msg.ws_msg_type) == (b"in the other order", BINARY)


def test_cooked_socket_refuses_a_header_entry_but_takes_a_type():
    with nanopy.Socket(nanopy.PAIR) as s:
        with pytest.raises(nanopy.NNError) as exc:
            nanopy.nn_sendmsg(s.id, [b"x"], [(PROTO_SP, SP_HDR, b"\x80\x00\x00\x01")])
        assert exc.value.errno == nanopy.EINVAL


def test_context_and_async_sends_honour_the_message_type():
    """Contexts and asend take a Message's type too (binary on text sockets here: REQ/REP
    headers are no UTF-8, so only the per-message type lets these messages through)."""
    with nanopy.Socket(nanopy.REP, recv_timeout=5000) as rep, \
         nanopy.Socket(nanopy.REQ, recv_timeout=5000) as req:
        rep.setsockopt(NN_WS, NN_WS_MSG_TYPE, TEXT)
        req.setsockopt(NN_WS, NN_WS_MSG_TYPE, TEXT)
        req.connect(rep.bind("ws://127.0.0.1:0/ctx").url)
        ctx = req.context()
        ctx.send(nanopy.Message(b"from a context", ws_msg_type=BINARY))
        msg = rep.recv_msg()
        assert (bytes(msg), msg.ws_msg_type) == (b"from a context", BINARY)

        async def reply() -> None:
            await rep.asend(nanopy.Message(b"async reply", ws_msg_type=BINARY))

        asyncio.run(reply())
        assert ctx.recv() == b"async reply"


def test_message_object_gives_its_body_back():
    """A bytes body is lent, not copied, and its reference goes with the message."""
    body = b"b" * 100_000
    before = sys.getrefcount(body)
    for _ in range(1000):
        nanopy.Message(body, ws_msg_type=TEXT)
    msg = nanopy.Message(body)
    assert sys.getrefcount(body) == before + 1
    msg.__init__(b"replaced")
    assert sys.getrefcount(body) == before
    del msg
    assert sys.getrefcount(body) == before


def test_message_object():
    """Message(data, ws_msg_type=) builds a message to send; its body is a buffer."""
    msg = nanopy.Message(bytearray(b"body"), ws_msg_type=TEXT)
    assert bytes(msg) == b"body" and len(msg) == 4 and msg.header == b""
    assert memoryview(msg).tobytes() == b"body"
    assert msg.ws_msg_type == TEXT and msg.pipe == 0
    assert nanopy.Message().ws_msg_type is None and bytes(nanopy.Message()) == b""
    view = memoryview(msg)
    with pytest.raises(BufferError):
        msg.__init__(b"other")
    view.release()
    with nanopy.Socket(nanopy.PAIR, recv_timeout=2000) as a, nanopy.Socket(nanopy.PAIR) as b:
        a.bind("inproc://ws-msg-type-object")
        b.connect("inproc://ws-msg-type-object")
        b.send(msg)
        got = a.recv_msg()
        assert bytes(got) == b"body" and got.ws_msg_type is None


def test_which_type_wins(pki):
    """The keyword wins over an entry in ``header``; stray high bits in nn_send's flags
    never choose a type (the kind travels inside the call, not in the caller's flags)."""
    server, client = ws_pair("ws", pki)
    with server, client:
        client.sendmsg([b"kw"], [(NN_WS, NN_WS_MSG_TYPE, bytes([TEXT]))], ws_msg_type=BINARY)
        client.sendmsg([b"entry"], [(NN_WS, NN_WS_MSG_TYPE, bytes([TEXT]))])
        nanopy.nn_send(client.id, b"flags", TEXT << 16)
        nanopy.nn_sendmsg(client.id, [b"flags2"], None, TEXT << 16)
        got = [server.recv_msg() for _ in range(4)]
        assert [(bytes(m), m.ws_msg_type) for m in got] == [
            (b"kw", BINARY), (b"entry", TEXT), (b"flags", BINARY), (b"flags2", BINARY)]
