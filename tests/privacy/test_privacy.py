"""Tests for ctxmap.privacy.masks: masks never reveal a point, never show a small count."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import Point, Polygon

from ctxmap.errors import InputError
from ctxmap.layers.geometry import grid_cells
from ctxmap.privacy.masks import (
    SHAREABLE_TEXT_COLUMNS,
    aggregate_to_grid,
    cell_id,
    donut_mask,
    donut_offset,
    mask_points_to_areas,
    mask_points_to_cells,
    strip_names,
    suppress_small_counts,
)

BNG = "EPSG:27700"
TOL_M = 0.01  # reprojection round trip EPSG:27700 -> 4326 -> 27700 is good to a few mm

# Points in and around Norwich, in British National Grid metres.
bng_x = st.floats(615_000, 630_000, allow_nan=False)
bng_y = st.floats(300_000, 315_000, allow_nan=False)
bng_points = st.lists(st.tuples(bng_x, bng_y), min_size=1, max_size=8)
FAST = settings(max_examples=40, deadline=None)


def _points(coords: list[tuple[float, float]], crs: str = BNG) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"id": [f"rec-{i}" for i in range(len(coords))], "name": ["secret"] * len(coords)},
        geometry=[Point(x, y) for x, y in coords],
        index=[100 + i for i in range(len(coords))],
        crs=crs,
    )


# --- donut -------------------------------------------------------------------------------


@FAST
@given(
    coords=bng_points,
    min_m=st.floats(0, 400),
    extra=st.floats(0, 600),
    key=st.binary(min_size=1, max_size=16),
)
def test_donut_distance_within_ring_and_deterministic(
    coords: list[tuple[float, float]], min_m: float, extra: float, key: bytes
) -> None:
    gdf = _points(coords)
    max_m = min_m + extra
    masked = donut_mask(gdf, min_m, max_m, key, crs=BNG)
    assert masked.crs.to_string() == "EPSG:4326"
    assert list(masked.index) == list(gdf.index)
    back = masked.to_crs(BNG)
    dist = back.geometry.distance(gdf.geometry)
    assert (dist >= min_m - TOL_M).all(), dist
    assert (dist <= max_m + TOL_M).all(), dist
    again = donut_mask(gdf, min_m, max_m, key, crs=BNG)
    assert again.geometry.equals(masked.geometry)  # same input, same output


@FAST
@given(coords=st.lists(st.tuples(bng_x, bng_y), min_size=2, max_size=6), seed=st.integers(0, 99))
def test_donut_is_per_record(coords: list[tuple[float, float]], seed: int) -> None:
    """A record's masked point depends on its id and position only, not on the other rows."""
    gdf = _points(coords)
    masked = donut_mask(gdf, 100, 300, "salt", crs=BNG)
    order = np.random.default_rng(seed).permutation(len(gdf))
    shuffled = donut_mask(gdf.iloc[order], 100, 300, "salt", crs=BNG)
    for idx in gdf.index:
        assert shuffled.geometry.loc[idx].equals(masked.geometry.loc[idx])


def test_donut_offset_brute_force_matches_hmac() -> None:
    import hashlib
    import hmac

    d = hmac.new(b"k", b"home-1", hashlib.sha256).digest()
    angle = 2 * math.pi * int.from_bytes(d[:8], "big") / 2**64
    r = math.sqrt(200**2 + int.from_bytes(d[8:16], "big") / 2**64 * (500**2 - 200**2))
    dx, dy = donut_offset("home-1", "k", 200, 500)
    assert dx == pytest.approx(r * math.cos(angle)) and dy == pytest.approx(r * math.sin(angle))


