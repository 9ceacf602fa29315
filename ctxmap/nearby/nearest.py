"""Find the nearest protective places to an origin, with distance, walking time and hours.

Straight-line k-nearest search is vectorised with a KD-tree on metric coordinates. With a
street network (:mod:`ctxmap.nearby.network`) walking distance, time and route come from one
Dijkstra run per origin; without one, walking is an *estimate*: straight line × a
detour factor at a walking speed, and every row says so in ``walk_basis``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer
from scipy.spatial import cKDTree

from ctxmap.errors import InputError
from ctxmap.layers.conform import column_or_none
from ctxmap.layers.crs import analysis_crs
from ctxmap.layers.geometry import located_mask
from ctxmap.layers.schemas import STORAGE_CRS
from ctxmap.nearby.hours import LOCAL_TZ, OpenState, open_state
from ctxmap.nearby.network import WalkNetwork
from ctxmap.nearby.origins import Origin
from ctxmap.nearby.walking import (
    DEFAULT_DETOUR,
    DEFAULT_SPEED_KMH,
    NETWORK_BASIS,
    estimate_basis,
    estimate_walk_m,
    metres_per_minute,
    walk_from,
)

#: Columns of :func:`nearest_k`.
NEAREST_K_COLUMNS: tuple[str, ...] = ("origin", "rank", "place", "place_id", "distance_m")

#: Columns of :func:`nearest_places` (plus ``geometry``: the route, EPSG:4326).
NEAREST_COLUMNS: tuple[str, ...] = (
    "rank",
    "place_id",
    "name",
    "layer",
    "category",
    "address",
    "opening_hours",
    "straight_m",
    "walk_m",
    "walk_min",
    "walk_basis",
    "snap_origin_m",
    "snap_place_m",
    "open",
    "open_at",
)


def _check_crs(origins: gpd.GeoDataFrame, places: gpd.GeoDataFrame) -> None:
    if origins.crs is None or places.crs is None:
        raise InputError("origins and places must both have a CRS; one arrived without")
    if origins.crs != places.crs:
        raise InputError(
            f"origins are in {origins.crs.to_string()} but places in {places.crs.to_string()}; "
            "expected the same CRS (reproject one with to_crs first)"
        )


def metric_crs(gdf: gpd.GeoDataFrame) -> str:
    """Return the CRS to measure ``gdf`` in.

    Its own CRS when that is projected in metres, else :func:`ctxmap.layers.crs.analysis_crs`.
    """
    crs = gdf.crs
    if crs is not None and crs.is_projected:
        units = {ax.unit_name for ax in crs.axis_info}
        if units <= {"metre", "meter"}:
            return crs.to_string()
    return analysis_crs(gdf)


def metric_xy(gdf: gpd.GeoDataFrame, crs: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return x, y in ``crs`` and a mask of located rows.

    Non-point geometries are represented by a point inside them.
    """
    ok = located_mask(gdf.geometry)
    x = np.full(len(gdf), np.nan)
    y = np.full(len(gdf), np.nan)
    if ok.any():
        geoms = gdf.geometry[ok].to_crs(crs)
        pts = np.where(
            geoms.geom_type.to_numpy() == "Point",
            geoms.to_numpy(),
            geoms.representative_point().to_numpy(),
        )
        x[ok] = shapely.get_x(pts)
        y[ok] = shapely.get_y(pts)
    return x, y, ok


def place_ids(places: gpd.GeoDataFrame) -> np.ndarray:
    """Each place's ``id`` as text (the index as text when there is no ``id`` column)."""
    if "id" in places.columns:
        return places["id"].astype(str).to_numpy(dtype=object)
    return np.asarray([str(i) for i in places.index], dtype=object)


