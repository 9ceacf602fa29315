"""The same layer-store tests on both stores (embedded GeoPackage and PostGIS), no mocks.

Plus: locations-of-concern counts computed in PostGIS equal the embedded path's and a
brute-force count, on random data.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from geopandas.testing import assert_geodataframe_equal
from shapely.geometry import Point, Polygon, box

from ctxmap.analysis.concern import ConcernParams, rank_places
from ctxmap.analysis.concern_postgis import count_within_db, rank_places_pg
from ctxmap.layers.conform import empty_layer
from ctxmap.layers.schemas import POLICE_UK_CATEGORIES
from ctxmap.store.geopackage import GeoPackageStore
from ctxmap.store.postgis import PostGISStore
from tests.store.test_pgstore import fresh_schema, incidents

ROOT = Path(__file__).resolve().parents[2]

@pytest.fixture
def pg_schema():
    with fresh_schema() as found:
        yield found



@pytest.fixture(params=["gpkg", "postgis"])
def any_store(request, tmp_path):
    """A fresh, empty store of each kind."""
    if request.param == "gpkg":
        return GeoPackageStore(tmp_path / "s.gpkg")
    url, schema = request.getfixturevalue("pg_schema")
    return PostGISStore(url, schema=schema)


def reopen(store):
    if isinstance(store, PostGISStore):
        return PostGISStore(store.url, schema=store.schema, create=False)
    return GeoPackageStore(store.path, create=False)


def snapshot(store):
    return ({k: store.read(k) for k in ("incidents", "areas")},
            store.imports()[["id", "layer", "file", "rows"]].values.tolist(), store.counts())


def assert_same_snapshot(a, b):
    for k in a[0]:
        assert_geodataframe_equal(a[0][k], b[0][k])
    assert a[1:] == b[1:]


def test_round_trip_keeps_rows_without_location(any_store):
    g = incidents(10)
    rec = any_store.write("incidents", g, file="a.csv")
    assert (rec.rows, rec.mapped, rec.unmapped) == (10, 8, 2)
    back = any_store.read("incidents")
    assert_geodataframe_equal(back, g.astype({"date": object}), check_dtype=False)
    assert back.geometry.isna().sum() == 2
    assert any_store.counts()["incidents"] == {"rows": 10, "mapped": 8, "unmapped": 2}
    assert list(any_store.read("incidents", columns=["id", "month"]).columns) == [
        "id", "month", "geometry"]


def test_every_column_type_round_trips(any_store):
    homes = gpd.GeoDataFrame(
        {"id": ["h1", "h2", "h3"], "name": ["<b>A & B</b>", "", None],
         "category": "children's home", "address": None, "opening_hours": "24/7",
         "source": "t", "fictional": [True, False, None], "notes": ["x", None, "é"]},
        geometry=[Point(1.29, 52.63), Point(1.3, 52.64), None], crs="EPSG:4326")
    homes = homes[list(empty_layer("homes").columns)]
    any_store.write("homes", homes, file="h")
    back = any_store.read("homes")
    assert list(back["name"]) == ["<b>A & B</b>", "", None]
    assert back["fictional"].tolist() == [True, False, pd.NA]
    assert str(back["fictional"].dtype) == "boolean"
    sq = Polygon([(1.2, 52.6), (1.3, 52.6), (1.3, 52.7), (1.2, 52.7)])
    areas = gpd.GeoDataFrame({"id": ["A"], "name": ["n"], "level": ["lsoa"],
                              "population": [1234.5], "source": ["s"]},
                             geometry=[sq.union(box(1.4, 52.6, 1.5, 52.7))], crs="EPSG:4326")
    any_store.write("areas", areas, file="a")
    back = any_store.read("areas")
    assert back["population"].dtype == np.float64 and back.loc[0, "population"] == 1234.5
    assert back.geometry.iloc[0].equals(areas.geometry.iloc[0])


def test_replace_and_append_upsert(any_store):
    any_store.write("incidents", incidents(5), file="a.csv")
    changed = incidents(5, start=3)
    changed.loc[0, "category"] = "Robbery"  # i3 is updated in place
    any_store.write("incidents", changed, file="b.csv", mode="append")
    back = any_store.read("incidents")
    assert list(back["id"]) == [f"i{i}" for i in range(8)]
    assert back.loc[back["id"] == "i3", "category"].item() == "Robbery"
    any_store.write("incidents", incidents(2), file="c.csv", mode="replace")
    assert len(any_store.read("incidents")) == 2
    assert list(any_store.imports()["file"]) == ["c.csv", "b.csv", "a.csv"]


def test_replacing_wards_keeps_lsoas(any_store):
    sq = Polygon([(1.2, 52.6), (1.3, 52.6), (1.3, 52.7), (1.2, 52.7)])
    base = empty_layer("areas")

    def areas(level, ids):
        g = gpd.GeoDataFrame({"id": ids, "name": ids, "level": level, "population": None,
                              "source": "t"}, geometry=[sq] * len(ids), crs="EPSG:4326")
        return g[list(base.columns)]

    any_store.write("areas", areas("lsoa", ["L1", "L2"]), file="l")
    any_store.write("areas", areas("ward", ["W1"]), file="w")
    any_store.write("areas", areas("ward", ["W2"]), file="w2")
    assert sorted(any_store.read("areas")["id"]) == ["L1", "L2", "W2"]


def test_failed_import_leaves_store_unchanged(any_store):
    any_store.write("incidents", incidents(5), file="a.csv")
    before = snapshot(any_store)
    bad = incidents(5, start=10)
    bad.loc[3, "month"] = None  # NOT NULL column: the database refuses the row
    with pytest.raises(Exception, match=r"(?i)not.null|null value"):
        any_store.write("incidents", bad, file="bad.csv", batch_size=2)
    assert_same_snapshot(snapshot(reopen(any_store)), before)
    assert len(any_store.imports()) == 1


def test_killed_import_midway_leaves_store_unchanged(any_store):
    any_store.write("incidents", incidents(50), file="a.csv")
    before = snapshot(any_store)
    if isinstance(any_store, PostGISStore):
        opener = f"PostGISStore({any_store.url!r}, schema={any_store.schema!r})"
    else:
        opener = f"GeoPackageStore({str(any_store.path)!r})"
    script = textwrap.dedent(f"""
        import os, sys
        sys.path.insert(0, {str(ROOT)!r})
        from tests.store.test_pgstore import incidents
        from ctxmap.store.postgis import PostGISStore
        from ctxmap.store.geopackage import GeoPackageStore
        def crash(done, total):
            if done >= total // 2:
                os._exit(9)  # the process dies mid-transaction, no cleanup at all
        {opener}.write("incidents", incidents(4000, start=100), file="big.csv",
                       mode="replace", batch_size=500, progress=crash)
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert proc.returncode == 9, proc.stderr
    after = reopen(any_store)
    assert_same_snapshot(snapshot(after), before)
    # nothing is left locked: the next import goes through
    after.write("incidents", incidents(3, start=900), file="next.csv", mode="append")
    assert after.counts()["incidents"]["rows"] == 53


