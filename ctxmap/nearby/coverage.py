"""Coverage: how far each home is from protective places, and which areas are within reach.

For every home: the walk to the nearest (open) safe place and to the nearest youth
centre, and whether the home is a *gap* (no open safe place within the threshold). And an
isochrone-like layer: the parts of the area within that walk of any open safe place.
With a street network distances come from ONE multi-source Dijkstra run per layer;
without one they are estimates (straight line × detour at a walking speed), and the
``basis`` column says which.
"""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ctxmap.errors import InputError
from ctxmap.layers.conform import column_or_none
from ctxmap.layers.schemas import STORAGE_CRS
from ctxmap.nearby.hours import open_state
from ctxmap.nearby.nearest import metric_crs, metric_xy, place_ids
from ctxmap.nearby.network import WalkNetwork
from ctxmap.nearby.walking import (
    DEFAULT_DETOUR,
    DEFAULT_SPEED_KMH,
    NETWORK_BASIS,
    estimate_basis,
    metres_per_minute,
    reachable_area,
    walk_to_nearest,
)

#: Default walking-time threshold, minutes.
DEFAULT_MINUTES: float = 15.0

#: Columns of :func:`home_coverage`.
COVERAGE_COLUMNS: tuple[str, ...] = (
    "home_id",
    "name",
    "safe_place_id",
    "safe_place_name",
    "safe_walk_min",
    "youth_centre_id",
    "youth_centre_name",
    "youth_walk_min",
    "gap",
    "youth_gap",
    "basis",
    "open_at",
)


def open_places(places: gpd.GeoDataFrame, when: dt.datetime | None) -> gpd.GeoDataFrame:
    """Return the places open at ``when`` (a copy); all places when ``when`` is ``None``.

    Places with unknown or unparseable hours are never open.
    """
    if when is None:
        return places.copy()
    states = np.asarray([open_state(h, when) for h in column_or_none(places, "opening_hours")])
    return places[states == "open"].copy()