def nearest_k(origins: gpd.GeoDataFrame, places: gpd.GeoDataFrame, k: int) -> pd.DataFrame:
    """Return the ``k`` nearest places (straight line) to every origin.

    Parameters
    ----------
    origins, places
        Layers in the SAME CRS (any CRS; distances are measured in that CRS when it
        is projected in metres, else in :func:`ctxmap.layers.crs.analysis_crs` of the places).
        Rows without a location are left out: origins without one get no rows,
        places without one are never nearest.
    k
        How many places per origin; all located places when there are fewer.

    Returns
    -------
    pandas.DataFrame
        Columns ``origin`` (origin index label), ``rank`` (1 = nearest), ``place`` (place
        index label), ``place_id`` (the ``id`` column, else the index as text) and
        ``distance_m``. Sorted by origin order, then distance, ties broken by
        ``place_id``; an origin exactly on a place has distance 0.

    Raises
    ------
    InputError
        If ``k`` < 1 or the CRSs differ or are missing.
    """
    if not isinstance(k, int | np.integer) or k < 1:
        raise InputError(f"k must be a whole number of at least 1; got {k!r}")
    _check_crs(origins, places)
    empty = pd.DataFrame({c: pd.Series([], dtype=object) for c in NEAREST_K_COLUMNS})
    p_ok = located_mask(places.geometry)
    o_ok = located_mask(origins.geometry)
    if not p_ok.any() or not o_ok.any():
        return empty.astype({"rank": int, "distance_m": float})
    crs = metric_crs(places[p_ok])
    px, py, _ = metric_xy(places, crs)
    ox, oy, _ = metric_xy(origins, crs)
    p_idx = np.flatnonzero(p_ok)
    o_idx = np.flatnonzero(o_ok)
    pxy = np.column_stack([px[p_idx], py[p_idx]])
    oxy = np.column_stack([ox[o_idx], oy[o_idx]])
    ids = place_ids(places)[p_idx]
    n = p_idx.size
    kk = min(int(k), n)
    tree = cKDTree(pxy)
    # One extra neighbour shows whether a tie crosses the k-th place.
    q = min(kk + 1, n)
    dist, nbr = tree.query(oxy, k=q)
    dist = np.asarray(dist).reshape(len(oxy), q)
    nbr = np.asarray(nbr).reshape(len(oxy), q)
    cand_rows: list[np.ndarray] = []
    cand_cols: list[np.ndarray] = []
    tied = np.zeros(len(oxy), dtype=bool)
    if q > kk:
        kth = dist[:, kk - 1]
        tied = dist[:, kk] <= kth * (1 + 1e-12) + 1e-9
    plain = np.flatnonzero(~tied)
    cand_rows.append(np.repeat(plain, q))
    cand_cols.append(nbr[plain].ravel())
    for row in np.flatnonzero(tied):
        radius = dist[row, kk - 1] * (1 + 1e-9) + 1e-6
        members = np.asarray(tree.query_ball_point(oxy[row], r=radius), dtype=np.int64)
        cand_rows.append(np.full(members.size, row))
        cand_cols.append(members)
    rows = np.concatenate(cand_rows)
    cols = np.concatenate(cand_cols)
    d = np.hypot(oxy[rows, 0] - pxy[cols, 0], oxy[rows, 1] - pxy[cols, 1])
    order = np.lexsort((ids[cols].astype(str), d, rows))
    rows, cols, d = rows[order], cols[order], d[order]
    starts = np.searchsorted(rows, rows, side="left")
    rank = np.arange(rows.size) - starts + 1
    keep = rank <= kk
    rows, cols, d, rank = rows[keep], cols[keep], d[keep], rank[keep]
    return pd.DataFrame(
        {
            "origin": origins.index.to_numpy()[o_idx[rows]],
            "rank": rank.astype(int),
            "place": places.index.to_numpy()[p_idx[cols]],
            "place_id": ids[cols],
            "distance_m": d,
        }
    )


def filter_places(
    places: gpd.GeoDataFrame,
    *,
    layers: Sequence[str] | None = None,
    categories: Sequence[str] | None = None,
) -> gpd.GeoDataFrame:
    """Return the places in ``layers`` and with a ``category`` in ``categories`` (case-insensitive).

    ``None`` means no filter on that column. Returns a copy; the index is kept.

    Raises
    ------
    InputError
        If a filter is given but the column it needs is missing.
    """
    out = places
    if layers is not None:
        if "layer" not in places.columns:
            raise InputError("the places have no 'layer' column; expected one to filter by layer")
        out = out[out["layer"].isin(list(layers))]
    if categories is not None:
        if "category" not in places.columns:
            raise InputError("the places have no 'category' column; expected one to filter by")
        wanted = {c.strip().lower() for c in categories}
        norm = out["category"].astype("string").str.strip().str.lower()
        out = out[norm.isin(wanted).fillna(False).to_numpy(dtype=bool)]
    return out.copy()


def _now() -> dt.datetime:
    return dt.datetime.now(LOCAL_TZ).replace(tzinfo=None, second=0, microsecond=0)


