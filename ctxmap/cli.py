"""The ``python -m ctxmap`` command line.

Each group of sub-commands lives in its own module (``ctxmap/commands/*.py``) with
two functions: ``register(subparsers)`` adds its parsers and sets
``func=handler`` on each, and each handler takes the parsed ``argparse.Namespace``
and returns an exit code.

Exit codes: 0 success, 1 the input is not usable (a report says why),
2 bad arguments (argparse's own convention).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from ctxmap import settings
from ctxmap.errors import CtxmapError

#: Modules that add sub-commands, in the order they appear in ``--help``.
COMMAND_MODULES: tuple[str, ...] = (
    "ctxmap.commands.layers",
    "ctxmap.commands.concern",
    "ctxmap.commands.nearest",
    "ctxmap.commands.contexts",
    "ctxmap.commands.scale",
    "ctxmap.commands.users",
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
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings.load()  # every setting checked before any work (one message for all)
        return int(args.func(args))
    except CtxmapError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
