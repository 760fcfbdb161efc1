"""Async glue for Socket and Context: waiting on the readiness descriptors from a coroutine,
under asyncio (and uvloop, or any loop with ``add_reader``) and trio.

The socket and context methods (``asend``, ``arecv``, ``async for``) are thin and delegate
here; every function takes the socket (or context) as its first argument.

How a receive waits (asyncio): one reader callback per (loop, descriptor), a
:class:`_Watcher`, stays registered while the socket is in use. When the descriptor turns
readable the callback takes the messages out of the C queue itself and hands each to a
waiting coroutine's future, so the coroutine resumes with its message in the next loop
iteration and nothing is left readable behind it. A callback that finds nobody waiting
removes the reader (a level-triggered descriptor with a message nobody wants would
otherwise wake the loop again and again); the next wait adds it back. An idle socket
therefore costs nothing: its descriptor is not readable, or not watched.

The one delicate case is a coroutine cancelled after its message was taken but before it
resumed (both in the same loop iteration): the message goes to the next waiter of that
socket, or is kept on the socket for the next ``arecv()``/``async for``, so a cancelled
receive still consumes nothing.
"""

from __future__ import annotations

import os
import sys
import time
from collections import deque
from typing import TYPE_CHECKING, Any, Callable, Optional

from . import _core
from .constants import (
    EBADF,
    ENOTSUP,
    ETIMEDOUT,
    NN_DONTWAIT,
    NN_RCVFD,
    NN_RCVTIMEO,
    NN_SNDFD,
    NN_SNDTIMEO,
    NN_SOL_SOCKET,
)
from .errors import Again, NNError, Timeout, error_for

if TYPE_CHECKING:
    import asyncio

    from .socket import Context, Socket

try:  # the C accelerated lookup: None when no asyncio loop runs in this thread
    from asyncio import _get_running_loop
except ImportError:  # pragma: no cover - every supported Python has it
    from asyncio.events import _get_running_loop

__all__ = ["wait_readable", "notify_closing"]

_try_recv = _core.try_recv
_try_send = _core.try_send
_ns = time.perf_counter_ns
_cpu_ns = time.thread_time_ns


def _spin_budget() -> int:
    """Nanoseconds an arecv() that finds nothing polls the queue before parking on the
    descriptor (NANOPY_ASYNC_SPIN_US; 0 turns the poll off)."""
    try:
        return max(0, int(os.environ.get("NANOPY_ASYNC_SPIN_US", "50"))) * 1000
    except ValueError:
        return 50_000


_SPIN = _spin_budget()
_SPIN_BACKOFF_MAX = 1024


def _ensure_open(sock: Socket) -> int:
    """The socket's C id; EBADF when it is closed or was inherited through fork()."""
    return int(sock.id)


# ---- per-socket state --------------------------------------------------------------------


class _SocketState:
    """What the async layer remembers about one socket: its readiness descriptors (fixed
    for the socket's life) and the messages of receives cancelled too late."""

    __slots__ = ("s", "recv_fd", "send_fd", "held", "closed", "watchers", "spin_skip",
                 "spin_backoff")

    def __init__(self, s: int) -> None:
        self.s = s
        self.recv_fd = self._fd(NN_RCVFD)
        self.send_fd = self._fd(NN_SNDFD)
        self.held: deque[bytes] = deque()
        self.closed = False
        self.watchers: list[_Watcher] = []
        self.spin_skip = 0  # receives left that park at once, without polling first
        self.spin_backoff = 1

    def _fd(self, option: int) -> int:
        try:
            return int(_core.nn_getsockopt(self.s, NN_SOL_SOCKET, option))
        except NNError:
            return -1  # this protocol cannot receive (or send)

    def take(self) -> Optional[bytes]:
        """The next message for a waiting arecv(), or None when there is none yet."""
        if self.held:
            return self.held.popleft()
        if self.closed:
            raise error_for(EBADF, "socket is closed")
        return _try_recv(self.s)


