"""The I/O thread's portable poll() backend (used where epoll is missing) runs the same
traffic as the epoll one. NANOPY_POLLER=poll selects it; it is read when the I/O thread
starts, so each case runs in a fresh interpreter."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

SCRIPT = r"""
import nanopy, sys
from nanopy import _core
url = sys.argv[1]
print(*_core.io_backends())
with nanopy.Socket(nanopy.REP, bind=url, recv_timeout=3000) as rep, \
     nanopy.Socket(nanopy.REQ, connect=url, recv_timeout=3000) as req:
    for i in range(200):
        req.send(b"q%d" % i)
        assert rep.recv() == b"q%d" % i
        rep.send(b"a" * 70000)                 # bigger than one read: partial I/O paths
        assert req.recv() == b"a" * 70000
print("ok")
"""

BACKENDS = {
    None: ("epoll", "eventfd"),
    "poll": ("poll", "eventfd"),
    "portable": ("poll", "pipe"),
}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("poller", [None, "poll", "portable"], ids=["default", "poll", "portable"])
@pytest.mark.parametrize("transport", ["tcp", "ipc", "inproc"])
def test_poll_backend_carries_traffic(transport, poller, tmp_ipc_dir) -> None:
    from conftest import make_address, skip_or_fail

    if sys.platform != "linux":
        skip_or_fail("the expected backend names (epoll/eventfd) are Linux's; "
                     f"this is {sys.platform}")
    url = make_address(transport, tmp_ipc_dir)
    env = {k: v for k, v in os.environ.items() if k not in ("NANOPY_POLLER", "NANOPY_WAKEUP")}
    if poller:
        env["NANOPY_POLLER"] = poller
    out = subprocess.run([sys.executable, "-c", SCRIPT, url], env=env, capture_output=True,
                         text=True, timeout=50)
    assert out.returncode == 0, out.stderr
    backends, result = out.stdout.split("\n")[:2]
    assert tuple(backends.split()) == BACKENDS[poller]
    assert result == "ok"
