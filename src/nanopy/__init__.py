"""nanopy: nanomsg's scalability protocols as a fast Python package.

Six protocols (PAIR, BUS, REQ/REP, PUB/SUB, PUSH/PULL, SURVEYOR/RESPONDENT) over inproc,
ipc, tcp, ws, wss, tls+tcp and abstract, byte-compatible on the wire with nanomsg and NNG.
Two APIs over one core:

* the nn_* functions, a one-to-one rendering of nanomsg's C API;
* :class:`nanopy.Socket`, a Pythonic socket with properties, context managers and asyncio.
"""

from ._api import *  # noqa: F403
from ._api import __all__ as _api_all
from ._core import Message
from ._version import __version__
from .constants import *  # noqa: F403
from .constants import __all__ as _constants_all
from .device import device
from .errors import (
    AddressInUse,
    Again,
    BadSocket,
    ConnectionRefused,
    NNError,
    StateError,
    Terminated,
    Timeout,
)
from .monitor import Monitor, PipeEvent
from .socket import PROTOCOL_NAMES, Context, Endpoint, Socket
from .tls import TLSConfig

__all__ = [
    *_api_all,
    *_constants_all,
    "Message",
    "NNError",
    "Timeout",
    "Again",
    "StateError",
    "Terminated",
    "BadSocket",
    "ConnectionRefused",
    "AddressInUse",
    "Socket",
    "Endpoint",
    "Context",
    "PROTOCOL_NAMES",
    "Monitor",
    "PipeEvent",
    "TLSConfig",
    "device",
    "__version__",
]
