"""Kernel density of incidents: a Gaussian surface on a grid, clipped to the study area.

Method (stated in the output's ``attrs["ctxmap"]``): located incidents (chosen period and
categories) are binned onto a square grid of ``cell_m`` metres in the metric analysis CRS
and smoothed with a Gaussian kernel of standard deviation ``bandwidth_m`` (a binned KDE,
``scipy.ndimage.gaussian_filter``). Unless given, the bandwidth follows Scott's rule in two
dimensions (identical to Silverman's for d = 2): ``h = sigma * n ** (-1/6)`` with
``sigma = sqrt((var(x) + var(y)) / 2)``, except when an out-of-sample evaluation of this
area is available (:mod:`ctxmap.analysis.evaluation`): then the bandwidth that predicted
the area's recent months best (Scott's rule, 200 m or 400 m) is the default. Density is
incidents per km². Cells are kept where they intersect the study area and their polygons
are clipped to it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import shapely
from scipy import ndimage
from shapely.geometry.base import BaseGeometry

from ctxmap.analysis.areas import StudyArea, as_study_area, common_crs, metric_crs_for
from ctxmap.analysis.hotspots import square_grid
from ctxmap.analysis.periods import Period, select_incidents
from ctxmap.analysis.projection import metric_xy
from ctxmap.errors import InputError
from ctxmap.layers.geometry import grid_cells, located_mask
from ctxmap.layers.schemas import STORAGE_CRS


@dataclass(frozen=True)
class EvaluatedBandwidth:
    """The bandwidth that predicted this area's recent months best, and how it was chosen.

    Made by :meth:`ctxmap.analysis.evaluation.Evaluation.best_bandwidth_choice`.
    """

    bandwidth_m: float
    rule: str


def scott_bandwidth(x: np.ndarray, y: np.ndarray) -> float:
    """Return Scott's rule bandwidth for 2-D points: ``sqrt((var x + var y)/2) * n**(-1/6)``.

    Raises
    ------
    InputError
        With fewer than 2 points, or points that all coincide.
    """
    n = len(x)
    if n < 2:
        raise InputError(f"{n} located incident(s); expected at least 2 to choose a bandwidth")
    sigma = float(np.sqrt((np.var(x, ddof=1) + np.var(y, ddof=1)) / 2.0))
    if sigma <= 0:
        raise InputError("every incident is at the same point; give a bandwidth in metres")
    return sigma * n ** (-1.0 / 6.0)


def binned_gaussian(
    x: np.ndarray,
    y: np.ndarray,
    rows: np.ndarray,
    cols: np.ndarray,
    origin: tuple[float, float],
    n_cols: int,
    cell_m: float,
    bandwidth_m: float,
) -> np.ndarray:
    """Smooth points binned on a grid with a Gaussian kernel; return the value at given cells.

    Parameters
    ----------
    x, y
        Metric coordinates of the points (those beyond the padded grid are left out).
    rows, cols
        The cells to return (row and column numbers of the grid).
    origin, n_cols, cell_m
        The grid: lower-left corner, number of columns, cell side in metres.
    bandwidth_m
        The kernel's standard deviation in metres.

    Returns
    -------
    numpy.ndarray
        The smoothed number of points per cell (its sum over all cells is the number of
        points, less what the kernel spreads beyond the grid's edge).

    Raises
    ------
    InputError
        If the padded grid would have more than 4,000,000 cells.
    """
    h = float(bandwidth_m)
    pad = int(np.ceil(4.0 * h / cell_m))
    n_rows = int(rows.max()) + 1 if len(rows) else 1
    gx, gy = grid_cells(x, y, cell_m, origin=origin)
    gx, gy = gx + pad, gy + pad
    shape = (n_rows + 2 * pad, n_cols + 2 * pad)
    if shape[0] * shape[1] > 4_000_000:
        raise InputError(
            f"the density grid would have {shape[0] * shape[1]} cells; expected at most "
            "4,000,000 (choose a larger cell size or a smaller bandwidth)"
        )
    ok = (gx >= 0) & (gx < shape[1]) & (gy >= 0) & (gy < shape[0])
    hist = np.bincount(gy[ok] * shape[1] + gx[ok], minlength=shape[0] * shape[1])
    hist = hist.reshape(shape).astype(float)
    smooth = ndimage.gaussian_filter(hist, sigma=h / cell_m, mode="constant", truncate=4.0)
    return np.asarray(smooth[rows + pad, cols + pad], dtype=float)


def kernel_density(
    incidents: gpd.GeoDataFrame,
    study_area: StudyArea | BaseGeometry | gpd.GeoDataFrame,
    cell_m: float = 100.0,
    bandwidth_m: float | None = None,
    period: Period | None = None,
    categories: Sequence[str] | None = None,
    evaluated: EvaluatedBandwidth | None = None,
) -> gpd.GeoDataFrame:
    """Compute a kernel-density surface of incidents for a coloured map layer.

    Parameters
    ----------
    incidents
        Incidents layer (null geometries allowed; they are not counted).
    study_area
        A StudyArea, GeoDataFrame (its union) or geometry in the incidents' CRS.
    cell_m
        Grid cell side in metres (default 100).
    bandwidth_m
        Gaussian kernel standard deviation in metres; ``None`` uses the evaluated bandwidth
        when ``evaluated`` is given, else Scott's rule.
    period, categories
        Selection of incidents.
    evaluated
        The bandwidth that predicted this area's recent months best (an out-of-sample
        evaluation), used when ``bandwidth_m`` is None.

    Returns
    -------
    geopandas.GeoDataFrame
        EPSG:4326 cells (clipped to the study area) with ``density_per_km2``, plus ``row``
        and ``col``. ``attrs["ctxmap"]`` holds ``bandwidth_m``, ``bandwidth_rule``,
        ``kernel``, ``cell_m`` and the incident counts.
    """
    if bandwidth_m is not None and not (bandwidth_m > 0):
        raise InputError(f"bandwidth {bandwidth_m!r} m; expected a number of metres > 0")
    crs = common_crs(incidents)
    sa = as_study_area(study_area, crs)
    sel = select_incidents(incidents, period, categories)
    geoms = sel.geometry
    located = located_mask(geoms)
    area_series = gpd.GeoSeries([sa.geometry], crs=crs)
    metric = metric_crs_for(geoms[located], area_series)
    area_m = area_series.to_crs(metric).iloc[0]
    x, y = metric_xy(geoms[located], metric)
    if bandwidth_m is None and evaluated is not None:
        h, rule = float(evaluated.bandwidth_m), evaluated.rule
    elif bandwidth_m is None:
        h = scott_bandwidth(x, y)
        rule = "Scott's rule (2-D): sqrt((var x + var y)/2) * n^(-1/6)"
    else:
        h = float(bandwidth_m)
        rule = "given by the user"
    cells, rows, cols, x0, y0, n_cols = square_grid(area_m, float(cell_m))
    smooth = binned_gaussian(x, y, rows, cols, (x0, y0), n_cols, float(cell_m), h)
    per_km2 = smooth / (cell_m * cell_m / 1e6)
    clipped = shapely.intersection(cells, area_m)
    out = gpd.GeoDataFrame(
        {"row": rows, "col": cols, "density_per_km2": per_km2},
        geometry=clipped,
        crs=metric,
    ).to_crs(STORAGE_CRS)
    out.attrs["ctxmap"] = {
        "bandwidth_m": h,
        "bandwidth_rule": rule,
        "kernel": "Gaussian (standard deviation = bandwidth), binned on the grid",
        "cell_m": float(cell_m),
        "unit": "incidents per km²",
        "study_area": sa.description,
        "incidents_used": len(x),
        "incidents_unlocated": int((~located).sum()),
        "metric_crs": metric,
    }
    return out
