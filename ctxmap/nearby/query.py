"""One "nearest places" question as a value: where from, how many, which kinds, when.

:class:`NearestQuery` is frozen and hashable, so a dashboard can cache answers on it;
:func:`answer` filters the places and finds the nearest (:mod:`ctxmap.nearby.nearest`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import geopandas as gpd

from ctxmap.nearby.nearest import filter_places, nearest_places
from ctxmap.nearby.network import WalkNetwork
from ctxmap.nearby.origins import Origin


@dataclass(frozen=True)
class NearestQuery:
    """Which places are nearest to a point, of which kinds, open when.

    Parameters
    ----------
    lon, lat
        The starting point (EPSG:4326), rounded by the caller to what it means.
    when_iso
        The day and time opening hours are checked at (``"YYYY-MM-DD HH:MM"``).
    k
        How many places.
    layers
        The kinds of place (``"safe_places"``, ``"youth_centres"``).
    categories
        Only these categories (``None``: all).
    open_only
        List only places open at ``when_iso``.
    network_key
        Which walking network answers (its file and hash; ``""``: straight-line estimate).
    """

    lon: float
    lat: float
    when_iso: str
    k: int = 5
    layers: tuple[str, ...] = ("safe_places", "youth_centres")
    categories: tuple[str, ...] | None = None
    open_only: bool = False
    network_key: str = ""

    @property
    def when(self) -> dt.datetime:
        """The time opening hours are checked at."""
        return dt.datetime.fromisoformat(self.when_iso)


def answer(query: NearestQuery, places: gpd.GeoDataFrame,
           network: WalkNetwork | None) -> gpd.GeoDataFrame:
    """The nearest places ``query`` asks for (see :func:`ctxmap.nearby.nearest.nearest_places`).

    ``network`` must be the one ``query.network_key`` names (``None`` for the estimate).
    """
    pool = filter_places(places, layers=list(query.layers),
                         categories=list(query.categories) if query.categories else None)
    return nearest_places(Origin(lon=query.lon, lat=query.lat, label=""), pool, k=query.k,
                          network=network, when=query.when, open_only=query.open_only)
