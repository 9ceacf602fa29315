"""The Import page's "Places" choice: one file sorted by the tag rules into both place layers.

As ``import FILE --layer places``: the page shows the rows per rule, writes the safe
places and the youth centres in one transaction (neither on a failure), and leaves
rows that are not a place out, counted. The file is uploaded through the page's own
uploader (AppTest); what the store holds afterwards is read back from the store.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from ctxmap.errors import StoreError
from ctxmap.store.geopackage import GeoPackageStore

ROOT = Path(__file__).resolve().parents[2]
PLACES_CSV = (
    b"id,name,category,lat,lon\n"
    b"p1,Test Library,library,52.6100,1.7300\n"
    b"p2,Test Police Station,police,52.6080,1.7280\n"
    b"p3,Test Youth Club,youth_centre,52.5900,1.7200\n"
    b"p4,Car park,parking,52.6070,1.7290\n"
)


def page_with_upload(data: bytes, name: str = "places.csv") -> AppTest:
    at = AppTest.from_file(str(ROOT / "pages" / "import_layers.py"), default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    next(s for s in at.selectbox if s.label == "Layer").set_value("places")
    at.run()
    next(u for u in at.file_uploader if u.label == "Layer file").upload(name, data, "text/csv")
    at.run()
    assert not at.exception, at.exception
    return at


def import_button(at: AppTest):
    return next(b for b in at.button if b.label.startswith("Import "))


def test_a_places_file_is_sorted_and_both_layers_written(store_copy: Path) -> None:
    at = page_with_upload(PLACES_CSV)
    table = at.dataframe[-1].value
    assert table.groupby("Layer")["Rows"].sum().to_dict() == {
        "Safe places": 2, "Youth centres": 1, "not a place": 1}
    assert {"library", "police"} <= set(table["Rule"])
    assert any("1 rows are not a place" in s.value for s in at.success)
    button = import_button(at)
    assert button.label == "Import 2 safe places and 1 youth centres"
    button.click()
    at.run()
    assert not at.exception, at.exception
    store = GeoPackageStore(store_copy, create=False)
    assert sorted(store.read("safe_places")["id"]) == ["p1", "p2"]
    assert store.read("youth_centres")["id"].tolist() == ["p3"]
    log = store.imports()
    assert sorted(log.loc[log["file"] == "places.csv", "layer"]) == ["safe_places",
                                                                     "youth_centres"]


def test_a_failure_writes_neither_layer(store_copy: Path, monkeypatch: pytest.MonkeyPatch):
    store = GeoPackageStore(store_copy, create=False)
    before = {k: len(store.read(k)) for k in ("safe_places", "youth_centres")}
    at = page_with_upload(PLACES_CSV)

    def broken(self, parts, **kwargs):  # the store refuses the write
        raise StoreError("the disk is full")

    monkeypatch.setattr(GeoPackageStore, "write_layers", broken)
    import_button(at).click()
    at.run()
    assert not at.exception, at.exception
    assert any("neither layer was written" in e.value for e in at.error)
    after = {k: len(store.read(k)) for k in ("safe_places", "youth_centres")}
    assert after == before


def test_a_file_with_no_place_is_refused_with_nothing_written(store_copy: Path) -> None:
    at = page_with_upload(b"id,name,category,lat,lon\nx1,Car park,parking,52.6,1.72\n")
    assert any("None of the 1 rows" in e.value for e in at.error)
    assert not [b for b in at.button if b.label.startswith("Import ")]
