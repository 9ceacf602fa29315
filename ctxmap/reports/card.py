"""Build the printable "safe places near …" card and the maps of the Nearby page.

The card is ONE self-contained HTML page (the map's JavaScript and CSS inlined by
:func:`ctxmap.maps.export.standalone_html`, so it opens offline) with print CSS for one A4
page: a heading, the map, and the list of the nearest protective places with names,
addresses, opening hours and walking times. It has no field for a young person's name.
The start point is labelled only "Start" on the map, never with a home's name or
address. Every user-supplied string is HTML-escaped here (:func:`ctxmap.maps.layers.esc`).
"""

from __future__ import annotations

import datetime as dt
import html
import json
import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import folium
import geopandas as gpd
import pandas as pd
import shapely
from branca.element import MacroElement
from jinja2 import Template

from ctxmap.errors import InputError
from ctxmap.layers.schemas import STORAGE_CRS
from ctxmap.maps.assets import DEFAULT_BASE_URL, localize_in_place
from ctxmap.maps.export import standalone_html
from ctxmap.maps.layers import (
    DEFAULT,
    LEGEND,
    OSM_ATTRIBUTION,
    _Default,
    base_map,
    build_feature_groups,
    clean_text,
    esc,
    js_string,
    resolve_tiles_url,
)
from ctxmap.nearby.origins import Origin

#: How place layers are called on the page and the card.
LAYER_LABELS: Final[dict[str, str]] = {
    "safe_places": "Safe place",
    "youth_centres": "Youth centre",
    "homes": "Home",
}

#: Columns of :func:`nearby_table`, in order.
TABLE_COLUMNS: Final[tuple[str, ...]] = (
    "#",
    "Place",
    "Walk (min)",
    "Walk (m)",
    "Straight line (m)",
    "Open then",
    "Type",
    "Category",
    "Address",
    "Opening hours",
)

#: Walk times on the card are rounded up to whole minutes.
_START_HTML: Final = (
    '<div style="background:#111;color:#fff;font:bold 13px sans-serif;padding:3px 6px;'
    'border-radius:4px;border:2px solid #fff;white-space:nowrap;box-shadow:0 1px 3px #0008">'
    "Start</div>"
)
_ROUTE_COLOUR: Final = "#333333"
_GAP_COLOUR: Final = "#d7301f"
_COVERED_COLOUR: Final = "#1a9850"
_AREA_COLOUR: Final = "#2166ac"

_CARD_CSS: Final = """
html, body { height: auto !important; width: auto !important; }
body { margin: 0 auto !important; padding: 16px !important; max-width: 190mm;
  font-family: Arial, Helvetica, sans-serif; font-size: 17px; line-height: 1.35;
  color: #111; background: #fff; }
.card-head h1 { font-size: 28px; margin: 0 0 4px 0; }
.card-head p { margin: 2px 0; }
.folium-map { height: 88mm !important; width: 100% !important;
  border: 1px solid #999; margin: 8px 0; }
.card-list { width: 100%; border-collapse: collapse; font-size: 16px; }
.card-list th, .card-list td { text-align: left; vertical-align: top; padding: 4px 6px;
  border-bottom: 1px solid #bbb; }
.card-list th { font-size: 14px; text-transform: uppercase; color: #333; }
.card-list td.num { font-weight: bold; font-size: 20px; }
.card-list .walk { white-space: nowrap; font-weight: bold; }
.small { font-size: 14px; color: #333; }
.estimate { border-left: 5px solid #b35806; padding: 4px 8px; background: #fff4e5; }
.emergency { font-weight: bold; font-size: 19px; margin: 8px 0; }
.card-foot { font-size: 12px; color: #444; margin-top: 10px; }
.print-button { font-size: 16px; padding: 6px 14px; margin: 6px 0; }
.ctx-num { background: #2166ac; color: #fff; font: bold 14px sans-serif; width: 24px;
  height: 24px; line-height: 24px; text-align: center; border-radius: 50%;
  border: 2px solid #fff; box-shadow: 0 1px 3px #0008; }
@page { size: A4 portrait; margin: 9mm 10mm; }
@media print {
  body { max-width: none; padding: 0 !important; font-size: 11pt; line-height: 1.2; }
  .card-head h1 { font-size: 18pt; }
  .card-head p { margin: 1px 0; }
  .card-list { font-size: 10pt; }
  .card-list th { font-size: 8pt; }
  .card-list th, .card-list td { padding: 2px 4px; }
  .card-list td.num { font-size: 12pt; }
  .small { font-size: 8.5pt; }
  .emergency { font-size: 12pt; margin: 4px 0; }
  .estimate { padding: 2px 6px; margin: 4px 0; font-size: 9.5pt; }
  .card-foot { font-size: 8pt; margin-top: 4px; }
  .folium-map { height: 78mm !important; margin: 4px 0; }
  .no-print, .leaflet-control-zoom, .leaflet-control-layers { display: none !important; }
  .card-list tr { page-break-inside: avoid; break-inside: avoid; }
}
"""

