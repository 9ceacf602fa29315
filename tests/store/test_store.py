"""The embedded store: round trips, all-or-nothing imports (even a killed process), migrations."""

from __future__ import annotations

import hashlib
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
from geopandas.testing import assert_geodataframe_equal
from shapely.geometry import Point, Polygon

from ctxmap.errors import StoreError
from ctxmap.layers.conform import empty_layer
from ctxmap.store.geopackage import MIGRATIONS, GeoPackageStore

ROOT = Path(__file__).resolve().parents[2]


def incidents(n: int, start: int = 0) -> gpd.GeoDataFrame:
    g = empty_layer("incidents")
    rows = {
        "id": [f"i{i}" for i in range(start, start + n)],
        "month": ["2019-01"] * n,
        "category": ["Drugs"] * n,
        "location": ['<b>"On or near" Café</b>'] * n,
    }
    geoms = [None if i % 5 == 0 else Point(1.29 + i * 1e-5, 52.63) for i in range(n)]
    out = gpd.GeoDataFrame(rows, geometry=geoms, crs="EPSG:4326")
    for c in g.columns:
        if c not in out.columns:
            out[c] = None
    return out[list(g.columns)]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_round_trip_keeps_rows_without_location(tmp_path):
    s = GeoPackageStore(tmp_path / "s.gpkg")
    g = incidents(10)
    rec = s.write("incidents", g, file="a.csv")
    assert (rec.rows, rec.mapped, rec.unmapped) == (10, 8, 2)
    back = s.read("incidents")
    assert_geodataframe_equal(back, g.astype({"date": object}), check_dtype=False)
    assert s.counts()["incidents"] == {"rows": 10, "mapped": 8, "unmapped": 2}


def test_store_is_a_geopackage_gdal_can_read(tmp_path):
    s = GeoPackageStore(tmp_path / "s.gpkg")
    s.write("incidents", incidents(6), file="a.csv")
    layers = dict(pyogrio.list_layers(s.path))
    assert {"homes", "incidents", "areas", "safe_places", "youth_centres"} <= set(layers)
    g = pyogrio.read_dataframe(s.path, layer="incidents")
    assert len(g) == 6 and g.crs.to_epsg() == 4326


def test_replace_and_append_upsert(tmp_path):
    s = GeoPackageStore(tmp_path / "s.gpkg")
    s.write("incidents", incidents(5), file="a.csv")
    s.write("incidents", incidents(5, start=3), file="b.csv", mode="append")
    assert sorted(s.read("incidents")["id"]) == [f"i{i}" for i in range(8)]
    s.write("incidents", incidents(2), file="c.csv", mode="replace")
    assert len(s.read("incidents")) == 2
    assert list(s.imports()["file"]) == ["c.csv", "b.csv", "a.csv"]


def test_replacing_wards_keeps_lsoas(tmp_path):
    sq = Polygon([(1.2, 52.6), (1.3, 52.6), (1.3, 52.7), (1.2, 52.7)])
    base = empty_layer("areas")

    def areas(level, ids):
        g = gpd.GeoDataFrame({"id": ids, "name": ids, "level": level, "population": None,
                              "source": "t"}, geometry=[sq] * len(ids), crs="EPSG:4326")
        return g[list(base.columns)]

    s = GeoPackageStore(tmp_path / "s.gpkg")
    s.write("areas", areas("lsoa", ["L1", "L2"]), file="l")
    s.write("areas", areas("ward", ["W1"]), file="w")
    s.write("areas", areas("ward", ["W2"]), file="w2")
    assert sorted(s.read("areas")["id"]) == ["L1", "L2", "W2"]


def test_failed_import_leaves_store_unchanged(tmp_path):
    s = GeoPackageStore(tmp_path / "s.gpkg")
    s.write("incidents", incidents(5), file="a.csv")
    before = digest(s.path)
    bad = incidents(5, start=10)
    bad.loc[3, "month"] = None  # NOT NULL column: the database refuses the row
    with pytest.raises(sqlite3.IntegrityError):
        s.write("incidents", bad, file="bad.csv", batch_size=2)
    assert digest(s.path) == before
    assert len(s.read("incidents")) == 5 and len(s.imports()) == 1


def test_killed_import_midway_leaves_store_unchanged(tmp_path):
    path = tmp_path / "s.gpkg"
    s = GeoPackageStore(path)
    s.write("incidents", incidents(50), file="a.csv")
    before = digest(path)
    script = textwrap.dedent(f"""
        import os, sys
        sys.path.insert(0, {str(ROOT)!r})
        from tests.store.test_store import incidents
        from ctxmap.store.geopackage import GeoPackageStore
        def crash(done, total):
            if done >= total // 2:
                os._exit(9)  # the process dies mid-transaction, no cleanup at all
        GeoPackageStore({str(path)!r}).write("incidents", incidents(4000, start=100),
                                             file="big.csv",
                                   mode="replace", batch_size=500, progress=crash)
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert proc.returncode == 9, proc.stderr
    # SQLite's rollback journal restores the last committed state on next open.
    after = GeoPackageStore(path)
    assert sorted(after.read("incidents")["id"]) == sorted(f"i{i}" for i in range(50))
    assert len(after.imports()) == 1
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    con.close()
    assert digest(path) == before


def test_migrations_upgrade_and_refuse_newer(tmp_path):
    path = tmp_path / "s.gpkg"
    s = GeoPackageStore(path)
    assert s.schema_version == len(MIGRATIONS)
    s.write("incidents", incidents(3), file="a.csv")
    GeoPackageStore(path)  # reopening runs nothing new and loses nothing
    assert len(GeoPackageStore(path).read("incidents")) == 3
    con = sqlite3.connect(path)
    with con:
        con.execute("UPDATE ctxmap_meta SET value='999' WHERE key='schema_version'")
    con.close()
    with pytest.raises(StoreError, match="newer"):
        GeoPackageStore(path)


def test_not_a_store(tmp_path):
    p = tmp_path / "x.gpkg"
    p.write_text("hello, not sqlite")
    with pytest.raises(StoreError, match="not a ctxmap store"):
        GeoPackageStore(p)
    with pytest.raises(StoreError, match="no store"):
        GeoPackageStore(tmp_path / "missing.gpkg", create=False)


def test_refuses_wrong_crs(tmp_path):
    g = incidents(2).to_crs(27700)
    with pytest.raises(ValueError, match="EPSG:4326"):
        GeoPackageStore(tmp_path / "s.gpkg").write("incidents", g, file="x")
