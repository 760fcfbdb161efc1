"""The documentation works: every runnable code example runs, and the site builds cleanly.

Convention (docs/index.md says it to readers too): every fenced ```python block in docs/ is
runnable and is executed here, each in its own interpreter with a timeout, from a scratch
directory. A block that cannot run alone is opted out by an HTML comment on the line right
before its fence: ``<!-- skip: reason -->``. Other languages (```sh, ```text) are not run.

The site is built with ``mkdocs build --strict`` (warnings are errors) into a temporary
directory; without mkdocs the build test is skipped locally and fails when CI=true.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import skip_or_fail

import nanopy

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
MKDOCS_CONFIG = DOCS / "config" / "mkdocs.yml"
EXAMPLE_TIMEOUT_S = 60

FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>[^\n`]*)$")
SKIP = re.compile(r"^\s*<!--\s*skip:\s*(?P<reason>.+?)\s*-->\s*$")


@dataclass(frozen=True)
class Block:
    page: str  # path relative to docs/
    line: int  # 1-based line of the opening fence
    lang: str
    code: str
    skip_reason: str | None

    @property
    def id(self) -> str:
        return f"{self.page}:{self.line}"


def extract_blocks(text: str, page: str) -> list[Block]:
    """Every fenced code block of a Markdown page, with its language and skip marker."""
    lines = text.splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        fence, indent = m.group("fence"), m.group("indent")
        info = m.group("info").strip()
        lang = info.split()[0].lstrip("{.").rstrip("}") if info else ""
        skip = None
        j = i - 1
        while j >= 0 and not lines[j].strip():
            j -= 1
        if j >= 0 and j == i - 1:
            sm = SKIP.match(lines[j])
            skip = sm.group("reason") if sm else None
        body: list[str] = []
        k = i + 1
        while k < len(lines):
            end = lines[k].strip()
            if end.startswith(fence[0] * len(fence)) and not end.strip(fence[0]):
                break
            body.append(lines[k][len(indent):] if lines[k].startswith(indent) else lines[k])
            k += 1
        else:
            raise AssertionError(f"{page}:{i + 1}: code fence never closed")
        blocks.append(Block(page, i + 1, lang, "\n".join(body) + "\n", skip))
        i = k + 1
    return blocks


def doc_pages() -> list[Path]:
    return sorted(p for p in DOCS.rglob("*.md") if "config" not in p.relative_to(DOCS).parts)


def all_blocks() -> list[Block]:
    blocks: list[Block] = []
    for page in doc_pages():
        blocks += extract_blocks(page.read_text(encoding="utf-8"), str(page.relative_to(DOCS)))
    return blocks


PYTHON_BLOCKS = [b for b in all_blocks() if b.lang in ("python", "py", "python3")]


def test_extractor_understands_the_convention() -> None:
    text = (
        "intro\n\n```python\nprint(1)\n```\n\n<!-- skip: a fragment -->\n```python\nx(\n```\n"
        "\n```sh\nls\n```\n\n    ```python\n    print(2)\n    ```\n"
    )
    got = extract_blocks(text, "t.md")
    assert [(b.lang, b.code, b.skip_reason, b.line) for b in got] == [
        ("python", "print(1)\n", None, 3),
        ("python", "x(\n", "a fragment", 8),
        ("sh", "ls\n", None, 12),
        ("python", "print(2)\n", None, 16),
    ]


def test_every_page_exists_and_examples_were_found() -> None:
    pages = {str(p.relative_to(DOCS)) for p in doc_pages()}
    expected = {
        "index.md", "getting-started.md", "api.md", "socket.md", "asyncio.md", "migration.md",
        "threads.md", "interop.md", "security.md", "benchmarks.md", "design.md", "contract.md",
        *(f"protocols/{p}.md" for p in ("pair", "pubsub", "reqrep", "pipeline", "survey", "bus")),
    }
    assert expected <= pages, f"missing pages: {sorted(expected - pages)}"
    runnable = [b for b in PYTHON_BLOCKS if b.skip_reason is None]
    assert len(runnable) >= 30, "the docs lost most of their runnable examples"
    for proto in ("pair", "pubsub", "reqrep", "pipeline", "survey", "bus"):
        page_blocks = [b for b in runnable if b.page == f"protocols/{proto}.md"]
        assert page_blocks, f"protocols/{proto}.md has no runnable example"
        assert any("nanopy.Socket(" in b.code for b in page_blocks)
        assert any("raw=True" in b.code for b in page_blocks), f"{proto}: no raw example"


def test_examples_fit_the_line_length() -> None:
    """The project's 100 columns (ruff's line-length), so examples read without scrolling."""
    long_lines = [
        f"{b.id} +{n}: {len(line)} columns"
        for b in PYTHON_BLOCKS
        for n, line in enumerate(b.code.splitlines(), 1)
        if len(line) > 100
    ]
    assert not long_lines, "\n".join(long_lines)


RUNNABLE_BLOCKS = [b for b in PYTHON_BLOCKS if b.skip_reason is None]


def test_blocks_not_run_say_why() -> None:
    """Blocks that are not nanopy code (the other libraries on the migration page) are
    excluded from running only with a stated reason, and only a few of them."""
    excluded = [b for b in PYTHON_BLOCKS if b.skip_reason is not None]
    assert all(b.skip_reason.strip() for b in excluded)
    assert len(excluded) <= 5, [b.id for b in excluded]


@pytest.mark.parametrize("block", RUNNABLE_BLOCKS, ids=[b.id for b in RUNNABLE_BLOCKS])
def test_example_runs(block: Block, tmp_path: Path) -> None:
    script = tmp_path / "example.py"
    script.write_text(block.code, encoding="utf-8")
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", PYTHONUNBUFFERED="1")
    try:
        proc = subprocess.run(
            [sys.executable, "-X", "dev", "-W", "error::ResourceWarning", str(script)],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=EXAMPLE_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"{block.id}: example did not finish in {EXAMPLE_TIMEOUT_S} s\n{e.stdout!r}")
    assert proc.returncode == 0, (
        f"{block.id}: example failed (exit {proc.returncode})\n"
        f"--- code ---\n{block.code}\n--- stdout ---\n{proc.stdout}\n--- stderr ---\n{proc.stderr}"
    )
    assert "Traceback" not in proc.stderr, f"{block.id}: traceback on stderr\n{proc.stderr}"


# ---- coverage of the reference pages --------------------------------------------------------

API_FUNCTIONS = [
    # The nn_* functions of the public contract, in the order docs/ lists them.
    "nn_socket", "nn_close", "nn_setsockopt", "nn_getsockopt", "nn_bind", "nn_connect",
    "nn_shutdown", "nn_send", "nn_recv", "nn_recv_into", "nn_sendmsg", "nn_recvmsg", "nn_poll",
    "nn_device", "nn_term", "nn_errno", "nn_strerror", "nn_symbol", "nn_symbol_info",
    "nn_get_statistic",
]
EXCEPTIONS = ["NNError", "Timeout", "Again", "StateError", "Terminated", "BadSocket",
              "ConnectionRefused", "AddressInUse"]


def _headings(page: str) -> str:
    text = (DOCS / page).read_text(encoding="utf-8")
    return "\n".join(line for line in text.splitlines() if line.startswith("#"))


def test_api_page_covers_every_function_and_exception() -> None:
    exported = sorted(n for n in nanopy.__all__ if n.startswith("nn_"))
    assert set(API_FUNCTIONS) <= set(exported)
    heads = _headings("api.md")
    missing = [f for f in exported if not re.search(rf"^#+ .*`{f}\(", heads, re.M)]
    assert not missing, f"docs/api.md has no heading for {missing}"
    text = (DOCS / "api.md").read_text(encoding="utf-8")
    for name in EXCEPTIONS:
        assert f"`nanopy.{name}`" in text, f"docs/api.md does not describe nanopy.{name}"
    for const in ("NN_RCVMAXSIZE", "NN_SNDBUF", "NN_STAT_CURRENT_CONNECTIONS", "ETERM", "EFSM"):
        assert const in text


# Socket's public members when the page was written (the Pythonic layer's contract and
# nanopy's extras).
# A fixed list, so that adding a method elsewhere does not fail this test before its docs
# exist; extend it together with docs/socket.md.
SOCKET_MEMBERS = [
    "arecv", "asend", "bind", "close", "closed", "connect", "context", "dial", "endpoints",
    "getsockopt", "id", "ipv4only", "linger", "listen", "max_ttl", "name", "protocol", "raw",
    "reconnect_interval", "reconnect_interval_max", "recv", "recv_buffer", "recv_fd",
    "recv_into", "recv_many", "recv_max_size", "recv_msg", "recv_priority", "recv_timeout",
    "recvmsg", "resend_interval", "send", "send_buffer", "send_fd", "send_many",
    "send_priority", "send_timeout", "sendmsg", "setsockopt", "subscribe", "survey_deadline",
    "tcp_nodelay", "unsubscribe",
]


def test_socket_page_covers_the_public_socket() -> None:
    text = (DOCS / "socket.md").read_text(encoding="utf-8")
    assert set(SOCKET_MEMBERS) <= set(dir(nanopy.Socket))
    missing = [n for n in SOCKET_MEMBERS if not re.search(rf"`[^`\n]*\b{n}\b[^`\n]*`", text)]
    assert not missing, f"docs/socket.md does not mention Socket.{missing}"
    for name in ("Endpoint", "Message", "Context", "send_many", "recv_many", "shutdown"):
        assert name in text


# ---- the site ---------------------------------------------------------------------------------


def _mkdocs_available() -> bool:
    return all(importlib.util.find_spec(m) is not None for m in ("mkdocs", "material"))


def test_site_builds_strict(tmp_path: Path) -> None:
    if not _mkdocs_available():
        skip_or_fail("mkdocs/mkdocs-material not installed (pip install -r docs/requirements.txt)")
    site = tmp_path / "site"
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet",
         "-f", str(MKDOCS_CONFIG), "-d", str(site)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
        env=dict(os.environ, NO_MKDOCS_2_WARNING="1"),  # Material's end-of-life banner
    )
    assert proc.returncode == 0, f"mkdocs build --strict failed\n{proc.stdout}\n{proc.stderr}"
    for page in ("index.html", "api/index.html", "protocols/reqrep/index.html",
                 "interop/index.html", "security/index.html"):
        assert (site / page).is_file(), f"{page} missing from the built site"
    assert not (site / "config").exists() and not (site / "requirements.txt").exists()
