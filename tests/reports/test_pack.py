"""Meeting pack: self-contained, escaped, consent-filtered, homes masked."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ctxmap.cases.repository import add_record, load_bundle, update_record
from ctxmap.cases.sample_context import SAMPLE_CONTEXT_ID
from ctxmap.maps.assets import external_references
from ctxmap.reports.pack import make_pack, review_svg
from ctxmap.store.geopackage import GeoPackageStore
from tests.app.test_page_contexts import _small_store

EVIL = '<script>alert("x")</script>'


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> GeoPackageStore:
    s = _small_store(tmp_path_factory.mktemp("pack") / "s.gpkg")
    b = load_bundle(s, SAMPLE_CONTEXT_ID)
    update_record(s, "context", b.context.id, b.context.version, "w", name="Home " + EVIL)
    add_record(s, "review_note", b.context.id, "w", kind="other", text=EVIL,
                  noted_on="2019-03-02")
    return s


def test_full_pack_is_self_contained_and_escaped(store: GeoPackageStore) -> None:
    page = make_pack(store, SAMPLE_CONTEXT_ID, tiles_url="")
    assert EVIL not in page and "&lt;script&gt;alert(" in page
    assert external_references(page) == []
    assert "<svg" in page and "YP-0002" in page and "Content-Security-Policy" in page
    assert "srcdoc=" in page


def test_partner_pack_hides_what_consent_does_not_allow_and_masks_the_home(
    store: GeoPackageStore,
) -> None:
    home = store.read("homes").geometry.iloc[0]
    page = make_pack(store, SAMPLE_CONTEXT_ID, for_partner="Local police", tiles_url="")
    assert "YP-0002" not in page  # not linked for the police
    assert "Men wait there at night" not in page  # safety map not shared with police
    assert "Our safety and wellbeing plan" not in page
    assert "Staff say they feel supported" in page  # about the context, not a person
    for coord in (f"{home.x:.5f}", f"{home.y:.5f}"):
        assert coord not in page
    assert "home-cs-01" not in page
    assert "Withheld from this pack" in page
    assert re.search(r"no order or distances", page)


def test_partner_pack_for_cs_team_shows_consented_items(store: GeoPackageStore) -> None:
    page = make_pack(store, SAMPLE_CONTEXT_ID, for_partner="Contextual Safeguarding team",
                     include_map=False)
    assert "YP-0001" in page and "YP-0002" in page and "Men wait there at night" in page
    assert "Our safety and wellbeing plan" in page


def test_unknown_partner_refused(store: GeoPackageStore) -> None:
    from ctxmap.errors import InputError

    with pytest.raises(InputError, match="partner list"):
        make_pack(store, SAMPLE_CONTEXT_ID, for_partner="Someone")


def test_review_svg_has_one_bar_per_month() -> None:
    import geopandas as gpd
    from shapely.geometry import Point, box

    from ctxmap.analysis.review import before_after

    inc = gpd.GeoDataFrame({"id": list("abcd"), "month": ["2018-10", "2018-11", "2018-12",
                                                          "2019-01"], "category": ["Drugs"] * 4},
                           geometry=[Point(1.295, 52.625)] * 2 + [Point(1.32, 52.65)] * 2,
                           crs="EPSG:4326")
    r = before_after(inc, box(1.29, 52.62, 1.30, 52.63), box(1.25, 52.6, 1.35, 52.68), "2018-12")
    svg = review_svg(r)
    assert svg.count("<rect") == 4 and "plan start 2018-12" in svg


def test_pack_written_file(tmp_path: Path, store: GeoPackageStore) -> None:
    from ctxmap.reports.pack import write_pack

    out = write_pack(tmp_path / "p.html", make_pack(store, SAMPLE_CONTEXT_ID, include_map=False))
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def _evidence_section(page: str) -> str:
    return page[page.index("Evidence from the map"):page.index("<h2>Assessment")]


def test_partner_pack_shows_ranges_and_no_small_or_exact_counts(
    store: GeoPackageStore,
) -> None:
    """The partner's figures: ranges over the square, no count of 1 to 4, no exact count,
    no hotspot numbers, no distances, no review counts or chart."""
    page = make_pack(store, SAMPLE_CONTEXT_ID, for_partner="Local police", include_map=False)
    section = _evidence_section(page)
    cells = [re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<td>(.*?)</td>", section)]
    figures = cells[1::2]
    assert figures and all(re.fullmatch(r"0|fewer than 5|up to [\d,]+|[\d,]+ to [\d,]+", f)
                           for f in figures), figures
    for f in figures:  # every number shown is a multiple of 5 (ranges widened outwards)
        for n in re.findall(r"\d[\d,]*", f.replace("fewer than 5", "")):
            assert int(n.replace(",", "")) % 5 == 0, f
    assert "rate ratio" not in section and "expected at the study-area" not in section
    assert "Distance (m" not in section
    review = page[page.index("<h2>Review"):]
    assert "<svg" not in review and "ratio of rate ratios" not in review


def test_partner_pack_threshold_below_the_floor_is_refused(store: GeoPackageStore) -> None:
    from ctxmap.errors import InputError
    from ctxmap.reports.pack import PackOptions, build_pack_html

    bundle = load_bundle(store, SAMPLE_CONTEXT_ID)
    with pytest.raises(InputError, match="expected a whole number >= 3"):
        build_pack_html(bundle, {}, PackOptions(for_partner="Local police", threshold=2,
                                                include_map=False))


def test_partner_pack_uses_the_installation_square(store: GeoPackageStore,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """CTXMAP_MASK_CELL_M sets the pack's square too; below 100 m it is refused."""
    from ctxmap.errors import InputError
    from ctxmap.reports.pack import PackOptions, build_pack_html

    monkeypatch.setenv("CTXMAP_MASK_CELL_M", "500")
    page = make_pack(store, SAMPLE_CONTEXT_ID, for_partner="Local police", tiles_url="")
    assert "only as the 500 m square it lies in" in page
    assert "home location masked to a 500 m square" in page
    bundle = load_bundle(store, SAMPLE_CONTEXT_ID)
    with pytest.raises(InputError, match="expected at least 100 m"):
        build_pack_html(bundle, {}, PackOptions(for_partner="Local police", cell_m=50,
                                                include_map=False))


