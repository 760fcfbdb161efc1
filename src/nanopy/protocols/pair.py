"""PAIR: one-to-one, bidirectional; a second peer is refused while the first is connected."""

from ..constants import NN_PAIR
from .base import ProtocolInfo

PAIR = ProtocolInfo("PAIR", NN_PAIR, NN_PAIR, True, True, ("excl", "fq"))
