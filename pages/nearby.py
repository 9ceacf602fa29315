"""Nearby safe places: the nearest protective places to a home, a context or any point.

Also: which homes have no (open) safe place within a walk, the area within that walk,
and a printable one-page "safe places near …" card.
"""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from ctxmap.app.audit import export_button
from ctxmap.app.cache import load_layers
from ctxmap.app.drawing import draw_map, map_options, page_study_area
from ctxmap.app.navigation import require_page
from ctxmap.app.nearby_inputs import (
    MAP_KEY,
    NearbyOptions,
    choose_start,
    on_map_click,
    sidebar_options,
)
from ctxmap.app.nearby_work import (
    card_html,
    contexts_with_location,
    coverage,
    nearest,
    walking_network,
)
from ctxmap.app.session import store_target, store_version
from ctxmap.app.widgets import attribution_caption, show_table
from ctxmap.layers.schemas import STORAGE_CRS
from ctxmap.maps.layers import build_map
from ctxmap.maps.nearby import coverage_map, nearby_map
from ctxmap.nearby.coverage import DEFAULT_MINUTES, open_places
from ctxmap.nearby.network import WalkNetwork
from ctxmap.nearby.origins import Origin
from ctxmap.nearby.query import NearestQuery
from ctxmap.nearby.tables import coverage_table, gap_homes, gap_list
from ctxmap.nearby.walking import estimate_basis
from ctxmap.reports import card


