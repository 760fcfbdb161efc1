"""nn_term (every blocked and later call raises ETERM; nn_socket → ETERM;
effective even before the first socket). Each test runs in its own interpreter because
nn_term is irreversible for the process."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

import nanopy

PRELUDE = """
import sys, threading, time
import nanopy

def errno_of(fn, *args):
    try:
        fn(*args)
    except nanopy.NNError as exc:
        return exc.errno
    return "no error"
"""


def _run(code: str, timeout: float = 20.0) -> str:
    p = subprocess.run(
        [sys.executable, "-c", PRELUDE + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert p.returncode == 0, (p.stdout, p.stderr)
    return p.stdout.strip()


ETERM = str(nanopy.ETERM)


@pytest.mark.timeout(30)
def test_socket_after_term_is_eterm() -> None:
    out = _run("""
        s = nanopy.nn_socket(nanopy.AF_SP, nanopy.NN_PAIR)
        nanopy.nn_term()
        print(errno_of(nanopy.nn_socket, nanopy.AF_SP, nanopy.NN_PAIR))
    """)
    assert out == ETERM


@pytest.mark.timeout(30)
def test_term_before_first_socket_makes_socket_eterm() -> None:
    out = _run("""
        nanopy.nn_term()
        print(errno_of(nanopy.nn_socket, nanopy.AF_SP, nanopy.NN_PAIR))
    """)
    assert out == ETERM


@pytest.mark.timeout(30)
def test_term_exception_class_is_terminated() -> None:
    out = _run("""
        nanopy.nn_term()
        try:
            nanopy.nn_socket(nanopy.AF_SP, nanopy.NN_PAIR)
        except nanopy.Terminated as exc:
            print(type(exc).__name__, exc.strerror)
    """)
    assert out == "Terminated Nanomsg library was terminated"


CALLS = {
    "send": "nanopy.nn_send, s, b'x', nanopy.NN_DONTWAIT",
    "recv": "nanopy.nn_recv, s, nanopy.NN_DONTWAIT",
    "recv_into": "nanopy.nn_recv_into, s, bytearray(4), nanopy.NN_DONTWAIT",
    "sendmsg": "nanopy.nn_sendmsg, s, [b'x'], None, nanopy.NN_DONTWAIT",
    "recvmsg": "nanopy.nn_recvmsg, s, nanopy.NN_DONTWAIT",
    "bind": "nanopy.nn_bind, s, 'inproc://after-term'",
    "connect": "nanopy.nn_connect, s, 'inproc://after-term'",
    "setsockopt": "nanopy.nn_setsockopt, s, nanopy.NN_SOL_SOCKET, nanopy.NN_LINGER, 0",
    "getsockopt": "nanopy.nn_getsockopt, s, nanopy.NN_SOL_SOCKET, nanopy.NN_LINGER",
    "shutdown": "nanopy.nn_shutdown, s, 1",
    "poll": "nanopy.nn_poll, [(s, nanopy.NN_POLLIN)], 0",
    "get_statistic": "nanopy.nn_get_statistic, s, nanopy.NN_STAT_MESSAGES_SENT",
    "close": "nanopy.nn_close, s",
}


@pytest.mark.timeout(30)
@pytest.mark.parametrize("call", list(CALLS))
def test_call_on_old_socket_after_term_is_eterm(call: str) -> None:
    out = _run(f"""
        s = nanopy.nn_socket(nanopy.AF_SP, nanopy.NN_PAIR)
        nanopy.nn_bind(s, "inproc://before-term")
        nanopy.nn_term()
        print(errno_of({CALLS[call]}))
    """)
    assert out == ETERM


@pytest.mark.timeout(30)
def test_term_wakes_thread_blocked_in_recv_with_eterm() -> None:
    out = _run("""
        s = nanopy.nn_socket(nanopy.AF_SP, nanopy.NN_PAIR)
        nanopy.nn_bind(s, "inproc://term-wake")
        result = []
        t = threading.Thread(target=lambda: result.append(errno_of(nanopy.nn_recv, s)))
        t.start()
        time.sleep(0.2)
        nanopy.nn_term()
        t.join(5)
        print("alive" if t.is_alive() else result[0])
        if t.is_alive():
            sys.stdout.flush()
            import os; os._exit(0)
    """)
    assert out == ETERM


@pytest.mark.timeout(30)
def test_term_wakes_thread_blocked_in_send_with_eterm() -> None:
    out = _run("""
        s = nanopy.nn_socket(nanopy.AF_SP, nanopy.NN_PAIR)
        result = []
        t = threading.Thread(target=lambda: result.append(errno_of(nanopy.nn_send, s, b"x")))
        t.start()
        time.sleep(0.2)
        nanopy.nn_term()
        t.join(5)
        print("alive" if t.is_alive() else result[0])
        if t.is_alive():
            sys.stdout.flush()
            import os; os._exit(0)
    """)
    assert out == ETERM


@pytest.mark.timeout(30)
def test_recv_after_term_woke_it_is_still_eterm() -> None:
    out = _run("""
        s = nanopy.nn_socket(nanopy.AF_SP, nanopy.NN_PAIR)
        t = threading.Thread(target=lambda: errno_of(nanopy.nn_recv, s))
        t.start()
        time.sleep(0.2)
        nanopy.nn_term()
        t.join(5)
        print(errno_of(nanopy.nn_recv, s))
    """)
    assert out == ETERM


@pytest.mark.timeout(30)
def test_socket_class_recv_after_term_is_eterm() -> None:
    out = _run("""
        sock = nanopy.Socket(nanopy.PAIR)
        nanopy.nn_term()
        try:
            sock.recv()
        except nanopy.NNError as exc:
            print(exc.errno)
    """)
    assert out == ETERM


@pytest.mark.timeout(30)
def test_term_is_idempotent() -> None:
    out = _run("""
        nanopy.nn_socket(nanopy.AF_SP, nanopy.NN_PAIR)
        nanopy.nn_term()
        nanopy.nn_term()
        print("ok")
    """)
    assert out == "ok"


@pytest.mark.timeout(30)
def test_term_wakes_nn_poll_waiter() -> None:
    out = _run("""
        s = nanopy.nn_socket(nanopy.AF_SP, nanopy.NN_PAIR)
        result = []
        def waiter():
            try:
                result.append(nanopy.nn_poll([(s, nanopy.NN_POLLIN)], 5000))
            except nanopy.NNError as exc:
                result.append(exc.errno)
        t = threading.Thread(target=waiter)
        t.start()
        time.sleep(0.2)
        start = time.monotonic()
        nanopy.nn_term()
        t.join(6)
        print("woke" if time.monotonic() - start < 4 else "slept")
    """)
    assert out == "woke"


@pytest.mark.timeout(30)
def test_process_exits_cleanly_after_term_with_open_tcp_connection() -> None:
    out = _run("""
        import socket
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0)); port = probe.getsockname()[1]
        a = nanopy.nn_socket(nanopy.AF_SP, nanopy.NN_PAIR)
        b = nanopy.nn_socket(nanopy.AF_SP, nanopy.NN_PAIR)
        nanopy.nn_bind(a, f"tcp://127.0.0.1:{port}")
        nanopy.nn_connect(b, f"tcp://127.0.0.1:{port}")
        nanopy.nn_setsockopt(a, nanopy.NN_SOL_SOCKET, nanopy.NN_RCVTIMEO, 5000)
        nanopy.nn_send(b, b"hi")
        assert nanopy.nn_recv(a) == b"hi"
        nanopy.nn_term()
        print("done")
    """)
    assert out == "done"
