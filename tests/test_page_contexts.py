"""AppTest of the contexts page on a temporary copy of a small store with the sample context."""

from __future__ import annotations

import shutil
from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import Point, box
from streamlit.testing.v1 import AppTest

from ctxmap.contexts import list_contexts, load_bundle
from ctxmap.sample_context import add_sample_context
from ctxmap.store import DEFAULT_STORE_PATH, Store

PAGE = str(Path(__file__).resolve().parent.parent / "pages" / "contexts.py")


def _small_store(path: Path) -> Store:
    """A tiny store: one home (home-cs-01), two safe places, incidents, a district."""
    store = Store(path)
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
        Store(path)  # migrate
        add_sample_context(Store(path))
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
    assert not at.error, [e.value for e in at.error]
    frame = list_contexts(Store(store_copy))
    row = frame[frame["name"] == "Bus station underpass"]
    assert len(row) == 1
    bundle = load_bundle(Store(store_copy), row["id"].iloc[0])
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
    assert "Park" not in list_contexts(Store(store_copy))["name"].tolist()
