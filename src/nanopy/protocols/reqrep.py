"""REQ/REP: request ids and pipe-id backtraces; REQ resends after NN_REQ_RESEND_IVL."""

from ..constants import NN_REP, NN_REQ, NN_REQ_RESEND_IVL
from .base import ProtocolInfo

REQ = ProtocolInfo(
    "REQ", NN_REQ, NN_REP, True, True, ("lb", "fq", "backtrace"),
    options={"NN_REQ_RESEND_IVL": NN_REQ_RESEND_IVL},
    raw_header="4-byte request id (top bit set)",
)
REP = ProtocolInfo(
    "REP", NN_REP, NN_REQ, True, True, ("fq", "backtrace"),
    raw_header="4-byte local pipe id, then the request's backtrace",
)
