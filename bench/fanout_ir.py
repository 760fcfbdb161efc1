"""Callgrind target for fan-out send cost: a PUSH or PUB bound on inproc with N peers
(spread over up to 50 receiving sockets of this process) sends K 64-byte messages.

Run it under callgrind and read the inclusive count of ``np_send`` divided by K::

    valgrind --tool=callgrind --callgrind-out-file=cg.out python bench/fanout_ir.py push 1000 2000
    callgrind_annotate --inclusive=yes cg.out | grep sendrecv.c:np_send

Inproc only: over tcp, whether a send writes directly or queues for the I/O thread depends
on time since the previous send, which callgrind's slowdown distorts.
"""

from __future__ import annotations

import sys
import time

import nanopy as nn


def main(kind: str, peers: int, count: int) -> None:
    """Connect ``peers`` receivers, then send ``count`` messages."""
    sender = nn.nn_socket(nn.AF_SP, nn.NN_PUB if kind == "pub" else nn.NN_PUSH)
    nn.nn_bind(sender, "inproc://fanout-ir")
    receivers = [nn.nn_socket(nn.AF_SP, nn.NN_SUB if kind == "pub" else nn.NN_PULL)
                 for _ in range(min(peers, 50))]
    if kind == "pub":
        for r in receivers:
            nn.nn_setsockopt(r, nn.NN_SUB, nn.NN_SUB_SUBSCRIBE, b"")
    for i in range(peers):
        nn.nn_connect(receivers[i % len(receivers)], "inproc://fanout-ir")
    time.sleep(0.5)
    msg = b"x" * 64
    for _ in range(count):
        nn.nn_send(sender, msg, 0)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
