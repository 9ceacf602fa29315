"""The ``Store`` protocol: what every store offers, whichever database keeps it.

Two classes implement it: :class:`ctxmap.store.geopackage.GeoPackageStore` (one
GeoPackage file) and :class:`ctxmap.store.postgis.PostGISStore` (a schema in a
PostgreSQL/PostGIS database); :func:`ctxmap.store.opening.open_store` picks one from a
path or a ``postgresql://`` URL. Callers type their ``store`` argument with
:class:`Store` and never ask which one they hold.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Final, Protocol, runtime_checkable

import geopandas as gpd
import pandas as pd
from sqlalchemy import Connection

#: Metadata key counting metadata changes (part of ``layers_version``; kept by the stores).
METADATA_CHANGES: Final = "metadata_changes"
#: Metadata keys only the stores themselves write.
RESERVED_METADATA: Final = ("schema_version", "metric_srid", "layers_changed", METADATA_CHANGES)

#: ``progress(rows_written, rows_total)``, called after each batch of a layer write.
ProgressFn = Callable[[int, int], None]


@dataclass(frozen=True)
class ImportRecord:
    """What one import wrote."""

    import_id: int
    layer: str
    file: str
    rows: int
    mapped: int
    unmapped: int
    mode: str


@dataclass(frozen=True)
class WriteOptions:
    """How a layer write is logged and paced (see :meth:`Store.write` for each field)."""

    file: str
    mode: str = "replace"
    sha256: str | None = None
    user: str = ""
    progress: ProgressFn | None = None
    batch_size: int = 5000


def check_metadata(key: str, value: str) -> None:
    """Refuse a metadata write a caller must not make (a reserved key, a non-text value)."""
    if not isinstance(key, str) or not key.strip():
        raise ValueError(f"metadata key {key!r}; expected a non-empty text")
    if key in RESERVED_METADATA:
        raise ValueError(f"metadata key {key!r} is kept by the store itself; expected another "
                         f"key than {', '.join(RESERVED_METADATA)}")
    if not isinstance(value, str):
        raise ValueError(f"metadata value for {key!r} is a {type(value).__name__}; "
                         "expected text")


def os_user() -> str:
    """The operating-system user (who an import is recorded as by default)."""
    try:
        return getpass.getuser()
    except Exception:
        return "unknown"


@runtime_checkable
class Store(Protocol):
    """A ctxmap store: the layers, their import log, and the records tables.

    Layers are read and written as GeoDataFrames in EPSG:4326 with the canonical
    columns of :mod:`ctxmap.layers.schemas`; each write is one transaction. The records
    (contexts, consent, history, audit, ...) are the tables of
    :mod:`ctxmap.store.record_tables`, reached through an SQLAlchemy connection.
    """

    @property
    def path(self) -> str | os.PathLike[str]:
        """Where the store is, for messages (a URL's password hidden)."""
        ...

    @property
    def schema_version(self) -> int:
        """The store's migration version."""
        ...

    def read(self, kind: str, *, columns: list[str] | None = None) -> gpd.GeoDataFrame:
        """Read one layer (rows without a location have a null geometry)."""
        ...

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
        """Write a layer in one transaction: all rows or, on any failure, none."""
        ...

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
        """Write several layers (kind -> rows) in ONE transaction: all of them or none.

        As :meth:`write` for each layer (one import-log entry each), in the order of
        ``parts``; used where one file fills several layers (``import --layer places``).
        """
        ...

    def counts(self) -> dict[str, dict[str, int]]:
        """Rows, mapped rows and rows without a location, per layer."""
        ...

    def imports(self) -> pd.DataFrame:
        """The import log, newest first."""
        ...

    def layers_version(self) -> str:
        """A value that changes whenever a layer changes (a cache key)."""
        ...

    def transaction(self) -> AbstractContextManager[Any]:
        """A write transaction on the store's own driver connection (layers)."""
        ...

    def current_user(self) -> str:
        """Who a write is recorded as when no user is given."""
        ...

    def metadata(self, key: str) -> str | None:
        """The store's metadata value for ``key`` (``ctxmap_meta``), or ``None`` when unset."""
        ...

    def set_metadata(self, key: str, value: str) -> None:
        """Set the store's metadata ``key`` to ``value`` in one transaction.

        Changes :meth:`layers_version` too (the study area changes the analyses).
        """
        ...

    def records(self) -> AbstractContextManager[Connection]:
        """A connection for reading the records tables (each statement on its own)."""
        ...

    def records_transaction(self) -> AbstractContextManager[Connection]:
        """One write transaction on the records tables: all of it is kept, or none."""
        ...