def nearest_section(query: NearestQuery, network: WalkNetwork | None,
                    places: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The nearest places to the start, as a table."""
    rows = nearest(path, version, query, _places=places, _network=network)
    st.subheader(f"Nearest {len(rows)} place(s)")
    st.caption(f"Open or closed at {card.when_text(query.when)}"
               + (" (only places open then are listed)" if query.open_only else "")
               + ". Walking pace 4.8 km/h.")
    if rows.empty:
        st.warning("No place matches these choices. Try more kinds, categories or times.")
    table = card.nearby_table(rows)
    if network is None:
        table = table.drop(columns=["Walk (m)"])
    show_table(table)
    if unlocated := int(rows.attrs.get("unlocated_places", 0) or 0):
        st.caption(f"{unlocated:,} place(s) have no location and could not be considered.")
    return rows


def results_map(origin: Origin | None, rows: gpd.GeoDataFrame | None,
                options: NearbyOptions, network: WalkNetwork | None) -> None:
    """The map of the results (or of every place); a click on it is a new start."""
    if rows is not None and origin is not None:
        context: dict[str, gpd.GeoDataFrame] = {
            kind: layers[kind] for kind in ("safe_places", "youth_centres")
            if kind in options.layers}
        areas = layers["areas"]
        if len(areas) and "level" in areas.columns:  # outlines help when tiles are blocked
            context["areas"] = areas[areas["level"].isin(["district", "ward"])]
        shown = nearby_map(origin, rows, places=places, context=context,
                           study_area=page_study_area())
    else:
        shown = build_map({kind: layers[kind] for kind in ("safe_places", "youth_centres")},
                          map_options())
    st.caption("Click anywhere on the map to start from there. Numbers match the list; blue "
               "dots are other safe places, green dots other youth centres. "
               + ("Dashed lines are straight lines (estimate), not routes." if network is None
                  else "Lines are walking routes along the streets."))
    st_folium(shown, key=MAP_KEY, height=520, use_container_width=True,
              returned_objects=["last_clicked"], on_change=on_map_click)


def card_section(query: NearestQuery, label: str, rows: gpd.GeoDataFrame,
                 origin: Origin) -> None:
    """The printable card of the results, exported through the audit log."""
    st.subheader("Printable card")
    st.caption("One A4 page: the map and the list with names, addresses, opening hours and "
               "walking times. For a home it shows the home's name but not its address; the "
               "start is marked “Start”. It has no place for a young person's name.")
    html = card_html((path, version, query), label, query.when_iso, _rows=rows,
                     _origin=origin, _places=places, _study_area=page_study_area())
    export_button(
        "Download the “safe places near …” card (HTML, opens offline; print from the browser)",
        html, file_name=card.card_file_name(dt.date.today()), mime="text/html",
        what="safe-places card (HTML)", rows=len(rows), key="nearby_card_download")


def coverage_section(options: NearbyOptions, network: WalkNetwork | None,
                     network_key: str) -> None:
    """Which homes can walk to a (open) safe place or youth centre within a threshold."""
    st.divider()
    st.subheader("Coverage: can every home walk to help?")
    c1, c2 = st.columns(2)
    minutes = c1.slider("Walking time threshold (minutes)", 5, 30, int(DEFAULT_MINUTES),
                        key="nearby_minutes")
    when = options.when
    cov_open = c2.checkbox(f"Count only safe places open at {card.when_text(when)}",
                           key="nearby_cov_open",
                           help="Otherwise every safe place counts whatever its hours.")
    if layers["homes"].empty:
        st.info("There are no homes in the store.")
        return
    cov, area = coverage(path, version, float(minutes),
                         options.when_iso if cov_open else None, network_key,
                         _layers=layers, _network=network)
    gaps, youth_gaps = gap_homes(cov), gap_homes(cov, "youth_gap")
    m1, m2, m3 = st.columns(3)
    m1.metric("Homes", f"{len(cov):,}")
    m2.metric(f"No safe place within {minutes} min", f"{len(gaps):,}")
    m3.metric(f"No youth centre within {minutes} min", f"{len(youth_gaps):,}")
    open_word = "open " if cov_open else ""
    if len(gaps):
        st.warning(f"Homes with no {open_word}safe place within {minutes} minutes' walk: "
                   + gap_list(gaps))
    else:
        st.success(f"Every home has a {open_word}safe place within {minutes} minutes' walk.")
    show_table(coverage_table(cov))
    if network is None:
        st.caption(card.estimate_notice(estimate_basis()))
    if st.toggle("Show the area within the walk on a map", key="nearby_cov_map"):
        safe = layers["safe_places"]
        counted = open_places(safe, when) if cov_open else safe
        draw_map(coverage_map(layers["homes"], cov, area, counted, study_area=page_study_area()),
                 key="nearby_coverage_map", height=520)
        st.caption(f"Shaded: within {minutes} minutes' walk of a{'n open' if cov_open else ''} "
                   "safe place"
                   + (" (circles from the straight-line estimate)." if network is None else ".")
                   + " Red: homes with none within the walk; green: homes within it.")


require_page(__file__)
st.title("Nearby safe places")
st.caption(
    "Where can a young person go for help from here? Pick a starting point to see the "
    "nearest safe places and youth centres with walking times, print a card for a home, "
    "and find homes with no safe place within a short walk."
)
path = store_target()
version = store_version(path)
layers = load_layers()
places = gpd.GeoDataFrame(
    pd.concat([layers[k].assign(layer=k) for k in ("safe_places", "youth_centres")],
              ignore_index=True), geometry="geometry", crs=STORAGE_CRS)
network, network_key = walking_network()
options = sidebar_options(places)
origin, card_label = choose_start(layers, lambda: contexts_with_location(path, version))
rows: gpd.GeoDataFrame | None = None
query = None
if origin is not None and not options.layers:
    st.warning("Choose at least one kind of place in the sidebar.")
elif origin is not None:
    query = NearestQuery(round(origin.lon, 6), round(origin.lat, 6), options.when_iso,
                         options.k, options.layers, options.categories or None,
                         options.open_only, network_key)
    rows = nearest_section(query, network, places)
results_map(origin, rows, options, network)
if query is not None and rows is not None and origin is not None and len(rows):
    card_section(query, card_label, rows, origin)
coverage_section(options, network, network_key)
attribution_caption()
