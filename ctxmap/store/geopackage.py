"""The embedded store: one GeoPackage file that holds every layer and record.

Why a GeoPackage written through :mod:`sqlite3` (not through GDAL)
------------------------------------------------------------------
A GeoPackage is an SQLite database with a few registration tables, so

* QGIS, GDAL/pyogrio and GeoPandas open the store as it is (one layer per kind);
* every import is **one SQLite transaction**: a failed, refused or interrupted import
  (even a killed process) leaves the store exactly as it was, which GDAL's writers
  cannot promise across a whole layer replacement;
* contexts, plans and logs (later features) live beside the layers in proper tables
  with constraints, and schema changes are numbered migrations run at open.

The store keeps the default rollback journal (not WAL), so at rest it is one file.
Geometries are stored as GeoPackage binary (a small header plus WKB) in EPSG:4326.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import ClassVar, Final

import geopandas as gpd
import numpy as np
import pandas as pd
from sqlalchemy import Connection

from ctxmap import settings
from ctxmap.errors import StoreBusyError, StoreError
from ctxmap.layers.schemas import LAYER_KINDS, SCHEMAS, LayerSchema
from ctxmap.store.engine import RecordsAccess, driver_connection, is_busy
from ctxmap.store.gpkg_arrow import read_layer_arrow
from ctxmap.store.gpkg_blobs import SRS_ID, from_gpkg_blobs
from ctxmap.store.gpkg_write import write_layer_rows
from ctxmap.store.layer_rows import (
    columns_frame,
    read_columns,
    without_cycle_collection,
    write_in_one_transaction,
)
from ctxmap.store.protocol import (
    METADATA_CHANGES,
    ImportRecord,
    ProgressFn,
    WriteOptions,
    check_metadata,
    os_user,
)
from ctxmap.store.record_migrations import RECORD_MIGRATIONS

#: Where the bundled sample store lives (relative to the repository root).
REPO_ROOT: Final = Path(__file__).resolve().parents[2]
DEFAULT_STORE_PATH: Final = REPO_ROOT / "data" / "ctxmap.gpkg"

_GPKG_APPLICATION_ID: Final = 0x47504B47  # "GPKG"
_GPKG_USER_VERSION: Final = 10400
_SQL_TYPES: Final = {"str": "TEXT", "int": "INTEGER", "float": "REAL", "bool": "INTEGER"}


# --------------------------------------------------------------------------- migrations


def run_script(con: sqlite3.Connection, script: str) -> None:
    """Run several SQL statements inside the current transaction.

    ``sqlite3.executescript`` commits first, which would break the all-or-nothing
    migrations; this runs statement by statement instead (triggers included).
    """
    buf = ""
    for line in script.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            if buf.strip():
                con.execute(buf)
            buf = ""
    if buf.strip():
        raise ValueError(f"incomplete SQL statement: {buf.strip()[:80]}")


def _m1_base(con: sqlite3.Connection) -> None:
    """Create the GeoPackage registration tables and ctxmap's own metadata tables."""
    run_script(con,
        """
        CREATE TABLE IF NOT EXISTS gpkg_spatial_ref_sys (
            srs_name TEXT NOT NULL, srs_id INTEGER PRIMARY KEY, organization TEXT NOT NULL,
            organization_coordsys_id INTEGER NOT NULL, definition TEXT NOT NULL,
            description TEXT);
        CREATE TABLE IF NOT EXISTS gpkg_contents (
            table_name TEXT NOT NULL PRIMARY KEY, data_type TEXT NOT NULL,
            identifier TEXT UNIQUE, description TEXT DEFAULT '',
            last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
            min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE, srs_id INTEGER,
            CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id)
                REFERENCES gpkg_spatial_ref_sys(srs_id));
        CREATE TABLE IF NOT EXISTS gpkg_geometry_columns (
            table_name TEXT NOT NULL, column_name TEXT NOT NULL,
            geometry_type_name TEXT NOT NULL, srs_id INTEGER NOT NULL,
            z TINYINT NOT NULL, m TINYINT NOT NULL,
            CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name),
            CONSTRAINT fk_gc_tn FOREIGN KEY (table_name) REFERENCES gpkg_contents(table_name),
            CONSTRAINT fk_gc_srs FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys(srs_id));
        CREATE TABLE IF NOT EXISTS ctxmap_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS ctxmap_imports (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            layer TEXT NOT NULL, file TEXT NOT NULL, sha256 TEXT NOT NULL,
            rows INTEGER NOT NULL CHECK (rows >= 0),
            mapped INTEGER NOT NULL CHECK (mapped >= 0),
            unmapped INTEGER NOT NULL CHECK (unmapped >= 0),
            mode TEXT NOT NULL CHECK (mode IN ('replace', 'append')),
            imported_at TEXT NOT NULL, imported_by TEXT NOT NULL);
        """
    )
    wgs84 = (
        'GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563]],'
        'PRIMEM["Greenwich",0],UNIT["degree",0.0174532925199433],AUTHORITY["EPSG","4326"]]'
    )
    con.executemany(
        "INSERT OR IGNORE INTO gpkg_spatial_ref_sys VALUES (?,?,?,?,?,?)",
        [
            ("Undefined cartesian SRS", -1, "NONE", -1, "undefined", None),
            ("Undefined geographic SRS", 0, "NONE", 0, "undefined", None),
            ("WGS 84 geodetic", 4326, "EPSG", 4326, wgs84, "longitude/latitude"),
        ],
    )
    for kind in LAYER_KINDS:
        _create_layer_table(con, SCHEMAS[kind])
    for table, desc in (("ctxmap_meta", "ctxmap settings"), ("ctxmap_imports", "import log")):
        con.execute(
            "INSERT OR IGNORE INTO gpkg_contents (table_name, data_type, identifier, description)"
            " VALUES (?, 'attributes', ?, ?)",
            (table, table, desc),
        )


