"""The safety map on the contexts page: the pooled map of every context, and rating a place.

Young people rate places red, amber or green; the pooled map shows every context's
ratings per place (small counts hidden in shared views). A place to rate is picked from
the layers (never a home) or clicked on a small map.
"""

from __future__ import annotations

from typing import Any, Final

import streamlit as st
from shapely import from_wkt as shape_from_wkt
from streamlit_folium import st_folium

from ctxmap.app.cache import cached
from ctxmap.app.context_forms import ContextPage
from ctxmap.app.drawing import draw_map, map_options
from ctxmap.app.forms import save_form, show_form_errors
from ctxmap.app.meeting_view import mask_settings, meeting_view
from ctxmap.app.widgets import show_table
from ctxmap.cases.records import RATINGS
from ctxmap.cases.repository import add_record
from ctxmap.cases.safety_map import (
    RAG_MEANINGS,
    clicked_point,
    pickable_places,
    pool_by_place,
    safety_ratings_layer,
    shared_safety_places,
)
from ctxmap.cases.tables import pooled_table
from ctxmap.errors import CtxmapError, InputError
from ctxmap.maps.interactive import clicked_place_group
from ctxmap.maps.layers import build_map
from ctxmap.maps.safety_layer import safety_legend, safety_map_group
from ctxmap.store.protocol import Store

PICK, CLICK = "Pick a place", "Click on the map"
#: Session-state key of the clicked point (WKT).
KEY_CLICKED: Final = "ctx_clicked"


def pooled_safety_map(store: Store) -> None:
    """The pooled safety map of every context (small counts hidden in shared views)."""
    st.markdown("**Safety map: every context, over time (pooled)**")
    shared = meeting_view()
    threshold = mask_settings().threshold if shared else None
    since = st.date_input("Ratings since (empty: all)", value=None, key="pool_since")
    ratings = safety_ratings_layer(store, since=since.isoformat() if since else None)
    pooled = pool_by_place(ratings, threshold=threshold)
    if shared and len(pooled):
        # a shared screen gets neither staff's free-text labels nor exact points (a
        # rated spot can be someone's home): each place is drawn at its 250 m square
        pooled = shared_safety_places(pooled)
    st.caption("Each circle is one place, coloured by its most frequent rating; the number "
               "beside it is how many ratings it has; hover for red/amber/green counts. "
               "Young people are not shown."
               + (f" Shared view: counts below {threshold} are hidden (grey: all hidden)."
                  if shared else ""))
    if not len(pooled):
        st.info("No safety-map ratings yet.")
        return
    pm = build_map({}, map_options(zoom=14, center=(float(pooled.geometry.y.mean()),
                                                    float(pooled.geometry.x.mean()))),
                   extra_groups=[safety_map_group(pooled, threshold=threshold)],
                   extra_legend=safety_legend(pooled, threshold))
    minx, miny, maxx, maxy = pooled.total_bounds
    pm.fit_bounds([[miny, minx], [maxy, maxx]], padding=(30, 30), max_zoom=16)
    draw_map(pm, key="ctx_safety_map", height=420)
    show_table(pooled_table(pooled))


def _clicked_place(centre: Any) -> Any:
    """The small map to click a place on; returns the clicked point (or None)."""
    cm = build_map({}, map_options(center=(centre.y, centre.x), zoom=15, layer_control=False))
    wkt = st.session_state.get(KEY_CLICKED)
    marker = clicked_place_group(shape_from_wkt(wkt) if wkt else None)
    got = st_folium(cm, key="ctx_rating_click", height=340, use_container_width=True,
                    returned_objects=["last_clicked"], feature_group_to_add=[marker])
    try:
        clicked = clicked_point((got or {}).get("last_clicked"))
    except CtxmapError as exc:
        st.error(str(exc))
        clicked = None
    if clicked is not None and clicked.wkt != wkt:
        st.session_state[KEY_CLICKED] = clicked.wkt
        st.rerun()
    if not wkt:
        st.caption("Click the place on the map.")
        return None
    point = shape_from_wkt(wkt)
    st.caption(f"Clicked: {point.y:.5f}, {point.x:.5f} (click again to move it).")
    return point


def rating_form(page: ContextPage) -> None:
    """Add a young person's rating of a place (picked from the layers or clicked)."""
    how = st.radio("Where is the place?", [PICK, CLICK], horizontal=True, key="rate_how",
                   help="Pick: safe places, youth centres and named areas (homes are "
                   "never offered: the pooled safety map is shared).")
    options = cached(("safety_pickable",), lambda: pickable_places(page.layers))
    point, label, place = None, "", None
    if how == CLICK:
        ctx = page.ctx
        centre = (ctx.geometry.centroid if ctx.geometry is not None
                  else options.geometry.union_all().centroid)
        point = _clicked_place(centre)
    show_form_errors("ctx_rating")
    with st.form("ctx_rating", clear_on_submit=True):
        if how == PICK:
            labels = dict(zip(options["key"], options["label"], strict=True))
            place = st.selectbox("Place (type to search)", list(labels), index=None,
                                 format_func=lambda k: labels[k], key="rate_place",
                                 placeholder="A safe place, youth centre or area")
        else:
            label = st.text_input("What the young person calls this place (not an address)",
                                  key="rate_label")
        c1, c2, c3 = st.columns([1, 1, 2])
        rating = c1.radio("Rating", RATINGS, key="rate_rag",
                          format_func=lambda r: f"{r}: {RAG_MEANINGS[r]}")
        by = c2.selectbox("Young person", ["(anonymous)", *page.refs], key="rate_by")
        comment = c3.text_input("Short comment", max_chars=200, key="rate_comment")
        if not st.form_submit_button("Add rating", key="rate_submit"):
            return
    if how == PICK and place is not None:
        row = options[options["key"] == place].iloc[0]
        label, point = str(row["label"]), row.geometry

    def write() -> object:
        if point is None:
            raise InputError("Choose a place: pick one from the list or click on the map.")
        new = add_record(page.store, "safety_rating", page.ctx.id, page.user,
                         place_label=label, rating=rating, geometry=point,
                         rated_on=page.today, yp_ref=None if by == "(anonymous)" else by,
                         comment=comment)
        st.session_state.pop(KEY_CLICKED, None)
        return new

    save_form("ctx_rating", [write])
