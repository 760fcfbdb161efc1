"""Write the hand-made seed inputs of the fuzz targets into fuzz/corpus/<target>/.

Seeds give the fuzzer the shapes that matter from the start (the wire format's worked
examples, every edge of the frame header, backtraces of every depth) so its time goes into
mutating them rather than rediscovering the format. Run it again after changing a target's
input layout; the file names are stable so git shows what changed.
"""

from __future__ import annotations

import struct
from pathlib import Path

HERE = Path(__file__).resolve().parent
HS = {name: b"\x00SP\x00" + struct.pack(">H", pid) + b"\x00\x00" for name, pid in
      [("pair", 16), ("pub", 32), ("sub", 33), ("req", 48), ("rep", 49), ("push", 80),
       ("pull", 81), ("surveyor", 98), ("respondent", 99), ("bus", 112)]}


def frame_input(ipc: bool, limit_mode: int, limit: int, hs: bytes, stream: bytes,
                seed: int = 1) -> bytes:
    """fuzz_frame.c layout: flags, 3 limit bytes, handshake, 8-byte seed, stream."""
    flags = (1 if ipc else 0) | (limit_mode << 1)
    lim = bytes([limit & 0xFF, (limit >> 8) & 0xFF, (limit >> 16) & 0xFF])
    return bytes([flags]) + lim + hs + struct.pack(">Q", seed) + stream


def tcp(payload: bytes) -> bytes:
    return struct.pack(">Q", len(payload)) + payload


def ipc(payload: bytes, kind: int = 1) -> bytes:
    return bytes([kind]) + struct.pack(">Q", len(payload)) + payload


def frame_seeds() -> dict[str, bytes]:
    req_abc = b"\x80\x00\x00\x01ABC"
    return {
        "tcp-req-example": frame_input(False, 3, (1 << 20) - 1, HS["req"], tcp(req_abc)),
        "ipc-pair-hi": frame_input(True, 3, (1 << 20) - 1, HS["pair"], ipc(b"hi")),
        "tcp-many": frame_input(False, 2, 1000, HS["pub"],
                                b"".join(tcp(bytes([i]) * i) for i in range(12)), seed=7),
        "ipc-many": frame_input(True, 2, 1000, HS["sub"],
                                b"".join(ipc(bytes([i]) * i) for i in range(12)), seed=9),
        "tcp-empty": frame_input(False, 1, 0, HS["bus"], tcp(b"") * 3),
        "tcp-over-limit": frame_input(False, 1, 4, HS["rep"], tcp(b"12345")),
        "ipc-over-limit": frame_input(True, 1, 4, HS["rep"], ipc(b"12345")),
        "tcp-2p63-unlimited": frame_input(False, 0, 0, HS["push"], struct.pack(">Q", 1 << 63)),
        "ipc-max-unlimited": frame_input(True, 0, 0, HS["pull"], b"\x01" + b"\xff" * 8),
        "ipc-bad-type": frame_input(True, 0, 0, HS["pair"], ipc(b"x", kind=2)),
        "bad-magic": frame_input(False, 0, 0, b"GET / HT", tcp(b"x")),
        "reserved-set": frame_input(False, 0, 0, b"\x00SP\x00\x00\x30\xff\xff", tcp(b"ok")),
        "tcp-partial": frame_input(False, 0, 0, HS["surveyor"], tcp(b"abcdef")[:-2]),
    }


def trie_op(op: int, small: bool, topic: bytes) -> bytes:
    assert len(topic) < 32
    return bytes([op | (4 if small else 0) | (len(topic) << 3)]) + topic


def trie_seeds() -> dict[str, bytes]:
    sub, unsub, match = 0, 1, 2
    return {
        "split-merge": b"".join([
            trie_op(sub, False, b"abcdef"), trie_op(sub, False, b"abcxyz"),
            trie_op(sub, False, b"ab"), trie_op(match, False, b"abq"),
            trie_op(unsub, False, b"ab"), trie_op(unsub, False, b"abcxyz"),
            trie_op(match, False, b"abcdefg")]),
        "empty-topic": b"".join([
            trie_op(sub, False, b""), trie_op(match, False, b"anything"),
            trie_op(unsub, False, b""), trie_op(unsub, False, b""),
            trie_op(match, False, b"x")]),
        "refcounts": b"".join([trie_op(sub, True, b"\x00\x01")] * 3 +
                              [trie_op(unsub, True, b"\x00\x01")] * 4 +
                              [trie_op(match, True, b"\x00\x01\x02")]),
        "dense": b"".join(trie_op(sub, False, bytes([b])) for b in range(0, 256, 7)) +
                 b"".join(trie_op(unsub, False, bytes([b])) for b in range(0, 256, 14)),
        "unknown-unsub": b"".join([
            trie_op(sub, False, b"abcd"), trie_op(unsub, False, b"abc"),
            trie_op(unsub, False, b"abcde"), trie_op(unsub, False, b"zz")]),
    }


def bt_req(body: bytes, pipe: int = 0, mangle: int = 0) -> bytes:
    assert len(body) < 1 << 13
    ctl = pipe | (mangle << 1) | ((len(body) >> 8) << 3)
    return bytes([ctl, len(body) & 0xFF]) + body


