"""Accessibility of the running app in headless Chromium: axe-core, keyboard, meeting view.

One server and one browser for the module. axe-core (npm, pinned in package-lock.json,
copied to ``static/vendor/axe-core/`` by ``npm ci``, never a CDN) runs the WCAG 2.0,
2.1 and 2.2 A and AA rules on every page in the normal view and in the meeting view,
and inside every map's iframe (layer control, legend, attribution, and an open popup).
Any serious or critical violation fails the test, printed page by page.

The meeting view is measured at 1920x1080 and 1366x768: the map's iframe takes at
least 70 % of the window's height (all of it on screen), and banners, legends and
metrics are at least 1.25 times the size of the normal pages' type. Screenshots go to
the test's temporary directory (docs/screenshot-meeting.png with
CTXMAP_UPDATE_SCREENSHOTS=1).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.app.browser_app import CHROMIUM, CHROMIUM_ARGS, FRAME, REPO, running_app

pytestmark = pytest.mark.browser

AXE = REPO / "static" / "vendor" / "axe-core" / "axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]
FAILING = {"serious", "critical"}
#: The pages of the normal view (an analyst sees them all) and of the meeting view.
PAGES = {
    "Map": "/",
    "Contexts": "/contexts",
    "Locations of concern": "/concern",
    "Nearby": "/nearby",
    "Import": "/import_layers",
    "Audit": "/audit",
}
MEETING_PAGES = {"Map (meeting view)": "/?view=meeting"}
#: Pages that open with a map drawn.
WITH_MAP = {"Map", "Contexts", "Locations of concern", "Nearby", "Map (meeting view)"}
MEETING_SIZES = [(1920, 1080), (1366, 768)]
MIN_MAP_SHARE = 0.70
MIN_TYPE_SCALE = 1.25

# One axe run: the rules of WCAG 2.x A/AA. Target size (2.5.8) is checked everywhere
# except on the map's own features: a map's points are where the data puts them
# (WCAG's "essential" exception), and thousands of them make the rule take minutes.
_RUN_AXE = """async ([tags, excludeMapFeatures]) => {
  const context = excludeMapFeatures
    ? {exclude: [[".leaflet-marker-pane"], [".leaflet-overlay-pane"]]} : document;
  const all = await axe.run(document, {runOnly: {type: "tag", values: tags},
      rules: {"target-size": {enabled: false}}, iframes: false});
  const size = await axe.run(context, {runOnly: {type: "rule", values: ["target-size"]},
      iframes: false});
  return [...all.violations, ...size.violations].map(v => ({
    id: v.id, impact: v.impact, help: v.help, count: v.nodes.length,
    nodes: v.nodes.slice(0, 5).map(n => n.target.join(" ") + " :: " +
        (n.failureSummary || "").split("\\n").slice(0, 3).join(" "))}));
}"""


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One server for the module (no tiles: nothing is fetched, the map is white)."""
    with running_app(tmp_path_factory.mktemp("a11y"), {"CTXMAP_TILES_URL": ""}) as url:
        yield url


@pytest.fixture(scope="module")
def browser(app_url: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def settle(page: Any, *, with_map: bool) -> None:
    """Wait until the page has run (and, ``with_map``, its map has drawn its features)."""
    page.locator('[data-testid="stMainBlockContainer"] h1, .ctxmap-meeting-banner').first.wait_for(
        timeout=120_000)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"], [data-stale=\"true\"]')",
        timeout=120_000)
    if with_map:
        page.frame_locator(FRAME).first.locator(".leaflet-interactive").first.wait_for(
            state="attached", timeout=120_000)
    page.wait_for_timeout(800)


def axe_violations(frame: Any, *, exclude_map_features: bool = False) -> list[dict[str, Any]]:
    """Serious and critical axe-core violations (WCAG 2.x A and AA) in one frame."""
    if not AXE.is_file():
        pytest.fail(f"{AXE} is missing: run `npm ci` (it copies axe-core into static/vendor/)")
    if not frame.evaluate("() => typeof window.axe !== 'undefined'"):
        frame.add_script_tag(content=AXE.read_text(encoding="utf-8"))
    found = frame.evaluate(_RUN_AXE, [WCAG_TAGS, exclude_map_features])
    return [v for v in found if v["impact"] in FAILING]


