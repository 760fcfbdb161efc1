"""The ``nanopy`` console script: ``nanopy demo``, ``cat``, ``perf`` and ``probe``.

Each subcommand owns the rest of the command line: ``cat`` follows nanocat's option grammar
and ``perf`` follows nanomsg's perf tools, so ``argparse`` here only picks the subcommand
and serves ``nanopy --help``; everything after the subcommand name is passed on untouched.

A subcommand is one entry in ``_COMMANDS`` (name -> function taking the remaining arguments
and returning the exit status) and one line in ``_SUMMARIES``. ``perf`` and ``probe`` live in
the modules ``nanopy.perf`` and ``nanopy.probe``, each with a ``main(argv) -> int``.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Callable, Dict, List, Sequence

__all__ = ["main"]

PROG = "nanopy"


def _version() -> str:
    from .._version import __version__

    return __version__


def _run_demo(args: List[str]) -> int:
    from .demo import main as demo_main

    return demo_main(args, prog=f"{PROG} demo")


def _run_cat(args: List[str]) -> int:
    from .cat import main as cat_main

    return cat_main(args, prog=f"{PROG} cat")


def _run_module_main(name: str, args: List[str]) -> int:
    """Run ``nanopy.<name>.main(args)``; exit 1 with a message when the module is absent."""
    module_name = f"nanopy.{name}"
    try:
        module = importlib.import_module(module_name)
        module_main = module.main
    except ImportError as exc:
        # Only a missing module means "not available"; other import errors inside it are
        # real bugs and keep their traceback.
        if exc.name != module_name:
            raise
        return _not_available(name, module_name, "is missing")
    except AttributeError:
        return _not_available(name, module_name, "has no main()")
    result = module_main(args)
    return int(result) if result is not None else 0


def _not_available(command: str, module_name: str, why: str) -> int:
    sys.stderr.write(f"{PROG} {command}: not available in this build (module {module_name} "
                     f"{why})\n")
    return 1


def _run_perf(args: List[str]) -> int:
    return _run_module_main("perf", args)


def _run_probe(args: List[str]) -> int:
    return _run_module_main("probe", args)


_COMMANDS: Dict[str, Callable[[List[str]], int]] = {
    "demo": _run_demo,
    "cat": _run_cat,
    "perf": _run_perf,
    "probe": _run_probe,
}

_SUMMARIES = {
    "demo": "send a few messages over inproc, ipc and tcp and show what happened",
    "cat": "nanocat-compatible tool: open a socket, send and/or print messages",
    "perf": "latency and throughput tools (local_lat, remote_lat, local_thr, ...)",
    "probe": "dial an address and print which SP protocol answers (--watch: connections)",
}


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="nanopy command-line tools (nanomsg's scalability protocols in Python).",
        epilog=f"Run '{PROG} COMMAND --help' for the options of a command.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    for name, summary in _SUMMARIES.items():
        # The subcommand parses its own options; this entry is for --help and dispatch.
        commands.add_parser(name, help=summary, add_help=False)
    return parser


def _split_command(args: Sequence[str]) -> int:
    """Index of the subcommand name: the first argument that is not an option."""
    for index, arg in enumerate(args):
        if not arg.startswith("-"):
            return index
    return len(args)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``nanopy`` command line and return its exit status.

    Parameters
    ----------
    argv:
        Arguments without the program name; ``sys.argv[1:]`` when omitted.

    Returns
    -------
    int
        The subcommand's exit status; 2 for a usage error (unknown or missing command).
    """
    args = list(sys.argv[1:] if argv is None else argv)
    parser = _build_parser()
    split = _split_command(args)
    try:
        namespace = parser.parse_args(args[: split + 1])
    except SystemExit as exc:  # --help, --version and usage errors
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    if namespace.command is None:
        parser.print_usage(sys.stderr)
        sys.stderr.write(f"{PROG}: error: a command is required ({', '.join(_COMMANDS)})\n")
        return 2
    return _COMMANDS[namespace.command](args[split + 1 :])


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
