"""Before/after review: counts by brute force, the exact test by hand."""

from __future__ import annotations

import math

import geopandas as gpd
import pytest
from shapely.geometry import Point, box

from ctxmap.analysis.review import before_after, ratio_of_rate_ratios
from ctxmap.errors import InputError

AREA = box(1.29, 52.62, 1.30, 52.63)  # the context
STUDY = box(1.25, 52.60, 1.35, 52.68)
IN, OUT, FAR = Point(1.295, 52.625), Point(1.32, 52.65), Point(2.0, 53.0)


def _inc(rows: list[tuple[str, Point | None, str]]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"id": [str(i) for i in range(len(rows))],
                             "month": [r[0] for r in rows], "category": [r[2] for r in rows]},
                            geometry=[r[1] for r in rows], crs="EPSG:4326")


def _binom_two_sided(k: int, n: int, p: float) -> float:
    pmf = [math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(n + 1)]
    return min(1.0, sum(q for q in pmf if q <= pmf[k] * (1 + 1e-7)))


def test_counts_windows_and_statistic() -> None:
    rows = ([("2018-10", IN, "Drugs")] * 3 + [("2018-11", IN, "Drugs")] * 5
            + [("2018-12", IN, "Drugs")] * 1 + [("2019-01", IN, "Drugs")] * 1
            + [("2019-02", IN, "Drugs")] * 9  # outside the equal windows
            + [("2018-10", OUT, "Drugs")] * 20 + [("2018-12", OUT, "Drugs")] * 18
            + [("2018-11", FAR, "Drugs")] * 7  # outside the study area
            + [("2018-11", IN, "Burglary")] * 4  # other category
            + [("2018-12", None, "Drugs")] * 2)  # no location
    r = before_after(_inc(rows), AREA, STUDY, "2018-12-01")
    assert r.months_before == ("2018-10", "2018-11")
    assert r.months_after == ("2018-12", "2019-01")
    assert (r.context_before, r.context_after, r.rest_before, r.rest_after) == (8, 2, 20, 18)
    assert r.unlocated == 2
    assert r.ratio_of_ratios == pytest.approx((2 / 8) / (18 / 20))
    assert r.p_value == pytest.approx(_binom_two_sided(2, 10, 18 / 38), rel=1e-6)
    assert r.ci_low < r.ratio_of_ratios < r.ci_high
    assert r.monthly["context"].tolist() == [3, 5, 1, 1]
    assert r.monthly["expected_context"].sum() == pytest.approx(8 / 20 * 38)
    assert "does not show that the plan caused it" in r.statement


def test_window_can_be_chosen_and_is_checked() -> None:
    rows = [(m, IN, "Drugs") for m in ("2018-10", "2018-11", "2018-12", "2019-01")]
    rows += [(m, OUT, "Drugs") for m in ("2018-10", "2018-11", "2018-12", "2019-01")]
    r = before_after(_inc(rows), AREA, STUDY, "2018-12", window_months=1)
    assert r.months_before == ("2018-11",) and r.months_after == ("2018-12",)
    with pytest.raises(InputError, match="either side"):
        before_after(_inc(rows), AREA, STUDY, "2018-12", window_months=3)
    with pytest.raises(InputError):
        before_after(_inc(rows), AREA, STUDY, "2018-10")


def test_undefined_statistics_are_nan_and_said_plainly() -> None:
    rows = [("2018-10", OUT, "Drugs"), ("2018-11", OUT, "Drugs")]
    r = before_after(_inc(rows), AREA, STUDY, "2018-11")
    assert math.isnan(r.ratio_of_ratios) and math.isnan(r.p_value)
    assert "too few incidents" in r.statement


def test_ratio_of_rate_ratios_symmetry_and_checks() -> None:
    rrr, lo, hi, p = ratio_of_rate_ratios(10, 10, 100, 100)
    assert rrr == pytest.approx(1.0) and p == pytest.approx(1.0) and lo < 1 < hi
    assert ratio_of_rate_ratios(0, 5, 10, 10)[0] == math.inf
    with pytest.raises(InputError):
        ratio_of_rate_ratios(-1, 0, 1, 1)


def test_wrong_crs_refused() -> None:
    inc = _inc([("2018-10", IN, "Drugs")]).to_crs(27700)
    with pytest.raises(InputError, match="EPSG:4326"):
        before_after(inc, AREA, STUDY, "2018-11")