def _create_layer_table(con: sqlite3.Connection, schema: LayerSchema) -> None:
    cols = ",\n".join(
        f'"{c.name}" {_SQL_TYPES[c.dtype]}' + (" NOT NULL" if c.required else "")
        for c in schema.columns
    )
    con.execute(
        f'CREATE TABLE IF NOT EXISTS "{schema.kind}" (fid INTEGER PRIMARY KEY AUTOINCREMENT, '
        f"geom BLOB, {cols}, import_id INTEGER REFERENCES ctxmap_imports(id), "
        "UNIQUE (id))"
    )
    gtype = "POINT" if schema.geometry_types == ("Point",) else "GEOMETRY"
    con.execute(
        "INSERT OR IGNORE INTO gpkg_contents (table_name, data_type, identifier, description,"
        " srs_id) VALUES (?, 'features', ?, ?, ?)",
        (schema.kind, schema.kind, schema.title, SRS_ID),
    )
    con.execute(
        "INSERT OR IGNORE INTO gpkg_geometry_columns VALUES (?, 'geom', ?, ?, 0, 0)",
        (schema.kind, gtype, SRS_ID),
    )


def _m1_layers(con: Connection) -> None:
    """Version 1: the GeoPackage registration tables, the metadata, the log and the layers."""
    _m1_base(driver_connection(con))


#: Numbered migrations; migration ``i`` brings a store from version ``i`` to ``i + 1``.
#: The first creates the layers; the rest are the records migrations both stores run
#: (:data:`ctxmap.store.record_migrations.RECORD_MIGRATIONS`). A released one is never
#: edited.
MIGRATIONS: list[Callable[[Connection], None]] = [_m1_layers, *RECORD_MIGRATIONS]


# --------------------------------------------------------------------------- the store


