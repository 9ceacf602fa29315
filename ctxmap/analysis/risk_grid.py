"""The grid the risk-terrain model and the evaluation share, and the covariates on it.

Cells are squares of ``cell_m`` metres in the metric analysis CRS, aligned to multiples
of ``cell_m`` (:func:`ctxmap.analysis.hotspots.square_grid`, the cells of
:func:`ctxmap.layers.geometry.grid_cells`), kept where they intersect the study area and
clipped to it; each cell's *area* is its clipped area. A point counts in the cell it falls
in when it lies inside the study area.

Covariates (one column per candidate factor)
--------------------------------------------
* **Proximity** (Risk Terrain Modeling's "proximity" operationalisation): 1 when at least one
  feature of a group lies within ``d`` metres of the cell's centre, else 0, for each
  distance ``d`` tried (default 200 and 400 m).
* **Population**: ``log2(1 + residents per km²)`` of the area the cell's centre falls in
  (areas with a ``population``; the finest level that has figures), so a relative risk is
  "per doubling of population density".
* **Street length**: km of street per km² in the cell, over 10 (a relative risk is "per
  10 km of street per km²"), when street lines are given.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree
from shapely.geometry.base import BaseGeometry

from ctxmap.analysis.areas import StudyArea, metric_crs_for
from ctxmap.analysis.hotspots import square_grid
from ctxmap.analysis.projection import metric_xy
from ctxmap.errors import InputError
from ctxmap.layers.geometry import grid_cells, located_mask
from ctxmap.layers.osm_groups import group_label

#: Distances (metres) at which proximity to each feature group is tried.
DEFAULT_DISTANCES: tuple[float, ...] = (200.0, 400.0)

#: Area levels from finest to coarsest, for population density.
_LEVELS = ("lsoa", "msoa", "ward", "other", "district")


@dataclass(frozen=True)
class CellGrid:
    """Square cells over a study area, clipped to it (metric CRS).

    Attributes
    ----------
    metric_crs
        The CRS of every coordinate here.
    cell_m, x0, y0, n_rows, n_cols
        Cell side, the lower-left corner of the full grid and its size.
    rows, cols
        Row and column of each kept cell.
    cells
        Each kept cell's polygon clipped to the study area.
    area_km2
        Clipped area of each kept cell, km².
    area
        The study area (metric).
    lookup
        ``(n_rows, n_cols)`` array: position of the kept cell, or -1.
    interior
        True for cells wholly inside the study area.
    """

    metric_crs: str
    cell_m: float
    x0: float
    y0: float
    n_rows: int
    n_cols: int
    rows: np.ndarray
    cols: np.ndarray
    cells: np.ndarray
    area_km2: np.ndarray
    area: BaseGeometry
    lookup: np.ndarray
    interior: np.ndarray

    def __len__(self) -> int:
        return len(self.rows)

    def centres(self) -> tuple[np.ndarray, np.ndarray]:
        """The x and y of each kept cell's (unclipped) centre."""
        return (self.x0 + (self.cols + 0.5) * self.cell_m,
                self.y0 + (self.rows + 0.5) * self.cell_m)

    def cell_of(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Position of the kept cell each point falls in, or -1 (outside the study area)."""
        x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
        ix, iy = grid_cells(x, y, self.cell_m, origin=(self.x0, self.y0))
        inside = (ix >= 0) & (ix < self.n_cols) & (iy >= 0) & (iy < self.n_rows)
        out = np.full(len(x), -1, dtype=np.int64)
        out[inside] = self.lookup[iy[inside], ix[inside]]
        edge = out >= 0
        edge[edge] = ~self.interior[out[edge]]
        if edge.any():
            shapely.prepare(self.area)
            outside = ~shapely.contains_xy(self.area, x[edge], y[edge])
            pos = np.flatnonzero(edge)[outside]
            out[pos] = -1
        return out

    def count(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Number of points in each kept cell (points outside the study area are left out)."""
        cell = self.cell_of(x, y)
        return np.bincount(cell[cell >= 0], minlength=len(self)).astype(np.int64)

    def full(self, values: np.ndarray, fill: float = 0.0) -> np.ndarray:
        """Spread per-cell ``values`` onto the full ``(n_rows, n_cols)`` grid."""
        out = np.full((self.n_rows, self.n_cols), fill, dtype=float)
        out[self.rows, self.cols] = values
        return out

    def to_frame(self, columns: dict[str, np.ndarray], crs: str) -> gpd.GeoDataFrame:
        """The clipped cells with ``columns``, reprojected to ``crs``."""
        data = {"row": self.rows, "col": self.cols, "area_km2": self.area_km2, **columns}
        return gpd.GeoDataFrame(data, geometry=self.cells, crs=self.metric_crs).to_crs(crs)


def build_grid(study_area: StudyArea, cell_m: float = 200.0, metric_crs: str | None = None) -> (
    CellGrid
):
    """Make the clipped grid over ``study_area`` in ``metric_crs`` (default: its own choice).

    Raises
    ------
    InputError
        If the study area is empty or the grid too large (see ``square_grid``).
    """
    if study_area.geometry is None or study_area.geometry.is_empty:
        raise InputError("the study area is empty; expected a polygon to put a grid on")
    series = gpd.GeoSeries([study_area.geometry], crs=study_area.crs)
    metric = metric_crs or metric_crs_for(series)
    area = series.to_crs(metric).iloc[0]
    cells, rows, cols, x0, y0, n_cols = square_grid(area, float(cell_m))
    clipped = shapely.intersection(cells, area)
    area_m2 = shapely.area(clipped)
    keep = area_m2 > 0
    cells, rows, cols, clipped, area_m2 = (a[keep] for a in (cells, rows, cols, clipped, area_m2))
    n_rows = int(rows.max()) + 1 if len(rows) else 1
    lookup = np.full((n_rows, n_cols), -1, dtype=np.int64)
    lookup[rows, cols] = np.arange(len(rows))
    interior = np.isclose(area_m2, float(cell_m) ** 2, rtol=1e-9)
    return CellGrid(metric, float(cell_m), x0, y0, n_rows, n_cols, rows, cols, clipped,
                    area_m2 / 1e6, area, lookup, interior)


def metric_points(gdf: gpd.GeoDataFrame | gpd.GeoSeries, crs: str) -> tuple[np.ndarray, np.ndarray]:
    """The x, y (in ``crs``) of the located rows of ``gdf`` (polygons: a point inside)."""
    geoms = gdf.geometry if isinstance(gdf, gpd.GeoDataFrame) else gdf
    geoms = geoms[located_mask(geoms)]
    if len(geoms) == 0:
        return np.zeros(0), np.zeros(0)
    if bool((shapely.get_type_id(geoms.to_numpy()) == 0).all()):
        return metric_xy(geoms, crs)
    pts = geoms.to_crs(crs).to_numpy()
    not_point = shapely.get_type_id(pts) != 0
    if not_point.any():
        pts[not_point] = shapely.point_on_surface(pts[not_point])
    return shapely.get_x(pts).astype(float), shapely.get_y(pts).astype(float)


@dataclass(frozen=True)
class Candidate:
    """One candidate factor: its column of values per cell and how to read its RR."""

    name: str
    label: str
    group: str
    values: np.ndarray


def proximity_candidates(
    grid: CellGrid, features: gpd.GeoDataFrame, distances: tuple[float, ...] = DEFAULT_DISTANCES
) -> list[Candidate]:
    """Binary "within d m of a <group>" candidates, one per group and distance.

    ``features`` has a ``group`` column (see :mod:`ctxmap.layers.osm_groups`); groups
    that put every cell, or none, within ``d`` are not candidates (no contrast).
    """
    out: list[Candidate] = []
    if len(features) == 0:
        return out
    cx, cy = grid.centres()
    located = located_mask(features)
    feats = features[located]
    fx, fy = metric_points(feats, grid.metric_crs)
    groups = feats["group"].astype(str).to_numpy()
    for group in sorted(set(groups.tolist())):
        mine = groups == group
        tree = cKDTree(np.column_stack([fx[mine], fy[mine]]))
        for d in distances:
            near = tree.query_ball_point(np.column_stack([cx, cy]), r=float(d),
                                         return_length=True)
            values = (np.asarray(near) > 0).astype(float)
            if 0 < values.sum() < len(values):
                out.append(Candidate(f"{group}@{d:g}", f"within {d:g} m of "
                                     f"{group_label(group)}", group, values))
    return out


def population_candidate(grid: CellGrid, areas: gpd.GeoDataFrame | None) -> (
    tuple[Candidate | None, str]
):
    """The population-density candidate, and a sentence on where it came from (or why not).

    Uses the finest area level with a population figure for every area of that level.
    """
    if areas is None or len(areas) == 0 or "population" not in areas.columns:
        return None, "no population figures (import areas with a population column or give "\
            "a population table): population not used"
    pop = pd.to_numeric(areas["population"], errors="coerce")
    level = areas["level"].astype(str) if "level" in areas.columns else pd.Series(
        "other", index=areas.index)
    for lvl in _LEVELS:
        chosen = (level == lvl) & pop.notna()
        if chosen.sum() == 0 or pop[level == lvl].isna().any():
            continue
        sub = areas.loc[chosen].to_crs(grid.metric_crs)
        dens = pop[chosen].to_numpy(dtype=float) / (sub.geometry.area.to_numpy() / 1e6)
        cx, cy = grid.centres()
        tree = shapely.STRtree(sub.geometry.to_numpy())
        pt_idx, area_idx = tree.query(shapely.points(cx, cy), predicate="intersects")
        pt_idx, first = np.unique(pt_idx, return_index=True)  # a centre on a border: one area
        area_idx = area_idx[first]
        values = np.full(len(grid), np.nan)
        values[pt_idx] = np.log2(1.0 + dens[area_idx])
        fallback = np.nanmedian(values) if np.isfinite(values).any() else 0.0
        values = np.where(np.isfinite(values), values, fallback)
        note = f"population density of {int(chosen.sum())} {lvl} area(s)"
        return (Candidate("population", "per doubling of residents per km²", "population",
                          values), note)
    return None, "areas have no complete population figures: population not used"


def street_candidate(grid: CellGrid, streets: gpd.GeoDataFrame | None) -> Candidate | None:
    """Street length per cell (km per km², over 10) from street lines, or None."""
    if streets is None or len(streets) == 0:
        return None
    lines = streets.to_crs(grid.metric_crs).geometry.to_numpy()
    tree = shapely.STRtree(lines)
    cell_idx, line_idx = tree.query(grid.cells)
    length = shapely.length(shapely.intersection(grid.cells[cell_idx], lines[line_idx]))
    km = np.bincount(cell_idx, weights=length / 1000.0, minlength=len(grid))
    return Candidate("street_length", "per 10 km of street per km²", "streets",
                     km / grid.area_km2 / 10.0)


def points_in_circles_weights(
    grid: CellGrid, px: np.ndarray, py: np.ndarray, radius: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Area (km²) of each circle ∩ cell (cells are clipped to the study area).

    Returns ``(place_positions, cell_positions, km2)`` for every overlapping pair. Circles
    are 64-sided polygons rescaled to the exact area ``pi r²``.
    """
    if len(px) == 0 or len(grid) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0)
    circles = shapely.buffer(shapely.points(px, py), float(radius), quad_segs=16)
    scale = np.pi * radius * radius / shapely.area(circles[0])
    tree = shapely.STRtree(grid.cells)
    a, b = tree.query(circles, predicate="intersects")
    km2 = shapely.area(shapely.intersection(circles[a], grid.cells[b])) * scale / 1e6
    return a, b, km2
