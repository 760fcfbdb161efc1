"""nanomsg's perf tools, driven from Python through nanopy's nn_* API.

``nanopy perf TOOL ARGS...`` (or ``python -m nanopy.perf TOOL ARGS...``) runs one of
the six tools of nanomsg's ``perf/`` folder with the same arguments and the same
output lines, so scripts written for the C tools compare nanopy directly:

========================  ================================================
``local_lat``             ``<bind-to> <msg-size> <roundtrips>``: echo side
``remote_lat``            ``<connect-to> <msg-size> <roundtrips>``: timed side,
                          prints ``average latency: X [us]`` (RTT / 2)
``local_thr``             ``<bind-to> <msg-size> <msg-count>``: timed receiver
``remote_thr``            ``<connect-to> <msg-size> <msg-count>``: sender
``inproc_lat``            ``<msg-size> <roundtrips>``: two threads, one process
``inproc_thr``            ``<msg-size> <msg-count>``: two threads, one process
========================  ================================================

Every tool uses PAIR sockets with ``NN_TCP_NODELAY=1``, ``NN_RCVMAXSIZE=-1`` and
``NN_LINGER=1000``; payload bytes are ``0x6F``.  The formulas are nanomsg's:
latency = elapsed_us / (roundtrips * 2); msgs/s = trunc(count / elapsed_us * 1e6);
Mb/s = msgs/s * size * 8 / 1e6.

Extra tools for the benchmark harness (``bench/run.py``), same output lines:

- ``local_thr_batch``, ``remote_thr_batch``, ``inproc_thr_batch``: as their plain
  twins, but move messages with ``nanopy.send_many``/``nanopy.recv_many``.
- ``remote_lat_async``: ``remote_lat`` through ``nanopy.Socket.asend/arecv`` under
  asyncio (its echo peer is the ordinary ``local_lat``).
- ``pub_feed <bind-to> <msg-size> <msg-count>`` and
  ``sub_match <connect-to> <msg-size> <msg-count> <subscriptions>``: PUB/SUB
  throughput while the SUB socket holds ``subscriptions - 1`` topics that never
  match plus the one that does; shows the cost of subscription matching.

Addresses may use every transport, ``ws://``, ``wss://``, ``tls+tcp://`` and ``abstract://``
included. The TLS ones read their certificates from the environment: the binding side
``NANOPY_TLS_CERT`` and ``NANOPY_TLS_KEY`` (PEM files), the connecting side
``NANOPY_TLS_CA`` (without it the server's certificate is not verified: benchmarks only).
"""

from __future__ import annotations

import asyncio
import sys
import threading
import time
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

__all__ = ["main", "TOOLS"]

#: Payload byte of nanomsg's perf tools (``'o'``).
FILL_BYTE = b"o"

#: Messages moved per ``send_many`` call by the batch tools.
BATCH_SIZE = 256

#: Data messages between two acknowledgements in ``pub_feed``/``sub_match``; small enough
#: that a window always fits in the socket buffers, so PUB never has to drop.
SUB_WINDOW = 100

#: Topic every ``sub_match`` data message starts with; the non-matching
#: subscriptions share its first six bytes (``bench.``) so matching must look deeper.
SUB_TOPIC = b"bench.match"


def _tls_before(nn: Any, s: int, address: str, server: bool) -> None:
    """Give socket s the TLS configuration a tls+tcp:// or wss:// endpoint needs, from
    NANOPY_TLS_CERT/NANOPY_TLS_KEY (binding side) or NANOPY_TLS_CA (connecting side)."""
    import os

    from .tls import TLS_OPTION_CONFIG, TLS_OPTION_LEVEL, TLSConfig, needs_tls

    if not needs_tls(address):
        return
    env = os.environ
    if server:
        config = TLSConfig(server=True, cert_file=env.get("NANOPY_TLS_CERT"),
                           key_file=env.get("NANOPY_TLS_KEY"))
    else:
        ca = env.get("NANOPY_TLS_CA")
        config = TLSConfig(server=False, ca_file=ca, verify=ca is not None)
    nn.nn_setsockopt(s, TLS_OPTION_LEVEL, TLS_OPTION_CONFIG, config.to_bytes())


def _bind(nn: Any, s: int, address: str) -> None:
    _tls_before(nn, s, address, True)
    nn.nn_bind(s, address)


