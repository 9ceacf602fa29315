import geopandas as gpd
import numpy as np
from shapely.geometry import Point, box

from ctxmap.analysis.hotspots import classify, gistar_hotspots

X0, Y0 = 620000.0, 308000.0
AREA = box(X0, Y0, X0 + 2500, Y0 + 2500)


def incidents(xy):
    return gpd.GeoDataFrame(
        {"month": ["2019-01"] * len(xy), "category": ["Drugs"] * len(xy)},
        geometry=[Point(X0 + x, Y0 + y) for x, y in xy] + [],
        crs="EPSG:27700",
    )


def test_obvious_cluster_is_hot_and_metadata_stated():
    rng = np.random.default_rng(5)
    background = rng.uniform(0, 2500, (100, 2))
    cluster = rng.uniform(1000, 1500, (200, 2))
    inc = incidents(np.vstack([background, cluster]))
    grid = gistar_hotspots(inc, AREA, cell_m=250)
    assert len(grid) == 100 and grid.crs.to_epsg() == 4326
    assert grid["incidents"].sum() == 300
    centre = grid[(grid["row"].isin([4, 5])) & (grid["col"].isin([4, 5]))]
    assert (centre["hotspot_class"] == "hot spot 99%").all()
    corner = grid[(grid["row"] == 0) & (grid["col"] == 0)]
    assert corner["gi_bin"].iloc[0] <= 0
    assert "queen" in grid.attrs["ctxmap"]["weights"]
    assert "Benjamini" in grid.attrs["ctxmap"]["correction"]


def test_no_structure_gives_no_hot_cells():
    xy = [(x + 125, y + 125) for x in range(0, 2500, 250) for y in range(0, 2500, 250)]
    grid = gistar_hotspots(incidents(xy), AREA, cell_m=250)
    assert (grid["gi_bin"] == 0).all()


def test_classify_levels():
    bins, labels = classify(np.array([3.0, -2.0, 1.0, 2.0]), np.array([0.005, 0.04, 0.5, 0.08]))
    assert bins.tolist() == [3, -2, 0, 1]
    assert labels.tolist() == ["hot spot 99%", "cold spot 95%", "not significant",
                               "hot spot 90%"]
