"""Commands: the sub-commands of ``python -m ctxmap`` (see :mod:`ctxmap.cli`).

Each module registers its sub-commands; they parse arguments, call the domain packages
and print.

May import: ctxmap.errors, ctxmap.settings, ctxmap.text, ctxmap.layers, ctxmap.store,
    ctxmap.analysis, ctxmap.nearby, ctxmap.privacy, ctxmap.cases, ctxmap.maps,
    ctxmap.reports, ctxmap.commands.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable


def positive(unit: str = "") -> Callable[[str], float]:
    """An argparse ``type`` for a number > 0 (``unit``, e.g. ``"metres"``, names it)."""
    what = f"a number of {unit}" if unit else "a number"

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
        if not value > 0:
            raise argparse.ArgumentTypeError(f"{text!r}; expected {what} > 0")
        return value

    return parse
