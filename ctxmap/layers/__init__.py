"""Layers: what each layer holds, and reading, checking and classifying layer files.

Owns the layer schemas, the readers (CSV and police.uk, GeoJSON/GeoPackage, coordinate
checks), the OSM classification rules, CRS handling, shared geometry helpers (located
rows, grid cells) and gathering the layers a command works on.

May import: ctxmap.errors, ctxmap.settings, ctxmap.text.
"""
