"""Received tcp bytes pass through one read buffer shared by every connection of the I/O
thread; a connection whose inbound queue is full keeps its undelivered bytes in storage of
its own. Frames cut anywhere across reads, paused and resumed many times, from several
connections at once, must arrive whole, in order, and never mix between connections.

Plain Python sockets play the PUSH peers so the test controls where the byte stream is cut;
the bulk senders run in child processes (sender threads in this process would wait on the
interpreter lock while the test receives, and the test would crawl).
"""

from __future__ import annotations

import socket as pysocket
import struct
import subprocess
import sys

from conftest import unclaimed_tcp_port, wait_stat

import nanopy

PUSH_HEADER = b"\x00SP\x00\x00\x50\x00\x00"  # SP handshake of a PUSH socket


# A child process: connect as PUSH, send `count` frames naming their peer and sequence
# (varied sizes) in chunks, then read until the test closes.
SENDER_SCRIPT = """
import socket, struct, sys
port, peer, count, chunk = map(int, sys.argv[1:])
out = []
for seq in range(count):
    body = f"{peer}:{seq}:".encode() + bytes([peer]) * (seq * 7 % 300)
    out.append(struct.pack(">Q", len(body)) + body)
data = b"".join(out)
c = socket.create_connection(("127.0.0.1", port), timeout=30)
c.sendall(HEADER)
for i in range(0, len(data), chunk):
    c.sendall(data[i : i + chunk])
c.shutdown(socket.SHUT_WR)
while c.recv(4096):  # read everything (closing with unread bytes would reset the stream)
    pass
"""


def test_paused_connections_keep_their_own_bytes(nn) -> None:
    s = nn(nanopy.NN_PULL)
    # A small receive limit: the inbound queue fills in the middle of many reads, so the
    # rest of each read is kept aside and delivered once the application catches up.
    nanopy.nn_setsockopt(s, nanopy.NN_SOL_SOCKET, nanopy.NN_RCVBUF, 16384)
    port = unclaimed_tcp_port()
    nanopy.nn_bind(s, f"tcp://127.0.0.1:{port}")
    peers = 3
    count = 1000
    script = SENDER_SCRIPT.replace("HEADER", repr(PUSH_HEADER))
    senders = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(port), str(p), str(count), str(997 + 13 * p)]
        )
        for p in range(peers)
    ]
    try:
        wait_stat(s, nanopy.NN_STAT_CURRENT_CONNECTIONS, peers)
        next_seq = [0] * peers
        for _ in range(peers * count):
            msg = nanopy.nn_recv(s)
            peer_s, seq_s, rest = msg.split(b":", 2)
            peer, seq = int(peer_s), int(seq_s)
            assert seq == next_seq[peer], f"peer {peer}: got {seq}, expected {next_seq[peer]}"
            assert rest == bytes([peer]) * (seq * 7 % 300)
            next_seq[peer] += 1
        assert next_seq == [count] * peers
    finally:
        for child in senders:
            child.kill()
            child.wait()


def test_frame_split_at_every_offset_of_its_header_and_body(nn) -> None:
    s = nn(nanopy.NN_PULL)
    port = unclaimed_tcp_port()
    nanopy.nn_bind(s, f"tcp://127.0.0.1:{port}")
    c = pysocket.create_connection(("127.0.0.1", port), timeout=10)
    c.setsockopt(pysocket.IPPROTO_TCP, pysocket.TCP_NODELAY, 1)
    try:
        c.sendall(PUSH_HEADER)
        wait_stat(s, nanopy.NN_STAT_CURRENT_CONNECTIONS, 1)
        body = b"0123456789abcdef"
        frame = struct.pack(">Q", len(body)) + body
        for cut in range(1, len(frame)):
            # Two frames, the second cut at `cut`: its start and its rest come in
            # separate reads, with another connection's traffic possibly in between.
            c.sendall(frame + frame[:cut])
            assert nanopy.nn_recv(s) == body
            c.sendall(frame[cut:])
            assert nanopy.nn_recv(s) == body
    finally:
        c.close()
