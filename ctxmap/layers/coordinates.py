"""Coordinate checks: degrees or metres, swapped axes, outside Great Britain, null island.

Each check finds every bad row at once (vectorised) and returns one
:class:`~ctxmap.errors.Problem` per row, naming what arrived and what was expected.
"""

from __future__ import annotations

from typing import Final

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import shapely

from ctxmap.errors import Problem
from ctxmap.layers.conform import arrow_text

#: Great Britain in lon/lat, with a small margin: (min lon, min lat, max lon, max lat).
GB_LONLAT: Final = (-8.8, 49.8, 2.1, 60.95)
#: British National Grid extent in metres: (min E, min N, max E, max N).
BNG_EXTENT: Final = (0.0, 0.0, 700_000.0, 1_300_000.0)


def _to_float(values: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (floats, is_blank, is_bad_number) for a column of strings.

    Arrow parses the column in one pass; a column with any cell Arrow cannot read as a
    number goes through :func:`pandas.to_numeric`, which marks just those cells.
    """
    text = pc.utf8_trim_whitespace(arrow_text(values))
    blank_a = pc.fill_null(pc.equal(text, ""), True)
    blank = np.asarray(blank_a.combine_chunks(), dtype=bool)
    present = pc.if_else(blank_a, pa.scalar(None, pa.string()), text)
    try:
        nums = np.asarray(present.cast(pa.float64()).combine_chunks().to_numpy(
            zero_copy_only=False), dtype="float64")
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        nums = pd.to_numeric(pd.Series(present.to_pandas()), errors="coerce").to_numpy(
            dtype="float64")
    bad = ~blank & ~np.isfinite(nums)
    return nums, blank, bad


def check_lonlat(
    lon_s: pd.Series, lat_s: pd.Series, name: str, lon_col: str, lat_col: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[Problem]]:
    """Validate lon/lat columns row by row (vectorised); return (lon, lat, ok, problems).

    ``ok`` is True for rows with a usable location; rows with no location are neither
    ok nor errors (they are counted as unmapped).
    """
    return check_lonlat_numbers(_to_float(lon_s), _to_float(lat_s), lon_s, lat_s, name,
                                lon_col, lat_col)


def parse_numbers_by_value(
    values: pd.Series, codes: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_to_float` of a dictionary-encoded column: each distinct text parsed once.

    ``values`` holds the distinct texts and ``codes`` each row's index into them.
    """
    numbers, blank, bad = _to_float(values)
    return numbers[codes], blank[codes], bad[codes]


def check_lonlat_numbers(
    lon_parsed: tuple[np.ndarray, np.ndarray, np.ndarray],
    lat_parsed: tuple[np.ndarray, np.ndarray, np.ndarray],
    lon_s: pd.Series,
    lat_s: pd.Series,
    name: str,
    lon_col: str,
    lat_col: str,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[Problem]]:
    """:func:`check_lonlat` on columns already parsed as (numbers, is_blank, is_bad_number).

    ``lon_s`` and ``lat_s`` are the cells as read, quoted in messages.
    """
    lon, lon_blank, lon_bad = lon_parsed
    lat, lat_blank, lat_bad = lat_parsed
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
        in_gb = both & within(lon, lat, GB_LONLAT)
        swapped_gb = both & ~in_gb & within(lat, lon, GB_LONLAT)
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


def within(x: np.ndarray, y: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    """True where the point (x, y) lies in ``box`` = (x0, y0, x1, y1), edges included."""
    x0, y0, x1, y1 = box
    with np.errstate(invalid="ignore"):
        return (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)


def check_en(
    e_s: pd.Series, n_s: pd.Series, name: str, e_col: str, n_col: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[Problem]]:
    """Validate British National Grid easting/northing columns; like :func:`check_lonlat`."""
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
        outside = both & ~within(e, n, BNG_EXTENT)
        add(outside, e_col, "out_of_range",
            lambda i: f"easting {e_s.iloc[i]} / northing {n_s.iloc[i]} is outside the British "
            "National Grid; expected easting 0..700000 and northing 0..1300000 metres")
    return e, n, both & ~error, problems


def check_geo_coordinates(
    frame: gpd.GeoDataFrame, live: np.ndarray, name: str, problems: list[Problem]
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
        problems.append(Problem(
            name, f"coordinates ({x0[j]:.0f}, {y0[j]:.0f}) look like metres (e.g. British "
            f"National Grid) but the layer's CRS is {frame.crs.to_string()} in degrees; "
            "expected lon/lat degrees, or declare the real CRS (e.g. EPSG:27700)",
            row=int(idx[j] + 1), column="geometry", code="wrong_crs"))
    for j in np.flatnonzero(outside):
        swapped = abs(y0[j]) <= 180 and abs(x0[j]) <= 90
        msg = (f"coordinates ({x0[j]}, {y0[j]}) are outside lon -180..180 / lat -90..90"
               + ("; longitude and latitude look swapped (GeoJSON order is lon, lat)"
                  if swapped else ""))
        problems.append(Problem(name, msg, row=int(idx[j] + 1), column="geometry",
                                       code="swapped_latlon" if swapped else "out_of_range"))
    bad = metres | outside
    error[idx[bad]] = True
    # GB files with swapped axes (lat, lon order): most points fall in the sea off Somalia.
    ok = ~bad
    if ok.any():
        cx, cy = (x0[ok] + x1[ok]) / 2, (y0[ok] + y1[ok]) / 2
        in_gb = within(cx, cy, GB_LONLAT)
        swapped = ~in_gb & within(cy, cx, GB_LONLAT)
        if (in_gb | swapped).mean() >= 0.5:
            for j in np.flatnonzero(swapped):
                row = int(idx[ok][j] + 1)
                problems.append(Problem(
                    name, f"point ({cx[j]:.5f}, {cy[j]:.5f}) looks like (latitude, longitude) "
                    "swapped: GeoJSON order is (longitude, latitude) and the rest of the file "
                    "is in Great Britain", row=row, column="geometry", code="swapped_latlon"))
                error[row - 1] = True
    return error
