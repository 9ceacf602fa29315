"""Fit a frame read from a file to its layer's schema: column names, types and ids.

Also makes the empty layer of each kind, so that "no rows" has the same columns and
types as a full layer.
"""

from __future__ import annotations

import hashlib

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ctxmap.layers.flags import read_flag
from ctxmap.layers.schemas import STORAGE_CRS, LayerSchema, schema_for


def empty_layer(kind: str) -> gpd.GeoDataFrame:
    """Return an empty GeoDataFrame with the canonical columns of ``kind``."""
    schema = schema_for(kind)
    data = {c.name: pd.Series([], dtype=_pandas_dtype(c.dtype)) for c in schema.columns}
    return gpd.GeoDataFrame(data, geometry=gpd.GeoSeries([], crs=STORAGE_CRS), crs=STORAGE_CRS)


def column_or_none(frame: pd.DataFrame, col: str) -> pd.Series:
    """Return ``frame[col]`` as objects with ``None`` for missing values (all ``None`` if absent).

    Keeps the frame's index.
    """
    if col in frame.columns:
        return frame[col].astype(object).where(frame[col].notna(), None)
    return pd.Series([None] * len(frame), index=frame.index, dtype=object)


def _pandas_dtype(dtype: str) -> str:
    return {"str": "object", "int": "Int64", "float": "float64", "bool": "boolean"}[dtype]


def norm_column(col: str) -> str:
    """Return a column name lower-cased with single spaces (BOM and padding removed)."""
    return " ".join(str(col).strip().lower().replace("\ufeff", "").split())


def duplicate_columns(columns: list[str]) -> str | None:
    """Describe the column names that appear more than once (ignoring case and spacing).

    Returns e.g. ``"'name' (columns 2 and 3)"``, or None when every name is unique.
    Columns are numbered from 1, left to right.
    """
    seen: dict[str, list[int]] = {}
    for i, col in enumerate(columns, start=1):
        seen.setdefault(norm_column(col), []).append(i)
    twice = [(columns[pos[0] - 1], pos) for pos in seen.values() if len(pos) > 1]
    if not twice:
        return None
    return "; ".join(f"{str(col).strip()!r} (columns {', '.join(map(str, pos[:-1]))} and "
                     f"{pos[-1]})" for col, pos in twice)


def apply_aliases(frame: pd.DataFrame, schema: LayerSchema) -> pd.DataFrame:
    """Rename columns to canonical names using the schema's aliases (case-insensitive)."""
    canonical = set(schema.column_names)
    rename: dict[str, str] = {}
    taken = {c for c in frame.columns if c in canonical}
    for col in frame.columns:
        if col in canonical or col == "geometry":
            continue
        key = norm_column(col)
        target = key.replace(" ", "_") if key.replace(" ", "_") in canonical else None
        target = target or schema.aliases.get(key) or schema.aliases.get(key.replace(" ", "_"))
        if target and target not in taken:
            rename[col] = target
            taken.add(target)
    return frame.rename(columns=rename)


def find_column(columns: list[str], names: tuple[str, ...]) -> str | None:
    """Return the first of ``columns`` whose normalised name is in ``names``, or None."""
    lookup = {norm_column(c).replace(" ", "_"): c for c in columns}
    for n in names:
        if n in lookup:
            return lookup[n]
    return None


def arrow_text(values: pd.Series) -> pa.ChunkedArray:
    """Return a column as an Arrow string array, missing cells as nulls (no copy for text)."""
    if isinstance(values.dtype, pd.ArrowDtype):  # already Arrow: no copy
        arr = pa.array(values.array)
    else:
        arr = pa.array(values.astype("string"), from_pandas=True)  # chunked if pandas' is
    if isinstance(arr, pa.Array):
        arr = pa.chunked_array([arr])
    return arr if arr.type == pa.string() else arr.cast(pa.string())


def stable_ids(
    frame: pd.DataFrame, cols: list[str], prefix: str, only: np.ndarray | None = None
) -> pd.Series:
    """Content-based ids: the same record read from another file gets the same id.

    A row's id is ``prefix`` + the first 16 hex digits of the SHA-1 of its ``cols`` joined
    with ``|`` (missing as empty), then ``#`` and how many earlier rows had the same
    text (so repeated rows differ). With ``only`` (a boolean mask) just those rows are
    hashed and the others get None, while repeats are still counted over every row, so
    an id does not depend on which rows need one. See :func:`stable_ids_arrow`.
    """
    columns = [arrow_text(frame.iloc[:, frame.columns.get_loc(c)]) for c in cols]
    return pd.Series(stable_ids_arrow(columns, prefix, only), index=frame.index, dtype=object)


