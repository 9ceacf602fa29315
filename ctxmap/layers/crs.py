"""Choose a metric CRS for analysis and move layers between analysis and display CRS."""

from __future__ import annotations

import math
from typing import Final

import geopandas as gpd
from pyproj import CRS

from ctxmap.errors import InputError
from ctxmap.layers.coordinates import GB_LONLAT
from ctxmap.layers.geometry import located_mask
from ctxmap.layers.schemas import STORAGE_CRS

BNG: Final = "EPSG:27700"


def utm_epsg(lon: float, lat: float) -> str:
    """Return the WGS84 UTM zone code (``"EPSG:326NN"`` or ``"EPSG:327NN"``) for a point."""
    zone = min(60, max(1, math.floor((lon + 180.0) / 6.0) + 1))
    return f"EPSG:{32600 + zone if lat >= 0 else 32700 + zone}"


def analysis_crs(gdf: gpd.GeoDataFrame) -> str:
    """Pick the metric CRS to analyse ``gdf`` in.

    British National Grid (EPSG:27700) when the data's centre lies in Great Britain,
    otherwise the local UTM zone of the data's centre.

    Parameters
    ----------
    gdf
        A layer with a CRS set. Null and empty geometries are ignored.

    Raises
    ------
    ValueError
        If ``gdf`` has no CRS or no located geometry to choose from.
    """
    if gdf.crs is None:
        raise ValueError("the layer has no CRS; expected one (e.g. EPSG:4326); use set_crs()")
    located = gdf.geometry[located_mask(gdf)]
    if located.empty:
        raise ValueError("the layer has no located geometry to choose a metric CRS from")
    minx, miny, maxx, maxy = located.to_crs(STORAGE_CRS).total_bounds
    lon, lat = (minx + maxx) / 2.0, (miny + maxy) / 2.0
    x0, y0, x1, y1 = GB_LONLAT  # where British National Grid is the right choice
    if x0 <= lon <= x1 and y0 <= lat <= y1:
        return BNG
    return utm_epsg(lon, lat)


def to_metric(gdf: gpd.GeoDataFrame, crs: str | None = None) -> gpd.GeoDataFrame:
    """Return ``gdf`` in a metric CRS (``crs``, or the one :func:`analysis_crs` picks)."""
    target = crs or analysis_crs(gdf)
    return gdf.to_crs(target)


def to_display(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Return ``gdf`` in the display CRS, EPSG:4326."""
    if gdf.crs is None:
        raise ValueError("the layer has no CRS; expected one (e.g. EPSG:27700); use set_crs()")
    return gdf.to_crs(STORAGE_CRS)


def require_display_crs(gdf: object, what: str, fix: str = "first") -> gpd.GeoDataFrame:
    """Return ``gdf`` if it is a GeoDataFrame in EPSG:4326 (an empty one may lack a CRS).

    Raises
    ------
    InputError
        Naming ``what`` and what arrived; the message ends with how to reproject
        ("reproject with ctxmap.layers.crs.to_display " + ``fix``).
    """
    if not isinstance(gdf, gpd.GeoDataFrame):
        raise InputError(f"{what} is a {type(gdf).__name__}; expected a GeoDataFrame")
    if len(gdf) and gdf.crs is None:
        raise InputError(f"{what} has no CRS; expected {STORAGE_CRS}")
    if len(gdf) and CRS.from_user_input(gdf.crs) != CRS.from_user_input(STORAGE_CRS):
        raise InputError(
            f"{what} is in {gdf.crs.to_string()}; expected {STORAGE_CRS} "
            f"(reproject with ctxmap.layers.crs.to_display {fix})"
        )
    return gdf
