"""The repository's shape: it stands alone, and the C core keeps its layers.

These checks read the source tree, not the built module:
- no tracked file points at documents that live outside the repository;
- no C source is longer than 700 lines (one job per file);
- only csrc/transports/ names a concrete transport: the core, protocols and platform layer
  reach transports through the registered ops tables;
- the C files of the core do not include each other in a circle.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CSRC = ROOT / "csrc"
MAX_C_LINES = 700

# Built from pieces so that this file does not match its own search.
OUTSIDE_DOCS = re.compile(
    r"\.\./" + "shared" + r"|\b(?:" + "|".join(["API", "NANOMSG", "DESIGN", "STYLE"]) + r")\.md\b"
)


def tracked_files() -> list[Path]:
    """Files under version control (falls back to a walk when git is unavailable)."""
    try:
        out = subprocess.run(
            ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout
        return [ROOT / line for line in out.splitlines() if line]
    except (OSError, subprocess.CalledProcessError):
        return [p for p in ROOT.rglob("*") if p.is_file() and ".git" not in p.parts]


def c_sources() -> list[Path]:
    return sorted(p for p in CSRC.rglob("*.[ch]") if "tests" not in p.relative_to(CSRC).parts)


def test_no_file_refers_to_documents_outside_the_repository() -> None:
    offenders = []
    for path in tracked_files():
        if not path.is_file() or path.suffix in {".png", ".so", ".o"}:
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        for n, line in enumerate(text.splitlines(), 1):
            if OUTSIDE_DOCS.search(line):
                offenders.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()[:90]}")
    assert not offenders, "references to files outside the repository:\n" + "\n".join(offenders)


def test_the_check_above_would_see_a_reference() -> None:
    assert OUTSIDE_DOCS.search("see " + "../" + "shared/" + "API" + ".md section 5")
    assert OUTSIDE_DOCS.search("as " + "NANOMSG" + ".md says")
    assert not OUTSIDE_DOCS.search("see docs/contract.md")


@pytest.mark.parametrize("path", c_sources(), ids=lambda p: str(p.relative_to(CSRC)))
def test_c_source_is_at_most_700_lines(path: Path) -> None:
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_C_LINES, f"{path.relative_to(ROOT)} has {lines} lines"


CONCRETE_TRANSPORT = re.compile(
    r"\b(?:np_(?:tcp|ipc|inproc|stream|ws|wss|tls|abstract)_\w+|NP_(?:INPROC|IPC|TCP)\b)"
)
# Option levels are nanomsg's public constants and may be named where options are listed.
ALLOWED_NAMES = {"NP_TCP_NODELAY"}


def test_only_transports_name_a_transport() -> None:
    offenders = []
    for path in c_sources():
        rel = path.relative_to(CSRC)
        if rel.parts[0] == "transports":
            continue
        text = path.read_text(encoding="utf-8")
        # the public header lists nanomsg's constants, including the transport levels
        if path.name == "core.h" or path.name.endswith("constants.h"):
            continue
        for n, line in enumerate(text.splitlines(), 1):
            code = line.split("//")[0]
            if code.lstrip().startswith(("*", "/*")):
                continue
            names = set(CONCRETE_TRANSPORT.findall(code)) - ALLOWED_NAMES
            if names:
                offenders.append(f"{rel}:{n}: {sorted(names)}")
    assert not offenders, "the core names concrete transports:\n" + "\n".join(offenders)


INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.MULTILINE)


def module_of(path: Path) -> str:
    """A header and its .c file are one module."""
    return str(path.relative_to(CSRC).with_suffix(""))


def include_graph() -> dict[str, set[str]]:
    """Module -> modules it includes. Header-only contracts (a .h without a .c, like the
    transport ops table) are left out: including a contract is not depending on code."""
    with_code = {module_of(p) for p in c_sources() if p.suffix == ".c"}
    graph: dict[str, set[str]] = {}
    for path in c_sources():
        src = module_of(path)
        deps = graph.setdefault(src, set())
        for inc in INCLUDE.findall(path.read_text(encoding="utf-8")):
            for base in (path.parent, CSRC):
                target = (base / inc).resolve()
                if target.exists() and CSRC in target.parents:
                    dep = module_of(target)
                    if dep != src and dep in with_code:
                        deps.add(dep)
                    break
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str]:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return []

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return []


def test_find_cycle_sees_a_circle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) == []


def test_no_circle_of_includes_in_the_c_core() -> None:
    cycle = find_cycle(include_graph())
    assert not cycle, "C modules include each other in a circle: " + " -> ".join(cycle)


DEFINITION = re.compile(r"^[A-Za-z_][\w \t\*]*?\b(np_\w+)\s*\([^;]*$", re.MULTILINE)
CALL = re.compile(r"\b(np_\w+)\s*\(")


def call_graph() -> dict[str, set[str]]:
    """File -> files whose (non-static) functions it calls directly."""
    defined: dict[str, str] = {}
    texts = {}
    for path in c_sources():
        if path.suffix != ".c":
            continue
        rel = str(path.relative_to(CSRC))
        texts[rel] = path.read_text(encoding="utf-8")
        for name in DEFINITION.findall(texts[rel]):
            defined.setdefault(name, rel)
    graph: dict[str, set[str]] = {}
    for rel, text in texts.items():
        graph[rel] = {defined[n] for n in CALL.findall(text) if defined.get(n, rel) != rel}
    return graph


def test_no_circle_of_calls_between_c_files() -> None:
    cycle = find_cycle(call_graph())
    assert not cycle, "C files call each other in a circle: " + " -> ".join(cycle)
