"""The ``nanopy`` command line: dispatch, usage errors, help, ``demo``, and ``cat``'s parser
and formatter in isolation (the socket behaviour is in test_cat_vs_nanocat.py)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import types
from pathlib import Path
from typing import Dict, List

import pytest

from nanopy import cli
from nanopy.cli import cat

SRC = Path(__file__).resolve().parents[1] / "src"
NANOCAT = shutil.which("nanocat")

pytestmark = pytest.mark.timeout(120)


def _env() -> Dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(SRC)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    )
    return env


def run_nanopy(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """``python -m nanopy ARGS`` with this checkout's sources, never hanging the test."""
    return subprocess.run(
        [sys.executable, "-m", "nanopy", *args], capture_output=True, text=True,
        timeout=timeout, env=_env(), stdin=subprocess.DEVNULL,
    )


def assert_clean_usage_error(result: subprocess.CompletedProcess, prog: str) -> None:
    assert result.returncode == 2, result
    assert result.stderr.startswith(f"usage: {prog}"), result.stderr
    assert f"{prog}: error: " in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


# --------------------------------------------------------------------------------------------
# The top-level command
# --------------------------------------------------------------------------------------------


def test_python_m_nanopy_help_lists_commands() -> None:
    result = run_nanopy("--help")
    assert result.returncode == 0, result
    assert result.stdout.startswith("usage: nanopy")
    for command in ("demo", "cat", "perf", "probe"):
        assert f"    {command} " in result.stdout


def test_python_m_nanopy_is_cli_main(monkeypatch: pytest.MonkeyPatch,
                                     capsys: pytest.CaptureFixture) -> None:
    """``python -m nanopy`` and the console script's ``cli.main`` print the same help."""
    monkeypatch.setenv("COLUMNS", "80")  # argparse wraps help to the terminal width
    assert cli.main(["--help"]) == 0
    assert capsys.readouterr().out == run_nanopy("--help").stdout


@pytest.mark.parametrize(
    "args", [[], ["bogus"], ["--bogus", "cat"], ["-x"]],
    ids=["no-command", "unknown-command", "unknown-option", "unknown-option-alone"],
)
def test_top_level_usage_errors(args: List[str]) -> None:
    assert_clean_usage_error(run_nanopy(*args), "nanopy")


def test_version() -> None:
    result = run_nanopy("--version")
    assert result.returncode == 0 and result.stdout.startswith("nanopy "), result


def test_perf_is_dispatched_lazily(monkeypatch: pytest.MonkeyPatch) -> None:
    seen = []

    def fake_main(argv: List[str]) -> int:
        seen.append(list(argv))
        return 7

    monkeypatch.setitem(sys.modules, "nanopy.perf",
                        types.SimpleNamespace(main=fake_main))  # type: ignore[arg-type]
    assert cli.main(["perf", "tcp://127.0.0.1:5555", "-x", "--y"]) == 7
    assert seen == [["tcp://127.0.0.1:5555", "-x", "--y"]]


def test_perf_missing_is_a_clear_error(monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture) -> None:
    monkeypatch.setitem(sys.modules, "nanopy.perf", None)  # makes the import fail
    assert cli.main(["perf", "local_lat"]) == 1
    err = capsys.readouterr().err
    assert "nanopy perf" in err and "nanopy.perf" in err and "Traceback" not in err


