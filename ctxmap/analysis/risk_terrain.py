"""Risk terrain: a negative binomial model of incidents per grid cell from the surroundings.

Method (stated in the model's ``method`` and ``reason``)
--------------------------------------------------------
* **Grid**: squares of ``cell_m`` metres (default 200) over the study area, clipped to it
  (:mod:`ctxmap.analysis.risk_grid`). The response is the number of located incidents of
  the period in each cell; the offset is ``log`` of the cell's clipped area (km²), so the
  model describes incidents per km².
* **Candidate factors**: proximity to each OpenStreetMap feature group at 200 and 400 m
  (``docs/osm-classification.md``), population density when areas carry a population, and
  street length when street lines are given.
* **Selection rule** (as in Risk Terrain Modeling, which keeps risk factors only): forward
  selection. At each step the candidate that lowers the AIC most is added, provided it
  lowers it by more than 2, its relative risk is above 1 and its Wald p-value is below
  0.05; at most one distance per feature group. During selection the dispersion is held
  at its moment estimate from a Poisson fit with every candidate (Cameron and Trivedi).
* **Final fit**: negative binomial (NB2) by maximum likelihood (``statsmodels``
  ``NegativeBinomial``) with the kept factors, which estimates the dispersion ``alpha``.
  Each factor is shown with its relative risk ``exp(coefficient)`` and 95 % interval.
* **Use**: the model is used only when the fit converged and the predicted total is within
  10 % of the observed total (calibration); otherwise its reason says why not.
* **Expected count around a place**: the sum over cells of the fitted intensity (per km²)
  times the area of the circle ∩ cell ∩ study area.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.special import gammaln

from ctxmap.analysis.risk_grid import (
    DEFAULT_DISTANCES,
    Candidate,
    CellGrid,
    points_in_circles_weights,
    population_candidate,
    proximity_candidates,
    street_candidate,
)
from ctxmap.errors import InputError

#: Largest relative difference between predicted and observed totals for a usable model.
CALIBRATION_TOLERANCE = 0.10

SELECTION_RULE = (
    "forward selection by AIC: add the factor that lowers the AIC most while it lowers it "
    "by more than 2, has a relative risk above 1 and p < 0.05 (one distance per group)"
)


@dataclass(frozen=True)
class Factor:
    """A kept factor with its relative risk (RR) and 95 % interval."""

    name: str
    label: str
    group: str
    coefficient: float
    relative_risk: float
    rr_low: float
    rr_high: float
    p_value: float
    cells: int


@dataclass(frozen=True)
class RiskTerrain:
    """A fitted risk-terrain model on a grid.

    Attributes
    ----------
    grid
        The cells.
    factors
        Kept factors in the order they were selected.
    intensity_km2
        Fitted incidents per km² in each cell over the fitted period.
    observed, predicted_total
        Incidents per cell, and the model's total.
    alpha
        Negative binomial dispersion (variance = mu + alpha mu²).
    converged, calibrated
        Fit checks; the model is ``usable`` only when both hold.
    reason
        One sentence saying whether the model is used and why.
    months
        Number of months fitted (to scale expectations to other periods).
    notes
        How the covariates were obtained (features, population, streets).
    """

    grid: CellGrid
    factors: tuple[Factor, ...]
    intercept: float
    intensity_km2: np.ndarray
    observed: np.ndarray
    predicted_total: float
    alpha: float
    converged: bool
    calibrated: bool
    reason: str
    months: int
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def usable(self) -> bool:
        """True when the fit converged and is calibrated."""
        return self.converged and self.calibrated

    @property
    def observed_total(self) -> int:
        """Incidents inside the study area in the fitted period."""
        return int(self.observed.sum())

    def relative_risk(self) -> np.ndarray:
        """Each cell's intensity over the study area's mean intensity (area-weighted)."""
        mean = float((self.intensity_km2 * self.grid.area_km2).sum() / self.grid.area_km2.sum())
        return self.intensity_km2 / mean if mean > 0 else np.ones(len(self.grid))

    def expected_around(
        self, px: np.ndarray, py: np.ndarray, radius_m: float, months: int | None = None
    ) -> np.ndarray:
        """Expected incidents within ``radius_m`` of each point (metric CRS of the grid).

        The fitted intensity integrated over the circle ∩ study area (area-weighted overlap
        with each cell), for ``months`` months (default: the fitted period's length).
        """
        a, b, km2 = points_in_circles_weights(self.grid, np.asarray(px, float),
                                              np.asarray(py, float), float(radius_m))
        total = np.bincount(a, weights=km2 * self.intensity_km2[b], minlength=len(px))
        return total * ((months / self.months) if months else 1.0)

    def factor_table(self) -> pd.DataFrame:
        """One row per kept factor: label, relative risk, 95 % interval, p-value, cells."""
        return pd.DataFrame(
            {
                "factor": [f.label for f in self.factors],
                "relative_risk": [f.relative_risk for f in self.factors],
                "rr_95_low": [f.rr_low for f in self.factors],
                "rr_95_high": [f.rr_high for f in self.factors],
                "p_value": [f.p_value for f in self.factors],
                "cells_with_factor": [f.cells for f in self.factors],
            }
        )

    def cells_frame(self, crs: str = "EPSG:4326") -> gpd.GeoDataFrame:
        """The cells (in ``crs``) with observed counts, intensity and relative risk."""
        return self.grid.to_frame(
            {
                "observed": self.observed,
                "expected": self.intensity_km2 * self.grid.area_km2,
                "intensity_per_km2": self.intensity_km2,
                "relative_risk": self.relative_risk(),
            },
            crs,
        )


def _moment_alpha(y: np.ndarray, mu: np.ndarray) -> float:
    """Cameron–Trivedi moment estimate of NB2 alpha from a Poisson fit (>= 1e-6)."""
    denom = float((mu * mu).sum())
    if denom <= 0:
        return 1e-6
    return max(1e-6, float((((y - mu) ** 2) - y).sum()) / denom)


@dataclass(frozen=True)
class _Fit:
    """A negative binomial (NB2, fixed alpha) GLM fit by IRLS."""

    beta: np.ndarray
    mu: np.ndarray
    cov: np.ndarray
    aic: float

    @property
    def last_z(self) -> float:
        """Wald z of the last coefficient."""
        return float(self.beta[-1] / np.sqrt(max(self.cov[-1, -1], 1e-300)))


def _glm(y: np.ndarray, x: np.ndarray, offset: np.ndarray, alpha: float) -> _Fit:
    """Fit a log-link NB2 GLM with fixed ``alpha`` by iteratively reweighted least squares.

    The normal equations are small (one row and column per factor), so each step costs
    one pass over the cells; used only for selection (the final fit is statsmodels').
    """
    mu = np.full(len(y), max(float(y.mean()), 1e-9))
    beta = np.zeros(x.shape[1])
    beta[0] = float(np.log(mu[0]) - offset.mean())
    xtwx = np.eye(x.shape[1])
    for _ in range(100):
        w = mu / (1.0 + alpha * mu)
        z = np.log(mu) - offset + (y - mu) / mu
        xtwx = x.T @ (x * w[:, None])
        new = np.linalg.lstsq(xtwx, x.T @ (w * z), rcond=None)[0]
        eta = np.clip(x @ new + offset, -50.0, 50.0)
        mu = np.exp(eta)
        done = np.max(np.abs(new - beta)) < 1e-9
        beta = new
        if done:
            break
    w = mu / (1.0 + alpha * mu)
    cov = np.linalg.pinv(x.T @ (x * w[:, None]))
    inv = 1.0 / alpha
    llf = float((gammaln(y + inv) - gammaln(inv) - gammaln(y + 1.0)
                 + y * np.log(alpha * mu / (1.0 + alpha * mu)) - inv * np.log1p(alpha * mu)).sum())
    return _Fit(beta, mu, cov, -2.0 * llf + 2.0 * x.shape[1])


def _score_statistics(
    y: np.ndarray, mu: np.ndarray, alpha: float, base: np.ndarray, cands: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Rao score statistics for adding each column of ``cands`` to a fitted NB2 GLM.

    Returns the score ``U`` (its sign is the sign the coefficient would take) and the
    statistic ``U² / I`` (chi-squared, 1 df, under "no effect").
    """
    w = mu / (1.0 + alpha * mu)
    u = cands.T @ ((y - mu) / (1.0 + alpha * mu))
    wb = base * w[:, None]
    proj = np.linalg.solve(base.T @ wb, wb.T @ cands)
    info = (cands * (cands * w[:, None])).sum(axis=0) - ((wb.T @ cands) * proj).sum(axis=0)
    stat = np.where(info > 1e-12, u * u / np.maximum(info, 1e-12), 0.0)
    return u, stat


def select_factors(
    y: np.ndarray, offset: np.ndarray, candidates: list[Candidate]
) -> tuple[list[Candidate], float]:
    """Forward selection by AIC (see :data:`SELECTION_RULE`); returns kept factors and alpha.

    Candidates are tried in decreasing order of their score statistic (a one-fit-per-step
    shortcut for "the one that lowers the AIC most"); the first that passes every test of
    the rule is kept.
    """
    ones = np.ones((len(y), 1))
    if candidates:
        full = np.column_stack([ones] + [c.values for c in candidates])
        alpha = _moment_alpha(y, _glm(y, full, offset, 1e-8).mu)
    else:
        alpha = _moment_alpha(y, np.full(len(y), y.mean()))
    kept: list[Candidate] = []
    fit = _glm(y, ones, offset, alpha)
    remaining = list(candidates)
    while remaining:
        base = np.column_stack([ones] + [c.values for c in kept])
        cands = np.column_stack([c.values for c in remaining])
        u, stat = _score_statistics(y, fit.mu, alpha, base, cands)
        chosen = None
        for i in np.lexsort((np.arange(len(remaining)), -stat)):
            if u[i] <= 0 or stat[i] < 3.841:  # chi-squared(1) 95 % point: p < 0.05
                continue
            res = _glm(y, np.column_stack([base, cands[:, i]]), offset, alpha)
            if res.beta[-1] > 0 and res.last_z > 1.95996 and res.aic < fit.aic - 2:
                chosen, fit = remaining[i], res
                break
        if chosen is None:
            break
        kept.append(chosen)
        remaining = [c for c in remaining if c.group != chosen.group]
    return kept, alpha


def fit_counts(
    grid: CellGrid,
    counts: np.ndarray,
    candidates: list[Candidate],
    months: int = 1,
    notes: tuple[str, ...] = (),
) -> RiskTerrain:
    """Fit the model to incidents per cell with the given candidate factors.

    Parameters
    ----------
    grid
        The cells.
    counts
        Incidents per cell (same order as the grid).
    candidates
        Candidate factors (columns of values per cell).
    months
        How many months the counts cover.
    notes
        Sentences on where the covariates came from (kept in the result).
    """
    y = np.asarray(counts, dtype=float)
    if len(y) != len(grid):
        raise InputError(f"{len(y)} counts for {len(grid)} cells; expected one per cell")
    offset = np.log(grid.area_km2)
    total = float(y.sum())
    if total == 0:
        return RiskTerrain(grid, (), float("nan"), np.zeros(len(grid)), y.astype(np.int64), 0.0,
                           float("nan"), False, False, "model not used: no incidents in the "
                           "study area to fit it to", months, notes)
    kept, _ = select_factors(y, offset, candidates)
    import statsmodels.api as sm  # imported when a model is fitted (~0.7 s to load)

    x = np.column_stack([np.ones(len(y))] + [c.values for c in kept])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            res = sm.NegativeBinomial(y, x, offset=offset).fit(disp=0, maxiter=200)
            converged = bool(res.mle_retvals.get("converged", False))
            params = np.asarray(res.params, dtype=float)
            ok = bool(np.isfinite(params).all())
        except (np.linalg.LinAlgError, ValueError) as exc:  # singular or overflowing fits
            converged, ok, params, res = False, False, np.zeros(x.shape[1] + 1), exc
    converged = converged and ok
    beta, alpha = params[:-1], float(params[-1])
    if converged:
        ci = np.exp(np.asarray(res.conf_int(), dtype=float)[:-1])
        pvals = np.asarray(res.pvalues, dtype=float)[:-1]
        intensity = np.exp(x @ beta)
    else:
        ci = np.full((len(beta), 2), np.nan)
        pvals = np.full(len(beta), np.nan)
        intensity = np.full(len(y), total / grid.area_km2.sum())
    factors = tuple(
        Factor(c.name, c.label, c.group, float(beta[i + 1]), float(np.exp(beta[i + 1])),
               float(ci[i + 1, 0]), float(ci[i + 1, 1]), float(pvals[i + 1]),
               int((c.values != 0).sum()))
        for i, c in enumerate(kept)
    )
    predicted = float((intensity * grid.area_km2).sum())
    ratio = predicted / total
    calibrated = converged and abs(ratio - 1.0) <= CALIBRATION_TOLERANCE
    if not converged:
        reason = "model not used: the negative binomial fit did not converge"
    elif not calibrated:
        reason = (f"model not used: it predicts {predicted:,.0f} incidents against "
                  f"{total:,.0f} observed ({ratio:.2f} times; calibration needs within 10 %)")
    else:
        names = ", ".join(f"{f.label} (RR {f.relative_risk:.2f})" for f in factors)
        reason = (f"risk-terrain model: {len(factors)} factor(s) kept"
                  f"{': ' + names if names else ' (none beat the study-area average)'}; "
                  f"predicts {predicted:,.0f} of {total:,.0f} incidents")
    return RiskTerrain(grid, factors, float(beta[0]), intensity, y.astype(np.int64), predicted,
                       alpha, converged, calibrated, reason, months, notes)


def fit_risk_terrain(
    grid: CellGrid,
    incident_x: np.ndarray,
    incident_y: np.ndarray,
    features: gpd.GeoDataFrame | None = None,
    areas: gpd.GeoDataFrame | None = None,
    streets: gpd.GeoDataFrame | None = None,
    months: int = 1,
    distances: tuple[float, ...] = DEFAULT_DISTANCES,
) -> RiskTerrain:
    """Build the candidate factors and fit the model to located incidents (metric x, y).

    Parameters
    ----------
    grid
        The cells (:func:`ctxmap.analysis.risk_grid.build_grid`).
    incident_x, incident_y
        Incident coordinates in ``grid.metric_crs`` (those outside the area are left out).
    features
        Points with a ``group`` column (:mod:`ctxmap.layers.osm_groups`), or None.
    areas
        Areas with ``population`` (and ``level``), or None.
    streets
        Street lines, or None.
    months
        Number of months the incidents cover.
    distances
        Proximity distances tried for each feature group (metres).
    """
    counts = grid.count(incident_x, incident_y)
    candidates = proximity_candidates(grid, features, distances) if features is not None else []
    n_groups = len({c.group for c in candidates})
    notes = [f"{n_groups} feature group(s) with contrast on the grid" if features is not None
             else "no OpenStreetMap features given: feature groups not used"]
    pop, pop_note = population_candidate(grid, areas)
    notes.append(pop_note)
    if pop is not None:
        candidates.append(pop)
    street = street_candidate(grid, streets)
    notes.append("street length used" if street is not None
                 else "no street network given: street length not used")
    if street is not None:
        candidates.append(street)
    return fit_counts(grid, counts, candidates, months=months, notes=tuple(notes))
