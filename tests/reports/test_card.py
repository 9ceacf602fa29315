"""The "safe places near …" card: escaping, offline, honesty."""

from __future__ import annotations

import datetime as dt
import re

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Point

from ctxmap.errors import InputError
from ctxmap.maps.assets import external_references
from ctxmap.maps.nearby import nearby_map
from ctxmap.nearby.nearest import nearest_places
from ctxmap.nearby.origins import from_place
from ctxmap.nearby.walking import NETWORK_BASIS, estimate_basis
from ctxmap.nearby.wording import distance_text, is_estimate, walk_text
from ctxmap.reports.card import (
    TABLE_COLUMNS,
    card_file_name,
    estimate_notice,
    hours_text,
    nearby_table,
    safe_places_card_html,
)

HOSTILE = "<script>alert(1)</script>"
WHEN = dt.datetime(2019, 1, 12, 15, 0)  # a Saturday


def sample_places() -> gpd.GeoDataFrame:
    """Four places, one with a hostile name and address, one unnamed, one far away."""
    return gpd.GeoDataFrame(
        {
            "id": ["p1", "p2", "p3", "p4"],
            "name": [HOSTILE, "Library `${x}`", None, "Far pharmacy"],
            "category": ["police", "library", "pharmacy", "pharmacy"],
            "address": ['<img src=x onerror="alert(2)">', "1 Book St", None, "9 Far Rd"],
            "opening_hours": ["Mo-Sa 09:00-17:00", None, '"Part time"', "Mo-Fr 09:00-17:00"],
            "source": ["test"] * 4,
            "layer": ["safe_places", "safe_places", "youth_centres", "safe_places"],
        },
        geometry=[
            Point(1.2900, 52.6300),
            Point(1.2930, 52.6310),
            Point(1.2850, 52.6280),
            Point(1.3300, 52.6500),
        ],
        crs="EPSG:4326",
    )


def sample_homes() -> gpd.GeoDataFrame:
    """Two fictional homes, the first with a hostile name; the second far from any place."""
    return gpd.GeoDataFrame(
        {
            "id": ["h1", "h2"],
            "name": ["Hostile <b>home</b> House", "Second home"],
            "category": ["children's home", "children's home"],
            "address": ["1 Secret Street, NR0 0XX", "2 Hidden Lane"],
            "opening_hours": [None, None],
            "source": ["test", "test"],
            "fictional": [True, True],
            "notes": ["", ""],
        },
        geometry=[Point(1.2910, 52.6305), Point(1.40, 52.70)],
        crs="EPSG:4326",
    )


@pytest.fixture
def places() -> gpd.GeoDataFrame:
    return sample_places()


@pytest.fixture
def homes() -> gpd.GeoDataFrame:
    return sample_homes()


def _card(homes, places, *, basis_override: str | None = None, label: str | None = None):
    origin = from_place(homes, "h1")
    rows = nearest_places(origin, places, k=4, when=WHEN)
    if basis_override is not None:
        rows["walk_basis"] = basis_override
    m = nearby_map(origin, rows, places=places, tiles_url=None)
    basis = str(rows["walk_basis"].iloc[0])
    name = homes["name"].iloc[0] if label is None else label
    return safe_places_card_html(name, rows, m, WHEN, basis, made=dt.date(2019, 1, 12)), rows


def test_hostile_names_are_escaped_everywhere(homes, places):
    html, _ = _card(homes, places, label=HOSTILE)
    assert HOSTILE not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert '<img src=x onerror="alert(2)">' not in html
    assert "&lt;img src=x onerror=&quot;alert(2)&quot;&gt;" in html
    assert "<b>home</b>" not in html
    script = html.split("</body>")[-1]  # the map's script: names only as escaped JSON data
    assert "alert(1)</" not in script


def test_card_is_self_contained_without_cdn(homes, places):
    html, _ = _card(homes, places)
    assert re.search(r"<script\b[^>]*\bsrc\s*=", html, re.IGNORECASE) is None
    assert "https://cdn" not in html
    assert "unpkg.com" not in html
    assert external_references(html) == []
    assert html.count("<html") == 1 and html.count("</body>") == 1
    assert "Content-Security-Policy" in html
    assert "@media print" in html and "A4" in html


