"""ctxmap dashboard: the entry point and router. Run with ``streamlit run app.py``.

Who is signed in decides which pages exist for them (``st.navigation`` gets only the
allowed pages, so a disallowed page cannot be reached by menu or by URL). In the
meeting view only the masked pages are offered. Everything, every page included, runs
inside :func:`ctxmap.app.guard.page_guard`: an unexpected error shows one line with an
error id, and its traceback goes to the server-side error log, never to the screen.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from ctxmap.app.audit import legal_basis_select
from ctxmap.app.cache import raw_layers
from ctxmap.app.guard import page_guard
from ctxmap.app.meeting_view import meeting_chrome, meeting_toggle, meeting_view
from ctxmap.app.navigation import follow_deep_link, user_pages
from ctxmap.app.session import session_store_summary
from ctxmap.app.signin import sign_in, user_panel
from ctxmap.app.style import accessible_style
from ctxmap.app.widgets import check_assets, check_settings

ROOT = Path(__file__).resolve().parent

st.set_page_config(page_title="ctxmap", layout="wide")
with page_guard("app.py"):
    accessible_style()
    check_settings()
    check_assets()
    user = sign_in()
    meeting = meeting_view()
    pages = user_pages(ROOT, user.role, meeting=meeting)
    nav = st.navigation(pages)
    follow_deep_link(pages, nav)
    with st.sidebar:
        user_panel(user)
        meeting_toggle()
        if not meeting:
            legal_basis_select("Legal basis for viewing unmasked data")
        st.caption(session_store_summary())
    if meeting:
        meeting_chrome(raw_layers().get("areas"))
    with page_guard(nav.url_path or "the first page"):
        nav.run()
