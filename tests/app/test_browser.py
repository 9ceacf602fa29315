"""Drive the real app in headless Chromium: the map draws, and nothing leaks off-site."""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import geopandas as gpd
import pytest
from shapely.geometry import Point, box

from ctxmap.maps import assets as assets
from ctxmap.maps.base import resolve_tiles_url

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
# Screenshots go to the repository's docs/ only when asked (CTXMAP_UPDATE_SCREENSHOTS=1):
# a test run must not change tracked files.
DOCS_SCREENSHOTS = os.environ.get("CTXMAP_UPDATE_SCREENSHOTS") == "1"
SCREENSHOT = REPO / "docs" / "screenshot.png"
FRAME = 'iframe[title="streamlit_folium.st_folium"]'
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", "[::1]"}


def _require_browser() -> None:
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


@pytest.fixture
def app_url(tmp_path: Path):
    _require_browser()
    assets.check_vendor()  # a missing `npm ci` is reported clearly, not as a blank map
    assert (REPO / "app.py").exists(), "app.py is missing"
    port = _free_port()
    env = {**os.environ, "CTXMAP_STORE": str(_store_for_app(tmp_path))}
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


def test_app_draws_map_from_local_assets(app_url: str, tmp_path: Path):
    from playwright.sync_api import sync_playwright

    tiles = resolve_tiles_url()
    allowed = set(LOCAL_HOSTS)
    if tiles:
        allowed.add(urlsplit(tiles.replace("{s}", "a")).hostname or "")
    requests: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.on("request", lambda r: requests.append(r.url))
            page.goto(app_url)
            frame = page.frame_locator(FRAME)
            frame.locator(".leaflet-container").wait_for(timeout=90_000)
            frame.locator(".leaflet-control-layers").wait_for(timeout=30_000)
            frame.locator(".leaflet-interactive").first.wait_for(timeout=30_000)
            assert frame.locator(".leaflet-interactive").count() > 0
            assert frame.locator(".leaflet-control-layers").count() == 1
            assert frame.locator(".ctxmap-legend").count() == 1
            attribution = frame.locator(".leaflet-control-attribution").inner_text()
            assert "Open Government Licence" in attribution
            assert "OpenStreetMap contributors" in attribution
            # leaflet itself came from the app's static folder
            assert any("/app/static/vendor/leaflet/leaflet.js" in u for u in requests)
            page.wait_for_timeout(1500)  # let tiles/markers settle for the screenshot
            SCREENSHOT.parent.mkdir(exist_ok=True)
            page.screenshot(path=str(SCREENSHOT if DOCS_SCREENSHOTS
                                     else tmp_path / "screenshot.png"))
        finally:
            browser.close()
    offsite = [
        u
        for u in requests
        if urlsplit(u).scheme in ("http", "https", "ws", "wss")
        and urlsplit(u).hostname not in allowed
    ]
    assert offsite == [], f"requests left the machine: {offsite[:10]}"