def test_probe_is_dispatched_to_nanopy_probe(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: List[List[str]] = []

    def fake_main(argv: List[str]) -> int:
        seen.append(list(argv))
        return 4

    monkeypatch.setitem(sys.modules, "nanopy.probe",
                        types.SimpleNamespace(main=fake_main))  # type: ignore[arg-type]
    assert cli.main(["probe", "tcp://127.0.0.1:5555", "--watch"]) == 4
    assert seen == [["tcp://127.0.0.1:5555", "--watch"]]


def test_probe_missing_is_a_clear_error(monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture) -> None:
    monkeypatch.setitem(sys.modules, "nanopy.probe", None)  # makes the import fail
    assert cli.main(["probe", "tcp://127.0.0.1:5555"]) == 1
    err = capsys.readouterr().err
    assert "nanopy probe" in err and "nanopy.probe" in err and "Traceback" not in err


def test_cli_is_a_package_with_cat_split_by_job() -> None:
    import importlib

    for name in ("nanopy.cli", "nanopy.cli.demo", "nanopy.cli.cat", "nanopy.cli.cat.options",
                 "nanopy.cli.cat.formats", "nanopy.cli.cat.session"):
        assert importlib.import_module(name)
    assert cat.parse_args is cat.options.parse_args
    assert cat.format_message is cat.formats.format_message
    assert cat.run is cat.session.run


# --------------------------------------------------------------------------------------------
# nanopy demo
# --------------------------------------------------------------------------------------------


def test_demo_runs_every_transport_and_pattern() -> None:
    result = run_nanopy("demo", timeout=90)
    assert result.returncode == 0, result
    lines = result.stdout.splitlines()
    assert lines[-1] == "all 9 exchanges succeeded", result.stdout
    for transport in ("inproc", "ipc", "tcp"):
        for pattern, evidence in (("PAIR", "b'hello'"), ("REQ/REP", "b'pong'"),
                                  ("PUB/SUB", "got b'news.hello'")):
            matching = [line for line in lines
                        if line.split()[:2] == [transport, pattern] and evidence in line]
            assert len(matching) == 1, (transport, pattern, result.stdout)
            assert matching[0].endswith(" ms)")


def test_demo_single_transport() -> None:
    result = run_nanopy("demo", "--transport", "inproc", "--timeout", "1")
    assert result.returncode == 0, result
    assert [line.split()[0] for line in result.stdout.splitlines()[:-1]] == ["inproc"] * 3


@pytest.mark.parametrize("args", [["--transport", "carrier-pigeon"], ["--timeout", "0"],
                                  ["--nope"]])
def test_demo_usage_errors(args: List[str]) -> None:
    assert_clean_usage_error(run_nanopy("demo", *args), "nanopy demo")


# --------------------------------------------------------------------------------------------
# nanopy cat: command line
# --------------------------------------------------------------------------------------------

NANOCAT_OPTIONS = [
    "--push", "--pull", "--pub", "--sub", "--req", "--rep", "--surveyor", "--respondent",
    "--bus", "--pair", "--bind", "--connect", "--bind-ipc", "-X", "--connect-ipc", "-x",
    "--bind-local", "-L", "--connect-local", "-l", "--subscribe", "--recv-timeout",
    "--send-timeout", "--socket-name", "--format", "--raw", "--ascii", "-A", "--quoted", "-Q",
    "--msgpack", "--hex", "--data", "-D", "--file", "-F", "--interval", "-i", "--delay", "-d",
    "-v", "-q", "-h",
]


@pytest.mark.parametrize("flag", ["-h", "--help", "--hel"])
def test_cat_help_documents_every_nanocat_option(flag: str) -> None:
    result = run_nanopy("cat", flag)
    assert result.returncode == 0, result
    assert result.stdout.startswith("usage: nanopy cat {--push|--pull|")
    for option in NANOCAT_OPTIONS:
        assert f"{option} " in result.stdout or f"{option}," in result.stdout, option


BAD_CAT_ARGS = {
    "nothing": ([], "one of these options is required: --push"),
    "no-endpoint": (["--pull"], "required: --bind, --connect, --bind-ipc, -X"),
    "no-socket-type": (["-l", "5555"], "required: --push, --pull"),
    "two-socket-types": (["--push", "--pull", "-l", "1"], "--pull cannot be used with --push"),
    "ambiguous": (["--pu", "-l", "1"], "ambiguous option '--pu' (could be --push, --pull, --pub)"),
    "unknown-long": (["--pull", "-l", "1", "--bogus"], "unknown option '--bogus'"),
    "unknown-short": (["--pull", "-l", "1", "-Z"], "unknown option '-Z'"),
    "positional": (["--pull", "-l", "1", "extra"], "unexpected argument 'extra'"),
    "data-on-pull": (["--pull", "-l", "1", "-D", "x"], "-D (--data) needs one of: --push"),
    "push-without-data": (["--push", "-l", "1"], "--push needs one of: --data, -D, --file"),
    "req-without-data": (["--req", "-l", "1", "-A"], "--req needs one of: --data"),
    "bad-format": (["--pull", "-l", "1", "--format", "yaml"], "invalid value 'yaml'"),
    "bad-float": (["--pull", "-l", "1", "--recv-timeout", "soon"], "got 'soon'"),
    "float-trailing-space": (["--pull", "-l", "1", "--recv-timeout", "1 "], "seconds"),
    "missing-argument": (["--pull", "--connect"], "--connect needs an argument"),
    "missing-short-argument": (["--pull", "-l"], "-l (--connect-local) needs an argument"),
    "flag-with-value": (["--pull", "-l", "1", "--raw=1"], "--raw takes no argument"),
    "data-twice": (["--push", "-l", "1", "-D", "a", "-D", "b"], "-D (--data) cannot be used"),
    "data-and-file": (["--push", "-l", "1", "-D", "a", "-F", "/dev/null"],
                      "-F (--file) cannot be used with -D (--data)"),
    "recv-timeout-on-push": (["--push", "-l", "1", "-D", "x", "--recv-timeout", "1"],
                             "--recv-timeout needs one of: --pull, --sub"),
    "subscribe-on-pub": (["--pub", "-l", "1", "-D", "x", "--subscribe", "a"],
                         "--subscribe needs one of: --sub"),
    "interval-on-sub": (["--sub", "-l", "1", "-i", "1"], "-i (--interval) needs one of"),
    "format-on-push": (["--push", "-l", "1", "-D", "x", "-A"], "-A (--ascii) needs one of"),
    "negative-delay": (["--push", "-l", "1", "-D", "x", "-d", "-1"], "--delay cannot be negative"),
}


@pytest.mark.parametrize("name", sorted(BAD_CAT_ARGS))
def test_cat_usage_errors(name: str) -> None:
    args, message = BAD_CAT_ARGS[name]
    result = run_nanopy("cat", *args)
    assert_clean_usage_error(result, "nanopy cat")
    assert message in result.stderr


@pytest.mark.parametrize("name", sorted(BAD_CAT_ARGS))
def test_nanocat_rejects_the_same_command_lines(name: str) -> None:
    """Every command line nanopy cat rejects, nanocat rejects too (it exits 1, or aborts)."""
    if NANOCAT is None:
        from conftest import skip_or_fail

        skip_or_fail("nanocat (nanomsg-utils) not installed")
    args, _message = BAD_CAT_ARGS[name]
    assert NANOCAT is not None
    result = subprocess.run([NANOCAT, *args], capture_output=True, timeout=10,
                            stdin=subprocess.DEVNULL)
    assert result.returncode != 0, result


@pytest.mark.parametrize("timeout_args", [[], ["--recv-timeout", "20"]],
                         ids=["no-timeout", "recv-timeout"])
def test_cat_ctrl_c_exits_130_promptly(timeout_args: List[str]) -> None:
    """SIGINT while blocked in nn_recv ends nanopy cat at once, with status 130, no traceback."""
    # Port 0: the kernel picks a free one at bind time (nothing connects to it here).
    proc = subprocess.Popen(
        [sys.executable, "-m", "nanopy", "cat", "--pull", "-L", "0", "-A", *timeout_args],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env(),
    )
    try:
        time.sleep(1.5)  # start-up, then blocked in nn_recv
        assert proc.poll() is None, proc.communicate()
        proc.send_signal(signal.SIGINT)
        started = time.monotonic()
        out, err = proc.communicate(timeout=10)
        elapsed = time.monotonic() - started
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, (proc.returncode, err)
    assert elapsed < 2.0, f"took {elapsed:.2f} s to stop after SIGINT"
    assert b"Traceback" not in err and out == b""


def test_cat_unreadable_file_exits_2_without_usage(tmp_path: Path) -> None:
    missing = tmp_path / "missing.bin"
    result = run_nanopy("cat", "--push", "-l", "1", "-F", str(missing))
    assert result.returncode == 2
    assert result.stderr == (
        f"nanopy cat: error: cannot read file '{missing}': No such file or directory\n"
    )


def test_parse_defaults_are_nanocats() -> None:
    options = cat.parse_args(["--sub", "--connect", "tcp://127.0.0.1:5555"])
    assert options == cat.CatOptions(socket_type="SUB", connect=["tcp://127.0.0.1:5555"])
    assert options.echo_format == "no"
    assert options.recv_timeout == options.send_timeout == options.send_interval == -1
    assert options.data is None


def test_parse_endpoint_shortcuts_and_order() -> None:
    options = cat.parse_args(["--pair", "-X", "/tmp/a", "-x", "/tmp/b", "-L", "5", "-l6",
                              "--bind", "inproc://c", "--connect=tcp://h:7"])
    assert options.bind == ["ipc:///tmp/a", "tcp://127.0.0.1:5", "inproc://c"]
    assert options.connect == ["ipc:///tmp/b", "tcp://127.0.0.1:6", "tcp://h:7"]


def test_parse_abbreviations_clusters_and_last_format_wins() -> None:
    options = cat.parse_args(["--sub", "--connect-l", "1", "--subs", "a", "--subscribe=b",
                              "-vvqAQ", "--recv", "2.5", "--hex"])
    assert options.socket_type == "SUB"
    assert options.connect == ["tcp://127.0.0.1:1"]
    assert options.subscriptions == [b"a", b"b"]
    assert options.verbose == 1
    assert options.echo_format == "hex"
    assert options.recv_timeout == 2.5


def test_parse_attached_short_values_and_skipped_separators() -> None:
    options = cat.parse_args(["--req", "-", "--", "-l1", "-AD", "ping", "-i0.5", "-d", "1e-1"])
    assert options.connect == ["tcp://127.0.0.1:1"]
    assert options.data == b"ping"
    assert options.echo_format == "ascii"
    assert options.send_interval == 0.5
    assert abs(options.send_delay - 0.1) < 1e-6


def test_parse_data_keeps_argument_bytes_and_file_reads_binary(tmp_path: Path) -> None:
    payload = bytes(range(256))
    path = tmp_path / "payload"
    path.write_bytes(payload)
    assert cat.parse_args(["--push", "-l", "1", "-F", str(path)]).data == payload
    assert cat.parse_args(["--push", "-l", "1", "-D", ""]).data == b""
    undecodable = os.fsdecode(b"caf\xe9")
    assert cat.parse_args(["--push", "-l", "1", "-D", undecodable]).data == b"caf\xe9"


@pytest.mark.parametrize(
    "text, value",
    [("1", 1.0), (" 2.5", 2.5), ("+.5", 0.5), ("1e1", 10.0), ("0x1p-1", 0.5), ("0X10", 16.0),
     ("-3", -3.0), ("0.1", 0.10000000149011612)],
)
def test_float_arguments_parse_like_strtof(text: str, value: float) -> None:
    assert cat.parse_args(["--pull", "-l", "1", "--recv-timeout", text]).recv_timeout == value


@pytest.mark.parametrize("text", ["inf", "-Infinity", "nan", "NaN(1)"])
def test_float_arguments_accept_inf_and_nan(text: str) -> None:
    value = cat.parse_args(["--pull", "-l", "1", "--recv-timeout", text]).recv_timeout
    assert value != value or abs(value) == float("inf")


@pytest.mark.parametrize(
    "seconds, socket_ms, loop_ms",
    [(0.5, 0, 500), (0.999, 0, 999), (1.7, 1000, 1700), (2.0, 2000, 2000), (0.3, 0, 300),
     (-1.0, -1000, -1000)],
)
def test_timeout_conversions_match_nanocat(seconds: float, socket_ms: int, loop_ms: int) -> None:
    """nanocat gives NN_RCVTIMEO int(seconds)*1000 but uses int(seconds*1000) in its loops."""
    seconds = cat.options.to_float32(seconds)
    assert cat.options.socket_recv_timeout_ms(seconds) == socket_ms
    assert cat.options.seconds_to_ms(seconds) == loop_ms


# --------------------------------------------------------------------------------------------
# nanopy cat: formats (independent expectations; test_cat_vs_nanocat compares with nanocat)
# --------------------------------------------------------------------------------------------

TRICKY = b'a"\\\n\r\t\x00\x7f\x80\xff~ '


@pytest.mark.parametrize(
    "fmt, expected",
    [
        ("no", b""),
        ("raw", TRICKY),
        ("ascii", b'a"\\.......~ \n'),
        ("quoted", b'"a\\"\\\\\\n\\r\\x09\\x00\\x7f\\x80\\xff~ "\n'),
        ("hex", b'"\\x61\\x22\\x5c\\x0a\\x0d\\x09\\x00\\x7f\\x80\\xff\\x7e\\x20"\n'),
        ("msgpack", b"\xc4\x0c" + TRICKY),
    ],
)
def test_format_message(fmt: str, expected: bytes) -> None:
    assert cat.format_message(TRICKY, fmt) == expected


@pytest.mark.parametrize(
    "size, header",
    [(0, b"\xc4\x00"), (255, b"\xc4\xff"), (256, b"\xc5\x01\x00"), (65535, b"\xc5\xff\xff"),
     (65536, b"\xc6\x00\x01\x00\x00"), (70000, b"\xc6\x00\x01\x11\x70")],
)
def test_msgpack_length_forms(size: int, header: bytes) -> None:
    data = b"\x01" * size
    assert cat.format_message(data, "msgpack") == header + data


def test_empty_message_in_every_format() -> None:
    assert [cat.format_message(b"", fmt) for fmt in cat.FORMATS] == [
        b"", b"", b"\n", b'""\n', b"\xc4\x00", b'""\n'
    ]


def test_format_accepts_bytes_like_and_rejects_unknown_format() -> None:
    assert cat.format_message(memoryview(b"hi"), "quoted") == b'"hi"\n'
    with pytest.raises(ValueError, match="unknown format"):
        cat.format_message(b"x", "yaml")
