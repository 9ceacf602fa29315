"""The Nearby safe places page under Streamlit's AppTest, on a copy of the bundled sample."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def at(store_copy, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.delenv("CTXMAP_NETWORK", raising=False)
    app = AppTest.from_file(str(ROOT / "pages" / "nearby.py"), default_timeout=60)
    app.run()
    assert not app.exception, app.exception
    return app


def _nearest(at: AppTest) -> pd.DataFrame:
    return at.dataframe[0].value


def _coverage(at: AppTest) -> pd.DataFrame:
    return at.dataframe[1].value


def test_home_gives_k_rows_nearest_first_with_estimate_notice(at: AppTest):
    at.selectbox(key="nearby_home").set_value("home-cs-01").run()
    assert not at.exception
    table = _nearest(at)
    assert len(table) == 5
    straight = table["Straight line (m)"].tolist()
    assert straight == sorted(straight)
    assert table["Walk (min)"].notna().all()
    assert set(table["Open then"]) <= {"open", "closed", "unknown"}
    assert any("Walking times are estimates" in i.value for i in at.info)
    assert "Walk (m)" not in table.columns  # nothing measured without a network
    assert at.get("download_button"), "no card download button"
    assert len(_coverage(at)) == 12


def test_slider_changes_k_and_coverage_lists_gaps(at: AppTest):
    at.slider(key="nearby_k").set_value(3).run()
    assert len(_nearest(at)) == 3
    at.slider(key="nearby_minutes").set_value(5).run()
    cov = _coverage(at)
    assert len(cov) == 12
    gaps = cov[cov["Gap (safe place)"] == "yes"]
    assert (cov.loc[gaps.index, "Walk to safe place (min)"] > 5).all()
    assert (cov.drop(gaps.index)["Walk to safe place (min)"] <= 5).all()
    assert any(g in w.value for w in at.warning for g in gaps["Home"])


def test_open_only_at_a_chosen_time_lists_only_open_places(at: AppTest):
    at.radio(key="nearby_when").set_value("At a chosen day and time").run()
    at.date_input(key="nearby_date").set_value(dt.date(2019, 1, 12))
    at.time_input(key="nearby_time").set_value(dt.time(15, 0))
    at.checkbox(key="nearby_open_only").check().run()
    assert not at.exception
    table = _nearest(at)
    assert len(table) == 5
    assert set(table["Open then"]) == {"open"}


def test_swapped_coordinates_are_noted(at: AppTest):
    at.radio(key="nearby_mode").set_value("Coordinates").run()
    at.text_input(key="nearby_coords").input("1.2974, 52.6309").run()
    assert not at.exception
    assert any("swapped" in w.value for w in at.warning)
    assert len(_nearest(at)) == 5


def test_search_by_name_and_bad_input_is_an_error_not_a_crash(at: AppTest):
    at.radio(key="nearby_mode").set_value("Search places by name").run()
    at.text_input(key="nearby_search").input("library").run()
    options = at.selectbox(key="nearby_search_pick").options
    assert options and all("library" in o.lower() for o in options)
    at.radio(key="nearby_mode").set_value("Coordinates").run()
    at.text_input(key="nearby_coords").input("not a place").run()
    assert not at.exception
    assert any("two numbers" in e.value for e in at.error)


def test_network_file_gives_measured_walks(store_copy, tmp_path, monkeypatch: pytest.MonkeyPatch):
    pbf = ROOT / "tests" / "data" / "osm" / "pyrosm_test.osm.pbf"  # Kouvola, Finland
    monkeypatch.setenv("CTXMAP_NETWORK", str(pbf))
    monkeypatch.chdir(tmp_path)  # the network cache goes to tmp_path/data/cache
    app = AppTest.from_file(str(ROOT / "pages" / "nearby.py"), default_timeout=60)
    app.run()
    assert not app.exception, app.exception
    assert not any("Walking times are estimates" in i.value for i in app.info)
    assert any("follow the streets of pyrosm_test.osm.pbf" in c.value for c in app.caption)
    table = _nearest(app)
    assert "Walk (m)" in table.columns
    # measured walks are never shorter than the straight line
    assert (table["Walk (m)"] >= table["Straight line (m)"] - 1).all()


def test_building_box_is_gone_once_results_show_in_every_session(
        store_copy, tmp_path, monkeypatch: pytest.MonkeyPatch):
    """Issue 11: every session after the first kept showing "Building the walking network"."""
    from ctxmap.app.nearby_work import BUILDING_LABEL, _network_slot
    from tests.test_credentials import page_text

    pbf = ROOT / "tests" / "data" / "osm" / "pyrosm_test.osm.pbf"
    monkeypatch.setenv("CTXMAP_NETWORK", str(pbf))
    monkeypatch.chdir(tmp_path)
    _network_slot.clear()  # this server process has not built the network yet
    first = AppTest.from_file(str(ROOT / "pages" / "nearby.py"), default_timeout=120).run()
    assert not first.exception, first.exception
    assert len(_nearest(first))
    shown = page_text(first)
    assert "Walking network ready" in shown and BUILDING_LABEL not in shown
    for _ in range(2):  # later sessions reuse the network and never show the box
        later = AppTest.from_file(str(ROOT / "pages" / "nearby.py"), default_timeout=120).run()
        assert not later.exception, later.exception
        assert len(_nearest(later))
        shown = page_text(later)
        assert BUILDING_LABEL not in shown and "Walking network" not in shown
        assert "follow the streets of pyrosm_test.osm.pbf" in shown
