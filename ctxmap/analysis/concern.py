"""Locations of concern: rank places by the incidents around them and flag unusual ones.

Method (stated in every output)
-------------------------------
* Incidents are those in the chosen period and categories; incidents with no location
  never count near a place (their number is reported separately).
* *Observed* = located incidents whose distance to the place is ``<= radius_m`` (points
  exactly on the circle count), in one metric CRS (:func:`ctxmap.layers.crs.analysis_crs`).
* *Expected* = the study area's incident density (located incidents inside the study
  area per km², same period and categories) times the area of the circle clipped to the
  study area.
* *Rate ratio* = observed / expected.
* *p-value*: one-sided Poisson test, ``P(X >= observed | expected)`` =
  ``scipy.stats.poisson.sf(observed - 1, expected)``.
* *Correction*: Benjamini–Hochberg false-discovery-rate adjustment across all places with a
  baseline (``correction="fdr_bh"``, default), or none.
* A place is *flagged* when its (adjusted) p-value is ``<= alpha`` and it has at least
  ``min_incidents`` incidents.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from ctxmap.analysis.areas import (
    StudyArea,
    as_study_area,
    category_column,
    common_crs,
    metric_crs_for,
)
from ctxmap.analysis.counting import clipped_circle_km2, count_within, pairs_within, points_xy
from ctxmap.analysis.periods import (
    Period,
    check_categories,
    compare_periods,
    data_period,
    format_period,
    month_codes,
    month_index,
    month_range,
    previous_period,
    select_incidents,
)
from ctxmap.analysis.reasons import PlaceResult, ReasonSettings, reason
from ctxmap.analysis.statistics import benjamini_hochberg, poisson_excess_p
from ctxmap.errors import InputError
from ctxmap.layers.geometry import located_mask
from ctxmap.layers.schemas import EXPLOITATION_CATEGORIES

Correction = Literal["fdr_bh", "none"]
_CORRECTION_NAMES: dict[str, str] = {
    "fdr_bh": "Benjamini–Hochberg adjusted p",
    "none": "no multiple-testing correction",
}

#: Counts incidents near places somewhere else (in PostGIS: :mod:`ctxmap.analysis.concern_postgis`):
#: ``counter(px, py, metric_crs, categories, period, radius_m)`` returns the
#: ``(len(px), len(categories))`` counts that :func:`count_within` would.
Counter = Callable[[np.ndarray, np.ndarray, str, list[str], Period, float], np.ndarray]


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
        Significance threshold of the (adjusted) p-value, in (0, 1).
    min_incidents
        Fewest incidents a flagged place must have.
    correction
        ``"fdr_bh"`` (Benjamini–Hochberg across places) or ``"none"``.
    weights
        Optional category -> weight (>= 0); adds a ``weighted_score`` column, the sum over
        selected categories of weight x count (categories not listed weigh 1).
    """

    radius_m: float = 400.0
    months: Period | None = None
    categories: tuple[str, ...] | None = EXPLOITATION_CATEGORIES
    alpha: float = 0.05
    min_incidents: int = 5
    correction: Correction = "fdr_bh"
    weights: Mapping[str, float] | None = field(default=None)

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


@dataclass(frozen=True)
class PlaceBreakdown:
    """Incidents around one place, for a detail panel.

    Attributes
    ----------
    by_category
        Count per selected category (all selected categories, zeros included).
    by_month
        Counts per month of the period (rows) and category (columns), zeros included.
    incidents
        The incidents within the radius (input index and columns, plus ``distance_m``),
        nearest first, in the incidents' CRS.
    period
        The period counted.
    radius_m
        The radius used.
    """

    by_category: pd.Series
    by_month: pd.DataFrame
    incidents: gpd.GeoDataFrame
    period: Period
    radius_m: float


# --------------------------------------------------------------------------- helpers


def _period_of(selected: gpd.GeoDataFrame, incidents: gpd.GeoDataFrame,
               params: ConcernParams) -> Period:
    if params.months is not None:
        return (params.months[0], params.months[1])
    if len(selected):
        return data_period(selected)
    return data_period(incidents)


