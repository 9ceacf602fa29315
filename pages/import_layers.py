"""Import a layer file: validate it, show the report, keep it in the store."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from ctxmap.analysis.inputs import outline_from_frame
from ctxmap.app.cache import invalidate_layers
from ctxmap.app.guard import show_error, without_server_paths
from ctxmap.app.navigation import require_page
from ctxmap.app.session import (
    open_session_store,
    session_store_exists,
    session_store_summary,
    store_label,
)
from ctxmap.app.store_forms import (
    PLACES,
    PLACES_TITLE,
    import_places_form,
    new_store_form,
    study_area_picker,
)
from ctxmap.app.widgets import show_table
from ctxmap.errors import CtxmapError
from ctxmap.layers.readers import read_layer_bytes, read_places_bytes
from ctxmap.layers.schemas import LAYER_KINDS, SCHEMAS, schema_for
from ctxmap.store.marks import write_study_area

#: Files of at least this many rows show a progress bar while they are written.
PROGRESS_ROWS = 20_000

require_page(__file__)
st.title("Import & layers")
with st.expander("Start a store for a new area", expanded=not session_store_exists()):
    new_store_form()
st.subheader("In the store")
st.caption(session_store_summary())
if session_store_exists():
    store = open_session_store()
    study_area_picker(store)
    counts = pd.DataFrame(
        [{"Layer": schema_for(k).title, "Rows": c["rows"], "Mapped": c["mapped"],
          "No location": c["unmapped"]} for k, c in store.counts().items()]
    )
    show_table(counts)
    with st.expander("Import log"):
        show_table(store.imports())
else:
    st.info(f"No store yet at {without_server_paths(store_label())}: start one above, or "
            "the first import creates it.")

st.subheader("Import a file")
kind = st.selectbox("Layer", (*LAYER_KINDS, PLACES), index=1, format_func=lambda k: (
    PLACES_TITLE if k == PLACES else SCHEMAS[k].title),
    help=f"{PLACES_TITLE}: one file (an OpenStreetMap extract or your own list with a "
    "category) sorted row by row into safe places, youth centres or not a place by the "
    "rules of docs/osm-classification.md; both layers are written together")
title = PLACES_TITLE if kind == PLACES else schema_for(kind).title
mode = st.radio("Mode", ["append", "replace"] if kind == "areas" else ["replace", "append"],
                horizontal=True,
                help="replace: the layer's rows (areas: the stored rows of the levels this "
                "file holds) are replaced; append: rows are added, and rows with an id "
                "already stored are updated (areas of several files live side by side)")
repair = kind != PLACES and st.checkbox(
    "Repair invalid geometries (make_valid, each repair listed below)", value=True,
    help="untick to refuse invalid geometries instead")
as_study_area = kind == "areas" and st.checkbox("Make this file's outline the study area")
upload = st.file_uploader("Layer file", type=["csv", "geojson", "json", "gpkg"],
                          help="police.uk street-level CSV, CSV with latitude/longitude or "
                          "easting/northing, GeoJSON, or GeoPackage")

if upload is not None:
    raw = upload.getvalue()
    try:
        result = (read_places_bytes(raw, name=upload.name, suffix=Path(upload.name).suffix)
                  if kind == PLACES else
                  read_layer_bytes(raw, kind, name=upload.name, suffix=Path(upload.name).suffix,
                                   repair=repair))
    except CtxmapError as exc:
        show_error(exc)
        st.stop()
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Rows", f"{result.total_rows:,}")
    c2.metric("Mapped", f"{result.mapped_rows:,}")
    c3.metric("No location", f"{result.unmapped_rows:,}")
    c4.metric("Rows with errors", f"{result.rejected_rows:,}")
    for note in result.notes:
        st.info(note)
    if result.problems:
        show_table(pd.DataFrame([{"Severity": p.severity, "Row": p.row, "Column": p.column,
                                  "Problem": p.message} for p in result.problems]))
    if kind == PLACES and result.usable:
        import_places_form(result, raw, upload.name, mode)
    elif result.usable:
        st.success(f"{upload.name} is usable as {title}.")
        if st.button(f"Import {len(result.gdf):,} rows into {title}",
                     type="primary"):
            import hashlib

            bar = st.progress(0.0, text="Writing…") if len(result.gdf) >= PROGRESS_ROWS else None

            def _progress(done: int, total: int) -> None:
                if bar is not None:
                    bar.progress(done / max(total, 1), text=f"Written {done:,} of {total:,} rows")

            try:
                rec = open_session_store(create=True).write(
                    kind, result.gdf, file=upload.name, mode=mode,
                    sha256=hashlib.sha256(raw).hexdigest(), progress=_progress)
            except CtxmapError as exc:
                show_error(exc, "Not imported, the store is unchanged: ")
            else:
                invalidate_layers()
                st.success(f"Imported {rec.rows:,} rows ({rec.mapped:,} mapped, "
                           f"{rec.unmapped:,} without a location) as import {rec.import_id}.")
                if as_study_area:
                    area = outline_from_frame(result.gdf, upload.name)
                    write_study_area(open_session_store(), area)
                    st.success(f"Study area: {area.description}")
    else:
        st.error(f"{upload.name} cannot be imported as {title}: fix the errors "
                 "above. Nothing was written; the store is unchanged.")
