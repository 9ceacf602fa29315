import json
import re

import folium
import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import Point, box

from ctxmap.errors import InputError
from ctxmap.layers.flags import is_true
from ctxmap.maps.assets import walk
from ctxmap.maps.base import (
    BOUNDARIES_ATTRIBUTION,
    FICTIONAL_HOMES_ATTRIBUTION,
    OSM_ATTRIBUTION,
    OSM_TILES_URL,
    POLICE_ATTRIBUTION,
    MapOptions,
    resolve_tiles_url,
)
from ctxmap.maps.layers import build_feature_groups, build_map
from ctxmap.maps.popups import place_popup_html
from ctxmap.text import clean_text, esc

HOSTILE = [
    "<script>alert(1)</script>",
    '" onmouseover="x',
    "\u202eevil\u200b<img src=x onerror=alert(2)>",
]


def _places(names, *, fictional=False, notes="private note about a child"):
    n = len(names)
    return gpd.GeoDataFrame(
        {
            "id": [f"p{i}" for i in range(n)],
            "name": names,
            "category": ["<b>cat</b>"] * n,
            "address": ['1 "Quoted" St'] * n,
            "opening_hours": ["Mo-Fr 09:00-17:00"] * n,
            "source": ["test"] * n,
            "fictional": [fictional] * n,
            "notes": [notes] * n,
        },
        geometry=[Point(1.29 + i * 0.001, 52.63) for i in range(n)],
        crs="EPSG:4326",
    )


def _incidents(points, categories=None, months=None):
    n = len(points)
    return gpd.GeoDataFrame(
        {
            "id": [f"i{k}" for k in range(n)],
            "month": months or ["2019-01"] * n,
            "category": categories or ["Drugs"] * n,
            "location": ["On or near Park"] * n,
            "outcome": [None] * n,
        },
        geometry=[None if p is None else Point(*p) for p in points],
        crs="EPSG:4326",
    )


def _areas():
    return gpd.GeoDataFrame(
        {
            "id": ["D1", "W1", "W2", "L1"],
            "name": ["District", HOSTILE[0], "Ward two", None],
            "level": ["district", "ward", "ward", "lsoa"],
        },
        geometry=[
            box(1.2, 52.59, 1.34, 52.68),
            box(1.2, 52.59, 1.27, 52.68),
            box(1.27, 52.59, 1.34, 52.68),
            box(1.2, 52.59, 1.23, 52.62),
        ],
        crs="EPSG:4326",
    )


def _geojsons(m):
    return [el for el in walk(m) if isinstance(el, folium.GeoJson)]


def _groups(m):
    return {el.layer_name: el for el in walk(m) if isinstance(el, folium.FeatureGroup)}


def _html(m):
    return m.get_root().render()


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_is_escaped_everywhere(text):
    places = _places([text, None])
    inc = _incidents([(1.3, 52.64)], categories=[text])
    inc["location"] = text
    areas = _areas()
    areas.loc[1, "name"] = text
    m = build_map({"safe_places": places, "homes": places, "incidents": inc, "areas": areas},
                  MapOptions(tiles_url=None))
    page = _html(m)
    assert "<script>alert" not in page
    assert 'onmouseover="x' not in page
    assert "<img src=x" not in page
    # the escaped text is what the popups show
    popups = [f["properties"].get("popup", "") for g in _geojsons(m) for f in g.data["features"]]
    assert any("&lt;" in p or "&quot;" in p for p in popups)


def test_esc_and_clean_text():
    assert esc("<a>") == "<bdi>&lt;a&gt;</bdi>"
    assert esc(None) == "" and esc(float("nan")) == ""
    assert clean_text("a\x00b\n c") == "ab c"
    assert clean_text("\u202eabc\u200b") == "\u202eabc\u200b"  # bidi/zero-width kept, isolated
    assert is_true(True) and is_true("yes") and is_true(1) and not is_true("no")
    assert not is_true(None) and not is_true(float("nan"))


def test_place_popup_contents():
    popup = place_popup_html({"name": None, "category": "library", "address": "", "x": 1})
    assert "Unnamed place" in popup and "Category: <bdi>library</bdi>" in popup
    assert "Address" not in popup
    assert "(fictional)" in place_popup_html({"name": "H"}, fictional_label=True)