def _nearest_walk(
    targets_xy: tuple[np.ndarray, np.ndarray],
    sources: gpd.GeoDataFrame,
    crs: str,
    network: WalkNetwork | None,
    detour: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Walk metres from each target to its nearest source and that source's position (-1)."""
    tx, ty = targets_xy
    n = tx.size
    sx, sy, ok = metric_xy(sources, crs)
    pos = np.flatnonzero(ok)
    if pos.size == 0 or n == 0:
        return np.full(n, np.inf), np.full(n, -1, dtype=np.int64)
    sx, sy = sx[pos], sy[pos]
    if network is not None:
        walk, chosen = walk_to_nearest(network, sx, sy, tx, ty)
        return walk, np.where(chosen >= 0, pos[np.maximum(chosen, 0)], -1)
    from scipy.spatial import cKDTree

    q = min(2, sx.size)
    dist, idx = cKDTree(np.column_stack([sx, sy])).query(np.column_stack([tx, ty]), k=q)
    dist = np.asarray(dist).reshape(n, q)
    idx = np.asarray(idx).reshape(n, q)
    best, first = dist[:, 0], idx[:, 0].copy()
    # Equal distances: the lowest place id wins, as in ctxmap.nearby.nearest.nearest_k.
    ids = place_ids(sources)[pos].astype(str)
    maybe_tied = (np.flatnonzero(dist[:, -1] <= best * (1 + 1e-12) + 1e-9) if q > 1
                  else np.zeros(0, dtype=np.int64))
    for i in maybe_tied:
        d_all = np.hypot(sx - tx[i], sy - ty[i])
        tied = np.flatnonzero(d_all <= best[i] * (1 + 1e-12) + 1e-9)
        first[i] = tied[np.argsort(ids[tied], kind="stable")[0]]
    return best * detour, pos[first]


def home_coverage(
    homes: gpd.GeoDataFrame,
    safe_places: gpd.GeoDataFrame,
    youth_centres: gpd.GeoDataFrame,
    *,
    minutes: float = DEFAULT_MINUTES,
    when: dt.datetime | None = None,
    network: WalkNetwork | None = None,
    speed_kmh: float = DEFAULT_SPEED_KMH,
    detour: float = DEFAULT_DETOUR,
) -> pd.DataFrame:
    """Return, for every home, the walk to the nearest open safe place and youth centre.

    Parameters
    ----------
    homes, safe_places, youth_centres
        Layers in the same CRS. Rows without a location never count as nearest; a home
        without one gets empty distances and ``gap`` = NA.
    minutes
        Threshold: a home with no (open) safe place within this walk is a ``gap``; one
        with no youth centre within it has ``youth_gap``.
    when
        Only safe places open at this moment count (unknown hours never do); ``None``
        counts every safe place whatever its hours. Youth centres are not filtered.
    network
        A walking network; without one walks are estimates (``basis`` says which).
    speed_kmh, detour
        Walking speed and the no-network detour factor.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`COVERAGE_COLUMNS`, indexed like ``homes``. Walk times are minutes,
        NaN when nothing is reachable.

    Raises
    ------
    InputError
        If the layers' CRSs differ or ``minutes`` is not positive.
    """
    if not minutes > 0:
        raise InputError(f"minutes must be a positive number; got {minutes!r}")
    crss = {g.crs for g in (homes, safe_places, youth_centres) if len(g)}
    if any(c is None for c in crss) or len(crss) > 1:
        raise InputError(
            "homes, safe places and youth centres must share one CRS; got "
            + ", ".join(sorted(str(c) for c in crss))
        )
    per_min = metres_per_minute(speed_kmh)
    basis = NETWORK_BASIS if network is not None else estimate_basis(detour, speed_kmh)
    safe = open_places(safe_places, when)
    hx = np.full(len(homes), np.nan)
    hy = np.full(len(homes), np.nan)
    h_ok = np.zeros(len(homes), dtype=bool)
    out = pd.DataFrame(index=homes.index)
    out["home_id"] = place_ids(homes)
    out["name"] = column_or_none(homes, "name").to_numpy()
    crs = "EPSG:27700"
    if len(homes) and homes.geometry.notna().any():
        crs = network.crs if network is not None else metric_crs(homes)
        hx, hy, h_ok = metric_xy(homes, crs)
    for prefix, layer in (("safe", safe), ("youth", youth_centres)):
        col_id = "safe_place" if prefix == "safe" else "youth_centre"
        ids = np.full(len(homes), None, dtype=object)
        names = np.full(len(homes), None, dtype=object)
        walk_min = np.full(len(homes), np.nan)
        if h_ok.any() and len(layer):
            walk, chosen = _nearest_walk((hx[h_ok], hy[h_ok]), layer, crs, network, detour)
            got = chosen >= 0
            rows = np.flatnonzero(h_ok)[got]
            ids[rows] = place_ids(layer)[chosen[got]]
            names[rows] = column_or_none(layer, "name").to_numpy()[chosen[got]]
            walk_min[rows] = walk[got] / per_min
        out[f"{col_id}_id"] = ids
        out[f"{col_id}_name"] = names
        out[f"{prefix}_walk_min"] = walk_min
    threshold = float(minutes)
    for flag, col in (("gap", "safe_walk_min"), ("youth_gap", "youth_walk_min")):
        values = out[col].to_numpy()
        out[flag] = pd.array(
            [None if not ok else not (v <= threshold) for ok, v in zip(h_ok, values, strict=True)],
            dtype="boolean",
        )
    out["basis"] = basis
    out["open_at"] = (
        when.isoformat(sep=" ", timespec="minutes")
        if when is not None
        else "any time (hours not checked)"
    )
    return out[list(COVERAGE_COLUMNS)]


def coverage_area(
    safe_places: gpd.GeoDataFrame,
    *,
    minutes: float = DEFAULT_MINUTES,
    when: dt.datetime | None = None,
    network: WalkNetwork | None = None,
    speed_kmh: float = DEFAULT_SPEED_KMH,
    detour: float = DEFAULT_DETOUR,
    buffer_m: float = 25.0,
) -> gpd.GeoDataFrame:
    """Return the area within ``minutes`` walk of any (open) safe place, as one polygon row.

    With a network: the reachable parts of streets, buffered by ``buffer_m`` metres.
    Without: a circle around each place of radius speed × minutes / detour.

    Returns
    -------
    geopandas.GeoDataFrame
        One row in EPSG:4326 with ``minutes``, ``places`` (how many places counted),
        ``basis`` and the (Multi)Polygon geometry (empty when no place counts).
    """
    if not minutes > 0:
        raise InputError(f"minutes must be a positive number; got {minutes!r}")
    safe = open_places(safe_places, when)
    budget = metres_per_minute(speed_kmh) * float(minutes)
    if network is not None:
        crs = network.crs
        basis = NETWORK_BASIS
    else:
        basis = estimate_basis(detour, speed_kmh)
        crs = metric_crs(safe) if safe.geometry.notna().any() else "EPSG:27700"
    sx, sy, ok = metric_xy(safe, crs)
    sx, sy = sx[ok], sy[ok]
    if network is not None:
        geom = reachable_area(network, sx, sy, budget, buffer_m=buffer_m)
    elif sx.size:
        geom = shapely.union_all(shapely.buffer(shapely.points(sx, sy), budget / detour))
    else:
        geom = shapely.Polygon()
    frame = gpd.GeoDataFrame(
        {"minutes": [float(minutes)], "places": [int(sx.size)], "basis": [basis]},
        geometry=[geom],
        crs=crs,
    )
    return frame.to_crs(STORAGE_CRS)
