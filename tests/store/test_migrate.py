"""migrate-store: GeoPackage -> PostGIS -> GeoPackage loses nothing; refusals; checksums."""

from __future__ import annotations

import sqlite3

import geopandas as gpd
import pytest
from geopandas.testing import assert_geodataframe_equal
from shapely.geometry import Point, Polygon

from ctxmap.cases.repository import (
    add_partner,
    add_record,
    create_context,
    history,
    list_contexts,
    load_bundle,
    update_record,
)
from ctxmap.cli import main
from ctxmap.errors import InputError
from ctxmap.layers.conform import empty_layer
from ctxmap.layers.schemas import LAYER_KINDS
from ctxmap.privacy.audit import read_log, record
from ctxmap.store.geopackage import GeoPackageStore
from ctxmap.store.migrate import dump_layer, dump_records, layer_checksum, migrate_store
from ctxmap.store.postgis import PostGISStore
from tests.store.test_pgstore import fresh_schema, incidents


@pytest.fixture
def pg_schema():
    with fresh_schema() as found:
        yield found



def filled_store(path) -> GeoPackageStore:
    s = GeoPackageStore(path)
    s.write("incidents", incidents(30), file="a.csv", sha256="abc", user="analyst1")
    s.write("incidents", incidents(10, start=25), file="b.csv", mode="append", user="a2")
    sq = Polygon([(1.2, 52.6), (1.3, 52.6), (1.3, 52.7), (1.2, 52.7)])
    areas = gpd.GeoDataFrame({"id": ["L1", "W1"], "name": ["<i>x</i>", ""],
                              "level": ["lsoa", "ward"], "population": [1500.25, None],
                              "source": ["ons", None]}, geometry=[sq, sq.buffer(0.01)],
                             crs="EPSG:4326")[list(empty_layer("areas").columns)]
    s.write("areas", areas, file="areas.geojson")
    homes = gpd.GeoDataFrame({"id": ["h1", "h2"], "name": ["Home (fictional)", None],
                              "category": "home", "address": None, "opening_hours": None,
                              "source": "t", "fictional": [True, None], "notes": ["n", ""]},
                             geometry=[Point(1.29, 52.63), Point()], crs="EPSG:4326")
    s.write("homes", homes[list(empty_layer("homes").columns)], file="homes.csv")
    c = create_context(s, "worker-01", name="Park <b>&</b>", kind="park",
                          referral_date="2019-02-01", referral_reason="concern",
                          geometry=Point(1.29, 52.63), young_people=["YP-0001"],
                          at="2019-02-01T09:00:00+00:00")
    add_partner(s, "Café owners", "worker-01")
    a = add_record(s, "action", c.id, "worker-01", partner="Café owners", what="Lights",
                      due_date="2019-03-01")
    update_record(s, "action", a.id, a.version, "worker-02", status="done")
    add_record(s, "consent", c.id, "worker-01", yp_ref="YP-0001", partner="Local police",
                  category="link", legal_basis="consent", given_on="2019-02-02")
    add_record(s, "safety_rating", None, "worker-01", place_label="Bus stop",
                  rating="red", geometry=Point(1.3, 52.64), rated_on="2019-02-03")
    update_record(s, "context", c.id, 1, "worker-02", radius_m=250.5, status="assessing")
    record(s, "sam", "export", "map of wards", "public task")
    return s


def assert_same_store(a, b):
    for kind in LAYER_KINDS:
        da, db = dump_layer(a, kind), dump_layer(b, kind)
        assert_geodataframe_equal(da.gdf, db.gdf)
        assert da.import_ids == db.import_ids
    cols = ["id", "layer", "file", "sha256", "rows", "mapped", "unmapped", "mode",
            "imported_at", "imported_by"]
    assert a.imports()[cols].astype(str).values.tolist() == \
        b.imports()[cols].astype(str).values.tolist()
    assert a.counts() == b.counts()
    assert [(d.table, d.columns, d.rows) for d in dump_records(a)] == \
        [(d.table, d.columns, d.rows) for d in dump_records(b)]
    assert history(a).astype(str).values.tolist() == \
        history(b).astype(str).values.tolist()
    assert read_log(a).astype(str).values.tolist() == read_log(b).astype(str).values.tolist()
    ids = list_contexts(a)["id"].tolist()
    assert ids == list_contexts(b)["id"].tolist()
    for i in ids:
        assert load_bundle(a, i) == load_bundle(b, i)


