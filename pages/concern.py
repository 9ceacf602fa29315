"""Locations of concern: places ranked by nearby incidents, flagged ones mapped and explained."""

from __future__ import annotations

import geopandas as gpd
import streamlit as st

from ctxmap.analysis.concern_tables import (
    CHANGE_COLUMNS,
    LEVEL_LABELS,
    PLACE_LAYERS,
    area_table,
    area_trends_table,
    by_month_table,
    comparison_warning,
    how_flagged,
    location_labels,
    place_headline,
    place_trends_table,
    previous_missing,
    ranking_table,
)
from ctxmap.analysis.periods import format_period, previous_period
from ctxmap.app import concern_work as work
from ctxmap.app import evaluation_panel as methods
from ctxmap.app.audit import export_button
from ctxmap.app.cache import load_layers
from ctxmap.app.concern_work import ConcernOptions, Ranking, concern_sidebar, run_or_warn
from ctxmap.app.drawing import draw_map, map_options
from ctxmap.app.navigation import require_page
from ctxmap.app.session import (
    open_session_store,
    session_store_exists,
    store_target,
    store_version,
)
from ctxmap.app.widgets import attribution_caption, show_table
from ctxmap.cases.scope import contexts_signature
from ctxmap.maps.analysis_layers import (
    add_groups,
    choropleth_group,
    concern_group,
    density_group,
    hotspot_group,
)
from ctxmap.maps.layers import build_map
from ctxmap.text import esc_markdown as md
from ctxmap.text import to_safe_csv


def summary(ranked: gpd.GeoDataFrame, ranking: Ranking) -> None:
    """The ranking's headline numbers and how places are flagged."""
    meta = ranked.attrs["ctxmap"]
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Places ranked", f"{len(ranked):,}")
    c2.metric("Flagged", f"{int(meta['flagged']):,}")
    c3.metric("Incidents counted", f"{int(meta['incidents_used']):,}",
              help="Located incidents of the chosen types in the period, inside the study "
              f"area; {int(meta.get('incidents_outside', 0)):,} outside it are left out")
    c4.metric("No location (never counted)", f"{int(meta['incidents_unlocated']):,}",
              help="Incidents of the chosen types in the period with no location: they "
              "cannot count near any place, and are not dropped from these figures.")
    st.info(how_flagged(meta, all_types=ranking.categories is None, radius_m=ranking.radius_m,
                        min_incidents=ranking.min_incidents))
    if n_contexts := int((ranked["layer"] == "contexts").sum()):
        st.caption(
            f"{n_contexts} context(s) of concern (Contexts page) are ranked with the places: a "
            "context referred as a point is counted around its point; a context drawn as an "
            "area is counted around its representative point (a point inside the area), with "
            "the same radius as every place. Online spaces have no location and are not ranked.")


def analysis_map(ranked: gpd.GeoDataFrame, grid: gpd.GeoDataFrame | None,
                 kde: gpd.GeoDataFrame | None, per_area: gpd.GeoDataFrame | None,
                 level: str) -> None:
    """The map: area outlines, choropleth, heat, hotspots and the ranked places."""
    st.subheader("Map")
    groups = []
    if per_area is not None:
        groups.append(choropleth_group(per_area, name=f"Incidents per {LEVEL_LABELS[level]}"))
    if kde is not None:
        groups.append(density_group(kde))
    if grid is not None:
        groups.append(hotspot_group(grid))
    if (risk := methods.risk_layer(path, version, ctx_key, options.ranking)) is not None:
        groups.append(risk)
    shown = methods.with_expectations(path, version, ctx_key, options.ranking, ranked)
    groups.append(concern_group(shown, options.ranking.radius_m))
    areas = layers["areas"]
    outlines = areas.loc[areas["level"].astype(str).isin(["district", "ward"]).to_numpy()]
    fmap = build_map({"areas": outlines} if len(outlines) else {"areas": areas}, map_options())
    add_groups(fmap, groups)
    draw_map(fmap, key="concern_map")
    st.caption("Use the layer list (top right) to switch the area choropleth, heat and hotspot "
               "layers on and off. Click a place for the reason it is, or is not, flagged.")


def ranking_tab(ranked: gpd.GeoDataFrame, r: Ranking) -> None:
    """The ranking table, and its export."""
    work.draw_funnel(ranked)
    table = ranking_table(ranked)
    only = st.checkbox("Show only flagged places")
    show_table(table[table["Flagged"]] if only else table)
    export = ranked.drop(columns=ranked.geometry.name)
    (first, last), radius = r.period, r.radius_m
    export_button(
        "Download the ranking (CSV)", str(to_safe_csv(export)).encode("utf-8"),
        file_name=f"locations-of-concern-{first}-{last}-{radius:g}m.csv", mime="text/csv",
        what="locations-of-concern ranking (CSV)", rows=len(export),
        filters=f"{first}..{last}, radius {radius:g} m",
        help="The table's columns only: no addresses and no individual incidents.")


