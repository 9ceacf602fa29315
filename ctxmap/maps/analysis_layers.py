"""Map layers of the analyses: locations of concern, density heat, Gi* hotspots, choropleth.

Each builder takes the output of an analysis function (:func:`ctxmap.analysis.concern.rank_places`,
:func:`ctxmap.analysis.density.kernel_density`, :func:`ctxmap.analysis.hotspots.gistar_hotspots`,
:func:`ctxmap.analysis.areas.area_counts`), in EPSG:4326, and returns an :class:`AnalysisLayer`:
a named :class:`folium.FeatureGroup` for the layer control plus the escaped legend HTML of
the layer (:func:`ctxmap.maps.legend.legend_html`). Every piece of text reaching a tooltip,
popup or legend is HTML-escaped here.
Payloads stay small: coordinates are rounded to 5 decimals, polygons are simplified to
about 5 m, density cells of one class are merged, and non-significant Gi* cells are not
drawn. :func:`add_groups` puts the layers on a map made by
:func:`ctxmap.maps.layers.build_map`, before its layer control so they are listed there.
Nothing here imports streamlit or renders a map.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ctxmap.errors import InputError
from ctxmap.layers.crs import analysis_crs, require_display_crs
from ctxmap.layers.geometry import located_mask
from ctxmap.layers.schemas import STORAGE_CRS
from ctxmap.maps.assets import DEFAULT_BASE_URL, localize_in_place
from ctxmap.maps.classes import class_breaks, classify_values, range_labels
from ctxmap.maps.geojson import feature_collection
from ctxmap.maps.legend import Legend, LegendEntry, legend_html
from ctxmap.maps.popups import ranked_place_popup_html
from ctxmap.text import esc, esc_plain

#: Decimal places kept in coordinates (5 places is about 1 m).
PRECISION: Final = 5
#: Polygons are simplified to this tolerance, metres, before drawing.
SIMPLIFY_M: Final = 5.0

FLAGGED_COLOUR: Final = "#d7301f"
UNFLAGGED_COLOUR: Final = "#6b6b6b"
#: Density classes, lightest first (ColorBrewer YlOrRd).
DENSITY_COLOURS: Final[tuple[str, ...]] = ("#fecc5c", "#fd8d3c", "#f03b20", "#bd0026")
#: Quantiles of the cells' density that start each drawn density class.
DENSITY_QUANTILES: Final[tuple[float, ...]] = (0.5, 0.75, 0.9, 0.97)
#: Choropleth classes, lightest first (ColorBrewer OrRd).
CHOROPLETH_COLOURS: Final[tuple[str, ...]] = ("#fef0d9", "#fdcc8a", "#fc8d59", "#e34a33",
                                              "#b30000")
#: Gi* bin -> (colour, label); bins as in :func:`ctxmap.analysis.hotspots.classify`.
HOTSPOT_CLASSES: Final[dict[int, tuple[str, str]]] = {
    3: ("#d62f27", "Hot spot, 99% confidence"),
    2: ("#ed7551", "Hot spot, 95% confidence"),
    1: ("#fab984", "Hot spot, 90% confidence"),
    -1: ("#c0d1e6", "Cold spot, 90% confidence"),
    -2: ("#849eba", "Cold spot, 95% confidence"),
    -3: ("#4575b5", "Cold spot, 99% confidence"),
}



@dataclass
class AnalysisLayer:
    """A map layer of one analysis.

    Attributes
    ----------
    group
        The feature group (its ``layer_name`` is what the layer control lists).
    legend_html
        Escaped HTML of this layer's legend block.
    features
        Number of GeoJSON features drawn.
    """

    group: folium.FeatureGroup
    legend_html: str
    features: int


# ----------------------------------------------------------------------------- helpers


def _need(gdf: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in gdf.columns]
    if missing:
        raise InputError(
            f"{what} lacks column(s) {', '.join(missing)} (has: "
            f"{', '.join(map(str, gdf.columns))}); expected the output of the analysis"
        )


def _simplified(geoms: gpd.GeoSeries, tolerance_m: float = SIMPLIFY_M) -> np.ndarray:
    """Return the geometries simplified to ``tolerance_m`` metres (in their metric CRS)."""
    if len(geoms) == 0:
        return np.zeros(0, dtype=object)
    frame = gpd.GeoDataFrame(geometry=geoms.reset_index(drop=True), crs=geoms.crs)
    metric = analysis_crs(frame)
    simple = frame.geometry.to_crs(metric).simplify(tolerance_m, preserve_topology=True)
    return simple.to_crs(STORAGE_CRS).to_numpy()


# ----------------------------------------------------------------------------- builders


def concern_group(
    ranked: gpd.GeoDataFrame, radius_m: float, *, name: str | None = None, show: bool = True
) -> AnalysisLayer:
    """Draw ranked places: flagged ones highlighted with their radius, the others small.

    Parameters
    ----------
    ranked
        Output of :func:`ctxmap.analysis.concern.rank_places` in EPSG:4326 (``rank``, ``name``,
        ``layer``, ``incidents``, ``flagged``, ``reason``...). Places without a location
        are not drawn (the legend counts them).
    radius_m
        The radius counted around each place, metres (> 0); drawn around flagged places.
    name
        Layer-control name (default ``"Locations of concern (<radius> m)"``).
    show
        Whether the layer starts switched on.

    Returns
    -------
    AnalysisLayer
        Features: one radius circle and one marker per located flagged place, one marker
        per located unflagged place. Tooltips say rank and name; popups add the reason.
    """
    if not (isinstance(radius_m, int | float) and math.isfinite(radius_m) and radius_m > 0):
        raise InputError(f"radius {radius_m!r} m; expected a number of metres > 0")
    require_display_crs(ranked, "the ranking")
    _need(ranked, ["rank", "name", "flagged", "reason", "incidents"], "the ranking")
    loc = ranked.loc[located_mask(ranked)]
    flagged_mask = loc["flagged"].fillna(False).astype(bool).to_numpy()
    title = name or f"Locations of concern ({radius_m:g} m)"
    group = folium.FeatureGroup(name=title, show=show)
    features = 0
    for is_flagged in (False, True):
        part = loc.loc[flagged_mask == is_flagged]
        if part.empty:
            continue
        recs = part.drop(columns=part.geometry.name).to_dict("records")
        props = [
            {
                "label": f"#{int(r['rank'])} " + (esc(r.get("name")) or "Unnamed place")
                + (" — flagged" if is_flagged else ""),
                "popup": ranked_place_popup_html(r),
            }
            for r in recs
        ]
        data = feature_collection(part.geometry.to_numpy(), props, PRECISION)
        if is_flagged:
            circles = feature_collection(part.geometry.to_numpy(), [{} for _ in recs], PRECISION)
            folium.GeoJson(
                circles,
                control=False,
                marker=folium.Circle(
                    radius=float(radius_m), color=FLAGGED_COLOUR, weight=1.5, opacity=0.9,
                    dash_array="6 4", fill=True, fill_color=FLAGGED_COLOUR, fill_opacity=0.06,
                    interactive=False,
                ),
            ).add_to(group)
            features += len(recs)
            marker = folium.CircleMarker(
                radius=7, color="#ffffff", weight=1.5, fill=True, fill_color=FLAGGED_COLOUR,
                fill_opacity=0.95,
            )
        else:
            marker = folium.CircleMarker(
                radius=4, color="#ffffff", weight=1, fill=True, fill_color=UNFLAGGED_COLOUR,
                fill_opacity=0.75,
            )
        folium.GeoJson(
            data,
            control=False,
            marker=marker,
            popup=folium.GeoJsonPopup(fields=["popup"], labels=False, localize=False),
            tooltip=folium.GeoJsonTooltip(fields=["label"], labels=False),
        ).add_to(group)
        features += len(recs)
    n_flagged = int(flagged_mask.sum())
    items = [
        (LegendEntry(f"Flagged location ({n_flagged:,})", FLAGGED_COLOUR, "circle"), ""),
        (LegendEntry(f"{radius_m:g} m around a flagged location", FLAGGED_COLOUR, "ring"), ""),
        (LegendEntry(f"Not flagged ({len(loc) - n_flagged:,})", UNFLAGGED_COLOUR, "circle"), ""),
    ]
    notes = []
    if len(loc) < len(ranked):
        notes.append(f"{len(ranked) - len(loc):,} place(s) without a location not shown")
    return AnalysisLayer(group, legend_html(title, items, notes), features)


def density_group(
    kde_grid: gpd.GeoDataFrame, *, name: str = "Incident density (heat)", show: bool = False
) -> AnalysisLayer:
    """Draw a kernel-density surface as a few light colour classes.

    Cells below the median density are not drawn; the rest fall in classes starting at the
    50th, 75th, 90th and 97th percentiles of the cells' density (:data:`DENSITY_QUANTILES`).
    Cells of one class are merged into one feature and simplified to ~5 m.

    Parameters
    ----------
    kde_grid
        Output of :func:`ctxmap.analysis.density.kernel_density` (EPSG:4326, ``density_per_km2``;
        ``attrs["ctxmap"]["bandwidth_m"]`` is shown in the legend when present).
    name
        Layer-control name.
    show
        Whether the layer starts switched on.

    Returns
    -------
    AnalysisLayer
        One feature per colour class present.
    """
    require_display_crs(kde_grid, "the density grid")
    _need(kde_grid, ["density_per_km2"], "the density grid")
    loc = kde_grid.loc[located_mask(kde_grid)]
    values = loc["density_per_km2"].to_numpy(dtype=float)
    finite = values[np.isfinite(values) & (values > 0)]
    breaks: list[float] = []
    if finite.size:
        breaks = sorted({float(np.quantile(finite, q)) for q in DENSITY_QUANTILES})
    classes = classify_values(values, breaks) if breaks else np.full(len(loc), -1)
    top = float(finite.max()) if finite.size else 0.0
    labels = range_labels(breaks, top, " per km²")
    colours = DENSITY_COLOURS[len(DENSITY_COLOURS) - len(breaks):]
    group = folium.FeatureGroup(name=name, show=show)
    geoms, props, styles = [], [], []
    for k in range(len(breaks)):
        cells = loc.geometry.loc[classes == k]
        if cells.empty:
            continue
        merged = shapely.union_all(cells.to_numpy())
        geoms.append(merged)
        props.append({"label": f"Incident density {esc_plain(labels[k])}", "k": k})
        styles.append(colours[k])
    if geoms:
        simple = _simplified(gpd.GeoSeries(geoms, crs=STORAGE_CRS))
        data = feature_collection(simple, props, PRECISION)
        palette = {str(k): colours[k] for k in range(len(breaks))}
        folium.GeoJson(
            data,
            control=False,
            style_function=lambda f, p=palette: {
                "fillColor": p[str(f["properties"]["k"])], "fillOpacity": 0.45,
                "weight": 0, "stroke": False,
            },
            tooltip=folium.GeoJsonTooltip(fields=["label"], labels=False, sticky=True),
        ).add_to(group)
    meta = kde_grid.attrs.get("ctxmap", {})
    notes = []
    if "bandwidth_m" in meta:
        notes.append(f"Gaussian kernel, bandwidth {float(meta['bandwidth_m']):,.0f} m")
    if "cell_m" in meta:
        notes.append(f"{float(meta['cell_m']):g} m cells; the lower half of cells not drawn")
    items = [(LegendEntry(lab, c), "") for c, lab in zip(colours, labels, strict=True)]
    if not items:
        notes.append("no incidents to draw")
    return AnalysisLayer(group, legend_html(name, items, notes), len(geoms))


def hotspot_group(
    gi_grid: gpd.GeoDataFrame, *, name: str = "Hot and cold spots (Gi*)", show: bool = True
) -> AnalysisLayer:
    """Draw the significant cells of a Gi* grid: hot in reds, cold in blues, by confidence.

    Parameters
    ----------
    gi_grid
        Output of :func:`ctxmap.analysis.hotspots.gistar_hotspots` (EPSG:4326, ``gi_bin`` -3..3,
        ``incidents``, ``gi_z``, ``p_adjusted``). Cells with ``gi_bin == 0`` are not drawn.
    name
        Layer-control name.
    show
        Whether the layer starts switched on.

    Returns
    -------
    AnalysisLayer
        One feature per significant cell, tooltip with its class, count and z-score.
    """
    require_display_crs(gi_grid, "the hotspot grid")
    _need(gi_grid, ["gi_bin", "incidents", "gi_z"], "the hotspot grid")
    bins = pd.to_numeric(gi_grid["gi_bin"], errors="coerce").fillna(0).astype(int).to_numpy()
    keep = (bins != 0) & located_mask(gi_grid)
    sig = gi_grid.loc[keep]
    group = folium.FeatureGroup(name=name, show=show)
    props = []
    for b, n, z, q in zip(
        bins[keep], sig["incidents"], sig["gi_z"],
        sig["p_adjusted"] if "p_adjusted" in sig else [float("nan")] * len(sig), strict=True,
    ):
        text = (f"{HOTSPOT_CLASSES[int(b)][1]}: {int(n)} incidents in the cell, "
                f"z = {float(z):.2f}, adjusted p = {float(q):.2g}")
        props.append({"label": esc_plain(text), "b": int(b)})
    if len(sig):
        data = feature_collection(sig.geometry.to_numpy(), props, PRECISION)
        palette = {str(k): v[0] for k, v in HOTSPOT_CLASSES.items()}
        folium.GeoJson(
            data,
            control=False,
            style_function=lambda f, p=palette: {
                "fillColor": p[str(f["properties"]["b"])], "fillOpacity": 0.55,
                "color": p[str(f["properties"]["b"])], "weight": 0.5, "opacity": 0.8,
            },
            tooltip=folium.GeoJsonTooltip(fields=["label"], labels=False, sticky=True),
        ).add_to(group)
    counts = {k: int((bins[keep] == k).sum()) for k in HOTSPOT_CLASSES}
    items = [(LegendEntry(f"{label} ({counts[k]:,} cells)", c), "")
             for k, (c, label) in HOTSPOT_CLASSES.items() if counts[k]]
    meta = gi_grid.attrs.get("ctxmap", {})
    notes = []
    if not any(c < 0 and n for c, n in counts.items()):
        notes.append("no significant cold spots")
    if not any(c > 0 and n for c, n in counts.items()):
        notes.append("no significant hot spots")
    if "cell_m" in meta:
        notes.append(f"{float(meta['cell_m']):g} m cells; Benjamini–Hochberg FDR")
    notes.append(f"{int((~keep).sum()):,} cells not significant, not drawn")
    return AnalysisLayer(group, legend_html(name, items, notes), len(sig))


def choropleth_group(
    area_counts: pd.DataFrame,
    areas: gpd.GeoDataFrame | None = None,
    *,
    name: str | None = None,
    n_classes: int = 5,
    show: bool = False,
) -> AnalysisLayer:
    """Draw incidents per area as classed fills (rates per 1,000 residents when known).

    Parameters
    ----------
    area_counts
        Output of :func:`ctxmap.analysis.areas.area_counts` (``area_id``, ``name``, ``incidents``,
        ``rate_per_1000``; with geometry in EPSG:4326, or without geometry when ``areas``
        is given).
    areas
        Areas layer (EPSG:4326, ``id``) giving the geometry when ``area_counts`` has none;
        rows are matched on ``area_id == id``.
    name
        Layer-control name (default says what is mapped).
    n_classes
        Number of quantile classes (at most 5).
    show
        Whether the layer starts switched on.

    Returns
    -------
    AnalysisLayer
        One feature per located area (polygons simplified to ~5 m).
    """
    _need(area_counts, ["area_id", "incidents"], "the area counts")
    if isinstance(area_counts, gpd.GeoDataFrame) and area_counts.geometry.notna().any():
        frame = require_display_crs(area_counts, "the area counts")
    else:
        if areas is None:
            raise InputError("the area counts have no geometry; expected the areas layer too")
        require_display_crs(areas, "the areas")
        _need(areas, ["id"], "the areas")
        geom = dict(zip(areas["id"].astype(str), areas.geometry, strict=True))
        frame = gpd.GeoDataFrame(
            pd.DataFrame(area_counts).drop(columns=["geometry"], errors="ignore"),
            geometry=[geom.get(str(a)) for a in area_counts["area_id"]],
            crs=STORAGE_CRS,
        )
    frame = frame.loc[located_mask(frame)]
    rates = (pd.to_numeric(frame["rate_per_1000"], errors="coerce").to_numpy(dtype=float)
             if "rate_per_1000" in frame else np.full(len(frame), np.nan))
    use_rate = bool(np.isfinite(rates).any())
    values = rates if use_rate else frame["incidents"].to_numpy(dtype=float)
    unit = " per 1,000 residents" if use_rate else " incidents"
    title = name or ("Incidents per 1,000 residents" if use_rate else "Incidents per area")
    breaks = class_breaks(values, min(max(1, n_classes), len(CHOROPLETH_COLOURS)))
    classes = classify_values(values, breaks)
    top = float(np.nanmax(values)) if np.isfinite(values).any() else 0.0
    labels = range_labels(breaks, top, unit)
    colours = CHOROPLETH_COLOURS[len(CHOROPLETH_COLOURS) - len(breaks):]
    group = folium.FeatureGroup(name=title, show=show)
    props = []
    for rec, k in zip(frame.drop(columns=frame.geometry.name).to_dict("records"), classes,
                      strict=True):
        area = esc(rec.get("name")) or esc(rec.get("area_id")) or "Unnamed area"
        text = f"{area}: {int(rec['incidents']):,} incidents"
        rate = rec.get("rate_per_1000")
        if use_rate and rate is not None and pd.notna(rate):
            text += f", {float(rate):.1f} per 1,000 residents"
        props.append({"label": text, "k": int(k)})
    if len(frame):
        data = feature_collection(_simplified(frame.geometry), props, PRECISION)
        palette = {str(k): colours[k] for k in range(len(breaks))}
        palette["-1"] = "#cccccc"
        folium.GeoJson(
            data,
            control=False,
            style_function=lambda f, p=palette: {
                "fillColor": p[str(f["properties"]["k"])], "fillOpacity": 0.6,
                "color": "#555555", "weight": 0.6, "opacity": 0.8,
            },
            tooltip=folium.GeoJsonTooltip(fields=["label"], labels=False, sticky=True),
        ).add_to(group)
    items = [(LegendEntry(lab, c), "") for c, lab in zip(colours, labels, strict=True)]
    notes = ["quantile classes"]
    if not use_rate:
        notes.append("no population figures: counts, not rates")
    return AnalysisLayer(group, legend_html(title, items, notes), len(frame))


# ----------------------------------------------------------------------------- map


def analysis_legend_html(layers: Sequence[AnalysisLayer]) -> str:
    """Return the legend HTML of several analysis layers (their escaped blocks, in order)."""
    return "".join(layer.legend_html for layer in layers)


def add_groups(
    m: folium.Map,
    layers: Sequence[AnalysisLayer | folium.FeatureGroup],
    *,
    legend: bool = True,
    assets_base_url: str = DEFAULT_BASE_URL,
) -> folium.Map:
    """Add analysis layers to ``m`` so the layer control lists them, and their legend.

    folium's layer control lists the groups present when it renders, but its script must
    come after theirs; so any existing :class:`folium.LayerControl` is taken off, the
    groups are added, and the control is put back last (a new one is made if ``m`` had
    none). Like ``group.add_to(m)``, this **modifies** ``m`` (a map the caller has just
    built, e.g. by :func:`ctxmap.maps.layers.build_map`), then points every script and
    stylesheet at the local assets again.

    Parameters
    ----------
    m
        The map.
    layers
        Analysis layers (or bare feature groups), drawn in this order (last on top).
    legend
        Add one legend box (bottom right) with the legend block of each layer that is
        switched on (blocks follow the layer control).
    assets_base_url
        URL prefix of the local JavaScript/CSS (see :mod:`ctxmap.maps.assets`).

    Returns
    -------
    folium.Map
        ``m`` itself.
    """
    controls = [c for c in m._children.values() if isinstance(c, folium.LayerControl)]
    for control in controls:
        del m._children[control.get_name()]
    for layer in layers:
        group = layer.group if isinstance(layer, AnalysisLayer) else layer
        group.add_to(m)
    blocks: list[tuple[str, str | None]] = [
        (la.legend_html, la.group.get_name()) for la in layers if isinstance(la, AnalysisLayer)]
    if legend and blocks:
        Legend(blocks, kind="analysis").add_to(m)
    if controls:
        for control in controls:
            m.add_child(control)
    elif layers:
        folium.LayerControl(collapsed=False, position="topright").add_to(m)
    return localize_in_place(m, assets_base_url)
