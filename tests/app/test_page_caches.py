"""What the pages compute once per store version, and what they never share.

Counts the calls of the expensive functions (no timings): a page seen again computes
nothing again; the Map's heat bandwidth comes from the evaluation the Locations of concern
page made; another store, and the masked meeting view, get entries of their own.
"""

from __future__ import annotations

import html
import re
import shutil
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from streamlit.testing.v1 import AppTest

from ctxmap.analysis.incident_index import IncidentIndex
from ctxmap.analysis.inputs import resolve_study_area
from ctxmap.analysis.periods import select_incidents
from ctxmap.app import concern_work as work
from ctxmap.layers.geometry import located_mask
from ctxmap.layers.schemas import EXPLOITATION_CATEGORIES
from ctxmap.store.geopackage import GeoPackageStore
from tests.app.test_pages import metric, run_page

ROOT = Path(__file__).resolve().parents[2]


def _count_calls(monkeypatch: pytest.MonkeyPatch, owner: object, name: str) -> list[object]:
    calls: list[object] = []
    real = getattr(owner, name)

    def counted(*args: object, **kwargs: object) -> object:
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, counted)
    return calls


def test_a_page_seen_again_computes_nothing_and_the_map_heat_reuses_the_evaluation(
    store_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    prepared = _count_calls(monkeypatch, work, "prepare_ranking")
    scored = _count_calls(monkeypatch, work, "score_area")
    flags = _count_calls(monkeypatch, work, "check_flags")
    at = run_page("concern.py", timeout=300)
    # the ranking and the popups' three other expectations come from one count; the heat
    # layer's bandwidth and the Methods tab from one evaluation
    assert (len(prepared), len(scored), len(flags)) == (1, 1, 1)
    text = " ".join(m.value for m in at.markdown)
    best = re.search(r"Heat layer default:\*\* ([\d,]+) m", text)
    assert best is not None
    run_page("concern.py", timeout=300)
    assert (len(prepared), len(scored), len(flags)) == (1, 1, 1)

    at = AppTest.from_file(str(ROOT / "pages" / "map.py"), default_timeout=300)
    at.run()
    next(r for r in at.radio if r.label == "Types").set_value("Exploitation-related")
    next(r for r in at.radio if r.label == "Analysis layer").set_value(
        "Heat (kernel density)")
    at.run()
    assert not at.exception, at.exception
    captions = html.unescape(" ".join(c.value for c in at.caption))  # escaped for markdown
    assert f"Heat bandwidth {best.group(1)} m: best of Scott's rule, 200 m and 400 m" in captions
    assert len(scored) == 1  # the evaluation the other page made, not a second one


def test_two_stores_never_share_a_cached_result(
    store_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = tmp_path / "other" / "ctxmap.gpkg"
    other.parent.mkdir()
    shutil.copy(store_copy, other)
    store = GeoPackageStore(other, create=False)
    incidents = store.read("incidents")
    store.write("incidents", incidents.iloc[: len(incidents) // 2].copy(), file="half.csv")
    prepared = _count_calls(monkeypatch, work, "prepare_ranking")
    counted = []
    for path in (store_copy, other):
        monkeypatch.setenv("CTXMAP_STORE", str(path))
        at = run_page("concern.py", timeout=300)
        counted.append(metric(at, "Incidents counted"))
    assert len(prepared) == 2
    # each page counted its own store's incidents (recomputed from the store here)
    for path, shown in zip((store_copy, other), counted, strict=True):
        own = GeoPackageStore(path, create=False).read("incidents")
        chosen = select_incidents(own, None, EXPLOITATION_CATEGORIES)
        points = chosen.geometry[located_mask(chosen)].to_crs(27700)  # British grid, metres
        outline = gpd.GeoSeries([resolve_study_area(str(path)).geometry],
                                crs=4326).to_crs(27700).iloc[0]
        inside = int(shapely.intersects(outline, points.to_numpy()).sum())
        assert shown == f"{inside:,}"
    assert counted[0] != counted[1]


def test_the_masked_meeting_view_never_shares_the_unmasked_entries(
    store_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    built = _count_calls(monkeypatch, IncidentIndex, "build")
    unmasked = run_page("map.py", timeout=300)
    run_page("map.py", timeout=300)
    assert len(built) == 1  # the second visit reused the index
    meeting = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    meeting.query_params["view"] = "meeting"
    meeting.run()
    assert not meeting.exception, meeting.exception
    assert len(built) == 2  # the masked incidents got an index of their own
    exact = metric(unmasked, "Incidents shown on the map")
    masked = metric(meeting, "Incidents shown on the map")
    assert masked != exact
    assert int(masked.replace(",", "")) % 5 == 0  # rounded, as the meeting view must be
