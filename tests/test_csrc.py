"""The C core's own unit tests (csrc/tests/test_*.c), built with gcc + ASan/UBSan and run.

One pytest test per C test binary, so a failure names the unit; the assertion message is
the binary's whole output (tinytest prints file:line and the failed expression, the
sanitizers print their report). The binaries do not need Python or the extension module,
only gcc: without it the tests are skipped, not failed.

The queue and readiness-signal tests are built a second time with ThreadSanitizer: their
multi-thread stress only proves the memory ordering when TSan watches it (ASan would pass
a racy ring that happens to work on x86).
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import skip_or_fail

ROOT = Path(__file__).resolve().parent.parent
CSRC = ROOT / "csrc"
TESTS_DIR = CSRC / "tests"
CC = os.environ.get("CC", "gcc")

C_TESTS = sorted(p.stem for p in TESTS_DIR.glob("test_*.c"))

BASE_FLAGS = ["-std=c11", "-D_GNU_SOURCE", "-O1", "-g", "-Wall", "-Wextra",
              "-Wno-unused-parameter", "-Wno-sign-compare", "-fno-omit-frame-pointer"]
SANITIZERS = {
    "asan": ["-fsanitize=address,undefined", "-fno-sanitize-recover=undefined"],
    "tsan": ["-fsanitize=thread"],
}
SAN_ENV = {
    # Leaks matter here (no interpreter around to make noise): keep LeakSanitizer on.
    "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0:allocator_may_return_null=1",
    "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1",
    "TSAN_OPTIONS": "halt_on_error=1:second_deadlock_stack=1",
}

@pytest.fixture(autouse=True)
def _compiler_present() -> None:
    if shutil.which(CC) is None:
        skip_or_fail(f"{CC} not installed")


def deps_of(name: str) -> list[str]:
    """The core files a test needs, from its '// deps:' line (shared with the Makefile):
    paths under csrc/, shell patterns allowed."""
    text = (TESTS_DIR / f"{name}.c").read_text()
    m = re.search(r"^// deps:(.*)$", text, re.M)
    found: list[str] = []
    for pattern in m.group(1).split() if m else []:
        matches = sorted(glob.glob(str(CSRC / pattern)))
        assert matches, f"{name}: deps pattern {pattern!r} matches nothing"
        found += matches
    return found


def build_and_run(name: str, san: str, outdir: Path, env_extra: dict[str, str] | None = None
                  ) -> str:
    exe = outdir / f"{name}-{san}"
    cmd = [CC, *BASE_FLAGS, *SANITIZERS[san], f"-I{CSRC}", "-o", str(exe),
           str(TESTS_DIR / f"{name}.c"), *deps_of(name), "-pthread"]
    build = subprocess.run(cmd, capture_output=True, text=True)
    if build.returncode != 0 and san == "tsan" and "tsan" in build.stderr.lower():
        skip_or_fail("ThreadSanitizer runtime not available")
    assert build.returncode == 0, f"compile failed:\n{' '.join(cmd)}\n{build.stderr}"
    env = {**os.environ, **SAN_ENV, **(env_extra or {})}
    env.pop("LD_PRELOAD", None)  # tools/sanitize.sh preloads libasan for Python; not here
    run = subprocess.run([str(exe)], capture_output=True, text=True, timeout=60, env=env)
    out = run.stdout + run.stderr
    if san == "tsan" and "FATAL: ThreadSanitizer" in out and "memory" in out.lower():
        # Some kernels' address-space layout (high mmap_rnd_bits) defeats TSan's shadow map.
        skip_or_fail("ThreadSanitizer cannot map its shadow memory on this kernel")
    assert run.returncode == 0, f"{name} ({san}) exited {run.returncode}:\n{out}"
    assert re.search(r"^\d+ passed, 0 failed$", run.stdout, re.M), out
    return run.stdout


# Building a test that links the whole core takes ~10 CPU-seconds; on a loaded machine
# the wall time is many times that.
@pytest.mark.timeout(600)
@pytest.mark.parametrize("name", C_TESTS)
def test_c_unit(name: str, tmp_path: Path) -> None:
    build_and_run(name, "asan", tmp_path)


@pytest.mark.parametrize("name", ["test_queue", "test_efd"])
def test_c_threaded_under_tsan(name: str, tmp_path: Path) -> None:
    """The lock-free pieces with several threads: the SPSC ring and the readiness signal."""
    build_and_run(name, "tsan", tmp_path)


@pytest.mark.timeout(600)
@pytest.mark.parametrize(("poller", "expect"), [("poll", "poll + eventfd"),
                                                ("portable", "poll + pipe")])
def test_c_loop_on_portable_backends(poller: str, expect: str, tmp_path: Path) -> None:
    """The I/O thread's timers and commands on the run-time selectable backends."""
    out = build_and_run("test_loop", "asan", tmp_path, {"NANOPY_POLLER": poller})
    assert f"backend {expect}" in out


# ---- the shape of csrc/: layers, sizes, what may include or name what ----------------------

CORE_FILES = sorted(p for p in CSRC.rglob("*.c") if "tests" not in p.relative_to(CSRC).parts)
LAYERS_WITHOUT_TRANSPORTS = ("core", "platform", "protocols")


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace")


