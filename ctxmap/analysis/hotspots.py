"""Statistical hotspots: Getis-Ord Gi* of incident counts on a regular square grid.

Method (stated in the output's ``attrs["ctxmap"]``)
---------------------------------------------------
* Grid: squares of ``cell_m`` metres in the metric analysis CRS, aligned to multiples of
  ``cell_m``; a cell is kept when it intersects the study area.
* Count: located incidents (chosen period and categories) inside the study area, per cell.
  Incidents with no location, or outside the study area, are counted in the metadata only.
* Weights: binary queen contiguity (the up to 8 cells sharing an edge or corner), built
  with :class:`libpysal.weights.W`; the focal cell is included (Gi*, ``star=True``).
* Statistic: :class:`esda.G_Local` (``transform="B"``, ``star=True``), z-scores under
  normality; two-sided p = ``2 * norm.sf(|z|)``.
* Correction: Benjamini–Hochberg false discovery rate across all cells; a cell is hot
  (z > 0) or cold (z < 0) at 99 / 95 / 90 % confidence when its FDR-adjusted p-value is
  ``<= 0.01 / 0.05 / 0.10``.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from ctxmap.analysis.areas import StudyArea, as_study_area, common_crs, metric_crs_for
from ctxmap.analysis.periods import Period, select_incidents
from ctxmap.analysis.projection import metric_xy
from ctxmap.analysis.statistics import benjamini_hochberg, normal_two_sided_p
from ctxmap.errors import InputError
from ctxmap.layers.geometry import grid_cells, located_mask
from ctxmap.layers.schemas import STORAGE_CRS

if TYPE_CHECKING:
    from libpysal.weights import W

#: Confidence levels and the adjusted p-value each needs.
LEVELS: tuple[tuple[int, float], ...] = ((99, 0.01), (95, 0.05), (90, 0.10))
MAX_CELLS = 250_000


def square_grid(
    area: BaseGeometry, cell_m: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float, float, int]:
    """Make the square cells (metric CRS) that intersect ``area``.

    Returns
    -------
    tuple
        ``(cells, rows, cols, x0, y0, n_cols)``: the kept cells' polygons, their row and
        column numbers, the grid origin (lower-left, a multiple of ``cell_m``) and the
        number of columns of the full grid.

    Raises
    ------
    InputError
        If ``cell_m`` is not > 0 or the grid would have more than ``MAX_CELLS`` cells.
    """
    minx, miny, maxx, maxy = area.bounds
    i0, j0 = grid_cells(minx, miny, cell_m)  # raises unless cell_m > 0
    x0, y0 = float(i0) * cell_m, float(j0) * cell_m
    n_cols = max(1, int(np.ceil((maxx - x0) / cell_m)))
    n_rows = max(1, int(np.ceil((maxy - y0) / cell_m)))
    if n_cols * n_rows > MAX_CELLS:
        raise InputError(
            f"a {cell_m:g} m grid over the study area has {n_cols * n_rows} cells; "
            f"expected at most {MAX_CELLS} (choose a larger cell size)"
        )
    rows, cols = np.divmod(np.arange(n_rows * n_cols), n_cols)
    xs = x0 + cols * cell_m
    ys = y0 + rows * cell_m
    cells = shapely.box(xs, ys, xs + cell_m, ys + cell_m)
    shapely.prepare(area)
    keep = shapely.intersects(area, cells)
    return cells[keep], rows[keep], cols[keep], float(x0), float(y0), n_cols


def queen_weights(rows: np.ndarray, cols: np.ndarray) -> W:
    """Binary queen-contiguity weights between grid cells given by row and column."""
    from libpysal.weights import W  # imported when used: esda and libpysal take ~2 s to load
    lookup = {(int(r), int(c)): i for i, (r, c) in enumerate(zip(rows, cols, strict=True))}
    neighbours: dict[int, list[int]] = {}
    for i, (r, c) in enumerate(zip(rows, cols, strict=True)):
        near = []
        for dr in (-1, 0, 1):
            for dc in (-1, 0, 1):
                if dr == 0 and dc == 0:
                    continue
                j = lookup.get((int(r) + dr, int(c) + dc))
                if j is not None:
                    near.append(j)
        neighbours[i] = near
    return W(neighbours, silence_warnings=True)


def classify(z: np.ndarray, p_adjusted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(gi_bin, label)`` per cell: ±3/±2/±1 for 99/95/90 % hot/cold, 0 otherwise."""
    bins = np.zeros(len(z), dtype=np.int64)
    ok = np.isfinite(z) & np.isfinite(p_adjusted)
    for k, (_, threshold) in enumerate(reversed(LEVELS), start=1):
        sig = ok & (p_adjusted <= threshold)
        bins[sig] = np.sign(z[sig]).astype(np.int64) * k
    names = {0: "not significant"}
    for k, (conf, _) in enumerate(reversed(LEVELS), start=1):
        names[k] = f"hot spot {conf}%"
        names[-k] = f"cold spot {conf}%"
    labels = np.array([names[int(b)] for b in bins], dtype=object)
    return bins, labels


