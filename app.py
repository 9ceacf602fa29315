"""ctxmap dashboard: the entry point and router. Run with ``streamlit run app.py``.

Who is signed in decides which pages exist for them (``st.navigation`` gets only the
allowed pages, so a disallowed page cannot be reached by menu or by URL). In the
meeting view only the masked pages are offered.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from ctxmap.app.ui import (
    check_assets,
    legal_basis_select,
    meeting_chrome,
    meeting_toggle,
    meeting_view,
    page_files,
    sign_in,
    store_path,
    user_panel,
)
from ctxmap.privacy.roles import allowed_pages

ROOT = Path(__file__).resolve().parent

st.set_page_config(page_title="ctxmap", layout="wide")
check_assets()
user = sign_in()
meeting = meeting_view()
rules = allowed_pages(user.role, page_files(ROOT))
if meeting:
    rules = [r for r in rules if not r.unmasked]
pages = [st.Page(r.path, title=r.title, default=(i == 0)) for i, r in enumerate(rules)]
nav = st.navigation(pages)
with st.sidebar:
    user_panel(user)
    meeting_toggle()
    if not meeting:
        legal_basis_select("Legal basis for viewing unmasked data")
    st.caption(f"Store: `{store_path().name}`")
meeting_chrome()
nav.run()
