"""Draw the layers on a folium map (never renders it, never imports streamlit).

Each layer kind becomes a :class:`folium.FeatureGroup` toggled in a layer control;
area boundaries get one toggle per ``level``. Every piece of text that reaches a
popup or tooltip is escaped (:mod:`ctxmap.maps.popups`, :func:`ctxmap.text.esc`). Above
a threshold, incidents are drawn as the grid cells of
:func:`ctxmap.analysis.aggregate.aggregate_incidents`, so the page never holds thousands
of markers. The map's JavaScript and CSS are local files (see :mod:`ctxmap.maps.assets`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ctxmap.analysis.aggregate import aggregate_incidents
from ctxmap.errors import InputError
from ctxmap.layers.crs import require_display_crs
from ctxmap.layers.flags import is_true
from ctxmap.layers.geometry import located_mask
from ctxmap.layers.schemas import LAYER_KINDS, STORAGE_CRS
from ctxmap.maps.assets import localize_in_place
from ctxmap.maps.base import (
    DEFAULT_PRECISION,
    FICTIONAL_HOMES_ATTRIBUTION,
    MapOptions,
    Outline,
    base_map,
    resolve_tiles_url,
)
from ctxmap.maps.geojson import feature_collection, point_collection
from ctxmap.maps.legend import (
    LEGEND,
    MARKER_SHAPES,
    Attributions,
    Legend,
    LegendEntry,
    legend_html,
    marker_class,
)
from ctxmap.maps.popups import UNNAMED, cell_popup_html, incident_popup_html, place_popup_html
from ctxmap.text import clean_text, esc, esc_plain

_AREA_LEVEL_ORDER: Final = ("district", "ward", "msoa", "lsoa", "other")
_AREA_SHOWN: Final = {"district": True, "ward": True, "msoa": False, "lsoa": False, "other": True}
_AREA_STYLE: Final[dict[str, dict[str, Any]]] = {
    "district": {"weight": 3, "fillOpacity": 0.0},
    "ward": {"weight": 1.5, "fillOpacity": 0.03},
    "msoa": {"weight": 1, "fillOpacity": 0.0, "dashArray": "4 3"},
    "lsoa": {"weight": 0.8, "fillOpacity": 0.0, "dashArray": "2 3"},
    "other": {"weight": 1, "fillOpacity": 0.02, "dashArray": "4 3"},
}
#: Colour of a context's area drawn over the layers.
CONTEXT_AREA_COLOUR: Final = "#6a1b9a"


def _check_layer(kind: str, gdf: object) -> gpd.GeoDataFrame:
    if kind not in LAYER_KINDS:
        raise InputError(f"unknown layer kind {kind!r}; expected one of: {', '.join(LAYER_KINDS)}")
    return require_display_crs(gdf, f"layer {kind!r}", "before building the map")


def _circle(colour: str, radius: float = 6.0) -> folium.CircleMarker:
    return folium.CircleMarker(
        radius=radius,
        color="#ffffff",
        weight=1,
        fill=True,
        fill_color=colour,
        fill_opacity=0.85,
    )


def _place_group(
    kind: str, gdf: gpd.GeoDataFrame, precision: int
) -> tuple[folium.FeatureGroup, int, bool] | None:
    located = gdf[located_mask(gdf)]
    if located.empty:
        return None
    entry = LEGEND[kind]
    any_fictional = False
    props: list[dict[str, Any]] = []
    for rec in located.drop(columns=located.geometry.name).to_dict("records"):
        fictional = kind == "homes" and is_true(rec.get("fictional"))
        any_fictional = any_fictional or fictional
        label = esc(rec.get("name")) or esc_plain(UNNAMED)
        if fictional:
            label += " (fictional)"
        props.append({"popup": place_popup_html(rec, fictional_label=fictional), "label": label})
    data = point_collection(
        located.geometry.x.to_numpy(), located.geometry.y.to_numpy(), props, precision
    )
    if entry.symbol in MARKER_SHAPES:  # a shape as well as a colour (see LEGEND)
        marker: folium.CircleMarker | folium.Marker = folium.Marker(
            icon=folium.DivIcon(
                html="<div></div>", icon_size=(14, 14), icon_anchor=(7, 7),
                class_name=f"ctxmap-mark ctxmap-{entry.symbol} {marker_class(kind)}",
            )
        )
    else:
        marker = _circle(entry.colour)
    return _points_group(entry.label, data, marker), len(located), any_fictional


def _area_groups(
    gdf: gpd.GeoDataFrame, precision: int
) -> list[tuple[folium.FeatureGroup, LegendEntry, int]]:
    located = gdf[located_mask(gdf)]
    if located.empty:
        return []
    levels = (
        located["level"].map(clean_text).str.lower()
        if "level" in located
        else pd.Series("other", index=located.index)
    )
    levels = levels.where(levels.isin(_AREA_LEVEL_ORDER[:-1]), "other")
    out: list[tuple[folium.FeatureGroup, LegendEntry, int]] = []
    for level in _AREA_LEVEL_ORDER:
        part = located[(levels == level).to_numpy()]
        if part.empty:
            continue
        entry = LEGEND[f"areas_{level}"]
        props = []
        for rec in part.drop(columns=part.geometry.name).to_dict("records"):
            name = esc(rec.get("name")) or esc(rec.get("id")) or "Unnamed area"
            props.append({"label": name})
        data = feature_collection(part.geometry.to_numpy(), props, precision, ids=True)
        style = {"color": entry.colour, "fillColor": entry.colour, **_AREA_STYLE[level]}
        group = folium.FeatureGroup(name=entry.label, show=_AREA_SHOWN[level])
        folium.GeoJson(
            data,
            name=entry.label,
            control=False,
            style_function=lambda _f, s=style: dict(s),
            tooltip=folium.GeoJsonTooltip(fields=["label"], labels=False, sticky=True),
        ).add_to(group)
        out.append((group, entry, len(part)))
    return out


def _incident_group(
    gdf: gpd.GeoDataFrame, options: MapOptions
) -> tuple[folium.FeatureGroup, str] | None:
    mask = located_mask(gdf)
    n_located = int(mask.sum())
    unmapped = len(gdf) - n_located
    entry = LEGEND["incidents"]
    if not n_located:
        return None
    precision = options.precision
    if n_located > options.incidents_cluster_threshold:
        cells = aggregate_incidents(gdf, max_cells=options.max_incident_cells)
        return incident_cells_group(cells, n_located, unmapped, precision=precision)
    located = gdf[mask]
    props = [
        {"popup": incident_popup_html(rec), "label": esc(rec.get("category")) or "Incident"}
        for rec in located.drop(columns=located.geometry.name).to_dict("records")
    ]
    data = point_collection(
        located.geometry.x.to_numpy(), located.geometry.y.to_numpy(), props, precision
    )
    return _incident_geojson(data, _circle(entry.colour, radius=5),
                             f"({n_located:,} mapped", unmapped)


def incident_cells_group(
    cells: gpd.GeoDataFrame, n_located: int, unmapped: int, *, precision: int = DEFAULT_PRECISION
) -> tuple[folium.FeatureGroup, str]:
    """The incident layer drawn from cells of :func:`ctxmap.analysis.aggregate.aggregate_incidents`.

    Returns the feature group and its legend detail (counts, cell size, unmapped).
    """
    entry = LEGEND["incidents"]
    biggest = int(cells["count"].max())
    props = []
    for rec in cells.drop(columns=cells.geometry.name).to_dict("records"):
        count = int(rec["count"])
        radius = round(3.0 + 11.0 * math.sqrt(count / biggest), 1)
        props.append(
            {
                "popup": cell_popup_html(rec),
                "label": f"{count} incident{'s' if count != 1 else ''}",
                "style": {"radius": radius},
            }
        )
    data = point_collection(
        cells.geometry.x.to_numpy(), cells.geometry.y.to_numpy(), props, precision
    )
    marker = _circle(entry.colour, radius=6)
    marker.options["fillOpacity"] = 0.6
    cell_m = float(cells["cell_m"].iloc[0])
    return _incident_geojson(
        data, marker, f"({n_located:,} mapped, grouped in {cell_m:.0f} m squares", unmapped)


def _points_group(
    label: str, data: dict[str, Any], marker: folium.CircleMarker | folium.Marker
) -> folium.FeatureGroup:
    """One toggled group of points whose ``popup`` and ``label`` properties are escaped HTML."""
    group = folium.FeatureGroup(name=label, show=True)
    folium.GeoJson(
        data,
        name=label,
        control=False,
        marker=marker,
        popup=folium.GeoJsonPopup(fields=["popup"], labels=False, localize=False),
        tooltip=folium.GeoJsonTooltip(fields=["label"], labels=False),
    ).add_to(group)
    return group


def _incident_geojson(
    data: dict[str, Any], marker: folium.CircleMarker, detail: str, unmapped: int
) -> tuple[folium.FeatureGroup, str]:
    entry = LEGEND["incidents"]
    if unmapped:
        detail += f"; {unmapped:,} without location not shown"
    detail += ")"
    return _points_group(entry.label, data, marker), detail


@dataclass
class MapLayers:
    """The feature groups of a map, with their legend lines and attributions."""

    groups: list[folium.FeatureGroup]
    legend: list[tuple[LegendEntry, str]]
    notes: list[str]
    attributions: list[str]
    bounds: tuple[float, float, float, float] | None


def build_feature_groups(
    layers: Mapping[str, gpd.GeoDataFrame], options: MapOptions | None = None
) -> MapLayers:
    """Build one :class:`folium.FeatureGroup` per drawn layer (areas: one per level).

    Useful on its own for streamlit-folium's ``feature_group_to_add``; :func:`build_map`
    adds the groups to a map. ``options`` are those of :func:`build_map` (only the
    incident, precision and attribution options are used).

    Raises
    ------
    InputError
        If a key is not a layer kind, a value is not a GeoDataFrame, or a non-empty
        layer is not in EPSG:4326.
    """
    options = options or MapOptions()
    checked = {kind: _check_layer(kind, gdf) for kind, gdf in layers.items()}
    built = MapLayers([], [], [], list(options.data_attributions), None)
    boxes: list[np.ndarray] = []
    for kind in LAYER_KINDS:  # drawing order: bottom first
        gdf = checked.get(kind)
        if gdf is None or gdf.empty:
            continue
        mask = located_mask(gdf)
        if mask.any():
            boxes.append(shapely.total_bounds(gdf.geometry.to_numpy()[mask]))
        if kind == "areas":
            for group, entry, n in _area_groups(gdf, options.precision):
                built.groups.append(group)
                built.legend.append((entry, f"({n:,})"))
        elif kind == "incidents":
            _add_incidents(built, gdf, options)
        else:
            _add_places(built, kind, gdf, options.precision)
    if boxes:
        stack = np.vstack(boxes)
        built.bounds = (
            float(stack[:, 0].min()),
            float(stack[:, 1].min()),
            float(stack[:, 2].max()),
            float(stack[:, 3].max()),
        )
    return built


def _add_incidents(built: MapLayers, gdf: gpd.GeoDataFrame, options: MapOptions) -> None:
    group = _incident_group(gdf, options)
    if group is not None:
        built.groups.append(group[0])
        built.legend.append((LEGEND["incidents"], group[1]))
    elif len(gdf):
        built.notes.append(f"{len(gdf):,} incidents have no location: none can be mapped")


def _add_places(built: MapLayers, kind: str, gdf: gpd.GeoDataFrame, precision: int) -> None:
    placed = _place_group(kind, gdf, precision)
    if placed is None:
        return
    group, n, fictional = placed
    built.groups.append(group)
    built.legend.append((LEGEND[kind], f"({n:,}{', fictional' if fictional else ''})"))
    if fictional and FICTIONAL_HOMES_ATTRIBUTION not in built.attributions:
        built.attributions.append(FICTIONAL_HOMES_ATTRIBUTION)
        built.notes.append(f"{FICTIONAL_HOMES_ATTRIBUTION}.")


def context_area_group(area: Any, label: str) -> folium.FeatureGroup:
    """A feature group drawing a context's area (a shapely geometry in EPSG:4326).

    ``label`` (plain text) names the group and is its tooltip (escaped). Pass the group
    to :func:`build_map` as one of ``extra_groups`` so the layer control lists it.
    """
    group = folium.FeatureGroup(name=esc_plain(label))
    folium.GeoJson(
        gpd.GeoSeries([area], crs=STORAGE_CRS).__geo_interface__,
        style_function=lambda _f: {"color": CONTEXT_AREA_COLOUR, "weight": 3,
                                   "fillOpacity": 0.08},
        tooltip=esc_plain(label),
    ).add_to(group)
    return group


def study_area_legend(area: Outline) -> Legend:
    """A legend box with the study area's one line, for maps without :func:`build_map`'s."""
    return Legend([(legend_html("Layers", [(LEGEND["study_area"], area.description)]), None)],
                  kind="layers")


def add_study_area(m: folium.Map, area: Outline | None) -> None:
    """Draw ``area``'s outline and its legend line on ``m`` (nothing when ``None``).

    For maps built without :func:`build_map` (the Nearby page's); add it before the
    layer control.
    """
    if area is None:
        return
    group, _entry, _detail = study_area_group(area.geometry, area.description)
    group.add_to(m)
    study_area_legend(area).add_to(m)


def study_area_group(area: Any, description: str) -> (
    tuple[folium.FeatureGroup, LegendEntry, str]
):
    """The study area's outline (a shapely geometry in EPSG:4326) as a feature group.

    ``description`` (plain text, e.g. ``"Rutland (393.7 km², from rutland_lad.geojson)"``)
    is its tooltip and legend detail. Returns ``(group, legend entry, detail)`` for
    :func:`build_map`'s ``extra_groups`` and ``extra_legend``.
    """
    entry = LEGEND["study_area"]
    group = folium.FeatureGroup(name=entry.label)
    folium.GeoJson(
        gpd.GeoSeries([area], crs=STORAGE_CRS).__geo_interface__,
        style_function=lambda _f: {"color": entry.colour, "weight": 3, "fill": False,
                                   "dashArray": "8 4"},
        tooltip=esc_plain(f"Study area: {description}"),
    ).add_to(group)
    return group, entry, description  # legend_html escapes the detail itself


def build_map(
    layers: Mapping[str, gpd.GeoDataFrame],
    options: MapOptions | None = None,
    *,
    extra_groups: Sequence[folium.FeatureGroup] = (),
    extra_legend: Sequence[tuple[LegendEntry, str]] = (),
) -> folium.Map:
    """Build the map of ``layers``: toggled feature groups, a legend and attributions.

    Parameters
    ----------
    layers
        Layers keyed by kind (:data:`ctxmap.layers.schemas.LAYER_KINDS`), in EPSG:4326 with
        canonical columns (missing optional columns are treated as empty). Absent
        or empty layers are skipped; incidents without a location are skipped and
        counted in the legend. Homes are drawn as given: leave them out of shared views.
    options
        Tiles, initial view, incident aggregation, attributions, assets
        (:class:`ctxmap.maps.base.MapOptions`; default: all defaults).
    extra_groups
        More feature groups (analysis layers, a context's area...) drawn above the
        data layers and listed in the layer control. Add layers here rather than
        after the map is built: Leaflet's layer control must come last.
    extra_legend
        Legend entries for ``extra_groups``, as ``(entry, detail)``.

    Returns
    -------
    folium.Map
        Not rendered. Every script and stylesheet points at ``options.assets_base_url``.

    Raises
    ------
    InputError
        If a layer kind is unknown, a layer is not a GeoDataFrame or not in EPSG:4326.
    """
    options = options or MapOptions()
    built = build_feature_groups(layers, options)
    if options.study_area is not None:
        outline, entry, detail = study_area_group(options.study_area.geometry,
                                                  options.study_area.description)
        extra_groups = [outline, *extra_groups]
        extra_legend = [*extra_legend, (entry, detail)]
    url = resolve_tiles_url(options.tiles_url)
    if options.center is not None:
        location = [float(options.center[0]), float(options.center[1])]
    elif built.bounds is not None:
        minx, miny, maxx, maxy = built.bounds
        location = [(miny + maxy) / 2.0, (minx + maxx) / 2.0]
    else:
        location = [54.0, -2.5]  # Great Britain, when there is nothing to show
    zoom = options.zoom if options.zoom is not None else (12 if built.bounds is not None else 6)
    m = base_map(location, zoom, url, options.attribution)
    for group in [*built.groups, *extra_groups]:
        group.add_to(m)
    legend = legend_html("Layers", [*built.legend, *extra_legend], built.notes)
    Legend([(legend, None)], kind="layers", white_background=url is None).add_to(m)
    Attributions([a for a in built.attributions
                  if url is None or a != options.attribution]).add_to(m)
    if options.layer_control and (built.groups or extra_groups):
        folium.LayerControl(collapsed=False, position="topright").add_to(m)
    if options.center is None and built.bounds is not None:
        minx, miny, maxx, maxy = built.bounds
        m.fit_bounds([[miny, minx], [maxy, maxx]], padding=(10, 10))
    return localize_in_place(m, options.assets_base_url)
