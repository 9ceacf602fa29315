"""A store written by the release before the SQLAlchemy records (schema v4) opens and works.

``tests/data/store_v4.gpkg`` was built with ctxmap at commit 948e5b0 (records tables
created by its SQL scripts): a few homes and incidents, the sample context and two
audit entries. ``tests/data/store_v4_postgis.sql.gz`` is the same store copied to
PostGIS by that release's ``migrate-store`` (tables from its regex-translated DDL), as
``pg_dump --inserts`` wrote it (schema name replaced by ``__SCHEMA__``). Today's code
opens both in place, reads their records and writes new ones, and their append-only
and CHECK rules still hold.
"""

from __future__ import annotations

import datetime as dt
import gzip
import shutil
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa
from shapely.geometry import Point

from ctxmap.cases.repository import (
    add_record,
    create_context,
    get_context,
    history,
    list_contexts,
    load_bundle,
    update_record,
)
from ctxmap.cases.retention import delete_context
from ctxmap.cases.sample_context import SAMPLE_CONTEXT_ID
from ctxmap.privacy.audit import read_log, record, verify
from ctxmap.store.engine import RecordRefusedError
from ctxmap.store.geopackage import MIGRATIONS, GeoPackageStore
from ctxmap.store.migrate import migrate_store
from ctxmap.store.postgis import PostGISStore
from ctxmap.store.protocol import Store

DATA = Path(__file__).resolve().parents[1] / "data"
V4 = DATA / "store_v4.gpkg"
V4_POSTGIS = DATA / "store_v4_postgis.sql.gz"


@pytest.fixture
def v4_file(tmp_path: Path) -> GeoPackageStore:
    copy = tmp_path / "v4.gpkg"
    shutil.copy(V4, copy)
    return GeoPackageStore(copy, create=False)


def load_v4_postgis(url: str, schema: str) -> PostGISStore:
    """Restore the v4 PostGIS store into ``schema`` and open it."""
    dump = gzip.decompress(V4_POSTGIS.read_bytes()).decode("utf-8")
    with psycopg.connect(url) as con:
        con.execute(dump.replace("__SCHEMA__", schema))  # type: ignore[call-overload]
    return PostGISStore(url, schema=schema, create=False)


@pytest.fixture
def v4_postgis() -> Iterator[PostGISStore]:
    from tests.store.test_pgstore import fresh_schema

    with fresh_schema() as (url, schema):
        yield load_v4_postgis(url, schema)


@pytest.fixture(params=["gpkg", "postgis"])
def v4(request: pytest.FixtureRequest) -> Store:
    """The v4 store as a GeoPackage file, then as a PostGIS schema."""
    return request.getfixturevalue("v4_file" if request.param == "gpkg" else "v4_postgis")


def test_v4_store_opens_in_place_and_reads_its_records(v4: Store) -> None:
    assert v4.schema_version == len(MIGRATIONS)
    assert "home-cs-01" in v4.read("homes")["id"].tolist()
    assert list_contexts(v4)["id"].tolist() == [SAMPLE_CONTEXT_ID]
    bundle = load_bundle(v4, SAMPLE_CONTEXT_ID)
    assert [y.yp_ref for y in bundle.young_people] == ["YP-0001", "YP-0002"]
    assert bundle.consents and bundle.safety_ratings and bundle.review_notes
    assert len(history(v4, SAMPLE_CONTEXT_ID)) > 20
    log = read_log(v4)
    assert log["user"].tolist() == ["coord-1", "analyst-1"]
    assert log["at"].iloc[-1] == "2025-01-02T03:04:05+00:00"
    # the upgrade chained the rows already there (from then on they are tamper-evident)
    intact, message, _ = verify(v4)
    assert intact, message
    n_history = len(history(v4))
    assert message == f"chain intact: {2 + n_history} rows"


def test_v4_store_takes_new_records_and_keeps_its_rules(v4: Store) -> None:
    ctx = create_context(v4, "worker-02", name="Skate park", kind="park",
                         referral_date="2024-05-01", referral_reason="reports of grooming",
                         geometry=Point(1.30, 52.63), young_people=["YP-0100"])
    assert ctx.id == "ctx-0002"
    add_record(v4, "action", ctx.id, "worker-02", partner="Local police", what="patrols")
    current = get_context(v4, ctx.id)
    update_record(v4, "context", ctx.id, current.version, "worker-02", status="closed",
                  at="2024-06-01T10:00:00+00:00")
    before = len(read_log(v4))
    record(v4, "analyst-1", "export", "pack of ctx-0002", "public task")
    assert len(read_log(v4)) == before + 1
    assert history(v4, ctx.id)["changed_by"].eq("worker-02").all()
    with v4.records() as con:
        with pytest.raises(RecordRefusedError, match=r"append-only|permission denied"):
            con.execute(sa.text("DELETE FROM ctx_history"))
        with pytest.raises(RecordRefusedError, match="CHECK"):
            con.execute(sa.text("UPDATE ctx_contexts SET status = 'open'"))
    removed = delete_context(v4, ctx.id, "analyst-1", "public task", period_days=30,
                             today=dt.date(2025, 1, 1))
    assert removed["ctx_contexts"] == 1
    assert list_contexts(v4)["id"].tolist() == [SAMPLE_CONTEXT_ID]
    assert verify(v4)[0]


def test_v4_store_file_migrates_to_postgis(v4_file: GeoPackageStore) -> None:
    from tests.store.test_pgstore import fresh_schema

    with fresh_schema() as (url, schema), pytest.MonkeyPatch.context() as mp:
        mp.setenv("CTXMAP_PG_SCHEMA", schema)
        report = migrate_store(v4_file.path, url)
        assert verify(PostGISStore(url, schema=schema, create=False))[0]
    assert dict(report.records)["ctxmap_audit"] == 2
    assert dict(report.records)["ctx_contexts"] == 1
