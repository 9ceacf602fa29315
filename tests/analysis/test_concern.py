import math
import re

import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely.geometry import Point, box

from ctxmap.analysis.areas import StudyArea, category_column
from ctxmap.analysis.concern import ConcernParams, rank_places
from ctxmap.analysis.counting import count_within
from ctxmap.analysis.place_detail import place_breakdown, place_trends
from ctxmap.errors import InputError

X0, Y0 = 620000.0, 308000.0  # Norwich, British National Grid
AREA = box(X0, Y0, X0 + 2000, Y0 + 2000)


def incidents_frame(rows):
    geoms = [None if xy is None else Point(X0 + xy[0], Y0 + xy[1]) for xy, _, _ in rows]
    return gpd.GeoDataFrame(
        {
            "id": [f"i{k}" for k in range(len(rows))],
            "month": [m for _, m, _ in rows],
            "category": [c for _, _, c in rows],
        },
        geometry=geoms,
        crs="EPSG:27700",
    )


def places_frame(xys, names=None):
    return gpd.GeoDataFrame(
        {
            "id": [f"p{k}" for k in range(len(xys))],
            "name": names or [f"Place {k}" for k in range(len(xys))],
            "layer": ["youth_centres"] * len(xys),
        },
        geometry=[Point(X0 + x, Y0 + y) for x, y in xys],
        crs="EPSG:27700",
    )


@pytest.fixture
def tiny():
    rows = [
        ((1400, 1000), "2019-01", "Drugs"),  # exactly 400 m east
        ((1000 + 240, 1000 + 320), "2019-01", "Robbery"),  # exactly 400 m (3-4-5)
        ((1400.5, 1000), "2019-01", "Drugs"),  # just outside
        ((1000, 1000), "2019-02", "Drugs"),
        ((1010, 990), "2018-12", "Drugs"),
        ((1010, 990), "2018-12", "Burglary"),  # not a selected category
        ((1010, 990), "2018-06", "Drugs"),  # outside the period
        (None, "2019-01", "Drugs"),  # no location
        ((100, 100), "2019-01", "Drugs"),
        ((50, 1000), "2019-02", "Robbery"),
    ]
    inc = incidents_frame(rows)
    places = places_frame([(1000, 1000), (50, 1000), (1900, 1900)], names=["A", "", "C"])
    params = ConcernParams(months=("2018-12", "2019-02"), min_incidents=1)
    return inc, places, params


def brute_counts(places, inc, params, area=AREA):
    """Incidents of the period and types inside ``area`` (its outline included) in the radius."""
    sel = inc[inc["month"].between(*params.months) & inc["category"].isin(params.categories)]
    sel = sel[sel.geometry.notna()]
    sel = sel[shapely.intersects(area, sel.geometry.to_numpy())]
    return np.array(
        [int((shapely.distance(sel.geometry.to_numpy(), p) <= params.radius_m).sum())
         for p in places.geometry]
    )


def test_points_on_radius_count_and_nulls_never_do(tiny):
    inc, places, params = tiny
    out = rank_places(places, inc, AREA, params).sort_index()
    assert out.loc[0, "incidents"] == 4  # two on the circle, two inside
    assert out.loc[0, "n_drugs"] == 3 and out.loc[0, "n_robbery"] == 1
    assert list(out["incidents"]) == list(brute_counts(places, inc, params))
    assert out.attrs["ctxmap"]["incidents_unlocated"] == 1


def test_geos_dwithin_includes_equality():
    tree = shapely.STRtree([Point(400, 0), Point(400.0001, 0)])
    assert list(tree.query(Point(0, 0), predicate="dwithin", distance=400)) == [0]


def test_random_brute_force_and_expected():
    rng = np.random.default_rng(7)
    n = 400
    xy = rng.uniform(-300, 2300, (n, 2)).round(0)
    rows = [((x, y), f"2019-0{1 + k % 2}", ("Drugs", "Robbery", "Burglary")[k % 3])
            for k, (x, y) in enumerate(xy)]
    inc = incidents_frame(rows)
    pxy = np.vstack([rng.uniform(0, 2000, (25, 2)).round(0), [[0, 0], [2000, 1000]]])
    places = places_frame([tuple(p) for p in pxy])
    params = ConcernParams(radius_m=300, months=("2019-01", "2019-02"), min_incidents=1,
                           baseline="study-area")
    out = rank_places(places, inc, AREA, params).sort_index()
    assert list(out["incidents"]) == list(brute_counts(places, inc, params))
    # incidents outside the study area are left out of the counts too, and counted
    sel = inc[inc["month"].between(*params.months) & inc["category"].isin(params.categories)]
    outside = int((~shapely.intersects(AREA, sel.geometry.to_numpy())).sum())
    assert out.attrs["ctxmap"]["incidents_outside"] == outside > 0
    assert out.attrs["ctxmap"]["incidents_used"] == len(sel) - outside
    everything = brute_counts(places, inc, params, area=AREA.buffer(1000))
    assert (everything >= out["incidents"].to_numpy()).all()
    assert (everything > out["incidents"].to_numpy()).any()  # edge places lose some
    # expected: density of the study area x circle clipped to the study area
    sel = inc[inc["category"].isin(params.categories)]
    density = shapely.intersects(AREA, sel.geometry.to_numpy()).sum() / 4.0
    for k, p in enumerate(places.geometry):
        circle = p.buffer(300, quad_segs=256)
        frac = circle.intersection(AREA).area / circle.area
        assert out.loc[k, "expected"] == pytest.approx(density * math.pi * 0.09 * frac, rel=1e-3)
    corner = out.loc[len(pxy) - 2]
    assert corner["circle_km2"] == pytest.approx(math.pi * 0.09 / 4, rel=1e-3)
    exp, obs = out["expected"].to_numpy(), out["incidents"].to_numpy()
    from scipy.stats import poisson
    assert np.allclose(out["p_value"], poisson.sf(obs - 1, exp))
    assert np.allclose(out["rate_ratio"], obs / exp)