def _connect(nn: Any, s: int, address: str) -> None:
    _tls_before(nn, s, address, False)
    nn.nn_connect(s, address)


class UsageError(Exception):
    """Wrong argument count or a non-numeric number: print the usage line, exit 1."""


def _nanopy() -> Any:
    """Import nanopy lazily so ``nanopy.perf`` can be inspected without the core built."""
    import nanopy

    return nanopy


def _now_us() -> int:
    return time.perf_counter_ns() // 1000


def _atoi(text: str) -> int:
    """Parse an integer argument, as C's ``atoi`` would for well-formed input."""
    try:
        return int(text)
    except ValueError as exc:
        raise UsageError(f"not a number: {text!r}") from exc


def _print_latency(size: int, roundtrips: int, elapsed_us: int) -> None:
    latency = elapsed_us / (roundtrips * 2) if roundtrips else 0.0
    print(f"message size: {size} [B]")
    print(f"roundtrip count: {roundtrips}")
    print(f"average latency: {latency:.3f} [us]", flush=True)


def _print_throughput(size: int, count: int, elapsed_us: int, prefix: str = "") -> None:
    elapsed_us = max(elapsed_us, 1)
    msgs_per_s = int(count / elapsed_us * 1_000_000)
    megabits = msgs_per_s * size * 8 / 1_000_000
    print(f"message size: {size} [B]")
    print(f"message count: {count}")
    print(f"{prefix}throughput: {msgs_per_s} [msg/s]")
    print(f"{prefix}throughput: {megabits:.3f} [Mb/s]", flush=True)


def _pair_socket() -> int:
    """A PAIR socket with the options of nanomsg's perf tools."""
    nn = _nanopy()
    s: int = nn.nn_socket(nn.AF_SP, nn.NN_PAIR)
    nn.nn_setsockopt(s, nn.NN_SOL_SOCKET, nn.NN_RCVMAXSIZE, -1)
    nn.nn_setsockopt(s, nn.NN_SOL_SOCKET, nn.NN_LINGER, 1000)
    nn.nn_setsockopt(s, nn.NN_TCP, nn.NN_TCP_NODELAY, 1)
    return s


def _check_size(got: int, want: int) -> None:
    if got != want:
        raise RuntimeError(f"received a {got}-byte message, expected {want}")


# ---- latency ------------------------------------------------------------------------------


def _echo_loop(s: int, size: int, roundtrips: int) -> None:
    nn = _nanopy()
    nn_recv, nn_send = nn.nn_recv, nn.nn_send
    for _ in range(roundtrips):
        msg = nn_recv(s, 0)
        if len(msg) != size:
            _check_size(len(msg), size)
        nn_send(s, msg, 0)


def _ping_loop(s: int, size: int, roundtrips: int) -> int:
    """Send/receive ``roundtrips`` times; returns the elapsed microseconds."""
    nn = _nanopy()
    nn_recv, nn_send = nn.nn_recv, nn.nn_send
    payload = FILL_BYTE * size
    start = _now_us()
    for _ in range(roundtrips):
        nn_send(s, payload, 0)
        msg = nn_recv(s, 0)
        if len(msg) != size:
            _check_size(len(msg), size)
    return _now_us() - start


def local_lat(bind_to: str, size: int, roundtrips: int) -> None:
    """Bind, then echo ``roundtrips`` messages of ``size`` bytes back to the peer."""
    nn = _nanopy()
    s = _pair_socket()
    _bind(nn, s, bind_to)
    _echo_loop(s, size, roundtrips)
    nn.nn_close(s)  # NN_LINGER is honoured: the last echo is flushed before this returns


def remote_lat(connect_to: str, size: int, roundtrips: int) -> None:
    """Connect, time ``roundtrips`` round trips, print the one-way latency."""
    nn = _nanopy()
    s = _pair_socket()
    _connect(nn, s, connect_to)
    elapsed = _ping_loop(s, size, roundtrips)
    _print_latency(size, roundtrips, elapsed)
    nn.nn_close(s)


