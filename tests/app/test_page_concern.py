"""The Locations of concern page on the bundled sample (AppTest)."""

from __future__ import annotations

import re

import pandas as pd

from ctxmap.text import esc_markdown
from tests.app.test_pages import map_payload, metric, run_page

N_CONTEXTS = 1  # the sample's case-study context (ctx-0001), a point
N_PLACES = 12 + 45 + 82 + N_CONTEXTS


def ranking_table(at) -> pd.DataFrame:
    (table,) = [d.value for d in at.dataframe if "Reason" in d.value.columns]
    return table


def test_concern_page_ranks_flags_and_maps(store_copy):
    at = run_page("concern.py")
    table = ranking_table(at)
    # one youth centre is mapped twice in the sample: ranked once
    assert len(table) == N_PLACES - 1
    assert table["Rank"].tolist() == list(range(1, N_PLACES))
    assert metric(at, "Flagged") == f"{int(table['Flagged'].sum()):,}"
    # the default expectation is auto: on the sample the model (factors from the store's
    # places) is not calibrated, so the neighbourhood is the only expectation checked
    home = table[table["Place"].str.contains("case-study home", regex=False)]
    assert len(home) == 1
    assert "within 400 m" in home["Reason"].iloc[0]
    assert "Its neighbourhood (400–1,500 m, within Norwich)" in home["Reason"].iloc[0]
    assert not table["Poisson p, BH (without over-dispersion)"].str.contains("e-").any()
    # method stated on the page
    info = " ".join(i.value for i in at.info)
    assert "funnel limit" in info and "Expected count" in info and "local baseline" in info
    assert "local baseline: the only expectation that could be checked on Jan 2019 to Feb 2019" \
        in info
    # the study area is named once, as in every reason
    named = esc_markdown("Norwich (39.0 km², from norwich_lad_2013.geojson)")
    assert f"Study area: {named}. " in info
    assert "Norwich (Norwich" not in info
    # the funnel plot is drawn
    assert at.get("arrow_vega_lite_chart") or at.get("vega_lite_chart")
    # no population in the sample: the page says so
    assert any("no population" in w.value for w in at.warning)
    # at the 95 % limit some places are flagged, and the map draws their radius circles
    (limit,) = [r for r in at.sidebar.radio if r.label == "Flag above the funnel limit"]
    limit.set_value(0.95).run()
    assert not at.exception, at.exception
    assert ranking_table(at)["Flagged"].sum() == 10  # local expectation, 95 %
    script = map_payload(at)["script"]
    assert "new L.circle(" in script
    assert re.search(r'"radius": 400(\.0)?,', script)
    assert "Locations of concern (400 m)" in script
    assert "Hot and cold spots (Gi*)" in script
    assert "Incident density (heat)" in script
    labels = [b.proto.label for b in at.get("download_button")]
    assert any("ranking (CSV)" in lb for lb in labels)
    assert any("hotspot grid (GeoJSON)" in lb for lb in labels)
    # privacy: no home address ever reaches the page
    assert "address" not in " ".join(map(str, table.columns)).lower()


def test_concern_page_radius_changes_counts(store_copy):
    at = run_page("concern.py")
    before = ranking_table(at).set_index("Rank")
    at.sidebar.slider[0].set_value(200).run()
    assert not at.exception, at.exception
    after = ranking_table(at)
    assert len(after) == N_PLACES - 1
    assert after["Incidents"].sum() < before["Incidents"].sum()
    script = map_payload(at)["script"]
    assert re.search(r'"radius": 200(\.0)?,', script)
    assert not re.search(r'"radius": 400(\.0)?,', script)
    # a later, shorter period: fewer incidents, and trends compare with the months before
    at.sidebar.select_slider[0].set_value(("2019-01", "2019-02")).run()
    assert not at.exception, at.exception
    shorter = ranking_table(at)
    assert shorter["Incidents"].sum() < after["Incidents"].sum()
    trends = [d.value for d in at.dataframe if "previous" in d.value.columns]
    assert trends, "no trend table with the previous period"
    place_trends = trends[0]
    assert {"2019-01", "2019-02", "current", "previous", "change"} <= set(place_trends.columns)
    assert (place_trends["current"] == place_trends["2019-01"] + place_trends["2019-02"]).all()


def test_contexts_are_ranked_with_the_places(store_copy):
    import geopandas as gpd
    from shapely.geometry import box

    from ctxmap.cases.repository import create_context
    from ctxmap.layers.schemas import EXPLOITATION_CATEGORIES
    from ctxmap.store.geopackage import GeoPackageStore

    store = GeoPackageStore(store_copy)
    area = box(1.290, 52.625, 1.300, 52.632)
    create_context(store, "w", name="Drawn area context", kind="street",
                   referral_date="2019-01-05", referral_reason="r", geometry=area)
    create_context(store, "w", name="Chat group", kind="online space",
                   referral_date="2019-01-06", referral_reason="r")
    at = run_page("concern.py")
    table = ranking_table(at)
    assert len(table) == N_PLACES  # + the area context - one duplicate; online space: no location
    contexts = table[table["Layer"] == "Context of concern"]
    assert sorted(contexts["Place"]) == ["Drawn area context",
                                         "Supported living home (case study)"]
    assert any("representative point" in c.value for c in at.caption)
    # brute force: exploitation-related incidents within 400 m of the representative point
    inc = store.read("incidents")
    inc = inc[inc["category"].isin(EXPLOITATION_CATEGORIES) & inc.geometry.notna()]
    point = gpd.GeoSeries([area.representative_point()], crs="EPSG:4326").to_crs(27700)
    near = (inc.geometry.to_crs(27700).distance(point.iloc[0]) <= 400).sum()
    got = contexts.loc[contexts["Place"] == "Drawn area context", "Incidents"].iloc[0]
    assert got == near


def test_concern_page_expectation_selector(store_copy):
    at = run_page("concern.py")
    (chooser,) = [s for s in at.sidebar.selectbox if s.label == "Expected count from"]
    chooser.set_value("study-area").run()
    assert not at.exception, at.exception
    table = ranking_table(at)
    home = table[table["Place"].str.contains("case-study home", regex=False)]
    assert "An area that size in Norwich (study area) averages" in home["Reason"].iloc[0]
    # the 95 % limit is lower than the 99.8 % one, so it flags at least as many places
    strict = int(table["Flagged"].sum())
    (limit,) = [r for r in at.sidebar.radio if r.label == "Flag above the funnel limit"]
    limit.set_value(0.95).run()
    assert not at.exception, at.exception
    loose = ranking_table(at)
    assert int(loose["Flagged"].sum()) >= strict
    assert int(loose["Flagged"].sum()) == 13  # the sample, study-area expectation, 95 %
    # the model is not calibrated on the sample's places: every reason says so, none flagged
    (chooser,) = [s for s in at.sidebar.selectbox if s.label == "Expected count from"]
    chooser.set_value("model").run()
    assert not at.exception, at.exception
    table = ranking_table(at)
    assert not table["Flagged"].any()
    assert table["Reason"].str.contains("there is no baseline: model not used: it predicts").all()
