"""The column-wise police.uk reader gives exactly what the row-by-row reading gave.

``reference_police_uk`` is the reader as it was before it went column by column
(pandas, one vectorised step per rule, then :func:`conform`); existing stores hold
what it made. Both are run on the real Norwich sample and on a dirty file with every
kind of fault a police.uk download can have, and must agree cell for cell, on every
problem and on the geometry.
"""

from __future__ import annotations

import io
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from ctxmap.errors import Problem
from ctxmap.layers.conform import conform, empty_layer, first_rows, stable_ids
from ctxmap.layers.coordinates import _to_float, check_lonlat, parse_numbers_by_value
from ctxmap.layers.read_result import LayerRead, warn_no_location
from ctxmap.layers.readers import read_layer_bytes
from ctxmap.layers.schemas import (
    POLICE_UK_COLUMNS,
    PRECISION_NONE,
    PRECISION_SNAPPED,
    STORAGE_CRS,
    schema_for,
)

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "source" / "crime" / "norwich_street_2018-10_to_2019-02.csv"


def reference_police_uk(frame: pd.DataFrame, name: str) -> LayerRead:
    """The police.uk reader before it went column by column (kept as the reference)."""
    result = LayerRead(name, "incidents", empty_layer("incidents"))
    result.total_rows = len(frame)
    lon, lat, ok, probs = check_lonlat(frame["Longitude"], frame["Latitude"], name,
                                        "Longitude", "Latitude")
    result.problems.extend(probs)
    month = frame["Month"].str.strip()
    for i in np.flatnonzero((~month.str.fullmatch(r"\d{4}-(0[1-9]|1[0-2])")).to_numpy()):
        result.problems.append(
            Problem(name, f"{frame['Month'].iloc[i]!r} is not a month; expected YYYY-MM",
                    row=int(i + 1), column="Month", code="bad_month"))
    category = frame["Crime type"].str.strip()
    for i in np.flatnonzero((category == "").to_numpy()):
        result.problems.append(
            Problem(name, "the crime type is empty; expected one of the police.uk categories",
                    row=int(i + 1), column="Crime type", code="missing_value"))
    crime_id = frame["Crime ID"].str.strip()
    generated = stable_ids(frame, ["Month", "Longitude", "Latitude", "Location", "Crime type",
                                   "LSOA code"], "puk-", only=(crime_id == "").to_numpy())
    ids = crime_id.where(crime_id != "", generated)
    dup = ids.duplicated(keep="first") & (crime_id != "")
    for i in np.flatnonzero(dup.to_numpy()):
        result.problems.append(
            Problem(name, f"Crime ID {crime_id.iloc[i][:16]}... repeats an earlier row; the "
                    "later row is kept with a suffixed id", row=int(i + 1), column="Crime ID",
                    severity="warning", code="duplicate_id"))
    if dup.any():
        ids = ids.where(~dup, ids + "-" + ids.groupby(ids).cumcount().astype(str))
    no_loc = ~ok & ~np.isin(np.arange(len(frame)) + 1, [p.row for p in probs if p.row is not None])
    warn_no_location(result, no_loc, name, "Longitude")
    reporter = frame["Reported by"].str.strip()
    out = pd.DataFrame({
        "id": ids, "month": month, "date": None, "category": category,
        "location_precision": np.where(ok, PRECISION_SNAPPED, PRECISION_NONE),
        "location": frame["Location"], "lsoa_code": frame["LSOA code"].replace("", None),
        "outcome": frame["Last outcome category"].replace("", None),
        "source": "police.uk (" + reporter.where(reporter != "", "unknown force") + ")"})
    geom = np.full(len(out), None, dtype=object)
    geom[ok] = shapely.points(lon[ok], lat[ok])
    gdf = gpd.GeoDataFrame(out, geometry=gpd.GeoSeries(geom, crs=STORAGE_CRS), crs=STORAGE_CRS)
    error_rows = {p.row for p in result.errors if p.row is not None}
    if error_rows:
        gdf = gdf[~np.isin(np.arange(1, len(gdf) + 1), list(error_rows))]
    result.gdf = conform(gdf, schema_for("incidents"))
    return result