def test_partner_pack_of_a_public_context_bands_its_counts(sample_store_path: Path) -> None:
    """A context that is not a home keeps its place, but its counts are banded and its
    places alphabetical; the lead agency's exact counts do not appear."""
    import dataclasses

    from ctxmap.cases.evidence import context_evidence
    from ctxmap.reports.pack import PackOptions, build_pack_html
    from ctxmap.store.opening import open_store

    store = open_store(str(sample_store_path), create=False)
    bundle = load_bundle(store, SAMPLE_CONTEXT_ID)
    layers = {k: store.read(k) for k in ("incidents", "youth_centres", "safe_places", "areas")}
    incidents = layers["incidents"]
    located = incidents[incidents.geometry.notna()]
    busiest = located.geometry.to_wkt().value_counts().index[0]
    spot = located.geometry[located.geometry.to_wkt() == busiest].iloc[0]  # a busy spot
    ctx = dataclasses.replace(bundle.context, kind="public space", place_layer=None,
                              place_id=None, geometry=spot)
    public = dataclasses.replace(bundle, context=ctx)
    ev = context_evidence(spot, layers, radius_m=ctx.radius_m, categories=None)
    page = build_pack_html(public, layers, PackOptions(for_partner="Local police",
                                                       include_map=False), evidence=ev)
    section = _evidence_section(page)
    assert "within 400 m of the context" in section
    cells = [re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<td>(.*?)</td>", section)]
    figures = cells[1::2]
    assert int(ev.by_category.sum()) >= 5  # something to band
    assert figures and all(re.fullmatch(r"0|fewer than 5|[\d,]+ to [\d,]+", f)
                           for f in figures), figures
    names = section.split("nearby (alphabetical):", 1)[1].split("<span", 1)[0]
    listed = [re.sub(r"<[^>]+>", "", n).strip() for n in names.split(",")]
    assert listed == sorted(listed, key=lambda n: (n == "unnamed place", n.casefold(), n))
