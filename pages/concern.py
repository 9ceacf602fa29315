"""Locations of concern: places ranked by nearby incidents, flagged ones mapped and explained."""

from __future__ import annotations

import re

import geopandas as gpd
import pandas as pd
import streamlit as st

from ctxmap.analysis.areas import StudyArea, area_counts, area_trends, category_column, study_area
from ctxmap.analysis.concern import (
    ConcernParams,
    PlaceBreakdown,
    place_breakdown,
    place_trends,
    rank_places,
)
from ctxmap.analysis.density import kernel_density
from ctxmap.analysis.hotspots import gistar_hotspots
from ctxmap.analysis.inputs import load_places
from ctxmap.analysis.periods import (
    categories_available,
    format_period,
    month_index,
    months_available,
    previous_period,
)
from ctxmap.app.audit import export_button
from ctxmap.app.cache import load_layers
from ctxmap.app.drawing import draw_map
from ctxmap.app.session import session_store_exists, store_target, store_version
from ctxmap.app.widgets import attribution_caption, show_table
from ctxmap.cases.scope import contexts_as_places, contexts_signature
from ctxmap.errors import CtxmapError
from ctxmap.layers.schemas import EXPLOITATION_CATEGORIES, POLICE_UK_CATEGORIES
from ctxmap.maps.analysis import (
    add_groups,
    choropleth_group,
    concern_group,
    density_group,
    hotspot_group,
)
from ctxmap.maps.layers import build_map
from ctxmap.store.opening import open_store

Period = tuple[str, str]
Cats = tuple[str, ...] | None
PLACE_LAYERS = ("homes", "youth_centres", "safe_places")
LAYER_LABELS = {"homes": "Home", "youth_centres": "Youth centre", "safe_places": "Safe place",
                "contexts": "Context of concern"}
LEVEL_LABELS = {"lsoa": "LSOA", "ward": "Ward", "msoa": "MSOA"}

# --------------------------------------------------------------------------- cached work
# Keyed by the store path + version and hashable parameters; layers are read inside.


@st.cache_data(max_entries=8, show_spinner=False)
def _layer(path: str, version: float, kind: str) -> gpd.GeoDataFrame:
    return open_store(path, create=False).read(kind)


@st.cache_data(max_entries=4, show_spinner=False)
def _places(path: str, version: float, contexts: str) -> gpd.GeoDataFrame:
    """Homes, youth centres, safe places and located contexts (``contexts``: cache key)."""
    located = contexts_as_places(open_store(path, create=False)).drop(columns="location")
    return gpd.GeoDataFrame(pd.concat([load_places(path, []), located], ignore_index=True),
                            geometry="geometry", crs=located.crs)


@st.cache_data(max_entries=4, show_spinner=False)
def _study_area(path: str, version: float) -> StudyArea:
    return study_area(_layer(path, version, "areas"), _layer(path, version, "incidents"))


def _params(period: Period, cats: Cats, radius: float, alpha: float = 0.05,
            min_incidents: int = 5, correction: str = "fdr_bh",
            weights: tuple[tuple[str, float], ...] | None = None) -> ConcernParams:
    return ConcernParams(radius_m=radius, months=period, categories=cats, alpha=alpha,
                         min_incidents=min_incidents, correction=correction,  # type: ignore[arg-type]
                         weights=dict(weights) if weights else None)


@st.cache_data(max_entries=32, show_spinner="Counting incidents around every place…")
def _ranking(path: str, version: float, contexts: str, period: Period, cats: Cats, radius: float,
             alpha: float, min_incidents: int, correction: str,
             weights: tuple[tuple[str, float], ...] | None) -> gpd.GeoDataFrame:
    return rank_places(_places(path, version, contexts), _layer(path, version, "incidents"),
                       _study_area(path, version),
                       _params(period, cats, radius, alpha, min_incidents, correction, weights))


@st.cache_data(max_entries=64, show_spinner=False)
def _breakdown(path: str, version: float, contexts: str, place_id: str, period: Period, cats: Cats,
               radius: float) -> PlaceBreakdown:
    places = _places(path, version, contexts)
    one = places.loc[(places["id"].astype(str) == place_id).to_numpy()].head(1)
    return place_breakdown(one, _layer(path, version, "incidents"),
                           _params(period, cats, radius))


