"""The dashboard on the PostGIS store: the sample migrated into a fresh schema, pages run.

``CTXMAP_STORE`` is the test server's URL and ``CTXMAP_PG_SCHEMA`` a schema made for the
test (dropped after). Skips without a server locally; fails when $CI is set.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from ctxmap.cases.repository import get_context, history, update_record
from ctxmap.cases.sample_context import add_sample_context
from ctxmap.privacy.audit import read_log
from ctxmap.store.geopackage import GeoPackageStore
from ctxmap.store.migrate import migrate_store
from ctxmap.store.postgis import PostGISStore
from tests.app.test_pages import map_payload, metric
from tests.store.test_pgstore import fresh_schema

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def pg_sample(sample_store_path: Path, tmp_path: Path,
              monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[PostGISStore, GeoPackageStore]]:
    """(the PostGIS store holding the migrated sample with its context, the GeoPackage copy)."""
    copy = tmp_path / "sample.gpkg"
    shutil.copy(sample_store_path, copy)
    gpkg = GeoPackageStore(copy)
    add_sample_context(gpkg)
    with fresh_schema() as (url, schema):
        monkeypatch.setenv("CTXMAP_PG_SCHEMA", schema)
        migrate_store(copy, url)
        monkeypatch.setenv("CTXMAP_STORE", url)
        yield PostGISStore(url, schema=schema), gpkg


def _run(page: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "pages" / page), default_timeout=90)
    at.run()
    assert not at.exception, at.exception
    # the plan's overdue actions and a flagged place's reason are shown in red on purpose
    errors = [e.value for e in at.error if "overdue" not in e.value and "Flagged:" not in e.value]
    assert not errors, errors
    return at


def test_map_page_on_postgis_matches_the_embedded_store(pg_sample, monkeypatch):
    pg, gpkg = pg_sample
    at = _run("map.py")
    on_pg = (metric(at, "Incidents shown"), metric(at, "In the period with no location"))
    assert "L.control.layers" in map_payload(at)["layer_control"]
    monkeypatch.setenv("CTXMAP_STORE", str(gpkg.path))
    at = _run("map.py")
    assert on_pg == (metric(at, "Incidents shown"), metric(at, "In the period with no location"))
    # the page read the layers from PostGIS (it audits the unmasked view there)
    assert "view unmasked" in read_log(pg)["action"].tolist()


def test_contexts_page_on_postgis_reads_and_writes_the_database(pg_sample):
    pg, _ = pg_sample
    at = _run("contexts.py")
    assert at.selectbox(key="ctx_selected").value == "ctx-0001"
    before = len(history(pg, "ctx-0001"))
    ctx = get_context(pg, "ctx-0001")
    new = "planning" if ctx.status != "planning" else "review"
    update_record(pg, "context", "ctx-0001", ctx.version, "other-worker", status=new)
    at = _run("contexts.py")
    assert len(history(pg, "ctx-0001")) == before + 1
    assert get_context(pg, "ctx-0001").status == new


@pytest.mark.parametrize("page", ["concern.py", "nearby.py", "import_layers.py", "audit.py"])
def test_every_other_page_runs_on_postgis(pg_sample, page):
    _run(page)


def test_concern_page_on_postgis_ranks_the_stored_places(pg_sample):
    at = _run("concern.py")
    tables = [t.value for t in at.dataframe if "Place" in t.value.columns]
    assert tables and len(tables[0]) == 139  # 139 places and the located context, one duplicate
