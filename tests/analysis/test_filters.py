"""The map's incident filter and its summary, on a tiny literal layer."""

from __future__ import annotations

import geopandas as gpd
import pytest
from shapely.geometry import Point

from ctxmap.analysis.filters import (
    categories_available,
    filter_incidents,
    months_available,
    summarise_incidents,
)
from ctxmap.errors import InputError


@pytest.fixture
def incidents() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"id": ["a", "b", "c", "d"], "month": ["2019-01", "2019-02", "2019-03", "bad"],
         "category": ["Drugs", "Robbery", "Drugs", "Drugs"]},
        geometry=[Point(1.29, 52.63), None, Point(1.3, 52.62), Point(1.3, 52.6)],
        crs="EPSG:4326")


def test_what_the_filter_offers(incidents):
    assert months_available(incidents) == ["2019-01", "2019-02", "2019-03"]  # "bad" left out
    assert categories_available(incidents) == ["Drugs", "Robbery"]


def test_month_range_and_types(incidents):
    got = filter_incidents(incidents, months=("2019-02", "2019-03"), categories=["Drugs"])
    assert got.index.tolist() == [2]
    assert filter_incidents(incidents, categories=[]).empty  # nothing chosen, nothing shown
    assert filter_incidents(incidents).index.tolist() == [0, 1, 2, 3]
    with pytest.raises(InputError, match="YYYY-MM"):
        filter_incidents(incidents, months=("2019/01", "2019-02"))


def test_summary_counts_rows_without_location(incidents):
    s = summarise_incidents(filter_incidents(incidents, months=("2019-01", "2019-02")))
    assert (s.total, s.mapped, s.unmapped) == (2, 1, 1)
    by = s.by_category.set_index("category")
    assert by.loc["Robbery", "no_location"] == 1 and by.loc["Drugs", "mapped"] == 1
