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
url = sys.argv[1]
with nanopy.Socket(nanopy.REP, bind=url, recv_timeout=3000) as rep, \
     nanopy.Socket(nanopy.REQ, connect=url, recv_timeout=3000) as req:
    for i in range(200):
        req.send(b"q%d" % i)
        assert rep.recv() == b"q%d" % i
        rep.send(b"a" * 70000)                 # bigger than one read: partial I/O paths
        assert req.recv() == b"a" * 70000
print("ok")
"""


@pytest.mark.timeout(60)
@pytest.mark.parametrize("transport", ["tcp", "ipc", "inproc"])
def test_poll_backend_carries_traffic(transport, tmp_ipc_dir) -> None:
    from conftest import make_address

    url = make_address(transport, tmp_ipc_dir)
    env = dict(os.environ, NANOPY_POLLER="poll")
    out = subprocess.run([sys.executable, "-c", SCRIPT, url], env=env, capture_output=True,
                         text=True, timeout=50)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
