"""Exceptions raised by nanopy, and the errno <-> message mapping of nanomsg.

Every failure raises `NNError` (an `OSError`) whose ``errno`` is the nanomsg errno. The common
ones have subclasses that are also the matching Python built-in, so ``except TimeoutError`` and
``except nanopy.NNError`` both work.
"""

from __future__ import annotations

import os
import threading
from typing import Optional

from .constants import (
    EADDRINUSE,
    EAGAIN,
    EBADF,
    ECONNREFUSED,
    EFSM,
    ETERM,
    ETIMEDOUT,
)

__all__ = [
    "NNError",
    "Timeout",
    "Again",
    "StateError",
    "Terminated",
    "BadSocket",
    "ConnectionRefused",
    "AddressInUse",
    "nn_strerror",
    "nn_errno",
    "error_for",
]

_last_errno = threading.local()


def nn_strerror(errnum: int) -> str:
    """Return nanomsg's message for an errno (the host's strerror for OS codes).

    Parameters
    ----------
    errnum:
        Any errno value, nanomsg's own (ETERM, EFSM) or the host's.

    Returns
    -------
    str
        The message nanomsg's ``nn_strerror`` gives for it.
    """
    if errnum == ETERM:
        return "Nanomsg library was terminated"
    if errnum == EFSM:
        return "Operation cannot be performed in this state"
    return os.strerror(errnum)


def nn_errno() -> int:
    """Return the errno of the last nanopy call that failed in this thread (0 if none).

    Returns
    -------
    int
        The errno of this thread's last failed call.
    """
    return getattr(_last_errno, "value", 0)


class NNError(OSError):
    """A nanopy call failed; ``errno`` is nanomsg's error number.

    The message (``strerror``, and ``str(error)``) is ``nn_strerror(errno)``, followed by
    ``": "`` and a detail naming what was wrong when nanopy knows it, e.g.
    ``"Invalid argument: tcp://127.0.0.1:99999: port out of range"``. ``detail`` holds that
    second part alone (None when there is none).

    Parameters
    ----------
    errnum:
        nanomsg's errno (``nanopy.EINVAL``, ``nanopy.EFSM``...).
    detail:
        What exactly was wrong, in words, or None.
    """

    def __init__(self, errnum: int, detail: Optional[str] = None) -> None:
        text = nn_strerror(errnum)
        if detail:
            text = f"{text}: {detail}"
        super().__init__(errnum, text)
        self.detail = detail

    def __str__(self) -> str:
        return str(self.strerror)

    def __reduce__(self) -> tuple[type[NNError], tuple[int, Optional[str]]]:
        return type(self), (int(self.errno or 0), self.detail)


class Timeout(NNError, TimeoutError):
    """ETIMEDOUT: a send or receive timeout (NN_SNDTIMEO / NN_RCVTIMEO) expired."""


class Again(NNError, BlockingIOError):
    """EAGAIN: a non-blocking call (NN_DONTWAIT) would have had to wait."""


class StateError(NNError):
    """EFSM: the protocol's state does not allow the call (e.g. recv() on REQ before send())."""


class Terminated(NNError):
    """ETERM: nn_term() was called; the library is shut down."""


class BadSocket(NNError):
    """EBADF: the socket is closed, closing, or was never opened."""


class ConnectionRefused(NNError, ConnectionRefusedError):
    """ECONNREFUSED."""


class AddressInUse(NNError):
    """EADDRINUSE: the address is already bound."""


_CLASS_FOR_ERRNO = {
    ETIMEDOUT: Timeout,
    EAGAIN: Again,
    EFSM: StateError,
    ETERM: Terminated,
    EBADF: BadSocket,
    ECONNREFUSED: ConnectionRefused,
    EADDRINUSE: AddressInUse,
}


def error_for(errnum: int, detail: Optional[str] = None) -> NNError:
    """Build the exception for ``errnum`` and record it as this thread's ``nn_errno()``.

    Parameters
    ----------
    errnum:
        nanomsg's errno.
    detail:
        What exactly was wrong (appended to ``nn_strerror(errnum)``), or None.

    Returns
    -------
    NNError
        The subclass that matches ``errnum`` (``Timeout``, ``Again``...), or NNError itself.
    """
    _last_errno.value = errnum
    return _CLASS_FOR_ERRNO.get(errnum, NNError)(errnum, detail)
