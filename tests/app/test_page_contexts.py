"""AppTest of the contexts page on a temporary copy of a small store with the sample context."""

from __future__ import annotations

import shutil
from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import Point, box
from streamlit.testing.v1 import AppTest

from ctxmap.cases.repository import list_contexts, load_bundle
from ctxmap.cases.sample_context import add_sample_context
from ctxmap.store.geopackage import DEFAULT_STORE_PATH, GeoPackageStore

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "contexts.py")


def _small_store(path: Path) -> GeoPackageStore:
    """A tiny store: one home (home-cs-01), two safe places, incidents, a district."""
    store = GeoPackageStore(path)
    home = gpd.GeoDataFrame(
        {"id": ["home-cs-01"], "name": ["Test home"], "category": ["supported living (16+)"],
         "fictional": [True]}, geometry=[Point(1.30, 52.63)], crs="EPSG:4326")
    store.write("homes", home, file="t")
    safe = gpd.GeoDataFrame({"id": ["s1", "s2"], "name": ["Library", "Pharmacy"],
                             "category": ["library", "pharmacy"]},
                            geometry=[Point(1.301, 52.631), Point(1.31, 52.64)], crs="EPSG:4326")
    store.write("safe_places", safe, file="t")
    months = ["2018-10", "2018-11", "2018-12", "2019-01"]
    inc = gpd.GeoDataFrame(
        {"id": [f"i{i}" for i in range(8)], "month": [months[i % 4] for i in range(8)],
         "category": ["Drugs"] * 8},
        geometry=[Point(1.3001, 52.6301), Point(1.32, 52.62), None, Point(1.3002, 52.63),
                  Point(1.28, 52.61), Point(1.3, 52.6302), Point(1.29, 52.625), None],
        crs="EPSG:4326")
    store.write("incidents", inc, file="t")
    areas = gpd.GeoDataFrame({"id": ["D"], "name": ["District"], "level": ["district"]},
                             geometry=[box(1.25, 52.58, 1.35, 52.68)], crs="EPSG:4326")
    store.write("areas", areas, file="t")
    add_sample_context(store)
    return store


@pytest.fixture()
def store_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "copy.gpkg"
    if DEFAULT_STORE_PATH.exists():
        shutil.copy(DEFAULT_STORE_PATH, path)
        GeoPackageStore(path)  # migrate
        add_sample_context(GeoPackageStore(path))
    else:
        _small_store(path)
    monkeypatch.setenv("CTXMAP_STORE", str(path))
    return path


def test_page_runs_and_shows_the_sample_context(store_copy: Path) -> None:
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception
    assert at.selectbox(key="ctx_selected").value == "ctx-0001"
    assert len(at.tabs) == 9


def test_creating_a_context_through_the_form_persists_it(store_copy: Path) -> None:
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    at.selectbox(key="ctx_selected").set_value("➕ Refer a new context").run()
    assert not at.exception
    at.text_input(key="ref_name").input("Bus station underpass")
    at.selectbox(key="ref_kind").set_value("transport hub")
    at.text_area(key="ref_reason").input("Young people approached by adults offering lifts")
    at.text_input(key="ref_yp").input("YP-0101")
    at.button(key="ref_submit").click().run()
    assert not at.exception, at.exception
    assert not _errors(at), _errors(at)
    frame = list_contexts(GeoPackageStore(store_copy))
    row = frame[frame["name"] == "Bus station underpass"]
    assert len(row) == 1
    bundle = load_bundle(GeoPackageStore(store_copy), row["id"].iloc[0])
    assert bundle.context.kind == "transport hub"
    assert [y.yp_ref for y in bundle.young_people] == ["YP-0101"]
    assert at.selectbox(key="ctx_selected").value == row["id"].iloc[0]


def test_a_name_as_young_person_reference_is_refused_on_the_page(store_copy: Path) -> None:
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    at.selectbox(key="ctx_selected").set_value("➕ Refer a new context").run()
    at.text_input(key="ref_name").input("Park")
    at.text_area(key="ref_reason").input("Reason")
    at.text_input(key="ref_yp").input("Jane Smith")
    at.button(key="ref_submit").click().run()
    assert not at.exception
    assert any("looks like a name" in e.value for e in at.error)
    assert "Park" not in list_contexts(GeoPackageStore(store_copy))["name"].tolist()


# --------------------------------------------------------------------------- scope and edits


def _errors(at: AppTest) -> list[str]:
    """Error boxes other than the sample's overdue actions."""
    return [e.value for e in at.error if "overdue" not in e.value]


def _frames_with(at: AppTest, column: str) -> list:
    return [d.value for d in at.dataframe if column in d.value.columns]