def test_gpkg_to_postgis_and_back_loses_nothing(pg_schema, tmp_path, monkeypatch):
    url, schema = pg_schema
    monkeypatch.setenv("CTXMAP_PG_SCHEMA", schema)
    src = filled_store(tmp_path / "a.gpkg")
    report = migrate_store(src.path, url)
    assert {c.kind: c.rows for c in report.layers}["incidents"] == 35
    assert report.imports == 4
    assert "ctxmap_test:***@" in report.target  # the password is never shown
    pg = PostGISStore(url)
    assert_same_store(src, pg)
    back = tmp_path / "back.gpkg"
    assert main(["migrate-store", "--from", url, "--to", str(back)]) == 0
    assert_same_store(src, GeoPackageStore(back))
    # the next import continues the import numbering of the source
    rec = PostGISStore(url).write("incidents", incidents(1, start=99), file="c", mode="append")
    assert rec.import_id == 5
    # ... and so do the records' ids, and the history stays append-only
    pg = PostGISStore(url)
    n = add_record(pg, "review_note", "ctx-0001", "w", kind="other", text="t",
                      noted_on="2019-04-01")
    ids = history(pg)["id"].tolist()
    assert n.id == 1 and ids == list(range(1, len(history(src)) + 4))  # 3 fields logged
    assert create_context(pg, "w", name="Street", kind="street", referral_date="2019-05-01",
                             referral_reason="r", geometry=Point(1.3, 52.6)).id == "ctx-0002"
    assert record(pg, "kim", "export", "x", "consent") == 2
    con = sqlite3.connect(back)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    con.close()


def test_refuses_non_empty_target_unless_force(pg_schema, tmp_path, monkeypatch, capsys):
    url, schema = pg_schema
    monkeypatch.setenv("CTXMAP_PG_SCHEMA", schema)
    src = filled_store(tmp_path / "a.gpkg")
    PostGISStore(url).write("incidents", incidents(3, start=500), file="other.csv")
    assert main(["migrate-store", "--from", str(src.path), "--to", url]) == 1
    err = capsys.readouterr().err
    assert "not empty" in err and "--force" in err
    assert sorted(PostGISStore(url).read("incidents")["id"]) == ["i500", "i501", "i502"]
    assert main(["migrate-store", "--from", str(src.path), "--to", url, "--force"]) == 0
    assert_same_store(src, PostGISStore(url))
    # append-only records are never overwritten, even with --force
    assert main(["migrate-store", "--from", str(src.path), "--to", url, "--force"]) == 1
    assert "append-only" in capsys.readouterr().err
    assert_same_store(src, PostGISStore(url))


def test_refusals_between_files(tmp_path):
    src = filled_store(tmp_path / "a.gpkg")
    with pytest.raises(InputError, match="same store"):
        migrate_store(src.path, src.path)
    with pytest.raises(InputError, match="source"):
        migrate_store(tmp_path / "missing.gpkg", tmp_path / "b.gpkg")
    assert not (tmp_path / "missing.gpkg").exists()
    migrate_store(src.path, tmp_path / "b.gpkg")
    assert_same_store(src, GeoPackageStore(tmp_path / "b.gpkg"))


def test_checksum_sees_every_change():
    g = incidents(6)
    base = layer_checksum(g)
    assert layer_checksum(g.iloc[::-1]) == base  # row order does not matter
    for change in (lambda x: x.loc.__setitem__((2, "category"), "Robbery"),
                   lambda x: x.loc.__setitem__((3, "location"), ""),
                   lambda x: x.loc.__setitem__((1, "geometry"), Point(1.29, 52.6300001))):
        h = g.copy()
        change(h)
        assert layer_checksum(h) != base
    assert layer_checksum(g.iloc[:5]) != base