def _spin(st: _SocketState) -> Optional[bytes]:
    """Poll the C queue for a short while before parking: when the reply comes within
    microseconds this saves the trip through the event loop (two loop iterations).

    Polling pays only while this thread has a CPU to itself. When it does not catch a
    message, or catches one only after being descheduled (the peer, or this process's I/O
    thread, needed the CPU we were burning), receives park at once for the next 2, 4, 8,
    ... 1024 calls. An idle socket therefore costs one short poll now and then, never a
    busy wait.
    """
    s = st.s
    t0 = _ns()
    c0 = _cpu_ns()
    end = t0 + _SPIN
    while True:
        msg = _try_recv(s)
        if msg is not None:
            break
        if _ns() >= end:
            break
    if msg is not None and (_cpu_ns() - c0) * 4 >= (_ns() - t0) * 3:
        st.spin_backoff = 1  # caught it with the CPU to ourselves: keep polling
        return msg
    st.spin_backoff = min(st.spin_backoff * 2, _SPIN_BACKOFF_MAX)
    st.spin_skip = st.spin_backoff
    return msg


def _state(sock: Socket) -> _SocketState:
    st: Optional[_SocketState] = sock.__dict__.get("_aio")
    if st is None:
        st = sock.__dict__["_aio"] = _SocketState(sock.id)
    return st


# ---- asyncio: one watcher per (loop, descriptor) -------------------------------------------

# A waiter is [future, taker]: taker is a _SocketState (the callback receives for the
# coroutine) or None (the callback only wakes it; it retries by itself).
_watchers: dict[tuple[int, int], _Watcher] = {}


class _Watcher:
    """The reader callback of one descriptor on one loop, shared by every coroutine that
    waits on it (asyncio allows one reader per descriptor)."""

    __slots__ = ("loop", "fd", "key", "waiters", "registered", "owner")

    def __init__(self, loop: asyncio.AbstractEventLoop, fd: int,
                 owner: Optional[_SocketState]) -> None:
        self.loop = loop
        self.fd = fd
        self.key = (id(loop), fd)
        self.waiters: deque[list[Any]] = deque()
        self.registered = False
        self.owner = owner  # the socket whose receive descriptor this is (kept registered)

    def add(self, fut: asyncio.Future[Any], taker: Optional[_SocketState]) -> list[Any]:
        entry = [fut, taker]
        self.waiters.append(entry)
        if not self.registered:
            self.loop.add_reader(self.fd, self.on_readable)
            self.registered = True
        return entry

    def discard(self, entry: list[Any]) -> None:
        try:
            self.waiters.remove(entry)
        except ValueError:
            pass
        if not self.waiters and self.owner is None:
            self.drop()

    def on_readable(self) -> None:
        waiters = self.waiters
        if not waiters:
            # Readable and nobody waits: stop watching until somebody does.
            self.unregister()
            if self.owner is None:
                self.drop()
            return
        starved = None  # the taker that found its queue empty in this pass
        for _ in range(len(waiters)):
            entry = waiters.popleft()
            fut, taker = entry
            if fut.done():
                continue  # cancelled or timed out
            if taker is None:
                fut.set_result(None)
                continue
            if taker is starved:
                waiters.append(entry)
                continue
            try:
                msg = taker.take()
            except BaseException as exc:  # noqa: BLE001 - delivered to the coroutine
                fut.set_exception(exc)
                continue
            if msg is None:
                starved = taker
                waiters.append(entry)
            else:
                fut.set_result(msg)

    def unregister(self) -> None:
        if self.registered:
            self.registered = False
            try:
                self.loop.remove_reader(self.fd)
            except (OSError, RuntimeError, ValueError):
                pass  # the loop is closed, or the descriptor already is

    def drop(self) -> None:
        """Forget this watcher (its descriptor is closing, or nobody needs it)."""
        self.unregister()
        if _watchers.get(self.key) is self:
            del _watchers[self.key]
        if self.owner is not None and self in self.owner.watchers:
            self.owner.watchers.remove(self)

    def fail_all(self, exc_factory: Callable[[], BaseException]) -> None:
        while self.waiters:
            fut, taker = self.waiters.popleft()
            if not fut.done():
                if taker is None:
                    fut.set_result(None)  # it retries and sees the closed socket itself
                else:
                    fut.set_exception(exc_factory())


