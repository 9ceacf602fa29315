"""Move a store between the embedded GeoPackage and PostgreSQL, losing nothing.

:func:`migrate_store` copies every layer (rows in order, with the import each row came
from) and the import log (ids included) in **one transaction** on the target, then
re-reads the target and checks, per layer, the row count and a checksum of every row's
id, geometry (WKB) and canonical values; and that the import logs are equal. A target
that already holds rows is refused unless ``force`` (then its layers and log are
replaced).

The contexts of concern and everything under them (partners, young-person links,
assessments, plans, consent, safety ratings, review notes, the append-only history) and
the audit log are copied in the same transaction (ids kept), and verified the same way
(row counts and a SHA-256 over every row). Append-only records are never overwritten:
a target holding contexts, history or audit entries is refused even with ``force``.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from psycopg import sql
from sqlalchemy import Connection

from ctxmap.errors import InputError, StoreError
from ctxmap.layers.schemas import LAYER_KINDS, schema_for
from ctxmap.store.engine import driver_connection
from ctxmap.store.geopackage import GeoPackageStore
from ctxmap.store.gpkg_blobs import from_gpkg_blobs, to_gpkg_blobs
from ctxmap.store.gpkg_write import update_extent
from ctxmap.store.layer_rows import layer_frame, value_rows
from ctxmap.store.marks import NAME_KEY, STUDY_AREA_KEY
from ctxmap.store.opening import describe_target, open_store, resolve_target
from ctxmap.store.postgis import PostGISStore
from ctxmap.store.postgis_layers import bulk_indexes, copy_layer_rows, copy_rows, touch_layers
from ctxmap.store.protocol import Store
from ctxmap.store.record_tables import GENERATED_ID_TABLES, RECORD_TABLES, RECORDS, ctx_partners

#: The import-log columns both stores hold.
IMPORT_COLUMNS: Final = ("id", "layer", "file", "sha256", "rows", "mapped", "unmapped",
                         "mode", "imported_at", "imported_by")

ProgressFn = Callable[[str], None]

#: Record tables that can never be emptied (triggers refuse deletes).
APPEND_ONLY: Final = ("ctx_contexts", "ctx_history", "ctxmap_audit")


@dataclass(frozen=True)
class TableDump:
    """Every row of one record table (columns as stored), sorted for checksums."""

    table: str
    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]


def dump_records(store: Store) -> list[TableDump]:
    """Read every records table of ``store`` (:data:`~ctxmap.store.record_tables.RECORD_TABLES`)."""
    out = []
    with store.records() as con:
        for table in RECORD_TABLES:
            result = con.execute(table.select())
            rows = [tuple(r) for r in result.all()]
            out.append(TableDump(table.name, tuple(result.keys()), sorted(rows, key=repr)))
    return out


def records_checksum(dump: TableDump) -> str:
    """SHA-256 over a record table's column names and rows (order-independent)."""
    h = hashlib.sha256(repr(dump.columns).encode("utf-8"))
    for row in sorted(dump.rows, key=repr):
        h.update((repr(row) + "\x1e").encode("utf-8"))
    return h.hexdigest()


def _load_records(con: Connection, records: list[TableDump]) -> None:
    """Replace the partner list and add every record row, ids kept (in ``con``'s transaction)."""
    con.execute(ctx_partners.delete())
    for dump in records:
        if not dump.rows:
            continue
        table = RECORDS.tables[dump.table]
        con.execute(table.insert(), [dict(zip(dump.columns, row, strict=True))
                                     for row in dump.rows])
        if con.dialect.name == "postgresql" and table in GENERATED_ID_TABLES:
            con.exec_driver_sql(
                f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                f'coalesce(max(id), 0) + 1, false) FROM "{table.name}"')


@dataclass(frozen=True)
class LayerDump:
    """One layer as stored: its rows in order and the import each came from."""

    kind: str
    gdf: gpd.GeoDataFrame
    import_ids: list[int | None]


@dataclass(frozen=True)
class LayerCheck:
    """What was copied of one layer and its checksum (equal on both sides)."""

    kind: str
    rows: int
    checksum: str


@dataclass(frozen=True)
class MigrationReport:
    """What :func:`migrate_store` copied and verified."""

    source: str
    target: str
    layers: tuple[LayerCheck, ...]
    imports: int
    records: tuple[tuple[str, int], ...] = ()


def layer_checksum(gdf: gpd.GeoDataFrame) -> str:
    """SHA-256 over the rows sorted by id: id, WKB of the geometry and every other column.

    Geometries are compared as 2D little-endian WKB (null stays distinct from empty);
    values as text with a marker for null, so ``""`` and null differ.
    """
    h = hashlib.sha256()
    if len(gdf) == 0:
        return h.hexdigest()
    order = np.argsort(gdf["id"].astype(str).to_numpy(), kind="stable")
    frame = gdf.iloc[order]
    wkb = shapely.to_wkb(frame.geometry.to_numpy(), hex=True, byte_order=1,
                         output_dimension=2)
    cols = [c for c in frame.columns if c != frame.geometry.name]
    values = [frame[c].astype(object).tolist() for c in cols]
    for i, w in enumerate(wkb):
        parts = ["\x00" if w is None else str(w)]
        for col in values:
            v = col[i]
            parts.append("\x00" if v is None or v is pd.NA or (isinstance(v, float)
                                                               and np.isnan(v)) else repr(v))
        h.update(("\x1f".join(parts) + "\x1e").encode("utf-8"))
    return h.hexdigest()


