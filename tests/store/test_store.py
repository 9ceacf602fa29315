"""The embedded store only: a GeoPackage GDAL reads, migrations, refusals.

What both stores share (round trips, upserts, all-or-nothing imports, a killed import)
is tested on both in test_store_parity.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
from shapely.geometry import Point

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


def test_store_is_a_geopackage_gdal_can_read(tmp_path):
    s = GeoPackageStore(tmp_path / "s.gpkg")
    s.write("incidents", incidents(6), file="a.csv")
    layers = dict(pyogrio.list_layers(s.path))
    assert {"homes", "incidents", "areas", "safe_places", "youth_centres"} <= set(layers)
    g = pyogrio.read_dataframe(s.path, layer="incidents")
    assert len(g) == 6 and g.crs.to_epsg() == 4326


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
