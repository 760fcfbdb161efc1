"""SURVEYOR/RESPONDENT: broadcast a survey, collect answers until NN_SURVEYOR_DEADLINE."""

from ..constants import NN_RESPONDENT, NN_SURVEYOR, NN_SURVEYOR_DEADLINE
from .base import ProtocolInfo

SURVEYOR = ProtocolInfo(
    "SURVEYOR", NN_SURVEYOR, NN_RESPONDENT, True, True, ("dist", "fq", "backtrace"),
    options={"NN_SURVEYOR_DEADLINE": NN_SURVEYOR_DEADLINE},
    raw_header="4-byte survey id (top bit set)",
)
RESPONDENT = ProtocolInfo(
    "RESPONDENT", NN_RESPONDENT, NN_SURVEYOR, True, True, ("fq", "backtrace"),
    raw_header="4-byte local pipe id, then the survey's backtrace",
)