def _place_frame(places: gpd.GeoDataFrame) -> pd.DataFrame:
    if "id" not in places.columns:
        raise InputError(
            f"the places have no 'id' column (columns: {', '.join(map(str, places.columns))}); "
            "expected the place layer columns"
        )

    def text(col: str) -> np.ndarray:
        if col not in places.columns:
            return np.full(len(places), "", dtype=object)
        return places[col].astype(object).where(places[col].notna(), "").astype(str).to_numpy()

    return pd.DataFrame(
        {"place_id": text("id"), "name": text("name"), "layer": text("layer"),
         "category": text("category")},
        index=places.index,
    )


# --------------------------------------------------------------------------- public API


def rank_places(
    places: gpd.GeoDataFrame,
    incidents: gpd.GeoDataFrame,
    study_area: StudyArea | BaseGeometry | gpd.GeoDataFrame,
    params: ConcernParams | None = None,
    counter: Counter | None = None,
) -> gpd.GeoDataFrame:
    """Rank places by the incidents around them and flag locations of concern.

    Parameters
    ----------
    places
        Places (columns ``id``, ``name``, ``layer``, ``category``; points), normally
        EPSG:4326. Every row is kept, even unnamed places or places with no incidents.
    incidents
        Incidents layer in the same CRS (``month``, ``category``; null geometry allowed).
    study_area
        The baseline area: a :class:`~ctxmap.analysis.areas.StudyArea`, a GeoDataFrame (its
        union) or
        a shapely geometry (assumed in the layers' CRS).
    params
        Settings (default :class:`ConcernParams`).
    counter
        Where the counts within the radius come from (default: :func:`count_within` on
        ``incidents``). A database counter must count the same incidents as ``incidents``
        holds; every statistic is still computed here.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per place, best-ranked first, keeping the places' index and CRS, with
        ``rank, place_id, name, layer, category, incidents, expected, rate_ratio, p_value,
        p_adjusted, flagged, reason``, ``weighted_score`` (only when ``params.weights``),
        one ``n_<category>`` count per selected category, ``period_from, period_to,
        radius_m, circle_km2`` (circle area clipped to the study area) and ``geometry``.
        ``attrs["ctxmap"]`` holds the method, baseline, counts used and unlocated.
        Places without a location get NaN statistics and are ranked last.

    Raises
    ------
    InputError
        On missing columns, CRS mismatch or bad settings.
    """
    params = params or ConcernParams()
    crs = common_crs(places, incidents)
    sa = as_study_area(study_area, crs)
    base = _place_frame(places)
    selected = select_incidents(incidents, params.months, params.categories)
    period = _period_of(selected, incidents, params)
    if params.months is None:
        selected = select_incidents(selected, period, None)
    cats = list(params.categories) if params.categories is not None else sorted(
        selected["category"].dropna().astype(str).unique()
    )
    inc_loc = located_mask(selected.geometry)
    place_loc = located_mask(places.geometry)
    metric = metric_crs_for(selected.geometry[inc_loc], places.geometry[place_loc])

    sel_located = selected.geometry[inc_loc]
    ix, iy = points_xy(sel_located.to_crs(metric))
    px_all = np.full(len(places), np.nan)
    py_all = np.full(len(places), np.nan)
    if place_loc.any():
        px_all[place_loc], py_all[place_loc] = points_xy(places.geometry[place_loc].to_crs(metric))
    px, py = px_all[place_loc], py_all[place_loc]

    codes = pd.Categorical(
        selected["category"].astype(str).to_numpy()[inc_loc], categories=cats
    ).codes.astype(np.int64)
    if counter is None:
        counts_loc = count_within(px, py, ix, iy, codes, len(cats), params.radius_m)
    else:
        counts_loc = np.asarray(
            counter(px, py, metric, cats, period, float(params.radius_m)), dtype=np.int64
        ).reshape(len(px), len(cats))
    counts = np.zeros((len(places), len(cats)), dtype=np.int64)
    counts[place_loc] = counts_loc
    total = counts.sum(axis=1)

    area_m = gpd.GeoSeries([sa.geometry], crs=crs).to_crs(metric).iloc[0]
    area_km2 = float(area_m.area) / 1e6
    shapely.prepare(area_m)
    in_area = shapely.intersects_xy(area_m, ix, iy) if len(ix) else np.zeros(0, dtype=bool)
    n_in_area = int(in_area.sum())
    density = n_in_area / area_km2 if area_km2 > 0 else float("nan")
    circle = np.full(len(places), np.nan)
    circle[place_loc] = clipped_circle_km2(px, py, params.radius_m, area_m)
    expected = density * circle
    has_base = np.isfinite(expected) & (expected > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(has_base, total / np.where(has_base, expected, 1.0), np.nan)
    p = np.full(len(places), np.nan)
    p[has_base] = poisson_excess_p(total[has_base], expected[has_base])
    q = benjamini_hochberg(p) if params.correction == "fdr_bh" else p.copy()
    decisive = q if params.correction == "fdr_bh" else p
    flagged = has_base & (decisive <= params.alpha) & (total >= params.min_incidents)

    period_text = format_period(period)
    settings = ReasonSettings(cats, params.radius_m, params.alpha, params.min_incidents,
                              params.correction, period_text, sa.name)
    reasons = [
        reason(PlaceResult(int(total[k]), float(expected[k]), float(ratio[k]), float(p[k]),
                           float(q[k]), bool(flagged[k]), counts[k]), settings)
        if place_loc[k]
        else "The place has no location, so nothing can be counted near it."
        for k in range(len(places))
    ]

    out = base.copy()
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
    key = np.where(np.isfinite(decisive), decisive, 2.0)
    unlocated_place = (~place_loc).astype(int)
    order = np.lexsort((-np.nan_to_num(ratio, nan=-1.0), -total, key, unlocated_place))
    out = out.iloc[order]
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    result = gpd.GeoDataFrame(out, geometry=places.geometry.iloc[order].to_numpy(), crs=crs)
    result.attrs["ctxmap"] = {
        "period": period,
        "period_text": period_text,
        "radius_m": float(params.radius_m),
        "categories": tuple(cats),
        "alpha": float(params.alpha),
        "min_incidents": int(params.min_incidents),
        "correction": params.correction,
        "correction_text": _CORRECTION_NAMES[params.correction],
        "test": "one-sided Poisson: P(X >= observed | expected) = poisson.sf(observed-1, expected)",
        "baseline": (
            "expected = incidents per km² in the study area (same period and categories) "
            "x area of the circle clipped to the study area"
        ),
        "study_area": sa.description,
        "study_area_name": sa.name,
        "study_area_km2": area_km2,
        "density_per_km2": density,
        "incidents_selected": len(selected),
        "incidents_used": int(inc_loc.sum()),
        "incidents_in_study_area": n_in_area,
        "incidents_unlocated": int((~inc_loc).sum()),
        "metric_crs": metric,
        "places": len(places),
        "places_unlocated": int((~place_loc).sum()),
        "flagged": int(flagged.sum()),
    }
    return result


def _one_point(place: Any, crs: str) -> BaseGeometry:
    if isinstance(place, BaseGeometry):
        return place
    if isinstance(place, gpd.GeoDataFrame | gpd.GeoSeries):
        if len(place) != 1:
            raise InputError(f"expected one place, got {len(place)} rows")
        common_crs(place)
        geoms = place.geometry if isinstance(place, gpd.GeoDataFrame) else place
        if not geoms.crs.equals(gpd.GeoSeries([], crs=crs).crs):
            raise InputError(f"the place is in {geoms.crs} but the incidents in {crs}")
        return geoms.iloc[0]
    raise InputError(
        f"place is a {type(place).__name__}; expected a shapely point or a one-row GeoDataFrame"
    )


def place_breakdown(
    place: BaseGeometry | gpd.GeoDataFrame | gpd.GeoSeries,
    incidents: gpd.GeoDataFrame,
    params: ConcernParams | None = None,
) -> PlaceBreakdown:
    """Count the incidents around one place by category and by month.

    Parameters
    ----------
    place
        A point in the incidents' CRS, or a one-row GeoDataFrame/GeoSeries (same CRS).
    incidents
        Incidents layer (null geometries allowed; they never count).
    params
        Settings (radius, period, categories); default :class:`ConcernParams`.

    Returns
    -------
    PlaceBreakdown
        Counts by category and by month, and the incidents themselves nearest first.
    """
    params = params or ConcernParams()
    crs = common_crs(incidents)
    point = _one_point(place, crs)
    if point is None or point.is_empty:
        raise InputError("the place has no location; expected a point")
    selected = select_incidents(incidents, params.months, params.categories)
    period = _period_of(selected, incidents, params)
    selected = select_incidents(selected, period, None)
    cats = list(params.categories) if params.categories is not None else sorted(
        selected["category"].dropna().astype(str).unique()
    )
    loc = located_mask(selected.geometry)
    metric = metric_crs_for(gpd.GeoSeries([point], crs=crs))
    pt_m = gpd.GeoSeries([point], crs=crs).to_crs(metric).iloc[0]
    located = selected.loc[loc]
    ix, iy = points_xy(located.geometry.to_crs(metric))
    hits = np.zeros(0, dtype=np.int64)
    for _, b in pairs_within(np.array([pt_m.x]), np.array([pt_m.y]), ix, iy, params.radius_m):
        hits = np.concatenate([hits, b])
    near = located.iloc[np.sort(hits)].copy()
    near["distance_m"] = np.hypot(ix[np.sort(hits)] - pt_m.x, iy[np.sort(hits)] - pt_m.y)
    near = near.sort_values("distance_m", kind="stable")
    months = month_range(*period)
    cat_vals = near["category"].astype(str)
    by_cat = cat_vals.value_counts().reindex(cats, fill_value=0).astype(np.int64)
    by_cat.name = "incidents"
    by_month = (
        pd.crosstab(near["month"].astype(str), cat_vals)
        .reindex(index=months, columns=cats, fill_value=0)
        .astype(np.int64)
    )
    by_month.index.name = "month"
    by_month.columns.name = "category"
    return PlaceBreakdown(by_cat, by_month, near, period, float(params.radius_m))


def place_trends(
    places: gpd.GeoDataFrame,
    incidents: gpd.GeoDataFrame,
    params: ConcernParams | None = None,
) -> pd.DataFrame:
    """Incidents within the radius of each place by month, with the change on the previous period.

    Parameters
    ----------
    places, incidents
        As in :func:`rank_places`.
    params
        Settings; the period is ``params.months`` (or the data's last month range), and the
        previous period has the same length and ends the month before it starts.

    Returns
    -------
    pandas.DataFrame
        Indexed like ``places``: ``place_id``, ``name``, ``layer``, one column per month of
        the period, ``current``, ``previous``, ``change``, ``change_pct``.
    """
    params = params or ConcernParams()
    crs = common_crs(places, incidents)
    base = _place_frame(places)[["place_id", "name", "layer"]]
    period = params.months if params.months is not None else data_period(incidents)
    prev = previous_period(period)
    span = (prev[0], period[1])
    selected = select_incidents(incidents, span, params.categories)
    inc_loc = located_mask(selected.geometry)
    place_loc = located_mask(places.geometry)
    n_months = month_index(span[1]) - month_index(span[0]) + 1
    counts = np.zeros((len(places), n_months), dtype=np.int64)
    if inc_loc.any() and place_loc.any():
        metric = metric_crs_for(selected.geometry[inc_loc], places.geometry[place_loc])
        ix, iy = points_xy(selected.geometry[inc_loc].to_crs(metric))
        px, py = points_xy(places.geometry[place_loc].to_crs(metric))
        codes = month_codes(selected["month"].to_numpy()[inc_loc]) - month_index(span[0])
        counts[place_loc] = count_within(px, py, ix, iy, codes, n_months, params.radius_m)
    del crs
    table = compare_periods(counts, period, index=places.index)
    return pd.concat([base, table], axis=1)


__all__ = [
    "ConcernParams",
    "Counter",
    "PlaceBreakdown",
    "place_breakdown",
    "place_trends",
    "rank_places",
]
