"""The Locations of concern page on the bundled sample (AppTest)."""

from __future__ import annotations

import re

import pandas as pd

from tests.app.test_pages import map_payload, metric, run_page

N_CONTEXTS = 1  # the sample's case-study context (ctx-0001), a point
N_PLACES = 12 + 45 + 82 + N_CONTEXTS


def ranking_table(at) -> pd.DataFrame:
    (table,) = [d.value for d in at.dataframe if "Reason" in d.value.columns]
    return table


def test_concern_page_ranks_flags_and_maps(store_copy):
    at = run_page("concern.py")
    table = ranking_table(at)
    assert len(table) == N_PLACES
    assert table["Rank"].tolist() == list(range(1, N_PLACES + 1))
    flagged = table[table["Flagged"]]
    assert len(flagged) >= 1
    assert metric(at, "Flagged") == f"{len(flagged):,}"
    # the case-study home is flagged, with a reason that states the radius
    home = table[table["Place"].str.contains("case-study home", regex=False)]
    assert len(home) == 1 and bool(home["Flagged"].iloc[0])
    assert "within 400 m" in home["Reason"].iloc[0]
    # method stated on the page
    info = " ".join(i.value for i in at.info)
    assert "Poisson" in info and "Baseline" in info and "0.05" in info
    # no population in the sample: the page says so
    assert any("no population" in w.value for w in at.warning)
    # the map draws the radius circles around flagged places
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
    assert len(after) == N_PLACES
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
    assert len(table) == N_PLACES + 1  # the area context; the online space has no location
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
