"""Maps a dashboard user works on: drawing a context, clicking a place, groups swapped in.

The dashboard draws these with streamlit-folium; this module only builds the folium
objects (no streamlit here).
"""

from __future__ import annotations

from typing import Final

import folium
from folium.plugins import Draw
from shapely.geometry.base import BaseGeometry

from ctxmap.maps.access import MapAccess
from ctxmap.maps.assets import use_local_assets
from ctxmap.maps.base import OSM_ATTRIBUTION, Outline, resolve_tiles_url
from ctxmap.maps.layers import add_study_area

#: Where the drawing map opens when the store has no study area (Great Britain).
DRAW_MAP_CENTRE: Final = (54.0, -2.5)


def layer_control() -> folium.LayerControl:
    """The layer list (top right, open) of a map whose groups are swapped in after drawing."""
    return folium.LayerControl(collapsed=False, position="topright")


def drawing_map(study_area: Outline | None = None) -> folium.Map:
    """A map to draw a context on: a point, a rectangle or a polygon (served assets).

    It opens on ``study_area`` (the store's), outlined and named in a legend; without
    one, on Great Britain.
    """
    m = folium.Map(location=list(DRAW_MAP_CENTRE), zoom_start=6, tiles=None)
    url = resolve_tiles_url()
    if url:
        folium.TileLayer(tiles=url, attr=OSM_ATTRIBUTION).add_to(m)
    if study_area is not None:
        add_study_area(m, study_area)
        minx, miny, maxx, maxy = study_area.geometry.bounds
        m.fit_bounds([[miny, minx], [maxy, maxx]])
    Draw(draw_options={"polyline": False, "circle": False, "circlemarker": False,
                       "rectangle": True, "polygon": True, "marker": True}).add_to(m)
    MapAccess("Map to draw a context on").add_to(m)
    return use_local_assets(m)


def clicked_place_group(point: BaseGeometry | None) -> folium.FeatureGroup:
    """The group marking the place a user clicked (empty when nothing is clicked yet)."""
    marker = folium.FeatureGroup(name="Clicked place")
    if point is not None:
        folium.CircleMarker([point.y, point.x], radius=9, color="#000000", weight=2,
                            fill=True, fill_color="#ffffff", fill_opacity=0.8,
                            tooltip="The place to rate").add_to(marker)
    return marker
