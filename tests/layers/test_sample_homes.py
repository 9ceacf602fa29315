"""Tests for ctxmap.layers.sample_homes: fictional, deterministic, plausible sample homes."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Point, box

from ctxmap.errors import InputError
from ctxmap.layers.sample_homes import (
    CASE_STUDY_CATEGORIES,
    CASE_STUDY_ID,
    SAMPLE_SOURCE,
    fictional_homes,
)
from ctxmap.layers.schemas import SCHEMAS

BNG = "EPSG:27700"
REAL = Path(__file__).resolve().parents[2] / "data" / "source"
X0, Y0 = 615_000.0, 302_000.0


def _grid(n: int = 5, size: float = 500.0) -> gpd.GeoDataFrame:
    """n x n squares of ``size`` metres in Norwich, as LSOAs in EPSG:4326."""
    cells = [
        (f"L{i}{j}", box(X0 + i * size, Y0 + j * size, X0 + (i + 1) * size, Y0 + (j + 1) * size))
        for i in range(n)
        for j in range(n)
    ]
    gdf = gpd.GeoDataFrame(
        {"id": [c[0] for c in cells], "level": "lsoa"}, geometry=[c[1] for c in cells], crs=BNG
    )
    return gdf.to_crs("EPSG:4326")


def _incidents(points: list[tuple[float, float, str]]) -> gpd.GeoDataFrame:
    gdf = gpd.GeoDataFrame(
        {"id": [f"c{k}" for k in range(len(points))], "category": [p[2] for p in points]},
        geometry=[Point(p[0], p[1]) for p in points],
        crs=BNG,
    ).to_crs("EPSG:4326")
    return gdf


def _check_homes(homes: gpd.GeoDataFrame, lsoas: gpd.GeoDataFrame, spacing: float) -> None:
    assert homes.crs.to_string() == "EPSG:4326"
    assert list(homes.columns) == [*SCHEMAS["homes"].column_names, "geometry"]
    assert homes["id"].is_unique
    assert (homes["id"] == CASE_STUDY_ID).sum() == 1
    assert homes["id"].iloc[0] == CASE_STUDY_ID
    assert homes["fictional"].map(lambda v: v is True or v == True).all()  # noqa: E712
    assert homes["address"].isna().all() and homes["opening_hours"].isna().all()
    assert (homes["source"] == SAMPLE_SOURCE).all()
    assert homes["name"].str.contains("fictional").all()
    assert homes["notes"].str.contains("FICTIONAL").all()
    assert set(homes["category"]) <= {"children's home", "supported living (16+)"}
    assert homes.loc[homes["id"] == CASE_STUDY_ID, "category"].item() == "supported living (16+)"
    assert set(homes.geometry.geom_type) == {"Point"}
    # every home inside an LSOA (checked in the layer's own CRS, EPSG:4326)
    union = lsoas.geometry.union_all()
    assert all(union.contains(p) for p in homes.geometry)
    assigned = homes.attrs["lsoa_ids"]
    ids = lsoas.set_index("id" if "id" in lsoas.columns else "LSOA11CD").geometry
    for home_id, p in zip(homes["id"], homes.geometry, strict=True):
        assert ids[assigned[home_id]].contains(p)
    # minimum spacing, brute force over all pairs in metres
    metric = homes.to_crs(BNG).geometry
    for a, b in itertools.combinations(metric, 2):
        assert a.distance(b) >= spacing


def test_tiny_grid_rules_hold_and_deterministic() -> None:
    lsoas = _grid()
    before = lsoas.copy()
    homes = fictional_homes(lsoas, n_homes=8, core_radius_m=0.0)
    pd.testing.assert_frame_equal(lsoas, before)  # input untouched
    assert len(homes) == 8
    _check_homes(homes, lsoas, 300.0)
    again = fictional_homes(lsoas, n_homes=8, core_radius_m=0.0)
    pd.testing.assert_frame_equal(homes, again)
    assert homes.attrs == again.attrs


def test_spacing_limits_count_and_one_home_per_lsoa() -> None:
    lsoas = _grid(n=2)  # 4 squares of 500 m
    homes = fictional_homes(lsoas, n_homes=12, core_radius_m=0.0, min_spacing_m=300.0)
    assert 1 <= len(homes) <= 4
    assert len(set(homes.attrs["lsoa_ids"].values())) == len(homes)
    _check_homes(homes, lsoas, 300.0)
    far = fictional_homes(lsoas, n_homes=12, core_radius_m=0.0, min_spacing_m=5_000.0)
    assert len(far) == 1 and far["id"].iloc[0] == CASE_STUDY_ID


def test_core_is_excluded() -> None:
    lsoas = _grid()
    homes = fictional_homes(lsoas, n_homes=25, core_radius_m=1_200.0, min_spacing_m=0.0)
    centre = lsoas.to_crs(BNG).geometry.union_all().centroid  # no incidents: centroid
    reps = lsoas.to_crs(BNG).set_index("id").geometry.representative_point()
    used = set(homes.attrs["lsoa_ids"].values())
    allowed = {i for i, p in reps.items() if p.distance(centre) >= 1_200.0}
    assert used == allowed  # every LSOA outside the core, none inside
    with pytest.raises(InputError, match="commercial core"):
        fictional_homes(lsoas, core_radius_m=50_000.0)


def test_case_study_home_at_brute_force_hotspot() -> None:
    lsoas = _grid()
    # square L31 centre: (X0 + 1750, Y0 + 750); cluster of exploitation-type reports there
    cx, cy = X0 + 1750.0, Y0 + 750.0
    pts = [(cx + 10 * k, cy - 5 * k, c) for k, c in enumerate(CASE_STUDY_CATEGORIES * 2)]
    pts += [(X0 + 250.0, Y0 + 250.0, "Shoplifting")] * 20  # many, but not the focus
    incidents = _incidents(pts)
    incidents = pd.concat(
        [
            incidents,
            gpd.GeoDataFrame(
                {"id": ["x"], "category": ["Drugs"]}, geometry=[None], crs="EPSG:4326"
            ),
        ],
        ignore_index=True,
    )
    homes = fictional_homes(lsoas, incidents, n_homes=5, core_radius_m=0.0)
    _check_homes(homes, lsoas, 300.0)
    # brute force: count focus incidents within 400 m of every LSOA's representative point
    metric = lsoas.to_crs(BNG).set_index("id").geometry.representative_point()
    focus = [Point(x, y) for x, y, c in pts if c in CASE_STUDY_CATEGORIES]
    counts = {i: sum(p.distance(q) <= 400.0 for q in focus) for i, p in metric.items()}
    best = max(sorted(counts), key=lambda i: counts[i])
    assert homes.attrs["lsoa_ids"][CASE_STUDY_ID] == best
    home = homes.to_crs(BNG).geometry.iloc[0]
    assert home.distance(metric[best]) < 0.01  # on the representative point
    assert f"shows {counts[best]} drugs" in homes["notes"].iloc[0]


def test_errors() -> None:
    lsoas = _grid(n=2)
    with pytest.raises(InputError, match="same CRS"):
        fictional_homes(lsoas, _incidents([(X0, Y0, "Drugs")]).to_crs(BNG))
    with pytest.raises(InputError, match="'category'"):
        fictional_homes(lsoas, _incidents([(X0, Y0, "Drugs")]).drop(columns="category"))
    with pytest.raises(InputError, match="id columns"):
        fictional_homes(lsoas.drop(columns="id"))
    with pytest.raises(InputError, match="CRS"):
        fictional_homes(lsoas.set_crs(None, allow_override=True))
    with pytest.raises(InputError, match="Polygon"):
        fictional_homes(_incidents([(X0, Y0, "Drugs")]))
    with pytest.raises(InputError, match="empty"):
        fictional_homes(lsoas.iloc[0:0])


@pytest.fixture(scope="module")
def norwich() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    lsoas = gpd.read_file(REAL / "boundaries" / "norwich_lsoa_2011.geojson")
    raw = pd.read_csv(REAL / "crime" / "norwich_street_2018-10_to_2019-02.csv", dtype=str)
    lon, lat = pd.to_numeric(raw["Longitude"]), pd.to_numeric(raw["Latitude"])
    geoms = [None if math.isnan(x) else Point(x, y) for x, y in zip(lon, lat, strict=True)]
    incidents = gpd.GeoDataFrame(
        {"category": raw["Crime type"].astype(object)}, geometry=geoms, crs=lsoas.crs
    )
    return lsoas, incidents


def test_norwich_sample(norwich: tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]) -> None:
    lsoas, incidents = norwich
    homes = fictional_homes(lsoas, incidents)
    assert len(homes) == 12
    _check_homes(homes, lsoas, 300.0)
    assert (homes["category"] == "children's home").sum() == 6
    pd.testing.assert_frame_equal(homes, fictional_homes(lsoas, incidents))
    # the case-study home is the brute-force hotspot among LSOAs outside the core
    bng_lsoas = lsoas.to_crs(BNG).set_index("LSOA11CD")
    reps = bng_lsoas.geometry.representative_point()
    located = incidents[incidents.geometry.notna()].to_crs(BNG)
    per_lsoa = located.sjoin(bng_lsoas[["geometry"]], predicate="within").groupby("LSOA11CD").size()
    centre = reps[(per_lsoa / bng_lsoas.geometry.area).idxmax()]
    focus = located[located["category"].isin(CASE_STUDY_CATEGORIES)].geometry
    counts = {
        i: int((focus.distance(p) <= 400.0).sum())
        for i, p in reps.items()
        if p.distance(centre) >= 1_200.0
    }
    best = max(sorted(counts), key=lambda i: counts[i])
    assert homes.attrs["lsoa_ids"][CASE_STUDY_ID] == best
    assert counts[best] > 100  # a real concentration, for the concern-flag example


def test_norwich_sample_avoids_real_care_settings(
    norwich: tuple[gpd.GeoDataFrame, gpd.GeoDataFrame],
) -> None:
    """Sanity check: no fictional home lands on a real OSM care/social facility."""
    osm_file = REAL / "osm" / "norwich_osm_pois.geojson"
    lsoas, incidents = norwich
    osm = gpd.read_file(osm_file, columns=["amenity", "social_facility"])
    not_residential = ["food_bank", "soup_kitchen", "outreach", "day_care"]
    social = (
        osm["amenity"].isin(["social_facility", "nursing_home"]) | osm["social_facility"].notna()
    )
    real = osm[social & ~osm["social_facility"].isin(not_residential)].to_crs(BNG)
    assert len(real) > 20
    homes = fictional_homes(lsoas, incidents).to_crs(BNG)
    for p in homes.geometry:
        assert real.distance(p).min() >= 100.0
