"""Read a police.uk street-level crime CSV as the incidents layer, column by column in Arrow.

police.uk publishes one file per force and month with a fixed header
(:data:`~ctxmap.layers.schemas.POLICE_UK_COLUMNS`). A year of a large force is
millions of rows, so nothing here loops over rows in Python:

* the file is parsed by ``pyarrow.csv`` into text columns;
* low-cardinality columns (month, crime type, location, LSOA, outcome, force, and
  the snapped coordinates) are checked and converted once per *distinct* value
  and spread back to the rows by their dictionary codes;
* ids are checked for repeats with one hash pass; content ids for rows without a
  Crime ID come from :func:`~ctxmap.layers.conform.stable_ids_arrow`;
* police.uk snaps every location to one of a few thousand map points, so one
  shapely point is made per distinct coordinate pair and shared by its rows.

The result is exactly what :func:`~ctxmap.layers.conform.conform` makes of the
row-by-row reading (``tests/layers/test_police_uk.py`` checks this), and
``benchmarks/read_bench.py`` times it on a 1,000,000-row file.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import shapely

from ctxmap.errors import Problem
from ctxmap.layers.conform import first_rows, occurrences, stable_ids_arrow
from ctxmap.layers.coordinates import check_lonlat_numbers, parse_numbers_by_value
from ctxmap.layers.read_result import LayerRead, warn_no_location
from ctxmap.layers.schemas import PRECISION_NONE, PRECISION_SNAPPED, STORAGE_CRS

#: The columns of a police.uk file whose text goes into a content id (rows with no Crime ID).
ID_COLUMNS = ("Month", "Longitude", "Latitude", "Location", "Crime type", "LSOA code")
#: The columns the incidents layer is made from (``Falls within``, ``LSOA name`` and
#: ``Context`` are not kept).
USED_COLUMNS = ("Crime ID", *ID_COLUMNS, "Reported by", "Last outcome category")


def parse_text_table(
    data: bytes, header: list[str], columns: tuple[str, ...] | None = None
) -> pa.Table | None:
    """Parse CSV bytes into an Arrow table of text columns (empty cells ``""``, never null).

    ``header`` is the file's first row as the :mod:`csv` module read it; the column
    names are those names with surrounding spaces removed. With ``columns``, only
    those are kept (every row is still checked for its number of fields). Returns None when Arrow
    refuses the file (e.g. a row with more or fewer fields than the header), so the
    caller can read it with pandas, which names the offending line.
    """
    data = data.removeprefix(b"\xef\xbb\xbf")
    names = [str(c).strip() for c in header]
    try:
        return pacsv.read_csv(
            pa.py_buffer(data),
            read_options=pacsv.ReadOptions(column_names=names, skip_rows=1,
                                           block_size=8 << 20),  # fewer, larger chunks
            parse_options=pacsv.ParseOptions(newlines_in_values=False),
            convert_options=pacsv.ConvertOptions(
                column_types={c: pa.string() for c in names}, strings_can_be_null=False,
                quoted_strings_can_be_null=False, include_columns=columns),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None


def table_from_frame(frame: pd.DataFrame) -> pa.Table:
    """The Arrow table of a frame of text cells (as :func:`parse_text_table` makes)."""
    return pa.table({c: pa.array(frame[c].astype(object).fillna("").tolist(), pa.string())
                     for c in frame.columns})


class _Column:
    """One text column, dictionary-encoded: ``values[codes]`` gives the rows' cells.

    The text is never copied: Arrow encodes it chunk by chunk into one dictionary.
    """

    def __init__(self, column: pa.ChunkedArray | pa.Array) -> None:
        chunked = column if isinstance(column, pa.ChunkedArray) else pa.chunked_array([column])
        if chunked.num_chunks == 0:
            chunked = pa.chunked_array([pa.array([], pa.string())])
        encoded = chunked.dictionary_encode().unify_dictionaries()  # one shared dictionary
        self.raw = chunked
        self.dictionary: pa.Array = encoded.chunk(0).dictionary
        self.codes = np.concatenate([np.asarray(c.indices) for c in encoded.chunks])
        self.encoded = pa.DictionaryArray.from_arrays(pa.array(self.codes), self.dictionary)
        self.values = np.asarray(self.dictionary.to_pylist(), dtype=object)

    def series(self) -> pd.Series:
        """The rows' cells as a pandas Series backed by the same Arrow memory."""
        return pd.Series(pd.arrays.ArrowExtensionArray(self.raw))

    def stripped(self) -> np.ndarray:
        """Each distinct value with surrounding whitespace removed."""
        return np.asarray(pc.utf8_trim_whitespace(self.dictionary).to_pylist(), dtype=object)

    def text_or_none(self, *, strip: bool) -> np.ndarray:
        """The rows' cells as objects, None where blank (as ``conform.text_or_none``)."""
        trimmed = self.stripped()
        kept = (trimmed if strip else self.values).astype(object)  # a copy
        kept[trimmed == ""] = None
        return kept[self.codes]


