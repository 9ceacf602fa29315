"""One place's incidents (by category and month) and every place's trend on the previous period.

The detail panels of the Locations of concern page; counting as in
:mod:`ctxmap.analysis.concern` (distance ``<= radius`` in one metric CRS).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry.base import BaseGeometry

from ctxmap.analysis.areas import common_crs, metric_crs_for
from ctxmap.analysis.concern import ConcernParams, period_of, place_frame
from ctxmap.analysis.counting import count_within, pairs_within
from ctxmap.analysis.periods import (
    Period,
    compare_periods,
    data_period,
    month_codes,
    month_index,
    month_range,
    previous_period,
    select_incidents,
)
from ctxmap.analysis.projection import metric_xy
from ctxmap.errors import InputError
from ctxmap.layers.geometry import located_mask


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
    period = period_of(selected, incidents, params)
    selected = select_incidents(selected, period, None)
    cats = list(params.categories) if params.categories is not None else sorted(
        selected["category"].dropna().astype(str).unique()
    )
    loc = located_mask(selected.geometry)
    metric = metric_crs_for(gpd.GeoSeries([point], crs=crs))
    pt_m = gpd.GeoSeries([point], crs=crs).to_crs(metric).iloc[0]
    located = selected.loc[loc]
    ix, iy = metric_xy(located.geometry, metric)
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
    base = place_frame(places)[["place_id", "name", "layer"]]
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
        ix, iy = metric_xy(selected.geometry[inc_loc], metric)
        px, py = metric_xy(places.geometry[place_loc], metric)
        codes = month_codes(selected["month"].to_numpy()[inc_loc]) - month_index(span[0])
        counts[place_loc] = count_within(px, py, ix, iy, codes, n_months, params.radius_m)
    del crs
    table = compare_periods(counts, period, index=places.index)
    return pd.concat([base, table], axis=1)


__all__ = ["PlaceBreakdown", "place_breakdown", "place_trends"]
