"""The extension built with AddressSanitizer + UndefinedBehaviorSanitizer runs a
representative subset of the suite (sockets, every protocol, hostile peers, no-loss
streams, callers reading their connection directly) and LeakSanitizer finds no leak
reaching our code. The C core's own unit tests run under the sanitizers in test_csrc.py;
the whole suite: tools/sanitize.sh."""

from __future__ import annotations

import os
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SUBSET = ["tests/test_smoke.py", "tests/test_reqrep.py", "tests/test_survey.py",
          "tests/test_bus.py", "tests/test_hostile.py", "tests/test_contexts.py",
          "tests/test_raw_headers.py", "tests/test_ws_paths.py", "tests/test_direct_read.py"]


@pytest.mark.timeout(900)
def test_sanitized_build_runs_the_subset_clean(tmp_path) -> None:
    env = dict(os.environ, SAN_BUILD=str(tmp_path / "san"))
    out = subprocess.run(["bash", os.path.join(ROOT, "tools", "sanitize.sh"), *SUBSET],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=880)
    report = out.stdout[-6000:] + out.stderr[-3000:]
    assert out.returncode == 0, report
    assert "no leak record reaches" in out.stdout, report