# --------------------------------------------------------------------------- dump


def dump_layer(store: Store, kind: str) -> LayerDump:
    """Read a layer with every canonical column and each row's ``import_id``, in row order."""
    schema = schema_for(kind)
    names = schema.column_names
    if isinstance(store, PostGISStore):
        query = sql.SQL("SELECT ST_AsBinary(geom), {c}, import_id FROM {t} ORDER BY fid").format(
            c=sql.SQL(", ").join(sql.Identifier(n) for n in names), t=sql.Identifier(kind))
        pg = store.connect()
        try:
            with pg.cursor(binary=True) as cur:
                cur.execute(query)
                rows = cur.fetchall()
        finally:
            pg.close()
        wkb = np.array([None if r[0] is None else bytes(r[0]) for r in rows], dtype=object)
        geoms = shapely.from_wkb(wkb)
    elif isinstance(store, GeoPackageStore):
        quoted = ", ".join(f'"{n}"' for n in names)
        con = store.connect()
        try:
            rows = con.execute(f'SELECT geom, {quoted}, import_id FROM "{kind}" ORDER BY fid'
                               ).fetchall()
        finally:
            con.close()
        geoms = from_gpkg_blobs([r[0] for r in rows])
    else:
        raise TypeError(f"cannot dump a layer of {type(store).__name__}; expected a "
                        "GeoPackageStore or a PostGISStore")
    if not rows:
        geoms = np.array([], dtype=object)
    gdf = layer_frame(schema, names, geoms, [r[1:-1] for r in rows])
    return LayerDump(kind, gdf, [None if r[-1] is None else int(r[-1]) for r in rows])


def dump_imports(store: Store) -> pd.DataFrame:
    """The import log, oldest first, with :data:`IMPORT_COLUMNS`."""
    log = store.imports()
    return log[list(IMPORT_COLUMNS)].sort_values("id").reset_index(drop=True)


def is_empty(store: Store) -> bool:
    """Whether the store holds no layer rows and no imports."""
    return all(c["rows"] == 0 for c in store.counts().values()) and len(store.imports()) == 0


# --------------------------------------------------------------------------- load


def _records(log: pd.DataFrame) -> list[tuple[Any, ...]]:
    return [tuple(int(v) if isinstance(v, np.integer) else v for v in row)
            for row in log[list(IMPORT_COLUMNS)].itertuples(index=False, name=None)]


def _load_gpkg(store: GeoPackageStore, log: pd.DataFrame, layers: list[LayerDump],
               records: list[TableDump]) -> None:
    with store.records_transaction() as records_con:
        _load_records(records_con, records)
        con = driver_connection(records_con)
        for kind in LAYER_KINDS:
            con.execute(f'DELETE FROM "{kind}"')
        con.execute("DELETE FROM ctxmap_imports")
        con.executemany(
            f"INSERT INTO ctxmap_imports ({', '.join(IMPORT_COLUMNS)}) VALUES "
            f"({', '.join('?' * len(IMPORT_COLUMNS))})", _records(log))
        for dump in layers:
            schema = schema_for(dump.kind)
            names = schema.column_names
            blobs = to_gpkg_blobs(dump.gdf.geometry.to_numpy())
            values = value_rows(dump.gdf, schema)
            quoted = ", ".join(f'"{c}"' for c in names)
            con.executemany(
                f'INSERT INTO "{dump.kind}" (geom, {quoted}, import_id) VALUES '
                f"({', '.join('?' * (len(names) + 2))})",
                ((blobs[i], *values[i], dump.import_ids[i]) for i in range(len(blobs))),
            )
            update_extent(con, dump.kind)


def _load_pg(store: PostGISStore, log: pd.DataFrame, layers: list[LayerDump],
             records: list[TableDump]) -> None:
    with store.records_transaction() as records_con:
        _load_records(records_con, records)
        con = driver_connection(records_con)
        touch_layers(con)
        for kind in LAYER_KINDS:
            con.execute(sql.SQL("DELETE FROM {}").format(sql.Identifier(kind)))
        con.execute("DELETE FROM ctxmap_imports")
        with con.cursor() as cur:
            cur.executemany(
                sql.SQL("INSERT INTO ctxmap_imports ({}) VALUES ({})").format(
                    sql.SQL(", ").join(sql.Identifier(c) for c in IMPORT_COLUMNS),
                    sql.SQL(", ").join(sql.Placeholder() * len(IMPORT_COLUMNS))),
                _records(log))
        con.execute("SELECT setval(pg_get_serial_sequence('ctxmap_imports', 'id'), "
                    "coalesce(max(id), 0) + 1, false) FROM ctxmap_imports")
        for dump in layers:
            schema = schema_for(dump.kind)
            rows = copy_rows(dump.gdf, schema)
            with bulk_indexes(con, dump.kind, len(rows)):
                copy_layer_rows(con, schema, rows, dump.import_ids, direct=True)


