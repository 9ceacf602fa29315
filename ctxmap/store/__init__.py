"""Store: where layers and records are kept, the embedded GeoPackage or a PostGIS database.

Owns the ``Store`` protocol both stores implement, the GeoPackage and PostGIS stores,
opening a store by path or URL, the records tables (SQLAlchemy Core), migrations and
``migrate-store``. The only package that imports sqlite3, psycopg or SQLAlchemy.

May import: ctxmap.errors, ctxmap.settings, ctxmap.text, ctxmap.layers.
"""
