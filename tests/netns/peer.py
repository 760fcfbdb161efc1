"""A small nanopy peer for the network-namespace tests, run inside a namespace with
``ip netns exec NS python peer.py ROLE ...``.

It prints one JSON object per line on stdout (``{"ev": ..., "t": ...}``, ``t`` being
time.monotonic(), which is the same clock in every process of the machine) and reads
commands on stdin: ``stop`` ends the sending loop (the socket stays open, so what is queued
still goes out), ``quit`` exits.

Roles:
  send  --proto push|pair|pub   send numbered messages every --interval ms
  recv  --proto pull|pair|sub   print every message received (its number and send time)
  req                           one request at a time, print each reply
  rep | respondent              echo every request / survey
  surveyor                      one survey at a time (--deadline ms), print the answers
  bus                           bind URL, connect --peers, then (on "go") send --count
                                messages and receive every other node's
  device                        raw REP bound at URL forwarding to a raw REQ at --peers
  watch                         connect a PAIR and print each change of its connection count
"""

from __future__ import annotations

import argparse
import json
import struct
import sys
import threading
import time

import nanopy

HEAD = struct.Struct(">Qd")  # message number, send time (monotonic)
STAT_CONN = nanopy.NN_STAT_CURRENT_CONNECTIONS

PROTOS = {
    "push": nanopy.PUSH, "pull": nanopy.PULL, "pair": nanopy.PAIR, "pub": nanopy.PUB,
    "sub": nanopy.SUB, "req": nanopy.REQ, "rep": nanopy.REP, "surveyor": nanopy.SURVEYOR,
    "respondent": nanopy.RESPONDENT, "bus": nanopy.BUS,
}

stop_sending = threading.Event()
go = threading.Event()
out_lock = threading.Lock()


def emit(ev: str, **fields: object) -> None:
    line = json.dumps({"ev": ev, "t": time.monotonic(), **fields})
    with out_lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def read_commands() -> None:
    for line in sys.stdin:
        cmd = line.strip()
        if cmd == "stop":
            stop_sending.set()
        elif cmd == "go":
            go.set()
        elif cmd == "quit":
            break
    emit("quit")
    sys.stdout.flush()
    import os

    os._exit(0)


def make(args: argparse.Namespace, proto: int, raw: bool = False) -> nanopy.Socket:
    s = nanopy.Socket(proto, raw=raw, reconnect_interval=100, linger=5000)
    if args.keepalive:
        if not hasattr(type(s), "tcp_keepalive"):
            raise SystemExit("Socket.tcp_keepalive is not in this build")
        s.tcp_keepalive = True
    if proto == nanopy.SUB:
        s.subscribe(b"")
    if args.bind:
        s.bind(args.url)
    else:
        s.connect(args.url)
    return s


def payload(seq: int, pad: int) -> bytes:
    return HEAD.pack(seq, time.monotonic()) + b"p" * pad


def role_send(args: argparse.Namespace) -> None:
    s = make(args, PROTOS[args.proto])
    emit("ready")
    seq = 0
    while not stop_sending.is_set():
        s.send(payload(seq, args.pad))
        seq += 1
        time.sleep(args.interval / 1000)
    emit("stopped", last=seq - 1)
    threading.Event().wait()


def role_recv(args: argparse.Namespace) -> None:
    s = make(args, PROTOS[args.proto])
    emit("ready")
    while True:
        m = s.recv()
        seq, sent = HEAD.unpack_from(m)
        emit("recv", seq=seq, sent=sent)


def role_req(args: argparse.Namespace) -> None:
    s = make(args, nanopy.REQ)
    s.resend_interval = args.resend
    emit("ready")
    seq = 0
    while not stop_sending.is_set():
        s.send(payload(seq, args.pad))
        reply = s.recv()
        emit("reply", seq=seq, ok=HEAD.unpack_from(reply)[0] == seq)
        seq += 1
        time.sleep(args.interval / 1000)
    emit("stopped", last=seq - 1)
    threading.Event().wait()


def role_echo(args: argparse.Namespace, proto: int) -> None:
    s = make(args, proto)
    emit("ready")
    while True:
        m = s.recv()
        s.send(m)
        emit("served", seq=HEAD.unpack_from(m)[0])


def role_surveyor(args: argparse.Namespace) -> None:
    s = make(args, nanopy.SURVEYOR)
    s.survey_deadline = args.deadline
    emit("ready")
    seq = 0
    while not stop_sending.is_set():
        s.send(payload(seq, 0))
        answers = stale = 0
        while True:
            try:
                got = HEAD.unpack_from(s.recv())[0]
            except nanopy.Timeout:
                break
            if got == seq:
                answers += 1
            else:
                stale += 1
        emit("survey", seq=seq, answers=answers, stale=stale)
        seq += 1
    emit("stopped", last=seq - 1)
    threading.Event().wait()


def role_bus(args: argparse.Namespace) -> None:
    args.bind = True
    s = make(args, nanopy.BUS)
    s.recv_timeout = 30000
    s.send_buffer = s.recv_buffer = 1 << 20
    peers = [p for p in args.peers.split(",") if p]
    for p in peers:
        s.connect(p)
    want = args.mesh - 1
    while nanopy.nn_get_statistic(s.id, STAT_CONN) < want:
        time.sleep(0.005)
    emit("ready")
    go.wait()
    t0 = time.monotonic()
    for i in range(args.count):
        s.send(payload(i, args.pad))
    need = args.count * want
    got = 0
    while got < need:
        s.recv()
        got += 1
    emit("done", received=got, seconds=time.monotonic() - t0)
    threading.Event().wait()


def role_device(args: argparse.Namespace) -> None:
    front = nanopy.Socket(nanopy.REP, raw=True)
    front.bind(args.url)
    back = nanopy.Socket(nanopy.REQ, raw=True, reconnect_interval=100)
    back.connect(args.peers)
    emit("ready")
    nanopy.nn_device(front.id, back.id)


def role_watch(args: argparse.Namespace) -> None:
    s = make(args, nanopy.PAIR)
    last = -1
    emit("ready")
    while True:
        n = nanopy.nn_get_statistic(s.id, STAT_CONN)
        if n != last:
            emit("conn", n=n)
            last = n
        time.sleep(0.01)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("role")
    ap.add_argument("url")
    ap.add_argument("--proto", default="pair")
    ap.add_argument("--bind", action="store_true")
    ap.add_argument("--interval", type=float, default=5.0, help="ms between messages")
    ap.add_argument("--pad", type=int, default=100, help="bytes added to each message")
    ap.add_argument("--resend", type=int, default=1000, help="REQ resend interval, ms")
    ap.add_argument("--deadline", type=int, default=300, help="survey deadline, ms")
    ap.add_argument("--peers", default="")
    ap.add_argument("--mesh", type=int, default=0, help="BUS: nodes in the mesh")
    ap.add_argument("--count", type=int, default=100)
    ap.add_argument("--keepalive", action="store_true")
    args = ap.parse_args()
    threading.Thread(target=read_commands, daemon=True).start()
    roles = {
        "send": role_send, "recv": role_recv, "req": role_req, "surveyor": role_surveyor,
        "rep": lambda a: role_echo(a, nanopy.REP),
        "respondent": lambda a: role_echo(a, nanopy.RESPONDENT),
        "bus": role_bus, "device": role_device, "watch": role_watch,
    }
    roles[args.role](args)


if __name__ == "__main__":
    main()
