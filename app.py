"""ctxmap dashboard: the entry point and router. Run with ``streamlit run app.py``."""

from __future__ import annotations

import streamlit as st

from ctxmap.ui import check_assets, store_path

st.set_page_config(page_title="ctxmap", layout="wide")

PAGES = [
    st.Page("pages/map.py", title="Map", default=True),
    st.Page("pages/import_layers.py", title="Import & layers"),
]

check_assets()
nav = st.navigation(PAGES)
with st.sidebar:
    st.caption(f"Store: `{store_path().name}`")
nav.run()
