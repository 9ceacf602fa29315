"""The meeting view's counts: ?area= filters the incidents, and every count is protected."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
from streamlit.testing.v1 import AppTest

from ctxmap.analysis.incident_index import IncidentIndex
from ctxmap.privacy.disclosure import protect, shown_text
from ctxmap.privacy.shared_view import MaskSettings, focus_on_area, mask_layers
from ctxmap.store.opening import open_store

ROOT = Path(__file__).resolve().parents[2]
SHOWN = re.compile(r"0|fewer than 5|\d{1,3}(,\d{3})*")


def _metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label.startswith(label))


def _expected(store_path: Path, ward: str) -> tuple[str, str]:
    """The metrics recomputed another way: mask, focus, count, protect."""
    store = open_store(str(store_path), create=False)
    layers = {k: store.read(k) for k in ("homes", "incidents", "youth_centres",
                                         "safe_places", "areas")}
    masked = mask_layers(layers, MaskSettings())
    areas = layers["areas"]
    focused = focus_on_area(masked, areas[areas["id"] == ward])
    inc = focused["incidents"]
    summary = IncidentIndex.build(inc).summary(pd.Series(True, index=inc.index).to_numpy())
    mapped, unmapped = (shown_text(protect(pd.Series([summary.mapped, summary.unmapped]), 5),
                                   5).tolist())
    return mapped, unmapped


def test_area_filters_incidents_and_counts_are_protected(store_copy: Path) -> None:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params["view"] = "meeting"
    at.query_params["area"] = "E05005877"  # Bowthorpe
    at.run()
    assert not at.exception, at.exception
    first = _metric(at, "Incidents shown on the map")
    assert _expected(store_copy, "E05005877")[0] == first
    assert _metric(at, "In the period with no location") == "0"  # none can be in an area
    # another ward, same session: the incidents change with the area (not a stale cache)
    at.query_params["area"] = "E05005878"  # Catton Grove
    at.run()
    assert not at.exception, at.exception
    second = _metric(at, "Incidents shown on the map")
    assert second == _expected(store_copy, "E05005878")[0] and second != first
    # every count of the per-type table: 0, hidden, or a multiple of 5
    table = at.dataframe[-1].value
    assert list(table.columns) == ["Type", "Mapped", "No location", "Total"]
    assert table.iloc[-1]["Type"] == "All types"
    for column in ("Mapped", "No location", "Total"):
        for cell in table[column]:
            assert SHOWN.fullmatch(cell), cell
            if cell not in ("0", "fewer than 5"):
                assert int(cell.replace(",", "")) % 5 == 0, cell


def test_whole_district_meeting_table_hides_small_no_location_counts(store_copy: Path) -> None:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params["view"] = "meeting"
    at.run()
    assert not at.exception, at.exception
    table = at.dataframe[-1].value
    for cell in table["No location"]:
        assert cell == "0" or cell == "fewer than 5" or int(cell.replace(",", "")) % 5 == 0
