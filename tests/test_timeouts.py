"""Timeouts and blocking calls: NN_RCVTIMEO/NN_SNDTIMEO (tests/timeo.c), nn_recv blocking
until another thread sends (block.c), nn_close waking a blocked call (async_shutdown.c), and
Ctrl-C interrupting a blocked call (KeyboardInterrupt, promptly)."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest
from conftest import bind_any_port, wait_connected

import nanopy

SOL = nanopy.NN_SOL_SOCKET


def _timed(fn, *args) -> tuple[BaseException, float]:
    start = time.monotonic()
    try:
        fn(*args)
    except BaseException as exc:  # returned for inspection
        return exc, time.monotonic() - start
    raise AssertionError(f"{fn.__name__} did not fail")


@pytest.mark.timeout(10)
def test_rcvtimeo_on_unconnected_pair_is_etimedout(nn) -> None:
    s = nn(nanopy.NN_PAIR, timeout=100)
    exc, elapsed = _timed(nanopy.nn_recv, s)
    assert isinstance(exc, nanopy.NNError) and exc.errno == nanopy.ETIMEDOUT
    assert 0.09 <= elapsed < 2.0


@pytest.mark.timeout(10)
def test_sndtimeo_on_unconnected_pair_is_etimedout(nn) -> None:
    s = nn(nanopy.NN_PAIR, timeout=100)
    exc, elapsed = _timed(nanopy.nn_send, s, b"ABC")
    assert isinstance(exc, nanopy.NNError) and exc.errno == nanopy.ETIMEDOUT
    assert 0.09 <= elapsed < 2.0


@pytest.mark.timeout(10)
def test_timeout_error_is_timeouterror_and_timeout_class(nn) -> None:
    s = nn(nanopy.NN_PAIR, timeout=50)
    with pytest.raises(TimeoutError) as info:
        nanopy.nn_recv(s)
    assert isinstance(info.value, nanopy.Timeout)
    assert nanopy.nn_errno() == nanopy.ETIMEDOUT


@pytest.mark.timeout(10)
def test_rcvtimeo_zero_is_etimedout_not_eagain(nn) -> None:
    s = nn(nanopy.NN_PAIR, timeout=0)
    exc, elapsed = _timed(nanopy.nn_recv, s)
    assert isinstance(exc, nanopy.NNError) and exc.errno == nanopy.ETIMEDOUT
    assert elapsed < 1.0


@pytest.mark.timeout(10)
def test_sndtimeo_zero_is_etimedout_not_eagain(nn) -> None:
    s = nn(nanopy.NN_PAIR, timeout=0)
    exc, _ = _timed(nanopy.nn_send, s, b"x")
    assert isinstance(exc, nanopy.NNError) and exc.errno == nanopy.ETIMEDOUT


@pytest.mark.timeout(10)
def test_timeout_change_applies_to_next_call(nn) -> None:
    s = nn(nanopy.NN_PAIR, timeout=5000)
    nanopy.nn_setsockopt(s, SOL, nanopy.NN_RCVTIMEO, 100)
    exc, elapsed = _timed(nanopy.nn_recv, s)
    assert isinstance(exc, nanopy.Timeout)
    assert elapsed < 2.0


# ---- blocking until another thread acts -----------------------------------------------


@pytest.mark.timeout(10)
def test_recv_blocks_until_another_thread_sends(nn) -> None:
    url = f"inproc://block-{time.monotonic_ns()}"
    a = nn(nanopy.NN_PAIR)
    b = nn(nanopy.NN_PAIR)
    nanopy.nn_bind(a, url)
    nanopy.nn_connect(b, url)

    def worker() -> None:
        time.sleep(0.1)
        nanopy.nn_send(b, b"ABC")
        time.sleep(0.1)
        nanopy.nn_send(b, b"DEF")

    t = threading.Thread(target=worker)
    t.start()
    try:
        assert nanopy.nn_recv(a) == b"ABC"
        assert nanopy.nn_recv(a) == b"DEF"
    finally:
        t.join()


@pytest.mark.timeout(10)
def test_recv_without_timeout_blocks_until_send(nn) -> None:
    url = f"inproc://block-forever-{time.monotonic_ns()}"
    a = nn(nanopy.NN_PAIR, timeout=-1)
    b = nn(nanopy.NN_PAIR)
    nanopy.nn_bind(a, url)
    nanopy.nn_connect(b, url)
    t = threading.Timer(0.1, lambda: nanopy.nn_send(b, b"x"))
    t.start()
    try:
        assert nanopy.nn_recv(a) == b"x"
    finally:
        t.join()


def _close_wakes_blocked_recv(s: int) -> BaseException | None:
    caught: list[BaseException] = []

    def worker() -> None:
        try:
            nanopy.nn_recv(s)
        except BaseException as exc:  # inspected below
            caught.append(exc)

    t = threading.Thread(target=worker)
    t.start()
    time.sleep(0.1)
    nanopy.nn_close(s)
    t.join(5)
    assert not t.is_alive(), "nn_close did not wake the blocked nn_recv"
    return caught[0] if caught else None


@pytest.mark.timeout(15)
def test_close_from_another_thread_wakes_blocked_recv_with_ebadf() -> None:
    s = nanopy.nn_socket(nanopy.AF_SP, nanopy.NN_PAIR)
    nanopy.nn_bind(s, f"inproc://async-close-{time.monotonic_ns()}")
    exc = _close_wakes_blocked_recv(s)
    assert isinstance(exc, nanopy.BadSocket) and exc.errno == nanopy.EBADF


@pytest.mark.timeout(60)
def test_close_wakes_blocked_recv_on_tcp_pull_ten_times() -> None:
    for _ in range(10):
        s = nanopy.nn_socket(nanopy.AF_SP, nanopy.NN_PULL)
        bind_any_port(s)
        exc = _close_wakes_blocked_recv(s)
        assert isinstance(exc, nanopy.NNError) and exc.errno == nanopy.EBADF


@pytest.mark.timeout(15)
def test_close_from_another_thread_wakes_blocked_send_with_ebadf() -> None:
    s = nanopy.nn_socket(nanopy.AF_SP, nanopy.NN_PAIR)
    caught: list[BaseException] = []

    def worker() -> None:
        try:
            nanopy.nn_send(s, b"nobody listens")
        except BaseException as exc:  # inspected below
            caught.append(exc)

    t = threading.Thread(target=worker)
    t.start()
    time.sleep(0.1)
    nanopy.nn_setsockopt(s, SOL, nanopy.NN_LINGER, 0)
    nanopy.nn_close(s)
    t.join(5)
    assert not t.is_alive()
    assert caught and isinstance(caught[0], nanopy.NNError)
    assert caught[0].errno == nanopy.EBADF


@pytest.mark.timeout(15)
def test_two_threads_blocked_in_recv_get_one_message_each(nn) -> None:
    a, b = nn(nanopy.NN_PAIR), nn(nanopy.NN_PAIR)
    url = f"inproc://two-recv-{time.monotonic_ns()}"
    nanopy.nn_bind(a, url)
    nanopy.nn_connect(b, url)
    wait_connected(b)
    got: list[bytes] = []
    lock = threading.Lock()

    def worker() -> None:
        m = nanopy.nn_recv(a)
        with lock:
            got.append(m)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    time.sleep(0.1)
    nanopy.nn_send(b, b"1")
    nanopy.nn_send(b, b"2")
    for t in threads:
        t.join(6)
    assert sorted(got) == [b"1", b"2"]


# ---- signals (subprocess) ------------------------------------------------------------


def _run_with_signal(code: str, sig: int, timeout: float = 20.0) -> tuple[int, str, str]:
    p = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert p.stdout is not None
        line = p.stdout.readline()
        assert line.strip() == "ready", line
        time.sleep(0.3)
        p.send_signal(sig)
        out, err = p.communicate(timeout=timeout)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    return p.returncode, out, err


BLOCKED_RECV = """
    import sys, time, nanopy
    s = nanopy.nn_socket(nanopy.AF_SP, nanopy.NN_PAIR)
    nanopy.nn_bind(s, "inproc://sigint")
    print("ready", flush=True)
    start = time.monotonic()
    try:
        nanopy.nn_recv(s)
    except KeyboardInterrupt:
        print("KeyboardInterrupt %.3f" % (time.monotonic() - start), flush=True)
        sys.exit(0)
    except BaseException as exc:
        print("other", repr(exc), flush=True)
        sys.exit(2)
    print("returned", flush=True)
    sys.exit(3)