def test_donut_key_changes_result_and_nulls_stay() -> None:
    gdf = _points([(620_000.0, 308_000.0), (621_000.0, 309_000.0)])
    gdf.loc[101, "geometry"] = None
    a = donut_mask(gdf, 200, 500, "one", crs=BNG)
    b = donut_mask(gdf, 200, 500, b"two", crs=BNG)
    assert not a.geometry.iloc[0].equals(b.geometry.iloc[0])
    assert a.geometry.iloc[1] is None
    assert list(a.columns) == list(gdf.columns)
    assert gdf.crs.to_string() == BNG  # input untouched


def test_donut_errors() -> None:
    gdf = _points([(620_000.0, 308_000.0)])
    with pytest.raises(InputError, match="min_m"):
        donut_mask(gdf, 500, 200, "k")
    with pytest.raises(InputError, match="min_m"):
        donut_mask(gdf, -1, 200, "k")
    with pytest.raises(InputError, match="secret key"):
        donut_mask(gdf, 100, 200, "")
    with pytest.raises(InputError, match="no 'ref' column"):
        donut_mask(gdf, 100, 200, "k", id_column="ref")
    no_id = gdf.copy()
    no_id["id"] = None
    with pytest.raises(InputError, match="have no 'id'"):
        donut_mask(no_id, 100, 200, "k")
    with pytest.raises(InputError, match="no CRS"):
        donut_mask(gdf.set_crs(None, allow_override=True), 100, 200, "k")
    square = gpd.GeoDataFrame({"id": ["a"]}, geometry=[Point(0, 0).buffer(1)], crs=BNG)
    with pytest.raises(InputError, match="expected Point"):
        donut_mask(square, 100, 200, "k")


# --- cells ---------------------------------------------------------------------------------


@FAST
@given(coords=bng_points, cell_m=st.sampled_from([100.0, 250.0, 333.3, 1000.0]))
def test_masked_cells_contain_true_point(coords: list[tuple[float, float]], cell_m: float) -> None:
    gdf = _points(coords)
    masked = mask_points_to_cells(gdf, cell_m, crs=BNG)
    assert masked.crs.to_string() == "EPSG:4326"
    assert set(masked.geometry.geom_type) == {"Polygon"}  # never a point
    back = masked.to_crs(BNG)
    for (x, y), cell, cid in zip(coords, back.geometry, masked["cell_id"], strict=True):
        # exact check on the grid arithmetic (brute force: scan the neighbouring cells)
        i, j = (int(v) for v in cid.split(":")[1:])
        assert i * cell_m <= x < (i + 1) * cell_m and j * cell_m <= y < (j + 1) * cell_m
        assert cell.distance(Point(x, y)) <= TOL_M
        assert cell.area == pytest.approx(cell_m**2, rel=1e-6)
    assert mask_points_to_cells(gdf, cell_m, crs=BNG).geometry.equals(masked.geometry)


def test_cells_grid_anchored_at_origin() -> None:
    assert grid_cells(0.0, 0.0, 250) == (0, 0)
    assert grid_cells(249.999, 250.0, 250) == (0, 1)
    assert grid_cells(-0.1, 10, 250) == (-1, 0)
    assert cell_id(2, -3, 250.0) == "250m:2:-3"
    # two points in the same cell get the same polygon, whatever else is masked
    a = mask_points_to_cells(_points([(620_010.0, 308_010.0)]), 250, crs=BNG)
    b = mask_points_to_cells(_points([(620_200.0, 308_200.0), (500.0, 500.0)]), 250, crs=BNG)
    assert a.geometry.iloc[0].equals(b.geometry.iloc[0])


def test_cells_keep_index_columns_and_nulls() -> None:
    gdf = _points([(620_000.0, 308_000.0), (621_000.0, 309_000.0)]).to_crs("EPSG:4326")
    gdf.loc[101, "geometry"] = None
    before = gdf.copy()
    masked = mask_points_to_cells(gdf)
    pd.testing.assert_frame_equal(gdf, before)
    assert list(masked.columns) == [*gdf.columns, "cell_id"]
    assert list(masked.index) == [100, 101]
    assert masked.geometry.iloc[1] is None and masked["cell_id"].iloc[1] is None