@st.cache_data(max_entries=16, show_spinner=False)
def _place_trends(path: str, version: float, contexts: str, period: Period, cats: Cats,
                  radius: float) -> pd.DataFrame:
    return place_trends(_places(path, version, contexts), _layer(path, version, "incidents"),
                        _params(period, cats, radius))


@st.cache_data(max_entries=16, show_spinner=False)
def _area_counts(path: str, version: float, level: str, period: Period,
                 cats: Cats) -> gpd.GeoDataFrame:
    return area_counts(_layer(path, version, "areas"), _layer(path, version, "incidents"),
                       period, cats, level)


@st.cache_data(max_entries=16, show_spinner=False)
def _area_trends(path: str, version: float, level: str, period: Period,
                 cats: Cats) -> pd.DataFrame:
    return area_trends(_layer(path, version, "areas"), _layer(path, version, "incidents"),
                       period, cats, level)


@st.cache_data(max_entries=16, show_spinner="Testing grid cells for hot and cold spots…")
def _hotspots(path: str, version: float, cell_m: float, period: Period,
              cats: Cats) -> gpd.GeoDataFrame:
    return gistar_hotspots(_layer(path, version, "incidents"), _study_area(path, version),
                           cell_m, period, cats)


@st.cache_data(max_entries=16, show_spinner=False)
def _density(path: str, version: float, bandwidth: float | None, period: Period,
             cats: Cats) -> gpd.GeoDataFrame:
    return kernel_density(_layer(path, version, "incidents"), _study_area(path, version),
                          100.0, bandwidth, period, cats)


# --------------------------------------------------------------------------- helpers

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+\-.!|~$])")


def md(text: object) -> str:
    """Escape user-supplied text for st.markdown (no formatting, links or HTML)."""
    return _MD_SPECIAL.sub(r"\\\1", str(text))


def run_or_warn(what: str, fn, *args):  # type: ignore[no-untyped-def]
    """Call a cached analysis; on a ctxmap error show it and return None."""
    try:
        return fn(*args)
    except CtxmapError as exc:
        st.warning(f"{what}: {exc}")
        return None


# --------------------------------------------------------------------------- page

st.title("Locations of concern")
st.caption(
    "Every home, youth centre, safe place and context of concern ranked by the reported "
    "incidents around it. "
    "A place is flagged when it has clearly more than an area of that size usually has. "
    "A flag is a prompt to look closer, not a finding about the place or the people there."
)

layers = load_layers()
path = store_target()
version = store_version(path)
ctx_key = contexts_signature(open_store(path, create=False)) if session_store_exists() else ""
incidents = layers["incidents"]
months = months_available(incidents)
present = categories_available(incidents)
if not months or sum(len(layers[k]) for k in PLACE_LAYERS) == 0:
    st.info("The store needs incidents and at least one place layer (homes, youth centres or "
            "safe places). Import them on the Import & layers page.")
    st.stop()

with st.sidebar:
    st.subheader("Period and harm types")
    first, last = st.select_slider("Months", options=months, value=(months[0], months[-1]))
    focus = st.radio("Harm types", ["Exploitation-related", "All types", "Choose…"], index=0,
                     help="Exploitation-related: " + ", ".join(EXPLOITATION_CATEGORIES))
    if focus == "Exploitation-related":
        cats: Cats = EXPLOITATION_CATEGORIES
    elif focus == "All types":
        cats = None
    else:
        known = [c for c in POLICE_UK_CATEGORIES if c in present] or list(POLICE_UK_CATEGORIES)
        picked = st.multiselect("Types", known,
                                default=[c for c in EXPLOITATION_CATEGORIES if c in known])
        cats = tuple(picked) if picked else EXPLOITATION_CATEGORIES
        if not picked:
            st.caption("No type chosen: using the exploitation-related types.")
    weights: tuple[tuple[str, float], ...] | None = None
    with st.expander("Weights (optional)"):
        if st.checkbox("Weight the types", help="Adds a weighted score: the sum of weight x "
                       "count. The ranking and flags stay on the unweighted counts."):
            listed = cats if cats is not None else tuple(present)
            weights = tuple(
                (c, float(st.number_input(c, min_value=0.0, max_value=10.0, value=1.0,
                                          step=0.5, key=f"w_{c}")))
                for c in listed
            )
    st.subheader("Locations of concern")
    radius = float(st.slider("Radius around each place (m)", 100, 1000, 400, step=50))
    alpha = float(st.select_slider("Significance threshold", options=[0.01, 0.05, 0.1],
                                   value=0.05))
    min_incidents = int(st.number_input("Fewest incidents to flag", 0, 1000, 5, step=1))
    correction = st.radio(
        "Multiple-testing correction", ["fdr_bh", "none"], horizontal=True,
        format_func=lambda c: "Benjamini–Hochberg" if c == "fdr_bh" else "None")
    st.subheader("Areas and hotspots")
    area_levels = (set(layers["areas"]["level"].astype(str))
                   if "level" in layers["areas"] else set())
    level = st.radio("Areas", [lv for lv in ("lsoa", "ward", "msoa") if lv in area_levels]
                     or ["lsoa"],
                     horizontal=True, format_func=lambda lv: LEVEL_LABELS.get(lv, lv))
    cell_m = float(st.slider("Hotspot cell size (m)", 100, 1000, 250, step=50))
    auto_bw = st.checkbox("Heat bandwidth: automatic (Scott's rule)", value=True)
    bandwidth = None if auto_bw else float(
        st.slider("Heat bandwidth (m)", 50, 1500, 300, step=50))

