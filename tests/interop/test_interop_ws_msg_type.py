"""NN_WS_MSG_TYPE per message against native nanomsg 1.1.5 (libnanomsg through ctypes).

nanomsg gives a message its own WebSocket type through a control property, and reports the
opcode of each received frame in the same property. Both directions, both roles (nanopy binds
or native nanomsg binds), both socket defaults (4 cases), PAIR over ws:

  * nanopy sends three messages: one with the socket's type, one as a ``Message`` of the
    other type, one through ``nn_sendmsg``'s control entry of the other type; native
    nanomsg's ``nn_recvmsg`` must report those opcodes in its control data;
  * native nanomsg sends one message without control data and one with each type in its
    control data; nanopy must report those opcodes (``Message.ws_msg_type`` and
    ``nn_recvmsg``'s control list).

Plus one case with a nanopy ``nn_device`` between two ws sockets: each message keeps its type.
"""

from __future__ import annotations

import sys
from typing import List

import pytest

import nanopy
from nanopy import NN_WS, NN_WS_MSG_TYPE, PROTO_SP, SP_HDR

from .conftest import require_backend
from .interop_harness import HELPERS_DIR, PeerProcess, free_tcp_port

pytestmark = pytest.mark.timeout(60)

TEXT, BINARY = nanopy.NN_WS_MSG_TYPE_TEXT, nanopy.NN_WS_MSG_TYPE_BINARY
OTHER = {TEXT: BINARY, BINARY: TEXT}


def start_native(processes: List[PeerProcess], *args: str) -> PeerProcess:
    require_backend("nanomsg")
    argv = [sys.executable, str(HELPERS_DIR / "nanomsg_ws_msg_type.py"), *args]
    peer = PeerProcess("nanomsg ws msg type", argv)
    processes.append(peer)
    return peer


@pytest.mark.parametrize("socket_type", [BINARY, TEXT], ids=["binary_socket", "text_socket"])
@pytest.mark.parametrize("nanopy_binds", [True, False], ids=["nanopy_binds", "nanomsg_binds"])
def test_per_message_type_crosses_the_wire(nanopy_binds, socket_type, processes):
    other = OTHER[socket_type]
    with nanopy.Socket(nanopy.PAIR, recv_timeout=10000, send_timeout=10000,
                       linger=2000) as sock:
        sock.setsockopt(NN_WS, NN_WS_MSG_TYPE, socket_type)
        peer_args = ["--socket-type", str(socket_type), "--expect", "3",
                     "--send", "default,1,2"]
        if nanopy_binds:
            url = sock.bind("ws://127.0.0.1:0/types").url
            peer = start_native(processes, "--connect", url, *peer_args)
            peer.wait_ready()
        else:
            # nanomsg 1.1.5 cannot bind port 0, nor a path (its listener serves every path).
            port = free_tcp_port()
            peer = start_native(processes, "--bind", f"ws://127.0.0.1:{port}", *peer_args)
            peer.wait_ready()
            sock.connect(f"ws://127.0.0.1:{port}/types")

        sock.send(b"socket-default")
        sock.send(nanopy.Message(b"own-message", ws_msg_type=other))
        nanopy.nn_sendmsg(sock.id, [b"own-", b"control"],
                          [(NN_WS, NN_WS_MSG_TYPE, bytes([other]))])

        received = [sock.recv_msg() for _ in range(2)]
        control: list = []
        last = nanopy.nn_recvmsg(sock.id, 0, control)
        lines = peer.finish()

    assert [line for line in lines if line.startswith("RECV")] == [
        f"RECV {socket_type} socket-default",
        f"RECV {other} own-message",
        f"RECV {other} own-control",
    ]
    assert [(bytes(m), m.ws_msg_type) for m in received] == [
        (b"native-0-default", socket_type), (b"native-1-1", TEXT)]
    assert last == (b"native-2-2", b"")
    assert control == [(PROTO_SP, SP_HDR, b""), (NN_WS, NN_WS_MSG_TYPE, bytes([BINARY]))]


def test_a_device_keeps_each_message_type(spawn_nanopy_helper):
    """nanomsg's nn_device forwards a message's control data, so the WebSocket type survives
    a device between two ws sockets; nanopy's device forwards the message itself."""
    front, back = (f"ws://127.0.0.1:{free_tcp_port()}/dev" for _ in range(2))
    device = spawn_nanopy_helper("nanopy_device.py", "--front-proto", "pair", "--front", front,
                                 "--back-proto", "pair", "--back", back)
    device.wait_ready()
    with nanopy.Socket(nanopy.PAIR, recv_timeout=10000, send_timeout=10000) as a, \
         nanopy.Socket(nanopy.PAIR, recv_timeout=10000, send_timeout=10000) as b:
        a.connect(front)
        b.connect(back)
        a.send(nanopy.Message(b"text through", ws_msg_type=TEXT))
        a.send(b"binary through")
        b.sendmsg([b"text back"], ws_msg_type=TEXT)
        got = [b.recv_msg() for _ in range(2)]
        assert [(bytes(m), m.ws_msg_type) for m in got] == [
            (b"text through", TEXT), (b"binary through", BINARY)]
        back_msg = a.recv_msg()
        assert (bytes(back_msg), back_msg.ws_msg_type) == (b"text back", TEXT)
