"""Every page runs under Streamlit's AppTest on the bundled sample, without exception."""

from __future__ import annotations

import json
from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]


def run_page(page: str, timeout: float = 60) -> AppTest:
    at = AppTest.from_file(str(ROOT / "pages" / page), default_timeout=timeout)
    at.run()
    assert not at.exception, at.exception
    return at


def map_payload(at: AppTest) -> dict:
    """The st_folium element's arguments: the map's script and html."""
    els = [e for e in at.get("component_instance") if "json_args" in str(e.proto)]
    assert els, "no st_folium element on the page"
    return json.loads(els[0].proto.json_args)


def metric(at: AppTest, label_start: str) -> str:
    (m,) = [m for m in at.metric if m.label.startswith(label_start)]
    return m.value


def test_app_entry_runs(store_copy):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    assert not at.exception, at.exception


def test_map_page_draws_layers_and_counts(store_copy):
    at = run_page("map.py")
    # 9,069 located, less the 115 just outside Norwich's outline (the study area; recounted
    # with shapely in tests/app/test_map_study_area.py)
    assert metric(at, "Incidents shown") == "8,954"
    assert metric(at, "In the period with no location") == "878"
    args = map_payload(at)
    assert "L.control.layers" in args["layer_control"]
    # the incidents are swapped in without redrawing the map
    assert args["feature_group"].count("L.featureGroup(") == 1
    assert "Reported incidents" in args["layer_control"]
    for choice, name in (("Hotspots (Gi*)", "Hot and cold spots"),
                         ("Heat (kernel density)", "Incident density")):
        at.sidebar.radio[1].set_value(choice).run()
        args = map_payload(at)
        assert args["feature_group"].count("L.featureGroup(") == 2
        assert name in args["layer_control"]
    for value in args.values():
        assert "https://cdn" not in str(value)


def test_filter_change_keeps_the_drawn_map(store_copy):
    """Only the swapped-in groups change with a filter: the map is not redrawn (pan/zoom stay)."""
    at = run_page("map.py")
    before = map_payload(at)
    at.sidebar.radio[0].set_value("Exploitation-related").run()
    after = map_payload(at)
    assert after["script"] == before["script"] and after["html"] == before["html"]
    assert after["feature_group"] != before["feature_group"]


def test_map_page_filters_change_counts(store_copy):
    at = run_page("map.py")
    at.sidebar.radio[0].set_value("Exploitation-related").run()
    exploitation = int(metric(at, "Incidents shown").replace(",", ""))
    assert 0 < exploitation < 9069
    at.sidebar.radio[0].set_value("Choose…").run()
    at.sidebar.multiselect[0].set_value(["Drugs"]).run()
    assert not at.exception
    drugs = int(metric(at, "Incidents shown").replace(",", ""))
    assert 0 < drugs < exploitation
    at.sidebar.select_slider[0].set_value(("2019-01", "2019-02")).run()
    fewer = int(metric(at, "Incidents shown").replace(",", ""))
    assert 0 < fewer < drugs


def test_import_page_runs(store_copy):
    at = run_page("import_layers.py")
    assert any("In the store" in s.value for s in at.subheader)
