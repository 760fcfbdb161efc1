"""The shape of a protocol description."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ProtocolInfo:
    """One socket type.

    ``routing`` names the compiled mechanisms the core uses for it: ``excl`` (one peer),
    ``lb`` (load balance out), ``fq`` (fair queue in), ``dist`` (fan out), ``backtrace``
    (REQ/REP and SURVEY headers), ``trie`` (subscription matching).
    """

    name: str
    id: int
    peer: int
    can_send: bool
    can_recv: bool
    routing: tuple[str, ...]
    options: dict[str, int] = field(default_factory=dict)
    raw_header: str = "none"

    @property
    def family(self) -> int:
        """nanomsg's protocol family (id // 16)."""
        return self.id // 16

    def accepts(self, peer: int) -> bool:
        """Would a socket of this type talk to a peer of protocol ``peer``?"""
        return peer == self.peer