def test_homes_fictional_label_and_attribution():
    m = build_map({"homes": _places(["Home A"], fictional=True)}, MapOptions(tiles_url=None))
    page = _html(m)
    [gj] = _geojsons(m)
    assert "(fictional)" in gj.data["features"][0]["properties"]["popup"]
    assert json.dumps(FICTIONAL_HOMES_ATTRIBUTION) in page
    assert "private note" not in page  # notes never reach the map
    m2 = build_map({"homes": _places(["Home A"], fictional=False)}, MapOptions(tiles_url=None))
    assert FICTIONAL_HOMES_ATTRIBUTION not in _html(m2)
    # homes, youth centres and safe places each have their own shape (a div icon),
    # incidents are circles
    assert isinstance(gj.marker, folium.Marker)
    for kind, shape in (("youth_centres", "ctxmap-square"), ("safe_places", "ctxmap-triangle")):
        m3 = build_map({kind: _places(["Club"])}, MapOptions(tiles_url=None))
        marker = _geojsons(m3)[0].marker
        assert isinstance(marker, folium.Marker) and shape in str(marker.icon.options)


def test_required_attributions_present():
    page = _html(build_map({"areas": _areas()}, MapOptions(tiles_url=None)))
    for text in (POLICE_ATTRIBUTION, OSM_ATTRIBUTION, BOUNDARIES_ATTRIBUTION):
        assert json.dumps(text, ensure_ascii=False) in page
    # with OSM tiles the OSM credit is the tile layer's attribution
    m = build_map({"areas": _areas()}, MapOptions(tiles_url=OSM_TILES_URL))
    [tiles] = [el for el in walk(m) if isinstance(el, folium.TileLayer)]
    assert tiles.options["attribution"] == OSM_ATTRIBUTION
    assert json.dumps(POLICE_ATTRIBUTION, ensure_ascii=False) in _html(m)


def test_layers_are_feature_groups_with_layer_control():
    m = build_map(
        {"areas": _areas(), "safe_places": _places(["A", "B"]), "youth_centres": _places(["C"])},
        MapOptions(tiles_url=None),
    )
    groups = _groups(m)
    assert set(groups) == {"District outline", "Wards", "LSOAs", "Safe places", "Youth centres"}
    assert not groups["LSOAs"].show and groups["Wards"].show
    assert any(isinstance(el, folium.LayerControl) for el in walk(m))
    n_wards = len(_geojsons(groups["Wards"])[0].data["features"])
    assert n_wards == 2
    # an unnamed area gets its code as label
    [lsoa] = _geojsons(groups["LSOAs"])
    assert lsoa.data["features"][0]["properties"]["label"] == "<bdi>L1</bdi>"


def test_absent_and_empty_layers_are_skipped():
    empty = _places([]).iloc[0:0]
    m = build_map({"homes": empty}, MapOptions(tiles_url=None))
    assert _groups(m) == {}
    assert not any(isinstance(el, folium.LayerControl) for el in walk(m))
    _html(build_map({}, MapOptions(tiles_url=None)))  # renders


def test_incidents_without_location_are_skipped_and_counted():
    inc = _incidents([(1.3, 52.64), None, None, (1.31, 52.65)])
    before = inc.copy()
    m = build_map({"incidents": inc}, MapOptions(tiles_url=None))
    [gj] = _geojsons(m)
    assert len(gj.data["features"]) == 2
    assert "2 without location not shown" in _html(m)
    assert inc.equals(before)  # input not modified
    only_null = build_feature_groups({"incidents": _incidents([None, None])})
    assert only_null.groups == [] and "2 incidents have no location" in only_null.notes[0]


def test_incidents_above_threshold_are_aggregated():
    rng = np.random.default_rng(1)
    pts = list(zip(rng.uniform(1.2, 1.34, 3000), rng.uniform(52.59, 52.68, 3000), strict=True))
    inc = _incidents([*pts, None])
    m = build_map({"incidents": inc}, MapOptions(tiles_url=None, incidents_cluster_threshold=100,
                                                  max_incident_cells=50))
    [gj] = _geojsons(m)
    feats = gj.data["features"]
    assert 1 <= len(feats) <= 50
    labels = [f["properties"]["label"] for f in feats]
    assert sum(int(lbl.split()[0]) for lbl in labels) == 3000
    # below the threshold each located incident is its own marker
    m2 = build_map({"incidents": inc.iloc[:30]},
                   MapOptions(tiles_url=None, incidents_cluster_threshold=100))
    assert len(_geojsons(m2)[0].data["features"]) == 30


