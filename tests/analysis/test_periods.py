"""Months, periods and the incident filter, on tiny literal layers."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import Point

from ctxmap.analysis.periods import (
    categories_available,
    compare_periods,
    counts_by_month,
    filter_incidents,
    format_period,
    month_range,
    months_available,
    previous_period,
    select_incidents,
    summarise_incidents,
)
from ctxmap.errors import InputError


def test_months_and_periods():
    assert month_range("2018-11", "2019-02") == ["2018-11", "2018-12", "2019-01", "2019-02"]
    assert format_period(("2018-12", "2019-02")) == "Dec 2018 to Feb 2019"
    assert format_period(("2019-01", "2019-01")) == "Jan 2019"
    assert previous_period(("2018-12", "2019-02")) == ("2018-09", "2018-11")
    assert previous_period(("2019-01", "2019-01")) == ("2018-12", "2018-12")
    with pytest.raises(InputError, match="YYYY-MM"):
        month_range("2019-13", "2019-14")
    with pytest.raises(InputError, match="ends before"):
        month_range("2019-02", "2019-01")


def test_counts_and_change_by_hand():
    group = np.array([0, 0, 0, 1, 1, 0])
    months = np.array(["2018-10", "2018-11", "2019-01", "2018-12", "2019-01", "2020-01"])
    counts = counts_by_month(group, months, 2, ("2018-10", "2019-01"))
    assert counts.tolist() == [[1, 1, 0, 1], [0, 0, 1, 1]]
    t = compare_periods(counts, ("2018-12", "2019-01"))
    assert t["current"].tolist() == [1, 2]
    assert t["previous"].tolist() == [2, 0]
    assert t["change"].tolist() == [-1, 2]
    assert t.loc[0, "change_pct"] == -50.0 and np.isnan(t.loc[1, "change_pct"])


def test_select_keeps_unlocated_and_copies():
    inc = gpd.GeoDataFrame(
        {"month": ["2019-01", "2019-02", "2019-01"], "category": ["Drugs", "Drugs", "Robbery"]},
        geometry=[Point(0, 0), None, None], crs="EPSG:4326",
    )
    out = select_incidents(inc, ("2019-01", "2019-02"), ["Drugs"])
    assert list(out.index) == [0, 1] and out.geometry.isna().sum() == 1
    out.loc[0, "month"] = "x"
    assert inc.loc[0, "month"] == "2019-01"


# --- the incident filter (what the map offers and what a filter shows)


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
