"""The vectorised read path gives what the row-by-row one gave: same ids, same cells.

Existing stores hold ids made by the row-wise definition (``"|".join`` per row, then
SHA-1), so the vectorised one is compared against it on the real police.uk sample.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point

from ctxmap.layers.conform import occurrences, stable_ids, text_or_none
from ctxmap.layers.coordinates import check_lonlat
from ctxmap.layers.read_csv import read_text_frame
from ctxmap.layers.readers import read_layer, read_layer_bytes

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "source" / "crime" / "norwich_street_2018-10_to_2019-02.csv"
PUK_KEY = ["Month", "Longitude", "Latitude", "Location", "Crime type", "LSOA code"]


def old_stable_ids(frame: pd.DataFrame, cols: list[str], prefix: str) -> pd.Series:
    """The definition ids were made with before the read path was vectorised."""
    key = frame[cols].astype("string").fillna("").agg("|".join, axis=1)
    occurrence = key.groupby(key).cumcount().astype(str)
    full = key + "#" + occurrence
    return full.map(lambda s: prefix + hashlib.sha1(s.encode()).hexdigest()[:16])


def old_text_or_none(v: object, strip: bool) -> str | None:
    if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
        return None
    text = v if isinstance(v, str) else str(v)
    if not text.strip():
        return None
    return text.strip() if strip else text


@pytest.fixture(scope="module")
def sample() -> pd.DataFrame:
    return pd.read_csv(SAMPLE, dtype=str, keep_default_na=False)


def test_the_arrow_reader_reads_the_same_cells_as_pandas(sample: pd.DataFrame) -> None:
    frame = read_text_frame(SAMPLE.read_bytes())
    pd.testing.assert_frame_equal(frame.astype(object), sample.astype(object))


def test_police_uk_ids_are_the_ones_existing_stores_hold(sample: pd.DataFrame) -> None:
    blank = sample["Crime ID"].str.strip() == ""
    assert blank.sum() > 500 and (~blank).sum() > 500  # both kinds of row are in the sample
    expected = old_stable_ids(sample, PUK_KEY, "puk-")
    new = stable_ids(sample, PUK_KEY, "puk-")
    assert new.tolist() == expected.tolist()
    only = stable_ids(sample, PUK_KEY, "puk-", only=blank.to_numpy())
    assert only[blank].tolist() == expected[blank].tolist()
    assert only[~blank].isna().all()
    # and end to end: the reader keeps published ids and makes the others as before
    read = read_layer(SAMPLE, "incidents")
    assert len(read.gdf) == len(sample)
    want = sample["Crime ID"].str.strip().where(~blank, expected)
    assert read.gdf["id"].tolist() == want.tolist()


def test_repeated_rows_get_their_occurrence_like_before() -> None:
    frame = pd.DataFrame({"a": ["x", "x", "y", None, "x", ""], "b": ["1", "1", "2", "", "1", None]})
    assert stable_ids(frame, ["a", "b"], "p-").tolist() == old_stable_ids(
        frame, ["a", "b"], "p-").tolist()
    assert stable_ids(frame, ["a"], "p-").tolist() == old_stable_ids(frame, ["a"], "p-").tolist()
    # hashing only some rows: repeats before them still count, whether wanted or not
    only = np.array([False, True, False, False, True, False])
    expected = [i if w else None
                for i, w in zip(old_stable_ids(frame, ["a", "b"], "p-"), only, strict=True)]
    assert stable_ids(frame, ["a", "b"], "p-", only=only).tolist() == expected
    none = stable_ids(frame, ["a", "b"], "p-", only=np.zeros(6, dtype=bool))
    assert none.isna().all()
    # cells holding the separator: different cells whose joined text is equal repeat
    joined = pd.DataFrame({"a": ["x|y", "x", "x|y", "x"], "b": ["z", "y|z", "z", "q"]})
    assert stable_ids(joined, ["a", "b"], "p-").tolist() == old_stable_ids(
        joined, ["a", "b"], "p-").tolist()


def test_geojson_without_ids_keeps_its_ids(tmp_path: Path) -> None:
    gdf = gpd.GeoDataFrame(
        {"name": ["Library", None, "Library"], "opening_hours": ["Mo-Fr 09:00-17:00", "", None]},
        geometry=[Point(1.29, 52.63), Point(1.30, 52.62), Point(1.29, 52.63)], crs="EPSG:4326")
    path = tmp_path / "places.geojson"
    gdf.to_file(path, driver="GeoJSON")
    read = read_layer(path, "safe_places")
    frame = gpd.read_file(path)
    keyed = frame.drop(columns="geometry").astype("string").assign(_wkt=frame.geometry.to_wkt())
    expected = old_stable_ids(keyed, [*[c for c in frame.columns if c != "geometry"], "_wkt"],
                              "safe-")
    assert read.gdf["id"].tolist() == expected.tolist()
    assert read.gdf["id"].nunique() == 3


def test_occurrences_counts_earlier_equal_codes() -> None:
    codes = np.random.default_rng(1).integers(0, 50, 5000)
    want = pd.Series(codes).groupby(codes).cumcount().to_numpy()
    assert occurrences(codes).tolist() == want.tolist()
    assert occurrences(np.array([], dtype=np.int64)).tolist() == []


@pytest.mark.parametrize("strip", [True, False])
def test_text_or_none_matches_the_cell_by_cell_rule(strip: bool) -> None:
    values = pd.Series([" a ", "b", "", "   ", None, np.nan, 5, 2.5, True, "\tc\n", "é "],
                       index=range(10, 21), dtype=object)
    got = text_or_none(values, strip=strip)
    assert got.tolist() == [old_text_or_none(v, strip) for v in values]
    assert got.index.tolist() == list(range(11)) and got.dtype == object


def test_bad_cells_are_still_named_by_row_and_column() -> None:
    lon = pd.Series(["1.29", "east", "", "1.3", " 1.31 "])
    lat = pd.Series(["52.6", "52.6", "52.6", "", "52.61"])
    x, _, ok, problems = check_lonlat(lon, lat, "f.csv", "Longitude", "Latitude")
    assert ok.tolist() == [True, False, False, False, True]
    assert x[4] == pytest.approx(1.31)
    assert [(p.row, p.column, p.code) for p in problems] == [
        (2, "Longitude", "not_a_number"), (3, "Longitude", "half_location"),
        (4, "Latitude", "half_location")]
    assert "'east' is not a number" in problems[0].message


def test_a_file_the_arrow_reader_refuses_is_read_as_before() -> None:
    text = "Crime ID,Month,Longitude\n,2019-01,1.2\n,2019-02\n"
    frame = read_text_frame(text.encode())
    expected = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    pd.testing.assert_frame_equal(frame, expected)


def test_non_utf8_csv_is_still_refused_with_its_line() -> None:
    raw = "Name,Latitude,Longitude\nA,52.6,1.29\nCaf\u00e9,52.6,1.3\n".encode("cp1252")
    read = read_layer_bytes(raw, "safe_places", name="cafes.csv", suffix=".csv")
    assert [(p.code, p.row) for p in read.problems] == [("encoding", 2)]
