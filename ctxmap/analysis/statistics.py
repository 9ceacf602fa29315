"""Statistical tests the analyses share: Poisson excess, normal z, binomial, Benjamini–Hochberg.

One definition each, so that a place's p-value means the same in the ranking of
locations of concern, in a context's evidence and in the hotspot grid.
"""

from __future__ import annotations

import numpy as np


def poisson_excess_p(observed: np.ndarray | int, expected: np.ndarray | float) -> np.ndarray:
    """One-sided Poisson p-value of seeing at least ``observed`` when ``expected`` are expected.

    ``P(X >= observed | expected)`` = ``scipy.stats.poisson.sf(observed - 1, expected)``.
    Vectorised; ``expected`` must be > 0 (callers leave places with no baseline out).
    """
    from scipy import stats  # imported when used (scipy.stats takes ~1 s to load)

    return np.asarray(stats.poisson.sf(np.asarray(observed) - 1, expected), dtype=float)


def normal_two_sided_p(z: np.ndarray) -> np.ndarray:
    """Two-sided p-value of standard normal z-scores: ``2 * P(Z >= |z|)``."""
    from scipy import stats  # imported when used (scipy.stats takes ~1 s to load)

    return np.asarray(2.0 * stats.norm.sf(np.abs(z)), dtype=float)


def benjamini_hochberg(p_values: np.ndarray) -> np.ndarray:
    """Return Benjamini–Hochberg adjusted p-values; NaN entries stay NaN and are not counted."""
    from scipy import stats  # imported when used (scipy.stats takes ~1 s to load)

    p = np.asarray(p_values, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    if ok.any():
        out[ok] = stats.false_discovery_control(p[ok], method="bh")
    return out


def binomial_test(successes: int, trials: int, p0: float) -> tuple[float, float, float]:
    """Exact two-sided binomial test of proportion ``p0``, with its 95% interval.

    Returns
    -------
    tuple of float
        ``(p_value, ci_low, ci_high)``: the test's p-value and the Clopper–Pearson
        (exact) 95% interval of the proportion ``successes / trials``.
    """
    from scipy import stats  # imported when used (scipy.stats takes ~1 s to load)

    test = stats.binomtest(int(successes), int(trials), p0, alternative="two-sided")
    ci = test.proportion_ci(confidence_level=0.95, method="exact")
    return float(test.pvalue), float(ci.low), float(ci.high)


def format_p(p: float) -> str:
    """Return ``"= 0.012"`` (2 significant digits), or ``"< 0.001"`` for anything smaller.

    A p-value is never written as 1e-111: below 0.001 the digits mean nothing to a reader
    (and a Poisson p ignores over-dispersion, so such digits overstate certainty).
    """
    if not np.isfinite(p):
        return "not computed"
    return "< 0.001" if p < 0.001 else f"= {p:.2g}"
