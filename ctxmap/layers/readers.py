"""Read layer files (police.uk CSV, lat/lon or easting/northing CSV, GeoJSON, GeoPackage).

Every reader validates as it reads and collects *every* problem before reporting,
each naming the file, row and column and saying what arrived and what was expected.
The result is a :class:`LayerRead`: a GeoDataFrame in EPSG:4326 with the canonical
columns of the layer's schema (see :mod:`ctxmap.layers.schemas`), and the problems.

Rows are numbered from 1 after the header (row 1 is line 2 of a CSV file); GeoJSON
and GeoPackage rows are features, numbered from 1.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ctxmap.errors import InputError, Problem
from ctxmap.layers.schemas import (
    POLICE_UK_COLUMNS,
    PRECISION_NONE,
    PRECISION_SNAPPED,
    STORAGE_CRS,
    LayerKind,
    LayerSchema,
    schema_for,
)

#: Great Britain in lon/lat, with a small margin: (min lon, min lat, max lon, max lat).
GB_LONLAT: Final = (-8.8, 49.8, 2.1, 60.95)
#: British National Grid extent in metres: (min E, min N, max E, max N).
BNG_EXTENT: Final = (0.0, 0.0, 700_000.0, 1_300_000.0)

LAT_NAMES: Final = ("latitude", "lat", "lat_wgs84", "y_lat", "wgs84_lat")
LON_NAMES: Final = ("longitude", "lon", "lng", "long", "lon_wgs84", "x_lon", "wgs84_lon")
EAST_NAMES: Final = ("easting", "eastings", "east", "bng_easting", "x_bng", "os_x", "x")
NORTH_NAMES: Final = ("northing", "northings", "north", "bng_northing", "y_bng", "os_y", "y")

TEXT_EXTENSIONS: Final = {".csv": "csv", ".txt": "csv", ".geojson": "json", ".json": "json"}
BINARY_EXTENSIONS: Final = {".gpkg": "gpkg"}
#: How many rows of one kind of problem a text report lists before summarising.
REPORT_ROWS_PER_PROBLEM: Final = 5


@dataclass
class LayerRead:
    """The result of reading one layer file.

    Attributes
    ----------
    file
        The file's name as given.
    kind
        The layer kind it was read as.
    gdf
        The usable rows in EPSG:4326 with the canonical columns; rows with no
        location have a null geometry; rows with errors are left out.
    problems
        Every problem found, errors and warnings.
    total_rows
        Data rows in the file.
    """

    file: str
    kind: str
    gdf: gpd.GeoDataFrame
    problems: list[Problem] = field(default_factory=list)
    total_rows: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        """Problems that make the input unusable."""
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        """Problems that are reported but leave the input usable."""
        return [p for p in self.problems if p.severity != "error"]

    @property
    def usable(self) -> bool:
        """True when the file has no errors and at least one row."""
        return not self.errors and self.total_rows > 0

    @property
    def mapped_rows(self) -> int:
        """Rows with a location (drawn on the map)."""
        geom = self.gdf.geometry
        return int((geom.notna() & ~geom.is_empty).sum()) if len(geom) else 0

    @property
    def unmapped_rows(self) -> int:
        """Rows kept without a location (counted, never mapped)."""
        return int(len(self.gdf) - self.mapped_rows)

    @property
    def rejected_rows(self) -> int:
        """Rows left out because of errors."""
        return len({p.row for p in self.errors if p.row is not None})

    def report(self) -> str:
        """Return a plain-text validation report."""
        lines = [
            f"file: {self.file}",
            f"layer: {self.kind}",
            f"total rows: {self.total_rows}",
            f"mapped rows: {self.mapped_rows}",
            f"rows without a location: {self.unmapped_rows}",
            f"rows with errors (left out): {self.rejected_rows}",
            f"errors: {len(self.errors)}",
            f"warnings: {len(self.warnings)}",
        ]
        lines += [f"note: {n}" for n in self.notes]
        for group in group_problems(self.problems):
            lines.extend(group)
        lines.append("result: " + ("usable" if self.usable else "NOT usable"))
        return "\n".join(lines)

    def raise_if_unusable(self) -> LayerRead:
        """Return ``self``, or raise :class:`InputError` with the report when unusable."""
        if not self.usable:
            raise InputError(f"{self.file} cannot be used as {self.kind}:\n{self.report()}")
        return self


def group_problems(problems: list[Problem]) -> list[list[str]]:
    """Group problems by (severity, code, column) into report lines, a few rows each."""
    groups: dict[tuple[str, str, str | None], list[Problem]] = {}
    for p in problems:
        groups.setdefault((p.severity, p.code or p.message, p.column), []).append(p)
    out: list[list[str]] = []
    for items in groups.values():
        lines = [str(p) for p in items[:REPORT_ROWS_PER_PROBLEM]]
        if len(items) > REPORT_ROWS_PER_PROBLEM:
            rows = [p.row for p in items[REPORT_ROWS_PER_PROBLEM:] if p.row is not None]
            more = f"  ... and {len(items) - REPORT_ROWS_PER_PROBLEM} more rows like this"
            if rows:
                shown = ", ".join(str(r) for r in rows[:20])
                more += f" (rows {shown}{', ...' if len(rows) > 20 else ''})"
            lines.append(more)
        out.append(lines)
    return out


# --------------------------------------------------------------------------- sniffing


def _sniff(raw: bytes) -> str:
    """Guess a file's real format from its first bytes."""
    head = raw[:4096]
    if head.startswith(b"SQLite format 3\x00"):
        return "gpkg"
    if head.startswith(b"PK\x03\x04"):
        return "zip"
    if head.startswith(b"%PDF"):
        return "pdf"
    if b"\x00" in head:
        return "binary"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text[:1] in (b"{", b"["):
        return "json"
    if text[:1] == b"<":
        return "xml/html"
    return "csv"


