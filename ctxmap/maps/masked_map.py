"""Draw masked layers for a meeting or a partner export: counted squares and a note.

The layers come from :func:`ctxmap.privacy.shared_view.mask_layers`; the rules (what is
masked, the small-count threshold) live there. Here incidents become squares coloured
by their count (:func:`ctxmap.privacy.shared_view.incident_squares`), masked homes outlined
areas, everything else is drawn by :func:`ctxmap.maps.layers.build_map`, and a note on
the map says the view is masked.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Final

import folium
import geopandas as gpd

from ctxmap.layers.schemas import PLACE_KINDS
from ctxmap.maps.assets import localize_in_place
from ctxmap.maps.base import MapOptions
from ctxmap.maps.layers import build_map
from ctxmap.maps.legend import LEGEND, Legend, LegendEntry
from ctxmap.privacy.shared_view import MaskSettings, incident_squares
from ctxmap.text import esc_plain

#: The note drawn on a masked map.
MAP_NOTE: Final = (
    "Masked view. Squares with a thick pink outline: a home is somewhere in the square. "
    "Shaded orange squares: incidents per square (darker: more; fewer than {threshold} "
    "not shown)."
)
#: Colour of masked homes (the map's home colour).
HOME_COLOUR: Final = LEGEND["homes"].colour
INCIDENT_COLOUR: Final = LEGEND["incidents"].colour
HOMES_GROUP_NAME: Final = "Homes (shown as areas)"
INCIDENTS_GROUP_NAME: Final = "Reported incidents (per square)"


def build_meeting_map(
    masked: Mapping[str, gpd.GeoDataFrame],
    settings: MaskSettings | None = None,
    options: MapOptions | None = None,
) -> folium.Map:
    """Draw masked layers (from :func:`ctxmap.privacy.shared_view.mask_layers`).

    Parameters
    ----------
    masked
        Masked layers keyed by kind (pass them through
        :func:`ctxmap.privacy.shared_view.mask_layers` first: this function draws what it is
        given).
    settings
        The settings used to mask (cell size, threshold, mode).
    options
        Passed to :func:`ctxmap.maps.layers.build_map` (tiles, centre, zoom...).

    Returns
    -------
    folium.Map
        With ``ctxmap_masked = True`` set on it.
    """
    settings = settings or MaskSettings()
    base = {k: v for k, v in masked.items() if k != "incidents"}
    home_cells = None
    areas = base.get("areas")
    if areas is not None and "masked_home" in areas.columns:
        flag = areas["masked_home"].fillna(False).astype(bool).to_numpy()
        home_cells = areas[flag]
        base["areas"] = areas[~flag].drop(columns="masked_home")
    extra: list[folium.FeatureGroup] = []
    legend: list[tuple[LegendEntry, str]] = []
    incidents = masked.get("incidents")
    squares_group = None
    if incidents is not None and len(incidents):
        squares = incident_squares(incidents, settings)
        if len(squares):
            squares_group = _squares_group(squares)
            extra.append(squares_group)
            legend.append((
                LegendEntry("Reported incidents", INCIDENT_COLOUR, "circle", "incidents_masked"),
                f"(per {settings.cell_m:g} m square; fewer than {settings.threshold} not shown)",
            ))
    if home_cells is not None and len(home_cells):
        extra.append(_home_cells_group(home_cells))
        legend.append((
            LegendEntry("Homes", HOME_COLOUR, "diamond", "homes_masked"),
            f"({len(home_cells):,} areas; each holds at least one home)",
        ))
    m = build_map(base, options, extra_groups=extra, extra_legend=legend)
    if squares_group is not None:
        _below_places(m, squares_group)
    note = esc_plain(MAP_NOTE.format(threshold=settings.threshold))
    Legend([(note, None)], kind="note").add_to(m)
    m = localize_in_place(m)
    m.ctxmap_masked = True  # type: ignore[attr-defined]
    return m


def _geometry(geom: object) -> dict[str, object]:
    geometry: dict[str, object] = json.loads(gpd.GeoSeries([geom]).to_json())["features"][0][
        "geometry"]
    return geometry


def _home_cells_group(cells: gpd.GeoDataFrame) -> folium.FeatureGroup:
    """Thick-outlined squares (or LSOAs), each with a fixed, escaped tooltip."""
    feats = [
        {
            "type": "Feature",
            "properties": {"label": esc_plain(label)},
            "geometry": _geometry(g),
        }
        for g, label in zip(cells.geometry, cells["name"], strict=True)
    ]
    group = folium.FeatureGroup(name=HOMES_GROUP_NAME, show=True)
    folium.GeoJson(
        {"type": "FeatureCollection", "features": feats},
        name=HOMES_GROUP_NAME,
        control=False,
        style_function=lambda _f: {"color": HOME_COLOUR, "weight": 2.5,
                                   "fillColor": HOME_COLOUR, "fillOpacity": 0.25},
        tooltip=folium.GeoJsonTooltip(fields=["label"], labels=False),
    ).add_to(group)
    return group


def _squares_group(squares: gpd.GeoDataFrame) -> folium.FeatureGroup:
    """Orange (vermillion) squares, darker for more incidents, each with its (escaped) count."""
    biggest = float(squares["count"].max())
    feats = [
        {
            "type": "Feature",
            "properties": {
                "label": esc_plain(label),
                "opacity": round(0.2 + 0.6 * math.sqrt(float(count) / biggest), 2),
            },
            "geometry": _geometry(geom),
        }
        for geom, count, label in zip(
            squares.geometry, squares["count"], squares["label"], strict=True
        )
    ]
    group = folium.FeatureGroup(name=INCIDENTS_GROUP_NAME, show=True)
    folium.GeoJson(
        {"type": "FeatureCollection", "features": feats},
        name=INCIDENTS_GROUP_NAME,
        control=False,
        style_function=lambda f: {
            "color": "#b2182b", "weight": 0.5, "fillColor": INCIDENT_COLOUR,
            "fillOpacity": f["properties"]["opacity"],
        },
        tooltip=folium.GeoJsonTooltip(fields=["label"], labels=False),
    ).add_to(group)
    return group


def _group_name(element: object) -> str | None:
    return element.layer_name if isinstance(element, folium.FeatureGroup) else None


def _below_places(m: folium.Map, group: folium.FeatureGroup) -> None:
    """Render ``group`` before the place markers, so they stay clickable on top of it."""
    children = m._children
    keys = list(children)
    at = keys.index(group.get_name())
    place_names = {LEGEND[k].label for k in PLACE_KINDS}
    places = [k for k in keys[:at] if _group_name(children[k]) in place_names]
    for key in [*places, *keys[at + 1:]]:
        children.move_to_end(key)
