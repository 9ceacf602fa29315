import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import Point, box

from ctxmap.analysis.density import kernel_density, scott_bandwidth

X0, Y0 = 620000.0, 308000.0
AREA = box(X0, Y0, X0 + 2000, Y0 + 2000)


def test_binned_kde_matches_exact_kde():
    rng = np.random.default_rng(2)
    xy = rng.normal(1000, 250, (300, 2))
    inc = gpd.GeoDataFrame(
        {"month": ["2019-01"] * 300, "category": ["Drugs"] * 300},
        geometry=[Point(X0 + x, Y0 + y) for x, y in xy], crs="EPSG:27700",
    )
    h = 150.0
    out = kernel_density(inc, AREA, cell_m=20, bandwidth_m=h)
    assert out.attrs["ctxmap"]["bandwidth_m"] == h
    cx = X0 + (out["col"].to_numpy() + 0.5) * 20
    cy = Y0 + (out["row"].to_numpy() + 0.5) * 20
    pick = np.arange(0, len(out), 97)
    d2 = (cx[pick, None] - X0 - xy[None, :, 0]) ** 2 + (cy[pick, None] - Y0 - xy[None, :, 1]) ** 2
    exact = np.exp(-d2 / (2 * h * h)).sum(axis=1) / (2 * np.pi * h * h) * 1e6
    got = out["density_per_km2"].to_numpy()[pick]
    big = exact > exact.max() * 0.05
    assert np.allclose(got[big], exact[big], rtol=0.03)


def test_scott_rule_and_clipping():
    x = np.array([0.0, 100.0, 200.0, 300.0])
    y = np.array([0.0, 50.0, 0.0, 50.0])
    expect = np.sqrt((np.var(x, ddof=1) + np.var(y, ddof=1)) / 2) * 4 ** (-1 / 6)
    assert scott_bandwidth(x, y) == pytest.approx(expect)
    tri = AREA.intersection(box(X0, Y0, X0 + 1000, Y0 + 2000))
    inc = gpd.GeoDataFrame(
        {"month": ["2019-01"] * 4, "category": ["Drugs"] * 4},
        geometry=[Point(X0 + a, Y0 + 500 + b) for a, b in zip(x, y, strict=True)],
        crs="EPSG:27700",
    )
    out = kernel_density(inc, tri, cell_m=100)
    assert "Scott" in out.attrs["ctxmap"]["bandwidth_rule"]
    total_area = out.to_crs("EPSG:27700").area.sum()
    assert total_area == pytest.approx(tri.area, rel=1e-6)
