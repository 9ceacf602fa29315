"""Writing layer rows into a GeoPackage store inside a transaction the caller holds.

:meth:`ctxmap.store.geopackage.GeoPackageStore.write_layers` opens one transaction and calls
:func:`write_layer_rows` once per layer, so several layers are written together or not at
all; :func:`update_extent` keeps ``gpkg_contents`` right for GeoPackage readers.
"""

from __future__ import annotations

import datetime as dt
import sqlite3

import geopandas as gpd
import shapely

from ctxmap.layers.schemas import LayerSchema
from ctxmap.store.gpkg_blobs import from_gpkg_blobs, to_gpkg_blobs
from ctxmap.store.layer_rows import replaced_levels, value_rows
from ctxmap.store.protocol import ImportRecord, WriteOptions


def write_layer_rows(
    con: sqlite3.Connection,
    kind: str,
    gdf: gpd.GeoDataFrame,
    schema: LayerSchema,
    how: WriteOptions,
) -> ImportRecord:
    """Write one layer's rows inside the open transaction ``con``; its import-log entry.

    ``how`` holds the file, mode, SHA-256, user and pacing (see
    :meth:`ctxmap.store.geopackage.GeoPackageStore.write`); the caller opens and commits
    the transaction (several layers may share it).
    """
    names = schema.column_names
    blobs = to_gpkg_blobs(gdf.geometry.to_numpy())
    values = value_rows(gdf, schema)
    n = len(gdf)
    mapped = sum(b is not None for b in blobs)
    placeholders = ", ".join("?" * (len(names) + 2))
    quoted = ", ".join(f'"{c}"' for c in names)
    updates = ", ".join(f'"{c}" = excluded."{c}"' for c in names if c != "id")
    sql = (
        f'INSERT INTO "{kind}" (geom, {quoted}, import_id) VALUES ({placeholders}) '
        f"ON CONFLICT(id) DO UPDATE SET geom = excluded.geom, {updates}, "
        "import_id = excluded.import_id"
    )
    mode = how.mode
    if mode == "replace" and kind == "areas":
        # areas hold several levels: replacing wards must not drop the LSOAs
        levels = replaced_levels(gdf)
        con.execute(
            f'DELETE FROM "areas" WHERE level IN ({", ".join("?" * len(levels))})',
            levels,
        )
    elif mode == "replace":
        con.execute(f'DELETE FROM "{kind}"')
    cur = con.execute(
        "INSERT INTO ctxmap_imports (layer, file, sha256, rows, mapped, unmapped, mode,"
        " imported_at, imported_by) VALUES (?,?,?,?,?,?,?,?,?)",
        (kind, how.file, how.sha256 or "", n, mapped, n - mapped, mode,
         dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), how.user),
    )
    import_id = int(cur.lastrowid or 0)
    for start in range(0, n, how.batch_size):
        stop = min(n, start + how.batch_size)
        con.executemany(
            sql,
            (
                (blobs[i], *values[i], import_id)
                for i in range(start, stop)
            ),
        )
        if how.progress is not None:
            how.progress(stop, n)
    update_extent(con, kind)
    return ImportRecord(import_id, kind, how.file, n, mapped, n - mapped, mode)


def update_extent(con: sqlite3.Connection, kind: str) -> None:
    """Record a layer's extent in ``gpkg_contents`` (GeoPackage readers use it)."""
    blobs = [r[0] for r in con.execute(f'SELECT geom FROM "{kind}" WHERE geom IS NOT NULL')]
    if blobs:
        b = shapely.total_bounds(from_gpkg_blobs(blobs))
        extent: tuple[float | None, ...] = tuple(float(v) for v in b)
    else:
        extent = (None, None, None, None)
    con.execute(
        "UPDATE gpkg_contents SET min_x=?, min_y=?, max_x=?, max_y=?, "
        "last_change=strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE table_name=?",
        (*extent, kind),
    )
