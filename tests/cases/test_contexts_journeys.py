"""The whole contexts-of-concern journey through the page's widgets (AppTest, sample copy).

Referral -> assessment -> plan action with a partner -> consent -> "active plan" ->
"review" -> review note; the history shows every step, and the partner pack is
consent-filtered and never places the home.
"""

from __future__ import annotations

import html
from pathlib import Path

from shapely.geometry import Point
from streamlit.testing.v1 import AppTest

from ctxmap.cases.repository import history, list_contexts, load_bundle
from ctxmap.reports.pack import make_pack
from ctxmap.store.geopackage import GeoPackageStore
from tests.privacy.test_shared_view import coordinate_pairs, near

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "contexts.py")
HOME_ID = "home-fx-01"


def _ok(at: AppTest) -> None:
    assert not at.exception, at.exception
    errors = [e.value for e in at.error if "overdue" not in e.value]
    assert not errors, errors


def test_referral_to_review_and_pack(store_copy: Path) -> None:
    store = GeoPackageStore(store_copy)
    homes = store.read("homes")
    home = homes[homes["id"] == HOME_ID].geometry.iloc[0]
    at = AppTest.from_file(PAGE, default_timeout=90).run()
    _ok(at)
    # 1. referral of a home, from the map's places, with two young people
    at.selectbox(key="ctx_selected").set_value("➕ Refer a new context").run()
    at.text_input(key="ref_name").input("Willow House (journey test)")
    at.selectbox(key="ref_kind").set_value("home")
    at.radio(key="ref_where").set_value("A place on the map")
    at.selectbox(key="ref_place").set_value(f"homes:{HOME_ID}")
    at.text_area(key="ref_reason").input("Staff worried about adults waiting outside")
    at.text_input(key="ref_worker").input("worker-42")
    at.text_input(key="ref_yp").input("YP-0101, YP-0102")
    at.button(key="ref_submit").click().run()
    _ok(at)
    frame = list_contexts(store)
    cid = frame.loc[frame["name"] == "Willow House (journey test)", "id"].iloc[0]
    assert at.selectbox(key="ctx_selected").value == cid
    assert load_bundle(store, cid).context.geometry.distance(home) < 1e-6  # stored to 7 dp
    # 2. an assessment entry about the place
    at.selectbox(key="as_side").set_value("guardianship")
    at.selectbox(key="as_factor").set_value("vulnerability")
    at.selectbox(key="as_sg").set_value("B")
    at.selectbox(key="as_ig").set_value("2")
    at.text_area(key="as_text").input("Night staff unsure how to challenge visitors")
    at.text_input(key="as_source").input("Home manager")
    at.button(key="as_add").click().run()
    _ok(at)
    # 3. a plan action with a partner
    at.selectbox(key="act_partner").set_value("Local police")
    at.text_input(key="act_what").input("Evening patrols past the home")
    at.text_input(key="act_owner").input("Neighbourhood sergeant")
    at.button(key="act_add").click().run()
    _ok(at)
    # 4. consent: YP-0101 agrees the police may know they are linked (YP-0102 does not)
    at.selectbox(key="con_yp").set_value("YP-0101")
    at.selectbox(key="con_partner").set_value("Local police")
    at.multiselect(key="con_cats").set_value(["link"])
    at.selectbox(key="con_basis").set_value("consent")
    at.button(key="con_add").click().run()
    _ok(at)
    # 5. status: active plan, then review
    for status in ("active plan", "review"):
        at.selectbox(key=f"ov_status_{cid}").set_value(status)
        at.button(key="ov_save").click().run()
        _ok(at)
        assert load_bundle(store, cid).context.status == status
    # 6. a review note
    at.selectbox(key="note_kind").set_value("staff confidence")
    at.text_area(key="note_text").input("Night staff now challenge visitors")
    at.button(key="note_add").click().run()
    _ok(at)

    bundle = load_bundle(store, cid)
    assert [y.yp_ref for y in bundle.young_people] == ["YP-0101", "YP-0102"]
    assert [(e.side, e.factor, e.source_grade, e.info_grade) for e in bundle.assessment] == [
        ("guardianship", "vulnerability", "B", "2")]
    assert [(a.partner, a.what) for a in bundle.actions] == [
        ("Local police", "Evening patrols past the home")]
    assert [(c.yp_ref, c.partner, c.category) for c in bundle.consents] == [
        ("YP-0101", "Local police", "link")]
    assert [n.text for n in bundle.review_notes] == ["Night staff now challenge visitors"]

    # the history (store and the page's History tab) shows every step
    h = history(store, cid)
    steps = set(zip(h["entity"], h["action"], strict=True))
    assert {("context", "create"), ("young_person", "create"), ("assessment", "create"),
            ("action", "create"), ("consent", "create"), ("context", "update"),
            ("review_note", "create")} <= steps
    statuses = h[(h["entity"] == "context") & (h["field"] == "status")]["new"].tolist()
    assert statuses == ['"referred"', '"active plan"', '"review"']
    (shown,) = [d.value for d in at.dataframe if {"entity", "changed_by"} <= set(d.value)]
    assert len(shown) == len(h)
    assert set(shown["changed_by"]) == {"worker-01"}

    # 7. the meeting pack: the page offers it, and the partner's pack is consent-filtered
    at.selectbox(key="ctx_pack_for").set_value("Local police")
    at.button(key="pack_make").click().run()
    _ok(at)
    assert any("Download pack" in b.proto.label for b in at.get("download_button"))
    page = make_pack(store, cid, for_partner="Local police", tiles_url="")
    assert "YP-0101" in page  # consent to share the link with the police
    assert "YP-0102" not in page  # no consent: never shown
    assert "Willow House (journey test)" in page
    for coord in (f"{home.x:.5f}", f"{home.y:.5f}"):
        assert coord not in page, f"the home's coordinate {coord} is in the partner pack"
    pairs = coordinate_pairs(html.unescape(page))
    assert len(pairs) > 10  # the pack's map has data
    assert not near(pairs, home.x, home.y), "the home's point is in the partner pack's map"
    assert HOME_ID not in page
    full = make_pack(store, cid, tiles_url="", include_map=False)
    assert "YP-0102" in full  # the lead agency's own pack has everything


