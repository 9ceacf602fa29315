"""The shared store: the same layers and import log as the embedded store, in PostgreSQL/PostGIS.

:class:`PostGISStore` implements the :class:`ctxmap.store.protocol.Store` protocol, as
:class:`ctxmap.store.geopackage.GeoPackageStore` does (``read``,
``write``, ``counts``, ``imports``, ``schema_version``, ``transaction``), so every command
and page works on either; :func:`ctxmap.store.opening.open_store` picks one from a path or a
``postgresql://`` URL.

Layout (one PostgreSQL schema per store, default ``ctxmap``)
-------------------------------------------------------------
* ``ctxmap_meta`` (settings, ``schema_version``) and ``ctxmap_imports`` (the import log);
  schema changes are numbered migrations (:data:`PG_MIGRATIONS`) run at open under an
  advisory lock, so two analysts opening a new store at once do not race.
* One table per layer kind with the canonical columns of :mod:`ctxmap.layers.schemas`, a
  ``fid`` (row order, as in the GeoPackage), ``geom`` in EPSG:4326 typed
  ``geometry(Point,4326)`` for point layers and ``geometry(Geometry,4326)`` for areas,
  ``import_id`` referencing the import log, ``UNIQUE (id)`` and a GiST index on ``geom``.
* Point layers also hold ``geom_m geometry(Point, <metric SRID>)``, a **stored generated
  column** ``ST_Transform(geom, srid)`` with its own GiST index. Joins by distance
  (``ST_DWithin(i.geom_m, p.geom_m, r)``) then use the index and do no per-row
  projection at query time. A stored column (not an expression index on
  ``ST_Transform``) because the planner keeps statistics for it, every query can name it
  without repeating the exact indexed expression, and rows written by any tool (psql,
  ogr2ogr, a Citus worker) get it too. It costs ~40 bytes per row. The metric SRID is
  chosen when the store is created (27700, British National Grid, by default; a local
  UTM zone elsewhere) and kept in ``ctxmap_meta``.

Writes are one transaction each (``COPY`` into the table, or into a temporary table then
``INSERT ... ON CONFLICT (id) DO UPDATE`` for upserts): a failed, refused or killed
import leaves the store exactly as it was, and readers keep seeing the old rows until
it commits.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, ClassVar, Final

import geopandas as gpd
import numpy as np
import pandas as pd
import psycopg
import shapely
from psycopg import sql
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Connection

from ctxmap import settings
from ctxmap.errors import StoreBusyError, StoreError, redact_credentials
from ctxmap.layers.schemas import LAYER_KINDS
from ctxmap.store.engine import RecordsAccess, driver_connection
from ctxmap.store.layer_rows import (
    layer_frame,
    read_columns,
    write_in_one_transaction,
)
from ctxmap.store.postgis_layers import (
    create_layers,
    ensure_postgis,
    first_value,
    touch_layers,
    write_pg_layer,
)
from ctxmap.store.protocol import (
    ImportRecord,
    ProgressFn,
    WriteOptions,
    check_metadata,
    os_user,
)
from ctxmap.store.record_migrations import RECORD_MIGRATIONS

#: URL schemes that mean "a PostgreSQL server".
PG_SCHEMES: Final = ("postgresql", "postgres")
#: The PostgreSQL schema a store lives in unless told otherwise.
DEFAULT_PG_SCHEMA: Final = "ctxmap"
#: Environment variable naming another schema (several stores in one database).
#: Metric SRID of ``geom_m`` in a new store (British National Grid).
DEFAULT_METRIC_SRID: Final = 27700

_SCHEMA_NAME: Final = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def is_pg_url(target: object) -> bool:
    """Whether ``target`` is a ``postgresql://`` (or ``postgres://``) connection URL."""
    return isinstance(target, str) and target.split("://", 1)[0].lower() in PG_SCHEMES \
        and "://" in target


# --------------------------------------------------------------------------- migrations


def _m1_layers(con: Connection, metric_srid: int) -> None:
    """Version 1: the metadata, the import log and one table per layer kind."""
    create_layers(driver_connection(con), metric_srid)


def _records_step(step: Callable[[Connection], None]) -> Callable[[Connection, int], None]:
    def migrate(con: Connection, _srid: int) -> None:
        step(con)

    migrate.__doc__ = step.__doc__
    return migrate


#: Numbered migrations of the PostgreSQL store (``i`` brings version ``i`` to ``i + 1``),
#: the same versions as the embedded store's: the layers, then the records migrations
#: both stores run. A released one is never edited.
PG_MIGRATIONS: list[Callable[[Connection, int], None]] = [
    _m1_layers, *(_records_step(step) for step in RECORD_MIGRATIONS)]


