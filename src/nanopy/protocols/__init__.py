"""What each scalability protocol is, as data: ids, valid peer, options, routing.

The data path lives in the C core (csrc/protocols/); these modules describe it so that the
Python layer, the docs and the CLI can reason about socket types without a per-message loop.
"""

from __future__ import annotations

from .base import ProtocolInfo
from .bus import BUS
from .pair import PAIR
from .pipeline import PULL, PUSH
from .pubsub import PUB, SUB
from .reqrep import REP, REQ
from .survey import RESPONDENT, SURVEYOR

#: Every socket type by protocol number.
BY_ID: dict[int, ProtocolInfo] = {
    p.id: p for p in (PAIR, PUB, SUB, REQ, REP, PUSH, PULL, SURVEYOR, RESPONDENT, BUS)
}

#: Every socket type by name ("PAIR", "REQ", ...).
BY_NAME: dict[str, ProtocolInfo] = {p.name: p for p in BY_ID.values()}


def info(protocol: int) -> ProtocolInfo:
    """The description of a protocol number; KeyError for an unknown one."""
    return BY_ID[protocol]


__all__ = ["ProtocolInfo", "BY_ID", "BY_NAME", "info"]
