"""Funnel limits for counts against their expectations, with over-dispersion (Spiegelhalter 2005).

Method (Spiegelhalter, "Funnel plots for comparing institutional performance",
*Statistics in Medicine* 24:1185–1202, 2005; and "Handling over-dispersion of performance
indicators", *Quality and Safety in Health Care* 14:347–351, 2005), for a count ``O_i`` with
an expected value ``E_i`` (the indicator is the ratio ``O_i / E_i``, target 1):

1. z-scores ``z_i = (O_i - E_i) / sqrt(E_i)`` (the ratio's Poisson standard error is
   ``s_i = 1 / sqrt(E_i)``).
2. Winsorise them at the 10th and 90th percentiles: scores below the 10th percentile are set
   to it, scores above the 90th to it (``numpy.percentile``'s linear rule, as R's default).
3. Over-dispersion ratio ``phi = (1/n) Σ z_w²``.
4. Additive random effects: ``w_i = 1 / s_i² = E_i`` and
   ``tau² = max(0, (n·phi - (n - 1)) / (Σ w_i - Σ w_i² / Σ w_i))`` (``tau² = 0`` when
   ``n·phi <= n - 1``: no over-dispersion).
5. Limits on the ratio ``1 ± z_p sqrt(1/E + tau²)``, i.e. in counts
   ``E ± z_p sqrt(E + tau² E²)``, with ``z_p`` the two-sided normal quantile of the level
   (3.090 for 99.8 %, 1.960 for 95 %).

A place *lies above* the funnel when ``O > E + z_p sqrt(E + tau² E²)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ctxmap.errors import InputError

#: The funnel levels offered: 99.8 % (default) and 95 %.
LEVELS: tuple[float, ...] = (0.998, 0.95)
#: Share of z-scores winsorised at each end.
WINSOR: float = 0.1


def z_for(level: float) -> float:
    """The two-sided normal quantile of ``level`` (3.0902 for 0.998, 1.9600 for 0.95)."""
    if not 0.0 < float(level) < 1.0:
        raise InputError(f"funnel level {level!r}; expected a share between 0 and 1, e.g. 0.998")
    from scipy import stats  # imported when used (scipy.stats takes ~1 s to load)

    return float(stats.norm.ppf(0.5 + float(level) / 2.0))


def level_text(level: float) -> str:
    """``0.998`` -> ``"99.8 %"``."""
    return f"{100.0 * float(level):g} %"


@dataclass(frozen=True)
class Funnel:
    """The over-dispersion estimate and the limits it gives.

    Attributes
    ----------
    n
        Places the estimate used (those with an expectation > 0).
    phi
        Over-dispersion ratio from the winsorised z-scores (1: Poisson).
    tau2
        Between-place variance of the ratio (additive random effects; 0: none).
    level
        The flagging level (e.g. 0.998).
    """

    n: int
    phi: float
    tau2: float
    level: float

    def limits(self, expected: np.ndarray | float, level: float | None = None) -> (
        tuple[np.ndarray, np.ndarray]
    ):
        """Lower and upper limits, in counts, for places with ``expected`` incidents."""
        e = np.asarray(expected, dtype=float)
        half = z_for(self.level if level is None else level) * np.sqrt(e + self.tau2 * e * e)
        return np.maximum(e - half, 0.0), e + half

    def z_scores(self, observed: np.ndarray, expected: np.ndarray) -> np.ndarray:
        """Over-dispersed z-scores ``(O - E) / sqrt(E + tau² E²)`` (NaN where ``E <= 0``)."""
        o, e = np.asarray(observed, dtype=float), np.asarray(expected, dtype=float)
        ok = np.isfinite(e) & (e > 0)
        out = np.full(e.shape, np.nan)
        out[ok] = (o[ok] - e[ok]) / np.sqrt(e[ok] + self.tau2 * e[ok] ** 2)
        return out

    def curve(self, e_max: float, points: int = 200) -> pd.DataFrame:
        """The funnel to draw: ``expected`` from 0 to ``e_max`` and the limits at every level.

        Columns ``expected``, and ``lower_<level>``/``upper_<level>`` for each of
        :data:`LEVELS` (e.g. ``upper_99.8``).
        """
        e = np.linspace(0.0, max(float(e_max), 1e-9), points)
        out = {"expected": e}
        for lv in LEVELS:
            lo, hi = self.limits(e, lv)
            key = f"{100 * lv:g}"
            out[f"lower_{key}"] = lo
            out[f"upper_{key}"] = hi
        return pd.DataFrame(out)


def poisson_z(observed: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """Step 1: ``(O - E) / sqrt(E)`` for places with ``E > 0`` (the others are left out)."""
    o, e = np.asarray(observed, dtype=float), np.asarray(expected, dtype=float)
    return (o - e) / np.sqrt(e)


def winsorise(z: np.ndarray, share: float = WINSOR) -> np.ndarray:
    """Step 2: clip ``z`` to its ``share`` and ``1 - share`` percentiles."""
    z = np.asarray(z, dtype=float)
    if len(z) == 0:
        return z
    lo, hi = np.percentile(z, [100 * share, 100 * (1 - share)])
    return np.clip(z, lo, hi)


def estimate(observed: np.ndarray, expected: np.ndarray, level: float = 0.998) -> Funnel:
    """Estimate over-dispersion from the places with an expectation, and return the funnel.

    Parameters
    ----------
    observed, expected
        Counts and expected counts of every place; places whose expectation is not a
        number > 0 are left out of the estimate.
    level
        The flagging level (see :data:`LEVELS`).

    Returns
    -------
    Funnel
        ``n``, ``phi`` and ``tau2`` (steps 1–4 of the module's method).
    """
    z_for(level)
    o, e = np.asarray(observed, dtype=float), np.asarray(expected, dtype=float)
    ok = np.isfinite(e) & (e > 0) & np.isfinite(o)
    o, e = o[ok], e[ok]
    n = len(e)
    if n < 2:
        return Funnel(n, float("nan") if n == 0 else 1.0, 0.0, float(level))
    zw = winsorise(poisson_z(o, e))
    phi = float(np.mean(zw * zw))
    w = e
    denom = float(w.sum() - (w * w).sum() / w.sum())
    tau2 = max(0.0, (n * phi - (n - 1)) / denom) if denom > 0 else 0.0
    return Funnel(n, phi, tau2, float(level))


__all__ = ["LEVELS", "Funnel", "estimate", "level_text", "poisson_z", "winsorise", "z_for"]
