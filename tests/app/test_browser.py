"""Drive the real app in headless Chromium: the map draws, and nothing leaks off-site."""

import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from ctxmap.maps.base import resolve_tiles_url
from tests.app.browser_app import CHROMIUM, CHROMIUM_ARGS, FRAME, REPO, running_app

pytestmark = pytest.mark.browser

# Screenshots go to the repository's docs/ only when asked (CTXMAP_UPDATE_SCREENSHOTS=1):
# a test run must not change tracked files.
DOCS_SCREENSHOTS = os.environ.get("CTXMAP_UPDATE_SCREENSHOTS") == "1"
SCREENSHOT = REPO / "docs" / "screenshot.png"
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", "[::1]"}


@pytest.fixture
def app_url(tmp_path: Path):
    with running_app(tmp_path) as url:
        yield url


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
            args=CHROMIUM_ARGS,
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
