"""Locations of concern: rank places by the incidents around them and flag unusual ones.

Method (stated in every output)
-------------------------------
* Incidents are those in the chosen period and categories inside the study area (as the
  expectation's, so a circle's count and its expectation cover the same ground: its part
  inside the study area); those outside it are left out and counted
  (``incidents_outside``); incidents with no location never count near a place (their
  number is reported separately).
* Places recorded more than once (same OpenStreetMap id, or the same normalised name within
  150 m: :mod:`ctxmap.analysis.duplicates`) are ranked once, the merged records listed.
* *Observed* = located incidents whose distance to the place is ``<= radius_m`` (points
  exactly on the circle count), in one metric CRS (:func:`ctxmap.layers.crs.analysis_crs`),
  counted with KD-trees (:func:`ctxmap.analysis.counting.count_within`).
* *Expected* = the chosen expectation (:mod:`ctxmap.analysis.expectations`):
  ``study-area`` (the study area's density x the circle clipped to the study area),
  ``local`` (the density of the ring from the radius to 1,500 m around the place, clipped
  to the study area), ``model`` or ``auto``.
* *Rate ratio* = observed / expected.
* *Flag*: the count lies above the upper funnel limit ``E + z_p sqrt(E + tau² E²)`` at
  99.8 % (or 95 %), with the over-dispersion ``tau²`` estimated from all the ranked places
  with an expectation (Spiegelhalter 2005: :mod:`ctxmap.analysis.funnel`), and the place
  has at least ``min_incidents`` incidents.
* *Without over-dispersion* (columns only, never the flag): the one-sided Poisson
  ``P(X >= observed | expected)`` = ``scipy.stats.poisson.sf(observed - 1, expected)``,
  with the Benjamini–Hochberg adjustment across places (``correction="fdr_bh"``) or none;
  ``alpha`` is its threshold in the ``poisson_significant`` column.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import geopandas as gpd
import numpy as np
from shapely.geometry.base import BaseGeometry

from ctxmap.analysis import funnel as funnel_mod
from ctxmap.analysis.areas import (
    StudyArea,
    category_column,
)
from ctxmap.analysis.concern_prep import (
    PreparedRanking,
    period_of,
    place_frame,
    prepare_ranking,
    same_counting,
)
from ctxmap.analysis.expectations import (
    RING_OUTER_M,
    Expectation,
    check_baseline,
    expect,
)
from ctxmap.analysis.periods import (
    Period,
    check_categories,
    format_period,
    month_range,
)
from ctxmap.analysis.reasons import PlaceResult, ReasonSettings, reason
from ctxmap.analysis.statistics import benjamini_hochberg, poisson_excess_p
from ctxmap.errors import InputError
from ctxmap.layers.schemas import EXPLOITATION_CATEGORIES

Correction = Literal["fdr_bh", "none"]
_CORRECTION_NAMES: dict[str, str] = {
    "fdr_bh": "Benjamini–Hochberg adjusted p",
    "none": "no multiple-testing correction",
}

#: Counts incidents near places somewhere else (in PostGIS: :mod:`ctxmap.analysis.concern_postgis`):
#: ``counter(px, py, metric_crs, categories, period, radius_m, area_m)`` returns the
#: ``(len(px), len(categories))`` counts that :func:`count_within` would, of the incidents
#: inside the study area ``area_m`` (in ``metric_crs``; a point on its outline is inside).
Counter = Callable[[np.ndarray, np.ndarray, str, list[str], Period, float, BaseGeometry],
                   np.ndarray]


@dataclass(frozen=True)
class ConcernParams:
    """Settings of a locations-of-concern analysis.

    Parameters
    ----------
    radius_m
        Radius around each place, metres (> 0).
    months
        Inclusive ``("YYYY-MM", "YYYY-MM")`` period, or ``None`` for every month in the data.
    categories
        Incident categories to count, or ``None`` for all (default: exploitation-related).
    alpha
        Threshold of the (adjusted) Poisson p-value for the ``poisson_significant`` column
        (without over-dispersion; it does not flag), in (0, 1).
    min_incidents
        Fewest incidents a flagged place must have.
    correction
        ``"fdr_bh"`` (Benjamini–Hochberg across places) or ``"none"``.
    weights
        Optional category -> weight (>= 0); adds a ``weighted_score`` column, the sum over
        selected categories of weight x count (categories not listed weigh 1).
    baseline
        The expectation: ``"auto"`` (default), ``"local"``, ``"study-area"`` or ``"model"``
        (:mod:`ctxmap.analysis.expectations`).
    ring_outer_m
        Outer radius of the ``local`` ring, metres (default 1,500; more than ``radius_m``).
    funnel_level
        Funnel limit a flagged place lies above: 0.998 (default) or 0.95.
    """

    radius_m: float = 400.0
    months: Period | None = None
    categories: tuple[str, ...] | None = EXPLOITATION_CATEGORIES
    alpha: float = 0.05
    min_incidents: int = 5
    correction: Correction = "fdr_bh"
    weights: Mapping[str, float] | None = field(default=None)
    baseline: str = "auto"
    ring_outer_m: float = RING_OUTER_M
    funnel_level: float = 0.998

    def __post_init__(self) -> None:
        """Check every setting; raise InputError saying what arrived and what was expected."""
        if not (isinstance(self.radius_m, int | float) and math.isfinite(self.radius_m)
                and self.radius_m > 0):
            raise InputError(f"radius {self.radius_m!r} m; expected a number of metres > 0")
        if self.months is not None:
            if len(self.months) != 2:
                raise InputError(f"months {self.months!r}; expected (first, last) as YYYY-MM")
            month_range(*self.months)
        if self.categories is not None:
            object.__setattr__(self, "categories", check_categories(self.categories))
        if not (0.0 < float(self.alpha) < 1.0):
            raise InputError(f"alpha {self.alpha!r}; expected a number between 0 and 1")
        if int(self.min_incidents) < 0:
            raise InputError(f"min_incidents {self.min_incidents!r}; expected 0 or more")
        if self.correction not in _CORRECTION_NAMES:
            raise InputError(
                f"correction {self.correction!r}; expected one of {', '.join(_CORRECTION_NAMES)}"
            )
        if self.weights is not None:
            check_categories(list(self.weights))
            for cat, w in self.weights.items():
                if not (math.isfinite(float(w)) and float(w) >= 0):
                    raise InputError(f"weight {w!r} for {cat!r}; expected a number >= 0")
        check_baseline(self.baseline)
        if self.baseline in ("local", "auto") and not (
                math.isfinite(float(self.ring_outer_m)) and self.ring_outer_m > self.radius_m):
            raise InputError(f"ring outer radius {self.ring_outer_m!r} m; expected a number of "
                             f"metres more than the radius ({self.radius_m:g} m)")
        if float(self.funnel_level) not in funnel_mod.LEVELS:
            raise InputError(f"funnel level {self.funnel_level!r}; expected one of "
                             f"{', '.join(f'{lv:g}' for lv in funnel_mod.LEVELS)}")


def rank_places(
    places: gpd.GeoDataFrame,
    incidents: gpd.GeoDataFrame,
    study_area: StudyArea | BaseGeometry | gpd.GeoDataFrame,
    params: ConcernParams | None = None,
    counter: Counter | None = None,
    layers: Mapping[str, gpd.GeoDataFrame] | None = None,
) -> gpd.GeoDataFrame:
    """Rank places by the incidents around them and flag locations of concern.

    Parameters
    ----------
    places
        Places (columns ``id``, ``name``, ``layer``, ``category``; points), normally
        EPSG:4326. Every row is kept (unnamed places, places with no incidents), except
        duplicate records of one place, which are listed beside the record kept.
    incidents
        Incidents layer in the same CRS (``month``, ``category``; null geometry allowed).
    study_area
        The study area: a :class:`~ctxmap.analysis.areas.StudyArea`, a GeoDataFrame (its
        union) or a shapely geometry (assumed in the layers' CRS).
    params
        Settings (default :class:`ConcernParams`).
    counter
        Where the counts within the radius come from (default: :func:`count_within` on
        ``incidents``). A database counter must count the same incidents as ``incidents``
        holds, inside the study area (see :data:`Counter`); every statistic is still
        computed here.
    layers
        Other layers an expectation may use (e.g. for ``model``), by kind.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per place, best-ranked first (flagged first, then by the over-dispersed
        z-score), keeping the places' index and CRS, with ``rank, place_id, name, layer,
        category, incidents, expected, rate_ratio, p_value, p_adjusted, flagged, reason``,
        ``weighted_score`` (only when ``params.weights``), one ``n_<category>`` count per
        selected category, ``period_from, period_to, radius_m, circle_km2`` (circle area
        clipped to the study area), ``baseline`` (the expectation used), ``funnel_z``
        (``(O - E) / sqrt(E + tau² E²)``), ``funnel_upper`` (the flagging limit),
        ``poisson_significant`` (adjusted Poisson p <= alpha, without over-dispersion),
        ``records`` and ``merged_records`` (duplicate records ranked as this place) and
        ``geometry``. ``attrs["ctxmap"]`` holds
        the method, the expectation, the funnel (:class:`~ctxmap.analysis.funnel.Funnel`),
        the incidents used (located, in the study area), outside it (left out) and
        unlocated. Places without a location or an expectation get NaN
        statistics and are never flagged.

    Raises
    ------
    InputError
        On missing columns, CRS mismatch, bad settings, or an expectation that cannot run.
    """
    params = params or ConcernParams()
    return finish_ranking(prepare_ranking(places, incidents, study_area, params, counter),
                          params, layers)


def rank_places_by(
    places: gpd.GeoDataFrame,
    incidents: gpd.GeoDataFrame,
    study_area: StudyArea | BaseGeometry | gpd.GeoDataFrame,
    params: ConcernParams,
    baselines: Sequence[str],
    layers: Mapping[str, gpd.GeoDataFrame] | None = None,
) -> dict[str, gpd.GeoDataFrame]:
    """:func:`rank_places` with each of ``baselines``, selecting and counting once."""
    prepared = prepare_ranking(places, incidents, study_area, params)
    return {name: finish_ranking(prepared, replace(params, baseline=name), layers)
            for name in baselines}


def finish_ranking(
    prepared: PreparedRanking,
    params: ConcernParams,
    layers: Mapping[str, gpd.GeoDataFrame] | None = None,
) -> gpd.GeoDataFrame:
    """The ranking of :func:`rank_places` from its preparation, with ``params``' expectation.

    Raises
    ------
    ValueError
        If ``params`` counts differently (radius, months, categories, ring) from the
        preparation's settings.
    """
    if not same_counting(prepared.params, params):
        raise ValueError(f"the preparation counted with {prepared.params}; got {params}")
    sa, cats, counts, period = prepared.study_area, prepared.cats, prepared.counts, prepared.period
    place_loc, circle, n_places = prepared.place_loc, prepared.circle, len(prepared.base)
    total = counts.sum(axis=1)
    expectation = expect(params.baseline, replace(prepared.inputs, layers=dict(layers or {})))
    expected = np.full(n_places, np.nan)
    expected[place_loc] = np.asarray(expectation.expected, dtype=float)
    has_base = np.isfinite(expected) & (expected > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(has_base, total / np.where(has_base, expected, 1.0), np.nan)
    p = np.full(n_places, np.nan)
    p[has_base] = poisson_excess_p(total[has_base], expected[has_base])
    q = benjamini_hochberg(p) if params.correction == "fdr_bh" else p.copy()
    funnel = funnel_mod.estimate(total[has_base], expected[has_base], params.funnel_level)
    upper = np.full(n_places, np.nan)
    upper[has_base] = funnel.limits(expected[has_base])[1]
    z = funnel.z_scores(total, np.where(has_base, expected, np.nan))
    above = has_base & (total > np.nan_to_num(upper, nan=np.inf))
    flagged = above & (total >= params.min_incidents)

    period_text = format_period(period)
    settings = ReasonSettings(cats, params.radius_m, params.min_incidents, params.correction,
                              period_text, expectation.compared_with, expectation.no_baseline,
                              funnel_mod.level_text(params.funnel_level), funnel.n)
    reasons = [
        reason(PlaceResult(int(total[k]), float(expected[k]), float(ratio[k]), float(p[k]),
                           float(q[k]), bool(flagged[k]), counts[k], float(upper[k])), settings)
        + f" Study area: {sa.description}."  # how it was set, named in every reason
        if place_loc[k]
        else "The place has no location, so nothing can be counted near it."
        for k in range(n_places)
    ]

    out = prepared.base.copy()
    out["incidents"] = total
    out["expected"] = expected
    out["rate_ratio"] = ratio
    out["p_value"] = p
    out["p_adjusted"] = q
    out["flagged"] = flagged
    out["reason"] = reasons
    if params.weights is not None:
        w = np.array([float(params.weights.get(c, 1.0)) for c in cats])
        out["weighted_score"] = counts @ w if len(cats) else 0.0
    for j, cat in enumerate(cats):
        out[category_column(cat)] = counts[:, j]
    out["period_from"] = period[0]
    out["period_to"] = period[1]
    out["radius_m"] = float(params.radius_m)
    out["circle_km2"] = circle
    out["baseline"] = expectation.method
    out["funnel_z"] = z
    out["funnel_upper"] = upper
    out["poisson_significant"] = has_base & (q <= params.alpha)
    out["records"] = prepared.records
    out["merged_records"] = prepared.merged_text
    order = np.lexsort((-np.nan_to_num(ratio, nan=-1.0), -total,
                        -np.nan_to_num(z, nan=-np.inf), ~flagged, ~place_loc))
    out = out.iloc[order]
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    result = gpd.GeoDataFrame(out, geometry=prepared.geoms.iloc[order].to_numpy(),
                              crs=prepared.crs)
    result.attrs["ctxmap"] = _metadata(
        params, (period, period_text), cats, expectation, funnel, sa,
        {**prepared.figures, "above_limit": int(above.sum()), "flagged": int(flagged.sum())})
    return result


def _metadata(params: ConcernParams, period: tuple[Period, str], cats: list[str],
              expectation: Expectation, funnel: funnel_mod.Funnel, sa: StudyArea,
              figures: Mapping[str, Any]) -> dict[str, Any]:
    """The ranking's ``attrs["ctxmap"]``: every setting and figure the outputs state."""
    level = funnel_mod.level_text(params.funnel_level)
    return {
        "period": period[0],
        "period_text": period[1],
        "radius_m": float(params.radius_m),
        "categories": tuple(cats),
        "alpha": float(params.alpha),
        "min_incidents": int(params.min_incidents),
        "correction": params.correction,
        "correction_text": _CORRECTION_NAMES[params.correction],
        "test": (f"above the upper {level} funnel limit E + z sqrt(E + tau² E²), over-dispersion "
                 f"estimated from {funnel.n} places (Spiegelhalter 2005), and at least "
                 f"{int(params.min_incidents)} incidents"),
        "test_without_overdispersion": (
            "one-sided Poisson: P(X >= observed | expected) = poisson.sf(observed-1, expected)"),
        "baseline": expectation.method,
        "baseline_asked": params.baseline,
        "baseline_text": expectation.description,
        "baseline_chosen_because": expectation.chosen_because,
        "ring_outer_m": float(params.ring_outer_m),
        "funnel": funnel,
        "funnel_level": float(params.funnel_level),
        "funnel_level_text": level,
        "funnel_n": funnel.n,
        "funnel_phi": funnel.phi,
        "funnel_tau2": funnel.tau2,
        "study_area": sa.description,
        **figures,
    }


__all__ = [
    "ConcernParams",
    "Correction",
    "Counter",
    "PreparedRanking",
    "finish_ranking",
    "period_of",
    "place_frame",
    "prepare_ranking",
    "rank_places",
    "rank_places_by",
]