def nearest_places(
    origin: Origin,
    places: gpd.GeoDataFrame,
    *,
    k: int = 5,
    network: WalkNetwork | None = None,
    when: dt.datetime | None = None,
    open_only: bool = False,
    speed_kmh: float = DEFAULT_SPEED_KMH,
    detour: float = DEFAULT_DETOUR,
) -> gpd.GeoDataFrame:
    """Return the ``k`` nearest places to ``origin`` with walking distance, time, route and hours.

    Parameters
    ----------
    origin
        Where the young person or home is.
    places
        Candidate places (any CRS) with canonical place columns and, ideally, ``layer``.
        Filter first with :func:`filter_places`. Places without a location are left out
        and counted in ``result.attrs["unlocated_places"]``.
    k
        How many to return (all when there are fewer).
    network
        A walking network; without one walking is estimated (see ``walk_basis``).
    when
        The moment for ``open`` (naive = Europe/London clock time); ``None`` = now.
    open_only
        Keep only places that are ``"open"`` at ``when`` (unknown hours are never open).
    speed_kmh, detour
        Walking speed, and the detour factor used when there is no network.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per place, nearest first (by walking distance with a network, ties by
        ``place_id``; by straight line otherwise), columns :data:`NEAREST_COLUMNS`, and
        ``geometry`` = the route as a LineString in EPSG:4326 (a straight segment for an
        estimate). ``walk_m`` is NaN without a network; ``walk_min`` is always filled.
        The place index is kept.
    """
    if not isinstance(k, int | np.integer) or k < 1:
        raise InputError(f"k must be a whole number of at least 1; got {k!r}")
    if places.crs is None:
        raise InputError("the places have no CRS; expected one (e.g. EPSG:4326)")
    per_min = metres_per_minute(speed_kmh)
    moment = when if when is not None else _now()
    located = located_mask(places.geometry)
    unlocated = int((~located).sum())
    cand = places[located].copy()
    if open_only and len(cand):
        open_now = [open_state(h, moment) for h in column_or_none(cand, "opening_hours")]
        cand = cand[np.asarray(open_now) == "open"]
    crs = network.crs if network is not None else None
    if crs is None:
        here = gpd.GeoDataFrame(
            geometry=gpd.points_from_xy([origin.lon], [origin.lat]), crs=STORAGE_CRS
        )
        crs = metric_crs(cand) if len(cand) else analysis_crs(here)
    to_metric = Transformer.from_crs(STORAGE_CRS, crs, always_xy=True)
    ox, oy = (float(v) for v in to_metric.transform(origin.lon, origin.lat))
    px, py, _ = metric_xy(cand, crs)
    straight = np.hypot(px - ox, py - oy)
    ids = place_ids(cand)
    if network is not None and len(cand):
        walk = walk_from(network, (ox, oy), px, py)
        walk_m = walk.walk_m
        snap_o = np.full(len(cand), walk.snap_origin_m)
        snap_p = walk.snap_target_m
        routes: list[shapely.Geometry | None] = list(walk.routes)
        basis = NETWORK_BASIS
        sort_key = walk_m
    else:
        walk_m = np.full(len(cand), np.nan)
        snap_o = np.full(len(cand), np.nan)
        snap_p = np.full(len(cand), np.nan)
        routes = [shapely.LineString([(ox, oy), (x, y)]) for x, y in zip(px, py, strict=True)]
        basis = estimate_basis(detour, speed_kmh)
        sort_key = straight
    walk_for_time = walk_m if network is not None else estimate_walk_m(straight, detour)
    order = np.lexsort((ids.astype(str), straight, sort_key))[: int(k)]
    sel = cand.iloc[order]
    states: list[OpenState] = [open_state(h, moment) for h in column_or_none(sel, "opening_hours")]
    out = pd.DataFrame(
        {
            "rank": np.arange(1, len(order) + 1),
            "place_id": ids[order],
            "name": column_or_none(sel, "name").to_numpy(),
            "layer": column_or_none(sel, "layer").to_numpy(),
            "category": column_or_none(sel, "category").to_numpy(),
            "address": column_or_none(sel, "address").to_numpy(),
            "opening_hours": column_or_none(sel, "opening_hours").to_numpy(),
            "straight_m": straight[order],
            "walk_m": walk_m[order],
            "walk_min": walk_for_time[order] / per_min,
            "walk_basis": basis,
            "snap_origin_m": snap_o[order],
            "snap_place_m": snap_p[order],
            "open": states,
            "open_at": moment.isoformat(sep=" ", timespec="minutes"),
        },
        index=sel.index,
    )
    route_series = gpd.GeoSeries([routes[i] for i in order], index=sel.index, crs=crs)
    result = gpd.GeoDataFrame(out, geometry=route_series.to_crs(STORAGE_CRS), crs=STORAGE_CRS)
    result.attrs["unlocated_places"] = unlocated
    result.attrs["origin_note"] = origin.note
    return result
