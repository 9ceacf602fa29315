"""The main map: every layer, incidents filtered by month range and type."""

from __future__ import annotations

import streamlit as st

from ctxmap.filters import (
    categories_available,
    filter_incidents,
    months_available,
    period_label,
    summarise_incidents,
)
from ctxmap.mapping import build_map
from ctxmap.schemas import EXPLOITATION_CATEGORIES
from ctxmap.ui import attribution_caption, draw_map, load_layers, show_table

st.title("Map")
layers = load_layers()
incidents = layers["incidents"]
months = months_available(incidents)
categories = categories_available(incidents)

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

period = (first, last) if first else None
shown = filter_incidents(incidents, months=period, categories=chosen)
summary = summarise_incidents(shown)

c1, c2, c3 = st.columns(3)
c1.metric("Incidents shown on the map", f"{summary.mapped:,}")
c2.metric("In the period with no location (not mapped)", f"{summary.unmapped:,}")
c3.metric("Period", period_label(first, last) if first else "—")

view = dict(layers)
view["incidents"] = shown
draw_map(build_map(view), key="main_map")
attribution_caption()

with st.expander("Incidents per type", expanded=False):
    show_table(summary.by_category.rename(columns={
        "category": "Type", "mapped": "Mapped", "no_location": "No location", "total": "Total"}))
