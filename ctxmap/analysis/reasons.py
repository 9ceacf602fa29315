"""Why a place is or is not flagged: the sentence shown beside each ranked place.

Every number in the sentence is one the ranking computed; the wording names the
expectation (and so the study area), the funnel limit that decided, and the Poisson test
only as "without over-dispersion".
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
        Incidents the expectation gives (NaN or 0: no expectation).
    rate_ratio
        ``incidents / expected``.
    p_value, p_adjusted
        One-sided Poisson p without over-dispersion, and after the multiple-testing correction.
    flagged
        Whether the place is a location of concern.
    counts
        Incidents per category, in the order of :attr:`ReasonSettings.categories`.
    upper
        The upper funnel limit for this place's expectation (NaN: none).
    """

    incidents: int
    expected: float
    rate_ratio: float
    p_value: float
    p_adjusted: float
    flagged: bool
    counts: np.ndarray
    upper: float = float("nan")


@dataclass(frozen=True)
class ReasonSettings:
    """What every place's sentence shares: settings, period, expectation and funnel.

    ``compared_with`` and ``no_baseline`` come from the expectation
    (:class:`ctxmap.analysis.expectations.Expectation`), so every sentence names its method
    and the study area; ``level_text`` is e.g. ``"99.8 %"``; ``funnel_n`` the places the
    over-dispersion was estimated from.
    """

    categories: list[str]
    radius_m: float
    min_incidents: int
    correction: str
    period_text: str
    compared_with: str
    no_baseline: str
    level_text: str
    funnel_n: int


def breakdown_text(counts: np.ndarray, cats: list[str]) -> str:
    """Return ``"3 drugs, 1 robbery"``: the non-zero counts, largest first."""
    pairs = [(int(n), c) for n, c in zip(counts, cats, strict=True) if n > 0]
    pairs.sort(key=lambda t: (-t[0], t[1]))
    return ", ".join(f"{n} {c.lower()}" for n, c in pairs)


def without_overdispersion(place: PlaceResult, correction: str) -> str:
    """The Poisson test's sentence: ``"Without over-dispersion: one-sided Poisson p < 0.001."``."""
    text = f"Without over-dispersion: one-sided Poisson p {format_p(place.p_value)}"
    if correction == "fdr_bh":
        text += f", Benjamini–Hochberg adjusted p {format_p(place.p_adjusted)}"
    return text + "."


def reason(place: PlaceResult, settings: ReasonSettings) -> str:
    """Return the sentences saying what was counted near a place, against what, and the verdict.

    E.g. "47 incidents within 400 m (Oct 2018 to Feb 2019; 30 drugs, 17 robbery). Its
    neighbourhood (400–1,500 m, within Norwich) would give 21.0, so this is 2.2 times that.
    Above the 99.8 % funnel limit for places with this expectation (31.2; over-dispersion
    estimated from 48 places): flagged. Without over-dispersion: ..."
    """
    n, expected, s = place.incidents, place.expected, settings
    word = "incident" if n == 1 else "incidents"
    detail = breakdown_text(place.counts, s.categories)
    head = f"{n} {word} within {s.radius_m:g} m ({s.period_text}{'; ' + detail if detail else ''})."
    if not np.isfinite(expected) or expected <= 0:
        return f"{head} Not flagged: {s.no_baseline}."
    main = (f"{head} {s.compared_with} {expected:.1f}, so this is {place.rate_ratio:.1f} "
            "times that.")
    limit = (f"the {s.level_text} funnel limit for places with this expectation "
             f"({place.upper:.1f}; over-dispersion estimated from {s.funnel_n} places)")
    if place.flagged:
        verdict = f"Above {limit}: flagged."
    elif n > place.upper:
        verdict = f"Above {limit}, but not flagged: fewer than {s.min_incidents} incidents."
    else:
        verdict = f"Within {limit}: not flagged."
    return f"{main} {verdict} {without_overdispersion(place, s.correction)}"
