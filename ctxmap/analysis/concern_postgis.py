"""Locations of concern on the PostgreSQL store: the radius counts run in PostGIS.

:func:`count_within_db` sends the places (a few thousand points at most) to the database
and counts incidents within the radius with ``ST_DWithin`` on the indexed metric column
``incidents.geom_m`` (see :mod:`ctxmap.store.postgis`), grouped by place and category, so the
incident points are never joined in Python
(:meth:`~ctxmap.store.postgis.PostGISStore.count_incidents_within` holds the SQL).
:func:`rank_places_pg` plugs that counter
into :func:`ctxmap.analysis.concern.rank_places`, so the statistics (expected counts, Poisson test,
Benjamini–Hochberg, reasons) stay one code path for both stores.

The counts are the same as :func:`ctxmap.analysis.concern.count_within`'s: distance ``<= radius``
in the same metric CRS (points exactly on the circle count); incidents with no location
never count. PostGIS and pyproj use the same PROJ pipeline for EPSG:4326 → 27700
(differences of ~1e-9 m), so only a point within a nanometre of the circle could differ.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS
from shapely.geometry.base import BaseGeometry

from ctxmap.analysis.areas import StudyArea
from ctxmap.analysis.concern import ConcernParams, Counter, rank_places
from ctxmap.analysis.periods import Period, check_categories, month_range
from ctxmap.errors import InputError
from ctxmap.store.postgis import PostGISStore


def _srid(metric_crs: str) -> int:
    epsg = CRS.from_user_input(metric_crs).to_epsg()
    if epsg is None:
        raise InputError(f"metric CRS {metric_crs!r} has no EPSG code; expected e.g. EPSG:27700")
    return int(epsg)


def count_within_db(
    store: PostGISStore,
    px: np.ndarray,
    py: np.ndarray,
    metric_crs: str,
    categories: list[str],
    period: Period | None,
    radius_m: float,
    within: BaseGeometry | None = None,
) -> np.ndarray:
    """Count the store's incidents within ``radius_m`` of each place, by category, in PostGIS.

    Parameters
    ----------
    store
        The PostgreSQL store.
    px, py
        Place coordinates in ``metric_crs`` (metres).
    metric_crs
        The metric CRS of ``px``/``py`` (it must have an EPSG code); see
        :meth:`~ctxmap.store.postgis.PostGISStore.count_incidents_within`.
    categories
        Categories to count, in column order.
    period
        Inclusive months, or ``None`` for every month.
    radius_m
        Radius in metres; distance ``<= radius_m`` counts.
    within
        Only incidents in this area (``metric_crs``; the study area) count; ``None``: all.

    Returns
    -------
    numpy.ndarray
        ``(len(px), len(categories))`` integer counts.
    """
    points = shapely.points(np.asarray(px, dtype=float), np.asarray(py, dtype=float))
    months = None if period is None else month_range(*period)
    return store.count_incidents_within(points, _srid(metric_crs), list(categories), months,
                                        radius_m, within)


def db_counter(store: PostGISStore) -> Counter:
    """A counter for :func:`~ctxmap.analysis.concern.rank_places` that counts in the database."""

    def counter(px: np.ndarray, py: np.ndarray, metric_crs: str, categories: list[str],
                period: Period, radius_m: float, area_m: BaseGeometry) -> np.ndarray:
        return count_within_db(store, px, py, metric_crs, categories, period, radius_m,
                               area_m)

    return counter


def incidents_for_concern(store: PostGISStore, params: ConcernParams) -> gpd.GeoDataFrame:
    """The store's incidents of ``params``' period and categories (filtered in the database).

    Only ``id``, ``month``, ``category`` and the geometry are read: what
    :func:`~ctxmap.analysis.concern.rank_places` needs besides the counts (period, categories,
    unlocated rows, the study-area density). Rows with no location are kept.
    """
    where_in: dict[str, list[str]] = {}
    if params.categories is not None:
        where_in["category"] = list(check_categories(params.categories) or ())
    if params.months is not None:
        where_in["month"] = month_range(*params.months)
    return store.read("incidents", columns=["id", "month", "category"], where_in=where_in)


def rank_places_pg(
    store: PostGISStore,
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