def test_count_within_matches_brute_force():
    rng = np.random.default_rng(1)
    ix, iy = rng.uniform(0, 1000, 2000), rng.uniform(0, 1000, 2000)
    px, py = rng.uniform(0, 1000, 700), rng.uniform(0, 1000, 700)
    codes = rng.integers(-1, 3, 2000)
    got = count_within(px, py, ix, iy, codes, 3, 120.0)
    d = np.hypot(px[:, None] - ix[None, :], py[:, None] - iy[None, :]) <= 120.0
    for c in range(3):
        assert np.array_equal(got[:, c], (d & (codes == c)[None, :]).sum(axis=1))


def test_one_row_per_place_input_untouched_and_unnamed_kept(tiny):
    inc, places, params = tiny
    before_inc, before_places = inc.copy(), places.copy()
    out = rank_places(places, inc, AREA, params)
    assert sorted(out.index) == [0, 1, 2]
    assert sorted(out["rank"]) == [1, 2, 3]
    assert out.loc[1, "name"] == ""
    assert out.crs == places.crs
    assert inc.equals(before_inc) and places.equals(before_places)
    for col in ("place_id", "name", "layer", "incidents", "expected", "rate_ratio", "p_value",
                "flagged", "reason", "period_from", "period_to"):
        assert col in out.columns


REASON = re.compile(
    r"^(?P<n>\d+) incidents? within (?P<r>[\d.]+) m \((?P<period>[A-Z][a-z]{2} \d{4}"
    r"(?: to [A-Z][a-z]{2} \d{4})?)(?:; (?P<cats>[^)]+))?\)\. An area that size in "
    r"(?P<area>.+?) \(study area\) averages (?P<exp>[\d.]+), so this is (?P<rr>[\d.]+) times "
    r"that\. (?P<verdict>Above|Within) the 99\.8 % funnel limit for places with this "
    r"expectation \((?P<upper>[\d.]+); over-dispersion estimated from (?P<n_funnel>\d+) "
    r"places\)(?::|, but) (?P<flag>flagged|not flagged)[^.]*\. Without over-dispersion: "
    r"one-sided Poisson p (?P<op>=|<) (?P<p>[\d.e+-]+), Benjamini–Hochberg adjusted p "
    r"(?P<qop>=|<) (?P<q>[\d.e+-]+)\.(?: Study area: (?P<study>.+)\.)?$"
)


def test_every_reason_matches_its_row():
    rng = np.random.default_rng(3)
    xy = np.vstack([rng.normal(1000, 80, (60, 2)), rng.uniform(0, 2000, (60, 2))])
    cats = ("Drugs", "Robbery", "Possession of weapons")
    rows = [((x, y), "2019-01", cats[k % 3]) for k, (x, y) in enumerate(xy)]
    inc = incidents_frame(rows)
    grid = [(x, y) for x in range(200, 2000, 400) for y in range(200, 2000, 400)]
    places = places_frame([(1000, 1000), (990, 1010), *grid])
    params = ConcernParams(months=("2019-01", "2019-01"), categories=cats, min_incidents=2,
                           baseline="study-area")
    out = rank_places(places, inc, StudyArea(AREA, "EPSG:27700", name="Testham"), params)
    assert out["flagged"].any() and not out["flagged"].all()
    for _, row in out.iterrows():
        m = REASON.match(row["reason"])
        assert m, row["reason"]
        assert int(m["n"]) == row["incidents"]
        assert m["period"] == "Jan 2019" and m["area"] == "Testham"
        assert float(m["rr"]) == float(f"{row['rate_ratio']:.1f}")
        assert float(m["exp"]) == float(f"{row['expected']:.1f}")
        assert float(m["upper"]) == float(f"{row['funnel_upper']:.1f}")
        assert int(m["n_funnel"]) == int((out["expected"] > 0).sum()) == len(places)
        for op, val, col in ((m["op"], m["p"], "p_value"), (m["qop"], m["q"], "p_adjusted")):
            if op == "<":
                assert row[col] < 0.001 and val == "0.001"
            else:
                assert float(val) == float(f"{row[col]:.2g}")
        assert (m["flag"] == "flagged") == row["flagged"]
        assert (m["verdict"] == "Above") == (row["incidents"] > row["funnel_upper"])
        listed = {}
        for part in (m["cats"] or "").split(", "):
            if part:
                k, name = part.split(" ", 1)
                listed[name] = int(k)
        for c in cats:
            assert listed.get(c.lower(), 0) == row[category_column(c)]