def map_frames(page: Any) -> list[Any]:
    """The frames of the page that hold a drawn Leaflet map."""
    return [f for f in page.frames if f is not page.main_frame
            and f.evaluate("() => !!document.querySelector('.leaflet-container')")]


_FEATURES = '.leaflet-marker-pane [role="button"], .leaflet-overlay-pane [role="button"]'


def open_a_popup(frame: Any, tries: int = 12) -> bool:
    """Open a feature's popup from the keyboard (focus, Enter); True if one opened.

    The features drawn last (points, above the areas) are tried first.
    """
    features = frame.locator(_FEATURES)
    n = features.count()
    for i in range(n - 1, max(n - 1 - tries, -1), -1):
        features.nth(i).press("Enter")
        frame.page.wait_for_timeout(200)
        if frame.locator(".leaflet-popup").count():
            return True
    return False


def audit_page(page: Any, url: str, *, with_map: bool) -> dict[str, list[dict[str, Any]]]:
    """axe results of a page: its main document and each map frame (with a popup open)."""
    page.goto(url)
    settle(page, with_map=with_map)
    results = {"page": axe_violations(page.main_frame)}
    for k, frame in enumerate(map_frames(page)):
        results[f"map {k + 1}"] = axe_violations(frame, exclude_map_features=True)
        if open_a_popup(frame):
            results[f"map {k + 1} with a popup"] = axe_violations(
                frame, exclude_map_features=True)
    return results


def report(found: dict[str, dict[str, list[dict[str, Any]]]]) -> str:
    lines = []
    for page, parts in found.items():
        for part, violations in parts.items():
            for v in violations:
                lines.append(f"{page} / {part}: {v['id']} ({v['impact']}, {v['count']} "
                             f"elements): {v['help']}")
                lines.extend(f"    {n}" for n in v["nodes"])
    return "\n".join(lines)


def test_axe_finds_no_serious_violation_on_any_page(app_url: str, browser: Any) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    found: dict[str, dict[str, list[dict[str, Any]]]] = {}
    frames_checked = popups = 0
    try:
        for name, path in {**PAGES, **MEETING_PAGES}.items():
            found[name] = audit_page(page, app_url + path, with_map=name in WITH_MAP)
            frames_checked += sum(1 for part in found[name] if part.startswith("map"))
            popups += sum(1 for part in found[name] if part.endswith("popup"))
    finally:
        page.close()
    print("axe-core serious/critical violations per page:")
    for name, parts in found.items():
        print(f"  {name}: " + ", ".join(f"{part} {sum(v['count'] for v in vs)}"
                                        for part, vs in parts.items()))
    assert frames_checked >= len(WITH_MAP), "the maps' iframes were not checked"
    assert popups >= 2, "no popup could be opened from the keyboard"
    assert not any(vs for parts in found.values() for vs in parts.values()), report(found)


_FONT_PX = "(sel) => { const e = document.querySelector(sel); " \
    "return e ? parseFloat(getComputedStyle(e).fontSize) : null; }"
_VISIBLE = """(sel) => { const e = document.querySelector(sel);
  if (!e || !e.getClientRects().length) { return 0; }
  const r = e.getBoundingClientRect();
  return Math.max(0, Math.min(r.bottom, innerHeight) - Math.max(r.top, 0)); }"""
_METRIC_VALUE = '[data-testid="stMetricValue"] p'
_METRIC_LABEL = '[data-testid="stMetricLabel"] p'
_LEGEND = ".ctxmap-legend"


def type_sizes(page: Any) -> dict[str, float | None]:
    """Font sizes (px) of the page's metrics, root text, banner and the map's legend."""
    sizes = {name: page.evaluate(_FONT_PX, sel) for name, sel in (
        ("metric value", _METRIC_VALUE), ("metric label", _METRIC_LABEL),
        ("text", "html"), ("banner", ".ctxmap-meeting-banner"))}
    sizes["legend"] = map_frames(page)[0].evaluate(_FONT_PX, _LEGEND)
    return sizes


def map_share(page: Any) -> float:
    """The share of the window's height the map's iframe covers on screen."""
    return float(page.evaluate(_VISIBLE, FRAME)) / float(page.viewport_size["height"])


