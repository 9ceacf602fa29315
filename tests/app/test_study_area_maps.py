"""The store's study area is outlined on every map and named in its legend, in the reasons' words.

Every map of the dashboard (Map, its meeting view, Locations of concern, Contexts, Nearby),
the meeting pack (lead agency's and partner's), the safe-places card's map and the ``map``
command's HTML draw the study area kept in the store as an unfilled outline, its legend
line reading "Study area" and its description, e.g. "Great Yarmouth (174.3 km², from
great_yarmouth_lad_2013.geojson)". Checked on the sample (Norwich) and on a store whose
study area is Great Yarmouth; the name is user text and is escaped.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from ctxmap.analysis.inputs import read_study_area_file
from ctxmap.cli import main
from ctxmap.store.geopackage import GeoPackageStore
from ctxmap.store.marks import make_study_area, read_study_area, write_study_area

ROOT = Path(__file__).resolve().parents[2]
GY_LAD = ROOT / "data" / "source" / "boundaries" / "great_yarmouth_lad_2013.geojson"
NORWICH = "Norwich (39.0 km², from norwich_lad_2013.geojson)"
GREAT_YARMOUTH = "Great Yarmouth (174.3 km², from great_yarmouth_lad_2013.geojson)"


@pytest.fixture(params=["sample", "great_yarmouth"])
def outlined(request: pytest.FixtureRequest, store_copy: Path) -> tuple[Path, str]:
    """(store, the description its maps must show): the sample's, or Great Yarmouth set."""
    if request.param == "great_yarmouth":
        write_study_area(GeoPackageStore(store_copy, create=False),
                         read_study_area_file(GY_LAD))
        return store_copy, GREAT_YARMOUTH
    return store_copy, NORWICH


def map_scripts(at: AppTest) -> list[str]:
    """The script of every st_folium map on the page (one per map)."""
    return [json.loads(e.proto.json_args)["script"] for e in at.get("component_instance")
            if "json_args" in str(e.proto)]


def assert_outlined(script: str, description: str) -> None:
    """The outline layer (tooltip "Study area: …") and its legend line (the description)."""
    assert f"Study area: {description}" in script  # the outline's tooltip
    assert script.count(description) >= 2  # and the legend line beside "Study area"
    assert '"fill": false' in script or '"fill":false' in script  # unfilled


def run(page: str, **query: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "pages" / page), default_timeout=120)
    for k, v in query.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, at.exception
    return at


def test_the_store_is_what_the_maps_show(outlined):
    store, description = outlined
    area = read_study_area(GeoPackageStore(store, create=False))
    assert area is not None and area.description == description


@pytest.mark.parametrize("view", ["normal", "meeting"])
def test_map_page_and_its_masked_meeting_view(outlined, view):
    _store, description = outlined
    at = run("map.py", **({"view": "meeting"} if view == "meeting" else {}))
    (script,) = map_scripts(at)
    assert_outlined(script, description)


def test_concern_page_map(outlined):
    _store, description = outlined
    at = run("concern.py")
    scripts = map_scripts(at)
    assert scripts, "no map on the Locations of concern page"
    for script in scripts:
        assert_outlined(script, description)


def test_contexts_page_maps(outlined):
    _store, description = outlined
    at = run("contexts.py")
    scripts = map_scripts(at)
    # the evidence map and the pooled safety map (and the drawing map when open)
    assert len(scripts) >= 2
    assert any("Context area" in s for s in scripts)
    assert any("Safety map (young people" in s for s in scripts)
    for script in scripts:
        assert_outlined(script, description)
    masked = run("contexts.py", view="meeting")  # the shared screen: the pooled safety map
    (script,) = map_scripts(masked)
    assert_outlined(script, description)


def test_nearby_page_maps(outlined, monkeypatch):
    _store, description = outlined
    monkeypatch.delenv("CTXMAP_NETWORK", raising=False)
    at = run("nearby.py")
    (places_map,) = map_scripts(at)  # no start yet: every place
    assert_outlined(places_map, description)
    at.selectbox(key="nearby_home").set_value("home-cs-01").run()
    at.toggle(key="nearby_cov_map").set_value(True).run()
    assert not at.exception, at.exception
    scripts = map_scripts(at)
    assert len(scripts) == 2  # the nearest places and the coverage map
    for script in scripts:
        assert_outlined(script, description)


def test_packs_card_and_map_command(outlined, tmp_path):
    from ctxmap.reports.pack import make_pack

    store, description = outlined
    opened = GeoPackageStore(store, create=False)
    for partner in (None, "Local police"):
        page = make_pack(opened, "ctx-0001", for_partner=partner, tiles_url="")
        assert f"Study area: {description}" in page, partner
    out = tmp_path / "map.html"
    code = main(["map", "--store", str(store), "--out", str(out), "--legal-basis",
                 "public task"])
    if description == GREAT_YARMOUTH:  # Norwich's data under Great Yarmouth's outline: refused
        assert code == 1 and not out.exists()  # (tests/commands/test_own_area.py: a real one)
        return
    assert code == 0
    assert_outlined(out.read_text(encoding="utf-8"), description)


def test_the_name_is_escaped(store_copy):
    """A study area's name is user text: drawn as text, never as markup or script."""
    hostile = 'Yarmouth <img src=x onerror="alert(1)"> & </script>'
    store = GeoPackageStore(store_copy, create=False)
    write_study_area(store, make_study_area(read_study_area_file(GY_LAD).geometry, hostile,
                                            "gy.geojson"))
    at = run("map.py")
    (script,) = map_scripts(at)
    assert "<img" not in script and "</script>" not in script.split("Yarmouth", 1)[1]
    assert "Study area" in script and "Yarmouth" in script


def test_pack_and_contexts_page_use_the_stored_study_area(store_copy):
    """The hotspot test and the review are measured in the store's study area, named as set."""
    from ctxmap.cases.repository import load_bundle
    from ctxmap.reports.pack import context_review, make_pack

    store = GeoPackageStore(store_copy, create=False)
    norwich = read_study_area(store)
    assert norwich is not None
    named = make_study_area(norwich.geometry, "Norwich & <City>", "my_outline.geojson")
    write_study_area(store, named)
    page = make_pack(store, "ctx-0001", tiles_url="", include_map=False)
    assert "study area: Norwich &amp; &lt;City&gt; (39.0 km², from my_outline.geojson)" in page
    # the review's baseline is the study area given, not a guess from the stored areas
    bundle = load_bundle(store, "ctx-0001")
    layers = {k: store.read(k) for k in ("incidents", "areas")}
    whole = context_review(bundle, layers, named)
    half = context_review(bundle, layers, named.geometry.intersection(
        named.geometry.centroid.buffer(0.03)))
    assert whole is not None and half is not None
    assert whole.rest_before != half.rest_before or whole.rest_after != half.rest_after
    at = run("contexts.py")
    from ctxmap.text import esc_markdown

    (method,) = [c.value for c in at.caption if "study area: Norwich" in c.value]
    assert esc_markdown(named.description) in method  # named as set, escaped for markdown
