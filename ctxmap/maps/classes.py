"""Colour classes of the analysis layers: quantile breaks, a value's class, class labels."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ctxmap.errors import InputError


def number_text(value: float, digits: int = 1) -> str:
    """A number for a legend or tooltip: ``"–"`` when not finite, no decimals from 100."""
    if not math.isfinite(value):
        return "–"
    if abs(value) >= 100 or digits == 0:
        return f"{value:,.0f}"
    return f"{value:,.{digits}f}"


def class_breaks(values: Sequence[float] | np.ndarray, n_classes: int) -> list[float]:
    """Return the lower bounds of up to ``n_classes`` quantile classes of ``values``.

    Class ``k`` starts at the sorted value at position ``k * n // n_classes`` (so each
    class holds about ``n / n_classes`` values). The first bound is the smallest finite
    value; bounds are distinct and increasing (ties merge classes), so a value's class is
    the number of bounds ``<=`` it, minus one.

    Raises
    ------
    InputError
        If ``n_classes`` < 1.
    """
    if n_classes < 1:
        raise InputError(f"{n_classes} classes; expected at least 1")
    arr = np.asarray(values, dtype=float)
    arr = arr[np.isfinite(arr)]
    if arr.size == 0:
        return []
    arr = np.sort(arr)
    starts = (np.arange(n_classes) * len(arr)) // n_classes
    return sorted({float(v) for v in arr[starts]})


def classify_values(values: Sequence[float] | np.ndarray, breaks: Sequence[float]) -> np.ndarray:
    """Return each value's class (0-based) given lower ``breaks``; -1 below the first or NaN."""
    arr = np.asarray(values, dtype=float)
    out = np.searchsorted(np.asarray(breaks, dtype=float), arr, side="right") - 1
    out[~np.isfinite(arr)] = -1
    return out.astype(np.int64)


def range_labels(breaks: Sequence[float], top: float, unit: str = "") -> list[str]:
    """The label of each class (``"low–high<unit>"``) given its lower ``breaks`` and the top."""
    whole = all(float(v).is_integer() for v in [*breaks, top])
    digits = 0 if whole else 1
    labels = []
    for k, low in enumerate(breaks):
        high = breaks[k + 1] if k + 1 < len(breaks) else top
        text = (f"{number_text(low, digits)}–{number_text(high, digits)}" if high > low
                else number_text(low, digits))
        labels.append(f"{text}{unit}")
    return labels
