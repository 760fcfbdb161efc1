"""BUS: many-to-many; a message reaches every directly connected node except its sender."""

from ..constants import NN_BUS
from .base import ProtocolInfo

BUS = ProtocolInfo(
    "BUS", NN_BUS, NN_BUS, True, True, ("dist", "fq"),
    raw_header="8-byte local pipe token",
)
