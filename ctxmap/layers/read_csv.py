"""Read CSV layer files: police.uk street-level crime, lat/lon or easting/northing columns.

Rows are numbered from 1 after the header (row 1 is line 2 of the file).
"""

from __future__ import annotations

import csv
import io
from typing import Final

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ctxmap.errors import Problem
from ctxmap.layers.conform import (
    conform,
    duplicate_columns,
    empty_layer,
    find_column,
    stable_ids,
)
from ctxmap.layers.coordinates import check_en, check_lonlat
from ctxmap.layers.read_geo import finish_geo
from ctxmap.layers.read_result import LayerRead, warn_no_location
from ctxmap.layers.schemas import (
    POLICE_UK_COLUMNS,
    PRECISION_NONE,
    PRECISION_SNAPPED,
    STORAGE_CRS,
    LayerSchema,
    schema_for,
)

LAT_NAMES: Final = ("latitude", "lat", "lat_wgs84", "y_lat", "wgs84_lat")
LON_NAMES: Final = ("longitude", "lon", "lng", "long", "lon_wgs84", "x_lon", "wgs84_lon")
EAST_NAMES: Final = ("easting", "eastings", "east", "bng_easting", "x_bng", "os_x", "x")
NORTH_NAMES: Final = ("northing", "northings", "north", "bng_northing", "y_bng", "os_y", "y")


def read_csv(
    data: str | bytes, name: str, schema: LayerSchema, extra: tuple[str, ...] = ()
) -> LayerRead:
    """Read CSV as ``schema``'s layer: police.uk street-level, lat/lon or easting/northing.

    ``data`` is the file's UTF-8 bytes (or its text). The coordinate columns are found by
    name (:data:`LAT_NAMES` ... :data:`NORTH_NAMES`); police.uk files are recognised by
    their published header and read as incidents only. Every check is vectorised: a
    million-row file reads in seconds (``benchmarks/read_bench.py``).
    """
    result = LayerRead(name, schema.kind, empty_layer(schema.kind))
    raw = data.encode("utf-8") if isinstance(data, str) else data
    end = raw.find(b"\n")
    first_line = (raw if end < 0 else raw[:end]).decode("utf-8-sig", errors="replace")
    header = next(csv.reader(io.StringIO(first_line)), [])
    doubled = duplicate_columns(header)
    if doubled:
        result.problems.append(
            Problem(name, f"duplicate column names: {doubled}; expected each column once "
                    "(rename or remove the copies; nothing is dropped silently)", row=0,
                    code="duplicate_columns"))
        return result
    try:
        frame = read_text_frame(raw)
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
    lat_c, lon_c = find_column(cols, LAT_NAMES), find_column(cols, LON_NAMES)
    e_c, n_c = find_column(cols, EAST_NAMES), find_column(cols, NORTH_NAMES)
    if lat_c and lon_c:
        x, y, ok, probs = check_lonlat(frame[lon_c], frame[lat_c], name, lon_c, lat_c)
        crs = STORAGE_CRS
        used = {lat_c, lon_c}
    elif e_c and n_c:
        x, y, ok, probs = check_en(frame[e_c], frame[n_c], name, e_c, n_c)
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
    return finish_geo(gdf, result.problems, name, schema, total_rows=len(frame),
                       located_checked=True, extra=extra)


def read_text_frame(data: bytes) -> pd.DataFrame:
    """Parse CSV bytes into a frame of text cells (empty cells are ``""``, never NaN).

    pyarrow's multi-threaded reader does the work; a file it refuses (rows with more or
    fewer fields than the header) goes to pandas' own parser, which reads short rows as
    before and raises :class:`pandas.errors.ParserError` naming the line for long ones.
    """
    data = data.removeprefix(b"\xef\xbb\xbf")
    try:
        return pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False, engine="pyarrow")
    except ValueError:  # pyarrow's ArrowInvalid and pandas' ParserError both are
        return pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)


def _police_uk(frame: pd.DataFrame, name: str, result: LayerRead) -> LayerRead:
    """Read the police.uk street-level CSV exactly as published."""
    lon, lat, ok, probs = check_lonlat(frame["Longitude"], frame["Latitude"], name,
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
    generated = stable_ids(
        frame, ["Month", "Longitude", "Latitude", "Location", "Crime type", "LSOA code"], "puk-",
        only=(crime_id == "").to_numpy(),
    )
    ids = crime_id.where(crime_id != "", generated)
    dup = ids.duplicated(keep="first") & (crime_id != "")
    for i in np.flatnonzero(dup.to_numpy()):
        result.problems.append(
            Problem(name, f"Crime ID {crime_id.iloc[i][:16]}... repeats an earlier row; the "
                    "later row is kept with a suffixed id", row=int(i + 1), column="Crime ID",
                    severity="warning", code="duplicate_id")
        )
    if dup.any():
        ids = ids.where(~dup, ids + "-" + ids.groupby(ids).cumcount().astype(str))
    no_loc = ~ok & ~np.isin(np.arange(len(frame)) + 1, [p.row for p in probs if p.row is not None])
    warn_no_location(result, no_loc, name, "Longitude")
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
    if error_rows:
        gdf = gdf[~np.isin(np.arange(1, len(gdf) + 1), list(error_rows))]
    result.gdf = conform(gdf, schema_for("incidents"))
    return result
