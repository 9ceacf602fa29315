"""Analysis: locations of concern, study areas, density, hotspots, periods and statistics.

Owns the ranking of places by incidents around them (``concern``, with the radius joins
in ``counting`` and the flag sentences in ``reasons``), study area and per-area counts,
kernel density, Gi* hotspots, months, periods and incident filters (``periods``), the
incident index, plan reviews, the statistics they share (``statistics``: Poisson,
binomial, Benjamini–Hochberg) and gathering the layers a command or page works on
from files or the store (``inputs``), and the risk-terrain model of incidents per grid
cell from the surroundings (``risk_grid``, ``risk_terrain``).

May import: ctxmap.errors, ctxmap.settings, ctxmap.text, ctxmap.layers, ctxmap.store.
"""