period: Period = (first, last)
ranked = run_or_warn("The ranking could not be made", _ranking, path, version, ctx_key, period,
                     cats, radius, alpha, min_incidents, correction, weights)
if ranked is None:
    st.stop()
meta = ranked.attrs["ctxmap"]

c1, c2, c3, c4 = st.columns(4)
c1.metric("Places ranked", f"{len(ranked):,}")
c2.metric("Flagged", f"{int(meta['flagged']):,}")
c3.metric("Incidents counted", f"{int(meta['incidents_used']):,}",
          help="Located incidents of the chosen types in the period")
c4.metric("No location (never counted)", f"{int(meta['incidents_unlocated']):,}",
          help="Incidents of the chosen types in the period with no location: they cannot "
          "count near any place, and are not dropped from these figures.")

types_text = ", ".join(meta["categories"]) if cats is not None else "all types"
correction_text = ("Benjamini–Hochberg false-discovery-rate adjustment across places"
                   if correction == "fdr_bh" else "no multiple-testing correction")
st.info(
    f"**How places are flagged.** Incidents counted: {md(types_text)}, "
    f"{md(meta['period_text'])}, within **{radius:g} m** of each place. "
    f"**Baseline:** an area that size in {md(meta['study_area_name'])} would average "
    f"{meta['density_per_km2']:.1f} incidents per km² "
    f"({int(meta['incidents_in_study_area']):,} incidents over "
    f"{meta['study_area_km2']:.1f} km²; {md(meta['study_area'])}); the circle is clipped to "
    "the study area. **Test:** one-sided Poisson, P(X ≥ observed | expected), with "
    f"{correction_text}. **Threshold:** flagged when the "
    f"{'adjusted ' if correction == 'fdr_bh' else ''}p-value is ≤ {alpha:g} and there are at "
    f"least {min_incidents} incidents."
)

n_contexts = int((ranked["layer"] == "contexts").sum())
if n_contexts:
    st.caption(
        f"{n_contexts} context(s) of concern (Contexts page) are ranked with the places: a "
        "context referred as a point is counted around its point; a context drawn as an area "
        "is counted around its representative point (a point inside the area), with the same "
        "radius as every place. Online spaces have no location and are not ranked.")

# --------------------------------------------------------------------------- map
st.subheader("Map")
grid = run_or_warn("Hot spots could not be computed", _hotspots, path, version, cell_m,
                   period, cats)
kde = run_or_warn("The heat layer could not be computed", _density, path, version, bandwidth,
                  period, cats)
per_area = run_or_warn("Area counts could not be made", _area_counts, path, version, level,
                       period, cats)
analysis = []
if per_area is not None:
    analysis.append(choropleth_group(per_area, name=f"Incidents per {LEVEL_LABELS[level]}"))
if kde is not None:
    analysis.append(density_group(kde))
if grid is not None:
    analysis.append(hotspot_group(grid))