def _watcher(loop: asyncio.AbstractEventLoop, fd: int,
             owner: Optional[_SocketState]) -> _Watcher:
    key = (id(loop), fd)
    w = _watchers.get(key)
    if w is not None and w.loop is loop:
        if owner is None or w.owner is owner:
            return w
        if w.owner is None:
            w.owner = owner
            owner.watchers.append(w)
            return w
        # The descriptor number belonged to a socket closed behind our back (nn_close on
        # its id, nn_term): that registration is stale.
        w.fail_all(lambda: error_for(EBADF, "socket is closed"))
        w.drop()
    w = _watchers[key] = _Watcher(loop, fd, owner)
    if owner is not None:
        for old in [o for o in owner.watchers if o.loop.is_closed()]:
            old.drop()  # a socket outliving several asyncio.run() calls
        owner.watchers.append(w)
    return w


def _expire(fut: asyncio.Future[Any]) -> None:
    if not fut.done():
        fut.set_exception(Timeout(ETIMEDOUT))


def _give_back(st: _SocketState, w: _Watcher, msg: bytes) -> None:
    """A receive was cancelled after its message was taken: the next waiter of this socket
    gets it, or it waits on the socket for the next arecv()."""
    for entry in w.waiters:
        fut, taker = entry
        if taker is st and not fut.done():
            w.waiters.remove(entry)
            fut.set_result(msg)
            return
    st.held.append(msg)


async def _asyncio_wait(loop: asyncio.AbstractEventLoop, fd: int,
                        deadline: Optional[float]) -> None:
    """Wait until ``fd`` is readable (or ``deadline``, loop time: nanopy.Timeout)."""
    w = _watcher(loop, fd, None)
    fut = loop.create_future()
    entry = w.add(fut, None)
    timer = loop.call_at(deadline, _expire, fut) if deadline is not None else None
    try:
        await fut
    finally:
        if timer is not None:
            timer.cancel()
        w.discard(entry)


# ---- trio ----------------------------------------------------------------------------------


class _TrioFd:
    """trio lets one task at a time wait on a descriptor: the first waiter polls, the
    others park and are woken with it."""

    __slots__ = ("polling", "lot")

    def __init__(self, lot: Any) -> None:
        self.polling = False
        self.lot = lot


_trio_fds: dict[tuple[int, int], _TrioFd] = {}


def _trio_running() -> Any:
    """The trio module when this thread runs trio, else None."""
    trio = sys.modules.get("trio")
    if trio is None:
        return None
    try:
        trio.lowlevel.current_trio_token()
    except RuntimeError:
        return None
    return trio


def _no_loop() -> RuntimeError:
    return RuntimeError("nanopy's async calls need a running asyncio (or uvloop) or trio loop")


async def _trio_wait(trio: Any, fd: int, deadline: Optional[float]) -> None:
    key = (id(trio.lowlevel.current_trio_token()), fd)
    with trio.move_on_at(deadline if deadline is not None else float("inf")) as scope:
        tfd = _trio_fds.get(key)
        if tfd is None:
            tfd = _trio_fds[key] = _TrioFd(trio.lowlevel.ParkingLot())
        if tfd.polling:
            await tfd.lot.park()
        else:
            tfd.polling = True
            try:
                await trio.lowlevel.wait_readable(fd)
            except trio.ClosedResourceError:
                pass  # closing: the caller retries and finds the socket closed
            finally:
                tfd.polling = False
                tfd.lot.unpark_all()
                if _trio_fds.get(key) is tfd:
                    del _trio_fds[key]
    if scope.cancelled_caught:
        raise Timeout(ETIMEDOUT)


def _trio_deadline(trio: Any, timeout_ms: int) -> Optional[float]:
    return trio.current_time() + timeout_ms / 1000 if timeout_ms >= 0 else None


async def _trio_recv(trio: Any, sock: Socket) -> bytes:
    await trio.lowlevel.checkpoint_if_cancelled()
    st = _state(sock)
    deadline = None
    first = True
    while True:
        _ensure_open(sock)
        msg = st.take()
        if msg is not None:
            # A checkpoint that cannot be cancelled: the message is ours now.
            await trio.lowlevel.cancel_shielded_checkpoint()
            return msg
        if first:
            first = False
            timeout = int(_core.nn_getsockopt(st.s, NN_SOL_SOCKET, NN_RCVTIMEO))
            deadline = _trio_deadline(trio, timeout)
        await _trio_wait(trio, st.recv_fd, deadline)