def test_counts_per_layer(any_store):
    any_store.write("incidents", incidents(12), file="a")
    counts = any_store.counts()
    assert set(counts) == {"areas", "incidents", "safe_places", "youth_centres", "homes"}
    assert counts["incidents"] == {"rows": 12, "mapped": 9, "unmapped": 3}
    assert counts["homes"] == {"rows": 0, "mapped": 0, "unmapped": 0}


# --------------------------------------------------------------------------- concern


def random_layers(seed: int, n_inc: int = 400, n_places: int = 25):
    rng = np.random.default_rng(seed)
    lon = rng.uniform(1.20, 1.34, n_inc)
    lat = rng.uniform(52.59, 52.68, n_inc)
    geoms = [None if rng.random() < 0.1 else Point(x, y) for x, y in zip(lon, lat, strict=True)]
    inc = gpd.GeoDataFrame(
        {"id": [f"i{i}" for i in range(n_inc)],
         "month": rng.choice(["2018-12", "2019-01", "2019-02", "2019-03"], n_inc),
         "category": rng.choice(POLICE_UK_CATEGORIES[:6], n_inc)},
        geometry=geoms, crs="EPSG:4326")
    for c in empty_layer("incidents").columns:
        if c not in inc.columns:
            inc[c] = None
    inc = inc[list(empty_layer("incidents").columns)]
    places = gpd.GeoDataFrame(
        {"id": [f"p{k}" for k in range(n_places)], "name": "", "category": "library",
         "address": None, "opening_hours": None, "source": "t"},
        geometry=gpd.points_from_xy(rng.uniform(1.21, 1.33, n_places),
                                    rng.uniform(52.60, 52.67, n_places)), crs="EPSG:4326")
    return inc, places


