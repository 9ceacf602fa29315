"""Build the folium map of the layers (never renders it, never imports streamlit).

Each layer kind becomes a :class:`folium.FeatureGroup` toggled in a layer control;
area boundaries get one toggle per ``level``. Every piece of text that reaches a
popup, tooltip or legend is HTML-escaped here. Incidents above a threshold are
aggregated into grid cells so the page never holds thousands of markers. The map's
JavaScript and CSS are local files (see :mod:`ctxmap.maps.assets`).
"""

from __future__ import annotations

import html
import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any, Final, Literal

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import MacroElement
from jinja2 import Template
from pyproj import Transformer

from ctxmap.errors import InputError
from ctxmap.layers.crs import analysis_crs, require_display_crs
from ctxmap.layers.schemas import LAYER_KINDS, STORAGE_CRS
from ctxmap.maps.assets import DEFAULT_BASE_URL, localize_in_place
from ctxmap.text import clean_text, esc


class _Default(Enum):
    TOKEN = "default"


#: Sentinel for ``tiles_url``: use ``$CTXMAP_TILES_URL`` if set, else OpenStreetMap.
DEFAULT: Final = _Default.TOKEN

TILES_ENV_VAR: Final = "CTXMAP_TILES_URL"
OSM_TILES_URL: Final = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
OSM_ATTRIBUTION: Final = "© OpenStreetMap contributors"

POLICE_ATTRIBUTION: Final = (
    "Contains public sector information licensed under the Open Government Licence v3.0."
)
BOUNDARIES_ATTRIBUTION: Final = (
    "Contains National Statistics data © Crown copyright and database right 2014. "
    "Contains Ordnance Survey data © Crown copyright and database right 2014."
)
FICTIONAL_HOMES_ATTRIBUTION: Final = "Homes shown are fictional"

#: Attributions shown on every map: police.uk (OGL), OpenStreetMap (ODbL), ONS/OS (OGL).
DATA_ATTRIBUTIONS: Final[tuple[str, ...]] = (
    POLICE_ATTRIBUTION,
    OSM_ATTRIBUTION,
    BOUNDARIES_ATTRIBUTION,
)

#: Incidents drawn one marker each up to this many located rows; above it, aggregated.
DEFAULT_CLUSTER_THRESHOLD: Final = 1000
#: At most this many aggregated incident cells (the grid coarsens until it fits).
DEFAULT_MAX_CELLS: Final = 1500
#: Smallest aggregation cell, metres.
DEFAULT_MIN_CELL_M: Final = 50.0
#: Decimal places kept in coordinates (5 places ≈ 1 m).
DEFAULT_PRECISION: Final = 5


@dataclass(frozen=True)
class LegendEntry:
    """One line of the legend: a coloured symbol and a label."""

    key: str
    label: str
    colour: str
    symbol: Literal["circle", "diamond", "line", "dashed"]


#: Colours and labels of every drawable layer, in one place (legend and map use these).
LEGEND: Final[dict[str, LegendEntry]] = {
    "homes": LegendEntry("homes", "Homes", "#7b3294", "diamond"),
    "youth_centres": LegendEntry("youth_centres", "Youth centres", "#1a9850", "circle"),
    "safe_places": LegendEntry("safe_places", "Safe places", "#2166ac", "circle"),
    "incidents": LegendEntry("incidents", "Reported incidents", "#d73027", "circle"),
    "areas_district": LegendEntry("areas_district", "District outline", "#222222", "line"),
    "areas_ward": LegendEntry("areas_ward", "Wards", "#555555", "line"),
    "areas_msoa": LegendEntry("areas_msoa", "MSOAs", "#8c6d31", "dashed"),
    "areas_lsoa": LegendEntry("areas_lsoa", "LSOAs", "#888888", "dashed"),
    "areas_other": LegendEntry("areas_other", "Other areas", "#999999", "dashed"),
}

