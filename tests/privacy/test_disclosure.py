"""Disclosure control: floors, suppression, rounding, bands, ranges over a square."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ctxmap.errors import InputError
from ctxmap.privacy import disclosure as d
from ctxmap.privacy.shared_view import MaskSettings


@pytest.mark.parametrize("bad", [0, 1, 2, -5, 2.5, "5", True])
def test_threshold_floor(bad: object) -> None:
    with pytest.raises(InputError, match=r"expected a whole number >= 3"):
        d.check_threshold(bad)
    assert d.check_threshold(3) == 3 and d.check_threshold(np.int64(7)) == 7


@pytest.mark.parametrize("bad", [0.01, 1, 99.9, float("nan"), float("inf") * -1, "x", None])
def test_cell_floor(bad: object) -> None:
    with pytest.raises(InputError, match=r"expected at least 100 m"):
        d.check_cell_m(bad)
    assert d.check_cell_m(100) == 100.0


def test_mask_settings_refuse_values_below_the_floors() -> None:
    with pytest.raises(InputError, match="cell_m is 1 m; expected at least 100 m"):
        MaskSettings(cell_m=1)
    with pytest.raises(InputError, match="threshold is 1; expected a whole number >= 3"):
        MaskSettings(threshold=1)
    assert MaskSettings(cell_m=100, threshold=3).threshold == 3


def test_suppress_hides_only_small_counts() -> None:
    out = d.suppress(pd.Series([0, 1, 4, 5, 12, None]), 5)
    assert out.isna().tolist() == [False, True, True, False, False, True]
    assert out.dropna().tolist() == [0, 5, 12]


def test_protect_rounds_and_hides_recomputed_by_hand() -> None:
    values = list(range(0, 40))
    shown = d.protect(pd.Series(values), 5)
    for v, s in zip(values, shown, strict=True):
        if 1 <= v <= 4:
            assert pd.isna(s)
        else:  # nearest multiple of 5, halves up, by arithmetic on floats
            assert s == 5 * int(np.floor(v / 5 + 0.5)), (v, s)
    # threshold above 5: rounded to the threshold; a shown count is never below it
    big = d.protect(pd.Series([0, 9, 10, 14, 15, 26]), 10)
    assert big.tolist()[0] == 0 and pd.isna(big.iloc[1])
    assert big.tolist()[2:] == [10, 10, 20, 30]
    with pytest.raises(InputError, match="whole numbers >= 0"):
        d.protect(pd.Series([1.5]), 5)


def test_rounded_totals_do_not_give_a_hidden_cell_back() -> None:
    """Secondary protection: total minus the shown cells allows every hidden value 1..4."""
    rng = np.random.default_rng(3)
    for _ in range(200):
        cells = rng.integers(0, 60, size=4)
        cells[0] = rng.integers(1, 5)  # the one hidden cell
        shown = d.protect(pd.Series(cells), 5)
        total = int(d.protect(pd.Series([int(cells.sum())]), 5).iloc[0])
        # the attacker's bounds: a rounded figure is within 2 of the truth, another
        # hidden cell is 1 to 4; the hidden cell is the total minus the others
        lo_others = sum(int(v) - 2 if pd.notna(v) else 1 for v in shown.iloc[1:])
        hi_others = sum(int(v) + 2 if pd.notna(v) else 4 for v in shown.iloc[1:])
        lo, hi = total - 2 - hi_others, total + 2 - lo_others
        assert lo <= cells[0] <= hi
        candidates = [h for h in range(1, 5) if lo <= h <= hi]
        assert len(candidates) >= 2, (cells, candidates)


def test_band_edges_and_text() -> None:
    assert d.band_edges(5, 150)[:8] == [0, 5, 10, 20, 50, 100, 200, 500][:8]
    shown = d.band(pd.Series([0, 3, 5, 9, 10, 145, 1000]), 5).tolist()
    assert shown == ["0", "fewer than 5", "5 to 9", "5 to 9", "10 to 19", "100 to 199",
                     "1,000 to 1,999"]


def test_range_text() -> None:
    assert d.range_text(12, 31, 5) == "10 to 35"
    assert d.range_text(0, 0, 5) == "0"
    assert d.range_text(0, 4, 5) == "fewer than 5"
    assert d.range_text(2, 13, 5) == "up to 15"
    assert d.range_text(145, 145, 5) == "145 to 145"


def test_square_ranges_match_a_brute_force_count() -> None:
    rng = np.random.default_rng(1)
    pts = rng.uniform(-500, 750, size=(400, 2))
    bounds = (0.0, 0.0, 250.0, 250.0)
    ranges = d.square_ranges(bounds, {"a": pts[:300], "b": pts[300:], "none": pts[:0]}, 200.0)
    grid = d.square_points(bounds)
    assert len(grid) == 51 * 51  # 5 m steps, both edges
    for key, sel in (("a", pts[:300]), ("b", pts[300:])):
        counts = [(np.hypot(*(sel - g).T) <= 200.0).sum() for g in grid]
        assert (ranges.at[key, "low"], ranges.at[key, "high"]) == (min(counts), max(counts))
    assert (ranges.at["none", "low"], ranges.at["none", "high"]) == (0, 0)
    totals = [(np.hypot(*(pts - g).T) <= 200.0).sum() for g in grid]
    assert (ranges.at["total", "low"], ranges.at["total", "high"]) == (min(totals), max(totals))


def test_nearest_anywhere_is_the_union_of_each_points_nearest() -> None:
    rng = np.random.default_rng(2)
    places = rng.uniform(-1000, 1250, size=(40, 2))
    bounds = (0.0, 0.0, 250.0, 250.0)
    got = set(d.nearest_anywhere(bounds, places, 3).tolist())
    want: set[int] = set()
    for g in d.square_points(bounds):
        want |= set(np.argsort(np.hypot(*(places - g).T))[:3].tolist())
    assert got == want


def test_unordered_places_are_alphabetical() -> None:
    assert d.unordered_places(["b", None, "A", "b", " "]) == ["A", "b", "unnamed place"]


def test_protect_summary_rounds_cells_and_exact_totals() -> None:
    by_category = pd.DataFrame({"category": ["Drugs", "Robbery", None],
                                "mapped": [12, 3, 0], "no_location": [2, 0, 1]})
    by_category["total"] = by_category["mapped"] + by_category["no_location"]
    out = d.protect_summary(by_category, 5)
    assert list(out.columns) == list(d.SUMMARY_COLUMNS)
    assert out["Type"].tolist() == ["Drugs", "Robbery", "(no type)", "All types"]
    assert out["Mapped"].tolist() == ["10", "fewer than 5", "0", "15"]  # 15 exact -> 15
    assert out["No location"].tolist() == ["fewer than 5", "0", "fewer than 5", "fewer than 5"]
    assert out["Total"].tolist() == ["15", "fewer than 5", "fewer than 5", "20"]  # 14, 3, 1, 18
    with pytest.raises(InputError, match="lacks columns"):
        d.protect_summary(by_category.drop(columns="total"), 5)