def test_a_coordinator_sees_only_the_contexts_they_lead(
        store_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ctxmap.cases.repository import create_context

    store = GeoPackageStore(store_copy)
    mine = create_context(store, "w", name="Park by the river", kind="park",
                          referral_date="2019-01-10", referral_reason="Reports of grooming",
                          geometry="POINT (1.29 52.62)", lead_worker="test coordinator")
    monkeypatch.setenv("CTXMAP_TESTING", "1")
    monkeypatch.setenv("CTXMAP_TEST_ROLE", "coordinator")
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception, at.exception
    (listing,) = _frames_with(at, "lead_worker")
    assert listing["id"].tolist() == [mine.id]  # ctx-0001 is led by someone else
    assert [o.split(":")[0] for o in at.selectbox(key="ctx_selected").options[:-1]] == [mine.id]
    assert any("only the contexts you lead" in i.value for i in at.info)
    # the referral form proposes the coordinator as lead worker, so new referrals stay visible
    at.selectbox(key="ctx_selected").set_value("➕ Refer a new context").run()
    assert at.text_input(key="ref_worker").value == "test coordinator"


def test_an_analyst_sees_every_context(store_copy: Path) -> None:
    from ctxmap.cases.repository import create_context

    create_context(GeoPackageStore(store_copy), "w", name="Park", kind="park",
                   referral_date="2019-01-10",
                   referral_reason="r", geometry="POINT (1.29 52.62)", lead_worker="someone")
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    (listing,) = _frames_with(at, "lead_worker")
    assert sorted(listing["id"]) == sorted(list_contexts(GeoPackageStore(store_copy))["id"])
    assert not any("only the contexts you lead" in i.value for i in at.info)


def test_assessment_entry_edited_and_deleted_on_the_page(store_copy: Path) -> None:
    store = GeoPackageStore(store_copy)
    first = load_bundle(store, "ctx-0001").assessment[0]
    n = len(load_bundle(store, "ctx-0001").assessment)
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    at.selectbox(key="as_pick").set_value(first.id).run()
    gen = at.session_state["as_gen"]
    at.text_area(key=f"ase_text_{first.id}_{gen}").input("Edited: seen twice near the home")
    at.selectbox(key=f"ase_ig_{first.id}_{gen}").set_value("3")
    at.button(key=f"ase_save_{first.id}_{gen}").click().run()
    assert not at.exception and not _errors(at), _errors(at)
    now = next(e for e in load_bundle(store, "ctx-0001").assessment if e.id == first.id)
    assert (now.text, now.info_grade, now.version) == (
        "Edited: seen twice near the home", "3", first.version + 1)
    # delete: needs the tick; without it nothing is deleted
    at.selectbox(key="as_pick").set_value(first.id).run()
    gen = at.session_state["as_gen"]
    at.button(key=f"ase_delete_{first.id}_{gen}").click().run()
    assert any("Tick" in w.value for w in at.warning)
    assert len(load_bundle(store, "ctx-0001").assessment) == n
    at.checkbox(key=f"ase_sure_{first.id}_{gen}").check()
    at.button(key=f"ase_delete_{first.id}_{gen}").click().run()
    assert not _errors(at), _errors(at)
    left = load_bundle(store, "ctx-0001").assessment
    assert len(left) == n - 1 and first.id not in {e.id for e in left}
    from ctxmap.cases.repository import history

    h = history(store, "ctx-0001")
    mine = h[(h["entity"] == "assessment") & (h["entity_id"] == str(first.id))]
    assert {"update", "delete"} <= set(mine["action"])


def test_assessment_edit_conflict_names_who_changed_it(store_copy: Path) -> None:
    from ctxmap.cases.repository import update_record

    store = GeoPackageStore(store_copy)
    first = load_bundle(store, "ctx-0001").assessment[0]
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    at.selectbox(key="as_pick").set_value(first.id).run()
    gen = at.session_state["as_gen"]
    # someone else saves the entry after this user read it
    update_record(store, "assessment", first.id, first.version, "other-worker-7",
                  text="Changed by someone else")
    at.text_area(key=f"ase_text_{first.id}_{gen}").input("My change")
    at.button(key=f"ase_save_{first.id}_{gen}").click().run()
    assert not at.exception
    errors = " ".join(_errors(at))
    assert "other-worker-7" in errors and "not saved" in errors.lower()
    now = next(e for e in load_bundle(store, "ctx-0001").assessment if e.id == first.id)
    assert now.text == "Changed by someone else"
    # the form now shows the stored entry (a new read), so saving again works
    gen2 = at.session_state["as_gen"]
    assert gen2 == gen + 1
    at.run()
    assert at.text_area(key=f"ase_text_{first.id}_{gen2}").value == "Changed by someone else"


# --------------------------------------------------------------------------- safety map


def test_a_rating_picked_from_the_layers_is_stored_at_the_place(store_copy: Path) -> None:
    store = GeoPackageStore(store_copy)
    safe = store.read("safe_places")
    target = safe[safe["name"].notna()].iloc[0]
    before = len(load_bundle(store, "ctx-0001").safety_ratings)
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert "homes:" not in " ".join(at.selectbox(key="rate_place").options)
    at.selectbox(key="rate_place").set_value(f"safe_places:{target['id']}")
    at.radio(key="rate_rag").set_value("green")
    at.selectbox(key="rate_by").set_value("YP-0002")
    at.text_input(key="rate_comment").input("Staff are kind")
    at.button(key="rate_submit").click().run()
    assert not at.exception and not _errors(at), _errors(at)
    ratings = load_bundle(store, "ctx-0001").safety_ratings
    assert len(ratings) == before + 1
    new = ratings[-1]
    assert (new.rating, new.yp_ref, new.comment) == ("green", "YP-0002", "Staff are kind")
    assert new.place_label.startswith(str(target["name"]))
    assert new.geometry.distance(target.geometry.representative_point()) < 1e-6


def test_a_rating_at_a_clicked_point(store_copy: Path) -> None:
    store = GeoPackageStore(store_copy)
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    at.radio(key="rate_how").set_value("Click on the map").run()
    assert not at.exception, at.exception
    # a click on the small map is kept in the session as a point (see clicked_point)
    at.session_state["ctx_clicked"] = "POINT (1.3151 52.6322)"
    at.run()
    assert any("Clicked: 52.63220, 1.31510" in c.value for c in at.caption)
    at.text_input(key="rate_label").input("Alley behind the shops")
    at.radio(key="rate_rag").set_value("red")
    at.button(key="rate_submit").click().run()
    assert not _errors(at), _errors(at)
    new = load_bundle(store, "ctx-0001").safety_ratings[-1]
    assert (new.place_label, new.rating) == ("Alley behind the shops", "red")
    assert new.geometry.equals(Point(1.3151, 52.6322))


def test_pooled_safety_map_counts_and_suppression_in_the_meeting_view(
        store_copy: Path) -> None:
    import json

    from ctxmap.cases.safety_map import safety_ratings_layer

    store = GeoPackageStore(store_copy)
    raw = safety_ratings_layer(store)
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    (pooled,) = _frames_with(at, "counts hidden")
    assert pooled["all ratings"].sum() == len(raw)  # every rating counted once
    for place, n in raw["place_label"].value_counts().items():
        assert pooled.loc[pooled["place"] == place, "all ratings"].iloc[0] == n
    maps = [json.loads(e.proto.json_args) for e in at.get("component_instance")
            if "json_args" in str(e.proto)]
    assert any("Safety map (young people" in m["script"] for m in maps)
    # shared (meeting) view: the sample's small counts (1 and 2) are all hidden
    at2 = AppTest.from_file(PAGE, default_timeout=60)
    at2.query_params["view"] = "meeting"
    at2.run()
    assert not at2.exception, at2.exception
    (shared,) = _frames_with(at2, "counts hidden")
    assert shared["counts hidden"].all()
    assert shared["all ratings"].isna().all()
    assert any("counts below 5 are hidden" in c.value for c in at2.caption)
    # nothing about contexts or young people on a shared screen: no listing, no forms
    assert any("only the pooled safety map" in i.value for i in at2.info)
    assert not _frames_with(at2, "lead_worker") and not at2.tabs
    assert "YP-0001" not in str([d.value.to_dict() for d in at2.dataframe])


def test_overview_edit_does_not_overwrite_a_change_saved_in_between(store_copy: Path) -> None:
    """The overview form saves against the version read when it was shown, not a re-read."""
    from ctxmap.cases.repository import get_context, update_record

    store = GeoPackageStore(store_copy)
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert at.selectbox(key="ctx_selected").value == "ctx-0001"
    before = get_context(store, "ctx-0001")
    # someone else saves the context after this user opened the page
    update_record(store, "context", "ctx-0001", before.version, "other-worker-9",
                  referral_reason="Changed by someone else")
    at.text_area(key="ov_reason_ctx-0001").input("My change")
    at.button(key="ov_save").click().run()
    assert not at.exception
    errors = " ".join(_errors(at))
    assert "other-worker-9" in errors and "not saved" in errors.lower()
    assert get_context(store, "ctx-0001").referral_reason == "Changed by someone else"
    # after the conflict the form reads afresh: saving again now works
    at.text_area(key="ov_reason_ctx-0001").input("My change, after reading theirs")
    at.button(key="ov_save").click().run()
    assert get_context(store, "ctx-0001").referral_reason == "My change, after reading theirs"


# --------------------------------------------------------------------------- one save helper


def test_a_consent_form_with_one_bad_row_saves_nothing_and_keeps_the_error(
        store_copy: Path) -> None:
    """One category already recorded: no category is saved, and the error does not flash."""
    store = GeoPackageStore(store_copy)
    before = load_bundle(store, "ctx-0001").consents
    assert ("YP-0002", "Local area coordinator", "safety plan") in {
        (c.yp_ref, c.partner, c.category) for c in before}
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    at.selectbox(key="con_yp").set_value("YP-0002")
    at.selectbox(key="con_partner").set_value("Local area coordinator")
    at.multiselect(key="con_cats").set_value(["assessment", "safety plan"])
    at.selectbox(key="con_basis").set_value("consent")
    at.button(key="con_add").click().run()
    assert not at.exception, at.exception
    assert any("already recorded" in e for e in _errors(at)), _errors(at)
    assert load_bundle(store, "ctx-0001").consents == before  # "assessment" not saved either
    at.run()  # the next run (any widget change) still says why nothing was saved
    assert any("already recorded" in e for e in _errors(at)), _errors(at)
    assert load_bundle(store, "ctx-0001").consents == before