# --------------------------------------------------------------------------- migrate


#: Metadata a migration copies (see :mod:`ctxmap.store.marks`). Not the sample's mark: a
#: migrated store is a store of its own (audited), whatever it was copied from.
COPIED_METADATA: tuple[str, ...] = (NAME_KEY, STUDY_AREA_KEY)


def copy_metadata(src: Store, dst: Store, dst_name: str) -> None:
    """Copy the area's name and its study area, and check them."""
    for key in COPIED_METADATA:
        value = src.metadata(key)
        if value is not None:
            dst.set_metadata(key, value)
            if dst.metadata(key) != value:
                raise StoreError(f"the store's {key!r} did not copy intact to {dst_name}")


def migrate_store(
    source: str | os.PathLike[str],
    target: str | os.PathLike[str],
    *,
    force: bool = False,
    progress: ProgressFn | None = None,
) -> MigrationReport:
    """Copy every layer and the import log from ``source`` to ``target``, then verify.

    Parameters
    ----------
    source, target
        GeoPackage paths or ``postgresql://`` URLs. The source must exist; the target is
        created when missing.
    force
        Replace a target that already holds rows (refused otherwise).
    progress
        Called with a short message after each step (for the command line).

    Raises
    ------
    InputError
        If the source is missing, source and target are the same, or the target is not
        empty and ``force`` is not given.
    StoreError
        If the copy does not verify (counts, checksums or import log differ).
    """
    say = progress or (lambda _msg: None)
    src_name, dst_name = describe_target(source), describe_target(target)
    if str(resolve_target(source)) == str(resolve_target(target)):
        raise InputError(f"source and target are the same store ({src_name}); expected two")
    try:
        src = open_store(source, create=False)
    except StoreError as exc:
        raise InputError(f"cannot open the source store: {exc}") from None
    dst = open_store(target)
    if not is_empty(dst) and not force:
        counts = {k: c["rows"] for k, c in dst.counts().items() if c["rows"]}
        raise InputError(f"the target {dst_name} is not empty ({counts}); expected an empty "
                         "store, or --force to replace its layers and import log")
    held = {d.table: len(d.rows) for d in dump_records(dst)
            if d.table in APPEND_ONLY and d.rows}
    if held:
        raise InputError(f"the target {dst_name} holds append-only records {held}, which "
                         "are never overwritten; expected a store without contexts, history "
                         "or audit entries")
    log = dump_imports(src)
    records = dump_records(src)
    for dump in records:
        say(f"read {len(dump.rows):,} {dump.table} rows from {src_name}")
    layers: list[LayerDump] = []
    expected: dict[str, LayerCheck] = {}
    for kind in LAYER_KINDS:
        layer = dump_layer(src, kind)
        layers.append(layer)
        expected[kind] = LayerCheck(kind, len(layer.gdf), layer_checksum(layer.gdf))
        say(f"read {len(layer.gdf):,} {kind} rows from {src_name}")
    if isinstance(dst, PostGISStore):
        _load_pg(dst, log, layers, records)
    elif isinstance(dst, GeoPackageStore):
        _load_gpkg(dst, log, layers, records)
    else:
        raise TypeError(f"cannot migrate into a {type(dst).__name__}; expected a "
                        "GeoPackageStore or a PostGISStore")
    say(f"wrote {sum(len(d.gdf) for d in layers):,} rows and {len(log)} imports to {dst_name}")
    copy_metadata(src, dst, dst_name)
    for kind in LAYER_KINDS:
        back = dst.read(kind)
        got = LayerCheck(kind, len(back), layer_checksum(back))
        if got != expected[kind]:
            raise StoreError(f"{kind} did not copy intact to {dst_name}: {got.rows} rows "
                             f"(checksum {got.checksum[:12]}), expected {expected[kind].rows} "
                             f"(checksum {expected[kind].checksum[:12]})")
    if not dump_imports(dst).astype(str).equals(log.astype(str)):
        raise StoreError(f"the import log did not copy intact to {dst_name}")
    copied = {d.table: d for d in dump_records(dst)}
    for table in records:
        back_rows = copied[table.table]
        if ((len(back_rows.rows), records_checksum(back_rows))
                != (len(table.rows), records_checksum(table))):
            raise StoreError(f"{table.table} did not copy intact to {dst_name}: "
                             f"{len(back_rows.rows)} rows, expected {len(table.rows)} (or the "
                             "checksums differ)")
    say("verified: row counts, per-layer checksums, the import log and every contexts "
        "and audit table match")
    return MigrationReport(src_name, dst_name, tuple(expected.values()), len(log),
                           tuple((d.table, len(d.rows)) for d in records))
