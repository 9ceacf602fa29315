"""Out-of-sample evaluation: which way of predicting incidents works in this area.

Method (stated in the output)
-----------------------------
* **Grid**: the risk-terrain grid (200 m cells clipped to the study area,
  :mod:`ctxmap.analysis.risk_grid`). Incidents of the training months (up to
  ``--train-to``) make each method's prediction per cell; incidents of the test months
  (from ``--test-from``) inside the study area are the truth.
* **Methods**, each a score per cell (higher = more incidents expected per km²):

  - *KDE*: Gaussian kernel density of the training incidents, binned on the grid
    (:func:`ctxmap.analysis.density.binned_gaussian`), with Scott's-rule bandwidth and with
    fixed 200 m and 400 m bandwidths;
  - *last period's counts*: training incidents per km² in the cell;
  - *local expectation*: training incidents per km² in the ring from ``radius_m`` to
    ``ring_m`` around the cell's centre, clipped to the study area (ring over cell centres);
  - *risk-terrain model*: the fitted intensity (:mod:`ctxmap.analysis.risk_terrain`),
    only when the fit converged and is calibrated.

* **Scores**: cells are ranked by score (ties: grid order) and taken until their area
  reaches 1 %, 5 % or 10 % of the study area (the last cell counted whole). *Share
  captured* = test incidents in those cells ÷ test incidents in the study area; *PAI*
  (Chainey et al. 2008) = share captured ÷ share of area actually taken.
* **Best**: the method with the highest mean share captured over the three area shares.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import ndimage

from ctxmap.analysis.density import EvaluatedBandwidth, binned_gaussian, scott_bandwidth
from ctxmap.analysis.periods import Period, format_period, month_range
from ctxmap.analysis.risk_grid import CellGrid
from ctxmap.analysis.risk_terrain import RiskTerrain
from ctxmap.errors import InputError

#: Shares of the study area at which captures and PAI are reported.
AREA_SHARES: tuple[float, ...] = (0.01, 0.05, 0.10)

#: Method keys, in table order; the labels say what each is.
KDE_SCOTT, KDE_200, KDE_400 = "kde_scott", "kde_200", "kde_400"
LAST_PERIOD, LOCAL, MODEL = "last_period", "local", "model"
KDE_METHODS: tuple[str, ...] = (KDE_SCOTT, KDE_200, KDE_400)
#: The methods that are also expectations for places (what ``auto`` chooses among).
EXPECTATION_METHODS: tuple[str, ...] = (LOCAL, MODEL)


@dataclass(frozen=True)
class Capture:
    """How much of the test period one method caught in its top cells."""

    target_share: float
    cells: int
    area_share: float
    captured: int
    captured_share: float
    pai: float


@dataclass(frozen=True)
class MethodResult:
    """One method's scores and captures (``captures`` empty when it could not be used)."""

    key: str
    label: str
    note: str
    captures: tuple[Capture, ...] = ()
    bandwidth_m: float | None = None

    @property
    def used(self) -> bool:
        """True when the method produced scores."""
        return bool(self.captures)

    @property
    def mean_captured(self) -> float:
        """Mean share captured over the area shares (NaN when not used)."""
        return float(np.mean([c.captured_share for c in self.captures])) if self.captures \
            else float("nan")