analysis.append(concern_group(ranked, radius))
areas = layers["areas"]
outlines = areas.loc[areas["level"].astype(str).isin(["district", "ward"]).to_numpy()]
fmap = build_map({"areas": outlines} if len(outlines) else {"areas": areas})
add_groups(fmap, analysis)
draw_map(fmap, key="concern_map")
st.caption("Use the layer list (top right) to switch the area choropleth, heat and hotspot "
           "layers on and off. Click a place for the reason it is, or is not, flagged.")

tab_rank, tab_detail, tab_areas, tab_hot, tab_trends = st.tabs(
    ["Ranking", "One location", "Areas", "Hotspots and heat", "Trends"])

# --------------------------------------------------------------------------- ranking
with tab_rank:
    cat_cols = [category_column(c) for c in meta["categories"]]
    table = pd.DataFrame({
        "Rank": ranked["rank"].to_numpy(),
        "Place": ranked["name"].replace("", "(unnamed)").to_numpy(),
        "Layer": ranked["layer"].map(LAYER_LABELS).fillna(ranked["layer"]).to_numpy(),
        "Incidents": ranked["incidents"].to_numpy(),
        "Expected": ranked["expected"].round(1).to_numpy(),
        "Rate ratio": ranked["rate_ratio"].round(2).to_numpy(),
        "p (adjusted)": ranked["p_adjusted"].to_numpy(),
        "Flagged": ranked["flagged"].to_numpy(),
    })
    if "weighted_score" in ranked:
        table["Weighted score"] = ranked["weighted_score"].round(1).to_numpy()
    for cat, col in zip(meta["categories"], cat_cols, strict=True):
        table[cat] = ranked[col].to_numpy()
    table["Reason"] = ranked["reason"].to_numpy()
    only = st.checkbox("Show only flagged places")
    show_table(table[table["Flagged"]] if only else table,
               column_config={"p (adjusted)": st.column_config.NumberColumn(format="%.2g")})
    export = ranked.drop(columns=ranked.geometry.name)
    export_button(
        "Download the ranking (CSV)", export.to_csv(index=False).encode("utf-8"),
        file_name=f"locations-of-concern-{first}-{last}-{radius:g}m.csv", mime="text/csv",
        what=f"locations-of-concern ranking, {len(export)} places, {first}..{last}, "
        f"{radius:g} m (CSV)",
        help="The table's columns only: no addresses and no individual incidents.")

# --------------------------------------------------------------------------- detail
with tab_detail:
    located = ranked.loc[ranked.geometry.notna().to_numpy()]
    labels = {
        str(pid): f"{rank}. {name or '(unnamed)'} — {LAYER_LABELS.get(layer, layer)}"
        + (" (flagged)" if flag else "")
        for pid, rank, name, layer, flag in zip(
            located["place_id"], located["rank"], located["name"], located["layer"],
            located["flagged"], strict=True)
    }
    chosen = st.selectbox("Location", list(labels), format_func=labels.get)
    row = ranked.loc[(ranked["place_id"].astype(str) == chosen).to_numpy()].iloc[0]
    head = (f"**{md(row['name'] or '(unnamed)')}** — "
            f"{md(LAYER_LABELS.get(row['layer'], row['layer']))}, rank {int(row['rank'])} "
            f"of {len(ranked)}. ")
    (st.error if bool(row["flagged"]) else st.success)(head + md(row["reason"]))
    detail = run_or_warn("No detail", _breakdown, path, version, ctx_key, chosen, period, cats,
                         radius)
    if detail is not None:
        d1, d2 = st.columns(2)
        with d1:
            st.markdown(f"**Incidents within {radius:g} m by type**")
            by_cat = detail.by_category.rename("Incidents").rename_axis("Type").reset_index()
            st.bar_chart(by_cat, x="Type", y="Incidents", horizontal=True)
        with d2:
            st.markdown("**By month and type**")
            by_month = detail.by_month.copy()
            by_month.index = by_month.index.astype(str)
            st.bar_chart(by_month)
        by_month_table = detail.by_month.reset_index().rename(columns={"month": "Month"})
        by_month_table["All types"] = detail.by_month.sum(axis=1).to_numpy()
        show_table(by_month_table)

