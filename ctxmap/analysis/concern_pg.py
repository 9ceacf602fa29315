"""Locations of concern on the PostgreSQL store: the radius counts run in PostGIS.

:func:`count_within_db` sends the places (a few thousand points at most) to the database
and counts incidents within the radius with ``ST_DWithin`` on the indexed metric column
``incidents.geom_m`` (see :mod:`ctxmap.store.postgis`), grouped by place and category, so the
incident points are never joined in Python. :func:`rank_places_pg` plugs that counter
into :func:`ctxmap.analysis.concern.rank_places`, so the statistics (expected counts, Poisson test,
Benjamini–Hochberg, reasons) stay one code path for both stores.

The counts are the same as :func:`ctxmap.analysis.concern.count_within`'s: distance ``<= radius``
in the same metric CRS (points exactly on the circle count); incidents with no location
never count. PostGIS and pyproj use the same PROJ pipeline for EPSG:4326 → 27700
(differences of ~1e-9 m), so only a point within a nanometre of the circle could differ.
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from psycopg import sql
from pyproj import CRS
from shapely.geometry.base import BaseGeometry

from ctxmap.analysis.areas import StudyArea
from ctxmap.analysis.concern import ConcernParams, Counter, rank_places
from ctxmap.analysis.periods import Period, check_categories, month_range
from ctxmap.errors import InputError
from ctxmap.store.postgis import PgStore


def _srid(metric_crs: str) -> int:
    epsg = CRS.from_user_input(metric_crs).to_epsg()
    if epsg is None:
        raise InputError(f"metric CRS {metric_crs!r} has no EPSG code; expected e.g. EPSG:27700")
    return int(epsg)


def count_within_db(
    store: PgStore,
    px: np.ndarray,
    py: np.ndarray,
    metric_crs: str,
    categories: list[str],
    period: Period | None,
    radius_m: float,
) -> np.ndarray:
    """Count the store's incidents within ``radius_m`` of each place, by category, in PostGIS.

    Parameters
    ----------
    store
        The PostgreSQL store.
    px, py
        Place coordinates in ``metric_crs`` (metres).
    metric_crs
        The metric CRS of ``px``/``py``; when it is the store's metric SRID the GiST index
        on ``geom_m`` is used, otherwise incidents are projected in the query (correct but
        without the index).
    categories
        Categories to count, in column order.
    period
        Inclusive months, or ``None`` for every month.
    radius_m
        Radius in metres; distance ``<= radius_m`` counts.

    Returns
    -------
    numpy.ndarray
        ``(len(px), len(categories))`` integer counts.
    """
    px = np.asarray(px, dtype=float)
    py = np.asarray(py, dtype=float)
    out = np.zeros((len(px), len(categories)), dtype=np.int64)
    if len(px) == 0 or not categories:
        return out
    srid = _srid(metric_crs)
    points = shapely.set_srid(shapely.points(px, py), srid)
    ewkb = shapely.to_wkb(points, hex=True, include_srid=True)
    if srid == store.metric_srid:
        inc_geom: sql.Composable = sql.SQL("i.geom_m")
    else:
        inc_geom = sql.SQL("ST_Transform(i.geom, {})").format(sql.Literal(srid))
    where = [sql.SQL("i.category = ANY(%(cats)s)")]
    args: dict[str, Any] = {"cats": list(categories), "r": float(radius_m)}
    if period is not None:
        where.append(sql.SQL("i.month = ANY(%(months)s)"))
        args["months"] = month_range(*period)
    query = sql.SQL(
        "SELECT p.k, i.category, count(*) FROM ctxmap_places p JOIN incidents i "
        "ON ST_DWithin({g}, p.g, %(r)s) WHERE {where} GROUP BY p.k, i.category"
    ).format(g=inc_geom, where=sql.SQL(" AND ").join(where))
    col = {c: j for j, c in enumerate(categories)}
    with store.transaction() as con:
        con.execute("CREATE TEMP TABLE ctxmap_places (k integer, g geometry) ON COMMIT DROP")
        with con.cursor() as cur, cur.copy("COPY ctxmap_places (k, g) FROM STDIN") as copy:
            for k, g in enumerate(ewkb):
                copy.write_row((k, g))
        con.execute("ANALYZE ctxmap_places")
        for k, cat, n in con.execute(query, args).fetchall():
            out[int(k), col[cat]] = int(n)
    return out


def db_counter(store: PgStore) -> Counter:
    """A counter for :func:`~ctxmap.analysis.concern.rank_places` that counts in the database."""

    def counter(px: np.ndarray, py: np.ndarray, metric_crs: str, categories: list[str],
                period: Period, radius_m: float) -> np.ndarray:
        return count_within_db(store, px, py, metric_crs, categories, period, radius_m)

    return counter


def incidents_for_concern(store: PgStore, params: ConcernParams) -> gpd.GeoDataFrame:
    """The store's incidents of ``params``' period and categories (filtered in the database).

    Only ``id``, ``month``, ``category`` and the geometry are read: what
    :func:`~ctxmap.analysis.concern.rank_places` needs besides the counts (period, categories,
    unlocated rows, the study-area density). Rows with no location are kept.
    """
    where: list[sql.Composable] = []
    args: list[Any] = []
    if params.categories is not None:
        where.append(sql.SQL("category = ANY(%s)"))
        args.append(list(check_categories(params.categories) or ()))
    if params.months is not None:
        where.append(sql.SQL("month = ANY(%s)"))
        args.append(month_range(*params.months))
    cond = sql.SQL(" AND ").join(where) if where else None
    return store.read("incidents", columns=["id", "month", "category"], where=cond,
                      params=tuple(args))


def rank_places_pg(
    store: PgStore,
    places: gpd.GeoDataFrame,
    study_area: StudyArea | BaseGeometry | gpd.GeoDataFrame,
    params: ConcernParams | None = None,
) -> gpd.GeoDataFrame:
    """:func:`~ctxmap.analysis.concern.rank_places` over the store's incidents, counting in PostGIS.

    Parameters
    ----------
    store
        The PostgreSQL store holding the incidents.
    places
        Places (EPSG:4326), as for :func:`~ctxmap.analysis.concern.rank_places`.
    study_area
        The baseline area.
    params
        Settings (default :class:`~ctxmap.analysis.concern.ConcernParams`).

    Returns
    -------
    geopandas.GeoDataFrame
        Exactly what :func:`~ctxmap.analysis.concern.rank_places` returns for the same incidents.
    """
    params = params or ConcernParams()
    incidents = incidents_for_concern(store, params)
    return rank_places(places, incidents, study_area, params, counter=db_counter(store))