def test_cells_drop_other_geometry_columns() -> None:
    gdf = _points([(620_000.0, 308_000.0)])
    gdf["true_point"] = gdf.geometry.copy()
    masked = mask_points_to_cells(gdf, crs=BNG)
    assert "true_point" not in masked.columns


def test_cells_errors() -> None:
    gdf = _points([(620_000.0, 308_000.0)])
    with pytest.raises(InputError, match="cell_m"):
        mask_points_to_cells(gdf, 0)
    with pytest.raises(InputError, match="cell_m"):
        mask_points_to_cells(gdf, math.inf)


# --- areas ---------------------------------------------------------------------------------


X0, Y0 = 620_000.0, 308_000.0  # two 100 m squares side by side in Norwich


def _squares() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"id": ["B", "A"]},
        geometry=[
            Polygon([(X0, Y0), (X0 + 100, Y0), (X0 + 100, Y0 + 100), (X0, Y0 + 100)]),
            Polygon([(X0 + 100, Y0), (X0 + 200, Y0), (X0 + 200, Y0 + 100), (X0 + 100, Y0 + 100)]),
        ],
        crs=BNG,
    )


def test_mask_points_to_areas() -> None:
    pts = _points([(X0 + 50, Y0 + 50), (X0 + 150, Y0 + 50), (X0 + 100, Y0 + 50), (X0, Y0 + 500)])
    masked = mask_points_to_areas(pts, _squares())
    assert masked.crs.to_string() == "EPSG:4326"
    assert list(masked["area_id"]) == ["B", "A", "A", None]  # boundary: smallest id
    back = masked.to_crs(BNG)
    assert back.geometry.iloc[0].buffer(TOL_M).contains(Point(X0 + 50, Y0 + 50))
    assert back.geometry.iloc[0].area == pytest.approx(10_000, rel=1e-6)
    assert masked.geometry.iloc[3] is None  # outside every area: hidden, not a point
    assert list(masked.index) == list(pts.index)


def test_mask_points_to_areas_crs_mismatch() -> None:
    pts = _points([(X0 + 50, Y0 + 50)])
    with pytest.raises(InputError, match="same CRS"):
        mask_points_to_areas(pts, _squares().to_crs("EPSG:4326"))
    with pytest.raises(InputError, match="'code'"):
        mask_points_to_areas(pts, _squares(), area_id_column="code")


# --- counts --------------------------------------------------------------------------------


@FAST
@given(
    values=st.lists(st.integers(0, 60), max_size=30),
    threshold=st.integers(1, 12),
    mode=st.sampled_from(["suppress", "round"]),
)
def test_no_small_count_shown(values: list[int], threshold: int, mode: str) -> None:
    series = pd.Series(values, dtype="int64")
    shown = suppress_small_counts(series, threshold, mode)  # type: ignore[arg-type]
    assert shown.dtype == "Int64" and list(shown.index) == list(series.index)
    visible = shown.dropna()
    assert not ((visible >= 1) & (visible < threshold)).any()
    if mode == "suppress":
        for v, s in zip(values, shown, strict=True):
            if 1 <= v < threshold:
                assert s is pd.NA
            else:
                assert s == v
    else:
        for v, s in zip(values, shown, strict=True):
            assert s % threshold == 0 and abs(s - v) * 2 <= threshold


def test_suppress_examples() -> None:
    s = pd.Series([0, 1, 4, 5, 12, None], index=list("abcdef"))
    assert suppress_small_counts(s).tolist() == [0, pd.NA, pd.NA, 5, 12, pd.NA]
    r = suppress_small_counts(pd.Series([0, 1, 2, 3, 4, 5, 7, 8]), 5, "round")
    assert r.tolist() == [0, 0, 0, 5, 5, 5, 5, 10]
    with pytest.raises(InputError, match="non-negative whole"):
        suppress_small_counts(pd.Series([1, -2]))
    with pytest.raises(InputError, match="non-negative whole"):
        suppress_small_counts(pd.Series([1.5]))
    with pytest.raises(InputError, match="threshold"):
        suppress_small_counts(pd.Series([1]), 0)
    with pytest.raises(InputError, match="mode"):
        suppress_small_counts(pd.Series([1]), 5, "hide")  # type: ignore[arg-type]