# --------------------------------------------------------------------------- areas
with tab_areas:
    if per_area is not None:
        has_pop = bool(per_area["rate_per_1000"].notna().any())
        if not has_pop:
            st.warning(f"The {LEVEL_LABELS[level]} areas in the store have no population "
                       "figures, so these are counts of incidents, not rates per 1,000 "
                       "residents. Larger areas will tend to have more.")
        names = {"name": "Area", "area_id": "Code", "incidents": "Incidents",
                 "population": "Population", "rate_per_1000": "Per 1,000 residents"}
        names.update({category_column(c): c for c in per_area.attrs["ctxmap"]["categories"]
                      if category_column(c) in per_area})
        cols = [c for c in names if c in per_area and (has_pop or c not in
                                                        ("population", "rate_per_1000"))]
        show_table(pd.DataFrame(per_area[cols]).sort_values("incidents", ascending=False)
                   .rename(columns=names))
        am = per_area.attrs["ctxmap"]
        st.caption(f"{am['incidents_used']:,} incidents counted in an area; "
                   f"{am['incidents_unlocated']:,} with no location and "
                   f"{am['incidents_outside']:,} outside every area are not counted. "
                   "The choropleth is a layer on the map above.")

# --------------------------------------------------------------------------- hotspots
with tab_hot:
    if grid is not None:
        gm = grid.attrs["ctxmap"]
        h1, h2, h3 = st.columns(3)
        h1.metric("Hot-spot cells", f"{gm['hot_cells']:,}")
        h2.metric("Cold-spot cells", f"{gm['cold_cells']:,}")
        h3.metric("Cells tested", f"{gm['cells']:,}")
        st.markdown(
            f"**Getis-Ord Gi\\*** on {md(gm['grid'])}. Weights: {md(gm['weights'])}. "
            f"Statistic: {md(gm['statistic'])}; p-value {md(gm['p_value'])}. "
            f"Correction: {md(gm['correction'])}. Only significant cells are drawn.")
        export_button(
            "Download the hotspot grid (GeoJSON)", grid.to_json(drop_id=True).encode("utf-8"),
            file_name=f"hotspots-{first}-{last}-{cell_m:g}m.geojson",
            mime="application/geo+json",
            what=f"Gi* hotspot grid, {len(grid)} cells of {cell_m:g} m, {first}..{last}")
    if kde is not None:
        km = kde.attrs["ctxmap"]
        st.markdown(
            f"**Heat layer:** {md(km['kernel'])}, bandwidth **{km['bandwidth_m']:,.0f} m** "
            f"({md(km['bandwidth_rule'])}), {km['cell_m']:g} m cells, in {md(km['unit'])}.")

# --------------------------------------------------------------------------- trends
with tab_trends:
    prev = previous_period(period)
    st.markdown(f"Current period **{md(format_period(period))}** against the previous period "
                f"of equal length, **{md(format_period(prev))}**.")
    prev_missing = month_index(prev[1]) < month_index(months[0])
    hide = ["previous", "change", "change_pct"] if prev_missing else []
    if prev_missing:
        st.warning(f"The store has no incidents before "
                   f"{md(format_period((months[0], months[0])))}, so there is nothing to "
                   f"compare with: the previous period ({md(format_period(prev))}) is not in "
                   "the data and is left out. Choose a shorter, later period (at most half "
                   "of the months) to see the change.")
    elif month_index(prev[0]) < month_index(months[0]):
        st.warning(f"The store has incidents from {md(format_period((months[0], months[0])))} "
                   f"only, so the previous period ({md(format_period(prev))}) is "
                   "partly missing: its counts are too low or zero. Choose a shorter, later period "
                   "for a fair comparison.")
    trends = run_or_warn("Place trends", _place_trends, path, version, ctx_key, period, cats,
                         radius)
    if trends is not None:
        st.markdown(f"**Per location** (incidents within {radius:g} m)")
        tt = trends.drop(columns=hide)
        tt["layer"] = tt["layer"].map(LAYER_LABELS).fillna(tt["layer"])
        tt = tt.rename(columns={"place_id": "id", "name": "Place", "layer": "Layer",
                                "change_pct": "change %"})
        show_table(tt.sort_values("current", ascending=False))
    a_trends = run_or_warn("Area trends", _area_trends, path, version, level, period, cats)
    if a_trends is not None:
        st.markdown(f"**Per {LEVEL_LABELS[level]}**")
        show_table(a_trends.drop(columns=hide)
                   .rename(columns={"change_pct": "change %", "area_id": "Code",
                                    "name": "Area"})
                   .sort_values("current", ascending=False))

attribution_caption()