def assert_same_read(got: LayerRead, want: LayerRead) -> None:
    pd.testing.assert_frame_equal(pd.DataFrame(got.gdf.drop(columns="geometry")),
                                  pd.DataFrame(want.gdf.drop(columns="geometry")))
    assert [None if g is None else g.wkb for g in got.gdf.geometry.array] == [
        None if g is None else g.wkb for g in want.gdf.geometry.array]
    assert str(got.gdf.crs) == str(want.gdf.crs)
    assert [(p.row, p.column, p.code, p.severity, p.message) for p in got.problems] == [
        (p.row, p.column, p.code, p.severity, p.message) for p in want.problems]
    assert got.notes == want.notes and got.total_rows == want.total_rows


HEADER = ",".join(POLICE_UK_COLUMNS)
ROWS = [  # Crime ID, Month, Reported by, Falls within, Lon, Lat, Location, LSOA code, LSOA name,
          # Crime type, Last outcome category, Context
    "a1,2019-01,Norfolk Constabulary,Norfolk Constabulary,1.29,52.63,On or near A Street,"
    "E01026789,Norwich 011A,Drugs,Under investigation,",
    " a1 ,2019-01,Norfolk Constabulary,Norfolk Constabulary,1.29,52.63,On or near A Street,"
    "E01026789,Norwich 011A,Drugs,Under investigation,",  # a repeated id (padded)
    "a1,2019-02,Norfolk Constabulary,Norfolk Constabulary,1.30,52.64,On or near B Road,,,"
    "Robbery,,",  # and again
    ",2019-01,Norfolk Constabulary,Norfolk Constabulary,1.29,52.63,On or near A Street,"
    "E01026789,Norwich 011A,Anti-social behaviour,,",
    ",2019-01,Norfolk Constabulary,Norfolk Constabulary,1.29,52.63,On or near A Street,"
    "E01026789,Norwich 011A,Anti-social behaviour,,",  # the same again: a different id
    ",2019-01,,,1.29,52.63,x|Drugs,,,y,,",  # its id text joins like the next row's
    ",2019-01,,,1.29,52.63,x,,,Drugs|y,,",
    "b2, 2019-03 ,,,,,No location,,,Burglary,   ,",  # no location, padded month
    "b3,2019-13,Norfolk Constabulary,,1.29,52.63,x,,,Drugs,,",  # bad month
    "b4,2019-01,Norfolk Constabulary,,1.29,52.63,x,,,  ,,",  # empty crime type
    "b5,2019-01,Norfolk Constabulary,,east,52.63,x,,,Drugs,,",  # not a number
    "b6,2019-01,Norfolk Constabulary,,1.29,,x,,,Drugs,,",  # half a location
    "b7,2019-01,Norfolk Constabulary,,0,0,x,,,Drugs,,",  # null island
    "b8,2019-01,Norfolk Constabulary,,52.63,1.29,x,,,Drugs,,",  # swapped
    "b9,2019-01,Norfolk Constabulary,,-0.0,52.63,x,,,Drugs,,",  # signed zero longitude
    "b10,2019-01,Norfolk Constabulary,,0.0,52.63,x,,,Drugs,,",
    "b11,2019-01,  ,,1.31,52.62,\"On or near Park, the\",   ,,Other theft,,",
]


def dirty_file(bom: bool = False, crlf: bool = False) -> bytes:
    text = (("\r\n" if crlf else "\n").join([HEADER, *ROWS])) + "\n"
    return (b"\xef\xbb\xbf" if bom else b"") + text.encode()


