"""Why a place is or is not flagged: the sentence shown beside each ranked place.

Every number in the sentence is one the ranking computed; the wording states the test,
its threshold and which rule decided.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ctxmap.analysis.statistics import format_p


@dataclass(frozen=True)
class PlaceResult:
    """One place's counts and test results.

    Attributes
    ----------
    incidents
        Incidents within the radius.
    expected
        Incidents an area that size in the study area averages (NaN or 0: no baseline).
    rate_ratio
        ``incidents / expected``.
    p_value, p_adjusted
        One-sided Poisson p, and after the multiple-testing correction.
    flagged
        Whether the place is a location of concern.
    counts
        Incidents per category, in the order of :attr:`ReasonSettings.categories`.
    """

    incidents: int
    expected: float
    rate_ratio: float
    p_value: float
    p_adjusted: float
    flagged: bool
    counts: np.ndarray


@dataclass(frozen=True)
class ReasonSettings:
    """What every place's sentence shares: the settings, the period and the study area."""

    categories: list[str]
    radius_m: float
    alpha: float
    min_incidents: int
    correction: str
    period_text: str
    area_name: str


def breakdown_text(counts: np.ndarray, cats: list[str]) -> str:
    """Return ``"3 drugs, 1 robbery"``: the non-zero counts, largest first."""
    pairs = [(int(n), c) for n, c in zip(counts, cats, strict=True) if n > 0]
    pairs.sort(key=lambda t: (-t[0], t[1]))
    return ", ".join(f"{n} {c.lower()}" for n, c in pairs)


def reason(place: PlaceResult, settings: ReasonSettings) -> str:
    """Return the sentence saying what was counted near a place and why it is (not) flagged."""
    n, expected, s = place.incidents, place.expected, settings
    word = "incident" if n == 1 else "incidents"
    head = f"{n} {word} within {s.radius_m:g} m in {s.period_text}"
    detail = breakdown_text(place.counts, s.categories)
    tail = f"; {detail}" if detail else ""
    if not np.isfinite(expected) or expected <= 0:
        return (
            f"{head}{tail}. Not flagged: no baseline, the circle lies outside {s.area_name} "
            "(study area)."
        )
    main = (
        f"{head}, {place.rate_ratio:.1f} times what an area that size in {s.area_name} "
        f"averages (expected {expected:.1f}){tail}."
    )
    test = f"one-sided Poisson p {format_p(place.p_value)}"
    if s.correction == "fdr_bh":
        test += f", Benjamini–Hochberg adjusted p {format_p(place.p_adjusted)}"
    decisive = place.p_adjusted if s.correction == "fdr_bh" else place.p_value
    if place.flagged:
        return f"{main} Flagged: {test} <= {s.alpha:g}."
    if n < s.min_incidents:
        return (
            f"{main} Not flagged: fewer than {s.min_incidents} incidents "
            f"({test})."
        )
    sign = ">" if decisive > s.alpha else "<="
    return f"{main} Not flagged: {test} {sign} {s.alpha:g}."