class GeoPackageStore(RecordsAccess):
    """The embedded store at ``path`` (created and migrated on first open).

    Parameters
    ----------
    path
        The GeoPackage file.
    create
        Create the file when it does not exist (default). With ``False`` a missing
        file raises :class:`StoreError`.
    """

    records_dialect: ClassVar[str] = "sqlite://"

    def __init__(self, path: str | os.PathLike[str], *, create: bool = True):
        self.path = Path(path)
        #: How long a write waits for another writer (``CTXMAP_BUSY_TIMEOUT``) before
        #: :class:`~ctxmap.errors.StoreBusyError`.
        self.busy_timeout_s = settings.load().busy_timeout_s
        if not self.path.exists():
            if not create:
                raise StoreError(f"no store at {self.path}; expected a GeoPackage file "
                                 "(build the sample with: python scripts/build_sample.py)")
            self.path.parent.mkdir(parents=True, exist_ok=True)
        elif self.path.is_dir():
            raise StoreError(f"{self.path} is a folder; expected a GeoPackage store file")
        self._migrate()

    # -- connections -------------------------------------------------------------------

    def connect(self) -> sqlite3.Connection:
        """Open a connection (foreign keys on, autocommit off); the caller closes it."""
        try:
            con = sqlite3.connect(self.path, timeout=self.busy_timeout_s, isolation_level=None)
            con.execute("PRAGMA foreign_keys = ON")
            con.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path} is not a ctxmap store ({exc}); expected a "
                             "GeoPackage (SQLite) file") from exc
        return con

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction: everything in it is committed together or not at all."""
        con = self.connect()
        try:
            try:
                con.execute("BEGIN IMMEDIATE")  # waits up to busy_timeout_s for a writer
            except sqlite3.OperationalError as exc:
                if is_busy(exc):
                    raise StoreBusyError() from None
                raise
            yield con
            con.execute("COMMIT")
        except BaseException:
            if con.in_transaction:
                con.execute("ROLLBACK")
            raise
        finally:
            con.close()

    def current_user(self) -> str:
        """Who a write is recorded as when no user is given: the operating-system user."""
        return os_user()

    def _current_version(self) -> int:
        con = self.connect()
        try:
            if not con.execute("SELECT 1 FROM sqlite_master WHERE name='ctxmap_meta'").fetchone():
                return 0
            row = con.execute(
                "SELECT value FROM ctxmap_meta WHERE key = 'schema_version'"
            ).fetchone()
            return int(row[0]) if row else 0
        finally:
            con.close()

    def _migrate(self) -> None:
        """Bring the store to the newest schema; an up-to-date store is not written to."""
        if self._current_version() == len(MIGRATIONS):
            return
        with self.engine.begin() as con:
            con.exec_driver_sql(f"PRAGMA application_id = {_GPKG_APPLICATION_ID}")
            con.exec_driver_sql(f"PRAGMA user_version = {_GPKG_USER_VERSION}")
            has_meta = con.exec_driver_sql(
                "SELECT 1 FROM sqlite_master WHERE name = 'ctxmap_meta'").first()
            version = 0
            if has_meta:
                row = con.exec_driver_sql(
                    "SELECT value FROM ctxmap_meta WHERE key = 'schema_version'").first()
                version = int(row[0]) if row else 0
            if version > len(MIGRATIONS):
                raise StoreError(
                    f"{self.path} has schema version {version}, newer than this ctxmap "
                    f"understands ({len(MIGRATIONS)}); upgrade ctxmap"
                )
            for i in range(version, len(MIGRATIONS)):
                MIGRATIONS[i](con)
            con.exec_driver_sql(
                "INSERT OR REPLACE INTO ctxmap_meta VALUES ('schema_version', ?)",
                (str(len(MIGRATIONS)),),
            )

    @property
    def schema_version(self) -> int:
        """The store's migration version."""
        con = self.connect()
        try:
            row = con.execute("SELECT value FROM ctxmap_meta WHERE key='schema_version'").fetchone()
            return int(row[0])
        finally:
            con.close()

    def layers_version(self) -> str:
        """A value that changes whenever a layer changes (see :func:`gpkg_layers_version`)."""
        return gpkg_layers_version(self.path)

    # -- metadata ----------------------------------------------------------------------

    def metadata(self, key: str) -> str | None:
        """The value of ``key`` in ``ctxmap_meta``, or ``None`` when it is not set."""
        con = self.connect()
        try:
            row = con.execute("SELECT value FROM ctxmap_meta WHERE key = ?", (key,)).fetchone()
        finally:
            con.close()
        return None if row is None else str(row[0])

    def set_metadata(self, key: str, value: str) -> None:
        """Set ``key`` to ``value`` in ``ctxmap_meta``, in one transaction.

        The change is counted (see :func:`gpkg_layers_version`): a new study area
        refreshes cached analyses.
        """
        check_metadata(key, value)
        with self.transaction() as con:
            con.execute("INSERT OR REPLACE INTO ctxmap_meta VALUES (?, ?)", (key, value))
            con.execute(
                "INSERT INTO ctxmap_meta VALUES (?, '1') ON CONFLICT(key) DO UPDATE SET "
                "value = CAST(CAST(value AS INTEGER) + 1 AS TEXT)", (METADATA_CHANGES,))

    # -- layers ------------------------------------------------------------------------

    def read(self, kind: str, *, columns: list[str] | None = None) -> gpd.GeoDataFrame:
        """Read one layer as a GeoDataFrame in EPSG:4326 with its canonical columns.

        Rows with no location come back with a null geometry.
        """
        schema, names = read_columns(kind, columns)
        quoted = ", ".join(f'"{n}"' for n in names)
        with without_cycle_collection():
            fast = read_layer_arrow(self.path, kind, names)  # GDAL's Arrow stream
            if fast is not None:
                geoms, columns_read = fast
                return columns_frame(schema, names, geoms, columns_read)
            con = self.connect()
            try:
                rows = con.execute(f'SELECT geom, {quoted} FROM "{kind}" ORDER BY fid').fetchall()
            finally:
                con.close()
            if not rows:
                return columns_frame(schema, names, np.array([], dtype=object),
                                     [() for _ in names])
            values = list(zip(*rows, strict=True))
            del rows
            return columns_frame(schema, names, from_gpkg_blobs(values[0]), values[1:])

    def counts(self) -> dict[str, dict[str, int]]:
        """Rows, mapped rows and rows without a location, per layer."""
        con = self.connect()
        try:
            out: dict[str, dict[str, int]] = {}
            for kind in LAYER_KINDS:
                total, mapped = con.execute(
                    f'SELECT count(*), count(geom) FROM "{kind}"'
                ).fetchone()
                out[kind] = {"rows": total, "mapped": mapped, "unmapped": total - mapped}
            return out
        finally:
            con.close()

    def imports(self) -> pd.DataFrame:
        """The import log, newest first."""
        con = self.connect()
        try:
            return pd.read_sql_query("SELECT * FROM ctxmap_imports ORDER BY id DESC", con)
        finally:
            con.close()

    def write(
        self,
        kind: str,
        gdf: gpd.GeoDataFrame,
        *,
        file: str,
        mode: str = "replace",
        sha256: str | None = None,
        user: str | None = None,
        progress: ProgressFn | None = None,
        batch_size: int = 5000,
    ) -> ImportRecord:
        """Write a layer in one transaction: all rows or, on any failure, none.

        Parameters
        ----------
        kind
            The layer kind.
        gdf
            Rows with the canonical columns (as :func:`ctxmap.layers.readers.read_layer` gives),
            in EPSG:4326.
        file
            The source file's name, for the import log.
        mode
            ``"replace"`` drops the layer's rows first (for ``areas``, only the rows
            of the levels being written); ``"append"`` adds rows and updates rows whose
            ``id`` is already stored.
        sha256
            The source file's SHA-256, for the import log.
        user
            Who imported (default: the operating-system user).
        progress
            Called as ``progress(rows_written, rows_total)`` after each batch.
        batch_size
            Rows per ``executemany`` batch (and per progress call).
        """
        return self.write_layers({kind: gdf}, file=file, mode=mode, sha256=sha256, user=user,
                                 progress=progress, batch_size=batch_size)[0]

    def write_layers(
        self,
        parts: Mapping[str, gpd.GeoDataFrame],
        *,
        file: str,
        mode: str = "replace",
        sha256: str | None = None,
        user: str | None = None,
        progress: ProgressFn | None = None,
        batch_size: int = 5000,
    ) -> list[ImportRecord]:
        """Write several layers in ONE transaction: all of them or, on any failure, none.

        ``parts`` maps a layer kind to its rows; every other argument is as :meth:`write`
        (one import-log entry per layer). Returns the records in the order of ``parts``.
        """
        how = WriteOptions(file, mode, sha256, user or self.current_user(), progress,
                           batch_size)
        return write_in_one_transaction(self.transaction, write_layer_rows, parts, how)


def gpkg_layers_version(path: str | os.PathLike[str]) -> str:
    """A mark that changes whenever a layer of the GeoPackage at ``path`` changes.

    Each layer's ``last_change`` in ``gpkg_contents``, the newest import id and the count
    of metadata changes (a new study area changes the analyses), read
    without migrating the file (writing contexts or the audit log does not change it);
    the file's modification time when those cannot be read, ``""`` when nothing can.
    """
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    except sqlite3.Error:
        return ""
    try:
        marks = ",".join("?" * len(LAYER_KINDS))
        last = con.execute(
            f"SELECT group_concat(table_name || last_change) FROM gpkg_contents "
            f"WHERE table_name IN ({marks})", LAYER_KINDS).fetchone()[0]
        imports = con.execute("SELECT max(id) FROM ctxmap_imports").fetchone()[0]
        changes = con.execute("SELECT value FROM ctxmap_meta WHERE key = ?",
                              (METADATA_CHANGES,)).fetchone()
    except sqlite3.Error:
        try:
            return f"mtime {os.stat(path).st_mtime_ns}"
        except OSError:
            return ""
    finally:
        con.close()
    return f"{last}|{imports}|{changes[0] if changes else 0}"
