"""The main map: every layer, incidents filtered by month range and type, heat and hotspots."""

from __future__ import annotations

import html

import geopandas as gpd
import streamlit as st

from ctxmap.analysis.density import kernel_density
from ctxmap.analysis.hotspots import gistar_hotspots
from ctxmap.analysis.incident_index import IncidentIndex
from ctxmap.analysis.periods import categories_available, format_period, months_available
from ctxmap.app import concern_work as work
from ctxmap.app.cache import cached, load_layers
from ctxmap.app.concern_work import study_area_or_none
from ctxmap.app.drawing import draw_map, layers_map, map_options
from ctxmap.app.meeting_view import mask_settings, meeting_view
from ctxmap.app.navigation import require_page
from ctxmap.app.session import store_target, store_version
from ctxmap.app.widgets import attribution_caption, show_table
from ctxmap.errors import CtxmapError
from ctxmap.layers.schemas import EXPLOITATION_CATEGORIES
from ctxmap.maps.analysis_layers import analysis_legend_html, density_group, hotspot_group
from ctxmap.maps.base import DEFAULT_CLUSTER_THRESHOLD
from ctxmap.maps.layers import build_feature_groups, incident_cells_group
from ctxmap.maps.legend import LEGEND
from ctxmap.privacy.disclosure import protect_summary

require_page(__file__)
st.title("Map")
layers = load_layers()
incidents = layers["incidents"]
area = study_area_or_none(store_target(), store_version(store_target()))
months = cached(("months",), lambda: months_available(incidents))
categories = cached(("categories",), lambda: categories_available(incidents))

with st.sidebar:
    st.subheader("Incidents")
    if months:
        first, last = st.select_slider(
            "Months", options=months, value=(months[0], months[-1]), format_func=str
        )
    else:
        first = last = None
    focus = st.radio("Types", ["All types", "Exploitation-related", "Choose…"], index=0,
                     help="Exploitation-related: " + ", ".join(EXPLOITATION_CATEGORIES))
    if focus == "All types":
        chosen = categories
    elif focus == "Exploitation-related":
        chosen = [c for c in categories if c in EXPLOITATION_CATEGORIES]
    else:
        chosen = st.multiselect("Crime / harm types", categories, default=categories)
    only_area = area is not None and st.checkbox(
        "Only the study area", value=True,
        help="Incidents outside the store's study area (for example the rest of a force's "
        "file) are stored but not shown or counted; untick to see them all. Incidents with "
        "no location cannot be placed and are always counted.")
    analysis = st.radio("Analysis layer", ["None", "Heat (kernel density)", "Hotspots (Gi*)"],
                        help="Of the incidents shown. Heat: kernel density, with the "
                        "bandwidth that predicted this area's last months best (said below "
                        "the map). Hotspots: Getis-Ord Gi* on 250 m squares, Benjamini–Hochberg "
                        "corrected, hot/cold at 90/95/99 %")

period = (first, last) if first else None
flt = (period, tuple(chosen), only_area)
# a filter is a mask over codes, its counts and map cells come from bincounts: a
# filter change never copies the incident frame (see ctxmap.analysis.incident_index)
index = cached(("incident index",), lambda: IncidentIndex.build(incidents))
inside = None
if area is not None:
    study = area
    inside = cached(("in study area",), lambda: index.inside(study.geometry, study.crs))
selected = cached(("selection", *flt[:2]), lambda: index.select(months=period,
                                                                 categories=chosen))
outside = 0 if inside is None else int((selected & index.located & ~inside).sum())
keep = (selected if not only_area or inside is None
        else cached(("selection", *flt), lambda: selected & (inside | ~index.located)))
summary = cached(("summary", *flt), lambda: index.summary(keep))


def shown() -> gpd.GeoDataFrame:
    """The filtered incidents as a frame, made only where a part of the page needs one."""
    return cached(("filtered", *flt), lambda: incidents[keep])


# the meeting view's counts go through disclosure control: small ones hidden, all rounded
per_type = (cached(("protected summary", *flt),
                   lambda: protect_summary(summary.by_category, mask_settings().threshold))
            if meeting_view() else None)
c1, c2, c3 = st.columns(3)
rounded = "" if per_type is None else " (rounded to 5)"
c1.metric("Incidents shown on the map" + rounded, f"{summary.mapped:,}" if per_type is None
          else per_type.iloc[-1]["Mapped"])
