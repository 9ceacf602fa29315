"""The PostgreSQL store on a real PostGIS server: layout, migrations, settings, bulk writes.

Connects with $CTXMAP_TEST_PG_URL (default: what ``bash scripts/postgis.sh start`` prints).
Without a reachable server these tests skip locally and FAIL when $CI is set.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import geopandas as gpd
import numpy as np
import psycopg
import pytest
from shapely.geometry import Point, Polygon

from ctxmap.errors import StoreError
from ctxmap.errors import redact_credentials as redact_url
from ctxmap.layers.conform import empty_layer
from ctxmap.store import postgis_layers
from ctxmap.store.geopackage import GeoPackageStore
from ctxmap.store.opening import describe_target, open_store, resolve_target
from ctxmap.store.postgis import PG_MIGRATIONS, PostGISStore

DEFAULT_PG_URL = "postgresql://ctxmap_test:ctxmap_test@127.0.0.1:54329/ctxmap_test"


def pg_url() -> str:
    """The test server's URL; skip (or fail under CI) when it cannot be reached."""
    url = os.environ.get("CTXMAP_TEST_PG_URL", DEFAULT_PG_URL)
    try:
        psycopg.connect(url, connect_timeout=3).close()
    except psycopg.Error as exc:
        msg = (f"PostgreSQL not reachable at {redact_url(url)} ({exc}); "
               "start it with: bash scripts/postgis.sh start")
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
    return url


@contextmanager
def fresh_schema() -> Iterator[tuple[str, str]]:
    """(url, schema): a fresh PostgreSQL schema name, dropped afterwards."""
    url = pg_url()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    try:
        yield url, schema
    finally:
        with psycopg.connect(url) as con:
            con.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture
def pg_schema() -> Iterator[tuple[str, str]]:
    with fresh_schema() as found:
        yield found


@pytest.fixture
def pg_store(pg_schema: tuple[str, str]) -> PostGISStore:
    url, schema = pg_schema
    return PostGISStore(url, schema=schema)


def incidents(n: int, start: int = 0) -> gpd.GeoDataFrame:
    g = empty_layer("incidents")
    geoms = [None if i % 5 == 0 else Point(1.29 + i * 1e-5, 52.63 + (i % 7) * 1e-4)
             for i in range(n)]
    out = gpd.GeoDataFrame({"id": [f"i{i}" for i in range(start, start + n)],
                            "month": ["2019-01"] * n, "category": ["Drugs"] * n},
                           geometry=geoms, crs="EPSG:4326")
    for c in g.columns:
        if c not in out.columns:
            out[c] = None
    return out[list(g.columns)]


def test_layout_types_and_indexes(pg_store: PostGISStore):
    con = pg_store.connect()
    try:
        types = dict(con.execute(
            "SELECT f_table_name || '.' || f_geometry_column, type || ':' || srid "
            "FROM geometry_columns WHERE f_table_schema = %s", (pg_store.schema,)).fetchall())
        indexes = {r[0] for r in con.execute(
            "SELECT indexdef FROM pg_indexes WHERE schemaname = %s", (pg_store.schema,))}
    finally:
        con.close()
    assert types["incidents.geom"] == "POINT:4326"
    assert types["incidents.geom_m"] == "POINT:27700"
    assert types["areas.geom"] == "GEOMETRY:4326"
    for kind in ("incidents", "homes", "safe_places", "youth_centres"):
        assert any(f"{kind}_geom_m_gix" in d and "gist (geom_m)" in d for d in indexes)
    assert any("areas_geom_gix" in d and "gist (geom)" in d for d in indexes)


def test_geom_m_is_the_projected_point(pg_store: PostGISStore):
    g = incidents(6)
    pg_store.write("incidents", g, file="a")
    con = pg_store.connect()
    try:
        rows = con.execute("SELECT id, ST_X(geom_m), ST_Y(geom_m) FROM incidents "
                           "WHERE geom IS NOT NULL ORDER BY fid").fetchall()
        nulls = con.execute("SELECT count(*) FROM incidents WHERE geom_m IS NULL").fetchone()
    finally:
        con.close()
    expected = g[g.geometry.notna()].to_crs(27700)
    assert [r[0] for r in rows] == list(expected["id"])
    np.testing.assert_allclose([r[1] for r in rows], expected.geometry.x, atol=1e-6)
    np.testing.assert_allclose([r[2] for r in rows], expected.geometry.y, atol=1e-6)
    assert nulls[0] == 2


def test_polygon_refused_in_point_layer(pg_store: PostGISStore):
    g = incidents(2)
    g.loc[1, "geometry"] = Polygon([(1.2, 52.6), (1.3, 52.6), (1.3, 52.7)])
    with pytest.raises(psycopg.Error):
        pg_store.write("incidents", g, file="bad")
    assert pg_store.counts()["incidents"]["rows"] == 0