def test_meeting_view_map_fills_the_screen_in_large_type(
    app_url: str, browser: Any, tmp_path: Path
) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    shots = REPO / "docs" if os.environ.get("CTXMAP_UPDATE_SCREENSHOTS") == "1" else tmp_path
    try:
        page.goto(app_url + "/")
        settle(page, with_map=True)
        normal = type_sizes(page)
        page.goto(app_url + "/?view=meeting")
        settle(page, with_map=True)
        meeting = type_sizes(page)
        shares: dict[str, float] = {}
        for w, h in MEETING_SIZES:
            page.set_viewport_size({"width": w, "height": h})
            page.wait_for_timeout(600)
            shares[f"meeting {w}x{h}"] = map_share(page)
            page.screenshot(path=str(tmp_path / f"meeting-{w}x{h}.png"))
        switch = page.get_by_role("switch", name="Presenter mode")
        switch.focus()
        page.keyboard.press("Space")  # the switch works from the keyboard
        page.locator('[data-testid="stMetric"]').first.wait_for(state="hidden", timeout=60_000)
        settle(page, with_map=True)
        for w, h in reversed(MEETING_SIZES):
            page.set_viewport_size({"width": w, "height": h})
            page.wait_for_timeout(600)
            shares[f"presenter {w}x{h}"] = map_share(page)
            name = "screenshot-meeting.png" if (w, h) == (1920, 1080) else f"presenter-{w}x{h}.png"
            page.screenshot(path=str((shots if name.startswith("screenshot") else tmp_path)
                                     / name))
        presenting = {
            "banner": page.locator(".ctxmap-meeting-banner").is_visible(),
            "map": page.locator(FRAME).is_visible(),
            "legend": page.frame_locator(FRAME).locator(_LEGEND).is_visible(),
            "title": page.locator('[data-testid="stMainBlockContainer"] h1').is_visible(),
            "metrics": page.locator('[data-testid="stMetric"]').first.is_visible(),
            "area choice": page.get_by_label("Area").first.is_visible(),
            "switch": switch.is_visible(),
        }
    finally:
        page.close()
    print(f"map share of the window height: {shares}")
    print(f"type (px): normal {normal}, meeting {meeting}")
    assert all(share >= MIN_MAP_SHARE for share in shares.values()), shares
    for part in ("metric value", "metric label", "legend"):
        assert meeting[part] >= MIN_TYPE_SCALE * normal[part], (part, normal, meeting)
    assert meeting["banner"] >= MIN_TYPE_SCALE * normal["text"], (normal, meeting)
    assert presenting == {"banner": True, "map": True, "legend": True, "title": False,
                          "metrics": False, "area choice": False, "switch": True}


def test_map_works_from_the_keyboard(app_url: str, browser: Any) -> None:
    """Tab reaches the layer control and the legend, focus is visible, Space toggles a
    layer, Enter on a focused feature opens its popup and Escape closes it."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        page.goto(app_url + "/")
        settle(page, with_map=True)
        frame = map_frames(page)[0]
        frame.locator(".leaflet-container").focus()
        reached: list[dict[str, Any]] = []
        for _ in range(40):
            page.keyboard.press("Tab")
            reached.append(frame.evaluate("""() => { const e = document.activeElement;
              const s = getComputedStyle(e);
              return {label: e.getAttribute("aria-label") || e.parentElement.textContent.trim(),
                      region: (e.closest("[role=region]") || e).getAttribute("aria-label"),
                      outline: parseFloat(s.outlineWidth) || 0, shadow: s.boxShadow}; }"""))
        regions = {r["region"] for r in reached}
        assert {"Map layers", "Legend"} <= regions, regions
        assert all(r["outline"] >= 2 or r["shadow"] != "none" for r in reached), reached
        box = frame.locator(".leaflet-control-layers-overlays input").first
        before = frame.evaluate("() => document.querySelectorAll('.leaflet-interactive').length")
        box.focus()
        page.keyboard.press("Space")
        page.wait_for_timeout(300)
        after = frame.evaluate("() => document.querySelectorAll('.leaflet-interactive').length")
        assert after != before  # a layer went off the map
        page.keyboard.press("Space")
        assert open_a_popup(frame)
        page.keyboard.press("Escape")
        page.wait_for_timeout(300)
        assert frame.locator(".leaflet-popup").count() == 0
    finally:
        page.close()