@dataclass(frozen=True)
class Evaluation:
    """The comparison of methods on one area's own months."""

    train: Period
    test: Period
    cell_m: float
    cells: int
    train_incidents: int
    test_incidents: int
    methods: tuple[MethodResult, ...]
    study_area: str
    model_reason: str
    persistence: dict[str, tuple[int, int]] = field(default_factory=dict)

    def method(self, key: str) -> MethodResult:
        """The result of method ``key``."""
        for m in self.methods:
            if m.key == key:
                return m
        raise KeyError(key)

    def best(self, among: tuple[str, ...] | None = None) -> MethodResult | None:
        """The used method with the highest mean share captured (first in table order on ties)."""
        pool = [m for m in self.methods if m.used and (among is None or m.key in among)]
        if not pool:
            return None
        return max(pool, key=lambda m: (m.mean_captured, -self.methods.index(m)))

    def best_bandwidth(self) -> MethodResult | None:
        """The KDE bandwidth that predicted the test months best."""
        return self.best(KDE_METHODS)

    def best_bandwidth_choice(self) -> EvaluatedBandwidth | None:
        """The density layer's default bandwidth for this area, with the rule's sentence."""
        best = self.best_bandwidth()
        if best is None or best.bandwidth_m is None:
            return None
        return EvaluatedBandwidth(
            best.bandwidth_m,
            f"best of Scott's rule, 200 m and 400 m at predicting {format_period(self.test)} "
            f"from {format_period(self.train)} ({best.label}: {best.mean_captured:.0%} of the "
            "incidents captured on average in the top 1, 5 and 10 % of the area)",
        )

    def table(self) -> pd.DataFrame:
        """One row per method: PAI and share captured at each area share."""
        rows = []
        for m in self.methods:
            row: dict[str, object] = {"method": m.label}
            for i, share in enumerate(AREA_SHARES):
                pct = f"{share * 100:g}%"
                c = m.captures[i] if m.used else None
                row[f"pai_{pct}"] = c.pai if c else np.nan
                row[f"captured_{pct}"] = c.captured_share if c else np.nan
            row["note"] = m.note
            rows.append(row)
        return pd.DataFrame(rows)

    def auto_sentence(self) -> str:
        """Why ``auto`` picks its expectation, in plain English."""
        best = self.best(EXPECTATION_METHODS)
        test = format_period(self.test)
        if best is None:
            return f"study-area baseline: no other expectation could be evaluated on {test}"
        name = "local baseline" if best.key == LOCAL else "risk-terrain model"
        others = [m for m in self.methods if m.key in EXPECTATION_METHODS and m.used]
        if len(others) > 1:
            why = f"of the methods tried, it captured most of the incidents of {test}"
        else:
            left_out = "; ".join(f"{m.label}: {m.note}" for m in self.methods
                                 if m.key in EXPECTATION_METHODS and not m.used)
            why = f"the only expectation that could be checked on {test} ({left_out})"
        return (f"{name}: {why} ({best.mean_captured:.0%} on average in the top 1, 5 and 10 % "
                "of the area)")


def captures(
    scores: np.ndarray, area_km2: np.ndarray, test_counts: np.ndarray,
    shares: tuple[float, ...] = AREA_SHARES,
) -> tuple[Capture, ...]:
    """Share captured and PAI in the top-scoring cells at each share of the area.

    Cells are taken in decreasing score (ties in cell order) until their area reaches the
    share (the last cell counted whole).
    """
    scores = np.asarray(scores, dtype=float)
    order = np.lexsort((np.arange(len(scores)), -scores))
    cum_area = np.cumsum(area_km2[order])
    cum_hits = np.cumsum(test_counts[order])
    total_area, total_hits = float(cum_area[-1]), float(cum_hits[-1])
    out = []
    for share in shares:
        k = int(np.searchsorted(cum_area, share * total_area - 1e-12 * total_area))
        k = min(k, len(order) - 1)
        area_share = float(cum_area[k]) / total_area
        hits = int(cum_hits[k])
        captured_share = hits / total_hits if total_hits > 0 else float("nan")
        out.append(Capture(share, k + 1, area_share, hits, captured_share,
                           captured_share / area_share))
    return tuple(out)


def ring_density(grid: CellGrid, counts: np.ndarray, inner_m: float, outer_m: float) -> (
    np.ndarray
):
    """Incidents per km² in the ring ``inner_m < d <= outer_m`` around each cell's centre.

    Counted over cell centres on the grid (a cell is in the ring when its centre is), and
    divided by the ring's area inside the study area (the clipped areas of those cells).
    """
    reach = int(np.floor(outer_m / grid.cell_m))
    di, dj = np.mgrid[-reach:reach + 1, -reach:reach + 1]
    dist = grid.cell_m * np.hypot(di, dj)
    kernel = ((dist > inner_m) & (dist <= outer_m)).astype(float)
    n = ndimage.convolve(grid.full(counts.astype(float)), kernel, mode="constant")
    a = ndimage.convolve(grid.full(grid.area_km2), kernel, mode="constant")
    n, a = n[grid.rows, grid.cols], a[grid.rows, grid.cols]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(a > 0, n / np.where(a > 0, a, 1.0), 0.0)