_FORMAT_WORDS: Final = {
    "gpkg": "a GeoPackage (SQLite) file",
    "zip": "a ZIP archive",
    "pdf": "a PDF document",
    "binary": "binary data",
    "json": "JSON text",
    "xml/html": "XML or HTML text",
    "csv": "CSV text",
}


def _decode(raw: bytes, name: str) -> tuple[str | None, list[Problem]]:
    """Decode UTF-8 (with or without BOM); name the line of the first bad byte."""
    try:
        return raw.decode("utf-8-sig"), []
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        bad = raw[exc.start : exc.start + 1].hex().upper()
        msg = (
            f"the file is not UTF-8: byte 0x{bad} at line {line} (byte offset {exc.start}) "
            "cannot be decoded; expected UTF-8 text. Re-save it as UTF-8 "
            "(it may be Windows-1252 or Latin-1)"
        )
        return None, [Problem(name, msg, row=max(line - 1, 0) or None, code="encoding")]


# --------------------------------------------------------------------------- entry points


def read_layer(
    path: str | Path, kind: str, *, name: str | None = None, repair: bool = False
) -> LayerRead:
    """Read and validate one layer file.

    Parameters
    ----------
    path
        A ``.csv`` (police.uk street-level, lat/lon or easting/northing), ``.geojson``/
        ``.json`` or ``.gpkg`` file.
    kind
        The layer kind to read it as (see :data:`ctxmap.layers.schemas.LAYER_KINDS`).
        OpenStreetMap POI files read as ``youth_centres`` or ``safe_places`` keep only
        the features the documented tag rules put in that layer.
    name
        The file name to show in messages (defaults to the path's name); used for
        uploads whose temporary path means nothing to the user.
    repair
        Repair invalid geometries with ``shapely.make_valid`` (reported as warnings)
        instead of rejecting them.

    Returns
    -------
    LayerRead
        Never raises for bad content: problems are in ``.problems``. Raises
        :class:`InputError` only when the file cannot be opened at all.
    """
    schema = schema_for(kind)
    path = Path(path)
    shown = name or path.name
    if not path.exists():
        raise InputError(f"{shown}: no such file ({path})")
    if path.is_dir():
        raise InputError(f"{shown}: is a folder; expected a file")
    raw = path.read_bytes()
    return read_layer_bytes(raw, kind, name=shown, suffix=path.suffix, schema=schema,
                            repair=repair)


def read_layer_bytes(
    raw: bytes,
    kind: str,
    *,
    name: str,
    suffix: str,
    schema: LayerSchema | None = None,
    repair: bool = False,
    extra: tuple[str, ...] = (),
) -> LayerRead:
    """Read and validate a layer from bytes (e.g. an upload); see :func:`read_layer`."""
    schema = schema or schema_for(kind)
    empty = LayerRead(name, kind, empty_layer(kind))
    suffix = suffix.lower()
    expected = TEXT_EXTENSIONS.get(suffix) or BINARY_EXTENSIONS.get(suffix)
    if expected is None:
        known = ", ".join(sorted({*TEXT_EXTENSIONS, *BINARY_EXTENSIONS}))
        empty.problems.append(
            Problem(name, f"unsupported file type {suffix or '(none)'!r}; expected one of {known}",
                    code="extension")
        )
        return empty
    if not raw.strip(b"\xef\xbb\xbf \t\r\n"):
        empty.problems.append(
            Problem(name, "the file is empty; expected a header row and data rows", code="empty")
        )
        return empty
    actual = _sniff(raw)
    if actual != expected:
        empty.problems.append(
            Problem(
                name,
                f"the file is not what its extension says: {suffix} should be "
                f"{_FORMAT_WORDS[expected]}, but it looks like {_FORMAT_WORDS[actual]}",
                code="format",
            )
        )
        return empty
    if actual == "gpkg":
        frame, problems = _read_gpkg(raw, name, kind)
        return _finish_geo(frame, problems, name, schema, repair=repair, extra=extra)
    text, problems = _decode(raw, name)
    if text is None:
        empty.problems.extend(problems)
        return empty
    if actual == "json":
        frame, problems = _read_geojson(text, name)
        return _finish_geo(frame, problems, name, schema, repair=repair, extra=extra)
    return _read_csv(text, name, schema, extra=extra)