def inproc_lat(size: int, roundtrips: int) -> None:
    """Round trips between two threads over ``inproc://inproc_lat``."""
    nn = _nanopy()
    s = _pair_socket()
    nn.nn_bind(s, "inproc://inproc_lat")
    done = threading.Event()

    def worker() -> None:
        peer = _pair_socket()
        nn.nn_connect(peer, "inproc://inproc_lat")
        _echo_loop(peer, size, roundtrips)
        done.wait()
        nn.nn_close(peer)

    thread = threading.Thread(target=worker, name="inproc_lat echo", daemon=True)
    thread.start()
    time.sleep(0.1)
    elapsed = _ping_loop(s, size, roundtrips)
    done.set()
    thread.join()
    _print_latency(size, roundtrips, elapsed)
    nn.nn_close(s)


def remote_lat_async(connect_to: str, size: int, roundtrips: int) -> None:
    """``remote_lat`` through ``Socket.asend``/``Socket.arecv`` on an asyncio loop."""
    nn = _nanopy()
    if not (hasattr(nn.Socket, "asend") and hasattr(nn.Socket, "arecv")):
        raise RuntimeError("nanopy.Socket has no asend/arecv")

    async def run() -> int:
        with nn.Socket(nn.PAIR) as sock:
            sock.recv_max_size = -1
            sock.tcp_nodelay = True
            sock.connect(connect_to)
            payload = FILL_BYTE * size
            asend, arecv = sock.asend, sock.arecv
            start = _now_us()
            for _ in range(roundtrips):
                await asend(payload)
                msg = await arecv()
                if len(msg) != size:
                    _check_size(len(msg), size)
            return _now_us() - start

    elapsed = asyncio.run(run())
    _print_latency(size, roundtrips, elapsed)


# ---- throughput ---------------------------------------------------------------------------


def _receive_counted(s: int, size: int, count: int, batch: bool) -> int:
    """Wait for the empty start marker, then time ``count`` messages; returns microseconds."""
    nn = _nanopy()
    nn_recv = nn.nn_recv
    _check_size(len(nn_recv(s, 0)), 0)
    start = _now_us()
    if batch:
        recv_many = nn.recv_many
        left = count
        while left > 0:
            msgs = recv_many(s, min(left, BATCH_SIZE), 0)
            for msg in msgs:
                if len(msg) != size:
                    _check_size(len(msg), size)
            left -= len(msgs)
    else:
        for _ in range(count):
            msg = nn_recv(s, 0)
            if len(msg) != size:
                _check_size(len(msg), size)
    return _now_us() - start


def _send_counted(s: int, size: int, count: int, batch: bool) -> None:
    """Send the empty start marker, then ``count`` messages of ``size`` bytes."""
    nn = _nanopy()
    nn_send = nn.nn_send
    payload = FILL_BYTE * size
    nn_send(s, b"", 0)
    if batch:
        send_many = nn.send_many
        full = [payload] * BATCH_SIZE
        left = count
        while left > 0:
            chunk = full if left >= BATCH_SIZE else full[:left]
            sent = 0
            while sent < len(chunk):
                sent += send_many(s, chunk[sent:] if sent else chunk, 0)
            left -= len(chunk)
    else:
        for _ in range(count):
            nn_send(s, payload, 0)


def _require_batch() -> None:
    nn = _nanopy()
    if not (hasattr(nn, "send_many") and hasattr(nn, "recv_many")):
        raise RuntimeError("nanopy has no send_many/recv_many")


def local_thr(bind_to: str, size: int, count: int, batch: bool = False) -> None:
    """Bind, receive the start marker and ``count`` messages, print the throughput."""
    nn = _nanopy()
    if batch:
        _require_batch()
    s = _pair_socket()
    _bind(nn, s, bind_to)
    elapsed = _receive_counted(s, size, count, batch)
    _print_throughput(size, count, elapsed)
    nn.nn_close(s)


def remote_thr(connect_to: str, size: int, count: int, batch: bool = False) -> None:
    """Connect, send the start marker and ``count`` messages; close flushes (linger)."""
    nn = _nanopy()
    if batch:
        _require_batch()
    s = _pair_socket()
    _connect(nn, s, connect_to)
    _send_counted(s, size, count, batch)
    nn.nn_close(s)


