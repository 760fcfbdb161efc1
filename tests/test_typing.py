"""The public API type-checks under mypy --strict (the package ships py.typed and stubs)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

from conftest import skip_or_fail

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PUBLIC = ["__init__.py", "_api.py", "_explain.py", "_version.py", "socket.py", "errors.py",
          "constants.py", "device.py", "cli", "monitor.py", "probe.py"]

USER_CODE = '''
import nanopy

def roundtrip(url: str) -> bytes:
    with nanopy.Socket(nanopy.PAIR, recv_timeout=100) as a:
        ep: nanopy.Endpoint = a.bind(url)
        assert ep.id >= 1
        n: int = a.send(b"x", block=False) if False else 0
        data: bytes = a.recv() if n else b""
        s: int = nanopy.nn_socket(nanopy.AF_SP, nanopy.NN_PAIR)
        nanopy.nn_close(s)
        return data
'''


def _mypy() -> list[str]:
    if shutil.which("mypy") is None and not _has_module("mypy"):
        skip_or_fail("mypy is not installed (pip install -e '.[test]')")
    return [sys.executable, "-m", "mypy"]


def _has_module(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


def test_public_modules_pass_mypy_strict() -> None:
    paths = [os.path.join(ROOT, "src", "nanopy", p) for p in PUBLIC]
    out = subprocess.run([*_mypy(), "--strict", *paths], capture_output=True, text=True,
                         cwd=ROOT, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr


def test_user_code_type_checks_against_the_stubs(tmp_path) -> None:
    f = tmp_path / "user.py"
    f.write_text(USER_CODE)
    out = subprocess.run([*_mypy(), "--strict", str(f)], capture_output=True, text=True,
                         cwd=ROOT, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr


def test_package_ships_py_typed_and_stub() -> None:
    pkg = os.path.join(ROOT, "src", "nanopy")
    assert os.path.exists(os.path.join(pkg, "py.typed"))
    assert os.path.exists(os.path.join(pkg, "_core.pyi"))
