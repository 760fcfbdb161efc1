"""The C core ports: tools/cross_compile_check.sh compiles every csrc/ file with -Werror for
macOS (x86_64 and arm64: the kqueue poller and pipe wake-ups), Linux musl x86_64 and glibc
2.17 x86_64/aarch64, and links each set into a library with no undefined symbol.

zig caches the objects it compiled, so a second run on an unchanged tree takes seconds; a
cold run compiles 5 x 51 files (about 2 CPU-minutes)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from conftest import skip_or_fail

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGETS = ["x86_64-macos", "aarch64-macos", "x86_64-linux-musl", "aarch64-linux-gnu.2.17",
           "x86_64-linux-gnu.2.17"]


@pytest.mark.timeout(900)
def test_core_compiles_and_links_for_every_target() -> None:
    try:
        import ziglang  # noqa: F401
    except ImportError:
        skip_or_fail("the ziglang package is not installed (pip install ziglang)")
    out = subprocess.run(["bash", os.path.join(ROOT, "tools", "cross_compile_check.sh")],
                         capture_output=True, text=True, timeout=880,
                         env=dict(os.environ, PYTHON=sys.executable))
    assert out.returncode == 0, out.stdout[-6000:] + out.stderr[-3000:]
    for target in TARGETS:
        assert f"ok   {target}: " in out.stdout, out.stdout


@pytest.mark.timeout(300)
def test_cross_compile_check_fails_on_a_warning(tmp_path) -> None:
    """The check is not a rubber stamp: a file with a warning fails its target."""
    try:
        import ziglang  # noqa: F401
    except ImportError:
        skip_or_fail("the ziglang package is not installed (pip install ziglang)")
    tree = tmp_path / "tree"
    (tree / "tools").mkdir(parents=True)
    (tree / "csrc").mkdir()
    with open(os.path.join(ROOT, "tools", "cross_compile_check.sh")) as f:
        (tree / "tools" / "cross_compile_check.sh").write_text(f.read())
    (tree / "csrc" / "good.c").write_text("int np_good(int x) { return x + 1; }\n")
    (tree / "csrc" / "bad.c").write_text("int np_bad(void) { int unused; return 0; }\n")
    out = subprocess.run(["bash", str(tree / "tools" / "cross_compile_check.sh"),
                          "x86_64-macos"], capture_output=True, text=True, timeout=280,
                         env=dict(os.environ, PYTHON=sys.executable))
    assert out.returncode == 1, out.stdout + out.stderr
    assert "FAIL x86_64-macos: 1 of 2 files did not compile" in out.stdout, out.stdout
    assert "csrc/bad.c" in out.stdout
