import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import Point, box

from ctxmap.analysis.areas import area_counts, area_trends, study_area
from ctxmap.errors import InputError

X0, Y0 = 620000.0, 308000.0


def areas():
    return gpd.GeoDataFrame(
        {"id": ["A", "B", "D"], "name": ["West", "East", "Town"],
         "level": ["lsoa", "lsoa", "district"], "population": [2000.0, None, 4000.0]},
        geometry=[box(X0, Y0, X0 + 1000, Y0 + 1000), box(X0 + 1000, Y0, X0 + 2000, Y0 + 1000),
                  box(X0, Y0, X0 + 2000, Y0 + 1000)],
        crs="EPSG:27700",
    )


def incidents():
    pts = [(100, 100), (500, 500), (1000, 500), (1500, 500), (3000, 3000), None]
    return gpd.GeoDataFrame(
        {"month": ["2019-01", "2019-01", "2019-02", "2018-12", "2019-01", "2019-01"],
         "category": ["Drugs", "Robbery", "Drugs", "Drugs", "Drugs", "Drugs"]},
        geometry=[None if p is None else Point(X0 + p[0], Y0 + p[1]) for p in pts],
        crs="EPSG:27700",
    )


def test_counts_rates_and_boundary_counted_once():
    out = area_counts(areas(), incidents(), level="lsoa")
    # (1000, 500) lies on the shared boundary: counted once, in the first area
    assert out["incidents"].tolist() == [3, 1]
    assert out["incidents"].sum() == 4
    assert out.loc[0, "rate_per_1000"] == pytest.approx(1.5)
    assert np.isnan(out.loc[1, "rate_per_1000"])
    assert out["n_drugs"].tolist() == [2, 1] and out["n_robbery"].tolist() == [1, 0]
    meta = out.attrs["ctxmap"]
    assert (meta["incidents_unlocated"], meta["incidents_outside"]) == (1, 1)


def test_counts_brute_force_with_selection():
    out = area_counts(areas(), incidents(), period=("2019-01", "2019-02"),
                      categories=["Drugs"], level="district")
    inc = incidents()
    sel = inc[(inc["category"] == "Drugs") & inc["month"].isin(["2019-01", "2019-02"])]
    brute = sum(bool(g is not None and areas().geometry[2].intersects(g)) for g in sel.geometry)
    assert out["incidents"].tolist() == [brute]


def test_trends_and_study_area():
    t = area_trends(areas(), incidents(), ("2019-01", "2019-02"), level="lsoa")
    assert t["current"].tolist() == [3, 0] and t["previous"].tolist() == [0, 1]
    sa = study_area(areas())
    assert sa.name == "Town" and sa.geometry.area == pytest.approx(2e6)
    hull = study_area(None, incidents(), buffer_m=10)
    assert "convex hull" in hull.description
    with pytest.raises(InputError, match="level"):
        area_counts(areas(), incidents(), level="ward")
