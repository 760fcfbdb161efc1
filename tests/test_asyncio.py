"""asyncio and uvloop: arecv/asend on the readiness descriptors, cancellation, timeouts,
close, many waiters, and no CPU spent while a coroutine waits on an idle socket.

Every test runs under the standard asyncio loop and under uvloop (the ``run`` fixture)."""

from __future__ import annotations

import asyncio
import time
from typing import Any, Awaitable, Callable

import pytest
from conftest import skip_or_fail, wait_connected

import nanopy
from nanopy import _aio

Runner = Callable[..., Any]


def _new_loop(kind: str) -> asyncio.AbstractEventLoop:
    if kind == "uvloop":
        try:
            import uvloop
        except ImportError:
            skip_or_fail("uvloop is not installed")
        return uvloop.new_event_loop()
    return asyncio.new_event_loop()


@pytest.fixture(params=["asyncio", "uvloop"])
def run(request: pytest.FixtureRequest) -> Runner:
    """Run a coroutine to completion on a fresh loop of the parametrised kind."""
    kind = request.param

    def runner(coro: Awaitable[Any], timeout: float = 10) -> Any:
        loop = _new_loop(kind)
        try:
            return loop.run_until_complete(asyncio.wait_for(coro, timeout))
        finally:
            loop.close()

    return runner


def _pair(sock, addr):
    url = addr()
    a = sock(nanopy.PAIR, bind=url)
    b = sock(nanopy.PAIR, connect=url)
    wait_connected(b.id)
    return a, b


def test_arecv_gets_a_message_sent_later(run, sock, addr) -> None:
    a, b = _pair(sock, addr)

    async def main() -> bytes:
        asyncio.get_running_loop().call_later(0.05, b.send, b"later")
        return await a.arecv()

    assert run(main()) == b"later"


def test_asend_and_arecv_round_trip(run, sock, addr) -> None:
    url = addr()
    rep = sock(nanopy.REP, bind=url)
    req = sock(nanopy.REQ, connect=url)
    wait_connected(req.id)

    async def server() -> None:
        for _ in range(20):
            await rep.asend(b"re:" + await rep.arecv())

    async def client() -> list[bytes]:
        out = []
        for i in range(20):
            await req.asend(b"%d" % i)
            out.append(await req.arecv())
        return out

    async def main() -> list[bytes]:
        srv = asyncio.ensure_future(server())
        res = await client()
        await srv
        return res

    assert run(main()) == [b"re:%d" % i for i in range(20)]


def test_cancelled_arecv_leaves_the_message_for_the_next_one(run, sock, addr) -> None:
    a, b = _pair(sock, addr)

    async def main() -> bytes:
        t = asyncio.ensure_future(a.arecv())
        await asyncio.sleep(0.05)
        t.cancel()
        with pytest.raises(asyncio.CancelledError):
            await t
        b.send(b"kept")
        return await a.arecv()

    assert run(main()) == b"kept"


def test_arecv_cancelled_after_its_message_was_taken_passes_it_on(run, sock, addr) -> None:
    """The reader callback takes a message for a waiting coroutine, and the coroutine is
    cancelled in the same loop iteration, before it resumed: the message is not lost."""
    a, b = _pair(sock, addr)

    async def main() -> list[bytes]:
        loop = asyncio.get_running_loop()
        t = asyncio.ensure_future(a.arecv())
        await asyncio.sleep(0.05)  # t now waits on the descriptor
        b.send(b"first")
        b.send(b"second")
        # Let the reader callback run (it completes t's future), and cancel t before t
        # resumes: poll until the future holding t is done, from a plain callback.
        done = loop.create_future()

        def cancel_when_taken() -> None:
            waiter = t._fut_waiter  # type: ignore[attr-defined]
            if waiter is not None and waiter.done():
                t.cancel()
                done.set_result(True)
            elif t.done():
                done.set_result(False)
            else:
                loop.call_soon(cancel_when_taken)

        loop.call_soon(cancel_when_taken)
        cancelled_late = await done
        try:
            got = [await t]
        except asyncio.CancelledError:
            got = []
        got.append(await a.arecv())
        if len(got) < 2:
            got.append(await a.arecv())
        assert cancelled_late or t.done()
        return got

    result = run(main())
    assert result[:2] == [b"first", b"second"]


