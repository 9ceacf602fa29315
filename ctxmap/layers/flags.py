"""Yes/no columns of a layer (``fictional``, ``sensitive``): one reading of "true"."""

from __future__ import annotations

import math
from typing import Final

import numpy as np
import pandas as pd

_TRUE_STRINGS: Final = frozenset({"true", "t", "yes", "y", "1"})


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
    return str(value).strip().lower() in _TRUE_STRINGS