@FAST
@given(
    coords=st.lists(
        st.tuples(st.floats(620_000, 621_000), st.floats(308_000, 309_000)), max_size=40
    ),
    unmapped=st.integers(0, 3),
    threshold=st.integers(1, 6),
)
def test_aggregate_to_grid_matches_brute_force(
    coords: list[tuple[float, float]], unmapped: int, threshold: int
) -> None:
    geoms = [Point(x, y) for x, y in coords] + [None] * unmapped
    gdf = gpd.GeoDataFrame({"category": ["Drugs"] * len(geoms)}, geometry=geoms, crs=BNG)
    if not coords:
        gdf = gdf.set_crs(BNG, allow_override=True)
    grid = aggregate_to_grid(gdf, 250, threshold, crs=BNG)
    expected: dict[str, int] = {}
    for x, y in coords:
        key = f"250m:{math.floor(x / 250)}:{math.floor(y / 250)}"
        expected[key] = expected.get(key, 0) + 1
    assert dict(zip(grid["cell_id"], grid["suppressed"], strict=True)) == {
        k: 1 <= v < threshold for k, v in expected.items()
    }
    for cid, count in zip(grid["cell_id"], grid["count"], strict=True):
        if expected[cid] >= threshold:
            assert count == expected[cid]
        else:
            assert count is pd.NA
    visible = grid["count"].dropna()
    assert not ((visible >= 1) & (visible < threshold)).any()
    assert grid.attrs["unmapped"] == unmapped and grid.attrs["mapped"] == len(coords)
    assert grid.attrs["total"] == len(coords) + unmapped


def test_aggregate_to_grid_output_shape() -> None:
    pts = [Point(620_010.0 + i, 308_010.0) for i in range(6)] + [Point(625_000.0, 300_000.0)]
    gdf = gpd.GeoDataFrame({"id": list("abcdefg")}, geometry=pts, crs=BNG)
    grid = aggregate_to_grid(gdf, 250, 5, crs=BNG)
    assert grid.crs.to_string() == "EPSG:4326"
    assert list(grid.columns) == ["cell_id", "count", "suppressed", "geometry"]
    assert grid["count"].tolist() == [6, pd.NA]
    assert grid["suppressed"].tolist() == [False, True]
    assert grid.to_crs(BNG).geometry.iloc[0].buffer(TOL_M).contains(pts[0])


# --- text ----------------------------------------------------------------------------------


def test_strip_names_drops_free_text() -> None:
    df = gpd.GeoDataFrame(
        {
            "id": ["h1"],
            "name": ["Willow House"],
            "address": ["1 High St"],
            "notes": ["worry about the park"],
            "category": ["children's home"],
            "fictional": [True],
            "count": [3],
            "kind": pd.Categorical(["x"]),
        },
        geometry=[Point(1, 52)],
        crs="EPSG:4326",
        index=[7],
    )
    out = strip_names(df)
    assert list(out.columns) == ["category", "fictional", "count", "geometry"]
    assert isinstance(out, gpd.GeoDataFrame) and list(out.index) == [7]
    assert out.attrs["dropped_columns"] == ["id", "name", "address", "notes", "kind"]
    assert "name" in df.columns  # input untouched
    kept = strip_names(pd.DataFrame({"name": ["a"], "n": [1]}), allowed_text_columns=["name"])
    assert list(kept.columns) == ["name", "n"]
    assert "name" not in SHAREABLE_TEXT_COLUMNS and "notes" not in SHAREABLE_TEXT_COLUMNS
