"""``nanopy cat``: a drop-in replacement for nanomsg's ``nanocat`` tool.

It accepts nanocat's command line (same options, same abbreviation and clustering rules, same
mutual exclusions and requirements) and prints received messages in nanocat's five formats
byte for byte, so scripts written against ``nanocat`` can call ``nanopy cat`` instead.

Behaviour kept from nanocat 1.1.5 on purpose, because scripts may depend on it:

* Without ``--format`` (or a shortcut) nothing is printed for received messages.
* ``--recv-timeout`` is truncated to whole seconds when it is applied to the socket
  (``0.5`` means "do not wait at all"); inside the ``--interval`` send/receive loop the
  millisecond value is used.
* A receive timeout ends SUB/PULL/REQ/SURVEYOR/PAIR/BUS and REP without ``--data`` quietly with
  exit status 0, but REP/RESPONDENT with ``--data`` report ``Can't recv: ...`` and exit 3.
* Runtime failures print ``<what>: <nn_strerror>`` on stderr and exit 3; an unreadable
  ``--file`` exits 2.
* ``--`` and a lone ``-`` are skipped, they do not end option parsing.

Deliberate differences: command-line errors print a usage line and exit 2 (nanocat exits 1),
a negative ``--delay`` is a usage error (nanocat aborts), Ctrl-C exits 130 without a traceback.
"""

from __future__ import annotations

import os
import sys
from typing import Sequence

from .formats import FORMATS, format_message
from .options import (
    PROG,
    CatOptions,
    CatUsageError,
    _HelpRequested,
    help_text,
    parse_args,
    usage_line,
)
from .session import run

__all__ = [
    "FORMATS",
    "CatOptions",
    "CatUsageError",
    "format_message",
    "parse_args",
    "usage_line",
    "help_text",
    "run",
    "main",
]


def main(argv: Sequence[str] | None = None, prog: str = PROG) -> int:
    """Entry point of ``nanopy cat``: parse ``argv`` (without the program name) and run.

    Returns the process exit status: 0 success, 2 bad command line or unreadable ``--file``,
    3 socket failure, 130 interrupted, 141 stdout closed early.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        options = parse_args(args)
    except _HelpRequested:
        sys.stdout.write(help_text(prog))
        sys.stdout.flush()
        return 0
    except CatUsageError as exc:
        if exc.show_usage:
            sys.stderr.write(f"usage: {usage_line(prog)}\n")
        sys.stderr.write(f"{prog}: error: {exc}\n")
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    try:
        return run(options)
    except BrokenPipeError:
        # The reader went away (e.g. `| head`): leave quietly like a process killed by SIGPIPE.
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except OSError:
            pass
        return 141


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
