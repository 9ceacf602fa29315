"""The Nearby page's maps (nearest places, coverage) and their walk wording."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest

from ctxmap.errors import InputError
from ctxmap.maps.nearby import coverage_map, nearby_map
from ctxmap.nearby.coverage import coverage_area, home_coverage
from ctxmap.nearby.nearest import nearest_places
from ctxmap.nearby.origins import from_place
from ctxmap.nearby.wording import walk_text
from tests.reports.test_card import HOSTILE, WHEN, sample_homes, sample_places


@pytest.fixture
def places() -> gpd.GeoDataFrame:
    return sample_places()


@pytest.fixture
def homes() -> gpd.GeoDataFrame:
    return sample_homes()


def test_nearby_map_rejects_wrong_crs(homes, places):
    origin = from_place(homes, "h1")
    rows = nearest_places(origin, places, k=2, when=WHEN).to_crs("EPSG:27700")
    with pytest.raises(InputError, match="EPSG:4326"):
        nearby_map(origin, rows)


def test_coverage_map_escapes_and_marks_gaps(homes, places):
    safe = places[places["layer"] == "safe_places"].drop(columns="layer")
    youth = places[places["layer"] == "youth_centres"].drop(columns="layer")
    cov = home_coverage(homes, safe, youth, minutes=10)
    assert cov["gap"].tolist() == [False, True]  # h2 is ~8 km from everything
    area = coverage_area(safe, minutes=10)
    page = coverage_map(homes, cov, area, safe, tiles_url=None).get_root().render()
    assert "Homes with no safe place within the walk" in page
    assert "Within 10 min walk of a safe place" in page
    assert "<b>home</b>" not in page
    assert HOSTILE not in page


@pytest.mark.parametrize(
    ("minutes", "text"),
    [(0.2, "under 1 min"), (1.0, "1 min"), (2.01, "3 min"), (np.nan, "—"), (None, "—")],
)
def test_walk_text(minutes, text):
    assert walk_text(minutes) == text


def test_nearby_coverage_and_card_maps_outline_the_study_area(homes, places):
    """The study area's outline and legend line on the Nearby maps and the card's map."""
    from ctxmap.analysis.inputs import read_study_area_file
    from ctxmap.reports.card import safe_places_card_html
    from tests.app.test_study_area_maps import GREAT_YARMOUTH, GY_LAD, assert_outlined

    area = read_study_area_file(GY_LAD)
    assert area.description == GREAT_YARMOUTH
    origin = from_place(homes, "h1")
    rows = nearest_places(origin, places, k=2, when=WHEN)
    near = nearby_map(origin, rows, places=places, study_area=area, tiles_url=None)
    assert_outlined(near.get_root().render(), GREAT_YARMOUTH)
    assert "Study area" not in nearby_map(origin, rows, tiles_url=None).get_root().render()
    card = safe_places_card_html("Start", rows, near, WHEN, "estimate")
    assert f"Study area: {GREAT_YARMOUTH}" in card
    safe = places[places["layer"] == "safe_places"].drop(columns="layer")
    youth = places[places["layer"] == "youth_centres"].drop(columns="layer")
    cov = home_coverage(homes, safe, youth, minutes=10)
    page = coverage_map(homes, cov, coverage_area(safe, minutes=10), safe, tiles_url=None,
                        study_area=area).get_root().render()
    assert_outlined(page, GREAT_YARMOUTH)
