"""fd-exhaustion peer: ``fdlimit.py ADDRESS``. Driven line by line over stdin:

- at start: binds a PULL to ADDRESS, prints ``ready``;
- ``exhaust``: lowers RLIMIT_NOFILE and fills every free descriptor, prints ``exhausted``;
- ``measure SECONDS``: sleeps while the parent's connections wait in the backlog, then
  prints the CPU time it burnt, NN_STAT_ACCEPT_ERRORS and what nn_socket did;
- ``free``: closes the filler descriptors, prints ``freed``;
- ``recv N``: receives N messages (10 s timeout each), prints ``received``."""

from __future__ import annotations

import json
import os
import resource
import sys
import time

import nanopy


def emit(event: str, **kw: object) -> None:
    print(json.dumps({"event": event, **kw}), flush=True)


def cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)  # every thread, the I/O thread included
    return r.ru_utime + r.ru_stime


def stat(s: nanopy.Socket, which: int) -> int:
    return nanopy.nn_get_statistic(s.id, which)


def main() -> None:
    pull = nanopy.Socket(nanopy.PULL, recv_timeout=10000, linger=0)
    pull.bind(sys.argv[1])
    fillers: list[int] = []
    emit("ready")
    for line in sys.stdin:
        cmd, *args = line.split()
        if cmd == "exhaust":
            used = len(os.listdir("/proc/self/fd"))
            _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
            resource.setrlimit(resource.RLIMIT_NOFILE, (used + 32, hard))
            try:
                while True:
                    fillers.append(os.open("/dev/null", os.O_RDONLY))
            except OSError as e:
                assert e.errno == 24, e  # EMFILE
            emit("exhausted", limit=used + 32, fillers=len(fillers))
        elif cmd == "measure":
            seconds = float(args[0])
            c0, t0 = cpu_seconds(), time.monotonic()
            time.sleep(seconds)
            cpu, wall = cpu_seconds() - c0, time.monotonic() - t0
            try:
                extra = nanopy.nn_socket(nanopy.AF_SP, nanopy.NN_PAIR)
                nanopy.nn_close(extra)
                made = "ok"
            except nanopy.NNError as e:
                made = f"errno {e.errno}"
            emit("measured", cpu_s=round(cpu, 3), wall_s=round(wall, 3),
                 accept_errors=stat(pull, nanopy.NN_STAT_ACCEPT_ERRORS),
                 accepted=stat(pull, nanopy.NN_STAT_ACCEPTED_CONNECTIONS),
                 connections=stat(pull, nanopy.NN_STAT_CURRENT_CONNECTIONS),
                 nn_socket=made)
        elif cmd == "free":
            for fd in fillers:
                os.close(fd)
            fillers.clear()
            emit("freed")
        elif cmd == "recv":
            t0 = time.monotonic()
            bodies = [pull.recv().decode() for _ in range(int(args[0]))]
            emit("received", count=len(bodies), distinct=len(set(bodies)),
                 after_s=round(time.monotonic() - t0, 3),
                 accepted=stat(pull, nanopy.NN_STAT_ACCEPTED_CONNECTIONS),
                 accept_errors=stat(pull, nanopy.NN_STAT_ACCEPT_ERRORS),
                 connections=stat(pull, nanopy.NN_STAT_CURRENT_CONNECTIONS))
        elif cmd == "quit":
            break


if __name__ == "__main__":
    main()