def bt_seeds() -> dict[str, bytes]:
    head = bytes([8]) + struct.pack(">I", 0x12345678)
    rid = struct.pack(">I", 0x80000001)
    hop = struct.pack(">I", 0x00000007)
    return {
        "one-request": head + bt_req(rid + b"hello"),
        "two-pipes": head + bt_req(rid + b"a", 0) + bt_req(rid + b"b", 1) + bt_req(rid, 0),
        "device-hops": head + bt_req(hop * 3 + rid + b"x") + bt_req(hop * 7 + rid + b"y"),
        "too-deep": head + bt_req(hop * 8 + rid + b"z") + bt_req(rid + b"ok"),
        "ttl-1": bytes([1]) + head[1:] + bt_req(hop + rid) + bt_req(rid),
        "ttl-255": bytes([255]) + head[1:] + bt_req(hop * 254 + rid + b"deep"),
        "no-final-word": head + bt_req(hop * 2 + b"\x00\x00") + bt_req(b"") + bt_req(b"\x80"),
        "mangled-replies": head + bt_req(rid + b"1", 0, 1) + bt_req(rid + b"2", 1, 2) +
                           bt_req(rid + b"3", 0, 3),
        "many": head + b"".join(bt_req(rid + bytes([i]), i & 1) for i in range(40)),
    }


def ws_frame(op: int, payload: bytes, fin: bool = True, mask: bytes = b"") -> bytes:
    """One RFC 6455 frame; masked when a 4-byte mask is given."""
    b0 = (0x80 if fin else 0) | op
    n = len(payload)
    mbit = 0x80 if mask else 0
    if n < 126:
        head = bytes([b0, mbit | n])
    elif n < 65536:
        head = bytes([b0, mbit | 126]) + struct.pack(">H", n)
    else:
        head = bytes([b0, mbit | 127]) + struct.pack(">Q", n)
    if mask:
        payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return head + mask + payload


def wsframe_input(server: bool, limit_mode: int, limit: int, stream: bytes,
                  seed: int = 1) -> bytes:
    """fuzz_wsframe.c layout: flags, 3 limit bytes, 8-byte seed, stream."""
    flags = (1 if server else 0) | (limit_mode << 1)
    lim = bytes([limit & 0xFF, (limit >> 8) & 0xFF, (limit >> 16) & 0xFF])
    return bytes([flags]) + lim + struct.pack(">Q", seed) + stream


def wsframe_seeds() -> dict[str, bytes]:
    k = b"\x12\x34\x56\x78"
    req = b"\x80\x00\x00\x01hello"
    return {
        "client-binary": wsframe_input(False, 0, 0, ws_frame(2, req)),
        "server-masked": wsframe_input(True, 0, 0, ws_frame(2, req, mask=k)),
        "fragments-ping": wsframe_input(False, 2, 1000, ws_frame(2, b"ab", fin=False) +
                                        ws_frame(9, b"p") + ws_frame(0, b"cd", fin=False) +
                                        ws_frame(0, b"e")),
        "text-utf8": wsframe_input(True, 0, 0, ws_frame(1, "h\u00e9\U0001f600".encode(),
                                                        mask=k)),
        "text-bad-utf8": wsframe_input(False, 0, 0, ws_frame(1, b"\xc0\xaf")),
        "len16": wsframe_input(False, 3, 0, ws_frame(2, b"x" * 300)),
        "len64": wsframe_input(True, 3, 0, ws_frame(2, b"y" * 70000, mask=k), seed=5),
        "over-limit": wsframe_input(False, 1, 4, ws_frame(2, b"12345")),
        "close-pong": wsframe_input(False, 0, 0, ws_frame(10, b"") +
                                    ws_frame(8, b"\x03\xe8bye")),
        "huge-announced": wsframe_input(False, 3, 0, b"\x82\x7f\x40" + b"\x00" * 7),
        "reserved-bits": wsframe_input(False, 0, 0, b"\xc2\x00" + ws_frame(2, b"x")),
    }


def wshttp_seeds() -> dict[str, bytes]:
    key = b"dGhlIHNhbXBsZSBub25jZQ=="
    req = (b"GET /path?q=1 HTTP/1.1\r\nHost: localhost:5555\r\nUpgrade: websocket\r\n"
           b"Connection: Upgrade\r\nSec-WebSocket-Key: " + key + b"\r\n"
           b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: rep.sp.nanomsg.org\r\n\r\n")
    resp = (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
            b"Sec-WebSocket-Protocol: rep.sp.nanomsg.org\r\n\r\n")
    return {
        "request-rep": bytes([4, 0]) + req,
        "request-other-proto": bytes([0, 0]) + req,
        "response-req": bytes([3, 1]) + resp,
        "refusal": bytes([3, 1]) + b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n",
        "absolute-target": bytes([4, 0]) + req.replace(b"/path", b"http://h:1/p"),
        "oversized": bytes([4, 0]) + b"GET / HTTP/1.1\r\nX: " + b"a" * 4200,
    }


def main() -> None:
    for target, seeds in (("frame", frame_seeds()), ("trie", trie_seeds()),
                          ("bt", bt_seeds()), ("wsframe", wsframe_seeds()),
                          ("wshttp", wshttp_seeds())):
        d = HERE / "corpus" / target
        d.mkdir(parents=True, exist_ok=True)
        for name, data in seeds.items():
            (d / f"seed-{name}").write_bytes(data)


if __name__ == "__main__":
    main()
