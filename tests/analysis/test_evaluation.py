"""Out-of-sample evaluation: PAI by hand, the ring density by brute force, splits, population."""

from __future__ import annotations

import numpy as np
import pytest
from shapely.geometry import Polygon, box

from ctxmap.analysis.areas import StudyArea
from ctxmap.analysis.evaluation import (
    LOCAL,
    MODEL,
    Capture,
    Evaluation,
    MethodResult,
    captures,
    default_split,
    ring_density,
    split_periods,
)
from ctxmap.analysis.risk_grid import build_grid
from ctxmap.errors import InputError
from ctxmap.layers.population import read_population

X0, Y0 = 620_000.0, 300_000.0


def test_pai_on_a_toy_grid_computed_by_hand():
    # 10 cells of 1 km²; test incidents 20 in total
    scores = np.array([0.1, 5.0, 3.0, 0.0, 9.0, 1.0, 3.0, 0.2, 0.0, 0.0])
    area = np.ones(10)
    test = np.array([1, 4, 2, 0, 6, 1, 3, 1, 1, 1])
    c10, c30, c50 = captures(scores, area, test, shares=(0.10, 0.30, 0.50))
    # top 10 % of the area: cell 4 (score 9) holds 6 of 20 -> 30 % captured, PAI 0.30/0.10 = 3
    assert (c10.cells, c10.captured, c10.captured_share) == (1, 6, 0.30)
    assert c10.pai == pytest.approx(3.0)
    # top 30 %: cells 4, 1, then the tie 2 vs 6 (score 3) goes to cell 2 (grid order):
    # 6 + 4 + 2 = 12 of 20 = 60 %, PAI 2
    assert (c30.cells, c30.captured) == (3, 12)
    assert c30.pai == pytest.approx(0.6 / 0.3)
    # top 50 %: + cell 6 (3) + cell 5 (1) = 16 of 20 = 80 %, PAI 1.6
    assert (c50.cells, c50.captured, c50.pai) == (5, 16, pytest.approx(1.6))


def test_pai_takes_the_last_cell_whole_and_divides_by_the_area_taken():
    scores = np.array([3.0, 2.0, 1.0])
    area = np.array([0.5, 1.0, 2.5])  # total 4 km²
    test = np.array([2, 2, 6])
    (c,) = captures(scores, area, test, shares=(0.25,))
    # 25 % of 4 km² = 1 km²: cell 0 (0.5) is not enough, cell 1 is taken whole -> 1.5 km²
    assert c.cells == 2
    assert c.area_share == pytest.approx(1.5 / 4)
    assert c.captured_share == pytest.approx(4 / 10)
    assert c.pai == pytest.approx((4 / 10) / (1.5 / 4))


def test_ring_density_matches_a_brute_force_count():
    tri = Polygon([(X0, Y0), (X0 + 3000, Y0), (X0, Y0 + 3000)])
    grid = build_grid(StudyArea(tri, "EPSG:27700"), 200.0)
    rng = np.random.default_rng(1)
    counts = rng.poisson(3.0, len(grid))
    got = ring_density(grid, counts, 400.0, 1500.0)
    cx, cy = grid.centres()
    for k in range(0, len(grid), 7):
        d = np.hypot(cx - cx[k], cy - cy[k])
        ring = (d > 400.0) & (d <= 1500.0)
        assert got[k] == pytest.approx(counts[ring].sum() / grid.area_km2[ring].sum())


def test_best_and_auto_sentence():
    def result(key: str, share: float) -> MethodResult:
        cap = Capture(0.01, 1, 0.01, 1, share, share / 0.01)
        return MethodResult(key, key, "", (cap, cap, cap))

    ev = Evaluation(("2018-10", "2018-12"), ("2019-01", "2019-02"), 200.0, 10, 5, 5,
                    (result(LOCAL, 0.2), result(MODEL, 0.3), result("last_period", 0.5)),
                    "given", "ok")
    assert ev.best().key == "last_period"
    assert ev.best((LOCAL, MODEL)).key == MODEL
    assert ev.auto_sentence().startswith(
        "risk-terrain model: of the methods tried, it captured most of the incidents of "
        "Jan 2019 to Feb 2019")
    only_local = Evaluation(ev.train, ev.test, 200.0, 10, 5, 5,
                            (result(LOCAL, 0.2), MethodResult(MODEL, "m", "not usable")),
                            "given", "not usable")
    assert only_local.auto_sentence().startswith(
        "local baseline: the only expectation that could be checked on Jan 2019 to Feb 2019 "
        "(m: not usable)")


def test_split_periods_and_default_split():
    months = ["2018-10", "2018-11", "2018-12", "2019-01", "2019-02"]
    assert split_periods(months, "2018-12", "2019-01") == (("2018-10", "2018-12"),
                                                           ("2019-01", "2019-02"))
    assert default_split(months) == ("2018-12", "2019-01")
    assert default_split(months[:3]) == ("2018-11", "2018-12")
    with pytest.raises(InputError, match="not after --train-to"):
        split_periods(months, "2019-01", "2019-01")
    with pytest.raises(InputError, match="after the last month"):
        split_periods(months, "2018-12", "2019-05")


def test_population_table(tmp_path):
    good = tmp_path / "pop.csv"
    good.write_text("LSOA code,Population,notes\nE01,\"1,200\",x\nE02,300,y\n", encoding="utf-8")
    pop = read_population(good)
    assert pop.to_dict() == {"E01": 1200.0, "E02": 300.0}
    bad = tmp_path / "bad.csv"
    bad.write_text("code,population\nE01,12\nE02,lots\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"bad.csv: row 2, column 'population': 'lots'"):
        read_population(bad)
    none = tmp_path / "none.csv"
    none.write_text("name,value\na,1\n", encoding="utf-8")
    with pytest.raises(InputError, match="expected an area code column"):
        read_population(none)


def test_grid_of_a_square_has_whole_cells():
    grid = build_grid(StudyArea(box(X0, Y0, X0 + 1000, Y0 + 600), "EPSG:27700"), 200.0)
    assert len(grid) == 15 and grid.interior.all()


def test_density_default_bandwidth_follows_the_evaluation():
    import geopandas as gpd
    from shapely.geometry import Point

    from ctxmap.analysis.density import EvaluatedBandwidth, kernel_density

    rng = np.random.default_rng(4)
    xy = rng.normal(500, 150, (50, 2))
    inc = gpd.GeoDataFrame({"month": ["2019-01"] * 50, "category": ["Drugs"] * 50},
                           geometry=[Point(X0 + a, Y0 + b) for a, b in xy], crs="EPSG:27700")
    area = box(X0, Y0, X0 + 1000, Y0 + 1000)
    chosen = EvaluatedBandwidth(250.0, "best of Scott's rule, 200 m and 400 m")
    out = kernel_density(inc, area, cell_m=50, evaluated=chosen)
    assert out.attrs["ctxmap"]["bandwidth_m"] == 250.0
    assert out.attrs["ctxmap"]["bandwidth_rule"] == chosen.rule
    given = kernel_density(inc, area, cell_m=50, bandwidth_m=100.0, evaluated=chosen)
    assert given.attrs["ctxmap"]["bandwidth_m"] == 100.0
    scott = kernel_density(inc, area, cell_m=50)
    assert "Scott" in scott.attrs["ctxmap"]["bandwidth_rule"]
