"""App: the Streamlit boundary shared by the pages (session, sign-in, meeting chrome, caching).

Owns the session's store, sign-in screens, meeting chrome, audit hooks and caching. The
only package besides ``pages/`` and ``app.py`` that imports streamlit.

May import: ctxmap.errors, ctxmap.settings, ctxmap.text, ctxmap.layers, ctxmap.store,
    ctxmap.analysis, ctxmap.nearby, ctxmap.privacy, ctxmap.cases, ctxmap.maps,
    ctxmap.reports.
"""