def test_fdr_marks_no_more_than_uncorrected():
    rng = np.random.default_rng(11)
    xy = np.vstack([rng.normal(1000, 300, (300, 2)), rng.uniform(0, 2000, (300, 2))])
    inc = incidents_frame([((x, y), "2019-01", "Drugs") for x, y in xy])
    places = places_frame([tuple(p) for p in rng.uniform(0, 2000, (60, 2))])
    common = dict(radius_m=200, min_incidents=0, baseline="study-area")
    bh = rank_places(places, inc, AREA, ConcernParams(**common))
    raw = rank_places(places, inc, AREA, ConcernParams(**common, correction="none"))
    assert bh["poisson_significant"].sum() < raw["poisson_significant"].sum()
    assert (bh["poisson_significant"] <= raw["poisson_significant"].reindex(bh.index)).all()
    # the flags come from the funnel, which the correction does not change
    assert bh["flagged"].equals(raw["flagged"].reindex(bh.index))


def test_weights_and_place_outside_study_area(tiny):
    inc, places, params = tiny
    outside = places_frame([(5000, 5000)])
    both = gpd.GeoDataFrame(
        gpd.pd.concat([places, outside], ignore_index=True), crs="EPSG:27700"
    )
    p = ConcernParams(months=params.months, min_incidents=1, weights={"Drugs": 2.0})
    out = rank_places(both, inc, AREA, p).sort_index()
    assert list(out["weighted_score"]) == list(2 * out["n_drugs"] + out["n_robbery"]
                                             + out["n_anti_social_behaviour"]
                                             + out["n_possession_of_weapons"]
                                             + out["n_violence_and_sexual_offences"])
    assert np.isnan(out.loc[3, "p_value"]) and not out.loc[3, "flagged"]
    assert "no baseline" in out.loc[3, "reason"]


def test_errors():
    with pytest.raises(InputError, match="radius"):
        ConcernParams(radius_m=0)
    # other sources have other categories: any name is a valid selection...
    assert ConcernParams(categories=("Drugs", "Harm log: CCE")).categories == (
        "Drugs", "Harm log: CCE")
    # ...but an empty one is not
    with pytest.raises(InputError, match="no incident types"):
        ConcernParams(categories=())
    with pytest.raises(InputError, match="YYYY-MM"):
        ConcernParams(months=("2019-1", "2019-02"))
    inc = incidents_frame([((0, 0), "2019-01", "Drugs")])
    places = places_frame([(0, 0)]).to_crs("EPSG:4326")
    with pytest.raises(InputError, match="different CRSs"):
        rank_places(places, inc, AREA)


def test_breakdown_matches_ranking(tiny):
    inc, places, params = tiny
    out = rank_places(places, inc, AREA, params).sort_index()
    b = place_breakdown(places.iloc[[0]], inc, params)
    assert int(b.by_category.sum()) == out.loc[0, "incidents"]
    assert b.by_category["Drugs"] == out.loc[0, "n_drugs"]
    assert list(b.by_month.index) == ["2018-12", "2019-01", "2019-02"]
    assert list(b.by_month.sum(axis=1)) == [1, 2, 1]
    assert b.incidents["distance_m"].is_monotonic_increasing
    assert b.incidents["distance_m"].max() == 400.0


def test_place_trends_previous_period(tiny):
    inc, places, _ = tiny
    extra = incidents_frame([((1000, 1000), "2018-11", "Drugs"),
                             ((1000, 1000), "2018-10", "Drugs"),
                             ((1000, 1000), "2018-10", "Drugs")])
    both = gpd.GeoDataFrame(gpd.pd.concat([inc, extra], ignore_index=True), crs="EPSG:27700")
    t = place_trends(places, both, ConcernParams(months=("2018-12", "2019-01"))).loc[0]
    # current Dec+Jan: 1 + 2 = 3; previous Oct+Nov: 2 + 1 = 3
    assert (t["2018-12"], t["2019-01"], t["current"], t["previous"]) == (1, 2, 3, 3)
    assert t["change"] == 0 and t["change_pct"] == 0.0