# --------------------------------------------------------------------------- scope and places


def test_contexts_as_places_points_areas_and_no_online_spaces(tmp_path: Path) -> None:
    from shapely.geometry import Polygon

    from ctxmap.cases.repository import create_context
    from ctxmap.cases.scope import contexts_as_places

    store = GeoPackageStore(tmp_path / "s.gpkg")
    # an L-shaped area: its centroid is outside it, its representative point is inside
    ell = Polygon([(1.30, 52.60), (1.32, 52.60), (1.32, 52.605), (1.305, 52.605),
                   (1.305, 52.62), (1.30, 52.62)])
    create_context(store, "w", name="Estate", kind="street", referral_date="2019-01-01",
                   referral_reason="r", geometry=ell, young_people=["YP-0007"])
    create_context(store, "w", name="Shop", kind="business", referral_date="2019-01-02",
                   referral_reason="r", geometry="POINT (1.31 52.63)")
    create_context(store, "w", name="Group chat", kind="online space",
                   referral_date="2019-01-03", referral_reason="r")
    got = contexts_as_places(store)
    assert got.crs == "EPSG:4326"
    assert got["name"].tolist() == ["Estate", "Shop"]  # the online space has no location
    assert set(got["layer"]) == {"contexts"}
    assert got["location"].tolist() == [
        "representative point of the area", "point"]
    assert ell.contains(got.geometry.iloc[0]) and not ell.contains(ell.centroid)
    assert got.geometry.iloc[1].equals_exact(Point(1.31, 52.63), 1e-9)
    assert got["category"].tolist() == ["street", "business"]
    assert not any("YP-" in str(v) for v in got.drop(columns="geometry").to_numpy().ravel())


def test_contexts_for_user_scopes_coordinators(tmp_path: Path) -> None:
    from ctxmap.cases.repository import create_context
    from ctxmap.cases.scope import contexts_for_user

    store = GeoPackageStore(tmp_path / "s.gpkg")
    for i, lead in enumerate(["ana@example.org", "Bob", " ANA@example.org ", ""]):
        create_context(store, "w", name=f"Place {i}", kind="park", referral_date="2019-01-01",
                       referral_reason="r", geometry="POINT (1.3 52.6)", lead_worker=lead)
    every = contexts_for_user(store, "ana@example.org", "analyst")
    assert len(every) == 4 and "lead_worker" in every
    mine = contexts_for_user(store, "ana@example.org", "coordinator")
    brute = sorted(r.id for r in every.itertuples()
                   if r.lead_worker.strip().lower() == "ana@example.org")
    assert sorted(mine["id"]) == brute and len(brute) == 2
    assert contexts_for_user(store, "nobody", "coordinator").empty