_AREA_LEVEL_ORDER: Final = ("district", "ward", "msoa", "lsoa", "other")
_AREA_SHOWN: Final = {"district": True, "ward": True, "msoa": False, "lsoa": False, "other": True}
_AREA_STYLE: Final[dict[str, dict[str, Any]]] = {
    "district": {"weight": 3, "fillOpacity": 0.0},
    "ward": {"weight": 1.5, "fillOpacity": 0.03},
    "msoa": {"weight": 1, "fillOpacity": 0.0, "dashArray": "4 3"},
    "lsoa": {"weight": 0.8, "fillOpacity": 0.0, "dashArray": "2 3"},
    "other": {"weight": 1, "fillOpacity": 0.02, "dashArray": "4 3"},
}
_UNNAMED: Final = "Unnamed place"
_TRUE_STRINGS: Final = frozenset({"true", "t", "yes", "y", "1"})


# ----------------------------------------------------------------------------- text


def is_true(value: object) -> bool:
    """Tell whether a ``fictional``-style cell means true (bool, 1, "true", "yes")."""
    if value is None or value is pd.NA:
        return False
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | float | np.integer | np.floating):
        return not math.isnan(float(value)) and float(value) == 1.0
    return str(value).strip().lower() in _TRUE_STRINGS


def _row(row: Mapping[str, object], key: str) -> object:
    return row.get(key) if key in row else None


def place_popup_html(row: Mapping[str, object], *, fictional_label: bool = False) -> str:
    """Return the escaped popup HTML of one place (name, category, address, hours).

    Parameters
    ----------
    row
        A place row (mapping of canonical column names to values; missing keys are
        treated as empty).
    fictional_label
        Add " (fictional)" after the name.
    """
    name = esc(_row(row, "name")) or html.escape(_UNNAMED)
    title = f"<b>{name}</b>"
    if fictional_label:
        title += " <i>(fictional)</i>"
    parts = [title]
    for label, key in (
        ("Category", "category"),
        ("Address", "address"),
        ("Opening hours", "opening_hours"),
    ):
        value = esc(_row(row, key))
        if value:
            parts.append(f"{label}: {value}")
    return "<br>".join(parts)


def incident_popup_html(row: Mapping[str, object]) -> str:
    """Return the escaped popup HTML of one incident (category, month, location, outcome)."""
    title = esc(_row(row, "category")) or "Incident"
    parts = [f"<b>{title}</b>"]
    for label, key in (("Month", "month"), ("Location", "location"), ("Outcome", "outcome")):
        value = esc(_row(row, key))
        if value:
            parts.append(f"{label}: {value}")
    return "<br>".join(parts)


# ----------------------------------------------------------------------------- checks


def _check_layer(kind: str, gdf: object) -> gpd.GeoDataFrame:
    if kind not in LAYER_KINDS:
        raise InputError(f"unknown layer kind {kind!r}; expected one of: {', '.join(LAYER_KINDS)}")
    return require_display_crs(gdf, f"layer {kind!r}", "before building the map")


def _located_mask(gdf: gpd.GeoDataFrame) -> np.ndarray:
    """True for rows with a non-empty geometry (no copy of the frame)."""
    geoms = gdf.geometry.to_numpy()
    return ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))


