"""Analysis: locations of concern, study areas, density, hotspots, periods and statistics.

Owns the ranking of places by incidents around them, study area and per-area counts,
kernel density, Gi* hotspots, months/periods and incident filters, the incident index,
plan reviews and the statistics they share (Poisson, Benjamini–Hochberg).

May import: ctxmap.errors, ctxmap.settings, ctxmap.text, ctxmap.layers, ctxmap.store.
"""
