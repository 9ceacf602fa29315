"""Roles decide the pages: a meeting viewer reaches only the masked map, by menu or by URL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from ctxmap.privacy.roles import User
from ctxmap.store.geopackage import GeoPackageStore
from tests.app.test_browser import app_url  # noqa: F401  (a fixture)
from tests.privacy.test_shared_view import coordinate_pairs, near


def assert_no_home_coordinates(text: str, homes) -> None:
    pairs = coordinate_pairs(text)
    assert len(pairs) > 100  # the map has data
    for g in homes.geometry:
        assert not near(pairs, g.x, g.y), f"a home's coordinates ({g.x:.4f}, {g.y:.4f}) leaked"

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")


def _app(user: User | None = None, **query: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=90)
    if user is not None:
        at.session_state["ctxmap_user"] = user
    for k, v in query.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, at.exception
    return at


def _pages(at: AppTest) -> set[str]:
    return {Path(p["script_path"]).name for p in at._registered_pages.values()}


def _payload(at: AppTest) -> str:
    els = [e for e in at.get("component_instance") if "json_args" in str(e.proto)]
    assert els, "no map on the page"
    return els[0].proto.json_args


def test_local_analyst_by_default(store_copy):
    at = _app()
    assert {"map.py", "import_layers.py", "audit.py"} <= _pages(at)
    assert any("local analyst" in c.value for c in at.sidebar.caption)


def test_meeting_viewer_sees_only_the_masked_map(store_copy):
    at = _app(User("mv", "meeting viewer", "test"))
    assert _pages(at) == {"map.py"}
    for page in ("import_layers.py", "audit.py", "concern.py", "contexts.py"):
        with pytest.raises(ValueError, match="Could not find a navigation page"):
            at.switch_page(f"pages/{page}")
    payload = _payload(at)
    homes = GeoPackageStore(store_copy, create=False).read("homes")
    for name in homes["name"]:
        assert json.dumps(name)[1:-1] not in payload and name not in payload
    assert_no_home_coordinates(payload, homes)
    assert any("ctxmap-meeting-banner" in m.value for m in at.markdown)


def test_meeting_viewer_cannot_leave_the_meeting_view(store_copy):
    at = _app(User("mv", "meeting viewer", "test"), view="normal")
    assert _pages(at) == {"map.py"}
    assert not [b for b in at.button if b.label == "Leave meeting view"]
    homes = GeoPackageStore(store_copy, create=False).read("homes")
    assert_no_home_coordinates(_payload(at), homes)


def test_coordinator_pages(store_copy):
    at = _app(User("co", "coordinator", "test"))
    assert "audit.py" not in _pages(at) and "import_layers.py" in _pages(at)
    with pytest.raises(ValueError):
        at.switch_page("pages/audit.py")


def test_analyst_meeting_view_offers_only_masked_pages(store_copy):
    at = _app(view="meeting")
    assert _pages(at) == {"map.py"}
    leave = [b for b in at.button if b.label == "Leave meeting view"]
    assert leave
    leave[0].click().run()
    assert not at.exception
    assert "audit.py" in _pages(at)
    assert "view" not in at.query_params


def test_env_role_only_with_testing_flag(store_copy, monkeypatch):
    monkeypatch.setenv("CTXMAP_TEST_ROLE", "meeting viewer")
    assert "audit.py" in _pages(_app())  # flag missing: ignored
    monkeypatch.setenv("CTXMAP_TESTING", "1")
    assert _pages(_app()) == {"map.py"}


def test_audit_page_guards_itself(store_copy):
    at = AppTest.from_file(str(ROOT / "pages" / "audit.py"), default_timeout=60)
    at.session_state["ctxmap_user"] = User("mv", "meeting viewer", "test")
    at.run()
    assert any("not available" in e.value for e in at.error)
    assert not at.dataframe


@pytest.mark.parametrize(("role", "page"), [("coordinator", "concern.py"),
                                           ("meeting viewer", "import_layers.py"),
                                           ("meeting viewer", "contexts.py"),
                                           ("meeting viewer", "nearby.py")])
def test_a_page_reached_by_its_own_url_guards_itself(store_copy, role, page):
    """Streamlit can run a file of pages/ without the router: the page checks its rule."""
    at = AppTest.from_file(str(ROOT / "pages" / page), default_timeout=60)
    at.session_state["ctxmap_user"] = User("u", role, "test")
    at.run()
    assert not at.exception, at.exception
    assert any("not available" in e.value for e in at.error)
    assert not at.dataframe


def test_audit_page_for_analyst_records_the_read(store_copy):
    at = AppTest.from_file(str(ROOT / "pages" / "audit.py"), default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    from ctxmap.privacy.audit import read_log

    log = read_log(GeoPackageStore(store_copy, create=False))
    assert "read audit log" in log["action"].tolist()


def test_unmasked_view_is_audited_once(store_copy):
    from ctxmap.privacy.audit import read_log

    before = len(read_log(GeoPackageStore(store_copy, create=False)))
    at = AppTest.from_file(str(ROOT / "pages" / "map.py"), default_timeout=60)
    at.run()
    at.run()
    log = read_log(GeoPackageStore(store_copy, create=False))
    new = log.iloc[: len(log) - before]
    assert new["action"].tolist() == ["view unmasked"]
    assert new["legal_basis"].iloc[0] == "public task"
    assert new["user"].iloc[0] == "local analyst"
    homes = len(GeoPackageStore(store_copy, create=False).read("homes"))
    what = new["what"].iloc[0]
    assert what.startswith("Map page: layers with homes as points") and f"homes {homes}" in what


@pytest.mark.browser
def test_meeting_view_in_browser(store_copy, app_url, tmp_path):  # noqa: F811
    """The meeting view in headless Chromium: banner, no sidebar, masked map; screenshot."""
    from urllib.parse import urlsplit

    from playwright.sync_api import sync_playwright

    from tests.app.test_browser import CHROMIUM, FRAME, LOCAL_HOSTS

    # docs/screenshot-meeting.png (1920x1080) is made by tests/app/test_accessibility.py
    shot = tmp_path / "screenshot-meeting.png"
    requests: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.on("request", lambda r: requests.append(r.url))
            page.goto(app_url + "/?view=meeting")
            frame = page.frame_locator(FRAME)
            frame.locator(".leaflet-interactive").first.wait_for(timeout=90_000)
            assert page.locator(".ctxmap-meeting-banner").count() == 1
            assert not page.locator('[data-testid="stSidebar"]').is_visible()
            assert "view=meeting" in page.url
            page.wait_for_timeout(2000)
            page.screenshot(path=str(shot))
        finally:
            browser.close()
    from ctxmap.maps.base import resolve_tiles_url

    tiles = resolve_tiles_url()
    allowed = set(LOCAL_HOSTS)
    if tiles:
        allowed.add(urlsplit(tiles.replace("{s}", "a")).hostname or "")
    offsite = [u for u in requests if urlsplit(u).scheme in ("http", "https")
               and urlsplit(u).hostname not in allowed]
    assert offsite == []


def test_audit_page_shows_the_chain(store_copy):
    """'chain intact: N rows' on an honest store; the first broken row after tampering."""
    import sqlite3

    from ctxmap.privacy.audit import verify

    con = sqlite3.connect(store_copy)
    rows = sum(con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
               for t in ("ctxmap_audit", "ctx_history"))
    con.close()
    at = AppTest.from_file(str(ROOT / "pages" / "audit.py"), default_timeout=60).run()
    assert not at.exception, at.exception
    assert f"chain intact: {rows} rows" in [s.value for s in at.success]
    assert verify(GeoPackageStore(store_copy, create=False))[0]
    con = sqlite3.connect(store_copy)
    con.executescript("DROP TRIGGER ctx_history_no_update; "
                      "UPDATE ctx_history SET changed_by = 'nobody' WHERE id = 5;")
    con.close()
    at = AppTest.from_file(str(ROOT / "pages" / "audit.py"), default_timeout=60).run()
    assert [e.value for e in at.error if "chain broken" in e.value] == [
        "chain broken: ctx_history row 5 does not match its hash: its content or hash was "
        "changed"]