def _located(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return gdf[_located_mask(gdf)]


def resolve_tiles_url(
    tiles_url: str | _Default | None = DEFAULT, env: Mapping[str, str] | None = None
) -> str | None:
    """Return the tile URL to use, or ``None`` for no basemap.

    ``DEFAULT`` reads ``$CTXMAP_TILES_URL`` (an empty value means no basemap) and falls
    back to OpenStreetMap's standard tiles; ``""`` and ``None`` mean no basemap.
    """
    if tiles_url is DEFAULT:
        environ = os.environ if env is None else env
        tiles_url = environ.get(TILES_ENV_VAR, OSM_TILES_URL)
    if not tiles_url:
        return None
    return str(tiles_url)


# ----------------------------------------------------------------------------- geometry


def _round_geoms(geoms: np.ndarray, precision: int) -> np.ndarray:
    return shapely.transform(geoms, lambda c: np.round(c, precision))


def _feature_collection(
    geoms: np.ndarray, properties: Sequence[dict[str, Any]], precision: int
) -> dict[str, Any]:
    rounded = _round_geoms(np.asarray(geoms, dtype=object), precision)
    features = [
        {
            "type": "Feature",
            "id": str(i),
            "properties": props,
            "geometry": json.loads(shapely.to_geojson(g)),
        }
        for i, (g, props) in enumerate(zip(rounded, properties, strict=True))
    ]
    return {"type": "FeatureCollection", "features": features}


def _point_collection(
    xs: np.ndarray, ys: np.ndarray, properties: Sequence[dict[str, Any]], precision: int
) -> dict[str, Any]:
    xs = np.round(np.asarray(xs, dtype=float), precision)
    ys = np.round(np.asarray(ys, dtype=float), precision)
    features = [
        {
            "type": "Feature",
            "properties": props,
            "geometry": {"type": "Point", "coordinates": [float(x), float(y)]},
        }
        for x, y, props in zip(xs, ys, properties, strict=True)
    ]
    return {"type": "FeatureCollection", "features": features}


# ----------------------------------------------------------------------------- aggregation


def aggregate_incidents(
    incidents: gpd.GeoDataFrame,
    *,
    max_cells: int = DEFAULT_MAX_CELLS,
    min_cell_m: float = DEFAULT_MIN_CELL_M,
    top: int = 3,
) -> gpd.GeoDataFrame:
    """Aggregate located incidents into square grid cells (for a light map).

    The grid is laid in the layer's metric CRS (:func:`ctxmap.layers.crs.analysis_crs`)
    starting at ``min_cell_m`` and doubling until at most ``max_cells`` cells are
    occupied. Each cell is represented by the mean position of its incidents.

    Parameters
    ----------
    incidents
        Incident layer in EPSG:4326; rows with null/empty geometry are ignored.
    max_cells
        Upper bound on the number of rows returned (>= 1).
    min_cell_m
        Smallest cell side, metres (> 0).
    top
        How many most frequent categories to list per cell.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per occupied cell, EPSG:4326, columns ``count`` (int), ``cell_m``
        (float), ``top_categories`` (str, e.g. ``"Drugs (3); Robbery (1)"``),
        ``first_month``, ``last_month`` (str, may be empty) and point ``geometry``;
        sorted by descending count. The counts add up to the number of located rows.

    Raises
    ------
    InputError
        If ``max_cells`` < 1 or ``min_cell_m`` <= 0.
    """
    if max_cells < 1:
        raise InputError(f"max_cells is {max_cells}; expected at least 1")
    if not min_cell_m > 0:
        raise InputError(f"min_cell_m is {min_cell_m}; expected a positive number of metres")
    return aggregate_arrays(incident_arrays(incidents), None, max_cells=max_cells,
                            min_cell_m=min_cell_m, top=top)


@dataclass(frozen=True)
class IncidentArrays:
    """The located incidents as arrays: what aggregation needs, prepared once.

    Attributes
    ----------
    xs, ys
        Metric coordinates (``metric_crs``).
    cat_codes, cat_names
        Category code per incident (index into ``cat_names``, cleaned for display;
        the last name is ``"Uncategorised"``).
    month_codes, month_names
        Month code per incident (index into the sorted ``month_names``; -1: none).
    metric_crs
        The CRS of ``xs``/``ys``.
    """

    xs: np.ndarray
    ys: np.ndarray
    cat_codes: np.ndarray
    cat_names: list[str]
    month_codes: np.ndarray
    month_names: list[str]
    metric_crs: str


def incident_arrays(incidents: gpd.GeoDataFrame) -> IncidentArrays:
    """Prepare the located rows of an incident layer (EPSG:4326) for aggregation."""
    mask = _located_mask(incidents)
    points = incidents.geometry.to_numpy()[mask]
    if len(points):
        extent = gpd.GeoDataFrame(geometry=[shapely.box(*shapely.total_bounds(points))],
                                  crs=incidents.crs)
        metric_crs = analysis_crs(extent)
    else:
        metric_crs = "EPSG:27700"
    lonlat = shapely.get_coordinates(points)
    to_m = Transformer.from_crs(STORAGE_CRS, metric_crs, always_xy=True)
    xs, ys = to_m.transform(lonlat[:, 0], lonlat[:, 1])
    if "category" in incidents:
        cat_codes, cats = pd.factorize(
            incidents["category"].astype("object").to_numpy()[mask], sort=True)
    else:
        cat_codes, cats = np.full(len(points), -1), pd.Index([])
    names = [clean_text(c) or "Uncategorised" for c in cats] + ["Uncategorised"]
    cat_codes = np.where(cat_codes < 0, len(names) - 1, cat_codes)
    month_codes = np.full(len(points), -1, dtype=np.int64)
    month_names: list[str] = []
    if "month" in incidents:
        raw_codes, raw_months = pd.factorize(incidents["month"].astype("object").to_numpy()[mask])
        cleaned = np.array([clean_text(v) for v in raw_months] + [""], dtype=object)
        month = cleaned[np.where(raw_codes < 0, len(raw_months), raw_codes)]  # clean uniques only
        has = month != ""
        if has.any():
            m_codes, m_names = pd.factorize(month[has], sort=True)
            month_codes[has] = m_codes
            month_names = [str(m) for m in m_names]
    return IncidentArrays(np.asarray(xs, float), np.asarray(ys, float), cat_codes.astype(np.int64),
                          names, month_codes, month_names, metric_crs)


def aggregate_arrays(
    arrays: IncidentArrays,
    select: np.ndarray | None,
    *,
    max_cells: int = DEFAULT_MAX_CELLS,
    min_cell_m: float = DEFAULT_MIN_CELL_M,
    top: int = 3,
) -> gpd.GeoDataFrame:
    """Aggregate the ``select``-ed prepared incidents (all when ``select`` is None).

    Returns the cells :func:`aggregate_incidents` describes.
    """
    columns = ["count", "cell_m", "top_categories", "first_month", "last_month"]
    xs, ys = arrays.xs, arrays.ys
    cats, months = arrays.cat_codes, arrays.month_codes
    if select is not None:
        xs, ys, cats, months = xs[select], ys[select], cats[select], months[select]
    if not len(xs):
        return gpd.GeoDataFrame(
            {c: pd.Series(dtype="object") for c in columns}, geometry=[], crs=STORAGE_CRS
        )
    cell = float(min_cell_m)
    while True:
        ix = np.floor(xs / cell).astype(np.int64)
        iy = np.floor(ys / cell).astype(np.int64)
        # one integer key per cell (metric coordinates are far below 2**31 cells)
        codes, uniques = pd.factorize(ix * (1 << 32) + iy)
        if len(uniques) <= max_cells:
            break
        cell *= 2.0
    n_cells = len(uniques)
    counts = np.bincount(codes, minlength=n_cells)
    mean_x = np.bincount(codes, weights=xs, minlength=n_cells) / counts
    mean_y = np.bincount(codes, weights=ys, minlength=n_cells) / counts

    # the most frequent categories per cell, from one (cell x category) count matrix
    names = arrays.cat_names
    per_cat = np.bincount(codes * len(names) + cats,
                          minlength=n_cells * len(names)).reshape(n_cells, len(names))
    order = np.argsort(-per_cat, axis=1, kind="stable")  # ties: alphabetical (sorted codes)
    tops = [
        "; ".join(f"{names[j]} ({per_cat[i, j]})" for j in order[i, :top] if per_cat[i, j])
        for i in range(n_cells)
    ]
    # first and last month per cell, from a (cell x month) count matrix
    first = np.full(n_cells, "", dtype=object)
    last = np.full(n_cells, "", dtype=object)
    has = months >= 0
    if has.any():
        n_m = len(arrays.month_names)
        per_month = np.bincount(codes[has] * n_m + months[has],
                                minlength=n_cells * n_m).reshape(n_cells, n_m) > 0
        seen = per_month.any(axis=1)
        m_names = np.asarray(arrays.month_names, dtype=object)
        first[seen] = m_names[per_month[seen].argmax(axis=1)]
        last[seen] = m_names[n_m - 1 - per_month[seen][:, ::-1].argmax(axis=1)]
    to_ll = Transformer.from_crs(arrays.metric_crs, STORAGE_CRS, always_xy=True)
    lon, lat = to_ll.transform(mean_x, mean_y)
    out = gpd.GeoDataFrame(
        {
            "count": counts.astype(np.int64),
            "cell_m": np.full(n_cells, cell),
            "top_categories": tops,
            "first_month": [str(v) for v in first],
            "last_month": [str(v) for v in last],
        },
        geometry=gpd.points_from_xy(lon, lat),
        crs=STORAGE_CRS,
    )
    return out.sort_values("count", ascending=False, kind="stable").reset_index(drop=True)


def cell_popup_html(row: Mapping[str, object]) -> str:
    """Return the escaped popup HTML of one aggregated incident cell."""
    count = int(row["count"])  # type: ignore[call-overload]
    cell_m = float(row["cell_m"])  # type: ignore[arg-type]
    noun = "incident" if count == 1 else "incidents"
    parts = [f"<b>{count} {noun}</b> in this {cell_m:.0f} m square"]
    top = esc(row.get("top_categories"))
    if top:
        parts.append(f"Most common: {top}")
    first, last = clean_text(row.get("first_month")), clean_text(row.get("last_month"))
    if first:
        span = first if first == last else f"{first} to {last}"
        parts.append(f"Months: {esc(span)}")
    return "<br>".join(parts)


# ----------------------------------------------------------------------------- elements


class _Legend(MacroElement):
    """A Leaflet control holding the legend's (already escaped) HTML."""

    _template = Template(
        """
        {% macro header(this, kwargs) %}
        <style>
        .ctxmap-legend { background: rgba(255,255,255,0.92); padding: 6px 8px; font: 12px/1.5
          system-ui, sans-serif; border-radius: 4px; box-shadow: 0 1px 4px rgba(0,0,0,0.3);
          max-width: 260px; color: #222; }
        .ctxmap-legend .sym { display: inline-block; width: 12px; height: 12px;
          margin-right: 6px; vertical-align: -1px; box-sizing: border-box; }
        .ctxmap-legend .circle { border-radius: 50%; border: 1px solid #fff; }
        .ctxmap-legend .diamond { transform: rotate(45deg) scale(0.8); border: 1px solid #fff; }
        .ctxmap-legend .line { height: 0; border-top: 3px solid; vertical-align: 3px; }
        .ctxmap-legend .dashed { height: 0; border-top: 2px dashed; vertical-align: 3px; }
        .ctxmap-legend .note { color: #555; font-size: 11px; }
        .ctxmap-home div { width: 12px; height: 12px; background: {{ this.home_colour }};
          border: 2px solid #fff; box-shadow: 0 0 0 1px {{ this.home_colour }};
          transform: rotate(45deg); box-sizing: border-box; }
        .leaflet-control-attribution { font-size: 10px; line-height: 1.35; max-width: 55%; }
        .leaflet-control-layers { font-size: 13px; }
        {% if this.white_background %}.leaflet-container { background: #fff; }{% endif %}
        </style>
        {% endmacro %}
        {% macro script(this, kwargs) %}
        (function () {
            var legend = L.control({position: "bottomleft"});
            legend.onAdd = function () {
                var div = L.DomUtil.create("div", "ctxmap-legend");
                div.innerHTML = {{ this.html_json }};
                L.DomEvent.disableClickPropagation(div);
                return div;
            };
            legend.addTo({{ this._parent.get_name() }});
            {% for text in this.attributions_json %}
            {{ this._parent.get_name() }}.attributionControl.addAttribution({{ text }});
            {% endfor %}
        })();
        {% endmacro %}
        """
    )

    def __init__(
        self, legend_html: str, attributions: Sequence[str], *, white_background: bool
    ) -> None:
        super().__init__()
        self._name = "CtxmapLegend"
        self.html_json = js_string(legend_html)
        self.attributions_json = [js_string(html.escape(a, quote=True)) for a in attributions]
        self.white_background = white_background
        self.home_colour = LEGEND["homes"].colour


def js_string(text: str) -> str:
    """Return ``text`` as a JavaScript string literal safe inside a ``<script>`` element.

    JSON-encoded, with ``<``, ``>``, ``&`` and the JavaScript line separators escaped,
    so no user string can close the script or start a tag.
    """
    return (
        json.dumps(text, ensure_ascii=False)
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def legend_html(entries: Sequence[tuple[LegendEntry, str]], notes: Sequence[str] = ()) -> str:
    """Return the legend's HTML: one line per ``(entry, detail)``, then notes (all escaped)."""
    lines = ["<b>Layers</b>"]
    for entry, detail in entries:
        colour = html.escape(entry.colour, quote=True)
        if entry.symbol in ("line", "dashed"):
            style = f"border-color:{colour}"
        else:
            style = f"background:{colour}"
        sym = f'<span class="sym {entry.symbol}" style="{style}"></span>'
        text = html.escape(entry.label)
        if detail:
            text += f' <span class="note">{html.escape(detail)}</span>'
        lines.append(f"{sym}{text}")
    lines.extend(f'<span class="note">{html.escape(n)}</span>' for n in notes)
    return "<br>".join(lines)


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
    located = _located(gdf)
    if located.empty:
        return None
    entry = LEGEND[kind]
    any_fictional = False
    props: list[dict[str, Any]] = []
    for rec in located.drop(columns=located.geometry.name).to_dict("records"):
        fictional = kind == "homes" and is_true(rec.get("fictional"))
        any_fictional = any_fictional or fictional
        label = esc(rec.get("name")) or html.escape(_UNNAMED)
        if fictional:
            label += " (fictional)"
        props.append({"popup": place_popup_html(rec, fictional_label=fictional), "label": label})
    data = _point_collection(
        located.geometry.x.to_numpy(), located.geometry.y.to_numpy(), props, precision
    )
    if kind == "homes":
        marker: folium.CircleMarker | folium.Marker = folium.Marker(
            icon=folium.DivIcon(
                html="<div></div>", class_name="ctxmap-home", icon_size=(12, 12), icon_anchor=(6, 6)
            )
        )
    else:
        marker = _circle(entry.colour)
    return _points_group(entry.label, data, marker), len(located), any_fictional


def _area_groups(
    gdf: gpd.GeoDataFrame, precision: int
) -> list[tuple[folium.FeatureGroup, LegendEntry, int]]:
    located = _located(gdf)
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
        data = _feature_collection(part.geometry.to_numpy(), props, precision)
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
    gdf: gpd.GeoDataFrame, threshold: int, max_cells: int, precision: int
) -> tuple[folium.FeatureGroup, str] | None:
    mask = _located_mask(gdf)
    n_located = int(mask.sum())
    unmapped = len(gdf) - n_located
    entry = LEGEND["incidents"]
    if not n_located:
        return None
    if n_located > threshold:
        cells = aggregate_incidents(gdf, max_cells=max_cells)
        return incident_cells_group(cells, n_located, unmapped, precision=precision)
    located = gdf[mask]
    props = [
        {"popup": incident_popup_html(rec), "label": esc(rec.get("category")) or "Incident"}
        for rec in located.drop(columns=located.geometry.name).to_dict("records")
    ]
    data = _point_collection(
        located.geometry.x.to_numpy(), located.geometry.y.to_numpy(), props, precision
    )
    return _incident_geojson(data, _circle(entry.colour, radius=5),
                             f"({n_located:,} mapped", unmapped)


def incident_cells_group(
    cells: gpd.GeoDataFrame, n_located: int, unmapped: int, *, precision: int = DEFAULT_PRECISION
) -> tuple[folium.FeatureGroup, str]:
    """The incident layer drawn from cells of :func:`aggregate_incidents` (or an index).

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
    data = _point_collection(
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
    layers: Mapping[str, gpd.GeoDataFrame],
    *,
    incidents_cluster_threshold: int = DEFAULT_CLUSTER_THRESHOLD,
    max_incident_cells: int = DEFAULT_MAX_CELLS,
    precision: int = DEFAULT_PRECISION,
    data_attributions: Sequence[str] = DATA_ATTRIBUTIONS,
) -> MapLayers:
    """Build one :class:`folium.FeatureGroup` per drawn layer (areas: one per level).

    Useful on its own for streamlit-folium's ``feature_group_to_add``; :func:`build_map`
    adds the groups to a map. Parameters are those of :func:`build_map`.

    Raises
    ------
    InputError
        If a key is not a layer kind, a value is not a GeoDataFrame, or a non-empty
        layer is not in EPSG:4326.
    """
    checked = {kind: _check_layer(kind, gdf) for kind, gdf in layers.items()}
    groups: list[folium.FeatureGroup] = []
    legend: list[tuple[LegendEntry, str]] = []
    notes: list[str] = []
    attributions = list(data_attributions)
    boxes: list[np.ndarray] = []
    for kind in LAYER_KINDS:  # drawing order: bottom first
        gdf = checked.get(kind)
        if gdf is None or gdf.empty:
            continue
        mask = _located_mask(gdf)
        if mask.any():
            boxes.append(shapely.total_bounds(gdf.geometry.to_numpy()[mask]))
        if kind == "areas":
            for group, entry, n in _area_groups(gdf, precision):
                groups.append(group)
                legend.append((entry, f"({n:,})"))
        elif kind == "incidents":
            built = _incident_group(gdf, incidents_cluster_threshold, max_incident_cells,
                                    precision)
            if built is not None:
                groups.append(built[0])
                legend.append((LEGEND["incidents"], built[1]))
            elif len(gdf):
                notes.append(f"{len(gdf):,} incidents have no location: none can be mapped")
        else:
            placed = _place_group(kind, gdf, precision)
            if placed is None:
                continue
            group, n, fictional = placed
            groups.append(group)
            detail = f"({n:,}{', fictional' if fictional else ''})"
            legend.append((LEGEND[kind], detail))
            if fictional and FICTIONAL_HOMES_ATTRIBUTION not in attributions:
                attributions.append(FICTIONAL_HOMES_ATTRIBUTION)
                notes.append(f"{FICTIONAL_HOMES_ATTRIBUTION}.")
    bounds = None
    if boxes:
        stack = np.vstack(boxes)
        bounds = (
            float(stack[:, 0].min()),
            float(stack[:, 1].min()),
            float(stack[:, 2].max()),
            float(stack[:, 3].max()),
        )
    return MapLayers(groups, legend, notes, attributions, bounds)


def base_map(
    location: Sequence[float], zoom: int, url: str | None, attribution: str = OSM_ATTRIBUTION
) -> folium.Map:
    """An empty map at ``location`` (lat, lon) with the basemap ``url`` (None: no tiles).

    ``url`` is a resolved tile URL (see :func:`resolve_tiles_url`); the attribution is
    HTML-escaped.
    """
    m = folium.Map(
        location=[float(location[0]), float(location[1])],
        zoom_start=zoom,
        tiles=None,
        control_scale=True,
        max_zoom=19,
    )
    if url is not None:
        folium.TileLayer(
            tiles=url,
            attr=html.escape(attribution, quote=True),
            name="Basemap",
            max_zoom=19,
            control=False,
        ).add_to(m)
    return m


def build_map(
    layers: Mapping[str, gpd.GeoDataFrame],
    *,
    tiles_url: str | _Default | None = DEFAULT,
    attribution: str = OSM_ATTRIBUTION,
    incidents_cluster_threshold: int = DEFAULT_CLUSTER_THRESHOLD,
    max_incident_cells: int = DEFAULT_MAX_CELLS,
    center: tuple[float, float] | None = None,
    zoom: int | None = None,
    precision: int = DEFAULT_PRECISION,
    data_attributions: Sequence[str] = DATA_ATTRIBUTIONS,
    assets_base_url: str = DEFAULT_BASE_URL,
    extra_groups: Sequence[folium.FeatureGroup] = (),
    extra_legend: Sequence[tuple[LegendEntry, str]] = (),
    layer_control: bool = True,
) -> folium.Map:
    """Build the map of ``layers``: toggled feature groups, a legend and attributions.

    Parameters
    ----------
    layers
        Layers keyed by kind (:data:`ctxmap.layers.schemas.LAYER_KINDS`), in EPSG:4326 with
        canonical columns (missing optional columns are treated as empty). Absent
        or empty layers are skipped; incidents without a location are skipped and
        counted in the legend. Homes are drawn as given: leave them out of shared views.
    tiles_url
        Basemap tile URL template. ``DEFAULT`` uses ``$CTXMAP_TILES_URL`` if set,
        else OpenStreetMap; ``""`` or ``None`` draws no basemap (white background).
    attribution
        Attribution of the tiles (HTML-escaped).
    incidents_cluster_threshold
        Up to this many located incidents are drawn one marker each; more are
        aggregated into grid cells (:func:`aggregate_incidents`).
    max_incident_cells
        Upper bound on aggregated incident markers.
    center, zoom
        Initial view as ``(lat, lon)`` and zoom level. Without ``center`` the map
        fits the data's bounds.
    precision
        Decimal places kept in coordinates.
    data_attributions
        Data source attributions shown on the map (default: police.uk, OSM, ONS/OS);
        "Homes shown are fictional" is added when a home is fictional.
    assets_base_url
        URL prefix of the local JavaScript/CSS (see :mod:`ctxmap.maps.assets`).
    extra_groups
        More feature groups (analysis layers, a context's area...) drawn above the
        data layers and listed in the layer control. Add layers here rather than
        after the map is built: Leaflet's layer control must come last.
    extra_legend
        Legend entries for ``extra_groups``, as ``(entry, detail)``.
    layer_control
        Add the layer control. Leave it out when the caller adds one later, e.g. with
        groups that streamlit-folium swaps in without redrawing the map.

    Returns
    -------
    folium.Map
        Not rendered. Every script and stylesheet points at ``assets_base_url``.

    Raises
    ------
    InputError
        If a layer kind is unknown, a layer is not a GeoDataFrame or not in EPSG:4326,
        or ``incidents_cluster_threshold``/``max_incident_cells`` is negative/zero.
    """
    if incidents_cluster_threshold < 0:
        raise InputError(
            f"incidents_cluster_threshold is {incidents_cluster_threshold}; expected >= 0"
        )
    if max_incident_cells < 1:
        raise InputError(f"max_incident_cells is {max_incident_cells}; expected >= 1")
    built = build_feature_groups(
        layers,
        incidents_cluster_threshold=incidents_cluster_threshold,
        max_incident_cells=max_incident_cells,
        precision=precision,
        data_attributions=data_attributions,
    )
    url = resolve_tiles_url(tiles_url)
    if center is not None:
        location = [float(center[0]), float(center[1])]
    elif built.bounds is not None:
        minx, miny, maxx, maxy = built.bounds
        location = [(miny + maxy) / 2.0, (minx + maxx) / 2.0]
    else:
        location = [54.0, -2.5]  # Great Britain, when there is nothing to show
    m = base_map(
        location,
        zoom if zoom is not None else (12 if built.bounds is not None else 6),
        url,
        attribution,
    )
    for group in [*built.groups, *extra_groups]:
        group.add_to(m)
    attributions = [a for a in built.attributions if url is None or a != attribution]
    _Legend(
        legend_html([*built.legend, *extra_legend], built.notes), attributions,
        white_background=url is None,
    ).add_to(m)
    if layer_control and (built.groups or extra_groups):
        folium.LayerControl(collapsed=False, position="topright").add_to(m)
    if center is None and built.bounds is not None:
        minx, miny, maxx, maxy = built.bounds
        m.fit_bounds([[miny, minx], [maxy, maxx]], padding=(10, 10))
    return localize_in_place(m, assets_base_url)