def reference(raw: bytes, name: str) -> LayerRead:
    frame = pd.read_csv(io.BytesIO(raw.removeprefix(b"\xef\xbb\xbf")), dtype=str,
                        keep_default_na=False)
    frame.columns = [c.strip() for c in frame.columns]
    return reference_police_uk(frame, name)


@pytest.mark.parametrize(("bom", "crlf"), [(False, False), (True, True)])
def test_a_dirty_file_reads_as_the_row_by_row_reader_read_it(bom: bool, crlf: bool) -> None:
    raw = dirty_file(bom, crlf)
    got = read_layer_bytes(raw, "incidents", name="dirty.csv", suffix=".csv")
    assert_same_read(got, reference(raw, "dirty.csv"))
    codes = {p.code for p in got.problems}
    assert {"duplicate_id", "bad_month", "missing_value", "not_a_number", "half_location",
            "null_island", "swapped_latlon", "no_location"} <= codes
    ids = got.gdf["id"].tolist()
    assert ids[:3] == ["a1", "a1-1", "a1-2"] and len(set(ids)) == len(ids)
    # the two rows whose cells join alike ("x|Drugs", "y" / "x", "Drugs|y") count as a
    # repeat, as the joined text they are hashed from is the same
    assert ids[5] != ids[6]
    assert stable_ids(pd.DataFrame({"a": ["x|Drugs", "x"], "b": ["y", "Drugs|y"]}), ["a", "b"],
                      "p-").tolist() == stable_ids(pd.DataFrame({"a": ["x|Drugs|y"] * 2}),
                                                   ["a"], "p-").tolist()


def test_a_file_arrow_refuses_takes_the_same_path_with_the_same_result() -> None:
    raw = dirty_file() + b"c1,2019-01,short row\n"  # too few fields: pandas pads it
    got = read_layer_bytes(raw, "incidents", name="short.csv", suffix=".csv")
    assert_same_read(got, reference(raw, "short.csv"))
    assert got.total_rows == len(ROWS) + 1


def test_the_real_sample_reads_as_before() -> None:
    raw = SAMPLE.read_bytes()
    got = read_layer_bytes(raw, "incidents", name=SAMPLE.name, suffix=".csv")
    assert_same_read(got, reference(raw, SAMPLE.name))
    assert len(got.gdf) > 4000


def test_a_header_only_file_is_empty_not_a_crash() -> None:
    got = read_layer_bytes((HEADER + "\n").encode(), "incidents", name="h.csv", suffix=".csv")
    assert [p.code for p in got.problems] == ["empty"] and len(got.gdf) == 0


def test_rows_with_the_same_location_share_one_point_object_of_that_location() -> None:
    got = read_layer_bytes(dirty_file(), "incidents", name="d.csv", suffix=".csv").gdf
    same = got.geometry.array[got["location"].eq("On or near A Street").to_numpy()]
    assert len(same) == 4 and len({id(g) for g in same}) == 1
    assert shapely.get_coordinates(same[0]).tolist() == [[1.29, 52.63]]
    signed = got.set_index("id").geometry
    assert np.signbit(signed["b9"].x) and not np.signbit(signed["b10"].x)


def test_first_rows_is_where_each_code_first_appears() -> None:
    values = np.random.default_rng(3).integers(0, 300, 20_000)
    codes, _ = pd.factorize(values)
    expected = np.unique(codes, return_index=True)[1]
    assert first_rows(codes).tolist() == expected.tolist()
    assert first_rows(np.array([], dtype=np.int64)).tolist() == []


def test_parsing_each_distinct_value_once_gives_the_row_by_row_numbers() -> None:
    rows = pd.Series(["1.29", " 1.29", "", "east", "1.29", "1e400", "-0.5", ""], dtype=object)
    codes, distinct = pd.factorize(rows)
    got = parse_numbers_by_value(pd.Series(distinct, dtype=object), codes)
    want = _to_float(rows)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_array_equal(g, w)