# ---- the public pieces ---------------------------------------------------------------------


async def wait_readable(fd: int, timeout: Optional[int] = None) -> None:
    """Wait until the descriptor ``fd`` is readable, under asyncio, uvloop or trio.

    Several coroutines may wait on one descriptor. A readiness descriptor stays readable
    until its queue is drained, so the caller must take what is there (non-blocking) and
    wait again if another waiter got it first.

    Parameters
    ----------
    fd:
        An OS descriptor (``Socket.recv_fd``, ``Socket.send_fd``, a monitor's).
    timeout:
        Milliseconds; None (or negative) waits for ever.

    Raises
    ------
    nanopy.Timeout
        When ``timeout`` passes first.
    RuntimeError
        When no asyncio or trio loop runs in this thread.
    """
    loop = _get_running_loop()
    if loop is not None:
        deadline = loop.time() + timeout / 1000 if timeout is not None and timeout >= 0 \
            else None
        await _asyncio_wait(loop, fd, deadline)
        return
    trio = _trio_running()
    if trio is None:
        raise _no_loop()
    await _trio_wait(trio, fd, _trio_deadline(trio, -1 if timeout is None else timeout))


def notify_closing(fd: int) -> None:
    """Call before closing a descriptor coroutines may wait on (from the loop's thread):
    asyncio waiters are woken and stop watching it, and trio is told (trio requires it)."""
    for key, w in list(_watchers.items()):
        if key[1] != fd:
            continue
        if w.loop is _get_running_loop():
            w.fail_all(lambda: error_for(EBADF, "socket is closed"))
            w.drop()
        else:  # another thread's loop: the callback runs there and the waiters retry
            del _watchers[key]
            try:
                w.loop.call_soon_threadsafe(_drop_elsewhere, w)
            except RuntimeError:
                pass  # that loop is closed
    if _trio_fds:
        trio = _trio_running()
        if trio is not None and any(k[1] == fd for k in _trio_fds):
            trio.lowlevel.notify_closing(fd)


def _drop_elsewhere(w: _Watcher) -> None:
    w.fail_all(lambda: error_for(EBADF, "socket is closed"))
    w.unregister()


def wake_on_close(sock: Socket) -> None:
    """Called by Socket.close() before nn_close: the coroutines waiting on the socket see it
    closed (EBADF; ``async for`` ends), and its descriptors are no longer watched."""
    st = sock.__dict__.get("_aio")
    if st is None:
        return  # never waited on
    st.closed = True
    for fd in (st.recv_fd, st.send_fd):
        if fd >= 0:
            notify_closing(fd)


# ---- Socket and Context methods ----------------------------------------------------------


async def arecv(sock: Socket) -> bytes:
    """Receive one message without blocking the event loop (asyncio, uvloop or trio).

    Honours ``recv_timeout`` (``nanopy.Timeout``). A cancelled call consumes nothing: the
    message stays for the next receiver. Many coroutines may wait on one socket; each
    message goes to one of them.

    Returns
    -------
    bytes
        The message body.

    Raises
    ------
    nanopy.NNError
        EBADF once the socket is closed (also while waiting), ENOTSUP for a protocol that
        cannot receive.
    nanopy.Timeout
        When ``recv_timeout`` ms pass without a message.
    """
    s = sock.id  # EBADF when closed
    loop = _get_running_loop()
    if loop is None:
        trio = _trio_running()
        if trio is None:
            raise _no_loop()
        return await _trio_recv(trio, sock)
    st: Optional[_SocketState] = sock.__dict__.get("_aio")
    if st is None or not st.held:
        msg = _try_recv(s)  # the fast path: a message is already queued
        if msg is not None:
            return msg
        if st is None:
            st = _state(sock)
    else:
        return st.held.popleft()
    if st.recv_fd < 0:
        raise error_for(ENOTSUP, "this protocol cannot receive")
    if _SPIN:
        if st.spin_skip:
            st.spin_skip -= 1
        else:
            msg = _spin(st)
            if msg is not None:
                return msg
    for w in st.watchers:
        if w.loop is loop:
            break
    else:
        w = _watcher(loop, st.recv_fd, st)
    fut = loop.create_future()
    entry = w.add(fut, st)
    timeout = int(_core.nn_getsockopt(st.s, NN_SOL_SOCKET, NN_RCVTIMEO))
    timer = loop.call_later(timeout / 1000, _expire, fut) if timeout >= 0 else None
    try:
        got: bytes = await fut
        return got
    except BaseException:
        if fut.done() and not fut.cancelled() and fut.exception() is None:
            _give_back(st, w, fut.result())
        else:
            w.discard(entry)
        raise
    finally:
        if timer is not None:
            timer.cancel()


