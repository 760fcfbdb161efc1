"""send_many over byte streams: runs of small messages are framed into one write, and the
receiver still gets every message, whole and in order, whatever the mix of sizes."""

from __future__ import annotations

import threading

from conftest import make_address, wait_connected

import nanopy

# Sizes around the limits of a run: empty, tiny, the largest copied (1 KiB), the smallest
# sent alone, and messages large enough to go out by reference or be lent.
SIZES = [0, 1, 63, 64, 1023, 1024, 1025, 4096, 70000, 64, 0, 2]


def _payloads(count: int):
    out = []
    for i in range(count):
        size = SIZES[i % len(SIZES)]
        tag = i.to_bytes(4, "big")
        out.append((tag * (size // 4 + 1))[:size])
    return out


def _pair(nn, address: str):
    rx, tx = nn(nanopy.NN_PAIR), nn(nanopy.NN_PAIR)
    nanopy.nn_setsockopt(rx, nanopy.NN_SOL_SOCKET, nanopy.NN_RCVTIMEO, 10000)
    nanopy.nn_bind(rx, address)
    nanopy.nn_connect(tx, address)
    wait_connected(tx)
    return rx, tx


def _receive(rx: int, count: int):
    got = []
    while len(got) < count:
        got.extend(nanopy.recv_many(rx, 256))
    return got


def test_mixed_sizes_arrive_whole_and_in_order(nn, transport, tmp_ipc_dir) -> None:
    rx, tx = _pair(nn, make_address(transport, tmp_ipc_dir))
    sent = _payloads(3000)
    # bytes, bytearray and memoryview items in one batch
    items = [bytearray(m) if i % 7 == 3 else memoryview(m) if i % 11 == 5 else m
             for i, m in enumerate(sent)]
    got = []
    reader = threading.Thread(target=lambda: got.extend(_receive(rx, len(sent))))
    reader.start()
    for start in range(0, len(items), 300):
        chunk = items[start:start + 300]
        done = 0
        while done < len(chunk):
            done += nanopy.send_many(tx, chunk[done:])
    reader.join(30)
    assert not reader.is_alive()
    assert len(got) == len(sent)
    for i, (a, b) in enumerate(zip(got, sent)):
        assert a == b, f"message {i}: {len(a)} bytes, expected {len(b)}"
    assert nanopy.nn_get_statistic(tx, nanopy.NN_STAT_MESSAGES_SENT) == len(sent)
    assert nanopy.nn_get_statistic(tx, nanopy.NN_STAT_BYTES_SENT) == sum(map(len, sent))


def test_small_send_buffer_and_dontwait_lose_nothing(nn, tmp_ipc_dir) -> None:
    # A tiny NN_SNDBUF: runs are capped by it and a non-blocking batch stops part way;
    # resending the rest delivers every message exactly once.
    rx, tx = _pair(nn, make_address("tcp", tmp_ipc_dir))
    nanopy.nn_setsockopt(tx, nanopy.NN_SOL_SOCKET, nanopy.NN_SNDBUF, 512)
    sent = [i.to_bytes(4, "big") * 10 for i in range(20000)]
    done = 0
    partial = 0
    while done < len(sent):
        try:
            n = nanopy.send_many(tx, sent[done:done + 1000], nanopy.NN_DONTWAIT)
        except nanopy.NNError as exc:
            assert exc.errno == nanopy.EAGAIN
            n = 0
        partial += n < len(sent[done:done + 1000])
        done += n
        if n == 0:
            got_some = nanopy.recv_many(rx, 256)  # make room
            sent_prefix = len(got_some)
            assert got_some == sent[:sent_prefix]
            sent = sent[sent_prefix:]
            done -= sent_prefix
    got = _receive(rx, len(sent))
    assert got == sent
