"""trio: asend/arecv/async for work under trio (and anyio on trio), with the same promises as
under asyncio: a cancelled receive consumes nothing, many tasks may wait on one socket,
``async for`` ends when the socket closes, recv_timeout is honoured."""

from __future__ import annotations

import time
from typing import Any

import pytest
from conftest import skip_or_fail, wait_connected

import nanopy
from nanopy import _aio

try:
    import trio
except ImportError:  # pragma: no cover - CI installs it
    trio = None


@pytest.fixture(autouse=True)
def _need_trio() -> None:
    if trio is None:
        skip_or_fail("trio is not installed")


def _pair(sock, addr):
    url = addr()
    a = sock(nanopy.PAIR, bind=url)
    b = sock(nanopy.PAIR, connect=url)
    wait_connected(b.id)
    return a, b


def run(fn: Any, *args: Any, timeout: float = 10) -> Any:
    async def main() -> Any:
        with trio.fail_after(timeout):
            return await fn(*args)

    return trio.run(main)


def test_arecv_gets_a_message_sent_later(sock, addr) -> None:
    a, b = _pair(sock, addr)

    async def main() -> bytes:
        async with trio.open_nursery() as nursery:
            async def later() -> None:
                await trio.sleep(0.05)
                await b.asend(b"later")

            nursery.start_soon(later)
            return await a.arecv()

    assert run(main) == b"later"


def test_asend_and_arecv_round_trip(sock, addr) -> None:
    url = addr()
    rep = sock(nanopy.REP, bind=url)
    req = sock(nanopy.REQ, connect=url)
    wait_connected(req.id)

    async def main() -> list[bytes]:
        out: list[bytes] = []

        async def server() -> None:
            for _ in range(20):
                await rep.asend(b"re:" + await rep.arecv())

        async with trio.open_nursery() as nursery:
            nursery.start_soon(server)
            for i in range(20):
                await req.asend(b"%d" % i)
                out.append(await req.arecv())
        return out

    assert run(main) == [b"re:%d" % i for i in range(20)]


def test_cancelled_arecv_leaves_the_message_for_the_next_one(sock, addr) -> None:
    a, b = _pair(sock, addr)

    async def main() -> bytes:
        with trio.move_on_after(0.05) as scope:
            await a.arecv()
        assert scope.cancelled_caught
        b.send(b"kept")
        return await a.arecv()

    assert run(main) == b"kept"


def test_arecv_in_a_cancelled_scope_takes_nothing(sock, addr) -> None:
    """Cancelled before it starts (the message is already queued): it raises Cancelled and
    the message stays."""
    a, b = _pair(sock, addr)
    b.send(b"queued")
    time.sleep(0.05)

    async def main() -> bytes:
        with trio.CancelScope() as scope:
            scope.cancel()
            await a.arecv()
            raise AssertionError("arecv returned in a cancelled scope")
        return await a.arecv()

    assert run(main) == b"queued"


def test_arecv_honours_recv_timeout(sock, addr) -> None:
    a, _ = _pair(sock, addr)
    a.recv_timeout = 100

    async def main() -> None:
        with pytest.raises(nanopy.Timeout):
            await a.arecv()

    run(main)


def test_async_for_ends_when_the_socket_is_closed(sock, addr) -> None:
    a, b = _pair(sock, addr)

    async def main() -> list[bytes]:
        got: list[bytes] = []

        async def reader() -> None:
            async for m in a:
                got.append(m)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(reader)
            b.send(b"one")
            await trio.sleep(0.1)
            a.close()
        return got

    assert run(main) == [b"one"]


def test_many_tasks_wait_on_one_socket(sock, addr) -> None:
    url = addr()
    pull = sock(nanopy.PULL, bind=url)
    push = sock(nanopy.PUSH, connect=url)
    wait_connected(push.id)

    async def main() -> list[bytes]:
        got: list[bytes] = []

        async def one() -> None:
            got.append(await pull.arecv())

        async with trio.open_nursery() as nursery:
            for _ in range(5):
                nursery.start_soon(one)
            await trio.sleep(0.05)
            for i in range(5):
                push.send(b"%d" % i)
        return sorted(got)

    assert run(main) == [b"%d" % i for i in range(5)]


def test_async_for_streams_in_order(sock, addr) -> None:
    url = addr()
    pull = sock(nanopy.PULL, bind=url)
    push = sock(nanopy.PUSH, connect=url)
    wait_connected(push.id)
    n = 2000

    async def main() -> list[bytes]:
        got: list[bytes] = []
        async with trio.open_nursery() as nursery:
            nursery.start_soon(trio.to_thread.run_sync,
                               lambda: [push.send(b"%d" % i) for i in range(n)])
            async for m in pull:
                got.append(m)
                if len(got) == n:
                    break
        return got

    assert run(main, timeout=30) == [b"%d" % i for i in range(n)]


def test_asend_honours_send_timeout(sock, addr) -> None:
    push = sock(nanopy.PUSH, bind=addr())
    push.send_timeout = 100

    async def main() -> None:
        with pytest.raises(nanopy.Timeout):
            await push.asend(b"nobody is connected")

    run(main)


def test_idle_wait_costs_no_cpu(sock, addr) -> None:
    a, b = _pair(sock, addr)

    async def main() -> float:
        for _ in range(50):
            b.send(b"warm")
            await a.arecv()
        a.recv_timeout = 1500
        cpu0 = time.process_time()
        with pytest.raises(nanopy.Timeout):
            await a.arecv()
        return time.process_time() - cpu0

    assert run(main) < 0.2


def test_wait_readable_on_a_descriptor(sock, addr) -> None:
    a, b = _pair(sock, addr)

    async def main() -> bytes:
        async with trio.open_nursery() as nursery:
            for _ in range(3):
                nursery.start_soon(_aio.wait_readable, a.recv_fd)
            await trio.sleep(0.05)
            b.send(b"ready")
        with pytest.raises(nanopy.Timeout):
            await _aio.wait_readable(b.recv_fd, timeout=50)
        return a.recv(block=False)

    assert run(main) == b"ready"


def test_contexts_under_trio(sock, addr) -> None:
    url = addr()
    rep = sock(nanopy.REP, bind=url)
    req = sock(nanopy.REQ, connect=url)
    wait_connected(req.id)

    async def main() -> list[bytes]:
        out: list[bytes] = []

        async def server() -> None:
            for _ in range(4):
                await rep.asend(await rep.arecv() + b"!")

        async def client(ctx: nanopy.Context, i: int) -> None:
            await ctx.asend(b"%d" % i)
            out.append(await ctx.arecv())

        async with trio.open_nursery() as nursery:
            nursery.start_soon(server)
            for i in range(4):
                nursery.start_soon(client, req.context(), i)
        return sorted(out)

    assert run(main) == [b"%d!" % i for i in range(4)]


def test_anyio_on_trio(sock, addr) -> None:
    try:
        import anyio
    except ImportError:
        skip_or_fail("anyio is not installed")
    a, b = _pair(sock, addr)

    async def main() -> bytes:
        await b.asend(b"via anyio")
        return await a.arecv()

    assert anyio.run(main, backend="trio") == b"via anyio"
    assert anyio.run(main, backend="asyncio") == b"via anyio"