def evaluate_methods(
    grid: CellGrid,
    train_xy: tuple[np.ndarray, np.ndarray],
    test_xy: tuple[np.ndarray, np.ndarray],
    periods: tuple[Period, Period],
    model: RiskTerrain | None,
    study_area: str,
    radius_m: float = 400.0,
    ring_m: float = 1500.0,
) -> Evaluation:
    """Score every method on the grid and compare them on the test months.

    Parameters
    ----------
    grid
        The cells.
    train_xy, test_xy
        Metric coordinates of the located training and test incidents.
    periods
        The training and test periods (for the output's sentences).
    model
        The risk-terrain model fitted on the training months, or None.
    study_area
        How the study area was chosen (for the output).
    radius_m, ring_m
        The local expectation's ring (default 400 to 1,500 m, as for places).
    """
    train, test = periods
    tx, ty = train_xy
    train_counts = grid.count(tx, ty)
    test_counts = grid.count(*test_xy)
    area = grid.area_km2
    results: list[MethodResult] = []
    origin = (grid.x0, grid.y0)

    def kde(key: str, label: str, h: float, note: str) -> None:
        smooth = binned_gaussian(tx, ty, grid.rows, grid.cols, origin, grid.n_cols,
                                 grid.cell_m, h)
        results.append(MethodResult(key, label, note, captures(smooth, area, test_counts), h))

    if len(tx) >= 2 and test_counts.sum() > 0:
        h = scott_bandwidth(tx, ty)
        kde(KDE_SCOTT, f"KDE, Scott's rule ({h:,.0f} m)", h, "bandwidth from Scott's rule")
        kde(KDE_200, "KDE, 200 m", 200.0, "fixed bandwidth")
        kde(KDE_400, "KDE, 400 m", 400.0, "fixed bandwidth")
        results.append(MethodResult(LAST_PERIOD, "last period's counts",
                                    f"incidents per km² in {format_period(train)}",
                                    captures(train_counts / area, area, test_counts)))
        local = ring_density(grid, train_counts, radius_m, ring_m)
        results.append(MethodResult(LOCAL, "local expectation",
                                    f"ring {radius_m:,.0f}–{ring_m:,.0f} m around each cell",
                                    captures(local, area, test_counts)))
    else:
        for key, label in ((KDE_SCOTT, "KDE, Scott's rule"), (KDE_200, "KDE, 200 m"),
                           (KDE_400, "KDE, 400 m"), (LAST_PERIOD, "last period's counts"),
                           (LOCAL, "local expectation")):
            results.append(MethodResult(key, label, "not enough incidents to evaluate"))
    if model is not None and model.usable and test_counts.sum() > 0:
        results.append(MethodResult(MODEL, "risk-terrain model",
                                    f"{len(model.factors)} factor(s)",
                                    captures(model.intensity_km2, area, test_counts)))
    else:
        why = model.reason if model is not None else "no model fitted"
        results.append(MethodResult(MODEL, "risk-terrain model", why))
    return Evaluation(train, test, grid.cell_m, len(grid), int(train_counts.sum()),
                      int(test_counts.sum()), tuple(results), study_area,
                      model.reason if model is not None else "no model fitted")


def default_split(months: Sequence[str]) -> tuple[str, str]:
    """``(train_to, test_from)`` holding out the last two months (the last one with < 4)."""
    ordered = sorted(set(months))
    if len(ordered) < 2:
        raise InputError(f"{len(ordered)} month(s) of incidents; expected at least 2 to hold "
                         "one out for an evaluation")
    hold = 2 if len(ordered) >= 4 else 1
    return ordered[-hold - 1], ordered[-hold]


def split_periods(months: list[str], train_to: str, test_from: str) -> tuple[Period, Period]:
    """The training period (first month of the data to ``train_to``) and the test period.

    The test period runs from ``test_from`` to the last month of the data.

    Raises
    ------
    InputError
        When the periods overlap or either holds no month of the data.
    """
    if not months:
        raise InputError("no incidents with a month; expected incidents to evaluate on")
    first, last = min(months), max(months)
    if test_from <= train_to:
        raise InputError(f"--test-from {test_from} is not after --train-to {train_to}; expected "
                         "the test months to follow the training months")
    if train_to < first:
        raise InputError(f"--train-to {train_to} is before the first month of the data "
                         f"({first}); expected a month from {first} on")
    if test_from > last:
        raise InputError(f"--test-from {test_from} is after the last month of the data "
                         f"({last}); expected a month up to {last}")
    month_range(first, train_to)
    month_range(test_from, last)
    return (first, train_to), (test_from, last)
