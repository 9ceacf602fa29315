"""Reports: the printable safe-places card and the meeting pack, from Jinja2 templates.

Owns the card's and the pack's content and their templates (autoescaped).

May import: ctxmap.errors, ctxmap.settings, ctxmap.text, ctxmap.layers, ctxmap.store,
    ctxmap.analysis, ctxmap.nearby, ctxmap.privacy, ctxmap.cases, ctxmap.maps.
"""