def test_arecv_honours_recv_timeout(run, sock, addr) -> None:
    a, _ = _pair(sock, addr)
    a.recv_timeout = 100

    async def main() -> None:
        with pytest.raises(nanopy.Timeout):
            await a.arecv()

    run(main())


def test_async_for_ends_when_the_socket_is_closed_on_the_loop(run, sock, addr) -> None:
    a, b = _pair(sock, addr)

    async def main() -> list[bytes]:
        got: list[bytes] = []

        async def reader() -> None:
            async for m in a:
                got.append(m)

        t = asyncio.ensure_future(reader())
        b.send(b"one")
        await asyncio.sleep(0.05)
        a.close()
        await asyncio.wait_for(t, 2)
        return got

    assert run(main()) == [b"one"]


def test_async_for_ends_when_another_thread_closes_the_socket(run, sock, addr) -> None:
    import threading

    a, b = _pair(sock, addr)
    got_one = threading.Event()

    def closer() -> None:
        got_one.wait(10)
        time.sleep(0.05)  # the reader is waiting again by now
        a.close()

    async def main() -> list[bytes]:
        loop = asyncio.get_running_loop()
        thread = loop.run_in_executor(None, closer)
        b.send(b"x")
        got = []
        async for m in a:
            got.append(m)
            got_one.set()
        await thread
        return got

    assert run(main()) == [b"x"]


def test_many_coroutines_wait_on_one_socket(run, sock, addr) -> None:
    url = addr()
    pull = sock(nanopy.PULL, bind=url)
    push = sock(nanopy.PUSH, connect=url)
    wait_connected(push.id)

    async def main() -> list[bytes]:
        waiters = [asyncio.ensure_future(pull.arecv()) for _ in range(5)]
        await asyncio.sleep(0.02)
        for i in range(5):
            push.send(b"%d" % i)
        return sorted(await asyncio.gather(*waiters))

    assert run(main()) == [b"%d" % i for i in range(5)]


def test_many_waiters_some_cancelled_lose_nothing(run, sock, addr) -> None:
    url = addr()
    pull = sock(nanopy.PULL, bind=url)
    push = sock(nanopy.PUSH, connect=url)
    wait_connected(push.id)

    async def main() -> list[bytes]:
        waiters = [asyncio.ensure_future(pull.arecv()) for _ in range(6)]
        await asyncio.sleep(0.02)
        for t in waiters[::2]:
            t.cancel()
        for i in range(6):
            push.send(b"%d" % i)
        got = [r for r in await asyncio.gather(*waiters, return_exceptions=True)
               if isinstance(r, bytes)]
        while len(got) < 6:
            got.append(await pull.arecv())
        return sorted(got)

    assert run(main()) == [b"%d" % i for i in range(6)]


def test_async_for_streams_in_order(run, sock, addr) -> None:
    url = addr()
    pull = sock(nanopy.PULL, bind=url)
    push = sock(nanopy.PUSH, connect=url)
    wait_connected(push.id)
    n = 2000

    async def main() -> list[bytes]:
        loop = asyncio.get_running_loop()
        sender = loop.run_in_executor(None, lambda: [push.send(b"%d" % i) for i in range(n)])
        got = []
        async for m in pull:
            got.append(m)
            if len(got) == n:
                break
        await sender
        return got

    assert run(main(), 30) == [b"%d" % i for i in range(n)]


def test_asend_waits_for_room_and_honours_send_timeout(run, sock, addr) -> None:
    url = addr()
    push = sock(nanopy.PUSH, bind=url)
    push.send_timeout = 100

    async def main() -> None:
        with pytest.raises(nanopy.Timeout):
            await push.asend(b"nobody is connected")

    run(main())


