"""The Import page's forms: a store for a new area, its study area, one file of places.

The places form writes both place layers from one file, as ``import FILE --layer places``.

The page only calls these; what they do is what ``python -m ctxmap init`` and ``import
... --study-area`` do (:func:`ctxmap.store.opening.create_store`,
:func:`ctxmap.analysis.inputs.read_study_area_bytes`).
"""

from __future__ import annotations

import hashlib

import pandas as pd
import streamlit as st

from ctxmap.analysis.inputs import read_study_area_bytes
from ctxmap.app.cache import invalidate_layers
from ctxmap.app.guard import show_error, without_server_paths
from ctxmap.app.session import KEY_STORE, open_session_store
from ctxmap.app.widgets import show_table
from ctxmap.errors import CtxmapError
from ctxmap.layers.read_result import LayerRead
from ctxmap.layers.readers import rule_counts, split_places
from ctxmap.store.marks import make_study_area, read_study_area, write_study_area
from ctxmap.store.opening import create_store, describe_target
from ctxmap.store.protocol import Store


def new_store_form() -> None:
    """A form making an empty store for a new area; the session then uses it."""
    with st.form("ctxmap_new_store"):
        target = st.text_input("New store", placeholder="/srv/ctxmap/great_yarmouth.gpkg",
                               help="a GeoPackage file path ending in .gpkg, or a "
                               "postgresql:// URL; an existing store is never overwritten")
        name = st.text_input("Area name", placeholder="Great Yarmouth")
        outline = st.file_uploader("Study area outline (optional)",
                                   type=["geojson", "json", "gpkg"],
                                   help="e.g. the ONS local authority district boundary; "
                                   "its outline is the study area of every baseline")
        made = st.form_submit_button("Make the store")
    if not made:
        return
    if not target.strip():
        st.error("Give the new store's path (ending in .gpkg) or a postgresql:// URL.")
        return
    try:
        area = (read_study_area_bytes(outline.getvalue(), outline.name, label=name or None)
                if outline is not None else None)
        create_store(target.strip(), name=name or None, study_area=area)
    except CtxmapError as exc:
        show_error(exc, "No store was made: ")
        return
    st.session_state[KEY_STORE] = target.strip()
    invalidate_layers()
    st.success(f"Made {without_server_paths(describe_target(target.strip()))}; this session "
               "now uses it." + (f" Study area: {area.description}." if area else
                                 " Set its study area below."))


def study_area_picker(store: Store) -> None:
    """Show the store's study area and let the user choose a stored area as it."""
    current = read_study_area(store)
    if current is None:
        st.warning("No study area is set: baselines (Locations of concern, hotspots) need "
                   "one. Choose a stored area below, or import an outline with “Make this "
                   "file's outline the study area”.")
    else:
        st.caption(f"Study area: {current.description}")
    areas = store.read("areas", columns=["id", "name", "level"])
    located = areas[areas.geometry.notna()].reset_index(drop=True)
    if located.empty:
        return
    labels = [f"{r.name or r.id} ({r.level}, {r.id})" for r in located.itertuples()]
    with st.form("ctxmap_study_area"):
        pick = st.selectbox("Use a stored area as the study area", range(len(labels)),
                            format_func=lambda i: labels[i])
        chosen = st.form_submit_button("Set the study area")
    if chosen and pick is not None:
        row = located.iloc[int(pick)]
        try:
            area = make_study_area(row.geometry, str(row["name"] or row["id"]),
                                   f"area {row['id']} ({row['level']})")
            write_study_area(store, area)
        except CtxmapError as exc:
            show_error(exc, "The study area was not changed: ")
            return
        invalidate_layers()
        st.success(f"Study area: {area.description}")


#: The Import page's choice for one file of places of every kind.
PLACES = "places"
PLACES_TITLE = "Places (safe places and youth centres, sorted by the tag rules)"
_LAYER_WORDS = {"safe_places": "Safe places", "youth_centres": "Youth centres"}


def import_places_form(result: LayerRead, raw: bytes, file: str, mode: str) -> None:
    """Show how a places file sorts by rule and write both place layers in one transaction.

    As ``import FILE --layer places``: rows that are not a place are left out and
    counted; a layer with no row in the file is left unchanged; on any failure neither
    layer is written.
    """
    counts = rule_counts(result.gdf)
    show_table(pd.DataFrame({
        "Rule": counts["rule"], "Rows": counts["rows"],
        "Layer": [_LAYER_WORDS.get(layer, "not a place") for layer in counts["layer"]]}))
    parts = {k: v for k, v in split_places(result.gdf).items() if not v.empty}
    left = len(result.gdf) - sum(len(v) for v in parts.values())
    if not parts:
        st.error(f"None of the {len(result.gdf):,} rows of {file} is a safe place or youth "
                 "centre by the tag rules (docs/osm-classification.md). Nothing was "
                 "written; the store is unchanged.")
        return
    what = " and ".join(f"{len(v):,} {_LAYER_WORDS[k].lower()}" for k, v in parts.items())
    st.success(f"{file} is usable: {what}" + (f"; {left:,} rows are not a place and are "
                                               "left out." if left else "."))
    if not st.button(f"Import {what}", type="primary"):
        return
    try:
        records = open_session_store(create=True).write_layers(
            parts, file=file, mode=mode, sha256=hashlib.sha256(raw).hexdigest())
    except CtxmapError as exc:
        show_error(exc, "Not imported: neither layer was written, the store is unchanged. ")
        return
    invalidate_layers()
    for rec in records:
        st.success(f"Imported {rec.rows:,} rows into {_LAYER_WORDS[rec.layer].lower()} "
                   f"({rec.mapped:,} mapped, {rec.unmapped:,} without a location) as import "
                   f"{rec.import_id}.")
