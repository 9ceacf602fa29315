"""The Import page starts a store for a new area and sets its study area on purpose."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from ctxmap.store.geopackage import GeoPackageStore
from ctxmap.store.marks import NAME_KEY, read_study_area

ROOT = Path(__file__).resolve().parents[2]
PAGE = str(ROOT / "pages" / "import_layers.py")


def _page() -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=90)
    at.run()
    assert not at.exception, at.exception
    return at


def test_new_store_form_makes_an_empty_named_store_and_uses_it(store_copy, tmp_path):
    at = _page()
    target = tmp_path / "yarmouth.gpkg"
    at.text_input[0].input(str(target))
    at.text_input[1].input("Great Yarmouth")
    at.button[0].click().run()  # the form's submit button
    assert not at.exception, at.exception
    assert any("this session now uses it" in s.value for s in at.success)
    store = GeoPackageStore(target, create=False)
    assert store.metadata(NAME_KEY) == "Great Yarmouth"
    assert sum(c["rows"] for c in store.counts().values()) == 0
    assert any("(Great Yarmouth)" in c.value for c in at.caption)
    # a second time: refused, the store unchanged
    before = target.read_bytes()
    at.text_input[0].input(str(target))
    at.text_input[1].input("Other")
    at.button[0].click().run()
    assert any("is not empty" in e.value for e in at.error)
    assert target.read_bytes() == before


def test_study_area_picker_sets_a_stored_area(store_copy):
    at = _page()
    assert any(c.value.startswith("Study area: Norwich (39.0 km²") for c in at.caption)
    areas = GeoPackageStore(store_copy, create=False).read("areas")
    ward = areas[areas["level"] == "ward"].iloc[0]
    (picker,) = [s for s in at.selectbox if s.label.startswith("Use a stored area")]
    picker.set_value(int(areas.reset_index(drop=True).index[areas["id"] == ward["id"]][0]))
    next(b for b in at.button if b.label == "Set the study area").click().run()
    assert not at.exception, at.exception
    area = read_study_area(GeoPackageStore(store_copy, create=False))
    assert area is not None and area.label == ward["name"]
    assert area.source == f"area {ward['id']} (ward)"
    assert area.geometry.equals(ward.geometry)
