"""Layer rows in and out of a database, and the checks before a read or a write.

Shared by both stores (:mod:`ctxmap.store.geopackage`, :mod:`ctxmap.store.postgis`):
one rule and one message for an unknown column, a wrong CRS or a missing required
column, and one conversion between a GeoDataFrame and database values.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from ctxmap.layers.schemas import STORAGE_CRS, LayerSchema, schema_for
from ctxmap.store.protocol import ImportRecord, WriteOptions

#: ``writer(con, kind, rows, schema, how)``: one layer's write inside an open transaction.
LayerWriter = Callable[[Any, str, gpd.GeoDataFrame, LayerSchema, WriteOptions], ImportRecord]


def read_columns(kind: str, columns: list[str] | None) -> tuple[LayerSchema, list[str]]:
    """The schema of ``kind`` and the columns to read (all by default); unknown ones raise."""
    schema = schema_for(kind)
    names = columns or schema.column_names
    unknown = [c for c in names if c not in schema.column_names]
    if unknown:
        raise ValueError(f"unknown column(s) {unknown} for {kind}; expected some of "
                         f"{schema.column_names}")
    return schema, names


def check_writable(kind: str, gdf: gpd.GeoDataFrame, mode: str) -> LayerSchema:
    """Check a layer can be written (mode, EPSG:4326, required columns); return its schema."""
    schema = schema_for(kind)
    if mode not in ("replace", "append"):
        raise ValueError(f"mode must be 'replace' or 'append', got {mode!r}")
    if gdf.crs is None or not gdf.crs.equals(STORAGE_CRS):
        raise ValueError(f"layer to store must be in {STORAGE_CRS}, got {gdf.crs}; "
                         "use to_crs()")
    missing = [c for c in schema.required_columns if c not in gdf.columns]
    if missing:
        raise ValueError(f"cannot store {kind}: missing column(s) {missing}")
    return schema


def write_in_one_transaction(
    transaction: Callable[[], AbstractContextManager[Any]],
    writer: LayerWriter,
    parts: Mapping[str, gpd.GeoDataFrame],
    how: WriteOptions,
) -> list[ImportRecord]:
    """Check every layer of ``parts``, then write them all inside ONE ``transaction()``.

    A failure in any layer's write rolls back every layer (and its import-log entry).
    """
    checked = [(kind, gdf, check_writable(kind, gdf, how.mode)) for kind, gdf in parts.items()]
    with transaction() as con:
        return [writer(con, kind, gdf, schema, how) for kind, gdf, schema in checked]


def replaced_levels(gdf: gpd.GeoDataFrame) -> list[str]:
    """The area levels a ``replace`` of ``areas`` replaces: those being written."""
    return sorted({str(v) for v in gdf["level"].dropna()})


def _clean(values: list[Any], dtype: str) -> list[Any]:
    out = [None if (v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)))
           else v for v in values]
    if dtype == "bool":
        return [None if v is None else bool(v) for v in out]
    if dtype == "float":
        return [None if v is None else float(v) for v in out]
    if dtype == "int":
        return [None if v is None else int(v) for v in out]
    return [None if v is None else str(v) for v in out]


def value_columns(gdf: gpd.GeoDataFrame, schema: LayerSchema) -> list[list[Any]]:
    """The canonical columns of ``gdf`` as Python values (NaN and NA as None), in order.

    A column the frame lacks is all None.
    """
    return [_clean(gdf[c.name].astype("object").tolist(), c.dtype) if c.name in gdf.columns
            else [None] * len(gdf) for c in schema.columns]


def value_rows(gdf: gpd.GeoDataFrame, schema: LayerSchema) -> list[tuple[Any, ...]]:
    """The canonical column values of each row (see :func:`value_columns`)."""
    cols = value_columns(gdf, schema)
    return list(zip(*cols, strict=True)) if cols else []


def layer_frame(schema: LayerSchema, names: list[str], geoms: np.ndarray,
                rows: Sequence[Sequence[Any]]) -> gpd.GeoDataFrame:
    """A layer GeoDataFrame (EPSG:4326) from geometries and rows of ``names``' values.

    Booleans come back as the nullable ``boolean`` dtype and floats as ``float64``,
    whichever database they were read from.
    """
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in names]
    return columns_frame(schema, names, geoms, columns)


def columns_frame(schema: LayerSchema, names: list[str], geoms: np.ndarray,
                  columns: Sequence[Sequence[Any] | np.ndarray]) -> gpd.GeoDataFrame:
    """:func:`layer_frame` from the values column by column (``columns[i]``: ``names[i]``'s).

    Reading a million rows, transposing them once (``zip(*rows)``) is several times
    faster than taking each column out of every row.
    """
    data = {n: pd.Series(values if isinstance(values, np.ndarray) else list(values),
                         dtype="object")
            for n, values in zip(names, columns, strict=True)}
    frame = pd.DataFrame(data, columns=names)
    for c in schema.columns:
        if c.name not in frame.columns:
            continue
        if c.dtype == "bool":
            frame[c.name] = frame[c.name].map(
                lambda v: None if v is None else bool(v)).astype("boolean")
        elif c.dtype == "float":
            frame[c.name] = pd.to_numeric(frame[c.name]).astype("float64")
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, crs=STORAGE_CRS),
                            crs=STORAGE_CRS)


@contextmanager
def without_cycle_collection() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while a layer is read (then restore it).

    Reading a million rows makes tens of millions of small objects, none in a cycle; the
    collector scanned them again and again (a third of the read's time). Reference
    counting still frees everything as usual.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
