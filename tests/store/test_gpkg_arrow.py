"""Reading a GeoPackage layer through GDAL's Arrow stream gives the row-by-row frame exactly.

``GeoPackageStore.read`` takes GDAL's Arrow stream (:mod:`ctxmap.store.gpkg_arrow`) and
falls back to SQLite rows; both routes are run here on every layer of the sample store
and of a store holding awkward rows (null, empty and non-point geometries, flags,
numbers, blank and non-ASCII text), and must give equal frames and geometries.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from shapely.geometry import LineString, Point, Polygon

import ctxmap.store.geopackage as geopackage
import ctxmap.store.gpkg_arrow as gpkg_arrow
from ctxmap.layers.schemas import LAYER_KINDS
from ctxmap.store.geopackage import GeoPackageStore

ROOT = Path(__file__).resolve().parents[2]


def both_routes(store: GeoPackageStore, kind: str,
                monkeypatch: pytest.MonkeyPatch) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    calls: list[str] = []
    real = gpkg_arrow.read_layer_arrow

    def counted(*args, **kwargs):
        calls.append(args[1])
        return real(*args, **kwargs)

    monkeypatch.setattr(geopackage, "read_layer_arrow", counted)
    fast = store.read(kind)
    assert calls == [kind]
    monkeypatch.setattr(geopackage, "read_layer_arrow", lambda *a, **k: None)
    rows = store.read(kind)
    monkeypatch.setattr(geopackage, "read_layer_arrow", real)
    return fast, rows


def assert_same(fast: gpd.GeoDataFrame, rows: gpd.GeoDataFrame) -> None:
    pd.testing.assert_frame_equal(pd.DataFrame(fast.drop(columns="geometry")),
                                  pd.DataFrame(rows.drop(columns="geometry")))
    assert [None if g is None else g.wkb for g in fast.geometry.array] == [
        None if g is None else g.wkb for g in rows.geometry.array]
    assert str(fast.crs) == str(rows.crs)


@pytest.mark.parametrize("kind", LAYER_KINDS)
def test_every_layer_of_the_sample_reads_the_same_both_ways(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copy(ROOT / "data" / "ctxmap.gpkg", tmp_path / "s.gpkg")
    fast, rows = both_routes(GeoPackageStore(tmp_path / "s.gpkg", create=False), kind,
                             monkeypatch)
    assert len(fast) > 0
    assert_same(fast, rows)


def test_awkward_rows_read_the_same_both_ways(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    store = GeoPackageStore(tmp_path / "a.gpkg")
    homes = gpd.GeoDataFrame(
        {"id": ["h1", "h2", "h3", "h4"], "name": ["Ælfric’s <house>", "", None, "Home 4"],
         "fictional": [True, False, None, True]},
        geometry=[Point(1.29, 52.63), None, Point(), Point(1.2345678901234, 52.6)],
        crs="EPSG:4326")
    store.write("homes", homes, file="homes.csv")
    areas = gpd.GeoDataFrame(
        {"id": ["A1", "A2"], "name": ["Ward one", "Ward two"], "level": ["ward", "ward"],
         "population": [1234, None]},
        geometry=[Polygon([(1.2, 52.6), (1.3, 52.6), (1.3, 52.7)]),
                  Polygon([(1.3, 52.6), (1.4, 52.6), (1.4, 52.7)])], crs="EPSG:4326")
    store.write("areas", areas, file="areas.geojson")
    incidents = gpd.GeoDataFrame(
        {"id": [f"i{i}" for i in range(6)], "month": ["2019-01"] * 6,
         "category": ["Drugs", "Robbery", "Drugs", "Drugs", "Other theft", "Drugs"],
         "location": ["On or near X", None, "On or near X", "", "Ünïcode", "On or near X"]},
        geometry=[Point(1.29, 52.63), None, Point(1.29, 52.63), Point(1.3, 52.6),
                  Point(1.31, 52.61), Point(1.29, 52.63)], crs="EPSG:4326")
    store.write("incidents", incidents, file="i.csv")
    for kind in ("homes", "areas", "incidents"):
        fast, rows = both_routes(store, kind, monkeypatch)
        assert_same(fast, rows)
    assert fast.geometry.iloc[1] is None


def test_both_ways_of_converting_a_column_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    column = pa.chunked_array([pa.array(["a", None, "b", "a", ""]), pa.array(["b", None])])
    results = []
    for distinct in (True, False):
        monkeypatch.setattr(gpkg_arrow, "_mostly_distinct", lambda c, d=distinct: d)
        results.append(gpkg_arrow._column(column))
    assert results[0].tolist() == results[1].tolist() == ["a", None, "b", "a", "", "b", None]
    wkb = pa.chunked_array([pa.array([Point(1, 2).wkb, None, LineString([(0, 0), (1, 1)]).wkb,
                                      Point(1, 2).wkb], pa.binary())])
    shapes = []
    for distinct in (True, False):
        monkeypatch.setattr(gpkg_arrow, "_mostly_distinct", lambda c, d=distinct: d)
        shapes.append([None if g is None else g.wkt for g in gpkg_arrow._geometries(wkb)])
    assert shapes[0] == shapes[1] == ["POINT (1 2)", None, "LINESTRING (0 0, 1 1)",
                                      "POINT (1 2)"]


def test_a_layer_gdal_cannot_read_falls_back_to_the_rows(tmp_path: Path) -> None:
    assert gpkg_arrow.read_layer_arrow(tmp_path / "missing.gpkg", "incidents", ["id"]) is None
    dates = pa.chunked_array([pa.array(np.array(["2019-01-01"], dtype="datetime64[D]"))])
    assert gpkg_arrow._column(dates) is None  # a type this does not convert: rows read it
