"""Count incidents within a radius of places: spatial-index joins and clipped circles.

Distances are in a metric CRS; a point exactly on the circle counts (``<= radius``,
as GEOS ``dwithin``).
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator

import geopandas as gpd
import numpy as np
import shapely
from scipy.spatial import cKDTree
from shapely.geometry.base import BaseGeometry

#: Places per spatial-index query (and per thread).
_CHUNK = 512
#: Threads a KD-tree count uses.
_WORKERS = max(1, min(4, os.cpu_count() or 1))


def points_xy(geoms: gpd.GeoSeries) -> tuple[np.ndarray, np.ndarray]:
    """Return the x and y of each point of ``geoms`` as float arrays."""
    arr = geoms.to_numpy()
    return shapely.get_x(arr).astype(float), shapely.get_y(arr).astype(float)


def _pairs_in_chunk(
    tree: shapely.STRtree,
    ix: np.ndarray,
    iy: np.ndarray,
    cx: np.ndarray,
    cy: np.ndarray,
    r: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Positions ``(into cx/cy, into ix/iy)`` of the pairs with ``sqrt(dx² + dy²) <= r``.

    ``tree`` indexes the points ``(ix, iy)``; it is queried with the circles' bounding boxes.
    """
    a, b = tree.query(shapely.box(cx - r, cy - r, cx + r, cy + r))
    dx = ix[b] - cx[a]
    dy = iy[b] - cy[a]
    keep = np.sqrt(dx * dx + dy * dy) <= r
    return a[keep], b[keep]


def pairs_within(
    px: np.ndarray,
    py: np.ndarray,
    ix: np.ndarray,
    iy: np.ndarray,
    radius: float,
    chunk: int = _CHUNK,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield ``(place_positions, incident_positions)`` of every pair within ``radius``.

    Uses a spatial index (shapely ``STRtree``, as ``GeoDataFrame.sindex``) over the
    incidents: each chunk of places queries the index with its circles' bounding boxes,
    then keeps pairs with ``sqrt(dx² + dy²) <= radius`` — the same test as GEOS
    ``dwithin``, so points exactly on the circle count. Coordinates must be metric.

    Yields
    ------
    tuple of numpy.ndarray
        Positions into ``px``/``py`` and into ``ix``/``iy`` (one chunk of places at a time).
    """
    px, py, ix, iy = (np.asarray(a, dtype=float) for a in (px, py, ix, iy))
    if len(px) == 0 or len(ix) == 0:
        return
    tree = shapely.STRtree(shapely.points(ix, iy))
    r = float(radius)
    for start in range(0, len(px), chunk):
        sl = slice(start, start + chunk)
        a, b = _pairs_in_chunk(tree, ix, iy, px[sl], py[sl], r)
        yield a + start, b


def count_within(
    px: np.ndarray,
    py: np.ndarray,
    ix: np.ndarray,
    iy: np.ndarray,
    codes: np.ndarray,
    n_codes: int,
    radius: float,
) -> np.ndarray:
    """Count incidents within ``radius`` of each place, by code (e.g. category), without pairs.

    One KD-tree (``scipy.spatial.cKDTree``) per code over that code's incidents, queried with
    ``query_ball_point(..., return_length=True)``: the tree returns each place's count, and
    whole subtrees inside the circle are counted without visiting their points, so no
    place–incident pair is ever materialised (memory stays ``O(places + incidents)``).
    A point exactly on the circle counts (squared distance ``<= radius²``), as GEOS
    ``dwithin``.

    Parameters
    ----------
    px, py
        Place coordinates (metric CRS).
    ix, iy
        Incident coordinates (same CRS); every one must be located.
    codes
        Code 0..n_codes-1 of each incident (codes < 0 are not counted).
    n_codes
        Number of codes.
    radius
        Radius in CRS units (metres); distance ``<= radius`` counts.

    Returns
    -------
    numpy.ndarray
        ``(len(px), n_codes)`` integer counts.
    """
    n_places = len(px)
    out = np.zeros((n_places, n_codes), dtype=np.int64)
    if n_places == 0 or len(ix) == 0 or n_codes == 0:
        return out
    ixy = np.column_stack([np.asarray(ix, float), np.asarray(iy, float)])
    pxy = np.column_stack([np.asarray(px, float), np.asarray(py, float)])
    cc = np.asarray(codes, dtype=np.int64)
    order = np.argsort(cc, kind="stable")
    bounds = np.searchsorted(cc[order], np.arange(n_codes + 1))
    for code in range(n_codes):
        members = order[bounds[code]:bounds[code + 1]]
        if len(members) == 0:
            continue
        tree = cKDTree(ixy[members], balanced_tree=False, compact_nodes=False)
        out[:, code] = tree.query_ball_point(pxy, float(radius), return_length=True,
                                             workers=_WORKERS)
    return out


def count_total_within(
    px: np.ndarray, py: np.ndarray, ix: np.ndarray, iy: np.ndarray, radius: float
) -> np.ndarray:
    """Count all the points ``(ix, iy)`` within ``radius`` of each place (one KD-tree, no pairs)."""
    return count_within(px, py, ix, iy, np.zeros(len(ix), dtype=np.int64), 1, radius)[:, 0]


def clipped_circle_km2(
    px: np.ndarray, py: np.ndarray, radius: float, area: BaseGeometry
) -> np.ndarray:
    """Return the area (km²) of each circle of ``radius`` clipped to ``area`` (metric CRS).

    The exact circle area ``pi r²`` times the fraction of a 64-sided polygon circle that
    lies inside ``area`` (computed vectorised with ``shapely.intersection``).
    """
    full = math.pi * radius * radius / 1e6
    if len(px) == 0:
        return np.zeros(0)
    circles = shapely.buffer(shapely.points(px, py), radius, quad_segs=16)
    shapely.prepare(area)
    inside = shapely.contains(area, circles)
    frac = np.ones(len(px))
    edge = ~inside
    if edge.any():
        cut = shapely.intersection(circles[edge], area)
        frac[edge] = shapely.area(cut) / shapely.area(circles[edge])
    return full * frac
