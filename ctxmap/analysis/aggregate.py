"""Aggregate located incidents into square grid cells, for a map that stays light.

The grid is laid in the layer's metric CRS with :func:`ctxmap.layers.geometry.grid_cells`
(the one grid-cell rule), starting small and doubling until few enough cells are
occupied. The map (:mod:`ctxmap.maps.layers`) only draws the cells returned here; the
incident index (:mod:`ctxmap.analysis.incident_index`) reuses the prepared arrays.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

from ctxmap.errors import InputError
from ctxmap.layers.crs import analysis_crs
from ctxmap.layers.geometry import grid_cells, located_mask
from ctxmap.layers.schemas import STORAGE_CRS
from ctxmap.text import clean_text

#: At most this many aggregated incident cells (the grid coarsens until it fits).
DEFAULT_MAX_CELLS: Final = 1500
#: Smallest aggregation cell, metres.
DEFAULT_MIN_CELL_M: Final = 50.0


def aggregate_incidents(
    incidents: gpd.GeoDataFrame,
    *,
    max_cells: int = DEFAULT_MAX_CELLS,
    min_cell_m: float = DEFAULT_MIN_CELL_M,
    top: int = 3,
) -> gpd.GeoDataFrame:
    """Aggregate located incidents into square grid cells (for a light map).

    The grid is laid in the layer's metric CRS (:func:`ctxmap.layers.crs.analysis_crs`)
    starting at ``min_cell_m`` and doubling until at most ``max_cells`` cells are
    occupied. Each cell is represented by the mean position of its incidents.

    Parameters
    ----------
    incidents
        Incident layer in EPSG:4326; rows with null/empty geometry are ignored.
    max_cells
        Upper bound on the number of rows returned (>= 1).
    min_cell_m
        Smallest cell side, metres (> 0).
    top
        How many most frequent categories to list per cell.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per occupied cell, EPSG:4326, columns ``count`` (int), ``cell_m``
        (float), ``top_categories`` (str, e.g. ``"Drugs (3); Robbery (1)"``),
        ``first_month``, ``last_month`` (str, may be empty) and point ``geometry``;
        sorted by descending count. The counts add up to the number of located rows.

    Raises
    ------
    InputError
        If ``max_cells`` < 1 or ``min_cell_m`` <= 0.
    """
    if max_cells < 1:
        raise InputError(f"max_cells is {max_cells}; expected at least 1")
    if not min_cell_m > 0:
        raise InputError(f"min_cell_m is {min_cell_m}; expected a positive number of metres")
    return aggregate_arrays(
        incident_arrays(incidents), None, max_cells=max_cells, min_cell_m=min_cell_m, top=top
    )


@dataclass(frozen=True)
class IncidentArrays:
    """The located incidents as arrays: what aggregation needs, prepared once.

    Attributes
    ----------
    xs, ys
        Metric coordinates (``metric_crs``).
    cat_codes, cat_names
        Category code per incident (index into ``cat_names``, cleaned for display;
        the last name is ``"Uncategorised"``).
    month_codes, month_names
        Month code per incident (index into the sorted ``month_names``; -1: none).
    metric_crs
        The CRS of ``xs``/``ys``.
    """

    xs: np.ndarray
    ys: np.ndarray
    cat_codes: np.ndarray
    cat_names: list[str]
    month_codes: np.ndarray
    month_names: list[str]
    metric_crs: str


def incident_arrays(incidents: gpd.GeoDataFrame) -> IncidentArrays:
    """Prepare the located rows of an incident layer (EPSG:4326) for aggregation."""
    mask = located_mask(incidents)
    points = incidents.geometry.to_numpy()[mask]
    if len(points):
        extent = gpd.GeoDataFrame(geometry=[shapely.box(*shapely.total_bounds(points))],
                                  crs=incidents.crs)
        metric_crs = analysis_crs(extent)
    else:
        metric_crs = "EPSG:27700"
    lonlat = shapely.get_coordinates(points)
    to_m = Transformer.from_crs(STORAGE_CRS, metric_crs, always_xy=True)
    xs, ys = to_m.transform(lonlat[:, 0], lonlat[:, 1])
    if "category" in incidents:
        cat_codes, cats = pd.factorize(
            incidents["category"].astype("object").to_numpy()[mask], sort=True)
    else:
        cat_codes, cats = np.full(len(points), -1), pd.Index([])
    names = [clean_text(c) or "Uncategorised" for c in cats] + ["Uncategorised"]
    cat_codes = np.where(cat_codes < 0, len(names) - 1, cat_codes)
    month_codes = np.full(len(points), -1, dtype=np.int64)
    month_names: list[str] = []
    if "month" in incidents:
        raw_codes, raw_months = pd.factorize(incidents["month"].astype("object").to_numpy()[mask])
        cleaned = np.array([clean_text(v) for v in raw_months] + [""], dtype=object)
        month = cleaned[np.where(raw_codes < 0, len(raw_months), raw_codes)]  # clean uniques only
        has = month != ""
        if has.any():
            m_codes, m_names = pd.factorize(month[has], sort=True)
            month_codes[has] = m_codes
            month_names = [str(m) for m in m_names]
    return IncidentArrays(np.asarray(xs, float), np.asarray(ys, float), cat_codes.astype(np.int64),
                          names, month_codes, month_names, metric_crs)


def aggregate_arrays(
    arrays: IncidentArrays,
    select: np.ndarray | None,
    *,
    max_cells: int = DEFAULT_MAX_CELLS,
    min_cell_m: float = DEFAULT_MIN_CELL_M,
    top: int = 3,
) -> gpd.GeoDataFrame:
    """Aggregate the ``select``-ed prepared incidents (all when ``select`` is None).

    Returns the cells :func:`aggregate_incidents` describes.
    """
    columns = ["count", "cell_m", "top_categories", "first_month", "last_month"]
    xs, ys = arrays.xs, arrays.ys
    cats, months = arrays.cat_codes, arrays.month_codes
    if select is not None:
        xs, ys, cats, months = xs[select], ys[select], cats[select], months[select]
    if not len(xs):
        return gpd.GeoDataFrame(
            {c: pd.Series(dtype="object") for c in columns}, geometry=[], crs=STORAGE_CRS
        )
    cell = float(min_cell_m)
    while True:
        ix, iy = grid_cells(xs, ys, cell)
        # one integer key per cell (metric coordinates are far below 2**31 cells)
        codes, uniques = pd.factorize(ix * (1 << 32) + iy)
        if len(uniques) <= max_cells:
            break
        cell *= 2.0
    n_cells = len(uniques)
    counts = np.bincount(codes, minlength=n_cells)
    mean_x = np.bincount(codes, weights=xs, minlength=n_cells) / counts
    mean_y = np.bincount(codes, weights=ys, minlength=n_cells) / counts

    # the most frequent categories per cell, from one (cell x category) count matrix
    names = arrays.cat_names
    per_cat = np.bincount(codes * len(names) + cats,
                          minlength=n_cells * len(names)).reshape(n_cells, len(names))
    order = np.argsort(-per_cat, axis=1, kind="stable")  # ties: alphabetical (sorted codes)
    tops = [
        "; ".join(f"{names[j]} ({per_cat[i, j]})" for j in order[i, :top] if per_cat[i, j])
        for i in range(n_cells)
    ]
    # first and last month per cell, from a (cell x month) count matrix
    first = np.full(n_cells, "", dtype=object)
    last = np.full(n_cells, "", dtype=object)
    has = months >= 0
    if has.any():
        n_m = len(arrays.month_names)
        per_month = np.bincount(codes[has] * n_m + months[has],
                                minlength=n_cells * n_m).reshape(n_cells, n_m) > 0
        seen = per_month.any(axis=1)
        m_names = np.asarray(arrays.month_names, dtype=object)
        first[seen] = m_names[per_month[seen].argmax(axis=1)]
        last[seen] = m_names[n_m - 1 - per_month[seen][:, ::-1].argmax(axis=1)]
    to_ll = Transformer.from_crs(arrays.metric_crs, STORAGE_CRS, always_xy=True)
    lon, lat = to_ll.transform(mean_x, mean_y)
    out = gpd.GeoDataFrame(
        {
            "count": counts.astype(np.int64),
            "cell_m": np.full(n_cells, cell),
            "top_categories": tops,
            "first_month": [str(v) for v in first],
            "last_month": [str(v) for v in last],
        },
        geometry=gpd.points_from_xy(lon, lat),
        crs=STORAGE_CRS,
    )
    return out.sort_values("count", ascending=False, kind="stable").reset_index(drop=True)
