"""The incident index gives exactly what filtering a copy of the frame gives."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point

from ctxmap.analysis.aggregate import aggregate_incidents
from ctxmap.analysis.incident_index import IncidentIndex
from ctxmap.analysis.periods import filter_incidents, summarise_incidents

CATS = ["Drugs", "Robbery", "Anti-social behaviour", "<b>Harm log</b>"]


def random_incidents(n: int, seed: int) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    lon = rng.uniform(1.25, 1.32, n)
    lat = rng.uniform(52.60, 52.66, n)
    geoms = [None if rng.random() < 0.1 else Point(x, y) for x, y in zip(lon, lat, strict=True)]
    months = rng.choice(["2018-11", "2018-12", "2019-01", "2019-02", None], n)
    cats = rng.choice([*CATS, None], n)
    return gpd.GeoDataFrame({"id": [f"i{i}" for i in range(n)], "month": months,
                             "category": cats}, geometry=geoms, crs="EPSG:4326")


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("months, categories", [
    (None, None),
    (("2018-12", "2019-01"), None),
    (None, ["Drugs", "<b>Harm log</b>"]),
    (("2019-02", "2019-02"), ["Robbery"]),
    (("2018-11", "2019-02"), []),
])
def test_index_equals_filtering_a_copy(seed, months, categories):
    inc = random_incidents(3000, seed)
    index = IncidentIndex.build(inc)
    keep = index.select(months=months, categories=categories)
    copy = filter_incidents(inc, months=months, categories=categories)
    assert np.flatnonzero(keep).tolist() == copy.index.tolist()
    got, want = index.summary(keep), summarise_incidents(copy)
    assert (got.total, got.mapped, got.unmapped) == (want.total, want.mapped, want.unmapped)
    key = ["category", "mapped", "no_location", "total"]
    norm = lambda f: f[key].astype({"category": object}).fillna("(none)").sort_values(  # noqa: E731
        key).reset_index(drop=True)
    pd.testing.assert_frame_equal(norm(got.by_category), norm(want.by_category),
                                  check_dtype=False)
    if len(copy.dropna(subset=["geometry"])):
        cells = index.cells(keep, max_cells=200)
        expected = aggregate_incidents(copy, max_cells=200)
        pd.testing.assert_frame_equal(cells.drop(columns="geometry"),
                                      expected.drop(columns="geometry"))
        assert np.allclose(cells.geometry.x, expected.geometry.x)
        assert np.allclose(cells.geometry.y, expected.geometry.y)
