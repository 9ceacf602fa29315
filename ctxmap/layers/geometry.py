"""Geometry helpers every package shares: which rows are located, and grid cells.

One definition each, so that "located" and "the cell a point falls in" mean the same
on the map, in the analyses and in the privacy masks.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

from ctxmap.errors import InputError


def located_mask(data: gpd.GeoDataFrame | gpd.GeoSeries | np.ndarray) -> np.ndarray:
    """True for rows with a geometry that is present and not empty (no copy of the frame).

    Parameters
    ----------
    data
        A GeoDataFrame (its active geometry), a GeoSeries or an array of shapely
        geometries (``None`` allowed).

    Returns
    -------
    numpy.ndarray
        A boolean array, one value per row.
    """
    if isinstance(data, gpd.GeoDataFrame):
        geoms = data.geometry.to_numpy()
    elif isinstance(data, gpd.GeoSeries):
        geoms = data.to_numpy()
    else:
        geoms = np.asarray(data, dtype=object)
    return np.asarray(~(shapely.is_missing(geoms) | shapely.is_empty(geoms)), dtype=bool)


def grid_cells(
    x: np.ndarray | float,
    y: np.ndarray | float,
    cell_m: float,
    origin: tuple[float, float] = (0.0, 0.0),
) -> tuple[np.ndarray, np.ndarray]:
    """Return the (column, row) of the square grid cell each metric point falls in.

    Cell ``(i, j)`` spans ``[x0 + i*cell_m, x0 + (i+1)*cell_m)`` by the same in y, with
    ``(x0, y0) = origin``. With the default origin (the CRS's own 0, 0) a cell is the
    same whatever data it is computed from, which the privacy masks rely on.

    Raises
    ------
    InputError
        If ``cell_m`` is not a number > 0.
    """
    if not (cell_m > 0):
        raise InputError(f"cell size {cell_m!r} m; expected a number of metres > 0")
    ix = np.floor((np.asarray(x, dtype=float) - origin[0]) / cell_m).astype(np.int64)
    iy = np.floor((np.asarray(y, dtype=float) - origin[1]) / cell_m).astype(np.int64)
    return ix, iy