"""


@pytest.mark.timeout(30)
def test_sigint_interrupts_blocked_recv_with_keyboardinterrupt() -> None:
    rc, out, err = _run_with_signal(BLOCKED_RECV, signal.SIGINT)
    assert rc == 0, (out, err)
    assert out.startswith("KeyboardInterrupt")
    assert float(out.split()[1]) < 5.0


BLOCKED_SEND = """
    import sys, nanopy
    s = nanopy.nn_socket(nanopy.AF_SP, nanopy.NN_PAIR)
    print("ready", flush=True)
    try:
        nanopy.nn_send(s, b"nobody")
    except KeyboardInterrupt:
        print("KeyboardInterrupt", flush=True)
        sys.exit(0)
    except BaseException as exc:
        print("other", repr(exc), flush=True)
        sys.exit(2)
    sys.exit(3)
"""


@pytest.mark.timeout(30)
def test_sigint_interrupts_blocked_send_with_keyboardinterrupt() -> None:
    rc, out, err = _run_with_signal(BLOCKED_SEND, signal.SIGINT)
    assert rc == 0, (out, err)
    assert out.strip() == "KeyboardInterrupt"


BLOCKED_SOCKET_RECV = """
    import sys, nanopy
    s = nanopy.Socket(nanopy.PAIR)
    s.bind("inproc://sigint-socket")
    print("ready", flush=True)
    try:
        s.recv()
    except KeyboardInterrupt:
        print("KeyboardInterrupt", flush=True)
        sys.exit(0)
    except BaseException as exc:
        print("other", repr(exc), flush=True)
        sys.exit(2)
    sys.exit(3)