async def _send_wait(sock: Socket, fd: int, send: Callable[[], Any]) -> Any:
    """Wait for room on ``fd`` and retry ``send`` until it goes (or the timeout passes)."""
    loop = _get_running_loop()
    trio = None
    if loop is None:
        trio = _trio_running()
        if trio is None:
            raise _no_loop()
    timeout = int(_core.nn_getsockopt(sock.id, NN_SOL_SOCKET, NN_SNDTIMEO))
    if loop is not None:
        deadline = loop.time() + timeout / 1000 if timeout >= 0 else None
    else:
        deadline = _trio_deadline(trio, timeout)
    while True:
        if loop is not None:
            await _asyncio_wait(loop, fd, deadline)
        else:
            await _trio_wait(trio, fd, deadline)
        _ensure_open(sock)
        n = send()
        if n is not None:
            return n


async def asend(sock: Socket, data: Any) -> int:
    """Send one message without blocking the event loop (asyncio, uvloop or trio).

    Honours ``send_timeout``; a call cancelled while it waits for room sends nothing.

    Parameters
    ----------
    data:
        Any bytes-like object.

    Returns
    -------
    int
        The number of bytes sent.

    Raises
    ------
    nanopy.NNError
        EBADF once the socket is closed, ENOTSUP for a protocol that cannot send.
    nanopy.Timeout
        When ``send_timeout`` ms pass without room.
    """
    s = sock.id  # EBADF when closed
    trio = None
    if _get_running_loop() is None:
        trio = _trio_running()
        if trio is None:
            raise _no_loop()
        await trio.lowlevel.checkpoint_if_cancelled()
    n = _try_send(s, data)
    if n is None:
        st = _state(sock)
        n = await _send_wait(sock, st.send_fd, lambda: _try_send(s, data))
    elif trio is not None:
        await trio.lowlevel.cancel_shielded_checkpoint()
    return int(n)


async def anext(sock: Socket) -> bytes:
    """``async for msg in sock``: the next message; the loop ends once the socket is
    closed (from any coroutine or thread)."""
    try:
        return await arecv(sock)
    except NNError as e:
        if e.errno == EBADF:
            raise StopAsyncIteration from None
        raise


async def ctx_arecv(ctx: Context) -> bytes:
    """Context.arecv(): see its docstring."""
    s = ctx._check()
    trio = None
    if _get_running_loop() is None:
        trio = _trio_running()
        if trio is None:
            raise _no_loop()
        await trio.lowlevel.checkpoint_if_cancelled()
    try:
        msg = _core.ctx_recv(s, ctx.id, NN_DONTWAIT)
        if trio is not None:
            await trio.lowlevel.cancel_shielded_checkpoint()
        return msg
    except Again:
        pass
    timeout = int(_core.nn_getsockopt(s, NN_SOL_SOCKET, NN_RCVTIMEO))
    fd = _core.ctx_recv_fd(s, ctx.id)
    loop = _get_running_loop()
    deadline = None
    if loop is not None and timeout >= 0:
        deadline = loop.time() + timeout / 1000
    elif trio is not None:
        deadline = _trio_deadline(trio, timeout)
    while True:
        if loop is not None:
            await _asyncio_wait(loop, fd, deadline)
        else:
            await _trio_wait(trio, fd, deadline)
        try:
            return _core.ctx_recv(ctx._check(), ctx.id, NN_DONTWAIT)
        except Again:
            continue


async def ctx_asend(ctx: Context, data: Any) -> int:
    """Context.asend(): context sends never block."""
    return ctx.send(data)