@pytest.mark.parametrize("seed", [1, 2])
def test_concern_counts_in_postgis_equal_embedded(pg_schema, tmp_path, seed):
    url, schema = pg_schema
    inc, places = random_layers(seed)
    pg = PostGISStore(url, schema=schema)
    pg.write("incidents", inc, file="r")
    gp = GeoPackageStore(tmp_path / "s.gpkg")
    gp.write("incidents", inc, file="r")
    places = places.assign(layer="safe_places")
    # the second study area leaves many incidents out: both stores leave out the same ones
    for area in (box(1.20, 52.59, 1.34, 52.68), box(1.24, 52.61, 1.30, 52.65)):
        for params in (ConcernParams(radius_m=800, categories=None, min_incidents=1),
                       ConcernParams(radius_m=500, months=("2019-01", "2019-02"),
                                     categories=tuple(POLICE_UK_CATEGORIES[:3]))):
            embedded = rank_places(places, gp.read("incidents"), area, params)
            in_db = rank_places_pg(pg, places, area, params)
            cols = [c for c in embedded.columns if c != "geometry"]
            pd.testing.assert_frame_equal(in_db[cols], embedded[cols])
            assert embedded["incidents"].sum() > 0
    assert embedded.attrs["ctxmap"]["incidents_outside"] > 0

    # brute force: every (place, incident) distance in EPSG:27700
    pm = places.to_crs(27700)
    im = inc[inc.geometry.notna()].to_crs(27700)
    cats = list(POLICE_UK_CATEGORIES[:6])
    got = count_within_db(pg, pm.geometry.x.to_numpy(), pm.geometry.y.to_numpy(),
                          "EPSG:27700", cats, None, 700.0)
    d = np.hypot(pm.geometry.x.to_numpy()[:, None] - im.geometry.x.to_numpy()[None, :],
                 pm.geometry.y.to_numpy()[:, None] - im.geometry.y.to_numpy()[None, :])
    for j, cat in enumerate(cats):
        is_cat = (im["category"] == cat).to_numpy()
        np.testing.assert_array_equal(got[:, j], ((d <= 700.0) & is_cat[None, :]).sum(axis=1))
    # another metric CRS than the store's: projected in the query, same counts
    pu = places.to_crs(32631)
    iu = inc[inc.geometry.notna()].to_crs(32631)
    got_utm = count_within_db(pg, pu.geometry.x.to_numpy(), pu.geometry.y.to_numpy(),
                              "EPSG:32631", cats, None, 700.0)
    du = np.hypot(pu.geometry.x.to_numpy()[:, None] - iu.geometry.x.to_numpy()[None, :],
                  pu.geometry.y.to_numpy()[:, None] - iu.geometry.y.to_numpy()[None, :])
    np.testing.assert_array_equal(got_utm.sum(axis=1), (du <= 700.0).sum(axis=1))
