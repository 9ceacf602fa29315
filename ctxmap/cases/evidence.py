"""Map evidence for a context: what the layers say about the place (computed, never typed)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypedDict, Unpack

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from ctxmap.analysis.areas import StudyArea
from ctxmap.analysis.statistics import poisson_excess_p
from ctxmap.cases.records import DEFAULT_RADIUS_M, context_area
from ctxmap.errors import InputError
from ctxmap.layers.crs import analysis_crs
from ctxmap.layers.geometry import located_mask
from ctxmap.layers.schemas import EXPLOITATION_CATEGORIES, STORAGE_CRS
from ctxmap.store.marks import StoredStudyArea

# --------------------------------------------------------------------------- evidence


@dataclass(frozen=True)
class ContextEvidence:
    """What the map layers say about a context (computed, never typed).

    Attributes
    ----------
    area
        The area counted (EPSG:4326).
    radius_m
        Radius used around a point context (not used for polygons).
    period
        ``(first, last)`` months counted.
    categories
        Incident categories counted.
    incidents
        Located incidents of the period and categories inside the area (input columns,
        plus ``distance_m`` from the context).
    by_category, by_month
        Their counts per category, and per month (zeros included).
    unlocated_in_period
        Incidents of the period and categories with no location: they exist, but cannot
        be placed in or out of the context.
    nearest
        The nearest youth centres and safe places: ``layer, id, name, category,
        distance_m`` (straight-line distance, not a walking route).
    nearest_method
        How ``distance_m`` was measured.
    shape
        ``"point"`` (counted within ``radius_m``), ``"area"`` (a drawn polygon) or
        ``"none"`` (no location).
    hotspot
        ``expected, rate_ratio, p_value, flagged, rank, of_places, method`` or ``None``
        when there is no study area.
    """

    area: BaseGeometry | None
    radius_m: float
    period: tuple[str, str] | None
    categories: tuple[str, ...]
    incidents: gpd.GeoDataFrame
    by_category: pd.Series
    by_month: pd.DataFrame
    unlocated_in_period: int
    nearest: pd.DataFrame
    nearest_method: str
    hotspot: dict[str, Any] | None
    shape: str = "point"


class EvidenceOptions(TypedDict, total=False):
    """The settings of :func:`context_evidence` (each optional)."""

    radius_m: float
    months: tuple[str, str] | None
    categories: Sequence[str] | None
    study_area: BaseGeometry | StudyArea | StoredStudyArea | None
    study_area_description: str | None
    n_nearest: int
    alpha: float
    min_incidents: int


@dataclass(frozen=True)
class _HotspotTest:
    """What the hotspot test of one context needs (see :func:`_hotspot`)."""

    geometry: BaseGeometry
    area: BaseGeometry
    study_area: BaseGeometry
    study_area_description: str
    crs: str
    period: tuple[str, str]
    categories: tuple[str, ...]
    radius_m: float
    alpha: float
    min_incidents: int


def context_evidence(
    context_geometry: BaseGeometry | None,
    layers: Mapping[str, gpd.GeoDataFrame],
    **options: Unpack[EvidenceOptions],
) -> ContextEvidence:
    """Count the incidents in a context, find the nearest safe places, test for a hotspot.

    Parameters
    ----------
    context_geometry
        The context's point or polygon in EPSG:4326 (``None`` for an online space:
        empty evidence).
    layers
        Layers keyed by kind (``incidents``, ``youth_centres``, ``safe_places``,
        ``areas``), all EPSG:4326.
    radius_m
        Radius around a point context, metres.
    months
        Inclusive ``(first, last)`` months, or ``None`` for every month of the data.
    categories
        Incident categories to count (``None``: all).
    study_area
        Baseline area (EPSG:4326): the store's study area
        (:func:`ctxmap.store.marks.read_study_area`, or a
        :class:`~ctxmap.analysis.areas.StudyArea`: its description is then used); default:
        the one district outline of the ``areas`` layer
        (:func:`ctxmap.analysis.inputs.study_area`).
    study_area_description
        How the hotspot test's method names ``study_area``, in the reasons' words (e.g.
        ``"Great Yarmouth (174.3 km², from great_yarmouth_lad_2013.geojson)"``).
    n_nearest
        How many nearest places to list.
    alpha, min_incidents
        A point context is ranked among all places with :func:`ctxmap.analysis.concern.rank_places`
        (study-area expectation; flagged above the funnel limit, with at least
        ``min_incidents``); a polygon gets a one-sided Poisson test of its count against the
        study-area density, flagged when p <= ``alpha`` and at least ``min_incidents``.

    Raises
    ------
    InputError
        If a layer is not in EPSG:4326 or the radius is not positive.
    """
    from ctxmap.analysis.periods import filter_incidents

    radius_m = options.get("radius_m", DEFAULT_RADIUS_M)
    months = options.get("months")
    categories = options.get("categories", EXPLOITATION_CATEGORIES)
    study_area = options.get("study_area")
    described = options.get("study_area_description") or "the given study area"
    if isinstance(study_area, StudyArea | StoredStudyArea):
        study_area, described = study_area.geometry, study_area.description
    alpha, min_incidents = options.get("alpha", 0.05), options.get("min_incidents", 5)
    if not (math.isfinite(radius_m) and radius_m > 0):
        raise InputError(f"radius {radius_m!r} m; expected a number of metres > 0")
    for kind, gdf in layers.items():
        if gdf.crs is not None and not gdf.crs.equals(STORAGE_CRS):
            raise InputError(f"layer {kind} is in {gdf.crs}; expected {STORAGE_CRS}")
    incidents = layers.get("incidents")
    if incidents is None:
        from ctxmap.layers.conform import empty_layer

        incidents = empty_layer("incidents")
    if months is None:
        ms = sorted(incidents["month"].dropna().astype(str).unique())
        period = (ms[0], ms[-1]) if ms else None
    else:
        period = months
    cats = tuple(categories) if categories is not None else tuple(
        sorted(incidents["category"].dropna().astype(str).unique()))
    selected = filter_incidents(incidents, months=period, categories=list(cats))
    located = located_mask(selected)
    unlocated = int((~located).sum())
    area = context_area(context_geometry, radius_m)
    month_index = (pd.period_range(period[0], period[1], freq="M").strftime("%Y-%m").tolist()
                   if period else [])
    empty_near = pd.DataFrame(columns=["layer", "id", "name", "category", "distance_m"])
    method = "straight-line distance (not a walking route)"
    if context_geometry is None or area is None:
        inc = selected.iloc[0:0].copy()
        inc["distance_m"] = pd.Series(dtype=float)
        return ContextEvidence(None, radius_m, period, cats, inc,
                               pd.Series(0, index=list(cats), dtype=np.int64, name="incidents"),
                               pd.DataFrame(0, index=month_index, columns=list(cats)),
                               unlocated, empty_near, method, None, "none")
    geo = gpd.GeoSeries([context_geometry], crs=STORAGE_CRS)
    crs = analysis_crs(gpd.GeoDataFrame(geometry=geo))
    geom_m = geo.to_crs(crs).iloc[0]
    located_incidents = selected[located]
    dist = (located_incidents.geometry.to_crs(crs).distance(geom_m)
            if len(located_incidents) else pd.Series(dtype=float))
    limit = radius_m if context_geometry.geom_type == "Point" else 0.0
    inside = located_incidents[(dist <= limit).to_numpy()].copy()
    inside["distance_m"] = dist[dist <= limit].to_numpy()
    inside = inside.sort_values("distance_m", kind="stable")
    cat_vals = inside["category"].astype(str)
    by_cat = cat_vals.value_counts().reindex(list(cats), fill_value=0).astype(np.int64)
    by_cat.name = "incidents"
    by_month = (pd.crosstab(inside["month"].astype(str), cat_vals)
                .reindex(index=month_index, columns=list(cats), fill_value=0).astype(np.int64))
    by_month.index.name = "month"
    by_month.columns.name = "category"
    nearest = _nearest_places(geom_m, crs, layers, options.get("n_nearest", 5))
    if study_area is None and "areas" in layers and len(layers["areas"]):
        from ctxmap.analysis.inputs import study_area as make_study_area

        try:
            study_area, described = make_study_area(layers["areas"])
        except InputError:  # no study area: no hotspot test, the rest of the evidence stands
            study_area = None
    hotspot = None
    if study_area is not None and period is not None:
        test = _HotspotTest(context_geometry, area, study_area, described, crs, period, cats,
                            radius_m, alpha, min_incidents)
        hotspot = _hotspot(test, layers, located_incidents, len(inside))
    return ContextEvidence(area, radius_m, period, cats, inside, by_cat, by_month, unlocated,
                           nearest, method, hotspot,
                           "point" if context_geometry.geom_type == "Point" else "area")


def _nearest_places(geom_m: BaseGeometry, crs: str, layers: Mapping[str, gpd.GeoDataFrame],
                    n: int) -> pd.DataFrame:
    frames = []
    for kind in ("youth_centres", "safe_places"):
        g = layers.get(kind)
        if g is None or not len(g):
            continue
        g = g[g.geometry.notna()]
        frames.append(pd.DataFrame({
            "layer": kind, "id": g["id"].astype(str).to_numpy(),
            "name": g["name"].astype(object).to_numpy(),
            "category": g["category"].astype(object).to_numpy(),
            "distance_m": g.geometry.to_crs(crs).distance(geom_m).to_numpy()}))
    if not frames:
        return pd.DataFrame(columns=["layer", "id", "name", "category", "distance_m"])
    out = pd.concat(frames, ignore_index=True)
    return out.sort_values(["distance_m", "id"], kind="stable").head(n).reset_index(drop=True)


def _hotspot(test: _HotspotTest, layers: Mapping[str, gpd.GeoDataFrame],
             located: gpd.GeoDataFrame, count: int) -> dict[str, Any]:
    """Rank a point context among all places, or test a drawn area's count (Poisson).

    ``located`` are the incidents of the period and categories that have a location.
    """
    geometry, alpha, min_incidents = test.geometry, test.alpha, test.min_incidents
    if geometry.geom_type == "Point":
        from ctxmap.analysis.concern import ConcernParams, rank_places

        frames = []
        for kind in ("homes", "youth_centres", "safe_places"):
            g = layers.get(kind)
            if g is not None and len(g):
                f = g[["id", "name", "category", "geometry"]].copy()
                f["layer"] = kind
                frames.append(f)
        me = gpd.GeoDataFrame({"id": ["__context__"], "name": ["this context"],
                               "category": ["context"], "layer": ["context"]},
                              geometry=[geometry], crs=STORAGE_CRS)
        places = gpd.GeoDataFrame(pd.concat([*frames, me], ignore_index=True),
                                  geometry="geometry", crs=STORAGE_CRS)
        params = ConcernParams(radius_m=test.radius_m, months=test.period,
                               categories=test.categories, alpha=alpha,
                               min_incidents=min_incidents, baseline="study-area")
        ranked = rank_places(places, located, test.study_area, params)
        meta = ranked.attrs["ctxmap"]
        row = ranked[ranked["place_id"] == "__context__"].iloc[0]
        return {"incidents": int(row["incidents"]), "expected": float(row["expected"]),
                "rate_ratio": float(row["rate_ratio"]), "p_value": float(row["p_adjusted"]),
                "flagged": bool(row["flagged"]), "rank": int(row["rank"]),
                "of_places": len(ranked),
                "method": "ranked among all places with ctxmap.analysis.concern.rank_places "
                          "(expected at the study-area density; flagged when "
                          f"{meta['test']}; p is the one-sided Poisson p without "
                          "over-dispersion, Benjamini–Hochberg adjusted across places; "
                          f"study area: {test.study_area_description})"}
    sa = gpd.GeoSeries([test.study_area], crs=STORAGE_CRS).to_crs(test.crs).iloc[0]
    area_m = gpd.GeoSeries([test.area], crs=STORAGE_CRS).to_crs(test.crs).iloc[0]
    pts = located.geometry.to_crs(test.crs)
    n_sa = int(shapely.intersects_xy(sa, pts.x.to_numpy(), pts.y.to_numpy()).sum()) if len(
        pts) else 0
    share = area_m.intersection(sa).area / sa.area if sa.area > 0 else float("nan")
    expected = n_sa * share
    p = float(poisson_excess_p(count, expected)) if expected > 0 else float("nan")
    rr = count / expected if expected > 0 else float("nan")
    return {"incidents": count, "expected": expected, "rate_ratio": rr, "p_value": p,
            "flagged": bool(expected > 0 and p <= alpha and count >= min_incidents),
            "rank": None, "of_places": None,
            "method": "one-sided Poisson test of the count in the drawn area against the "
                      "study-area density (no adjustment for testing many areas; study area: "
                      f"{test.study_area_description})"}

