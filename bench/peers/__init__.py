"""The libraries the benchmark runs, behind the :class:`nanopy.perf.Peer` interface.

nanopy's own adapters (``nanopy`` for the nn_* functions, ``nanopy-socket`` for
``nanopy.Socket``) live in :mod:`nanopy.perf`, next to the perf tools; this package adds
pyzmq, pynng and nnpy.  Every tool is written once, so every library runs the same loop
around its own ``send``/``recv``.

Run a tool: ``python bench/peers/tool.py <peer> [options] <tool> <args...>``, e.g.
``python bench/peers/tool.py pyzmq local_thr tcp://*:5555 64 100000``.
"""

from __future__ import annotations

import importlib
from typing import Callable, Dict

from nanopy.perf import NanopyPeer, Peer, SocketPeer

PEER_MODULES: Dict[str, str] = {
    "pyzmq": "bench.peers.pyzmq_peer",
    "pynng": "bench.peers.pynng_peer",
    "nnpy": "bench.peers.nnpy_peer",
}

NANOPY_PEERS: Dict[str, Callable[[], Peer]] = {"nanopy": NanopyPeer,
                                                "nanopy-socket": SocketPeer}

PEER_NAMES = (*NANOPY_PEERS, *PEER_MODULES)


def load_peer(name: str) -> Peer:
    """A fresh adapter for the library ``name`` (one of :data:`PEER_NAMES`)."""
    if name in NANOPY_PEERS:
        return NANOPY_PEERS[name]()
    if name not in PEER_MODULES:
        raise KeyError(f"unknown peer {name!r}; known: {', '.join(PEER_NAMES)}")
    module = importlib.import_module(PEER_MODULES[name])
    peer: Peer = module.PEER_CLASS()
    return peer
