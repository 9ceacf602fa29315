"""ctxmap dashboard: the entry point and router. Run with ``streamlit run app.py``."""

from __future__ import annotations

import streamlit as st

from ctxmap.ui import store_path

st.set_page_config(page_title="ctxmap", page_icon=":material/map:", layout="wide")

PAGES = [
    st.Page("pages/map.py", title="Map", icon=":material/map:", default=True),
    st.Page("pages/import_layers.py", title="Import & layers", icon=":material/upload_file:"),
]

nav = st.navigation(PAGES)
with st.sidebar:
    st.caption(f"Store: `{store_path().name}`")
nav.run()