def detail_tab(ranked: gpd.GeoDataFrame, r: Ranking) -> None:
    """One place: why it is (not) flagged, its incidents by type and month."""
    labels = location_labels(ranked)
    chosen = st.selectbox("Location", list(labels), format_func=lambda i: labels[i])
    row = ranked.loc[(ranked["place_id"].astype(str) == chosen).to_numpy()].iloc[0]
    (st.error if bool(row["flagged"]) else st.success)(place_headline(row, len(ranked)))
    detail = run_or_warn("No detail", lambda: work.breakdown(
        path, version, ctx_key, str(chosen), Ranking(r.period, r.categories, r.radius_m)))
    if detail is None:
        return
    d1, d2 = st.columns(2)
    with d1:
        st.markdown(f"**Incidents within {r.radius_m:g} m by type**")
        by_cat = detail.by_category.rename("Incidents").rename_axis("Type").reset_index()
        st.bar_chart(by_cat, x="Type", y="Incidents", horizontal=True)
    with d2:
        st.markdown("**By month and type**")
        by_month = detail.by_month.copy()
        by_month.index = by_month.index.astype(str)
        st.bar_chart(by_month)
    show_table(by_month_table(detail))


def areas_tab(per_area: gpd.GeoDataFrame | None, level: str) -> None:
    """Incidents per area (rates when the areas have populations)."""
    if per_area is None:
        return
    if not per_area["rate_per_1000"].notna().any():
        st.warning(f"The {LEVEL_LABELS[level]} areas in the store have no population "
                   "figures, so these are counts of incidents, not rates per 1,000 "
                   "residents. Larger areas will tend to have more.")
    show_table(area_table(per_area))
    am = per_area.attrs["ctxmap"]
    st.caption(f"{am['incidents_used']:,} incidents counted in an area; "
               f"{am['incidents_unlocated']:,} with no location and "
               f"{am['incidents_outside']:,} outside every area are not counted. "
               "The choropleth is a layer on the map above.")


def hotspots_tab(grid: gpd.GeoDataFrame | None, kde: gpd.GeoDataFrame | None,
                 o: ConcernOptions) -> None:
    """The Gi* hot and cold spots (with their export) and the heat layer's method."""
    first, last = o.ranking.period
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
            file_name=f"hotspots-{first}-{last}-{o.cell_m:g}m.geojson",
            mime="application/geo+json",
            what="Gi* hotspot grid (GeoJSON)", rows=len(grid),
            filters=f"{first}..{last}, cells {o.cell_m:g} m")
    if kde is not None:
        km = kde.attrs["ctxmap"]
        st.markdown(
            f"**Heat layer:** {md(km['kernel'])}, bandwidth **{km['bandwidth_m']:,.0f} m** "
            f"({md(km['bandwidth_rule'])}), {km['cell_m']:g} m cells, in {md(km['unit'])}.")


def trends_tab(o: ConcernOptions) -> None:
    """Incidents now against the previous period of equal length, per place and per area."""
    r = o.ranking
    st.markdown(f"Current period **{md(format_period(r.period))}** against the previous "
                f"period of equal length, **{md(format_period(previous_period(r.period)))}**.")
    if warning := comparison_warning(r.period, months):
        st.warning(warning)
    hide = CHANGE_COLUMNS if previous_missing(r.period, months) else []
    trends = run_or_warn("Place trends", lambda: work.trends_by_place(
        path, version, ctx_key, Ranking(r.period, r.categories, r.radius_m)))
    if trends is not None:
        st.markdown(f"**Per location** (incidents within {r.radius_m:g} m)")
        show_table(place_trends_table(trends, hide))
    a_trends = run_or_warn("Area trends", lambda: work.trends_by_area(
        path, version, o.level, r.period, r.categories))
    if a_trends is not None:
        st.markdown(f"**Per {LEVEL_LABELS[o.level]}**")
        show_table(area_trends_table(a_trends, hide))


require_page(__file__)
st.title("Locations of concern")
st.caption(
    "Every home, youth centre, safe place and context of concern ranked by the reported "
    "incidents around it. "
    "A place is flagged when it has more than its expected count explains, beyond chance. "
    "A flag is a prompt to look closer, not a finding about the place or the people there."
)
layers = load_layers()
path = store_target()
version = store_version(path)
ctx_key = contexts_signature(open_session_store()) if session_store_exists() else ""
months, present = work.incident_choices(layers)
if not months or sum(len(layers[k]) for k in PLACE_LAYERS) == 0:
    st.info("The store needs incidents and at least one place layer (homes, youth centres or "
            "safe places). Import them on the Import & layers page.")
    st.stop()
areas_layer = layers["areas"]
options = concern_sidebar(months, present,
                          set(areas_layer["level"].astype(str))
                          if "level" in areas_layer else set())
ranking, period, cats = options.ranking, options.ranking.period, options.ranking.categories
ranked = run_or_warn("The ranking could not be made",
                     lambda: work.ranking(path, version, ctx_key, ranking))
if ranked is None:
    st.stop()
summary(ranked, ranking)
grid = run_or_warn("Hot spots could not be computed",
                   lambda: work.hotspots(path, version, options.cell_m, period, cats))
kde = run_or_warn("The heat layer could not be computed",
                  lambda: work.density(path, version, options.bandwidth, period, cats))
per_area = run_or_warn("Area counts could not be made",
                       lambda: work.counts_by_area(path, version, options.level, period, cats))
analysis_map(ranked, grid, kde, per_area, options.level)
tabs = st.tabs(["Ranking", "One location", "Areas", "Hotspots and heat", "Trends", "Methods"])
with tabs[0]:
    ranking_tab(ranked, ranking)
with tabs[1]:
    detail_tab(ranked, ranking)
with tabs[2]:
    areas_tab(per_area, options.level)
with tabs[3]:
    hotspots_tab(grid, kde, options)
with tabs[4]:
    trends_tab(options)
with tabs[5]:
    methods.methods_tab(path, version, ctx_key, ranking)
attribution_caption()
