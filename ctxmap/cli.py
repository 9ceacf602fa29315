"""The ``python -m ctxmap`` command line.

Each group of sub-commands lives in its own module (``ctxmap/commands/*.py``) with
two functions: ``register(subparsers)`` adds its parsers and sets
``func=handler`` on each, and each handler takes the parsed ``argparse.Namespace``
and returns an exit code.

Exit codes: 0 success, 1 the input is not usable (a report says why) or an unexpected
error (one line with an error id; the traceback is only in the server-side error log,
see :func:`ctxmap.errors.log_unexpected`), 2 bad arguments (argparse's own convention).
No message ever holds a password (:func:`ctxmap.errors.redact_credentials`).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from ctxmap import settings
from ctxmap.errors import CtxmapError, log_unexpected, redact_credentials, unexpected_message

#: Modules that add sub-commands, in the order they appear in ``--help``.
COMMAND_MODULES: tuple[str, ...] = (
    "ctxmap.commands.stores",
    "ctxmap.commands.layers",
    "ctxmap.commands.concern",
    "ctxmap.commands.evaluate",
    "ctxmap.commands.nearest",
    "ctxmap.commands.contexts",
    "ctxmap.commands.scale",
    "ctxmap.commands.users",
    "ctxmap.commands.audit",
)


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser with every available sub-command."""
    parser = argparse.ArgumentParser(
        prog="python -m ctxmap",
        description="ctxmap: maps and analysis for Contextual Safeguarding.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # that group is not written yet
                continue
            raise
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    words = list(sys.argv[1:] if argv is None else argv)
    try:
        args = build_parser().parse_args(words)
        settings.load()  # every setting checked before any work (one message for all)
        return int(args.func(args))
    except CtxmapError as exc:
        print(f"error: {exc}", file=sys.stderr)  # str() of a CtxmapError is redacted
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # the one top-level handler: never a traceback on screen
        where = "python -m ctxmap " + redact_credentials(" ".join(words))
        error_id = log_unexpected(exc, where, settings.log_dir())
        print(f"error: {unexpected_message(error_id)}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
