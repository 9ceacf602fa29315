"""Walking times and distances as people read them ("7 min", "450 m", "1.3 km").

Shared by the Nearby maps, the printable card and the tables: one rounding rule.
"""

from __future__ import annotations

import math


def is_estimate(basis: str) -> bool:
    """Tell whether a ``walk_basis`` means walking times are estimates (no street network)."""
    return str(basis).strip().lower().startswith("estimate")


def _amount(value: object) -> float | None:
    """``value`` as a finite number >= 0, or None (missing, not a number, negative)."""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) and number >= 0 else None


def walk_text(minutes: object) -> str:
    """Return a walk time for people: ``"7 min"`` (rounded up), ``"under 1 min"`` or ``"—"``."""
    value = _amount(minutes)
    if value is None:
        return "—"
    if value < 1:
        return "under 1 min"
    return f"{math.ceil(value - 1e-9):d} min"


def distance_text(metres: object) -> str:
    """Return a distance for people: ``"450 m"`` (to 10 m) or ``"1.3 km"``; ``"—"`` when unknown."""
    value = _amount(metres)
    if value is None:
        return "—"
    if value < 1000:
        return f"{round(value, -1):.0f} m"
    return f"{value / 1000:.1f} km"
