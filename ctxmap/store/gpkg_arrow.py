"""Read a GeoPackage layer through GDAL's Arrow stream (pyogrio): no Python row objects.

Reading a million incidents row by row from SQLite (``fetchall``) makes ten million
Python objects and takes seconds; GDAL's GeoPackage driver hands the same rows over
as Arrow columns in well under a second. The values are then made into what
:meth:`ctxmap.store.geopackage.GeoPackageStore.read` returns by the row-by-row route
(text as ``str``/None, numbers and flags as Python values), the same frame
(``tests/store/test_gpkg_arrow.py`` compares both on every layer):

* a text column with few distinct values (months, categories, locations) becomes
  Python strings once per distinct value;
* geometries are decoded once per distinct WKB value (police.uk snaps incidents to a
  few thousand map points), the rows sharing one immutable shapely object.

When GDAL cannot read the layer, or hands over a type this does not convert, the
caller reads it row by row instead (:func:`read_layer_arrow` returns None).
"""

from __future__ import annotations

import os

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import shapely

from ctxmap.layers.conform import objects_by_value

#: Arrow types converted here; a column of any other type sends the read row by row.
_TEXT = (pa.string(), pa.large_string())


def read_layer_arrow(
    path: str | os.PathLike[str], layer: str, names: list[str]
) -> tuple[np.ndarray, list[np.ndarray]] | None:
    """The geometries and the ``names`` columns of ``layer``, in fid order, or None.

    Returns ``(geometries, columns)``: shapely objects (None where null) and one object
    array per name, as the row-by-row read gives them.
    """
    try:
        import pyogrio

        meta, table = pyogrio.read_arrow(path, layer=layer, columns=names,
                                         return_fids=True)
    except Exception:  # GDAL could not read it: the row-by-row read will say why
        return None
    fids = np.asarray(table["__fid"]) if "__fid" in table.column_names else None
    if fids is not None and len(fids) > 1 and not bool(np.all(fids[1:] > fids[:-1])):
        return None  # not in fid order: the row-by-row read orders by fid
    geometry_name = meta.get("geometry_name") or "wkb_geometry"
    if geometry_name not in table.column_names or any(n not in table.column_names
                                                      for n in names):
        return None
    columns = []
    for name in names:
        values = _column(table[name])
        if values is None:
            return None
        columns.append(values)
    return _geometries(table[geometry_name]), columns


def _column(column: pa.ChunkedArray) -> np.ndarray | None:
    """A column as an object array of Python values (None for nulls), or None if unknown."""
    if column.type in _TEXT:
        if _mostly_distinct(column):  # e.g. ids: convert directly
            return np.asarray(column.to_numpy(zero_copy_only=False), dtype=object)
        return objects_by_value(column)
    if pa.types.is_integer(column.type) or pa.types.is_floating(column.type) or \
            pa.types.is_boolean(column.type) or pa.types.is_null(column.type):
        return np.array(column.to_pylist(), dtype=object)
    return None


def _geometries(column: pa.ChunkedArray) -> np.ndarray:
    """Shapely geometries from a WKB column, one object per distinct value."""
    out = np.full(len(column), None, dtype=object)
    if len(column) == 0:
        return out
    wkb = column.cast(pa.binary()) if column.type != pa.binary() else column
    if _mostly_distinct(wkb):
        return np.asarray(shapely.from_wkb(wkb.to_numpy(zero_copy_only=False)), dtype=object)
    encoded = pc.dictionary_encode(wkb).combine_chunks()
    shapes = shapely.from_wkb(np.asarray(encoded.dictionary.to_pylist(), dtype=object))
    valid = np.asarray(encoded.indices.is_valid(), dtype=bool)
    codes = np.asarray(encoded.indices.fill_null(0), dtype=np.int64)
    out[valid] = shapes[codes[valid]]
    return out


def _mostly_distinct(column: pa.ChunkedArray, probe: int = 10_000) -> bool:
    """Whether the first ``probe`` values are mostly distinct (then encoding does not pay)."""
    head = column.slice(0, probe)
    return len(head) > 0 and len(pc.unique(head)) * 2 > len(head)