def test_closed_socket_raises_ebadf(run, sock, addr) -> None:
    a, _ = _pair(sock, addr)
    a.close()

    async def main() -> None:
        with pytest.raises(nanopy.NNError) as e:
            await a.arecv()
        assert e.value.errno == nanopy.EBADF
        with pytest.raises(nanopy.NNError) as e:
            await a.asend(b"x")
        assert e.value.errno == nanopy.EBADF

    run(main())


def test_idle_wait_costs_no_cpu(run, sock, addr) -> None:
    """A coroutine waiting 1.5 s on an idle socket (reader registered, nothing readable)
    spends almost no CPU: no busy wait, no bounded spin turned into a loop."""
    a, b = _pair(sock, addr)

    async def main() -> float:
        # Make the socket's receive path warm first (the reader stays registered).
        for _ in range(50):
            b.send(b"warm")
            await a.arecv()
        a.recv_timeout = 1500
        cpu0 = time.process_time()
        with pytest.raises(nanopy.Timeout):
            await a.arecv()
        return time.process_time() - cpu0

    cpu = run(main())
    # An idle wait costs a few ms; a spinning loop would cost about the whole 1.5 s.
    assert cpu < 0.2, f"waiting 1.5 s on an idle socket used {cpu:.3f} s of CPU"


def test_a_message_nobody_waits_for_does_not_wake_the_loop_again_and_again(
        run, sock, addr) -> None:
    """After a receive, a message that arrives while no coroutine waits must not keep the
    loop busy (the descriptor is level-triggered and stays readable)."""
    a, b = _pair(sock, addr)

    async def main() -> float:
        b.send(b"one")
        assert await a.arecv() == b"one"
        t = asyncio.ensure_future(a.arecv())
        await asyncio.sleep(0.01)
        b.send(b"two")
        assert await t == b"two"
        b.send(b"unread")  # nobody waits for it
        cpu0 = time.process_time()
        await asyncio.sleep(1.0)
        return time.process_time() - cpu0

    assert run(main()) < 0.2
    assert a.recv() == b"unread"


def test_async_with(run, addr) -> None:
    url = addr()

    async def main() -> bytes:
        async with nanopy.Socket(nanopy.PAIR, bind=url) as a, \
                nanopy.Socket(nanopy.PAIR, connect=url) as b:
            await b.asend(b"ctx")
            return await a.arecv()

    assert run(main()) == b"ctx"


def test_wait_readable_on_a_descriptor(run, sock, addr) -> None:
    a, b = _pair(sock, addr)

    async def main() -> bytes:
        asyncio.get_running_loop().call_later(0.05, b.send, b"ready")
        waiters = [asyncio.ensure_future(_aio.wait_readable(a.recv_fd)) for _ in range(3)]
        await asyncio.gather(*waiters)
        with pytest.raises(nanopy.Timeout):
            await _aio.wait_readable(b.recv_fd, timeout=50)
        return a.recv(block=False)

    assert run(main()) == b"ready"


def test_socket_used_from_two_loops_one_after_the_other(sock, addr) -> None:
    a, b = _pair(sock, addr)
    for kind in ("asyncio", "uvloop", "asyncio"):
        loop = _new_loop(kind)
        try:
            loop.call_later(0.02, b.send, kind.encode())
            assert loop.run_until_complete(asyncio.wait_for(a.arecv(), 5)) == kind.encode()
        finally:
            loop.close()


def test_no_thread_per_call(run, sock, addr) -> None:
    import threading

    a, b = _pair(sock, addr)

    async def main() -> int:
        before = threading.active_count()
        t = asyncio.ensure_future(a.arecv())
        await asyncio.sleep(0.05)
        during = threading.active_count()
        b.send(b"x")
        await t
        return during - before

    assert run(main()) == 0
