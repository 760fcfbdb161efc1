"""Async glue for Socket and Context: waiting on the readiness descriptors from a coroutine.

The socket and context methods (``asend``, ``arecv``, ``async for``) are thin and delegate
here; every function takes the socket (or context) as its first argument.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Optional

from . import _core
from .constants import EBADF, ETIMEDOUT, NN_DONTWAIT, NN_RCVFD, NN_SNDFD, NN_SOL_SOCKET
from .errors import Again, NNError, Timeout

if TYPE_CHECKING:
    from .socket import Context, Socket

# asyncio allows one reader callback per descriptor, but several coroutines (or contexts)
# may wait on the same readiness descriptor: one callback per (loop, fd) wakes them all,
# and each then retries its non-blocking call.
_fd_waiters: dict[tuple[int, int], list[asyncio.Future[None]]] = {}
_fd_loops: dict[tuple[int, int], asyncio.AbstractEventLoop] = {}


def _wake_waiters(key: tuple[int, int]) -> None:
    for fut in _fd_waiters.get(key, ()):
        if not fut.done():
            fut.set_result(None)


def _wake_fd_waiters(fds: Sequence[int]) -> None:
    """Wake every coroutine waiting on these descriptors (used by close(): they retry,
    find the socket closed and raise EBADF instead of waiting forever)."""
    for key, loop in list(_fd_loops.items()):
        if key[1] in fds:
            try:
                loop.call_soon_threadsafe(_wake_waiters, key)
            except RuntimeError:
                pass  # that loop is closed


def wake_on_close(s: int) -> None:
    """Called by Socket.close() before nn_close(s): wake the coroutines waiting on the
    socket's descriptors so they see it closed."""
    if not _fd_loops:
        return
    fds = []
    for opt in (NN_RCVFD, NN_SNDFD):
        try:
            fds.append(int(_core.nn_getsockopt(s, NN_SOL_SOCKET, opt)))
        except NNError:
            pass
    _wake_fd_waiters(fds)


async def _wait_readable(fd: int, timeout: Optional[int]) -> None:
    """Wait until ``fd`` is readable (or ``timeout`` ms pass: nanopy.Timeout)."""
    loop = asyncio.get_running_loop()
    key = (id(loop), fd)
    fut: asyncio.Future[None] = loop.create_future()
    waiters = _fd_waiters.get(key)
    if waiters is None:
        waiters = _fd_waiters[key] = []
        _fd_loops[key] = loop
        loop.add_reader(fd, _wake_waiters, key)
    waiters.append(fut)
    try:
        if timeout is None:
            await fut
        else:
            await asyncio.wait_for(fut, timeout / 1000)
    except asyncio.TimeoutError:
        raise Timeout(ETIMEDOUT) from None
    finally:
        waiters.remove(fut)
        if not waiters:
            del _fd_waiters[key]
            del _fd_loops[key]
            loop.remove_reader(fd)


def _cache_fds(sock: Socket) -> tuple[int, int]:
    """The readiness descriptors never change for a socket's life: look them up once."""
    for opt in (NN_RCVFD, NN_SNDFD):
        try:
            fd = int(_core.nn_getsockopt(sock._s, NN_SOL_SOCKET, opt))
        except NNError:
            fd = -1
        if opt == NN_RCVFD:
            sock._recv_fd = fd
        else:
            sock._send_fd = fd
    return sock._recv_fd, sock._send_fd


async def arecv(sock: Socket) -> bytes:
    """Socket.arecv(): see its docstring."""
    sock._check_open()
    s = sock._s
    msg = _core.try_recv(s)
    if msg is not None:
        return msg
    timeout = sock.recv_timeout
    fd = sock._recv_fd if sock._recv_fd >= 0 else _cache_fds(sock)[0]
    while True:
        await _wait_readable(fd, timeout)
        sock._check_open()
        msg = _core.try_recv(s)
        if msg is not None:
            return msg


async def asend(sock: Socket, data: Any) -> int:
    """Socket.asend(): see its docstring."""
    sock._check_open()
    s = sock._s
    n = _core.try_send(s, data)
    if n is not None:
        return n
    timeout = sock.send_timeout
    fd = sock._send_fd if sock._send_fd >= 0 else _cache_fds(sock)[1]
    while True:
        await _wait_readable(fd, timeout)
        sock._check_open()
        n = _core.try_send(s, data)
        if n is not None:
            return n


async def anext(sock: Socket) -> bytes:
    """Socket.__anext__(): the next message; StopAsyncIteration once the socket is closed."""
    try:
        return await arecv(sock)
    except NNError as e:
        if e.errno == EBADF:
            raise StopAsyncIteration from None
        raise


async def ctx_arecv(ctx: Context) -> bytes:
    """Context.arecv(): see its docstring."""
    s = ctx._check()
    try:
        return _core.ctx_recv(s, ctx.id, NN_DONTWAIT)
    except Again:
        pass
    timeout = ctx.socket.recv_timeout
    fd = _core.ctx_recv_fd(s, ctx.id)
    while True:
        await _wait_readable(fd, timeout)
        try:
            return _core.ctx_recv(ctx._check(), ctx.id, NN_DONTWAIT)
        except Again:
            continue


async def ctx_asend(ctx: Context, data: Any) -> int:
    """Context.asend(): context sends never block."""
    return ctx.send(data)
