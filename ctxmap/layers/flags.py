"""Yes/no columns of a layer (``fictional``, ``sensitive``): one reading of "true"."""

from __future__ import annotations

import math
from typing import Final

import numpy as np
import pandas as pd

#: Text read as yes and as no (case and surrounding spaces ignored).
TRUE_STRINGS: Final = frozenset({"true", "t", "yes", "y", "1"})
FALSE_STRINGS: Final = frozenset({"false", "f", "no", "n", "0"})


def is_true(value: object) -> bool:
    """Tell whether a ``fictional``-style cell means true (bool, 1, "true", "yes").

    Missing values (``None``, NaN, ``pd.NA``) and anything else are false.
    """
    if value is None or value is pd.NA:
        return False
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | float | np.integer | np.floating):
        return not math.isnan(float(value)) and float(value) == 1.0
    return str(value).strip().lower() in TRUE_STRINGS


def read_flag(value: object) -> bool | None:
    """Read a yes/no cell of an imported file: True, False, or None when missing or unclear.

    Unlike :func:`is_true` (which shows a stored value), an unrecognised value stays
    unknown (None), so the reader can keep it apart from an explicit "no".
    """
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    text = str(value).strip().lower()
    if text in TRUE_STRINGS:
        return True
    if text in FALSE_STRINGS:
        return False
    return None