def inproc_thr(size: int, count: int, batch: bool = False) -> None:
    """One-way throughput between two threads over ``inproc://inproc_thr``."""
    nn = _nanopy()
    if batch:
        _require_batch()
    s = _pair_socket()
    nn.nn_bind(s, "inproc://inproc_thr")
    done = threading.Event()

    def worker() -> None:
        peer = _pair_socket()
        nn.nn_connect(peer, "inproc://inproc_thr")
        _send_counted(peer, size, count, batch)
        done.wait()
        nn.nn_close(peer)

    thread = threading.Thread(target=worker, name="inproc_thr sender", daemon=True)
    thread.start()
    elapsed = _receive_counted(s, size, count, batch)
    done.set()
    thread.join()
    _print_throughput(size, count, elapsed, prefix="mean ")
    nn.nn_close(s)


# ---- PUB/SUB subscription matching --------------------------------------------------------


def ack_address(address: str) -> str:
    """The back-channel address ``pub_feed``/``sub_match`` derive from the data address:
    TCP port + 1, or the IPC path / inproc name with ``.ack`` appended."""
    if address.startswith("tcp://"):
        host, _, port = address.rpartition(":")
        return f"{host}:{int(port) + 1}"
    return address + ".ack"


def non_matching_topics(count: int) -> List[bytes]:
    """``count`` topics sharing ``bench.`` with the data but never matching it."""
    return [b"bench.%07d" % i for i in range(count)]


def pub_feed(bind_to: str, size: int, count: int) -> None:
    """PUB side of the matching test: probes until SUB answers, then windows of data."""
    nn = _nanopy()
    if size < len(SUB_TOPIC) + 1:
        raise RuntimeError(f"msg-size must be at least {len(SUB_TOPIC) + 1}")
    pub = nn.nn_socket(nn.AF_SP, nn.NN_PUB)
    acks = nn.nn_socket(nn.AF_SP, nn.NN_PULL)
    for s in (pub, acks):
        nn.nn_setsockopt(s, nn.NN_TCP, nn.NN_TCP_NODELAY, 1)
        nn.nn_setsockopt(s, nn.NN_SOL_SOCKET, nn.NN_LINGER, 1000)
    _bind(nn, pub, bind_to)
    nn.nn_bind(acks, ack_address(bind_to))
    probe = (SUB_TOPIC + b"P").ljust(size, FILL_BYTE)
    data = (SUB_TOPIC + b"D").ljust(size, FILL_BYTE)
    # Subscriptions take effect asynchronously: repeat a probe until SUB has seen one.
    nn.nn_setsockopt(acks, nn.NN_SOL_SOCKET, nn.NN_RCVTIMEO, 10)
    while True:
        nn.nn_send(pub, probe, 0)
        try:
            nn.nn_recv(acks, 0)
            break
        except nn.NNError as exc:
            if exc.errno != nn.ETIMEDOUT:
                raise
    nn.nn_setsockopt(acks, nn.NN_SOL_SOCKET, nn.NN_RCVTIMEO, -1)
    nn_send, nn_recv = nn.nn_send, nn.nn_recv
    left = count
    while left > 0:
        window = min(left, SUB_WINDOW)
        for _ in range(window):
            nn_send(pub, data, 0)
        nn_recv(acks, 0)
        left -= window
    nn.nn_close(pub)
    nn.nn_close(acks)


def sub_match(connect_to: str, size: int, count: int, subscriptions: int) -> None:
    """SUB side: hold ``subscriptions`` topics (one matching), time ``count`` messages."""
    nn = _nanopy()
    sub = nn.nn_socket(nn.AF_SP, nn.NN_SUB)
    acks = nn.nn_socket(nn.AF_SP, nn.NN_PUSH)
    for s in (sub, acks):
        nn.nn_setsockopt(s, nn.NN_TCP, nn.NN_TCP_NODELAY, 1)
        nn.nn_setsockopt(s, nn.NN_SOL_SOCKET, nn.NN_LINGER, 1000)
    for topic in non_matching_topics(max(subscriptions - 1, 0)):
        nn.nn_setsockopt(sub, nn.NN_SUB, nn.NN_SUB_SUBSCRIBE, topic)
    nn.nn_setsockopt(sub, nn.NN_SUB, nn.NN_SUB_SUBSCRIBE, SUB_TOPIC)
    _connect(nn, sub, connect_to)
    nn.nn_connect(acks, ack_address(connect_to))
    nn_send, nn_recv = nn.nn_send, nn.nn_recv
    nn_recv(sub, 0)  # the first probe: PUB now reaches us
    nn_send(acks, b"go", 0)
    kind = len(SUB_TOPIC)
    received = 0
    start = _now_us()
    while received < count:
        msg = nn_recv(sub, 0)
        if msg[kind] != 0x44:  # a late probe ("P"), not data ("D")
            continue
        received += 1
        if received % SUB_WINDOW == 0 or received == count:
            nn_send(acks, b"ok", 0)
    elapsed = _now_us() - start
    print(f"subscriptions: {subscriptions}")
    print(f"average time per message: {elapsed / max(count, 1):.3f} [us]")
    _print_throughput(size, count, elapsed)
    nn.nn_close(sub)
    nn.nn_close(acks)


