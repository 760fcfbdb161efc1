"""PUSH/PULL: PUSH load-balances over pipes by NN_SNDPRIO, PULL fair-queues by NN_RCVPRIO."""

from ..constants import NN_PULL, NN_PUSH
from .base import ProtocolInfo

PUSH = ProtocolInfo("PUSH", NN_PUSH, NN_PULL, True, False, ("lb",))
PULL = ProtocolInfo("PULL", NN_PULL, NN_PUSH, False, True, ("fq",))
