"""Run one perf tool with one library.

Usage: ``python bench/peers/tool.py <peer> [--nodelay|--no-nodelay] <tool> <args...>``.
The tools are nanopy's (:data:`nanopy.perf.TOOLS`: nanomsg's six perf tools and the
extras) plus the scale tools of :mod:`bench.peers.scale_tools`; ``peer`` is one of
``nanopy``, ``nanopy-socket``, ``pyzmq``, ``pynng``, ``nnpy``.
"""

from __future__ import annotations

import os
import sys
from typing import List, Optional

if __package__ in (None, ""):
    # Run as a script: make ``bench`` importable from the repository root.
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from bench.peers import PEER_NAMES, load_peer  # noqa: E402
from bench.peers.scale_tools import SCALE_TOOLS  # noqa: E402
from nanopy import perf  # noqa: E402

ALL_TOOLS = {**perf.TOOLS, **SCALE_TOOLS}


def main(argv: Optional[List[str]] = None) -> int:
    """Parse ``<peer> [options] <tool> <args...>`` and run it; 1 on usage errors, 2 on
    failure (as :func:`nanopy.perf.main`)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] not in PEER_NAMES:
        print(f"usage: tool.py <{'|'.join(PEER_NAMES)}> [options] <tool> <args...>")
        return 1
    name = args[0]
    return perf.main(args[1:], prog=f"tool.py {name}", peer_factory=lambda: load_peer(name),
                     tools=ALL_TOOLS)


if __name__ == "__main__":
    sys.exit(main())