# ---- command line -------------------------------------------------------------------------

#: tool name -> (usage arguments, callable taking the parsed arguments)
TOOLS: Dict[str, Tuple[str, Callable[[Sequence[str]], None]]] = {
    "local_lat": ("<bind-to> <msg-size> <roundtrips>",
                  lambda a: local_lat(a[0], _atoi(a[1]), _atoi(a[2]))),
    "remote_lat": ("<connect-to> <msg-size> <roundtrips>",
                   lambda a: remote_lat(a[0], _atoi(a[1]), _atoi(a[2]))),
    "local_thr": ("<bind-to> <msg-size> <msg-count>",
                  lambda a: local_thr(a[0], _atoi(a[1]), _atoi(a[2]))),
    "remote_thr": ("<connect-to> <msg-size> <msg-count>",
                   lambda a: remote_thr(a[0], _atoi(a[1]), _atoi(a[2]))),
    "inproc_lat": ("<msg-size> <roundtrips>",
                   lambda a: inproc_lat(_atoi(a[0]), _atoi(a[1]))),
    "inproc_thr": ("<msg-size> <msg-count>",
                   lambda a: inproc_thr(_atoi(a[0]), _atoi(a[1]))),
    "local_thr_batch": ("<bind-to> <msg-size> <msg-count>",
                        lambda a: local_thr(a[0], _atoi(a[1]), _atoi(a[2]), batch=True)),
    "remote_thr_batch": ("<connect-to> <msg-size> <msg-count>",
                         lambda a: remote_thr(a[0], _atoi(a[1]), _atoi(a[2]), batch=True)),
    "inproc_thr_batch": ("<msg-size> <msg-count>",
                         lambda a: inproc_thr(_atoi(a[0]), _atoi(a[1]), batch=True)),
    "remote_lat_async": ("<connect-to> <msg-size> <roundtrips>",
                         lambda a: remote_lat_async(a[0], _atoi(a[1]), _atoi(a[2]))),
    "pub_feed": ("<bind-to> <msg-size> <msg-count>",
                 lambda a: pub_feed(a[0], _atoi(a[1]), _atoi(a[2]))),
    "sub_match": ("<connect-to> <msg-size> <msg-count> <subscriptions>",
                  lambda a: sub_match(a[0], _atoi(a[1]), _atoi(a[2]), _atoi(a[3]))),
}


def _usage(prog: str) -> str:
    lines = [f"usage: {prog} <tool> <args...>", "tools:"]
    lines += [f"  {name} {args}" for name, (args, _) in TOOLS.items()]
    return "\n".join(lines)


def main(argv: Optional[List[str]] = None, prog: str = "nanopy perf") -> int:
    """Run one perf tool.

    Parameters
    ----------
    argv:
        ``[tool, arg, ...]`` as typed after ``nanopy perf``; defaults to ``sys.argv[1:]``.
    prog:
        Name shown in the usage text.

    Returns
    -------
    int
        0 on success, 1 on a usage error (as nanomsg's tools), 2 when the run failed.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help") or args[0] not in TOOLS:
        print(_usage(prog))
        return 0 if args and args[0] in ("-h", "--help") else 1
    name, rest = args[0], args[1:]
    arg_text, run = TOOLS[name]
    if len(rest) != len(arg_text.split()):
        print(f"usage: {name} {arg_text}")
        return 1
    try:
        run(rest)
    except UsageError as exc:
        print(f"usage: {name} {arg_text} ({exc})")
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # noqa: BLE001 - report any failure as one line, like the C tools
        sys.stderr.write(f"{name}: {type(exc).__name__}: {exc}\n")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(prog="python -m nanopy.perf"))
