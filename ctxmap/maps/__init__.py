"""Maps: every folium object ctxmap draws; returns maps, never renders them.

Owns the base map, layer groups, legends, analysis layers, the Nearby page's and the
card's maps, the meeting map, the safety map, served assets and standalone export.
The only package that imports folium or branca.

May import: ctxmap.errors, ctxmap.settings, ctxmap.text, ctxmap.layers, ctxmap.analysis,
    ctxmap.nearby, ctxmap.privacy, ctxmap.cases.
"""