def test_no_c_source_over_700_lines() -> None:
    long = {str(p.relative_to(CSRC)): n for p in CSRC.rglob("*.[ch]")
            if "build" not in p.parts and (n := _text(p).count("\n")) > 700}
    assert not long, f"C files over 700 lines: {long}"


def test_os_specific_headers_only_in_platform() -> None:
    """epoll, kqueue, eventfd and OS tests live in csrc/platform/ and nowhere else."""
    pattern = re.compile(r"#\s*include\s*<(sys/epoll|sys/event|sys/eventfd|linux/|mach/)"
                         r"|defined\s*\(\s*__(linux|APPLE|FreeBSD)__|#\s*ifdef\s+__(linux|APPLE)__")
    offenders = [str(p.relative_to(CSRC)) for p in CORE_FILES + sorted(CSRC.rglob("*.h"))
                 if p.relative_to(CSRC).parts[0] != "platform" and pattern.search(_text(p))]
    assert not offenders, f"OS-specific code outside csrc/platform/: {offenders}"


def test_nothing_outside_transports_names_a_transport() -> None:
    pattern = re.compile(r"\bNP_(INPROC|IPC|TCP|WS)\b|\bnp_(stream|inproc|tcp|ipc|ws|tls)_\w+")
    offenders = []
    for layer in LAYERS_WITHOUT_TRANSPORTS:
        for p in sorted((CSRC / layer).rglob("*.[ch]")):
            for m in pattern.finditer(_text(p)):
                offenders.append(f"{p.relative_to(CSRC)}: {m.group(0)}")
    assert not offenders, "the core names a transport:\n" + "\n".join(offenders)


def test_file_local_functions_have_unique_names() -> None:
    """A static function's name says which file it belongs to: none repeats across files."""
    where: dict[str, list[str]] = {}
    for p in CORE_FILES:
        names = set(re.findall(r"^static\s[^=;(]*?\b([a-z_]\w*)\(", _text(p), re.M))
        for name in names:
            where.setdefault(name, []).append(str(p.relative_to(CSRC)))
    repeated = {n: f for n, f in where.items() if len(f) > 1}
    assert not repeated, f"static functions with the same name in several files: {repeated}"


def test_no_function_prototypes_in_c_files() -> None:
    """Functions shared between files are declared in headers, not re-declared by hand."""
    proto = re.compile(r"^(?!static\b)(?:const\s+)?[a-z_][\w\s\*]*?\b(np_\w+)\s*\([^;{]*\)\s*;",
                       re.M)
    offenders = [f"{p.relative_to(CSRC)}: {m.group(1)}" for p in CORE_FILES
                 for m in proto.finditer(_text(p))]
    assert not offenders, "prototypes written in .c files:\n" + "\n".join(offenders)


@pytest.mark.timeout(600)
def test_no_circle_between_c_files(tmp_path: Path) -> None:
    """Which file calls (or references) which, read from the objects' symbol tables: the
    graph has no cycle, so a layer only calls down (ops tables are called through
    pointers and make no edge)."""
    if shutil.which("nm") is None:
        skip_or_fail("nm not installed")
    defined: dict[str, set[str]] = {}
    needed: dict[str, set[str]] = {}
    for src in CORE_FILES:
        rel = str(src.relative_to(CSRC))
        obj = tmp_path / (rel.replace("/", "_") + ".o")
        subprocess.run([CC, "-std=gnu11", "-O0", "-c", f"-I{CSRC}", "-o", str(obj), str(src)],
                       check=True, capture_output=True)
        nm = subprocess.run(["nm", str(obj)], capture_output=True, text=True, check=True)
        defined[rel], needed[rel] = set(), set()
        for line in nm.stdout.splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[0] == "U":
                needed[rel].add(parts[1])
            elif len(parts) == 3 and parts[1] in "TDRBC":
                defined[rel].add(parts[2])
    owner = {sym: f for f, syms in defined.items() for sym in syms}
    graph = {f: {owner[s] for s in needed[f] if s in owner and owner[s] != f} for f in needed}
    # Depth-first search; a back edge is a cycle, reported as the path around it.
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(f: str) -> list[str] | None:
        state[f] = 1
        stack.append(f)
        for g in sorted(graph[f]):
            if state.get(g) == 1:
                return stack[stack.index(g):] + [g]
            if g not in state and (cycle := visit(g)):
                return cycle
        stack.pop()
        state[f] = 2
        return None

    for f in sorted(graph):
        if f not in state and (cycle := visit(f)):
            pytest.fail("circle of C files: " + " -> ".join(cycle))


def test_csrc_and_fuzz_cite_only_the_repository() -> None:
    pattern = re.compile(r"API\.md|NANOMSG\.md|DESIGN\.md|STYLE\.md|\.\./shared|/work/shared")
    roots = [CSRC, ROOT / "fuzz"]
    offenders = [str(p.relative_to(ROOT)) for root in roots for p in sorted(root.rglob("*"))
                 if p.is_file() and p.suffix in (".c", ".h", ".py", ".md", ".sh", "")
                 and "corpus" not in p.parts and "regressions" not in p.parts
                 and "build" not in p.parts and pattern.search(_text(p))]
    assert not offenders, f"files citing documents outside the repository: {offenders}"