def test_estimate_notice_present_without_network(homes, places):
    html, rows = _card(homes, places)
    assert rows["walk_basis"].iloc[0] == estimate_basis()
    assert "Walking times are estimates" in html
    assert "straight line x1.3 at 4.8 km/h" in html
    assert "© OpenStreetMap contributors" in html
    assert "Open Government Licence" not in html  # no incidents are drawn on the card


def test_no_estimate_notice_with_network_basis(homes, places):
    html, _ = _card(homes, places, basis_override=NETWORK_BASIS)
    assert "Walking times are estimates" not in html
    assert "follow the streets" in html
    assert '"dashArray"' not in html  # network routes are solid lines


def test_card_has_no_home_address_and_labels_start(homes, places):
    html, _ = _card(homes, places)
    assert "Secret Street" not in html
    assert "NR0 0XX" not in html
    assert "Hidden Lane" not in html
    assert "Start" in html
    script = html.split("</body>")[-1]  # the map's script
    assert "Hostile" not in script  # the home's name is in the heading, not on the map
    assert "Hostile &lt;b&gt;home&lt;/b&gt; House" in html


def test_card_lists_places_nearest_first_with_walk_times(homes, places):
    html, rows = _card(homes, places)
    assert list(rows["rank"]) == [1, 2, 3, 4]
    positions = [html.find(f'<td class="num">{r}</td>') for r in (1, 2, 3, 4)]
    assert all(p > 0 for p in positions) and positions == sorted(positions)
    for minutes in rows["walk_min"]:
        assert walk_text(minutes) in html
    assert "Unnamed place" in html  # p3 has no name
    assert "9 Far Rd" in html


def test_card_unknown_hours_never_open(homes, places):
    _, rows = _card(homes, places)
    by_id = rows.set_index("place_id")
    assert by_id.loc["p1", "open"] == "open"  # Saturday 15:00 inside Mo-Sa 09:00-17:00
    assert by_id.loc["p2", "open"] == "unknown"  # no hours
    assert by_id.loc["p3", "open"] == "unknown"  # a bare comment
    table = nearby_table(rows).set_index("#")
    assert list(table.columns) == [c for c in TABLE_COLUMNS if c != "#"]
    assert table.loc[2, "Opening hours"] == "unknown"
    assert table.loc[2, "Open then"] == "unknown"


def test_nearby_table_matches_brute_force(places):
    origin = from_place(places, "p2")
    rows = nearest_places(origin, places, k=4, when=WHEN)
    table = nearby_table(rows)
    metric = places.to_crs("EPSG:27700")
    here = metric.geometry[metric["id"] == "p2"].iloc[0]
    expected = sorted(metric.geometry.distance(here).round(0).tolist())
    assert table["Straight line (m)"].tolist() == expected
    assert table["Walk (min)"].notna().all()
    assert table["Walk (m)"].isna().all()  # no network: no measured walk


def test_nearby_table_rejects_other_frames():
    with pytest.raises(InputError, match="nearest_places"):
        nearby_table(pd.DataFrame({"x": [1]}))


def test_distance_and_hours_text():
    assert distance_text(184) == "180 m"
    assert distance_text(1234) == "1.2 km"
    assert distance_text(float("nan")) == "—"
    assert hours_text("Mo-Fr 09:00-17:00;Sa 10:00-13:00") == "Mon-Fri 09:00-17:00; Sat 10:00-13:00"
    assert hours_text('"Mo by appointment"') == '"Mo by appointment"'
    assert hours_text(None) == "unknown"


def test_estimate_helpers():
    assert is_estimate(estimate_basis()) and not is_estimate(NETWORK_BASIS)
    assert "x1.3 at 4.8 km/h" in estimate_notice(estimate_basis())


def test_card_file_name_has_no_place_or_name():
    assert card_file_name(dt.date(2019, 1, 12)) == "safe-places-card-2019-01-12.html"
