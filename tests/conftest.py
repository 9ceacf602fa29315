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
def store_copy(sample_store_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of the sample store, made the session's store via $CTXMAP_STORE."""
    copy = tmp_path / "ctxmap.gpkg"
    shutil.copy(sample_store_path, copy)
    monkeypatch.setenv("CTXMAP_STORE", str(copy))
    return copy


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