def read_places(path: str | Path, *, name: str | None = None) -> LayerRead:
    """Read a file of places of any kind, keeping every row.

    The result has the place columns plus ``layer``: the file's own ``layer`` column
    when it has one, the OpenStreetMap tag rules' layer (``youth_centres``,
    ``safe_places``, or ``other``) for an OSM POI file, else ``places``.
    """
    path = Path(path)
    shown = name or path.name
    if not path.exists():
        raise InputError(f"{shown}: no such file ({path})")
    raw = path.read_bytes()
    if path.suffix.lower() in (".geojson", ".json", ".gpkg") and _sniff(raw) in ("json", "gpkg"):
        frame, problems = (
            _read_gpkg(raw, shown, "safe_places")
            if _sniff(raw) == "gpkg"
            else _read_geojson(raw.decode("utf-8-sig", errors="replace"), shown)
        )
        if frame is not None and not problems and _is_osm(frame):
            return _read_osm_places(frame, shown)
    result = read_layer_bytes(raw, "safe_places", name=shown, suffix=path.suffix,
                              extra=("layer",))
    result.kind = "places"
    if "layer" not in result.gdf.columns:
        result.gdf["layer"] = "places"
    result.gdf["layer"] = result.gdf["layer"].fillna("places")
    return result


# --------------------------------------------------------------------------- helpers


def empty_layer(kind: str) -> gpd.GeoDataFrame:
    """Return an empty GeoDataFrame with the canonical columns of ``kind``."""
    schema = schema_for(kind)
    data = {c.name: pd.Series([], dtype=_pandas_dtype(c.dtype)) for c in schema.columns}
    return gpd.GeoDataFrame(data, geometry=gpd.GeoSeries([], crs=STORAGE_CRS), crs=STORAGE_CRS)


def _pandas_dtype(dtype: str) -> str:
    return {"str": "object", "int": "Int64", "float": "float64", "bool": "boolean"}[dtype]


def _norm(col: str) -> str:
    return " ".join(str(col).strip().lower().replace("\ufeff", "").split())


def _apply_aliases(frame: pd.DataFrame, schema: LayerSchema) -> pd.DataFrame:
    """Rename columns to canonical names using the schema's aliases (case-insensitive)."""
    canonical = set(schema.column_names)
    rename: dict[str, str] = {}
    taken = {c for c in frame.columns if c in canonical}
    for col in frame.columns:
        if col in canonical or col == "geometry":
            continue
        key = _norm(col)
        target = key.replace(" ", "_") if key.replace(" ", "_") in canonical else None
        target = target or schema.aliases.get(key) or schema.aliases.get(key.replace(" ", "_"))
        if target and target not in taken:
            rename[col] = target
            taken.add(target)
    return frame.rename(columns=rename)


def _find(columns: list[str], names: tuple[str, ...]) -> str | None:
    lookup = {_norm(c).replace(" ", "_"): c for c in columns}
    for n in names:
        if n in lookup:
            return lookup[n]
    return None


