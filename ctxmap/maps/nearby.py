"""The maps of the Nearby page and the safe-places card: nearest places, and coverage.

:func:`nearby_map` draws an origin (labelled only "Start"), its nearest places as
numbered markers and the routes (or straight-line estimates) to them;
:func:`coverage_map` the area within a walk of a safe place and the homes in and out of
it. Both start from :func:`ctxmap.maps.base.base_map` and escape every label.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

import folium
import geopandas as gpd
import pandas as pd
import shapely

from ctxmap.layers.crs import require_display_crs
from ctxmap.layers.geometry import located_mask
from ctxmap.layers.schemas import STORAGE_CRS
from ctxmap.maps.assets import DEFAULT_BASE_URL, localize_in_place
from ctxmap.maps.base import (
    DEFAULT,
    OSM_ATTRIBUTION,
    Outline,
    TilesUrl,
    base_map,
    resolve_tiles_url,
)
from ctxmap.maps.geojson import point_feature
from ctxmap.maps.layers import add_study_area, build_feature_groups
from ctxmap.maps.legend import LEGEND, OKABE_ITO, Attributions
from ctxmap.nearby.origins import Origin
from ctxmap.nearby.wording import is_estimate, walk_text
from ctxmap.text import esc, esc_plain

_START_HTML: Final = (
    '<div style="background:#111;color:#fff;font:bold 13px sans-serif;padding:3px 6px;'
    'border-radius:4px;border:2px solid #fff;white-space:nowrap;box-shadow:0 1px 3px #0008">'
    "Start</div>"
)
_NUM_STYLE: Final = (
    "background:#2166ac;color:#fff;font:bold 14px sans-serif;width:24px;height:24px;"
    "line-height:24px;text-align:center;border-radius:50%;border:2px solid #fff;"
    "box-shadow:0 1px 3px #0008"
)
_ROUTE_COLOUR: Final = "#333333"
_GAP_COLOUR: Final = OKABE_ITO["vermillion"]
_COVERED_COLOUR: Final = OKABE_ITO["bluish_green"]
_AREA_COLOUR: Final = "#2166ac"
#: Decimal places of the points drawn (6: about 10 cm).
_PRECISION: Final = 6


def _base_map(center: tuple[float, float], tiles_url: TilesUrl, zoom: int = 15) -> folium.Map:
    url = resolve_tiles_url(tiles_url)
    m = base_map(center, zoom, url, OSM_ATTRIBUTION)
    if url is None:
        Attributions([f"Places {OSM_ATTRIBUTION}"]).add_to(m)
    return m


def _point_feature(lon: float, lat: float, props: dict[str, Any]) -> dict[str, Any]:
    return point_feature(lon, lat, props, _PRECISION)


def _collection(features: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": features}


def _place_points(rows: gpd.GeoDataFrame, places: gpd.GeoDataFrame | None) -> list[Any]:
    """Where each row's place is (EPSG:4326): from ``places`` by index, else the route's end."""
    located = None
    if places is not None and len(places):
        located = places.to_crs(STORAGE_CRS) if places.crs is not None else None
    out: list[Any] = []
    for idx, route in zip(rows.index, rows.geometry, strict=True):
        point = None
        if located is not None and idx in located.index:
            geom = located.geometry.loc[idx]
            if isinstance(geom, gpd.GeoSeries):
                geom = geom.iloc[0]
            if geom is not None and not geom.is_empty:
                point = geom if geom.geom_type == "Point" else geom.representative_point()
        if point is None and route is not None and not route.is_empty:
            x, y = shapely.get_coordinates(route)[-1]
            point = shapely.Point(x, y)
        out.append(point)
    return out


def nearby_map(
    origin: Origin,
    rows: gpd.GeoDataFrame,
    *,
    places: gpd.GeoDataFrame | None = None,
    context: Mapping[str, gpd.GeoDataFrame] | None = None,
    start_label: str = "Start",
    tiles_url: TilesUrl = DEFAULT,
    assets_base_url: str = DEFAULT_BASE_URL,
    study_area: Outline | None = None,
) -> folium.Map:
    """Return the map of an origin and its nearest places: numbered markers and routes.

    Parameters
    ----------
    origin
        The start point; drawn with the label ``start_label`` only (never the origin's own
        label, which may be a home's name).
    rows
        Output of :func:`ctxmap.nearby.nearest.nearest_places` (EPSG:4326; ``geometry`` = route).
        Routes are dashed and called "straight line (estimate)" when ``walk_basis`` is an
        estimate, solid "walking route" otherwise.
    places
        The candidate places, to place markers exactly (by index); without it a marker
        sits at the end of its route.
    context
        Extra layers drawn underneath, toggled in a layer control (e.g. every safe place).
    start_label
        Text of the start marker's tooltip (escaped).
    tiles_url
        As :class:`ctxmap.maps.base.MapOptions`.
    assets_base_url
        URL prefix of the local JavaScript/CSS.
    study_area
        The store's study area: its outline and a legend line naming it (``None``: none).

    Raises
    ------
    InputError
        If ``rows`` is not in EPSG:4326.
    """
    require_display_crs(rows, "the nearest_places output")
    m = _base_map((origin.lat, origin.lon), tiles_url)
    add_study_area(m, study_area)
    if context:
        built = build_feature_groups(context)
        for group in built.groups:
            group.add_to(m)
    estimate = bool(len(rows)) and is_estimate(str(rows["walk_basis"].iloc[0]))
    route_label = "straight line (estimate)" if estimate else "walking route"
    features = []
    for rank, route in zip(rows["rank"], rows.geometry, strict=True):
        if route is None or route.is_empty:
            continue
        features.append(
            {
                "type": "Feature",
                "properties": {"label": f"{int(rank)}: {route_label}"},
                "geometry": json.loads(shapely.to_geojson(shapely.set_precision(route, 1e-6))),
            }
        )
    routes = folium.FeatureGroup(name=f"Routes ({route_label})", show=True)
    if features:
        style = {"color": _ROUTE_COLOUR, "weight": 3, "opacity": 0.8}
        if estimate:
            style["dashArray"] = "6 6"
        folium.GeoJson(
            _collection(features),
            control=False,
            style_function=lambda _f, s=style: dict(s),
            tooltip=folium.GeoJsonTooltip(fields=["label"], labels=False, sticky=True),
        ).add_to(routes)
    routes.add_to(m)
    nearest = folium.FeatureGroup(name="Nearest places (numbered)", show=True)
    points = _place_points(rows, places)
    names = rows["name"] if "name" in rows.columns else pd.Series([None] * len(rows))
    walks = rows["walk_min"] if "walk_min" in rows.columns else pd.Series([None] * len(rows))
    bounds = [(origin.lat, origin.lon)]
    for rank, name, walk, point in zip(rows["rank"], names, walks, points, strict=True):
        if point is None:
            continue
        label = f"{int(rank)}. {esc(name) or 'Unnamed place'} ({walk_text(walk)} walk)"
        folium.GeoJson(
            _collection([_point_feature(point.x, point.y, {"label": label})]),
            control=False,
            marker=folium.Marker(
                icon=folium.DivIcon(
                    html=f'<div style="{_NUM_STYLE}">{int(rank)}</div>',
                    icon_size=(28, 28),
                    icon_anchor=(14, 14),
                    class_name="ctx-num-icon",
                )
            ),
            tooltip=folium.GeoJsonTooltip(fields=["label"], labels=False),
        ).add_to(nearest)
        bounds.append((point.y, point.x))
    nearest.add_to(m)
    start = folium.FeatureGroup(name="Start", show=True)
    folium.GeoJson(
        _collection([_point_feature(origin.lon, origin.lat, {"label": esc(start_label)})]),
        control=False,
        marker=folium.Marker(
            icon=folium.DivIcon(
                html=_START_HTML, icon_size=(46, 24), icon_anchor=(23, 12), class_name="ctx-start"
            )
        ),
        tooltip=folium.GeoJsonTooltip(fields=["label"], labels=False),
    ).add_to(start)
    start.add_to(m)
    if context:
        folium.LayerControl(collapsed=True, position="topright").add_to(m)
    if len(bounds) > 1:
        lats = [b[0] for b in bounds]
        lons = [b[1] for b in bounds]
        m.fit_bounds([[min(lats), min(lons)], [max(lats), max(lons)]], padding=(30, 30))
    return localize_in_place(m, assets_base_url)


def coverage_map(
    homes: gpd.GeoDataFrame,
    coverage: pd.DataFrame,
    area: gpd.GeoDataFrame,
    safe_places: gpd.GeoDataFrame,
    *,
    tiles_url: TilesUrl = DEFAULT,
    assets_base_url: str = DEFAULT_BASE_URL,
    study_area: Outline | None = None,
) -> folium.Map:
    """Return the coverage map: the area within the walk, (open) safe places, homes by gap.

    Parameters
    ----------
    homes
        The homes layer (EPSG:4326), indexed like ``coverage``.
    coverage
        Output of :func:`ctxmap.nearby.coverage.home_coverage` (``gap``, ``safe_walk_min``...).
    area
        Output of :func:`ctxmap.nearby.coverage.coverage_area` (one polygon row, EPSG:4326).
    safe_places
        The safe places that counted (EPSG:4326).
    tiles_url, assets_base_url, study_area
        As :func:`nearby_map`.

    Raises
    ------
    InputError
        If a layer is not in EPSG:4326.
    """
    for what, gdf in (("the homes", homes), ("the area", area), ("the safe places", safe_places)):
        require_display_crs(gdf, what)
    located = homes[located_mask(homes)]
    if len(located):
        minx, miny, maxx, maxy = located.total_bounds
        center = ((miny + maxy) / 2, (minx + maxx) / 2)
    else:
        center = (54.0, -2.5)
    m = _base_map(center, tiles_url, zoom=12)
    add_study_area(m, study_area)
    minutes = float(area["minutes"].iloc[0]) if len(area) else float("nan")
    label = f"Within {minutes:g} min walk of a safe place"
    if len(area) and not area.geometry.iloc[0].is_empty:
        zone = folium.FeatureGroup(name=label, show=True)
        folium.GeoJson(
            _collection(
                [
                    {
                        "type": "Feature",
                        "properties": {"label": esc_plain(label)},
                        "geometry": json.loads(
                            shapely.to_geojson(shapely.set_precision(area.geometry.iloc[0], 1e-5))
                        ),
                    }
                ]
            ),
            control=False,
            style_function=lambda _f: {
                "color": _AREA_COLOUR,
                "weight": 1,
                "fillColor": _AREA_COLOUR,
                "fillOpacity": 0.18,
            },
            tooltip=folium.GeoJsonTooltip(fields=["label"], labels=False, sticky=True),
        ).add_to(zone)
        zone.add_to(m)
    safe = safe_places[located_mask(safe_places)]
    if len(safe):
        group = folium.FeatureGroup(name=LEGEND["safe_places"].label, show=True)
        feats = []
        for rec, geom in zip(safe.to_dict("records"), safe.geometry, strict=True):
            pt = geom if geom.geom_type == "Point" else geom.representative_point()
            feats.append(
                _point_feature(pt.x, pt.y, {"label": esc(rec.get("name")) or "Safe place"})
            )
        folium.GeoJson(
            _collection(feats),
            control=False,
            marker=folium.CircleMarker(
                radius=5,
                color="#fff",
                weight=1,
                fill=True,
                fill_color=LEGEND["safe_places"].colour,
                fill_opacity=0.9,
            ),
            tooltip=folium.GeoJsonTooltip(fields=["label"], labels=False),
        ).add_to(group)
        group.add_to(m)
    for is_gap, colour, name, word in (
        (True, _GAP_COLOUR, "Homes with no safe place within the walk", "Gap"),
        (False, _COVERED_COLOUR, "Homes within the walk of a safe place", "Covered"),
    ):
        feats = []
        for idx, geom in zip(located.index, located.geometry, strict=True):
            if idx not in coverage.index:
                continue
            row = coverage.loc[idx]
            gap = row.get("gap")
            if pd.isna(gap) or bool(gap) != is_gap:
                continue
            pt = geom if geom.geom_type == "Point" else geom.representative_point()
            text = (  # the word says it as well as the colour
                f"{word}: {esc(row.get('name')) or esc(row.get('home_id'))}: "
                f"{walk_text(row.get('safe_walk_min'))} to a safe place"
            )
            feats.append(_point_feature(pt.x, pt.y, {"label": text}))
        if not feats:
            continue
        group = folium.FeatureGroup(name=name, show=True)
        folium.GeoJson(
            _collection(feats),
            control=False,
            marker=folium.CircleMarker(
                radius=8, color="#000", weight=2, fill=True, fill_color=colour, fill_opacity=1.0
            ),
            tooltip=folium.GeoJsonTooltip(fields=["label"], labels=False),
        ).add_to(group)
        group.add_to(m)
    folium.LayerControl(collapsed=False, position="topright").add_to(m)
    if len(located):
        minx, miny, maxx, maxy = located.total_bounds
        m.fit_bounds([[miny, minx], [maxy, maxx]], padding=(40, 40))
    return localize_in_place(m, assets_base_url)
