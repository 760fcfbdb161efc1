"""What a forked (or spawned) child does with the parent's sockets and with new ones.

``child_main`` runs in the child: every use of an inherited ``nanopy.Socket`` must raise
NNError EBADF ("socket created in parent process"), the raw id must not reach the
parent's socket, and a brand-new socket must talk to the parent over a new tcp endpoint
(``exchanges`` echo round trips). The findings travel back as the last message, as JSON."""

from __future__ import annotations

import json
import os
from typing import Any, Optional

import nanopy


def _outcome(fn: Any, *args: Any) -> Any:
    try:
        value = fn(*args)
    except nanopy.NNError as e:
        return {"errno": e.errno, "message": str(e)}
    except Exception as e:
        return {"exception": f"{type(e).__name__}: {e}"}
    return {"returned": repr(value)[:80]}


def child_main(inherited: Optional[nanopy.Socket], inherited_id: int, rendezvous: str,
               exchanges: int) -> None:
    """``inherited`` is None when the parent's Socket could not travel (spawn, and
    Socket refusing to be pickled): then only the raw id is checked."""
    report: dict[str, Any] = {"pid": os.getpid()}
    if inherited is not None:
        report["Socket.send"] = _outcome(inherited.send, b"from the child")
        report["Socket.recv"] = _outcome(lambda: inherited.recv(block=False))
        report["Socket.recv_timeout"] = _outcome(lambda: inherited.recv_timeout)
        report["Socket.close"] = _outcome(inherited.close)
    report["nn_send"] = _outcome(nanopy.nn_send, inherited_id, b"from the child",
                                 nanopy.NN_DONTWAIT)
    with nanopy.Socket(nanopy.PAIR, recv_timeout=5000, send_timeout=5000) as s:
        s.connect(rendezvous)
        s.send(b"hello %d" % os.getpid())
        report["welcome"] = s.recv().decode()
        for i in range(exchanges):
            s.send(b"%d" % i)
            if s.recv() != b"echo %d" % i:
                report["echo_mismatch"] = i
                break
        else:
            report["echoed"] = exchanges
        s.send(json.dumps(report).encode())
        s.recv()  # the parent's acknowledgement: the report left before linger


def forked(inherited: nanopy.Socket, inherited_id: int, rendezvous: str,
           exchanges: int) -> None:
    """Target for os.fork(): never returns into the parent's code (pytest, threads)."""
    code = 1
    try:
        child_main(inherited, inherited_id, rendezvous, exchanges)
        code = 0
    finally:
        os._exit(code)