def read_police_uk(table: pa.Table, name: str, result: LayerRead) -> LayerRead:
    """Validate a police.uk table and fill ``result`` with its incidents layer.

    Rows are numbered from 1 after the header. Errors (an unreadable month or
    location, an empty crime type) drop their row; rows with no location are kept
    with a null geometry and a warning; a repeated Crime ID is kept with a suffix.
    """
    n = table.num_rows
    cols = {c: _Column(table[c]) for c in USED_COLUMNS if c != "Crime ID"}
    month, category = cols["Month"], cols["Crime type"]
    lon_t, lat_t = cols["Longitude"], cols["Latitude"]
    lon, lat, ok, probs = check_lonlat_numbers(
        parse_numbers_by_value(pd.Series(lon_t.values, dtype=object), lon_t.codes),
        parse_numbers_by_value(pd.Series(lat_t.values, dtype=object), lat_t.codes),
        lon_t.series(), lat_t.series(), name, "Longitude", "Latitude")
    result.problems.extend(probs)
    month_text = month.stripped()
    month_ok = pc.match_substring_regex(pa.array(month_text, pa.string()),
                                        r"^\d{4}-(0[1-9]|1[0-2])$").to_numpy(zero_copy_only=False)
    for i in np.flatnonzero(~month_ok[month.codes]):
        result.problems.append(
            Problem(name, f"{month.values[month.codes[i]]!r} is not a month; expected YYYY-MM",
                    row=int(i + 1), column="Month", code="bad_month"))
    category_text = category.stripped()
    for i in np.flatnonzero((category_text == "")[category.codes]):
        result.problems.append(
            Problem(name, "the crime type is empty; expected one of the police.uk categories",
                    row=int(i + 1), column="Crime type", code="missing_value"))
    ids = _ids(table, [cols[c].encoded for c in ID_COLUMNS], name, result)
    no_loc = ~ok
    no_loc[[p.row - 1 for p in probs if p.row is not None]] = False
    warn_no_location(result, no_loc, name, "Longitude")
    keep = np.ones(n, dtype=bool)
    keep[[p.row - 1 for p in result.errors if p.row is not None]] = False
    reporter = cols["Reported by"].stripped()
    reporter = "police.uk (" + np.where(reporter == "", "unknown force", reporter) + ")"
    columns = {
        "id": ids,
        "month": month.text_or_none(strip=True),
        "date": np.full(n, None, dtype=object),
        "category": category.text_or_none(strip=True),
        "location_precision": np.where(ok, PRECISION_SNAPPED, PRECISION_NONE).astype(object),
        "location": cols["Location"].text_or_none(strip=False),
        "lsoa_code": cols["LSOA code"].text_or_none(strip=False),
        "outcome": cols["Last outcome category"].text_or_none(strip=False),
        "source": reporter.astype(object)[cols["Reported by"].codes],
    }
    geometry = _points(lon, lat, ok)
    if not keep.all():
        columns = {k: v[keep] for k, v in columns.items()}
        geometry = geometry[keep]
    data = {k: pd.Series(v, dtype=object) for k, v in columns.items()}
    result.gdf = gpd.GeoDataFrame(data, geometry=gpd.GeoSeries(geometry, crs=STORAGE_CRS),
                                  crs=STORAGE_CRS)
    return result


def _ids(
    table: pa.Table, id_columns: list[pa.DictionaryArray], name: str, result: LayerRead
) -> np.ndarray:
    """Each row's id: its Crime ID, or a content id (from ``id_columns``) when blank.

    A Crime ID seen on an earlier row is kept with the suffix ``-k`` (k earlier rows).
    """
    crime_id = pc.utf8_trim_whitespace(table["Crime ID"])
    blank = pc.equal(crime_id, "").to_numpy()
    ids = crime_id.to_numpy()
    if blank.any():
        ids[blank] = stable_ids_arrow(list(id_columns), "puk-", only=blank)[blank]
    if len(set(ids)) == len(ids):  # the usual case, found by one hash pass
        return ids
    codes, _ = pd.factorize(ids)
    seen_before = occurrences(codes.astype(np.int64))
    dup = (seen_before > 0) & ~blank
    for i in np.flatnonzero(dup):
        result.problems.append(
            Problem(name, f"Crime ID {ids[i][:16]}... repeats an earlier row; the later row "
                    "is kept with a suffixed id", row=int(i + 1), column="Crime ID",
                    severity="warning", code="duplicate_id"))
    if dup.any():
        where = np.flatnonzero(dup)
        ids[where] = [f"{ids[i]}-{seen_before[i]}" for i in where]
    return ids


def _points(lon: np.ndarray, lat: np.ndarray, ok: np.ndarray) -> np.ndarray:
    """Shapely points for the ``ok`` rows (None elsewhere), one object per distinct pair."""
    geometry = np.full(len(lon), None, dtype=object)
    rows = np.flatnonzero(ok)
    if len(rows):
        x_code, _ = pd.factorize(lon[rows].view(np.int64))  # bits: -0.0 is kept
        y_code, y_distinct = pd.factorize(lat[rows].view(np.int64))
        pair, _ = pd.factorize(x_code.astype(np.int64) * len(y_distinct) + y_code)
        first = first_rows(pair)
        pts = shapely.points(lon[rows[first]], lat[rows[first]])
        geometry[rows] = pts[pair]
    return geometry
