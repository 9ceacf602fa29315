"""Privacy masks for shared views: hide where sensitive places are, and small counts.

A meeting view or a partner export must never show a home as a point, nor a count
small enough to point at one young person. The masks here are deterministic (the same
input always gives the same output), so refreshing a view or re-running an export
cannot be averaged out to recover a true location. See ``docs/privacy.md``.

- :func:`mask_points_to_cells` / :func:`mask_points_to_areas`: a point becomes the
  grid cell or area (e.g. LSOA) it lies in.
- :func:`donut_mask`: a point moves a secret-keyed, per-record distance and direction.
- :func:`aggregate_to_grid` / :func:`suppress_small_counts`: counts per cell with
  small counts suppressed or rounded, the way official statistics are published.
- :func:`strip_names`: drop free-text columns that are not marked shareable.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from typing import Final, Literal, TypeVar

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely import box

from ctxmap.errors import InputError
from ctxmap.layers.crs import analysis_crs
from ctxmap.layers.geometry import grid_cells, located_mask
from ctxmap.layers.schemas import STORAGE_CRS

#: Default grid cell size for masking points and aggregating counts, in metres.
DEFAULT_CELL_M: Final = 250.0
#: Default small-count threshold: counts 1 to 4 are never shown.
DEFAULT_THRESHOLD: Final = 5
#: Default donut: a masked point lies 200 m to 500 m from the true one.
DEFAULT_DONUT_MIN_M: Final = 200.0
DEFAULT_DONUT_MAX_M: Final = 500.0

#: Text columns that may be shared by default: classifications and codes, never names,
#: addresses, notes, locations, ids or sources (any of which a person may have typed).
SHAREABLE_TEXT_COLUMNS: Final[tuple[str, ...]] = (
    "category", "month", "date", "level", "location_precision", "lsoa_code", "layer",
    "cell_id", "area_id",
)

SuppressMode = Literal["suppress", "round"]
_Frame = TypeVar("_Frame", bound=pd.DataFrame)


# --- helpers ------------------------------------------------------------------------------


def _check_points(gdf: gpd.GeoDataFrame, what: str) -> None:
    """Raise InputError unless ``gdf`` has a CRS and only Point (or null/empty) geometries."""
    if not isinstance(gdf, gpd.GeoDataFrame):
        raise InputError(f"{what}: expected a GeoDataFrame, got {type(gdf).__name__}")
    if gdf.crs is None:
        raise InputError(f"{what}: the layer has no CRS; expected one (e.g. EPSG:4326)")
    kinds = set(gdf.geometry[located_mask(gdf)].geom_type)
    if kinds - {"Point"}:
        raise InputError(
            f"{what}: expected Point geometries, got {', '.join(sorted(kinds - {'Point'}))}"
        )


def _with_geometry(frame: gpd.GeoDataFrame, geoms: gpd.GeoSeries) -> gpd.GeoDataFrame:
    """Return a copy of ``frame`` whose active geometry is ``geoms`` (in EPSG:4326).

    The geometry column keeps its name and place; any *other* geometry column is
    dropped, since it could still show the true location.
    """
    name = frame.geometry.name
    others = [c for c in frame.columns
              if c != name and isinstance(frame[c].dtype, gpd.array.GeometryDtype)]
    data = pd.DataFrame(frame.drop(columns=[name, *others])).copy()
    data[name] = gpd.GeoSeries(geoms.to_crs(STORAGE_CRS).array, index=frame.index)
    order = [c for c in frame.columns if c not in others] + [
        c for c in data.columns if c not in frame.columns
    ]
    return gpd.GeoDataFrame(data[order], geometry=name, crs=STORAGE_CRS)


def _metric_crs(gdf: gpd.GeoDataFrame, crs: str | None) -> str | None:
    """The metric CRS to work in, or None when there is nothing located to choose from."""
    if crs is not None:
        return crs
    if not located_mask(gdf).any():
        return None
    return analysis_crs(gdf)


def _check_positive(value: float, name: str) -> float:
    number = float(value)
    if not math.isfinite(number) or number <= 0:
        raise InputError(f"{name} must be a positive number of metres, got {value!r}")
    return number


def _cells(metric: gpd.GeoSeries, cell_m: float) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """The located rows of metric points and the grid cell (i, j) of each located one.

    The grid is :func:`ctxmap.layers.geometry.grid_cells` anchored at the CRS origin, so a
    cell is the same whatever data is masked with it.
    """
    located = located_mask(metric)
    points = metric.array[located]
    i, j = grid_cells(shapely.get_x(points), shapely.get_y(points), cell_m)
    return located, list(zip(i.tolist(), j.tolist(), strict=True))


def cell_id(i: int, j: int, cell_m: float) -> str:
    """Return the text id of grid cell (i, j), e.g. ``"250m:2481:1237"``."""
    return f"{cell_m:g}m:{i}:{j}"


# --- masking points -------------------------------------------------------------------------


def mask_points_to_cells(
    gdf: gpd.GeoDataFrame, cell_m: float = DEFAULT_CELL_M, crs: str | None = None
) -> gpd.GeoDataFrame:
    """Replace each point by the square grid cell it lies in.

    Parameters
    ----------
    gdf
        Points (e.g. homes) with a CRS. Null geometries stay null.
    cell_m
        Cell side in metres.
    crs
        Metric CRS whose grid is used; default :func:`ctxmap.layers.crs.analysis_crs`
        (British National Grid in Great Britain). Pass it explicitly to keep the
        grid fixed whatever subset of data is masked.

    Returns
    -------
    GeoDataFrame
        A copy with the same index and columns, polygons instead of points, and a
        ``cell_id`` column; in EPSG:4326 (other geometry columns are dropped).
        Re-projected to ``crs``, each polygon is the grid cell (corners exact to
        reprojection precision, under 1 cm).

    Raises
    ------
    InputError
        If ``gdf`` has no CRS or non-point geometries, or ``cell_m`` is not positive.
    """
    _check_points(gdf, "mask_points_to_cells")
    size = _check_positive(cell_m, "cell_m")
    out = gdf.copy()
    metric_crs = _metric_crs(gdf, crs)
    ids: list[str | None] = [None] * len(gdf)
    cells: list[object] = [None] * len(gdf)
    if metric_crs is not None:
        located, keys = _cells(gdf.geometry.to_crs(metric_crs), size)
        for pos, (i, j) in zip(np.flatnonzero(located), keys, strict=True):
            ids[pos] = cell_id(i, j, size)
            cells[pos] = box(i * size, j * size, (i + 1) * size, (j + 1) * size)
    masked = gpd.GeoSeries(cells, index=gdf.index, crs=metric_crs or gdf.crs)
    out["cell_id"] = pd.Series(ids, index=gdf.index, dtype=object)
    return _with_geometry(out, masked)


def mask_points_to_areas(
    gdf: gpd.GeoDataFrame, areas: gpd.GeoDataFrame, area_id_column: str = "id"
) -> gpd.GeoDataFrame:
    """Replace each point by the polygon of the area (e.g. LSOA) it lies in.

    Parameters
    ----------
    gdf
        Points with a CRS. Null geometries stay null.
    areas
        Area polygons in the same CRS as ``gdf`` (no silent reprojection), with an
        ``area_id_column``.
    area_id_column
        Column of ``areas`` holding the area code.

    Returns
    -------
    GeoDataFrame
        A copy of ``gdf`` (same index and columns) whose geometry is the containing
        area's polygon, plus an ``area_id`` column; in EPSG:4326. A point on a shared
        boundary goes to the area with the smallest id; a point outside every area
        gets a null geometry and ``area_id`` None (it is never left as a point).

    Raises
    ------
    InputError
        If either layer has no CRS, the CRSs differ, ``gdf`` is not points, or the
        id column is missing.
    """
    _check_points(gdf, "mask_points_to_areas")
    if areas.crs is None:
        raise InputError("mask_points_to_areas: the areas have no CRS; expected one")
    if gdf.crs != areas.crs:
        raise InputError(
            f"mask_points_to_areas: points are in {gdf.crs.to_string()} but areas in "
            f"{areas.crs.to_string()}; expected the same CRS (reproject one with to_crs)"
        )
    if area_id_column not in areas.columns:
        raise InputError(
            f"mask_points_to_areas: the areas have no {area_id_column!r} column "
            f"(columns: {', '.join(map(str, areas.columns))})"
        )
    points = gpd.GeoDataFrame(
        {"_pos": np.arange(len(gdf))}, geometry=gdf.geometry.array, crs=gdf.crs
    )
    points = points[located_mask(gdf)]
    polys = gpd.GeoDataFrame(
        {"_area_id": areas[area_id_column].astype(object).to_numpy()},
        geometry=areas.geometry.array,
        crs=areas.crs,
    )
    joined = gpd.sjoin(points, polys, how="inner", predicate="intersects")
    joined = joined.sort_values(["_pos", "_area_id"]).drop_duplicates("_pos")
    ids: list[object] = [None] * len(gdf)
    shapes: list[object] = [None] * len(gdf)
    for pos, right, area in zip(
        joined["_pos"], joined["index_right"], joined["_area_id"], strict=True
    ):
        ids[pos] = area
        shapes[pos] = polys.geometry.iloc[right]
    out = gdf.copy()
    out["area_id"] = pd.Series(ids, index=gdf.index, dtype=object)
    return _with_geometry(out, gpd.GeoSeries(shapes, index=gdf.index, crs=gdf.crs))


def _key_bytes(key: str | bytes) -> bytes:
    if isinstance(key, str):
        key = key.encode("utf-8")
    if not isinstance(key, bytes) or not key:
        raise InputError("donut_mask: expected a non-empty secret key (str or bytes)")
    return key


def donut_offset(
    record_id: str, key: str | bytes, min_m: float, max_m: float
) -> tuple[float, float]:
    """Return the (dx, dy) displacement in metres of one record.

    Derived from HMAC-SHA256(key, record_id): the first 8 bytes give the direction
    (uniform on the circle), the next 8 the distance, drawn so that displaced points
    are uniform over the ring's area; the distance is in ``[min_m, max_m]``.
    """
    digest = hmac.new(_key_bytes(key), str(record_id).encode("utf-8"), hashlib.sha256).digest()
    u_angle = int.from_bytes(digest[:8], "big") / 2.0**64
    u_radius = int.from_bytes(digest[8:16], "big") / 2.0**64
    radius = math.sqrt(min_m**2 + u_radius * (max_m**2 - min_m**2))
    radius = min(max(radius, min_m), max_m)
    angle = 2.0 * math.pi * u_angle
    return radius * math.cos(angle), radius * math.sin(angle)


def donut_mask(
    gdf: gpd.GeoDataFrame,
    min_m: float,
    max_m: float,
    key: str | bytes,
    *,
    id_column: str = "id",
    crs: str | None = None,
) -> gpd.GeoDataFrame:
    """Displace each point by a secret, per-record distance in ``[min_m, max_m]``.

    The displacement of a record depends only on its id and ``key`` (see
    :func:`donut_offset`), so the same record always lands on the same masked
    point: refreshing a view or exporting again gives nothing new to average.
    Keep ``key`` secret (out of the repository); whoever has it and the ids can
    undo the mask.

    Parameters
    ----------
    gdf
        Points with a CRS and an id column. Null geometries stay null.
    min_m, max_m
        Smallest and largest displacement in metres, ``0 <= min_m <= max_m``.
    key
        Secret salt for the HMAC (str or bytes, not empty).
    id_column
        Column holding each record's stable id (must be filled for located rows).
    crs
        Metric CRS to displace in; default :func:`ctxmap.layers.crs.analysis_crs`.

    Returns
    -------
    GeoDataFrame
        A copy with the same index and columns and displaced points, in EPSG:4326
        (other geometry columns are dropped).
        Measured in ``crs``, each displacement is within ``[min_m, max_m]`` (up to
        reprojection precision, under 1 cm).

    Raises
    ------
    InputError
        On a missing CRS, non-point geometry, bad distances, an empty key, or a
        missing id column or id.
    """
    _check_points(gdf, "donut_mask")
    lo, hi = float(min_m), float(max_m)
    if not (math.isfinite(lo) and math.isfinite(hi)) or lo < 0 or hi < lo:
        raise InputError(
            f"donut_mask: expected 0 <= min_m <= max_m (metres), got min_m={min_m!r}, "
            f"max_m={max_m!r}"
        )
    secret = _key_bytes(key)
    if id_column not in gdf.columns:
        raise InputError(
            f"donut_mask: no {id_column!r} column to seed the mask with "
            f"(columns: {', '.join(map(str, gdf.columns))})"
        )
    located = located_mask(gdf)
    ids = gdf[id_column].to_numpy(dtype=object)
    missing = [str(gdf.index[p]) for p in np.flatnonzero(located) if pd.isna(ids[p])]
    if missing:
        raise InputError(
            f"donut_mask: {len(missing)} located row(s) have no {id_column!r} "
            f"(index {', '.join(missing[:5])}); expected a stable id for every record"
        )
    out = gdf.copy()
    metric_crs = _metric_crs(gdf, crs)
    if metric_crs is None:
        return _with_geometry(out, out.geometry)
    metric = gdf.geometry.to_crs(metric_crs)
    moved: list[object] = []
    for pos, geom in enumerate(metric.array):
        if not located[pos]:
            moved.append(None)
            continue
        dx, dy = donut_offset(str(ids[pos]), secret, lo, hi)
        moved.append(type(geom)(geom.x + dx, geom.y + dy))
    return _with_geometry(out, gpd.GeoSeries(moved, index=gdf.index, crs=metric_crs))


# --- counts -----------------------------------------------------------------------------------


def suppress_small_counts(
    counts: pd.Series, threshold: int = DEFAULT_THRESHOLD, mode: SuppressMode = "suppress"
) -> pd.Series:
    """Make sure no count between 1 and ``threshold - 1`` is shown.

    Parameters
    ----------
    counts
        Non-negative whole numbers (missing values stay missing).
    threshold
        Smallest count that may be shown (>= 1; 1 changes nothing).
    mode
        ``"suppress"``: counts 1..threshold-1 become missing (``<NA>``), others are
        kept. ``"round"``: every count is rounded to the nearest multiple of
        ``threshold`` (halves up), so 1 and 2 show as 0 and 3 and 4 as 5 when the
        threshold is 5.

    Returns
    -------
    Series
        Nullable ``Int64``, same index and name.

    Raises
    ------
    InputError
        On negative or fractional counts, a threshold below 1, or an unknown mode.
    """
    if isinstance(threshold, bool) or not isinstance(threshold, int | np.integer):
        raise InputError(f"threshold must be a whole number >= 1, got {threshold!r}")
    if threshold < 1:
        raise InputError(f"threshold must be a whole number >= 1, got {threshold!r}")
    if mode not in ("suppress", "round"):
        raise InputError(f"mode must be 'suppress' or 'round', got {mode!r}")
    try:
        values = pd.to_numeric(counts, errors="raise")
    except (TypeError, ValueError) as exc:
        raise InputError(f"counts must be numbers: {exc}") from None
    present = values.dropna()
    if ((present < 0) | (present != np.floor(present))).any():
        bad = present[(present < 0) | (present != np.floor(present))]
        raise InputError(
            f"counts must be non-negative whole numbers, got {bad.iloc[0]!r} "
            f"(index {bad.index[0]!r})"
        )
    result = values.astype("Int64")
    t = int(threshold)
    if mode == "suppress":
        small = (result >= 1) & (result < t)
        return result.mask(small.fillna(False), pd.NA)
    return ((2 * result + t) // (2 * t)) * t


def aggregate_to_grid(
    incidents: gpd.GeoDataFrame,
    cell_m: float = DEFAULT_CELL_M,
    threshold: int = DEFAULT_THRESHOLD,
    crs: str | None = None,
    mode: SuppressMode = "suppress",
) -> gpd.GeoDataFrame:
    """Count incidents per grid cell, with small counts suppressed.

    Parameters
    ----------
    incidents
        Incident points with a CRS; rows with no location are counted in
        ``attrs["unmapped"]`` but never placed in a cell.
    cell_m
        Cell side in metres (grid anchored at the CRS origin, as in
        :func:`mask_points_to_cells`).
    threshold, mode
        Passed to :func:`suppress_small_counts`.
    crs
        Metric CRS of the grid; default :func:`ctxmap.layers.crs.analysis_crs`.

    Returns
    -------
    GeoDataFrame
        One row per cell holding at least one incident, sorted by cell: ``cell_id``,
        ``count`` (``Int64``; ``<NA>`` when suppressed), ``suppressed`` (bool) and the
        cell polygon, in EPSG:4326. ``attrs``: ``total`` (all rows), ``mapped``,
        ``unmapped``, ``threshold``, ``cell_m``.
    """
    _check_points(incidents, "aggregate_to_grid")
    size = _check_positive(cell_m, "cell_m")
    located = located_mask(incidents)
    metric_crs = _metric_crs(incidents, crs)
    tally: dict[tuple[int, int], int] = {}
    if metric_crs is not None:
        for key in _cells(incidents.geometry.to_crs(metric_crs), size)[1]:
            tally[key] = tally.get(key, 0) + 1
    keys = sorted(tally)
    raw = pd.Series([tally[k] for k in keys], dtype="Int64")
    shown = suppress_small_counts(raw, threshold, mode)
    suppressed = (shown.isna() & raw.notna()).to_numpy(dtype=bool)
    polys = [box(i * size, j * size, (i + 1) * size, (j + 1) * size) for i, j in keys]
    grid = gpd.GeoDataFrame(
        {
            "cell_id": pd.Series([cell_id(i, j, size) for i, j in keys], dtype=object),
            "count": shown,
            "suppressed": suppressed,
        },
        geometry=gpd.GeoSeries(polys, crs=metric_crs or incidents.crs).array,
        crs=metric_crs or incidents.crs,
    ).to_crs(STORAGE_CRS)
    grid.attrs.update(
        {
            "total": len(incidents),
            "mapped": int(located.sum()),
            "unmapped": int((~located).sum()),
            "threshold": int(threshold),
            "cell_m": size,
        }
    )
    return grid


# --- text ---------------------------------------------------------------------------------------


def _is_text(series: pd.Series) -> bool:
    dtype = series.dtype
    return (
        pd.api.types.is_object_dtype(dtype)
        or pd.api.types.is_string_dtype(dtype)
        or isinstance(dtype, pd.CategoricalDtype)
    )


def strip_names(
    df: _Frame, allowed_text_columns: tuple[str, ...] | list[str] = SHAREABLE_TEXT_COLUMNS
) -> _Frame:
    """Drop every free-text column that is not marked shareable.

    Parameters
    ----------
    df
        A DataFrame or GeoDataFrame. Numeric, boolean and date-time columns and the
        active geometry are always kept.
    allowed_text_columns
        Text columns that may be shared (default :data:`SHAREABLE_TEXT_COLUMNS`:
        classifications and codes only). Any other column of text (``object``,
        string or categorical dtype), such as ``name``, ``address``, ``notes``,
        ``location``, ``id`` or ``source``, is dropped.

    Returns
    -------
    DataFrame or GeoDataFrame
        A copy without the dropped columns, same index; ``attrs["dropped_columns"]``
        lists what was dropped.
    """
    geometry_name = df.geometry.name if isinstance(df, gpd.GeoDataFrame) else None
    allowed = set(allowed_text_columns)
    drop = [c for c in df.columns if c != geometry_name and c not in allowed and _is_text(df[c])]
    out = df.drop(columns=drop).copy()
    out.attrs["dropped_columns"] = list(drop)
    return out