_NUM_STYLE: Final = (
    "background:#2166ac;color:#fff;font:bold 14px sans-serif;width:24px;height:24px;"
    "line-height:24px;text-align:center;border-radius:50%;border:2px solid #fff;"
    "box-shadow:0 1px 3px #0008"
)


# ----------------------------------------------------------------------------- text


def is_estimate(basis: str) -> bool:
    """Tell whether a ``walk_basis`` means walking times are estimates (no street network)."""
    return str(basis).strip().lower().startswith("estimate")


def estimate_notice(basis: str) -> str:
    """Return the plain-text sentence saying walking times are estimates (``basis`` explains how).

    ``basis`` is e.g. ``"estimate: straight line x1.3 at 4.8 km/h"``.
    """
    how = str(basis).split(":", 1)[1].strip() if ":" in str(basis) else str(basis)
    return (
        f"Walking times are estimates ({how}), not measured along streets: real walks "
        "can be longer, for example around rivers, railways or busy roads."
    )


def walk_text(minutes: object) -> str:
    """Return a walk time for people: ``"7 min"`` (rounded up), ``"under 1 min"`` or ``"—"``."""
    try:
        value = float(minutes)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "—"
    if not math.isfinite(value) or value < 0:
        return "—"
    if value < 1:
        return "under 1 min"
    return f"{math.ceil(value - 1e-9):d} min"


def distance_text(metres: object) -> str:
    """Return a distance for people: ``"450 m"`` (to 10 m) or ``"1.3 km"``; ``"—"`` when unknown."""
    try:
        value = float(metres)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "—"
    if not math.isfinite(value) or value < 0:
        return "—"
    if value < 1000:
        return f"{round(value, -1):.0f} m"
    return f"{value / 1000:.1f} km"


def when_text(when: dt.datetime | None) -> str:
    """Return a moment for people, e.g. ``"Saturday 12 January 2019, 21:00"``."""
    if when is None:
        return "not checked"
    return f"{when:%A} {when.day} {when:%B %Y, %H:%M}"


_DAYS: Final[dict[str, str]] = {
    "Mo": "Mon",
    "Tu": "Tue",
    "We": "Wed",
    "Th": "Thu",
    "Fr": "Fri",
    "Sa": "Sat",
    "Su": "Sun",
    "PH": "bank holidays",
}
_DAY_RE: Final = re.compile(r"\b(Mo|Tu|We|Th|Fr|Sa|Su|PH)\b")


def hours_text(opening_hours: object) -> str:
    """Return OSM opening hours a little easier to read; ``"unknown"`` when missing.

    ``"Mo-Fr 09:00-17:00;Sa 10:00-13:00"`` becomes ``"Mon-Fri 09:00-17:00; Sat 10:00-13:00"``.
    Quoted comments are left as they are. Plain text (not escaped).
    """
    text = clean_text(opening_hours)
    if not text:
        return "unknown"
    parts = re.split(r'("[^"]*")', text)
    out = []
    for i, part in enumerate(parts):
        if i % 2:  # a quoted comment
            out.append(part)
            continue
        part = _DAY_RE.sub(lambda m: _DAYS[m.group(1)], part)
        out.append(re.sub(r"\s*;\s*", "; ", part))
    return "".join(out).strip().rstrip(";").strip() or "unknown"


def card_file_name(today: dt.date) -> str:
    """Return the card's download file name; it holds no name, address or place."""
    return f"safe-places-card-{today.isoformat()}.html"


def nearby_table(rows: pd.DataFrame) -> pd.DataFrame:
    """Return the rows of :func:`ctxmap.nearby.nearest.nearest_places` as a table for people.

    Columns :data:`TABLE_COLUMNS`; unknown opening hours read ``"unknown"`` and never
    ``"open"``; ``"Walk (m)"`` is empty without a street network. The index is kept.
    """
    needed = {"rank", "name", "straight_m", "walk_min"}
    missing = sorted(needed - set(rows.columns))
    if missing:
        raise InputError(f"the nearest rows lack columns {missing}; expected nearest_places output")

    def text(col: str) -> pd.Series:
        if col not in rows.columns:
            return pd.Series([""] * len(rows), index=rows.index, dtype=object)
        return rows[col].map(clean_text).astype(object)

    layer = text("layer").map(lambda v: LAYER_LABELS.get(v, v))
    hours = text("opening_hours").map(lambda v: v or "unknown")
    states = text("open").map(lambda v: v if v in ("open", "closed") else "unknown")
    walk_m = pd.to_numeric(rows.get("walk_m", pd.Series(index=rows.index)), errors="coerce")
    table = pd.DataFrame(
        {
            "#": rows["rank"].astype(int).to_numpy(),
            "Place": text("name").map(lambda v: v or "Unnamed place").to_numpy(),
            "Type": layer.to_numpy(),
            "Category": text("category").to_numpy(),
            "Address": text("address").to_numpy(),
            "Opening hours": hours.to_numpy(),
            "Open then": states.to_numpy(),
            "Straight line (m)": pd.to_numeric(rows["straight_m"]).round(0).to_numpy(),
            "Walk (m)": walk_m.round(0).to_numpy(),
            "Walk (min)": pd.to_numeric(rows["walk_min"]).round(1).to_numpy(),
        },
        index=rows.index,
    )
    return table[list(TABLE_COLUMNS)]


