"""Shared fixtures: the bundled sample store (a private copy per test that writes)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_STORE = ROOT / "data" / "ctxmap.gpkg"


@pytest.fixture(scope="session")
def sample_store_path() -> Path:
    """The bundled sample store (built from data/source if a checkout lacks it)."""
    if not SAMPLE_STORE.exists():
        subprocess.run([sys.executable, str(ROOT / "scripts" / "build_sample.py")], check=True)
    return SAMPLE_STORE


@pytest.fixture
def sample_copy(sample_store_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of the sample store, still marked as the bundled sample, made the
    session's store via $CTXMAP_STORE (sample-only behaviour: audit off, fictional note)."""
    copy = tmp_path / "ctxmap.gpkg"
    shutil.copy(sample_store_path, copy)
    monkeypatch.setenv("CTXMAP_STORE", str(copy))
    return copy


@pytest.fixture
def store_copy(sample_copy: Path) -> Path:
    """A private copy of the sample's data, made the session's store via $CTXMAP_STORE.

    Its sample mark is replaced, so it behaves as a council's own store holding this
    data (audited, no fictional-homes note); use ``sample_copy`` for the marked sample.
    """
    from ctxmap.store.geopackage import GeoPackageStore
    from ctxmap.store.marks import DATASET_KEY, NAME_KEY

    store = GeoPackageStore(sample_copy, create=False)
    store.set_metadata(DATASET_KEY, "test copy of the sample data")
    store.set_metadata(NAME_KEY, "Norwich (test copy)")
    return sample_copy


@pytest.fixture(params=["gpkg", "postgis"])
def both_stores(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[object]:
    """A fresh store of each kind: a GeoPackage, and PostGIS in a schema dropped after.

    The PostGIS case skips without a server locally and fails when $CI is set.
    """
    if request.param == "gpkg":
        from ctxmap.store.geopackage import GeoPackageStore

        yield GeoPackageStore(tmp_path / "s.gpkg")
        return
    from ctxmap.store.postgis import PostGISStore
    from tests.store.test_pgstore import fresh_schema

    with fresh_schema() as (url, schema):
        yield PostGISStore(url, schema=schema)