def test_bad_inputs_raise_input_error():
    with pytest.raises(InputError, match="unknown layer kind 'crimes'"):
        build_map({"crimes": _incidents([(1.3, 52.6)])})
    with pytest.raises(InputError, match="expected a GeoDataFrame"):
        build_map({"homes": [1, 2]})
    with pytest.raises(InputError, match="EPSG:27700; expected EPSG:4326"):
        build_map({"homes": _places(["a"]).to_crs("EPSG:27700")})
    with pytest.raises(InputError, match="incidents_cluster_threshold"):
        build_map({}, MapOptions(incidents_cluster_threshold=-1))


def test_tiles_configuration(monkeypatch):
    assert resolve_tiles_url(env={}) == OSM_TILES_URL
    assert resolve_tiles_url(env={"CTXMAP_TILES_URL": ""}) is None
    assert resolve_tiles_url(env={"CTXMAP_TILES_URL": "http://t/{z}/{x}/{y}.png"}) == (
        "http://t/{z}/{x}/{y}.png"
    )
    assert resolve_tiles_url("") is None and resolve_tiles_url(None) is None
    monkeypatch.setenv("CTXMAP_TILES_URL", "http://localhost:9/{z}/{x}/{y}.png")
    m = build_map({"areas": _areas()})
    tiles = [el for el in walk(m) if isinstance(el, folium.TileLayer)]
    assert [t.tiles for t in tiles] == ["http://localhost:9/{z}/{x}/{y}.png"]
    none = build_map({"areas": _areas()}, MapOptions(tiles_url=None))
    assert not [el for el in walk(none) if isinstance(el, folium.TileLayer)]
    assert ".leaflet-container { background: #fff; }" in _html(none)


def test_no_external_scripts_or_styles():
    m = build_map({"areas": _areas(), "homes": _places(["x"])}, MapOptions(tiles_url=OSM_TILES_URL))
    page = _html(m)
    links = re.findall(r'<(?:script|link)\b[^>]*(?:src|href)="([^"]+)"', page)
    assert links and all(u.startswith("/app/static/vendor/") for u in links)
    assert not re.search(r"(?:src|href)=\"https?://", page)


def test_fit_bounds_and_center():
    m = build_map({"areas": _areas()}, MapOptions(tiles_url=None))
    fits = [el for el in walk(m) if isinstance(el, folium.FitBounds)]
    assert fits and fits[0].bounds == [[52.59, 1.2], [52.68, 1.34]]
    m2 = build_map({"areas": _areas()}, MapOptions(tiles_url=None, center=(52.6, 1.3), zoom=14))
    assert not [el for el in walk(m2) if isinstance(el, folium.FitBounds)]
    assert m2.location == [52.6, 1.3] and m2.options["zoom"] == 14


def test_coordinates_rounded_and_unused_columns_dropped():
    places = _places(["A"])
    places["secret_column"] = "do-not-embed"
    places.geometry = [Point(1.123456789, 52.987654321)]
    m = build_map({"safe_places": places}, MapOptions(tiles_url=None))
    [gj] = _geojsons(m)
    feat = gj.data["features"][0]
    assert feat["geometry"]["coordinates"] == [1.12346, 52.98765]
    assert set(feat["properties"]) == {"popup", "label"}
    assert "do-not-embed" not in _html(m)
    areas = _areas()
    areas.geometry = [box(1.1234567, 52.1234567, 1.2, 52.2)] * 4
    no_tiles = MapOptions(tiles_url=None)
    coords = _geojsons(build_map({"areas": areas}, no_tiles))[0].data["features"][0]
    flat = np.asarray(coords["geometry"]["coordinates"][0]).ravel()
    assert np.allclose(flat, np.round(flat, 5), atol=0)


def test_extra_groups_come_before_the_layer_control():
    extra = folium.FeatureGroup(name="Analysis <b>layer</b>")
    folium.CircleMarker([52.63, 1.29], radius=3).add_to(extra)
    m = build_map({}, MapOptions(tiles_url=None), extra_groups=[extra])
    html = m.get_root().render()
    assert html.index(extra.get_name() + ".addTo") < html.index("L.control.layers")
