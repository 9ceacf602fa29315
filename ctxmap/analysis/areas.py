"""Areas: the study area of an analysis, and incident counts and rates per area for choropleths."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from ctxmap.analysis.periods import (
    Period,
    compare_periods,
    counts_by_month,
    previous_period,
    select_incidents,
)
from ctxmap.analysis.projection import to_metric
from ctxmap.errors import InputError
from ctxmap.layers.crs import analysis_crs
from ctxmap.layers.geometry import located_mask


@dataclass(frozen=True)
class StudyArea:
    """The area an analysis covers, and how it was chosen.

    Parameters
    ----------
    geometry
        The area (a polygon or multipolygon) in ``crs``.
    crs
        CRS of ``geometry`` (normally EPSG:4326).
    name
        Short name for sentences, e.g. ``"Norwich"`` or ``"the study area"``.
    description
        How the area was chosen, for logs and output metadata.
    """

    geometry: BaseGeometry
    crs: str
    name: str = "the study area"
    description: str = "given study area"


def category_column(category: str) -> str:
    """Return the column name holding counts of one category: ``"Drugs"`` -> ``"n_drugs"``."""
    return "n_" + re.sub(r"[^a-z0-9]+", "_", category.lower()).strip("_")


def common_crs(*layers: gpd.GeoDataFrame | gpd.GeoSeries) -> str:
    """Return the CRS shared by every layer.

    Raises
    ------
    InputError
        If a layer has no CRS or the layers' CRSs differ (nothing is reprojected silently).
    """
    crss = []
    for layer in layers:
        if layer.crs is None:
            raise InputError("a layer has no CRS; expected EPSG:4326 (use set_crs)")
        crss.append(layer.crs)
    for crs in crss[1:]:
        if not crs.equals(crss[0]):
            raise InputError(
                f"layers are in different CRSs ({crss[0].to_string()} and {crs.to_string()}); "
                "expected one CRS for every layer (EPSG:4326)"
            )
    return crss[0].to_string()


def metric_crs_for(*layers: gpd.GeoDataFrame | gpd.GeoSeries) -> str:
    """Return the one metric CRS an analysis of ``layers`` uses (chosen from the first located)."""
    for layer in layers:
        frame = layer if isinstance(layer, gpd.GeoDataFrame) else gpd.GeoDataFrame(geometry=layer)
        geom = frame.geometry
        located = geom[located_mask(geom)]
        if len(located):
            # the located extent (as a box) decides, as it would for every row
            extent = gpd.GeoDataFrame(geometry=[shapely.box(*located.total_bounds)],
                                      crs=frame.crs)
            return analysis_crs(extent)
    raise InputError("no layer has a located geometry; expected at least one mapped row")


def study_area(
    areas: gpd.GeoDataFrame | None,
    incidents: gpd.GeoDataFrame | None = None,
    buffer_m: float = 0.0,
) -> StudyArea:
    """Choose the study area.

    The union of the ``areas`` of level ``"district"``; if there are none, the union of
    all ``areas``; if there are no areas, the convex hull of the located ``incidents``
    buffered by ``buffer_m`` metres (in the metric analysis CRS).

    Parameters
    ----------
    areas
        Areas layer, or ``None``.
    incidents
        Incidents layer, used only when there are no areas.
    buffer_m
        Buffer around the incidents' hull, in metres.

    Returns
    -------
    StudyArea
        In the CRS of the layer it came from.

    Raises
    ------
    InputError
        If there are neither areas nor located incidents.
    """
    if areas is not None and len(areas) and areas.geometry.notna().any():
        crs = common_crs(areas)
        level = areas["level"].astype(str) if "level" in areas.columns else None
        chosen = areas
        how = "union of all areas"
        if level is not None and (level == "district").any():
            chosen = areas.loc[(level == "district").to_numpy()]
            how = "district boundary"
        geom = shapely.union_all(chosen.geometry.dropna().to_numpy())
        names = (chosen["name"].dropna().astype(str) if "name" in chosen.columns
                 else pd.Series([], dtype=object))
        name = names.iloc[0] if len(chosen) == 1 and len(names) == 1 else "the study area"
        return StudyArea(geom, crs, name=name, description=f"{how} ({len(chosen)} area(s))")
    if incidents is None:
        raise InputError("no areas and no incidents to make a study area from")
    crs = common_crs(incidents)
    located = incidents.geometry[located_mask(incidents)]
    if located.empty:
        raise InputError("no areas and no located incidents to make a study area from")
    metric = metric_crs_for(located)
    hull = shapely.convex_hull(shapely.union_all(located.to_crs(metric).to_numpy()))
    hull = shapely.buffer(hull, float(buffer_m))
    geom = gpd.GeoSeries([hull], crs=metric).to_crs(crs).iloc[0]
    return StudyArea(
        geom,
        crs,
        name="the study area",
        description=f"convex hull of the located incidents buffered by {buffer_m:g} m",
    )


def as_study_area(area: StudyArea | BaseGeometry | gpd.GeoDataFrame, crs: str) -> StudyArea:
    """Coerce a study area given as a geometry (assumed in ``crs``) or a layer to a StudyArea.

    Raises
    ------
    InputError
        If a layer or StudyArea is in a CRS other than ``crs``.
    """
    if isinstance(area, StudyArea):
        sa = area
    elif isinstance(area, gpd.GeoDataFrame | gpd.GeoSeries):
        common_crs(area)
        sa = StudyArea(
            shapely.union_all(area.geometry.dropna().to_numpy()),
            area.crs.to_string(),
            description=f"union of {len(area)} given area(s)",
        )
    elif isinstance(area, BaseGeometry):
        sa = StudyArea(area, crs)
    else:
        raise InputError(
            f"study area is a {type(area).__name__}; expected a StudyArea, a shapely geometry "
            "or a GeoDataFrame"
        )
    if not gpd.GeoSeries([], crs=sa.crs).crs.equals(gpd.GeoSeries([], crs=crs).crs):
        raise InputError(
            f"the study area is in {sa.crs} but the layers are in {crs}; expected the same CRS"
        )
    return sa


def assign_to_areas(points: gpd.GeoSeries, areas: gpd.GeoSeries) -> np.ndarray:
    """Return, for each point, the position of the first area containing it, or -1.

    Both must be in the same CRS. A point on a boundary shared by two areas goes to the
    first of them (so nothing is counted twice); null points get -1.
    """
    out = np.full(len(points), -1, dtype=np.int64)
    located = located_mask(points)
    if not located.any() or len(areas) == 0:
        return out
    pts = points.to_numpy()[located]
    tree = shapely.STRtree(areas.to_numpy())
    pi, ai = tree.query(pts, predicate="intersects")
    order = np.lexsort((ai, pi))
    pi, ai = pi[order], ai[order]
    first = np.ones(len(pi), dtype=bool)
    first[1:] = pi[1:] != pi[:-1]
    sub = np.full(len(pts), -1, dtype=np.int64)
    sub[pi[first]] = ai[first]
    out[located] = sub
    return out


def area_counts(
    areas: gpd.GeoDataFrame,
    incidents: gpd.GeoDataFrame,
    period: Period | None = None,
    categories: Sequence[str] | None = None,
    level: str | None = None,
) -> gpd.GeoDataFrame:
    """Count incidents per area, with rates per 1,000 residents, for a choropleth.

    Each located incident counts in the first area (of the chosen level) that contains it;
    incidents with no location count nowhere (their number is in ``attrs``).

    Parameters
    ----------
    areas
        Areas layer (columns ``id``, ``name``, ``level``, ``population``).
    incidents
        Incidents layer in the same CRS as ``areas``.
    period, categories
        Selection of incidents (see :func:`ctxmap.analysis.periods.select_incidents`).
    level
        Keep only areas of this level (e.g. ``"lsoa"``, ``"ward"``); ``None`` keeps all
        (then choose one level, or incidents go to the first overlapping area).

    Returns
    -------
    geopandas.GeoDataFrame
        One row per area (the input's index and CRS) with ``area_id``, ``name``, ``level``,
        ``population``, ``incidents``, ``rate_per_1000`` (NaN when the population is
        unknown or zero) and one ``n_<category>`` column per category present or selected.
        ``attrs["ctxmap"]`` holds ``incidents_used``, ``incidents_unlocated`` and
        ``incidents_outside``.
    """
    crs = common_crs(areas, incidents)
    chosen = areas
    if level is not None:
        if "level" not in areas.columns:
            raise InputError("the areas have no 'level' column; expected the areas layer columns")
        chosen = areas.loc[(areas["level"].astype(str) == level).to_numpy()]
        if chosen.empty:
            found = sorted(areas["level"].dropna().astype(str).unique())
            raise InputError(f"no areas of level {level!r}; the areas have levels {found}")
    sel = select_incidents(incidents, period, categories)
    located = located_mask(sel)
    metric = crs if not located.any() else metric_crs_for(sel)
    pos = assign_to_areas(to_metric(sel.geometry, metric), chosen.geometry.to_crs(metric))
    cats = list(categories) if categories is not None else sorted(
        sel["category"].dropna().astype(str).unique()
    )
    out = gpd.GeoDataFrame(
        {
            "area_id": chosen["id"].astype(str).to_numpy() if "id" in chosen else np.arange(
                len(chosen)
            ).astype(str),
            "name": chosen["name"].fillna("").astype(str).to_numpy() if "name" in chosen else "",
            "level": chosen["level"].astype(str).to_numpy() if "level" in chosen else "",
        },
        geometry=chosen.geometry.to_numpy(),
        index=chosen.index.copy(),
        crs=crs,
    )
    pop = (
        pd.to_numeric(chosen["population"], errors="coerce").to_numpy(dtype=float)
        if "population" in chosen.columns
        else np.full(len(chosen), np.nan)
    )
    inside = pos >= 0
    total = np.bincount(pos[inside], minlength=len(chosen))
    out["population"] = pop
    out["incidents"] = total
    with np.errstate(divide="ignore", invalid="ignore"):
        out["rate_per_1000"] = np.where(pop > 0, 1000.0 * total / np.where(pop > 0, pop, 1), np.nan)
    cat_values = sel["category"].astype(str).to_numpy()
    for cat in cats:
        mask = inside & (cat_values == cat)
        out[category_column(cat)] = np.bincount(pos[mask], minlength=len(chosen))
    out.attrs["ctxmap"] = {
        "incidents_used": int(inside.sum()),
        "incidents_unlocated": int((~located).sum()),
        "incidents_outside": int((located & ~inside).sum()),
        "period": period,
        "categories": tuple(cats),
    }
    return out


def area_trends(
    areas: gpd.GeoDataFrame,
    incidents: gpd.GeoDataFrame,
    period: Period,
    categories: Sequence[str] | None = None,
    level: str | None = None,
) -> pd.DataFrame:
    """Incidents per area and month over ``period``, with the change on the previous period.

    Parameters
    ----------
    areas, incidents, categories, level
        As in :func:`area_counts`.
    period
        The current period; the previous period has the same length and ends the month
        before (see :func:`ctxmap.analysis.periods.previous_period`).

    Returns
    -------
    pandas.DataFrame
        Indexed like the chosen areas: ``area_id``, ``name``, one column per month of
        ``period``, ``current``, ``previous``, ``change``, ``change_pct``.
    """
    prev = previous_period(period)
    span = (prev[0], period[1])
    common_crs(areas, incidents)
    chosen = areas if level is None else areas.loc[(areas["level"].astype(str) == level).to_numpy()]
    sel = select_incidents(incidents, span, categories)
    located = located_mask(sel)
    metric = metric_crs_for(sel) if located.any() else common_crs(areas)
    pos = assign_to_areas(to_metric(sel.geometry, metric), chosen.geometry.to_crs(metric))
    ok = pos >= 0
    counts = counts_by_month(pos[ok], sel["month"].to_numpy()[ok], len(chosen), span)
    table = compare_periods(counts, period, index=chosen.index)
    table.insert(0, "name", chosen["name"].fillna("").astype(str).to_numpy())
    table.insert(0, "area_id", chosen["id"].astype(str).to_numpy())
    return table
