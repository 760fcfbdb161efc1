"""Python peers for the benchmark: pyzmq, pynng and nnpy behind one small interface.

Each peer module defines a :class:`~bench.peers.common.Peer` subclass; the six perf
tools of nanomsg (and the PUB/SUB matching pair) are written once, in
:mod:`bench.peers.common`, on top of the peer's own ``send``/``recv`` callables, so the
measured loop is the library's call and nothing else.

Run a tool: ``python bench/peers/tool.py <peer> <tool> <args...>``, e.g.
``python bench/peers/tool.py pyzmq local_thr tcp://*:5555 64 100000``.
"""

from __future__ import annotations

from typing import Dict, Type

from .common import Peer

PEER_MODULES: Dict[str, str] = {
    "pyzmq": "bench.peers.pyzmq_peer",
    "pynng": "bench.peers.pynng_peer",
    "nnpy": "bench.peers.nnpy_peer",
}


def load_peer(name: str) -> Peer:
    """Import the peer module ``name`` and return an instance of its peer class."""
    import importlib

    if name not in PEER_MODULES:
        raise KeyError(f"unknown peer {name!r}; known: {', '.join(PEER_MODULES)}")
    module = importlib.import_module(PEER_MODULES[name])
    peer_class: Type[Peer] = module.PEER_CLASS
    return peer_class()