def stable_ids_arrow(
    columns: list[pa.ChunkedArray | pa.Array], prefix: str, only: np.ndarray | None = None
) -> np.ndarray:
    """:func:`stable_ids` for Arrow text columns; returns an object array (None if not hashed).

    A column may come dictionary-encoded already (a :class:`pyarrow.DictionaryArray`
    without nulls). Rows are grouped by their cells' dictionary codes (mixed-radix
    integers, NumPy), and the joined text is built once per group: groups whose joined
    text is equal (a ``|`` inside a cell can make two different rows join alike) are
    merged, so repeats are counted on the joined text exactly as it is hashed. Only the
    rows in ``only`` are joined and hashed.
    """
    n = len(columns[0]) if columns else 0
    group = np.zeros(n, dtype=np.int64)
    size = 1  # group < size
    dictionaries: list[pa.Array] = []
    codes: list[np.ndarray] = []
    for column in columns:
        encoded = column if isinstance(column, pa.DictionaryArray) else _encode(column)
        dictionaries.append(encoded.dictionary)
        codes.append(np.asarray(encoded.indices, dtype=np.int64))
        width = max(len(encoded.dictionary), 1)
        if size * width >= 2**62:  # keep the mixed-radix key inside int64
            group, uniques = pd.factorize(group)
            group, size = group.astype(np.int64), max(len(uniques), 1)
        group, size = group * width + codes[-1], size * width
    group = pd.factorize(group)[0].astype(np.int64)
    first = first_rows(group)  # a row of each group, by group number
    joined = pc.binary_join_element_wise(
        *[d.take(pa.array(c[first])) for d, c in zip(dictionaries, codes, strict=True)], "|")
    merged = np.asarray(joined.dictionary_encode().indices, dtype=np.int64)
    wanted = np.arange(n) if only is None else np.flatnonzero(only)
    seen = occurrences(merged[group])
    full = pc.binary_join_element_wise(
        joined.take(pa.array(group[wanted])), pa.array(seen[wanted]).cast(pa.string()), "#")
    ids = np.full(n, None, dtype=object)
    ids[wanted] = [prefix + hashlib.sha1(s.encode()).hexdigest()[:16] for s in full.to_pylist()]
    return ids


def _encode(column: pa.ChunkedArray | pa.Array) -> pa.DictionaryArray:
    """A text column dictionary-encoded in one chunk, missing cells as ``""``."""
    arr = pc.fill_null(column, "")
    arr = arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr
    return arr.dictionary_encode()


def first_rows(codes: np.ndarray) -> np.ndarray:
    """The first position of each code, for codes numbered by first appearance.

    ``codes`` is as :func:`pandas.factorize` numbers them (0, then each new value the
    next number), so a position starts a code exactly when its code exceeds every
    earlier one; the result's k-th entry is where code k first appears.
    """
    if len(codes) == 0:
        return np.empty(0, dtype=np.int64)
    before = np.maximum.accumulate(np.r_[-1, codes[:-1]])
    return np.flatnonzero(codes > before)


def occurrences(codes: np.ndarray) -> np.ndarray:
    """For each position, how many earlier positions hold the same code (0 for the first)."""
    order = np.argsort(codes, kind="stable")
    ranked = codes[order]
    starts = np.r_[0, np.flatnonzero(ranked[1:] != ranked[:-1]) + 1]
    group_start = np.repeat(starts, np.diff(np.r_[starts, len(ranked)]))
    out = np.empty(len(codes), dtype=np.int64)
    out[order] = np.arange(len(codes)) - group_start
    return out


def area_level(columns: list[str]) -> str:
    """Guess an area level from its code column (``LSOA11CD`` → ``lsoa``...)."""
    low = {c.lower() for c in columns}
    for key, level in (("lsoa11cd", "lsoa"), ("msoa11cd", "msoa"), ("wd13cd", "ward"),
                       ("lad13cd", "district")):
        if key in low:
            return level
    for prefix, level in (("lsoa", "lsoa"), ("msoa", "msoa"), ("wd", "ward"), ("lad", "district")):
        if any(c.startswith(prefix) and c.endswith("cd") for c in low):
            return level
    return "other"


def conform(
    gdf: gpd.GeoDataFrame, schema: LayerSchema, extra: tuple[str, ...] = ()
) -> gpd.GeoDataFrame:
    """Keep the canonical columns (adding missing optional ones) and ``extra``, typed."""
    gdf = gdf.reset_index(drop=True)
    data: dict[str, pd.Series] = {}
    for c in schema.columns:
        s = gdf[c.name] if c.name in gdf.columns else pd.Series([None] * len(gdf), dtype=object)
        if c.dtype == "str":
            s = text_or_none(s, strip=c.name in ("id", "month", "category", "level"))
        elif c.dtype == "float":
            s = pd.to_numeric(s, errors="coerce").astype("float64")
        elif c.dtype == "int":
            s = pd.to_numeric(s, errors="coerce").astype("Int64")
        elif c.dtype == "bool":
            s = s.map(read_flag).astype("boolean")
        data[c.name] = s.reset_index(drop=True)
    for name in extra:
        if name in gdf.columns:
            data[name] = text_or_none(gdf[name], strip=True)
    out = gpd.GeoDataFrame(data, geometry=gdf.geometry.reset_index(drop=True), crs=gdf.crs)
    if schema.kind == "homes":
        out["fictional"] = out["fictional"].fillna(False)
    return out


def text_or_none(values: pd.Series, *, strip: bool) -> pd.Series:
    """Return ``values`` as text objects, None for missing or blank cells (vectorised).

    Non-text values become their ``str``; with ``strip`` the surrounding whitespace goes.
    The index is reset (0..n-1), as :func:`conform` builds its frame. Each distinct text
    becomes one Python string, shared by the rows that hold it.
    """
    text = arrow_text(values)
    trimmed = pc.utf8_trim_whitespace(text)
    blank = pc.fill_null(pc.equal(trimmed, ""), True)
    kept = pc.if_else(blank, pa.scalar(None, pa.string()), trimmed if strip else text)
    return pd.Series(objects_by_value(kept), dtype=object)


def objects_by_value(values: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """An Arrow array as a NumPy object array (None for nulls), made per distinct value.

    Each distinct value becomes one Python object, shared by the rows holding it: a
    column of a million cells with a few thousand distinct texts makes a few thousand
    strings, not a million.
    """
    arr = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    encoded = arr.dictionary_encode()
    distinct = np.array([*encoded.dictionary.to_pylist(), None], dtype=object)
    codes = encoded.indices.fill_null(len(distinct) - 1)
    return distinct[np.asarray(codes, dtype=np.int64)]
