"""The release path works: tools/build_wheel.sh builds the sdist and, with zig as a cross
compiler, the manylinux2014 x86_64 and aarch64 and musllinux_1_2 x86_64 wheels; auditwheel
reports each intended tag; the x86_64 wheel passes the smoke test in a fresh venv without a
compiler, and the aarch64 one under qemu-user.

CI runs the script's --quick form (the running Python only, about 2 minutes alone on the
machine). NANOPY_WHEEL_FULL=1 runs the full form instead: every CPython 3.9+ found, and the
sdist installed from source."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from typing import Dict

import pytest
from conftest import skip_or_fail

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FULL = os.environ.get("NANOPY_WHEEL_FULL") == "1"
PLATFORMS = {
    "manylinux_2_17_x86_64": "manylinux2014_x86_64.manylinux_2_17_x86_64",
    "manylinux_2_17_aarch64": "manylinux2014_aarch64.manylinux_2_17_aarch64",
    "musllinux_1_2_x86_64": "musllinux_1_2_x86_64",
}


def _results(stdout: str) -> Dict[str, str]:
    """wheel file name -> the tag auditwheel reported, from the script's results table."""
    table = stdout[stdout.rindex("auditwheel tag"):]
    return dict(re.findall(r"^(\S+\.whl)\s+\d+\s+(\S+)$", table, re.M))


@pytest.mark.timeout(3600 if FULL else 900)
def test_build_wheel_script_builds_and_checks_every_wheel(tmp_path) -> None:
    if shutil.which("qemu-aarch64-static") is None and shutil.which("qemu-aarch64") is None:
        skip_or_fail("qemu-user-static is not installed (apt-get install qemu-user-static)")
    # A build/ folder in the project root, as `pip install .` leaves one, must not matter;
    # the script is also started from the project root, where it used to break.
    stray = os.path.join(ROOT, "build")
    made_stray = not os.path.exists(stray)
    os.makedirs(stray, exist_ok=True)
    try:
        command = ["bash", os.path.join(ROOT, "tools", "build_wheel.sh")]
        command += [] if FULL else ["--quick"]
        out = subprocess.run(command + [str(tmp_path / "out")], cwd=ROOT, capture_output=True,
                             text=True, timeout=3500 if FULL else 880,
                             env=dict(os.environ, PYTHON=sys.executable))
    finally:
        if made_stray:
            shutil.rmtree(stray, ignore_errors=True)
    assert out.returncode == 0, out.stdout[-6000:] + out.stderr[-4000:]
    results = _results(out.stdout)
    written = sorted(f for f in os.listdir(tmp_path / "out") if f.endswith(".whl"))
    assert sorted(results) == written
    tag = "cp{}{}".format(*sys.version_info[:2])
    for policy, platforms in PLATFORMS.items():
        names = [n for n in results if n.endswith(f"-{tag}-{tag}-{platforms}.whl")]
        assert len(names) == 1 and results[names[0]] == policy, (policy, results)
    assert "aarch64: passed under qemu-user" in out.stdout, out.stdout[-3000:]
    # One smoke run per x86_64 wheel: 18 exchanges and the CLI demo, in a venv of its own.
    smoked = out.stdout.count("smoke: 18 exchanges passed, nanopy demo passed")
    assert smoked == sum("x86_64.manylinux" in name for name in results) + 1
    if FULL:
        assert len(results) >= 3 * 5, results  # CPython 3.9 ... 3.13 at least


def test_release_metadata_lists_exactly_what_the_script_builds() -> None:
    """pyproject's classifiers and cibuildwheel table, and the script's targets, agree."""
    try:
        import tomllib
    except ImportError:  # Python < 3.11
        from conftest import skip_or_fail

        skip_or_fail("reading pyproject.toml needs tomllib (3.11+) or tomli")
        return
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        project = tomllib.load(f)
    classifiers = project["project"]["classifiers"]
    assert "Operating System :: MacOS" not in classifiers
    assert "Operating System :: POSIX :: Linux" in classifiers
    versions = [c.rsplit(" ", 1)[1] for c in classifiers
                if c.startswith("Programming Language :: Python :: 3.")]
    assert versions == ["3.9", "3.10", "3.11", "3.12", "3.13"]
    cibw = project["tool"]["cibuildwheel"]
    assert cibw["build"].split() == [f"cp{v.replace('.', '')}-*" for v in versions]
    assert {"*-macosx_*", "*-win*", "*-musllinux_aarch64"} <= set(cibw["skip"].split())
    assert "macos" not in cibw and "windows" not in cibw
    assert "tools/wheel_smoke.py" in cibw["test-command"]
    linux = cibw["linux"]
    assert linux["archs"] == ["x86_64", "aarch64"]
    assert linux["manylinux-x86_64-image"] == linux["manylinux-aarch64-image"] == "manylinux2014"
    assert linux["musllinux-x86_64-image"] == "musllinux_1_2"
    with open(os.path.join(ROOT, "tools", "build_wheel.sh")) as f:
        targets = re.search(r'^ALL_TARGETS="([^"]+)"', f.read(), re.M).group(1).split()
    assert targets == list(PLATFORMS)