c2.metric("In the period with no location (not mapped)" + rounded, f"{summary.unmapped:,}"
          if per_type is None else per_type.iloc[-1]["No location"])
c3.metric("Period", format_period((first, last)) if first else "—")
if only_area and outside and area is not None:
    st.caption(html.escape(
        f"Only incidents in the study area ({area.name}) are shown and counted: "
        f"{'some' if per_type is not None else f'{outside:,}'} located incident(s) of this "
        "filter lie outside it (untick 'Only the study area' to see them). Incidents with "
        "no location cannot be placed in or out of it: all of them are counted."))


# the heat bandwidth comes from an evaluation of the store's last months per incident
# types (not per period), shared with the Locations of concern page
types_key = (None if focus == "All types" else EXPLOITATION_CATEGORIES
             if focus == "Exploitation-related" else tuple(sorted(chosen)))


def analysis_grid(kind: str) -> tuple[object, str | None]:
    """The heat or hotspot grid of the incidents shown (data only: cached per filter)."""
    try:
        if area is None:
            raise CtxmapError("no study area is set; set one on the Import page")
        if kind == "heat":
            bandwidth = work.evaluated_bandwidth(store_target(), store_version(store_target()),
                                                 types_key)
            return kernel_density(shown(), area, period=period, categories=chosen,
                                  evaluated=bandwidth), None
        return gistar_hotspots(shown(), area, 250, period, chosen), None
    except CtxmapError as exc:
        return None, f"{'Heat' if kind == 'heat' else 'Hotspot'} layer not drawn: {exc}"


def incident_layers() -> tuple[list, list[str], str]:
    """The filter-dependent groups, their legend notes and analysis legend HTML.

    Folium groups are built afresh for every render (streamlit-folium renames what it
    draws); only the data behind them is cached.
    """
    located = int(summary.mapped)
    if located > DEFAULT_CLUSTER_THRESHOLD:
        cells = cached(("cells", *flt), lambda: index.cells(keep))
        group, detail = incident_cells_group(cells, located, summary.unmapped)
        groups, notes = [group], [f"{LEGEND['incidents'].label} {detail}"]
    else:
        built = build_feature_groups({"incidents": shown()})
        groups = list(built.groups)
        notes = [f"{entry.label} {detail}" for entry, detail in built.legend] + built.notes
    extra = []
    if analysis != "None" and located:
        kind = "heat" if analysis.startswith("Heat") else "hotspots"
        grid, problem = cached((kind, types_key, *flt), lambda: analysis_grid(kind))
        if problem:
            notes.append(problem)
        elif kind == "heat":
            extra = [density_group(grid, show=True)]
            meta = grid.attrs["ctxmap"]
            notes.append(f"Heat bandwidth {meta['bandwidth_m']:,.0f} m: "
                         f"{meta['bandwidth_rule']}.")
        else:
            extra = [hotspot_group(grid, show=True)]
    return [*groups, *(a.group for a in extra)], notes, analysis_legend_html(extra)


if meeting_view():
    # the masked map is drawn whole: its incidents are counted per square, and the
    # filters are hidden in the meeting view
    view = dict(layers)
    view["incidents"] = shown()
    draw_map(layers_map(view), key="main_map_meeting")
else:
    base = layers_map({k: v for k, v in layers.items() if k != "incidents"},
                      map_options(layer_control=False),  # the study area outlined
                      extra_legend=[(LEGEND["incidents"], "(as filtered: counts above the map)")])
    groups, notes, legend = incident_layers()
    # only the incident and analysis groups change with the filters: swapped in place,
    # so the user's pan and zoom stay
    draw_map(base, key="main_map", groups=groups)
    for note in notes:
        st.caption(html.escape(note))  # category names come from the data
    if legend:
        st.html(legend)  # escaped by ctxmap.maps.analysis_layers
attribution_caption()

with st.expander("Incidents per type", expanded=False):
    if per_type is not None:
        st.caption("Shared view: counts rounded to 5 (totals from the exact counts, so they "
                   "may not add up); counts below the threshold hidden.")
        show_table(per_type)
    else:
        show_table(summary.by_category.rename(columns={
            "category": "Type", "mapped": "Mapped", "no_location": "No location",
            "total": "Total"}))
