#!/usr/bin/env python3
"""Run a nanopy ``nn_device`` between two raw sockets, in its own process.

The interop tests start this script and kill it at the end: ``nn_term()``, the only clean way
to stop a device, is process-wide and permanent, so it must not run inside the test process.

Usage::

    nanopy_device.py --front-proto rep --front URL --back-proto req --back URL

Both raw sockets bind (the native peers connect to them), accept messages of any size, and
``READY`` is printed on stdout once both are bound. A raw SUB front subscribes to everything.
Errors are printed on stderr and the exit status is 1; otherwise the device runs until killed.
"""

from __future__ import annotations

import argparse
import sys

import nanopy

PROTOCOL_IDS = {
    "pair": nanopy.NN_PAIR,
    "pub": nanopy.NN_PUB,
    "sub": nanopy.NN_SUB,
    "req": nanopy.NN_REQ,
    "rep": nanopy.NN_REP,
    "push": nanopy.NN_PUSH,
    "pull": nanopy.NN_PULL,
    "surveyor": nanopy.NN_SURVEYOR,
    "respondent": nanopy.NN_RESPONDENT,
    "bus": nanopy.NN_BUS,
}


def open_raw_bound(proto: str, url: str) -> int:
    """Return a raw nanopy socket of ``proto`` bound to ``url``, with no size limit."""
    s = nanopy.nn_socket(nanopy.AF_SP_RAW, PROTOCOL_IDS[proto])
    nanopy.nn_setsockopt(s, nanopy.NN_SOL_SOCKET, nanopy.NN_RCVMAXSIZE, -1)
    if proto == "sub":
        nanopy.nn_setsockopt(s, nanopy.NN_SUB, nanopy.NN_SUB_SUBSCRIBE, b"")
    nanopy.nn_bind(s, url)
    return s


def main() -> int:
    """Parse the command line, bind both sockets, announce READY and forward forever."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--front-proto", required=True, choices=sorted(PROTOCOL_IDS))
    parser.add_argument("--front", required=True, metavar="URL")
    parser.add_argument("--back-proto", required=True, choices=sorted(PROTOCOL_IDS))
    parser.add_argument("--back", required=True, metavar="URL")
    options = parser.parse_args()
    try:
        front = open_raw_bound(options.front_proto, options.front)
        back = open_raw_bound(options.back_proto, options.back)
        print("READY", flush=True)
        nanopy.nn_device(front, back)
    except nanopy.NNError as exc:
        sys.stderr.write(f"ERROR nanopy device: {exc!r}\n")
        return 1
    sys.stderr.write("ERROR nn_device returned normally\n")
    return 1


if __name__ == "__main__":
    sys.exit(main())
