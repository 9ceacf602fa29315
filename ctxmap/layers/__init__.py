"""Layers: what each layer holds, and reading, checking and classifying layer files.

Owns the layer schemas, the readers (entry points in ``readers``; CSV and police.uk in
``read_csv``; GeoJSON/GeoPackage in ``read_geo``; coordinate checks in ``coordinates``;
fitting to the schema in ``conform``; the result in ``read_result``), the OSM rules
table (``osm_rules``) and classifier (``osm``), CRS handling, shared geometry helpers
(located rows, grid cells) and the fictional sample homes.

May import: ctxmap.errors, ctxmap.settings, ctxmap.text.
"""
