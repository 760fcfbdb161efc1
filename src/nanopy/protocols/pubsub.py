"""PUB/SUB: topic fan-out. PUB never blocks (a busy subscriber misses the message); SUB keeps
messages whose body starts with one of its subscriptions (a C radix tree)."""

from ..constants import NN_PUB, NN_SUB, NN_SUB_SUBSCRIBE, NN_SUB_UNSUBSCRIBE
from .base import ProtocolInfo

PUB = ProtocolInfo("PUB", NN_PUB, NN_SUB, True, False, ("dist",))
SUB = ProtocolInfo(
    "SUB", NN_SUB, NN_PUB, False, True, ("fq", "trie"),
    options={"NN_SUB_SUBSCRIBE": NN_SUB_SUBSCRIBE, "NN_SUB_UNSUBSCRIBE": NN_SUB_UNSUBSCRIBE},
)
