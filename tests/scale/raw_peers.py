"""Many SP peers in one process, as plain TCP sockets (nanopy allows 512 sockets per process;
a plain socket costs one descriptor). Commands on stdin, JSON events on stdout.

  raw_peers.py push HOST PORT COUNT FIRST_ID
      "connect": open COUNT connections and do the SP handshake as PUSH (one at a time, so
                 the listener's backlog never overflows); event "connected".
      "fill N":  write N frames on every connection (4-byte peer id + 4-byte number);
                 event "filled".
      "eof":     wait until every connection has been closed by the other side;
                 event "eof" with the time the last one went.
  raw_peers.py sub HOST PORT COUNT SLOW BODY
      connect COUNT connections with the SUB handshake; the first SLOW of them never read
      (and ask for a small kernel receive buffer); the others read everything. Event
      "connected"; "report" prints the frames each reader got ("report" event) and exits.
"""

from __future__ import annotations

import json
import resource
import selectors
import socket
import struct
import sys
import time

PUSH, SUB = 80, 33  # SP protocol numbers


def emit(ev: str, **fields: object) -> None:
    sys.stdout.write(json.dumps({"ev": ev, "t": time.monotonic(), **fields}) + "\n")
    sys.stdout.flush()


def raise_nofile(n: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < n:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (max(n, hard), max(n, hard)))
        except (ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def handshake(host: str, port: int, proto: int, rcvbuf: int = 0) -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(30)
    s.connect((host, port))
    s.sendall(b"\x00SP\x00" + struct.pack(">H", proto) + b"\x00\x00")
    got = b""
    while len(got) < 8:
        chunk = s.recv(8 - len(got))
        if not chunk:
            raise ConnectionError("the listener closed during the handshake")
        got += chunk
    if got[:4] != b"\x00SP\x00":
        raise ConnectionError(f"not an SP handshake: {got!r}")
    return s


def run_push(host: str, port: int, count: int, first_id: int) -> None:
    raise_nofile(count + 100)
    conns: list[socket.socket] = []
    emit("ready")
    for line in sys.stdin:
        cmd = line.split()
        if cmd[0] == "connect":
            for _ in range(count):
                conns.append(handshake(host, port, PUSH))
            emit("connected", n=len(conns))
        elif cmd[0] == "fill":
            n = int(cmd[1])
            for k, s in enumerate(conns):
                peer = first_id + k
                s.sendall(b"".join(struct.pack(">QII", 8, peer, i) for i in range(n)))
            emit("filled")
        elif cmd[0] == "eof":
            sel = selectors.DefaultSelector()
            for s in conns:
                s.setblocking(False)
                sel.register(s, selectors.EVENT_READ)
            left, last = len(conns), time.monotonic()
            while left:
                for key, _ in sel.select(60):
                    try:
                        data = key.fileobj.recv(4096)  # type: ignore[union-attr]
                    except ConnectionError:
                        data = b""
                    if not data:
                        sel.unregister(key.fileobj)
                        left -= 1
                        last = time.monotonic()
            emit("eof", last=last)
        elif cmd[0] == "quit":
            break


def run_sub(host: str, port: int, count: int, slow: int, body: int) -> None:
    raise_nofile(count + 100)
    conns = [handshake(host, port, SUB, rcvbuf=4096 if i < slow else 0)
             for i in range(count)]
    fast = conns[slow:]
    got = {s.fileno(): 0 for s in fast}
    sel = selectors.DefaultSelector()
    for s in fast:
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
    sel.register(sys.stdin, selectors.EVENT_READ)
    emit("connected", n=len(conns))
    while True:
        for key, _ in sel.select(1):
            if key.fileobj is sys.stdin:
                if sys.stdin.readline().strip() == "report":
                    frame = 8 + body
                    counts = sorted(v // frame for v in got.values())
                    emit("report", counts=counts)
                    return
                continue
            try:
                data = key.fileobj.recv(1 << 18)  # type: ignore[union-attr]
            except BlockingIOError:
                continue
            if not data:
                sel.unregister(key.fileobj)
                continue
            got[key.fd] += len(data)


def main() -> None:
    mode, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if mode == "push":
        run_push(host, port, int(sys.argv[4]), int(sys.argv[5]))
    else:
        run_sub(host, port, int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]))


if __name__ == "__main__":
    main()
