"""asyncio: arecv/asend on the readiness descriptors, cancellation, timeouts, close."""

from __future__ import annotations

import asyncio

import pytest
from conftest import wait_connected

import nanopy


def run(coro, timeout: float = 10):
    return asyncio.run(asyncio.wait_for(coro, timeout))


def _pair(sock, addr):
    url = addr()
    a = sock(nanopy.PAIR, bind=url)
    b = sock(nanopy.PAIR, connect=url)
    wait_connected(b.id)
    return a, b


def test_arecv_gets_a_message_sent_later(sock, addr) -> None:
    a, b = _pair(sock, addr)

    async def main() -> bytes:
        asyncio.get_running_loop().call_later(0.05, b.send, b"later")
        return await a.arecv()

    assert run(main()) == b"later"


def test_asend_and_arecv_round_trip(sock, addr) -> None:
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


def test_cancelled_arecv_leaves_the_message_for_the_next_one(sock, addr) -> None:
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


def test_arecv_honours_recv_timeout(sock, addr) -> None:
    a, _ = _pair(sock, addr)
    a.recv_timeout = 100

    async def main() -> None:
        with pytest.raises(nanopy.Timeout):
            await a.arecv()

    run(main())


def test_async_for_ends_when_the_socket_is_closed_on_the_loop(sock, addr) -> None:
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


def test_many_coroutines_wait_on_one_socket(sock, addr) -> None:
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


def test_async_with(addr) -> None:
    url = addr()

    async def main() -> bytes:
        async with nanopy.Socket(nanopy.PAIR, bind=url) as a, \
                nanopy.Socket(nanopy.PAIR, connect=url) as b:
            await b.asend(b"ctx")
            return await a.arecv()

    assert run(main()) == b"ctx"
