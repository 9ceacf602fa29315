"""Sub-command groups of the ``python -m ctxmap`` command line (see :mod:`ctxmap.cli`)."""

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
