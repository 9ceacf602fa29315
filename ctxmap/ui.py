"""The one thin module that imports streamlit: caching, session keys and drawing the map.

Pages read widgets, call :mod:`ctxmap` functions (through the cached loaders here)
and draw. Nothing identifiable is cached across users beyond the store's own layers,
which every signed-in user of this installation may already read.
"""

from __future__ import annotations

import os
from pathlib import Path

import folium
import geopandas as gpd
import pandas as pd
import streamlit as st

from ctxmap.errors import CtxmapError
from ctxmap.schemas import LAYER_KINDS
from ctxmap.store import Store, resolve_store_path

#: Session-state keys, all in one place.
KEY_STORE = "ctxmap_store_path"
MAP_HEIGHT = 620


def store_path() -> Path:
    """The store this session uses (``$CTXMAP_STORE`` or the bundled sample)."""
    if KEY_STORE not in st.session_state:
        st.session_state[KEY_STORE] = str(resolve_store_path(None))
    return Path(st.session_state[KEY_STORE])


def store_version(path: Path) -> float:
    """A value that changes whenever the store file changes (cache key)."""
    try:
        return os.stat(path).st_mtime_ns / 1e9
    except FileNotFoundError:
        return 0.0


@st.cache_data(show_spinner="Reading the store…", max_entries=8)
def _load_layers(path: str, version: float) -> dict[str, gpd.GeoDataFrame]:
    store = Store(path, create=False)
    return {kind: store.read(kind) for kind in LAYER_KINDS}


def load_layers() -> dict[str, gpd.GeoDataFrame]:
    """Every layer of the session's store, cached until the store file changes."""
    path = store_path()
    if not path.exists():
        st.error(f"No store at {path}. Build the bundled sample with "
                 "`python scripts/build_sample.py`, or import a layer on the Import page.")
        st.stop()
    try:
        return _load_layers(str(path), store_version(path))
    except CtxmapError as exc:
        st.error(str(exc))
        st.stop()
        raise  # unreachable: st.stop() raises


def invalidate_layers() -> None:
    """Forget cached layers (after an import)."""
    _load_layers.clear()


def check_assets() -> None:
    """Stop with a clear message when the map's JavaScript/CSS were not installed."""
    from ctxmap.assets import check_vendor

    try:
        check_vendor()
    except CtxmapError as exc:
        st.error(f"The map cannot be drawn: {exc}")
        st.stop()


def draw_map(m: folium.Map, *, key: str, height: int = MAP_HEIGHT) -> None:
    """Draw a folium map with streamlit-folium; panning and zooming never rerun the page."""
    from streamlit_folium import st_folium

    st_folium(m, key=key, height=height, use_container_width=True, returned_objects=[])


def show_table(frame: pd.DataFrame, **kwargs: object) -> None:
    """Show a table; cells are rendered as text, never as HTML or Markdown."""
    st.dataframe(frame, hide_index=True, width="stretch", **kwargs)


def attribution_caption() -> None:
    """The data attributions the licences require."""
    st.caption(
        "Crime data: Contains public sector information licensed under the Open Government "
        "Licence v3.0 (police.uk). Places: © OpenStreetMap contributors (ODbL). Boundaries: "
        "Contains National Statistics data © Crown copyright and database right 2014. Contains "
        "Ordnance Survey data © Crown copyright and database right 2014. Homes in the sample "
        "are fictional."
    )