# ----------------------------------------------------------------------------- maps


class _Attribution(MacroElement):
    """Add attribution lines to a map's attribution control (text JSON-encoded, escaped)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        {% for text in this.texts %}
        {{ this._parent.get_name() }}.attributionControl.addAttribution({{ text }});
        {% endfor %}
        {% endmacro %}
        """
    )

    def __init__(self, texts: list[str]) -> None:
        super().__init__()
        self._name = "CtxmapAttribution"
        self.texts = [js_string(html.escape(t, quote=True)) for t in texts]


def _base_map(
    center: tuple[float, float], tiles_url: str | _Default | None, zoom: int = 15
) -> folium.Map:
    url = resolve_tiles_url(tiles_url)
    m = base_map(center, zoom, url, OSM_ATTRIBUTION)
    if url is None:
        _Attribution([f"Places {OSM_ATTRIBUTION}"]).add_to(m)
    return m


def _point_feature(lon: float, lat: float, props: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "Feature",
        "properties": props,
        "geometry": {"type": "Point", "coordinates": [round(lon, 6), round(lat, 6)]},
    }


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
    tiles_url: str | _Default | None = DEFAULT,
    assets_base_url: str = DEFAULT_BASE_URL,
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
        As :func:`ctxmap.maps.layers.build_map`.
    assets_base_url
        URL prefix of the local JavaScript/CSS.

    Raises
    ------
    InputError
        If ``rows`` is not in EPSG:4326.
    """
    if len(rows) and (rows.crs is None or rows.crs.to_string() != STORAGE_CRS):
        raise InputError(
            f"nearest rows are in {rows.crs}; expected {STORAGE_CRS} (nearest_places output)"
        )
    m = _base_map((origin.lat, origin.lon), tiles_url)
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
    tiles_url: str | _Default | None = DEFAULT,
    assets_base_url: str = DEFAULT_BASE_URL,
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
    tiles_url, assets_base_url
        As :func:`nearby_map`.

    Raises
    ------
    InputError
        If a layer is not in EPSG:4326.
    """
    for what, gdf in (("homes", homes), ("area", area), ("safe places", safe_places)):
        if len(gdf) and (gdf.crs is None or gdf.crs.to_string() != STORAGE_CRS):
            raise InputError(f"{what} are in {gdf.crs}; expected {STORAGE_CRS}")
    located = homes[homes.geometry.notna() & ~homes.geometry.is_empty]
    if len(located):
        minx, miny, maxx, maxy = located.total_bounds
        center = ((miny + maxy) / 2, (minx + maxx) / 2)
    else:
        center = (54.0, -2.5)
    m = _base_map(center, tiles_url, zoom=12)
    minutes = float(area["minutes"].iloc[0]) if len(area) else float("nan")
    label = f"Within {minutes:g} min walk of a safe place"
    if len(area) and not area.geometry.iloc[0].is_empty:
        zone = folium.FeatureGroup(name=label, show=True)
        folium.GeoJson(
            _collection(
                [
                    {
                        "type": "Feature",
                        "properties": {"label": html.escape(label)},
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
    safe = safe_places[safe_places.geometry.notna() & ~safe_places.geometry.is_empty]
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
    for is_gap, colour, name in (
        (True, _GAP_COLOUR, "Homes with no safe place within the walk"),
        (False, _COVERED_COLOUR, "Homes within the walk of a safe place"),
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
            text = (
                f"{esc(row.get('name')) or esc(row.get('home_id'))}: "
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


# ----------------------------------------------------------------------------- card


def _cell(value: object, empty: str = "—") -> str:
    return esc(value) or empty


def _list_html(rows: pd.DataFrame, when: dt.datetime | None) -> str:
    head = (
        "<tr><th>#</th><th>Place</th><th>Address</th><th>Opening hours</th>"
        f"<th>{'Open then' if when is not None else ''}</th><th>Walk</th></tr>"
    )
    body = []
    for rec in rows.to_dict("records"):
        rank = int(rec.get("rank", 0))
        name = _cell(rec.get("name"), "Unnamed place")
        kind = LAYER_LABELS.get(clean_text(rec.get("layer")), clean_text(rec.get("layer")))
        sub = ", ".join(html.escape(t) for t in (kind, clean_text(rec.get("category"))) if t)
        hours = html.escape(hours_text(rec.get("opening_hours")))
        state = clean_text(rec.get("open"))
        state = state if state in ("open", "closed") else "unknown"
        walk_m = rec.get("walk_m")
        dist = walk_m if walk_m is not None and pd.notna(walk_m) else rec.get("straight_m")
        dist_label = "walk" if walk_m is not None and pd.notna(walk_m) else "in a straight line"
        body.append(
            "<tr>"
            f'<td class="num">{rank}</td>'
            f'<td><b>{name}</b><br><span class="small">{sub}</span></td>'
            f"<td>{_cell(rec.get('address'))}</td>"
            f"<td>{hours}</td>"
            f"<td>{html.escape(state) if when is not None else ''}</td>"
            f'<td><span class="walk">{html.escape(walk_text(rec.get("walk_min")))}</span>'
            f'<br><span class="small">{html.escape(distance_text(dist))} {dist_label}</span></td>'
            "</tr>"
        )
    if not body:
        body.append('<tr><td colspan="6">No place found with these choices.</td></tr>')
    return f'<table class="card-list">{head}{"".join(body)}</table>'


def safe_places_card_html(
    origin_label: str,
    rows: pd.DataFrame,
    map: folium.Map,
    when: dt.datetime | None,
    basis: str,
    *,
    made: dt.date | None = None,
    vendor_dir: Path | None = None,
) -> str:
    """Return the one-page printable "safe places near …" card as a self-contained HTML page.

    Parameters
    ----------
    origin_label
        What the card is for, e.g. a home's name or a postcode (escaped). Never a young
        person's name: the card has no field for one.
    rows
        Output of :func:`ctxmap.nearby.nearest.nearest_places` (``rank``, ``name``, ``layer``,
        ``category``, ``address``, ``opening_hours``, ``open``, ``walk_min``, ``walk_m``,
        ``straight_m``), nearest first.
    map
        The card's map, e.g. from :func:`nearby_map` (not modified); its scripts and styles
        are inlined so the card opens offline.
    when
        The moment ``open`` was checked for (shown on the card); ``None`` hides the column.
    basis
        The rows' ``walk_basis``; an estimate adds the "walking times are estimates" notice.
    made
        The date printed on the card (default: today).
    vendor_dir
        Where the vendored map files are (default ``static/vendor/``).

    Returns
    -------
    str
        One HTML page with print CSS for one A4 page; the only outside requests it may
        make are for basemap tiles.
    """
    made = made or dt.date.today()
    label = clean_text(origin_label) or "the chosen point"
    page = standalone_html(map, title=f"Safe places near {label}", vendor_dir=vendor_dir)
    estimate = is_estimate(basis)
    walk_note = (
        f'<p class="estimate">{html.escape(estimate_notice(basis))}</p>'
        if estimate
        else '<p class="small">Walking times follow the streets (OpenStreetMap network), '
        "at an average walking pace.</p>"
    )
    when_line = (
        f"<p>Open or closed at: <b>{html.escape(when_text(when))}</b>. "
        "Opening hours can change: phone ahead if you can. “unknown” means we do not "
        "know, not that it is open.</p>"
        if when is not None
        else ""
    )
    head = (
        '<header class="card-head">'
        f"<h1>Safe places near {esc(label)}</h1>"
        "<p>Places where a young person can go for help, nearest first. The numbers on "
        "the map match the list.</p>"
        f"{when_line}"
        '<button class="print-button no-print" onclick="window.print()">Print this card'
        "</button>"
        "</header>"
    )
    foot = (
        '<p class="emergency">In an emergency call 999.</p>'
        f"{walk_note}"
        '<footer class="card-foot">'
        f"Made with ctxmap on {html.escape(made.isoformat())}. "
        f"Map data and places {html.escape(OSM_ATTRIBUTION)} (ODbL). "
        "This card holds no young person's details."
        "</footer>"
    )
    listing = _list_html(pd.DataFrame(rows), when)
    # folium writes "</head>\n<body>\n<div class="folium-map" ...></div>\n</body>\n<script>".
    start = re.search(r"</head>\s*<body>", page)
    end = page.find("</body>", start.end()) if start else -1
    if start is None or end < 0:
        raise InputError("the map page has no <head>/<body>; expected a folium page")
    page = (
        page[: start.start()]
        + f"<style>{_CARD_CSS}</style>\n</head>\n<body>\n"
        + head
        + page[start.end() : end]
        + listing
        + foot
        + "\n"
        + page[end:]
    )
    return page
