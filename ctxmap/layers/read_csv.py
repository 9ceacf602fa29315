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
from ctxmap.layers.conform import duplicate_columns, empty_layer, find_column
from ctxmap.layers.coordinates import check_en, check_lonlat
from ctxmap.layers.police_uk import (
    USED_COLUMNS,
    parse_text_table,
    read_police_uk,
    table_from_frame,
)
from ctxmap.layers.read_geo import finish_geo
from ctxmap.layers.read_result import LayerRead
from ctxmap.layers.schemas import (
    POLICE_UK_COLUMNS,
    STORAGE_CRS,
    LayerSchema,
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
    police = all(c in [str(h).strip() for h in header] for c in POLICE_UK_COLUMNS)
    table = (parse_text_table(raw, header, USED_COLUMNS)
             if police and schema.kind == "incidents" else None)
    try:
        frame = pd.DataFrame() if table is not None else read_text_frame(raw)
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
    result.total_rows = len(frame) if table is None else table.num_rows
    if result.total_rows == 0:
        result.problems.append(
            Problem(name, "the file has a header but no data rows; expected at least one row",
                    code="empty")
        )
        return result
    police = all(c in frame.columns for c in POLICE_UK_COLUMNS) or table is not None
    if police and schema.kind == "incidents":
        return read_police_uk(table if table is not None else table_from_frame(frame), name,
                              result)
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
