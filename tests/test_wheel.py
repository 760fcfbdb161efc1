"""The release path works: tools/build_wheel.sh builds the sdist and a manylinux wheel,
installs the wheel in a fresh venv without a compiler and runs the smoke tests against it,
and builds the sdist from source in another fresh venv."""

from __future__ import annotations

import os
import re
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.timeout(900)
def test_build_wheel_script_passes(tmp_path) -> None:
    out = subprocess.run(["bash", os.path.join(ROOT, "tools", "build_wheel.sh"), str(tmp_path)],
                         capture_output=True, text=True, timeout=880)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-4000:]
    wheels = [f for f in os.listdir(tmp_path) if f.endswith(".whl")]
    assert any(re.search(r"manylinux_\d+_\d+_\w+\.whl$", w) for w in wheels), wheels