def gistar_hotspots(
    incidents: gpd.GeoDataFrame,
    study_area: StudyArea | BaseGeometry | gpd.GeoDataFrame,
    cell_m: float = 250.0,
    period: Period | None = None,
    categories: Sequence[str] | None = None,
) -> gpd.GeoDataFrame:
    """Find hot and cold spots of incidents with Getis-Ord Gi* on a square grid.

    Parameters
    ----------
    incidents
        Incidents layer (EPSG:4326 normally; null geometries allowed and not counted).
    study_area
        The area to grid: a StudyArea, a GeoDataFrame (its union), or a geometry in the
        incidents' CRS.
    cell_m
        Cell side in metres (default 250).
    period, categories
        Selection of incidents (see :func:`ctxmap.analysis.periods.select_incidents`).

    Returns
    -------
    geopandas.GeoDataFrame
        One row per cell, in EPSG:4326: ``cell_id``, ``row``, ``col``, ``incidents``,
        ``gi_z``, ``p_value`` (two-sided, normal), ``p_adjusted`` (Benjamini–Hochberg),
        ``gi_bin`` (-3..3) and ``hotspot_class`` (e.g. ``"hot spot 99%"``).
        ``attrs["ctxmap"]`` states the grid, weights, statistic, correction and counts.
    """
    crs = common_crs(incidents)
    sa = as_study_area(study_area, crs)
    sel = select_incidents(incidents, period, categories)
    geoms = sel.geometry
    located = located_mask(geoms)
    area_series = gpd.GeoSeries([sa.geometry], crs=crs)
    metric = metric_crs_for(geoms[located], area_series)
    area_m = area_series.to_crs(metric).iloc[0]
    cells, rows, cols, x0, y0, n_cols = square_grid(area_m, float(cell_m))
    x, y = metric_xy(geoms[located], metric)
    shapely.prepare(area_m)
    inside = shapely.intersects_xy(area_m, x, y) if len(x) else np.zeros(0, dtype=bool)
    x, y = x[inside], y[inside]
    n_rows_full = int(rows.max()) + 1 if len(rows) else 0
    lookup = np.full(max(n_rows_full, 1) * n_cols, -1, dtype=np.int64)
    lookup[rows * n_cols + cols] = np.arange(len(cells))
    gx, gy = grid_cells(x, y, cell_m, origin=(x0, y0))
    cc = np.clip(gx, 0, n_cols - 1)
    rr = np.clip(gy, 0, max(n_rows_full - 1, 0))
    pos = lookup[rr * n_cols + cc]
    counts = np.bincount(pos[pos >= 0], minlength=len(cells)).astype(float)

    if len(cells) < 3:
        raise InputError(
            f"the study area holds only {len(cells)} cell(s) of {cell_m:g} m; expected at "
            "least 3 (choose a smaller cell size)"
        )
    w = queen_weights(rows, cols)
    from esda.getisord import G_Local  # imported when used, as in queen_weights

    if counts.std() > 0:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            g = G_Local(counts, w, transform="B", star=True, permutations=0)
        z = np.asarray(g.Zs, dtype=float)
    else:
        z = np.zeros(len(cells))
    p = normal_two_sided_p(z)
    q = benjamini_hochberg(p)
    bins, labels = classify(z, q)
    grid = gpd.GeoDataFrame(
        {
            "cell_id": [f"r{r}c{c}" for r, c in zip(rows, cols, strict=True)],
            "row": rows,
            "col": cols,
            "incidents": counts.astype(np.int64),
            "gi_z": z,
            "p_value": p,
            "p_adjusted": q,
            "gi_bin": bins,
            "hotspot_class": labels,
        },
        geometry=cells,
        crs=metric,
    ).to_crs(STORAGE_CRS)
    grid.attrs["ctxmap"] = {
        "grid": f"{cell_m:g} m squares in {metric}, kept where they intersect the study area",
        "cell_m": float(cell_m),
        "cells": len(cells),
        "weights": "binary queen contiguity (up to 8 neighbouring cells), focal cell included",
        "statistic": "Getis-Ord Gi* (esda.G_Local, star=True, transform='B'), normal z-scores",
        "p_value": "two-sided, 2 * norm.sf(|z|)",
        "correction": "Benjamini–Hochberg FDR across cells; 99/95/90 % at adjusted p "
        "<= 0.01/0.05/0.10",
        "study_area": sa.description,
        "period": period,
        "categories": tuple(categories) if categories is not None else None,
        "incidents_used": len(x),
        "incidents_unlocated": int((~located).sum()),
        "incidents_outside": int((~inside).sum()),
        "metric_crs": metric,
        "hot_cells": int((bins > 0).sum()),
        "cold_cells": int((bins < 0).sum()),
    }
    return grid