def _to_float(values: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (floats, is_blank, is_bad_number) for a column of strings."""
    text = values.astype("string").fillna("").str.strip()
    blank = (text == "").to_numpy()
    nums = pd.to_numeric(text.where(~blank, None), errors="coerce").to_numpy(dtype="float64")
    bad = ~blank & ~np.isfinite(nums)
    return nums, blank, bad


def _stable_ids(frame: pd.DataFrame, cols: list[str], prefix: str) -> pd.Series:
    """Content-based ids: the same record read from another file gets the same id."""
    key = frame[cols].astype("string").fillna("").agg("|".join, axis=1)
    occurrence = key.groupby(key).cumcount().astype(str)
    full = key + "#" + occurrence
    return full.map(lambda s: prefix + hashlib.sha1(s.encode()).hexdigest()[:16])


# --------------------------------------------------------------------------- coordinates


def _check_lonlat(
    lon_s: pd.Series, lat_s: pd.Series, name: str, lon_col: str, lat_col: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[Problem]]:
    """Validate lon/lat columns row by row (vectorised); return (lon, lat, ok, problems).

    ``ok`` is True for rows with a usable location; rows with no location are neither
    ok nor errors (they are counted as unmapped).
    """
    lon, lon_blank, lon_bad = _to_float(lon_s)
    lat, lat_blank, lat_bad = _to_float(lat_s)
    n = len(lon)
    problems: list[Problem] = []
    error = np.zeros(n, dtype=bool)
    rows = np.arange(1, n + 1)

    def add(mask: np.ndarray, col: str, code: str, fmt) -> None:
        nonlocal error
        mask = mask & ~error
        for i in np.flatnonzero(mask):
            problems.append(Problem(name, fmt(i), row=int(rows[i]), column=col, code=code))
        error |= mask

    add(lon_bad, lon_col, "not_a_number",
        lambda i: f"{lon_s.iloc[i]!r} is not a number; expected a longitude in degrees")
    add(lat_bad, lat_col, "not_a_number",
        lambda i: f"{lat_s.iloc[i]!r} is not a number; expected a latitude in degrees")
    add(lon_blank & ~lat_blank, lon_col, "half_location",
        lambda i: f"longitude is empty but latitude is {lat_s.iloc[i]!r}; expected both or neither")
    add(lat_blank & ~lon_blank, lat_col, "half_location",
        lambda i: f"latitude is empty but longitude is {lon_s.iloc[i]!r}; expected both or neither")
    both = ~lon_blank & ~lat_blank & ~error
    with np.errstate(invalid="ignore"):
        metres = both & ((np.abs(lon) > 1000) | (np.abs(lat) > 1000))
        add(metres, lat_col, "bng_in_latlon",
            lambda i: f"latitude {lat_s.iloc[i]} / longitude {lon_s.iloc[i]} look like British "
            "National Grid metres (easting/northing), not degrees; expected latitude -90..90 "
            "and longitude -180..180 (name the columns Easting/Northing for grid references)")
        zero = both & (lon == 0) & (lat == 0)
        add(zero, lat_col, "null_island",
            lambda i: "latitude 0 / longitude 0 is not a real location here (usually a missing "
            "value); expected a real position or both cells empty")
        in_gb = both & _within(lon, lat, GB_LONLAT)
        swapped_gb = both & ~in_gb & _within(lat, lon, GB_LONLAT)
        located = both & ~error
        gb_file = located.sum() > 0 and (in_gb | swapped_gb)[located].mean() >= 0.5
        out_of_range = both & ((np.abs(lat) > 90) | (np.abs(lon) > 180))
        swapped_any = out_of_range & (np.abs(lon) <= 90) & (np.abs(lat) <= 180)
        if gb_file:
            add(swapped_gb, lat_col, "swapped_latlon",
                lambda i: f"latitude {lat_s.iloc[i]} and longitude {lon_s.iloc[i]} look swapped: "
                "Great Britain lies at latitude 49.8..61 and longitude -8.8..2.1, where the other "
                "rows of this file lie; expected the latitude in the latitude column")
        add(swapped_any, lat_col, "swapped_latlon",
            lambda i: f"latitude {lat_s.iloc[i]} is outside -90..90 but would fit as a longitude: "
            f"latitude and longitude look swapped; expected latitude in {lat_col!r}")
        add(out_of_range, lat_col, "out_of_range",
            lambda i: f"latitude {lat_s.iloc[i]} / longitude {lon_s.iloc[i]} is outside the "
            "possible range; expected latitude -90..90 and longitude -180..180")
        if gb_file:
            far = both & ~in_gb
            add(far, lat_col, "outside_area",
                lambda i: f"latitude {lat_s.iloc[i]} / longitude {lon_s.iloc[i]} is outside Great "
                "Britain, where the rest of this file lies; expected a point in Great Britain "
                "(lat 49.8..61, lon -8.8..2.1)")
    ok = both & ~error
    return lon, lat, ok, problems


def _within(x: np.ndarray, y: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    x0, y0, x1, y1 = box
    with np.errstate(invalid="ignore"):
        return (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)


def _check_en(
    e_s: pd.Series, n_s: pd.Series, name: str, e_col: str, n_col: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[Problem]]:
    """Validate British National Grid easting/northing columns; like :func:`_check_lonlat`."""
    e, e_blank, e_bad = _to_float(e_s)
    n, n_blank, n_bad = _to_float(n_s)
    problems: list[Problem] = []
    error = np.zeros(len(e), dtype=bool)

    def add(mask: np.ndarray, col: str, code: str, fmt) -> None:
        nonlocal error
        mask = mask & ~error
        for i in np.flatnonzero(mask):
            problems.append(Problem(name, fmt(i), row=int(i + 1), column=col, code=code))
        error |= mask

    add(e_bad, e_col, "not_a_number",
        lambda i: f"{e_s.iloc[i]!r} is not a number; expected an easting in metres")
    add(n_bad, n_col, "not_a_number",
        lambda i: f"{n_s.iloc[i]!r} is not a number; expected a northing in metres")
    add(e_blank ^ n_blank, e_col, "half_location",
        lambda i: "only one of easting/northing is given; expected both or neither")
    both = ~e_blank & ~n_blank & ~error
    with np.errstate(invalid="ignore"):
        degrees = both & (np.abs(e) <= 180) & (np.abs(n) <= 90)
        add(degrees, e_col, "degrees_in_bng",
            lambda i: f"easting {e_s.iloc[i]} / northing {n_s.iloc[i]} look like degrees "
            "(longitude/latitude), not metres; expected British National Grid metres "
            "(name the columns Latitude/Longitude for degrees)")
        outside = both & ~_within(e, n, BNG_EXTENT)
        add(outside, e_col, "out_of_range",
            lambda i: f"easting {e_s.iloc[i]} / northing {n_s.iloc[i]} is outside the British "
            "National Grid; expected easting 0..700000 and northing 0..1300000 metres")
    return e, n, both & ~error, problems


# --------------------------------------------------------------------------- CSV


def _read_csv(text: str, name: str, schema: LayerSchema, extra: tuple[str, ...] = ()) -> (
    LayerRead
):
    result = LayerRead(name, schema.kind, empty_layer(schema.kind))
    try:
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False,
                            skipinitialspace=False)
    except pd.errors.EmptyDataError:
        result.problems.append(Problem(name, "the file is empty; expected a header row",
                                       code="empty"))
        return result
    except pd.errors.ParserError as exc:
        result.problems.append(
            Problem(name, f"the CSV cannot be parsed ({exc}); expected comma-separated rows "
                    "with the same number of fields as the header", code="csv_parse")
        )
        return result
    frame.columns = [str(c).strip() for c in frame.columns]
    result.total_rows = len(frame)
    if len(frame) == 0:
        result.problems.append(
            Problem(name, "the file has a header but no data rows; expected at least one row",
                    code="empty")
        )
        return result
    police = all(c in frame.columns for c in POLICE_UK_COLUMNS)
    if police and schema.kind == "incidents":
        return _police_uk(frame, name, result)
    if police:
        result.problems.append(
            Problem(name, f"this is a police.uk crime file; expected a {schema.kind} file "
                    "(import it as --layer incidents)", code="wrong_layer")
        )
        return result
    cols = list(frame.columns)
    lat_c, lon_c = _find(cols, LAT_NAMES), _find(cols, LON_NAMES)
    e_c, n_c = _find(cols, EAST_NAMES), _find(cols, NORTH_NAMES)
    if lat_c and lon_c:
        x, y, ok, probs = _check_lonlat(frame[lon_c], frame[lat_c], name, lon_c, lat_c)
        crs = STORAGE_CRS
        used = {lat_c, lon_c}
    elif e_c and n_c:
        x, y, ok, probs = _check_en(frame[e_c], frame[n_c], name, e_c, n_c)
        crs = "EPSG:27700"
        used = {e_c, n_c}
    else:
        result.problems.append(
            Problem(name, f"no coordinate columns found among {cols}; expected Latitude and "
                    "Longitude (degrees) or Easting and Northing (British National Grid metres)",
                    column=None, code="missing_columns")
        )
        return result
    result.problems.extend(probs)
    frame = frame.drop(columns=list(used))
    geom = np.full(len(frame), None, dtype=object)
    geom[ok] = shapely.points(x[ok], y[ok])
    gdf = gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geom, crs=crs), crs=crs)
    return _finish_geo(gdf, result.problems, name, schema, total_rows=len(frame),
                       located_checked=True, extra=extra)


def _police_uk(frame: pd.DataFrame, name: str, result: LayerRead) -> LayerRead:
    """Read the police.uk street-level CSV exactly as published."""
    lon, lat, ok, probs = _check_lonlat(frame["Longitude"], frame["Latitude"], name,
                                        "Longitude", "Latitude")
    result.problems.extend(probs)
    month = frame["Month"].str.strip()
    bad_month = ~month.str.fullmatch(r"\d{4}-(0[1-9]|1[0-2])")
    for i in np.flatnonzero(bad_month.to_numpy()):
        result.problems.append(
            Problem(name, f"{frame['Month'].iloc[i]!r} is not a month; expected YYYY-MM",
                    row=int(i + 1), column="Month", code="bad_month")
        )
    category = frame["Crime type"].str.strip()
    for i in np.flatnonzero((category == "").to_numpy()):
        result.problems.append(
            Problem(name, "the crime type is empty; expected one of the police.uk categories",
                    row=int(i + 1), column="Crime type", code="missing_value")
        )
    crime_id = frame["Crime ID"].str.strip()
    generated = _stable_ids(
        frame, ["Month", "Longitude", "Latitude", "Location", "Crime type", "LSOA code"], "puk-"
    )
    ids = crime_id.where(crime_id != "", generated)
    dup = ids.duplicated(keep="first") & (crime_id != "")
    for i in np.flatnonzero(dup.to_numpy()):
        result.problems.append(
            Problem(name, f"Crime ID {crime_id.iloc[i][:16]}... repeats an earlier row; the "
                    "later row is kept with a suffixed id", row=int(i + 1), column="Crime ID",
                    severity="warning", code="duplicate_id")
        )
    ids = ids.where(~dup, ids + "-" + ids.groupby(ids).cumcount().astype(str))
    no_loc = ~ok & ~np.isin(np.arange(len(frame)) + 1, [p.row for p in probs])
    _warn_no_location(result, no_loc, name, "Longitude")
    reporter = frame["Reported by"].str.strip()
    out = pd.DataFrame(
        {
            "id": ids,
            "month": month,
            "date": None,
            "category": category,
            "location_precision": np.where(ok, PRECISION_SNAPPED, PRECISION_NONE),
            "location": frame["Location"],
            "lsoa_code": frame["LSOA code"].replace("", None),
            "outcome": frame["Last outcome category"].replace("", None),
            "source": "police.uk (" + reporter.where(reporter != "", "unknown force") + ")",
        }
    )
    geom = np.full(len(out), None, dtype=object)
    geom[ok] = shapely.points(lon[ok], lat[ok])
    gdf = gpd.GeoDataFrame(out, geometry=gpd.GeoSeries(geom, crs=STORAGE_CRS), crs=STORAGE_CRS)
    error_rows = {p.row for p in result.errors if p.row is not None}
    keep = ~np.isin(np.arange(1, len(gdf) + 1), list(error_rows))
    result.gdf = _conform(gdf[keep], schema_for("incidents"))
    return result


def _warn_no_location(result: LayerRead, mask: np.ndarray, name: str, column: str) -> None:
    n = int(mask.sum())
    if not n:
        return
    for i in np.flatnonzero(mask):
        result.problems.append(
            Problem(name, "no location: kept and counted, but not mapped and never counted in "
                    "spatial joins", row=int(i + 1), column=column, severity="warning",
                    code="no_location")
        )
    result.notes.append(f"{n} rows have no location: they are kept and counted, not mapped")


# --------------------------------------------------------------------------- GeoJSON / GPKG


def _read_geojson(text: str, name: str) -> tuple[gpd.GeoDataFrame | None, list[Problem]]:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        return None, [Problem(name, f"the GeoJSON is not valid JSON: {exc.msg} at line "
                              f"{exc.lineno}, column {exc.colno}; expected a GeoJSON "
                              "FeatureCollection", code="json")]
    if not isinstance(doc, dict) or doc.get("type") not in ("FeatureCollection", "Feature"):
        got = doc.get("type") if isinstance(doc, dict) else type(doc).__name__
        return None, [Problem(name, f"the JSON is a {got!r}, not GeoJSON; expected a "
                              "FeatureCollection", code="format")]
    features = doc["features"] if doc["type"] == "FeatureCollection" else [doc]
    if not isinstance(features, list) or not features:
        return None, [Problem(name, "the FeatureCollection has no features; expected at least "
                              "one", code="empty")]
    problems: list[Problem] = []
    geoms: list[object] = []
    props: list[dict] = []
    for i, feat in enumerate(features, start=1):
        if not isinstance(feat, dict):
            problems.append(Problem(name, f"feature is a {type(feat).__name__}; expected an "
                                    "object", row=i, code="format"))
            geoms.append(None)
            props.append({})
            continue
        p = dict(feat.get("properties") or {})
        if "id" not in p and feat.get("id") is not None:
            p["id"] = feat["id"]
        props.append(p)
        g = feat.get("geometry")
        if g is None:
            geoms.append(None)
            continue
        try:
            geoms.append(shapely.geometry.shape(g))
        except Exception as exc:
            problems.append(Problem(name, f"the geometry cannot be read ({exc}); expected a "
                                    "GeoJSON geometry", row=i, column="geometry",
                                    code="bad_geometry"))
            geoms.append(shapely.Point())  # marked bad above; becomes an empty geometry
    crs = STORAGE_CRS
    declared = (doc.get("crs") or {}).get("properties", {}).get("name") if isinstance(
        doc.get("crs"), dict) else None
    if declared and "CRS84" not in declared and "4326" not in declared:
        crs = declared
    frame = pd.DataFrame(props)
    gdf = gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, crs=crs), crs=crs)
    gdf.attrs["crs_declared"] = bool(declared)
    return gdf, problems


def _read_gpkg(raw: bytes, name: str, kind: str) -> tuple[gpd.GeoDataFrame | None, list[Problem]]:
    import tempfile

    import pyogrio

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "upload.gpkg"
        path.write_bytes(raw)
        try:
            layers = [str(row[0]) for row in pyogrio.list_layers(path)]
        except Exception as exc:
            return None, [Problem(name, f"the GeoPackage cannot be opened ({exc}); expected a "
                                  "valid GeoPackage", code="format")]
        if not layers:
            return None, [Problem(name, "the GeoPackage has no layers; expected one",
                                  code="empty")]
        layer = kind if kind in layers else layers[0]
        try:
            gdf = pyogrio.read_dataframe(path, layer=layer)
        except Exception as exc:
            return None, [Problem(name, f"layer {layer!r} cannot be read ({exc})",
                                  code="format")]
    problems: list[Problem] = []
    if len(layers) > 1 and kind not in layers:
        problems.append(Problem(name, f"the GeoPackage has layers {layers}; read {layer!r} "
                                f"(name a layer {kind!r} to choose)", severity="warning",
                                code="layer_choice"))
    if not isinstance(gdf, gpd.GeoDataFrame):
        return None, [Problem(name, f"layer {layer!r} has no geometry column; expected a "
                              "spatial layer", code="format")]
    gdf.attrs["crs_declared"] = gdf.crs is not None
    return gdf, problems


def _is_osm(frame: gpd.GeoDataFrame) -> bool:
    try:
        from ctxmap.layers.osm import is_osm_poi_frame
    except ImportError:  # pragma: no cover - osm rules module missing
        return False
    return bool(is_osm_poi_frame(frame))


def _read_osm_places(frame: gpd.GeoDataFrame, name: str) -> LayerRead:
    """Classify an OSM POI frame, keeping every row (``layer`` = ``other`` if no rule)."""
    from ctxmap.layers.osm import classify_tags

    tags = frame.drop(columns="geometry")
    records = tags.to_dict("records")
    classes = [classify_tags({k: v for k, v in r.items() if isinstance(v, str)}) for r in records]
    out = _osm_place_columns(frame)
    out["layer"] = [c[0] if c else "other" for c in classes]
    out["category"] = [
        c[1] if c else (r.get("amenity") or r.get("shop") or r.get("leisure") or None)
        for c, r in zip(classes, records, strict=True)
    ]
    result = _finish_geo(out, [], name, schema_for("safe_places"), extra=("layer",))
    result.kind = "places"
    return result


def _osm_place_columns(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    from ctxmap.layers.osm import OSM_SOURCE

    def col(key: str) -> pd.Series:
        if key in frame.columns:
            return frame[key].astype("object").where(frame[key].notna(), None)
        return pd.Series([None] * len(frame), index=frame.index, dtype="object")

    from ctxmap.layers.osm import osm_address

    tags = frame.drop(columns=frame.geometry.name).to_dict("records")
    address = [osm_address(t) for t in tags]
    out = gpd.GeoDataFrame(
        {
            "id": col("id").astype(str),
            "name": col("name"),
            "address": address,
            "opening_hours": col("opening_hours"),
            "source": OSM_SOURCE,
        },
        geometry=frame.geometry,
        crs=frame.crs,
    )
    return out


def _finish_geo(
    frame: gpd.GeoDataFrame | None,
    problems: list[Problem],
    name: str,
    schema: LayerSchema,
    *,
    total_rows: int | None = None,
    located_checked: bool = False,
    repair: bool = False,
    extra: tuple[str, ...] = (),
) -> LayerRead:
    """Validate a GeoDataFrame's columns and geometries; conform it to the schema."""
    result = LayerRead(name, schema.kind, empty_layer(schema.kind), problems=list(problems))
    if frame is None:
        return result
    result.total_rows = total_rows if total_rows is not None else len(frame)
    if schema.kind in ("youth_centres", "safe_places") and not extra and _is_osm(frame):
        from ctxmap.layers.osm import osm_to_layers

        layers = osm_to_layers(frame)
        kept = layers[schema.kind]
        result.notes.append(
            f"OpenStreetMap file: {len(kept)} of {len(frame)} features are {schema.kind} by "
            "the tag rules in docs/osm-classification.md; the rest are not imported as "
            f"{schema.kind}"
        )
        result.total_rows = len(kept)
        frame = kept.reset_index(drop=True)
    if schema.kind == "areas" and not any(_norm(c) == "level" for c in frame.columns):
        frame["level"] = _area_level(list(frame.columns))
    frame = _apply_aliases(frame, schema)
    missing = [c for c in schema.required_columns if c not in frame.columns]
    if "id" in missing and schema.kind != "areas":
        frame["id"] = _stable_ids(frame.drop(columns="geometry").astype("string")
                                  .assign(_wkt=frame.geometry.to_wkt()),
                                  [*[c for c in frame.columns if c != "geometry"], "_wkt"],
                                  f"{schema.kind[:4]}-")
        missing.remove("id")
        result.notes.append("the file has no id column: stable ids were made from each row")
    if missing:
        result.problems.append(
            Problem(name, f"missing required column(s) {missing}; found {list(frame.columns)}; "
                    f"expected {schema.required_columns} (or an accepted spelling)",
                    code="missing_columns")
        )
        return result
    if frame.crs is None:
        result.problems.append(
            Problem(name, "the layer has no CRS; expected one (GeoJSON is WGS84 lon/lat by "
                    "definition; a GeoPackage layer must declare its CRS)", code="crs")
        )
        return result
    geom = frame.geometry
    n = len(frame)
    present = ~shapely.is_missing(geom.to_numpy())
    error = np.zeros(n, dtype=bool)
    bad_rows = {p.row for p in problems if p.row is not None and p.severity == "error"}
    if bad_rows:
        error[np.array(sorted(bad_rows)) - 1] = True
    arr = geom.to_numpy()
    empty = present & shapely.is_empty(np.where(present, arr, shapely.Point()))
    for i in np.flatnonzero(empty & ~error):
        result.problems.append(Problem(name, "the geometry is empty; expected a "
                                       f"{' or '.join(schema.geometry_types)}", row=int(i + 1),
                                       column="geometry", code="empty_geometry"))
    error |= empty
    live = present & ~error
    types = np.array(shapely.get_type_id(np.where(live, arr, None)))
    names = np.array(["Point", "LineString", "LinearRing", "Polygon", "MultiPoint",
                      "MultiLineString", "MultiPolygon", "GeometryCollection"])
    wrong = live & ~np.isin(np.where(types >= 0, names[np.clip(types, 0, 7)], ""),
                            schema.geometry_types)
    for i in np.flatnonzero(wrong):
        result.problems.append(Problem(name, f"geometry is a {names[types[i]]}; expected "
                                       f"{' or '.join(schema.geometry_types)}", row=int(i + 1),
                                       column="geometry", code="geometry_type"))
    error |= wrong
    live = present & ~error
    invalid = live & ~shapely.is_valid(np.where(live, arr, shapely.Point(0, 0)))
    for i in np.flatnonzero(invalid):
        reason = shapely.is_valid_reason(arr[i])
        if repair:
            result.problems.append(Problem(name, f"invalid geometry ({reason}) was repaired "
                                           "with make_valid", row=int(i + 1), column="geometry",
                                           severity="warning", code="repaired_geometry"))
            continue
        result.problems.append(Problem(name, f"invalid geometry ({reason}); expected a valid "
                                       "geometry (repair it with --repair-geometries, or "
                                       "make_valid in QGIS/GeoPandas)",
                                       row=int(i + 1), column="geometry",
                                       code="invalid_geometry"))
    if repair and invalid.any():
        fixed = frame.geometry.copy()
        fixed.iloc[np.flatnonzero(invalid)] = shapely.make_valid(
            arr[invalid], method="structure", keep_collapsed=False
        )
        frame = frame.set_geometry(fixed)
    else:
        error |= invalid
    live = present & ~error
    if not located_checked and live.any():
        error |= _check_geo_coordinates(frame, live, name, result)
    no_loc = ~present & ~error
    if no_loc.any():
        if schema.geometry_required:
            for i in np.flatnonzero(no_loc):
                sev = "error" if schema.kind == "areas" else "warning"
                result.problems.append(Problem(
                    name, "no geometry: " + ("expected a boundary polygon" if sev == "error"
                                             else "kept and counted, but not mapped"),
                    row=int(i + 1), column="geometry", severity=sev, code="no_location"))
            if schema.kind == "areas":
                error |= no_loc
            else:
                result.notes.append(f"{int(no_loc.sum())} rows have no location: kept and "
                                    "counted, not mapped")
        else:
            _warn_no_location(result, no_loc, name, "geometry")
    keep = ~error
    out = frame[keep]
    if out.crs is not None and not out.crs.equals(STORAGE_CRS) and len(out):
        out = out.to_crs(STORAGE_CRS)
    result.gdf = _conform(out, schema, extra=extra)
    return result


def _check_geo_coordinates(
    frame: gpd.GeoDataFrame, live: np.ndarray, name: str, result: LayerRead
) -> np.ndarray:
    """Check coordinates of geometries against their CRS (metres in a degrees CRS etc.)."""
    error = np.zeros(len(frame), dtype=bool)
    if not frame.crs.is_geographic:
        return error
    bounds = shapely.bounds(frame.geometry.to_numpy()[live])
    idx = np.flatnonzero(live)
    x0, y0, x1, y1 = bounds.T
    metres = (np.abs(bounds) > 1000).any(axis=1)
    outside = ~metres & ((np.abs(y0) > 90) | (np.abs(y1) > 90) | (np.abs(x0) > 180)
                         | (np.abs(x1) > 180))
    for j in np.flatnonzero(metres):
        result.problems.append(Problem(
            name, f"coordinates ({x0[j]:.0f}, {y0[j]:.0f}) look like metres (e.g. British "
            f"National Grid) but the layer's CRS is {frame.crs.to_string()} in degrees; "
            "expected lon/lat degrees, or declare the real CRS (e.g. EPSG:27700)",
            row=int(idx[j] + 1), column="geometry", code="wrong_crs"))
    for j in np.flatnonzero(outside):
        swapped = abs(y0[j]) <= 180 and abs(x0[j]) <= 90
        msg = (f"coordinates ({x0[j]}, {y0[j]}) are outside lon -180..180 / lat -90..90"
               + ("; longitude and latitude look swapped (GeoJSON order is lon, lat)"
                  if swapped else ""))
        result.problems.append(Problem(name, msg, row=int(idx[j] + 1), column="geometry",
                                       code="swapped_latlon" if swapped else "out_of_range"))
    bad = metres | outside
    error[idx[bad]] = True
    # GB files with swapped axes (lat, lon order): most points fall in the sea off Somalia.
    ok = ~bad
    if ok.any():
        cx, cy = (x0[ok] + x1[ok]) / 2, (y0[ok] + y1[ok]) / 2
        in_gb = _within(cx, cy, GB_LONLAT)
        swapped = ~in_gb & _within(cy, cx, GB_LONLAT)
        if (in_gb | swapped).mean() >= 0.5:
            for j in np.flatnonzero(swapped):
                row = int(idx[ok][j] + 1)
                result.problems.append(Problem(
                    name, f"point ({cx[j]:.5f}, {cy[j]:.5f}) looks like (latitude, longitude) "
                    "swapped: GeoJSON order is (longitude, latitude) and the rest of the file "
                    "is in Great Britain", row=row, column="geometry", code="swapped_latlon"))
                error[row - 1] = True
    return error


def _area_level(columns: list[str]) -> str:
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


def _conform(
    gdf: gpd.GeoDataFrame, schema: LayerSchema, extra: tuple[str, ...] = ()
) -> gpd.GeoDataFrame:
    """Keep the canonical columns (adding missing optional ones) and ``extra``, typed."""
    gdf = gdf.reset_index(drop=True)
    data: dict[str, pd.Series] = {}
    for c in schema.columns:
        s = gdf[c.name] if c.name in gdf.columns else pd.Series([None] * len(gdf), dtype=object)
        if c.dtype == "str":
            strip = c.name in ("id", "month", "category", "level")
            s = pd.Series([_clean_text(v, strip) for v in s], dtype="object")
        elif c.dtype == "float":
            s = pd.to_numeric(s, errors="coerce").astype("float64")
        elif c.dtype == "int":
            s = pd.to_numeric(s, errors="coerce").astype("Int64")
        elif c.dtype == "bool":
            s = s.map(_to_bool).astype("boolean")
        data[c.name] = s.reset_index(drop=True)
    for name in extra:
        if name in gdf.columns:
            data[name] = pd.Series([_clean_text(v, True) for v in gdf[name]], dtype="object")
    out = gpd.GeoDataFrame(data, geometry=gdf.geometry.reset_index(drop=True), crs=gdf.crs)
    if schema.kind == "homes":
        out["fictional"] = out["fictional"].fillna(False)
    return out


def _clean_text(v: object, strip: bool) -> str | None:
    """Return a text value as ``str``, or None for missing/blank values."""
    if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
        return None
    text = v if isinstance(v, str) else str(v)
    if not text.strip():
        return None
    return text.strip() if strip else text


def _to_bool(v: object) -> bool | None:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return None
    if isinstance(v, bool | np.bool_):
        return bool(v)
    s = str(v).strip().lower()
    if s in ("true", "yes", "y", "1", "t"):
        return True
    if s in ("false", "no", "n", "0", "f", ""):
        return False if s else None
    return None


def layer_kind(kind: str) -> LayerKind:
    """Validate a layer kind from the command line (:func:`~ctxmap.layers.schemas.schema_for`)."""
    return schema_for(kind).kind