# --------------------------------------------------------------------------- the store


class PostGISStore(RecordsAccess):
    """A ctxmap store in a PostgreSQL database with PostGIS (created and migrated on open).

    Parameters
    ----------
    url
        ``postgresql://user:password@host:port/database`` (any libpq URL).
    schema
        The PostgreSQL schema holding this store (default ``$CTXMAP_PG_SCHEMA``, else
        ``ctxmap``); several stores can share one database in different schemas.
    create
        Create the store's tables when they do not exist (default). With ``False`` a
        database without a ctxmap store raises :class:`StoreError`.
    metric_srid
        SRID of the metric ``geom_m`` columns when the store is created (ignored later:
        the store's own setting wins).

    Attributes
    ----------
    path
        The URL with the password hidden, for messages (as ``GeoPackageStore.path``).
    """

    records_dialect: ClassVar[str] = "postgresql+psycopg://"

    def __init__(
        self,
        url: str,
        *,
        schema: str | None = None,
        create: bool = True,
        metric_srid: int = DEFAULT_METRIC_SRID,
    ) -> None:
        if not is_pg_url(url):
            raise StoreError(f"{redact_credentials(str(url))!r} is not a PostgreSQL URL; expected "
                             "postgresql://user:password@host:port/database")
        schema = schema or settings.load().pg_schema or DEFAULT_PG_SCHEMA
        if not _SCHEMA_NAME.match(schema):
            raise StoreError(f"schema name {schema!r}; expected lower-case letters, digits "
                             "and _ (at most 63)")
        self.url = url
        self.schema = schema
        self.busy_timeout_s = settings.load().busy_timeout_s
        self.path = f"{redact_credentials(url)} (schema {schema})"
        self._migrate(create, int(metric_srid))

    def __repr__(self) -> str:
        return f"PostGISStore({self.path!r})"

    # -- connections -------------------------------------------------------------------

    def connect(self) -> psycopg.Connection[Any]:
        """Open a connection with the store's schema first on the search path.

        The connection is not in autocommit mode; the caller closes it.
        """
        try:
            con = psycopg.connect(self.url, connect_timeout=10)
        except psycopg.Error as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise StoreError(f"cannot connect to the PostgreSQL store at "
                             f"{redact_credentials(self.url)}: {first}") from None
        con.execute(sql.SQL("SET search_path TO {}, public").format(
            sql.Identifier(self.schema)))
        # a writer waits at most CTXMAP_BUSY_TIMEOUT for another's locks (then: busy)
        con.execute(sql.SQL("SET lock_timeout = {}").format(
            sql.Literal(f"{int(self.busy_timeout_s * 1000)}ms")))
        con.commit()
        return con

    @contextmanager
    def transaction(self) -> Iterator[psycopg.Connection[Any]]:
        """A write transaction: everything in it is committed together or not at all."""
        con = self.connect()
        try:
            with con.transaction():
                yield con
        except psycopg.errors.LockNotAvailable:
            raise StoreBusyError() from None
        finally:
            con.close()

    def current_user(self) -> str:
        """Who a write is recorded as when no user is given: the operating-system user."""
        return os_user()

    def _migrate(self, create: bool, metric_srid: int) -> None:
        con = self.connect()
        try:
            version = self._version(con)
        finally:
            con.close()
        if version == len(PG_MIGRATIONS):
            return
        if version == 0 and not create:
            raise StoreError(f"no ctxmap store in schema {self.schema!r} at "
                             f"{redact_credentials(self.url)}; import a layer or run "
                             "migrate-store first")
        with self.engine.begin() as conn:
            raw = driver_connection(conn)
            raw.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"ctxmap:{self.schema}",))
            ensure_postgis(raw, redact_credentials(self.url))
            raw.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(
                sql.Identifier(self.schema)))
            version = self._version(raw)  # again, now that we hold the lock
            if version > len(PG_MIGRATIONS):
                raise StoreError(
                    f"the store at {self.path} has schema version {version}, newer "
                    f"than this ctxmap understands ({len(PG_MIGRATIONS)}); upgrade ctxmap"
                )
            srid = metric_srid
            if version > 0:
                srid = int(first_value(
                    raw, "SELECT value FROM ctxmap_meta WHERE key = 'metric_srid'"))
            for i in range(version, len(PG_MIGRATIONS)):
                PG_MIGRATIONS[i](conn, srid)
            raw.execute(
                "INSERT INTO ctxmap_meta VALUES ('schema_version', %s) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (str(len(PG_MIGRATIONS)),),
            )

    def _version(self, con: psycopg.Connection[Any]) -> int:
        found = con.execute(
            "SELECT 1 FROM information_schema.tables WHERE table_schema = %s "
            "AND table_name = 'ctxmap_meta'", (self.schema,)
        ).fetchone()
        if not found:
            return 0
        row = con.execute(
            "SELECT value FROM ctxmap_meta WHERE key = 'schema_version'"
        ).fetchone()
        return int(row[0]) if row else 0

    @property
    def schema_version(self) -> int:
        """The store's migration version."""
        con = self.connect()
        try:
            return self._version(con)
        finally:
            con.close()

    @property
    def metric_srid(self) -> int:
        """The SRID of the metric ``geom_m`` columns."""
        con = self.connect()
        try:
            return int(first_value(con, "SELECT value FROM ctxmap_meta WHERE key = 'metric_srid'"))
        finally:
            con.close()

    def layers_version(self) -> str:
        """A value that changes whenever a layer changes (a cache key for the dashboard).

        The newest import id and the time of the last layer write (kept in
        ``ctxmap_meta`` by :meth:`write` and ``migrate-store``); writing contexts or the
        audit log does not change it.
        """
        con = self.connect()
        try:
            imports = first_value(con, "SELECT max(id) FROM ctxmap_imports")
            row = con.execute("SELECT value FROM ctxmap_meta WHERE key = 'layers_changed'"
                              ).fetchone()
        finally:
            con.close()
        return f"{imports}|{row[0] if row else ''}"

    # -- metadata ----------------------------------------------------------------------

    def metadata(self, key: str) -> str | None:
        """The value of ``key`` in ``ctxmap_meta``, or ``None`` when it is not set."""
        con = self.connect()
        try:
            row = con.execute("SELECT value FROM ctxmap_meta WHERE key = %s", (key,)).fetchone()
        finally:
            con.close()
        return None if row is None else str(row[0])

    def set_metadata(self, key: str, value: str) -> None:
        """Set ``key`` to ``value`` in ``ctxmap_meta``, in one transaction.

        Changes :meth:`layers_version` (a new study area changes the analyses).
        """
        check_metadata(key, value)
        with self.transaction() as con:
            con.execute("INSERT INTO ctxmap_meta VALUES (%s, %s) ON CONFLICT (key) DO UPDATE "
                        "SET value = excluded.value", (key, value))
            touch_layers(con)

    # -- layers ------------------------------------------------------------------------

    def read(self, kind: str, *, columns: list[str] | None = None,
             where_in: Mapping[str, Sequence[Any]] | None = None) -> gpd.GeoDataFrame:
        """Read one layer as a GeoDataFrame in EPSG:4326 with its canonical columns.

        Rows with no location come back with a null geometry. ``where_in`` keeps, in
        the database, the rows whose column value is one of the given values (e.g.
        ``{"category": ["Drugs"], "month": ["2019-01"]}``).
        """
        schema, names = read_columns(kind, columns)
        filters = dict(where_in or {})
        unknown = [c for c in filters if c not in schema.column_names]
        if unknown:
            raise ValueError(f"cannot filter {kind} by {unknown}; expected some of "
                             f"{schema.column_names}")
        where = sql.SQL(" AND ").join(
            sql.SQL("{} = ANY(%s)").format(sql.Identifier(c)) for c in filters)
        query = sql.SQL("SELECT ST_AsBinary(geom), {cols} FROM {t}{where} ORDER BY fid").format(
            cols=sql.SQL(", ").join(sql.Identifier(n) for n in names),
            t=sql.Identifier(kind),
            where=sql.SQL(" WHERE ") + where if filters else sql.SQL(""),
        )
        con = self.connect()
        try:
            with con.cursor(binary=True) as cur:
                cur.execute(query, [list(v) for v in filters.values()])
                rows = cur.fetchall()
        finally:
            con.close()
        wkb = np.array([None if r[0] is None else bytes(r[0]) for r in rows], dtype=object)
        geoms = shapely.from_wkb(wkb) if rows else np.array([], dtype=object)
        return layer_frame(schema, names, geoms, [r[1:] for r in rows])

    def count_incidents_within(self, points: np.ndarray, srid: int, categories: list[str],
                               months: list[str] | None, radius_m: float,
                               within: BaseGeometry | None = None) -> np.ndarray:
        """Count the incidents within ``radius_m`` of each point, by category, in PostGIS.

        Parameters
        ----------
        points
            Shapely points in the metric CRS ``srid`` (metres).
        srid
            Their EPSG code. When it is the store's :attr:`metric_srid` the GiST index
            on ``incidents.geom_m`` is used; otherwise incidents are projected in the
            query (correct, without the index).
        categories
            Categories to count, in column order.
        months
            ``YYYY-MM`` months to count, or ``None`` for every month.
        radius_m
            Radius in metres; distance ``<= radius_m`` counts (``ST_DWithin``).
        within
            Count only incidents intersecting this area (in ``srid``; the study area), or
            every incident when ``None``.

        Returns
        -------
        numpy.ndarray
            ``(len(points), len(categories))`` integer counts. Incidents with no
            location never count.
        """
        out = np.zeros((len(points), len(categories)), dtype=np.int64)
        if len(points) == 0 or not categories:
            return out
        ewkb = shapely.to_wkb(shapely.set_srid(points, srid), hex=True, include_srid=True)
        if srid == self.metric_srid:
            inc_geom: sql.Composable = sql.SQL("i.geom_m")
        else:
            inc_geom = sql.SQL("ST_Transform(i.geom, {})").format(sql.Literal(srid))
        where: list[sql.Composable] = [sql.SQL("i.category = ANY(%(cats)s)")]
        args: dict[str, Any] = {"cats": list(categories), "r": float(radius_m)}
        if months is not None:
            where.append(sql.SQL("i.month = ANY(%(months)s)"))
            args["months"] = list(months)
        if within is not None:
            where.append(sql.SQL("ST_Intersects({g}, ST_GeomFromEWKB(%(within)s))").format(
                g=inc_geom))
            args["within"] = shapely.to_wkb(shapely.set_srid(within, srid), include_srid=True)
        query = sql.SQL(
            "SELECT p.k, i.category, count(*) FROM ctxmap_places p JOIN incidents i "
            "ON ST_DWithin({g}, p.g, %(r)s) WHERE {where} GROUP BY p.k, i.category"
        ).format(g=inc_geom, where=sql.SQL(" AND ").join(where))
        col = {c: j for j, c in enumerate(categories)}
        with self.transaction() as con:
            con.execute("CREATE TEMP TABLE ctxmap_places (k integer, g geometry) ON COMMIT DROP")
            with con.cursor() as cur, cur.copy("COPY ctxmap_places (k, g) FROM STDIN") as copy:
                for k, g in enumerate(ewkb):
                    copy.write_row((k, g))
            con.execute("ANALYZE ctxmap_places")
            for k, cat, n in con.execute(query, args).fetchall():
                out[int(k), col[cat]] = int(n)
        return out

    def counts(self) -> dict[str, dict[str, int]]:
        """Rows, mapped rows and rows without a location, per layer."""
        con = self.connect()
        try:
            out: dict[str, dict[str, int]] = {}
            for kind in LAYER_KINDS:
                total, mapped = con.execute(
                    sql.SQL("SELECT count(*), count(geom) FROM {}").format(sql.Identifier(kind))
                ).fetchall()[0]
                out[kind] = {"rows": int(total), "mapped": int(mapped),
                             "unmapped": int(total - mapped)}
            return out
        finally:
            con.close()

    def imports(self) -> pd.DataFrame:
        """The import log, newest first (same columns as the embedded store's)."""
        con = self.connect()
        try:
            cur = con.execute("SELECT * FROM ctxmap_imports ORDER BY id DESC")
            names = [d.name for d in cur.description or []]
            rows = cur.fetchall()
        finally:
            con.close()
        frame = pd.DataFrame(rows, columns=names)
        for c in ("id", "rows", "mapped", "unmapped"):
            frame[c] = frame[c].astype("int64")
        return frame

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

        Same contract as :meth:`ctxmap.store.geopackage.GeoPackageStore.write`:
        ``mode="replace"`` drops the
        layer's rows first (for ``areas`` only the levels being written), ``"append"``
        adds rows and updates rows whose ``id`` is stored; when an ``id`` repeats in
        ``gdf`` the last row's values win. Rows go in with ``COPY``; ``progress(done,
        total)`` is called after each ``batch_size`` rows.
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

        As :meth:`write` for each layer (one import-log entry each), in the order of
        ``parts``.
        """
        how = WriteOptions(file, mode, sha256, user or self.current_user(), progress,
                           batch_size)
        return write_in_one_transaction(self.transaction, write_pg_layer, parts, how)

