"""Kill/restart peer: ``peer.py PROTOCOL bind|connect ADDRESS [silent]``.

Runs one side of a protocol pair until killed. Messages it sends carry its pid
(``b"<pid>:<seq>"``, replies ``b"<pid>:<request>"``) so the surviving side can tell a
restarted peer from the killed one. Prints JSON events: ``ready`` once the endpoint is
set up, ``got`` on the first message it receives (with the body), and ``got`` for every
request in ``silent`` mode (REP/RESPONDENT that never answer). In ``count`` mode
(PULL/SUB) it prints ``count`` with the number received so far, every 50 ms while it
grows."""

from __future__ import annotations

import json
import os
import sys
import time

import nanopy

PID = os.getpid()


def emit(event: str, **kw: object) -> None:
    print(json.dumps({"event": event, "pid": PID, **kw}), flush=True)


def main() -> None:
    proto_name, role, address = sys.argv[1:4]
    mode = sys.argv[4] if len(sys.argv) > 4 else ""
    silent = mode == "silent"
    proto = getattr(nanopy, proto_name)
    s = nanopy.Socket(proto, recv_timeout=100, send_timeout=100, linger=0,
                      reconnect_interval=20, reconnect_interval_max=0)
    if proto == nanopy.SUB:
        s.subscribe(b"")
    if proto == nanopy.SURVEYOR:
        s.survey_deadline = 100
    if proto == nanopy.REQ:
        s.resend_interval = 100
    (s.bind if role == "bind" else s.connect)(address)
    emit("ready")
    seq = 0
    reported = False
    if mode == "count":
        count, shown, last = 0, 0, time.monotonic()
        while True:
            try:
                s.recv()
                count += 1
            except nanopy.Timeout:
                pass
            if count != shown and time.monotonic() - last > 0.05:
                emit("count", n=count)
                shown, last = count, time.monotonic()

    def got(body: bytes) -> None:
        nonlocal reported
        if not reported or silent:
            emit("got", body=body.decode(errors="replace"))
            reported = True

    while True:
        seq += 1
        mine = f"{PID}:{seq}".encode()
        try:
            if proto in (nanopy.PUSH, nanopy.PUB, nanopy.PAIR, nanopy.BUS):
                s.send(mine)
                time.sleep(0.001)
                if proto in (nanopy.PAIR, nanopy.BUS):
                    while True:
                        got(s.recv(block=False))
            elif proto in (nanopy.PULL, nanopy.SUB):
                got(s.recv())
            elif proto in (nanopy.REP, nanopy.RESPONDENT):
                body = s.recv()
                if silent:
                    got(body)
                else:
                    s.send(f"{PID}:".encode() + body)
            elif proto == nanopy.REQ:
                s.send(mine)
                got(s.recv())
            elif proto == nanopy.SURVEYOR:
                s.send(mine)
                while True:
                    got(s.recv())
        except (nanopy.Timeout, nanopy.Again, nanopy.StateError):
            pass


if __name__ == "__main__":
    main()