"""


@pytest.mark.timeout(30)
def test_sigint_interrupts_blocked_socket_recv() -> None:
    rc, out, err = _run_with_signal(BLOCKED_SOCKET_RECV, signal.SIGINT)
    assert rc == 0, (out, err)
    assert out.strip() == "KeyboardInterrupt"


HANDLED_SIGNAL = """
    import signal, sys, time, nanopy
    signal.signal(signal.SIGUSR1, lambda *a: None)
    s = nanopy.nn_socket(nanopy.AF_SP, nanopy.NN_PAIR)
    nanopy.nn_setsockopt(s, nanopy.NN_SOL_SOCKET, nanopy.NN_RCVTIMEO, 1500)
    print("ready", flush=True)
    start = time.monotonic()
    try:
        nanopy.nn_recv(s)
    except nanopy.NNError as exc:
        print(exc.errno, "%.3f" % (time.monotonic() - start), flush=True)
        sys.exit(0)
    sys.exit(3)
"""


@pytest.mark.timeout(30)
def test_non_raising_signal_handler_lets_recv_continue_with_its_timeout() -> None:
    rc, out, err = _run_with_signal(HANDLED_SIGNAL, signal.SIGUSR1)
    assert rc == 0, (out, err)
    errnum, elapsed = out.split()
    assert int(errnum) == nanopy.ETIMEDOUT
    assert 1.3 <= float(elapsed) < 5.0
