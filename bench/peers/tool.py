"""Run one perf tool with one Python peer library.

Usage: ``python bench/peers/tool.py <pyzmq|pynng|nnpy> <tool> <args...>`` where the
tools and arguments are those of nanomsg's perf programs (see ``common.TOOLS``).
"""

from __future__ import annotations

import os
import sys
from typing import List, Optional

if __package__ in (None, ""):
    # Run as a script: make ``bench`` importable from the repository root.
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from bench.peers import PEER_MODULES, load_peer  # noqa: E402
from bench.peers.common import TOOLS  # noqa: E402


def main(argv: Optional[List[str]] = None) -> int:
    """Parse ``<peer> <tool> <args...>``, run the tool; 1 on usage errors, 2 on failure."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) < 2 or args[0] not in PEER_MODULES or args[1] not in TOOLS:
        print(f"usage: tool.py <{'|'.join(PEER_MODULES)}> <{'|'.join(TOOLS)}> <args...>")
        return 1
    peer_name, tool, rest = args[0], args[1], args[2:]
    names, func = TOOLS[tool]
    if len(rest) != len(names):
        print(f"usage: {tool} {' '.join(f'<{n}>' for n in names)}")
        return 1
    try:
        values = [v if n.endswith("-to") else int(v) for n, v in zip(names, rest)]
    except ValueError as exc:
        print(f"usage: {tool} {' '.join(f'<{n}>' for n in names)} ({exc})")
        return 1
    try:
        peer = load_peer(peer_name)
        func(peer, *values)
        peer.finish()
    except Exception as exc:  # noqa: BLE001 - one line per failure, like the C tools
        sys.stderr.write(f"{peer_name} {tool}: {type(exc).__name__}: {exc}\n")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
