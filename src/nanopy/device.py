"""nanopy.device: the Pythonic wrapper of nn_device."""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional, Union

from . import _core

if TYPE_CHECKING:
    from .socket import Socket

__all__ = ["device"]


def _sock_id(s: Union[int, Socket, None]) -> int:
    if s is None:
        return -1
    if isinstance(s, int):
        return s
    return s.id


def device(s1: Union[int, Socket], s2: Optional[Union[int, Socket]] = None) -> None:
    """Forward messages between two raw sockets until one closes or nn_term() is called.

    The GIL is released while forwarding, so run it in a thread if the program has other
    work.

    Parameters
    ----------
    s1 : Socket or int
        A raw socket (``raw=True``), or its nn_* id.
    s2 : Socket, int or None
        The other raw socket; omitted (or -1) loops messages back into ``s1`` (a raw BUS
        re-broadcasts to every peer but the sender).

    Raises
    ------
    NNError
        Always, when it ends: ETERM after nn_term(), EBADF when a socket is closed, EINVAL
        for sockets that cannot form a device.
    """
    _core.nn_device(_sock_id(s1), _sock_id(s2))
