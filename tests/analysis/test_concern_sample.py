"""Locations of concern on the real sample: stable, explained, checked by brute force."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from ctxmap.analysis.concern import ConcernParams, rank_places
from ctxmap.analysis.inputs import load_layer, load_places, resolve_study_area
from tests.analysis.test_concern import REASON


@pytest.fixture(scope="module")
def sample(sample_store_path):
    places = load_places(sample_store_path)
    incidents = load_layer(sample_store_path, "incidents")
    area = resolve_study_area(sample_store_path)  # the Norwich LAD outline, set in the store
    return places, incidents, area


def flagged_ids(out: pd.DataFrame) -> set[str]:
    return set(out.loc[out["flagged"], "place_id"])


def test_flagged_set_is_stable_and_order_free(sample):
    places, incidents, area = sample
    params = ConcernParams(baseline="study-area", funnel_level=0.95)
    first = rank_places(places, incidents, area, params)
    again = rank_places(places, incidents, area, params)
    assert flagged_ids(first) == flagged_ids(again)
    rng = np.random.default_rng(7)
    shuffled = rank_places(places.iloc[rng.permutation(len(places))],
                           incidents.iloc[rng.permutation(len(incidents))], area, params)
    assert flagged_ids(shuffled) == flagged_ids(first)
    # one youth centre is mapped twice (two OSM ways, same name, < 150 m apart): ranked once
    assert len(places) == 139 and len(first) == 138
    merged = first.loc[first["records"] > 1]
    assert list(merged["name"]) == ["Marlpit Community Centre"]
    assert merged["merged_records"].iloc[0] == (
        "Marlpit Community Centre (youth_centres, way/181051702)")
    assert 0 < len(flagged_ids(first)) < len(first)


def test_every_sample_reason_matches_its_numbers(sample):
    places, incidents, area = sample
    out = rank_places(places, incidents, area, ConcernParams(baseline="study-area"))
    outside = 0
    for _, row in out.iterrows():
        if row["expected"] == 0:  # suburbs: the circle lies wholly outside the district
            outside += 1
            assert row["reason"].startswith(f"{row['incidents']} incident")
            assert "no baseline" in row["reason"] and not row["flagged"]
            continue
        m = REASON.match(row["reason"])
        assert m, row["reason"]
        assert int(m["n"]) == row["incidents"]
        assert m["area"] == "Norwich" and float(m["r"]) == 400
        assert m["study"] == "Norwich (39.0 km², from norwich_lad_2013.geojson)"
        assert m["period"] == "Oct 2018 to Feb 2019"
        assert float(m["exp"]) == float(f"{row['expected']:.1f}")
        assert (m["flag"] == "flagged") == bool(row["flagged"])
    assert outside < len(out) / 2


def test_sample_counts_match_brute_force(sample):
    """Counts are of the incidents inside the study area (plain shapely ``within``)."""
    places, incidents, area = sample
    params = ConcernParams()
    ranked = rank_places(places, incidents, area, params)
    out = ranked.set_index("place_id")
    inc = incidents[incidents["category"].isin(params.categories)]
    inc = inc[inc.geometry.notna()].to_crs(27700)
    outline = gpd.GeoSeries([area.geometry], crs="EPSG:4326").to_crs(27700).iloc[0]
    inside = shapely.within(inc.geometry.to_numpy(), outline)
    pts = inc.geometry.to_numpy()[inside]
    meta = ranked.attrs["ctxmap"]
    assert meta["incidents_used"] == int(inside.sum()) == meta["incidents_in_study_area"]
    # the sample's police.uk file reaches past the district: those are left out, and said so
    assert meta["incidents_outside"] == int((~inside).sum()) > 0
    for pid, geom in zip(places["id"], places.to_crs(27700).geometry, strict=True):
        if pid not in out.index:  # a duplicate record, ranked under its twin
            assert out["merged_records"].str.contains(pid, regex=False).any()
            continue
        expected = int((shapely.distance(pts, geom) <= 400).sum())
        assert out.loc[pid, "incidents"] == expected, pid
