"""Shared by the browser tests: start the real app once, launch the system Chromium."""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import Point, box

from ctxmap.maps import assets as assets

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: The map's iframe (streamlit-folium).
FRAME = 'iframe[title="streamlit_folium.st_folium"]'


def require_browser() -> None:
    if Path(CHROMIUM).exists():
        return
    if os.environ.get("CI"):
        pytest.fail(f"{CHROMIUM} is missing; the browser test must run in CI")
    pytest.skip(f"{CHROMIUM} is missing (install chromium); this test fails in CI")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tiny_store(path: Path) -> Path:
    from ctxmap.store.geopackage import GeoPackageStore

    store = GeoPackageStore(path)
    areas = gpd.GeoDataFrame(
        {
            "id": ["D1", "W1", "W2"],
            "name": ["Test district", "West <ward>", "East ward"],
            "level": ["district", "ward", "ward"],
            "population": [None, None, None],
            "source": ["test"] * 3,
        },
        geometry=[
            box(1.2, 52.59, 1.34, 52.68),
            box(1.2, 52.59, 1.27, 52.68),
            box(1.27, 52.59, 1.34, 52.68),
        ],
        crs="EPSG:4326",
    )
    places = gpd.GeoDataFrame(
        {
            "id": ["s1", "s2"],
            "name": ["<script>alert(1)</script>", None],
            "category": ["library", "pharmacy"],
            "address": ["", ""],
            "opening_hours": ["", ""],
            "source": ["test", "test"],
        },
        geometry=[Point(1.29, 52.63), Point(1.30, 52.62)],
        crs="EPSG:4326",
    )
    incidents = gpd.GeoDataFrame(
        {
            "id": ["i1", "i2", "i3"],
            "month": ["2019-01", "2019-01", "2019-02"],
            "date": ["", "", ""],
            "category": ["Drugs", "Robbery", "Drugs"],
            "location_precision": ["", "", "no location"],
            "location": ["On or near Park", "On or near Street", "No Location"],
            "lsoa_code": ["", "", ""],
            "outcome": ["", "", ""],
            "source": ["test"] * 3,
        },
        geometry=[Point(1.28, 52.64), Point(1.31, 52.61), None],
        crs="EPSG:4326",
    )
    store.write("areas", areas, file="test")
    store.write("safe_places", places, file="test")
    store.write("incidents", incidents, file="test")
    return path


def _store_for_app(tmp_path: Path) -> Path:
    if os.environ.get("CTXMAP_STORE"):
        return Path(os.environ["CTXMAP_STORE"])
    from ctxmap.store.geopackage import DEFAULT_STORE_PATH

    if DEFAULT_STORE_PATH.exists():
        return DEFAULT_STORE_PATH
    return _tiny_store(tmp_path / "tiny.gpkg")


@contextmanager
def running_app(tmp_path: Path, env: dict[str, str] | None = None) -> Iterator[str]:
    """Start ``streamlit run app.py`` on a free port; yield its URL; stop it afterwards."""
    require_browser()
    assets.check_vendor()  # a missing `npm ci` is reported clearly, not as a blank map
    assert (REPO / "app.py").exists(), "app.py is missing"
    port = _free_port()
    env = {**os.environ, "CTXMAP_STORE": str(_store_for_app(tmp_path)), **(env or {})}
    log = (tmp_path / "streamlit.log").open("w")
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "streamlit", "run", "app.py",
            "--server.port", str(port), "--server.headless", "true",
            "--browser.gatherUsageStats", "false",
        ],
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                log.flush()
                pytest.fail("streamlit did not start:\n" + (tmp_path / "streamlit.log").read_text())
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
