import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import Point

from ctxmap.analysis.periods import (
    compare_periods,
    counts_by_month,
    format_period,
    month_range,
    previous_period,
    select_incidents,
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