def test_duplicate_ids_in_one_file_last_wins(pg_store: PostGISStore, tmp_path):
    g = incidents(4)
    g.loc[2, "id"] = "i0"
    g.loc[2, "category"] = "Robbery"
    pg_store.write("incidents", g, file="a")
    gp = GeoPackageStore(tmp_path / "s.gpkg")
    gp.write("incidents", g, file="a")
    a, b = pg_store.read("incidents"), gp.read("incidents")
    assert list(a["id"]) == list(b["id"]) == ["i0", "i1", "i3"]
    assert list(a["category"]) == list(b["category"])


def test_bulk_write_rebuilds_indexes(pg_store: PostGISStore, monkeypatch):
    monkeypatch.setattr(postgis_layers, "BULK_ROWS", 10)
    calls: list[tuple[int, int]] = []
    pg_store.write("incidents", incidents(25), file="a", batch_size=10,
                   progress=lambda d, t: calls.append((d, t)))
    assert calls == [(10, 25), (20, 25), (25, 25)]
    pg_store.write("incidents", incidents(30, start=20), file="b", mode="append")
    assert pg_store.counts()["incidents"] == {"rows": 50, "mapped": 40, "unmapped": 10}
    con = pg_store.connect()
    try:
        names = {r[0] for r in con.execute(
            "SELECT indexname FROM pg_indexes WHERE schemaname = %s AND tablename = "
            "'incidents'", (pg_store.schema,))}
    finally:
        con.close()
    assert {"incidents_geom_gix", "incidents_geom_m_gix", "incidents_month_category"} <= names


def test_migrations_and_refuse_newer(pg_schema):
    url, schema = pg_schema
    with pytest.raises(StoreError, match="no ctxmap store"):
        PostGISStore(url, schema=schema, create=False)
    s = PostGISStore(url, schema=schema)
    assert s.schema_version == len(PG_MIGRATIONS)
    s.write("incidents", incidents(3), file="a")
    assert len(PostGISStore(url, schema=schema, create=False).read("incidents")) == 3
    con = s.connect()
    with con:
        con.execute("UPDATE ctxmap_meta SET value = '999' WHERE key = 'schema_version'")
    con.close()
    with pytest.raises(StoreError, match="newer"):
        PostGISStore(url, schema=schema)


def test_bad_password_message_hides_it():
    url = pg_url().replace("ctxmap_test:ctxmap_test@", "ctxmap_test:s3cret-pw@")
    with pytest.raises(StoreError) as err:
        PostGISStore(url)
    assert "s3cret-pw" not in str(err.value) and "***" in str(err.value)


def test_redact_url():
    assert redact_url("postgresql://u:p%40ss@h:5432/db") == "postgresql://u:***@h:5432/db"
    assert redact_url("postgresql://u@h/db") == "postgresql://u@h/db"
    assert redact_url("postgresql://h/db?password=x&sslmode=require") == (
        "postgresql://h/db?password=***&sslmode=require")


def test_open_store_one_setting(tmp_path, monkeypatch):
    monkeypatch.delenv("CTXMAP_STORE", raising=False)
    monkeypatch.chdir(tmp_path)
    url = "postgresql://u:pw@localhost:1/db"
    assert resolve_target(tmp_path / "x.gpkg") == tmp_path / "x.gpkg"
    assert resolve_target(url) == url
    (tmp_path / ".streamlit").mkdir()
    (tmp_path / ".streamlit" / "secrets.toml").write_text(f'[ctxmap]\nstore = "{url}"\n')
    assert resolve_target(None) == url
    assert describe_target(None) == "postgresql://u:***@localhost:1/db"
    monkeypatch.setenv("CTXMAP_STORE", str(tmp_path / "env.gpkg"))
    assert resolve_target(None) == tmp_path / "env.gpkg"
    s = open_store(None)
    assert isinstance(s, GeoPackageStore) and s.path == tmp_path / "env.gpkg"


def test_open_store_gives_pgstore_for_url(pg_schema, monkeypatch):
    url, schema = pg_schema
    monkeypatch.setenv("CTXMAP_STORE", url)
    monkeypatch.setenv("CTXMAP_PG_SCHEMA", schema)
    s = open_store(None)
    assert isinstance(s, PostGISStore) and "ctxmap_test:***@" in s.path and s.schema == schema


def test_a_busy_postgis_store_stops_after_a_bounded_wait(pg_schema, monkeypatch):
    """Another import holding a layer's lock: the write stops after CTXMAP_BUSY_TIMEOUT."""
    from ctxmap.errors import StoreBusyError

    url, schema = pg_schema
    monkeypatch.setenv("CTXMAP_BUSY_TIMEOUT", "0.3")
    store = PostGISStore(url, schema=schema)
    other = psycopg.connect(url)
    try:
        other.execute(f'LOCK TABLE "{schema}".incidents IN EXCLUSIVE MODE')  # an import runs
        with pytest.raises(StoreBusyError, match=r"^the store is busy \(another import is "
                           r"running\); try again$"):
            store.write("incidents", incidents(20), file="second.csv")
    finally:
        other.rollback()
        other.close()
    assert store.counts()["incidents"]["rows"] == 0  # nothing half-written
    store.write("incidents", incidents(20), file="second.csv")  # free again: it works
    assert store.counts()["incidents"]["rows"] == 20
