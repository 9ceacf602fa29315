"""The Locations of concern page's inputs and cached work: the sidebar and the analyses.

Each analysis is cached on the store, its layers' version and hashable settings; layers
are read inside (from the store, not the session) so nothing per-user is cached.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Final, TypeVar

import geopandas as gpd
import pandas as pd
import streamlit as st

from ctxmap.analysis.areas import StudyArea, area_counts, area_trends
from ctxmap.analysis.concern import (
    ConcernParams,
    Correction,
    PreparedRanking,
    finish_ranking,
    prepare_ranking,
)
from ctxmap.analysis.concern_tables import LEVEL_LABELS
from ctxmap.analysis.density import EvaluatedBandwidth, kernel_density
from ctxmap.analysis.evaluation import Evaluation
from ctxmap.analysis.evaluation_run import EvaluationSettings, check_flags, score_area
from ctxmap.analysis.expectations import BASELINES, RING_OUTER_M
from ctxmap.analysis.hotspots import gistar_hotspots
from ctxmap.analysis.inputs import load_places, resolve_study_area
from ctxmap.analysis.model_expectation import fitted_model
from ctxmap.analysis.periods import categories_available, months_available, select_incidents
from ctxmap.analysis.place_detail import PlaceBreakdown, place_breakdown, place_trends
from ctxmap.app.cache import cached, store_layers
from ctxmap.app.funnel_chart import funnel_spec
from ctxmap.cases.scope import contexts_as_places
from ctxmap.errors import CtxmapError
from ctxmap.layers.osm_groups import group_places
from ctxmap.layers.schemas import EXPLOITATION_CATEGORIES, POLICE_UK_CATEGORIES
from ctxmap.store.opening import open_store

Period = tuple[str, str]
Cats = tuple[str, ...] | None
T = TypeVar("T")
_DENSITY_CELL_M: Final = 100.0
#: The radius of the evaluation behind the heat layer's default bandwidth (the page's
#: default; the bandwidth scores do not depend on it).
RADIUS_M: Final = 400.0
#: How the page names each expectation.
BASELINE_LABELS: Final[dict[str, str]] = {
    "auto": "Automatic (best recent predictor)", "local": "Its neighbourhood (local)",
    "study-area": "Study-area average", "model": "Risk-terrain model"}


@dataclass(frozen=True)
class Ranking:
    """What a ranking of places depends on (hashable: the cache key of the ranking).

    See :class:`ctxmap.analysis.concern.ConcernParams`; ``weights`` are (category,
    weight) pairs.
    """

    period: Period
    categories: Cats
    radius_m: float
    alpha: float = 0.05
    min_incidents: int = 5
    correction: Correction = "fdr_bh"
    weights: tuple[tuple[str, float], ...] | None = None
    baseline: str = "auto"
    ring_outer_m: float = RING_OUTER_M
    funnel_level: float = 0.998

    def counting(self) -> Ranking:
        """Only what the counting depends on (the key of the shared preparation)."""
        return Ranking(self.period, self.categories, self.radius_m, baseline="study-area",
                       ring_outer_m=self.ring_outer_m)

    def params(self) -> ConcernParams:
        """The analysis settings."""
        return ConcernParams(radius_m=self.radius_m, months=self.period,
                             categories=self.categories, alpha=self.alpha,
                             min_incidents=self.min_incidents, correction=self.correction,
                             weights=dict(self.weights) if self.weights else None,
                             baseline=self.baseline, ring_outer_m=self.ring_outer_m,
                             funnel_level=self.funnel_level)


@dataclass(frozen=True)
class ConcernOptions:
    """The sidebar's choices: the ranking, the area level and the hotspot/heat settings."""

    ranking: Ranking
    level: str
    cell_m: float
    bandwidth: float | None


def _categories(present: Sequence[str]) -> tuple[Cats, tuple[tuple[str, float], ...] | None]:
    focus = st.radio("Harm types", ["Exploitation-related", "All types", "Choose…"], index=0,
                     help="Exploitation-related: " + ", ".join(EXPLOITATION_CATEGORIES))
    cats: Cats
    if focus == "Exploitation-related":
        cats = EXPLOITATION_CATEGORIES
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
    return cats, weights


def concern_sidebar(months: Sequence[str], present: Sequence[str],
                    area_levels: set[str]) -> ConcernOptions:
    """The sidebar: period, harm types and weights, flagging, areas, hotspots and heat."""
    with st.sidebar:
        st.subheader("Period and harm types")
        first, last = st.select_slider("Months", options=months, value=(months[0], months[-1]))
        cats, weights = _categories(present)
        st.subheader("Locations of concern")
        radius = float(st.slider("Radius around each place (m)", 100, 1000, 400, step=50))
        baseline = str(st.selectbox(
            "Expected count from", list(BASELINES), index=0,
            format_func=lambda b: BASELINE_LABELS.get(b, b),
            help="What each place's count is compared with. Automatic: the method that "
            "predicted this area's recent months best. Its neighbourhood: the incidents in "
            "the ring around the place. Study-area average: an area that size in the study "
            "area. Risk-terrain model: a model of the area's features."))
        ring_outer = float(st.slider("Neighbourhood ring out to (m)", 600, 3000,
                                     int(RING_OUTER_M), step=100,
                                     help="The local expectation counts the ring from the "
                                     "radius out to this distance (used by the local "
                                     "expectation only)."))
        funnel_level = float(st.radio("Flag above the funnel limit", [0.998, 0.95], horizontal=True,
                               format_func=lambda lv: f"{100 * lv:g} %"))
        min_incidents = int(st.number_input("Fewest incidents to flag", 0, 1000, 5, step=1))
        with st.expander("Poisson test (without over-dispersion)"):
            alpha = float(st.select_slider("Significance threshold", options=[0.01, 0.05, 0.1],
                                           value=0.05))
            correction: Correction = st.radio(
                "Multiple-testing correction", ["fdr_bh", "none"], horizontal=True,
                format_func=lambda c: "Benjamini–Hochberg" if c == "fdr_bh" else "None")
        st.subheader("Areas and hotspots")
        level = st.radio("Areas", [lv for lv in ("lsoa", "ward", "msoa") if lv in area_levels]
                         or ["lsoa"], horizontal=True,
                         format_func=lambda lv: LEVEL_LABELS.get(lv, lv))
        cell_m = float(st.slider("Hotspot cell size (m)", 100, 1000, 250, step=50))
        auto_bw = st.checkbox("Heat bandwidth: automatic", value=True,
                              help="The bandwidth that predicted this area's last months best "
                              "(Methods tab); Scott's rule when there is no evaluation.")
        bandwidth = None if auto_bw else float(
            st.slider("Heat bandwidth (m)", 50, 1500, 300, step=50))
    if baseline in ("auto", "local") and ring_outer <= radius:
        st.caption(f"The ring must reach beyond the radius: using {radius + 100:g} m.")
        ring_outer = radius + 100.0
    ranking = Ranking((str(first), str(last)), cats, radius, alpha, min_incidents, correction,
                      weights, baseline, ring_outer, funnel_level)
    return ConcernOptions(ranking, str(level), cell_m, bandwidth)


def incident_choices(layers: Mapping[str, gpd.GeoDataFrame]) -> tuple[list[str], list[str]]:
    """The months and incident types in the store, computed once per store version."""
    incidents = layers["incidents"]
    return (cached(("months",), lambda: months_available(incidents)),
            cached(("categories",), lambda: categories_available(incidents)))


def draw_funnel(ranked: gpd.GeoDataFrame) -> None:
    """The funnel plot (observed against expected, with the limits) and what it shows."""
    spec = funnel_spec(ranked)
    if spec is None:
        st.caption("No place has an expected count, so there is no funnel plot.")
        return
    st.vega_lite_chart(spec, width="stretch")
    meta = ranked.attrs["ctxmap"]
    st.caption(
        f"Each dot is a place: its incidents against its expected count ({meta['baseline']} "
        f"expectation). Lines: the 95 % (dashed) and 99.8 % funnel limits, widened for the "
        f"over-dispersion estimated from {meta['funnel_n']} places (τ² = "
        f"{meta['funnel_tau2']:.3f}). Places above the {meta['funnel_level_text']} upper "
        "limit with enough incidents are flagged.")


def run_or_warn(what: str, fn: Callable[[], T]) -> T | None:
    """Call a cached analysis; on a ctxmap error show it and return None."""
    try:
        return fn()
    except CtxmapError as exc:
        st.warning(f"{what}: {exc}")
        return None


def _layer(path: str, version: float, kind: str) -> gpd.GeoDataFrame:
    """One layer of the store: the pages' shared copy (:func:`ctxmap.app.cache.store_layers`).

    Not a ``cache_data`` copy: at a million incidents pickling one took longer than the
    analyses, and it was a second read of the store.
    """
    return store_layers(path, version)[kind]


@st.cache_resource(max_entries=4, show_spinner=False)
def _typed_incidents(path: str, version: float, cats: tuple[str, ...]) -> gpd.GeoDataFrame:
    return select_incidents(_layer(path, version, "incidents"), None, cats)


def _incidents(path: str, version: float, cats: Cats) -> gpd.GeoDataFrame:
    """The store's incidents of the types ``cats``, selected once per store version.

    Every analysis of the page selects these types again (and its months) from a third of
    the rows instead of all of them; ``None`` (all types) is the shared layer itself.
    Read-only, as :func:`_layer`.
    """
    return _layer(path, version, "incidents") if cats is None else _typed_incidents(
        path, version, cats)


@st.cache_data(max_entries=4, show_spinner=False)
def _store_places(path: str, version: float) -> gpd.GeoDataFrame:
    """The store's homes, youth centres and safe places (read once per store version)."""
    return load_places(path, [])


@st.cache_data(max_entries=4, show_spinner=False)
def _places(path: str, version: float, contexts: str) -> gpd.GeoDataFrame:
    """Homes, youth centres, safe places and located contexts (``contexts``: cache key)."""
    located = contexts_as_places(open_store(path, create=False)).drop(columns="location")
    return gpd.GeoDataFrame(pd.concat([_store_places(path, version), located],
                                      ignore_index=True),
                            geometry="geometry", crs=located.crs)


def _model_layers(path: str, version: float) -> dict[str, gpd.GeoDataFrame]:
    """What the ``model`` expectation's factors come from: the store's places and areas."""
    return {"places": _store_places(path, version), "areas": _layer(path, version, "areas")}


@st.cache_data(max_entries=4, show_spinner=False)
def _study_area(path: str, version: float) -> StudyArea:
    """The store's study area (:func:`ctxmap.analysis.inputs.resolve_study_area`).

    Raises :class:`~ctxmap.errors.InputError` saying how to set one when none is set.
    """
    return resolve_study_area(path)


def study_area_or_none(path: str, version: float) -> StudyArea | None:
    """The store's study area, or ``None`` when none is set (for drawing its outline)."""
    try:
        return _study_area(path, version)
    except CtxmapError:
        return None


@st.cache_resource(max_entries=8, show_spinner="Counting incidents around every place…")
def _prepared(path: str, version: float, contexts: str, counting: Ranking) -> PreparedRanking:
    """The ranking's selection and counts, shared by every expectation (read-only)."""
    return prepare_ranking(_places(path, version, contexts),
                           _incidents(path, version, counting.categories),
                           _study_area(path, version), counting.params())


@st.cache_data(max_entries=32, show_spinner="Comparing every place with its expectation…")
def ranking(path: str, version: float, contexts: str, settings: Ranking) -> gpd.GeoDataFrame:
    """Every place ranked (:func:`ctxmap.analysis.concern.rank_places`).

    The selection and counts are made once for every expectation (:func:`_prepared`); the
    ``model`` expectation (and ``auto``) take their factors from the store's places and
    areas.
    """
    prepared = _prepared(path, version, contexts, settings.counting())
    return finish_ranking(prepared, settings.params(), layers=_model_layers(path, version))


@st.cache_data(max_entries=64, show_spinner=False)
def breakdown(path: str, version: float, contexts: str, place_id: str,
              settings: Ranking) -> PlaceBreakdown:
    """One place's incidents by type and month."""
    places = _places(path, version, contexts)
    one = places.loc[(places["id"].astype(str) == place_id).to_numpy()].head(1)
    return place_breakdown(one, _incidents(path, version, settings.categories),
                           settings.params())


@st.cache_data(max_entries=16, show_spinner=False)
def trends_by_place(path: str, version: float, contexts: str,
                    settings: Ranking) -> pd.DataFrame:
    """Each place's incidents now against the previous period."""
    return place_trends(_places(path, version, contexts),
                        _incidents(path, version, settings.categories), settings.params())


@st.cache_data(max_entries=16, show_spinner=False)
def counts_by_area(path: str, version: float, level: str, period: Period,
                   cats: Cats) -> gpd.GeoDataFrame:
    """Incidents (and rates) per area of ``level``."""
    return area_counts(_layer(path, version, "areas"), _incidents(path, version, cats),
                       period, cats, level)


@st.cache_data(max_entries=16, show_spinner=False)
def trends_by_area(path: str, version: float, level: str, period: Period,
                   cats: Cats) -> pd.DataFrame:
    """Each area's incidents now against the previous period."""
    return area_trends(_layer(path, version, "areas"), _incidents(path, version, cats),
                       period, cats, level)


@st.cache_data(max_entries=16, show_spinner="Testing grid cells for hot and cold spots…")
def hotspots(path: str, version: float, cell_m: float, period: Period,
             cats: Cats) -> gpd.GeoDataFrame:
    """Getis-Ord Gi* hot and cold spots on a grid of ``cell_m``."""
    return gistar_hotspots(_incidents(path, version, cats), _study_area(path, version),
                           cell_m, period, cats)


@st.cache_data(max_entries=16, show_spinner=False)
def density(path: str, version: float, bandwidth: float | None, period: Period,
            cats: Cats) -> gpd.GeoDataFrame:
    """Kernel density (``bandwidth`` None: this area's best evaluated, else Scott's rule)."""
    evaluated = evaluated_bandwidth(path, version, cats) if bandwidth is None else None
    return kernel_density(_incidents(path, version, cats), _study_area(path, version),
                          _DENSITY_CELL_M, bandwidth, period, cats, evaluated=evaluated)


def _evaluation_settings(cats: Cats, radius_m: float) -> EvaluationSettings:
    return EvaluationSettings(categories=cats, radius_m=radius_m)


@st.cache_data(max_entries=8, show_spinner="Checking which method predicted this area's "
               "recent months best…")
def method_scores(path: str, version: float, cats: Cats, radius_m: float) -> Evaluation | None:
    """Every method scored on the store's last months (None with < 2 months); no flag check.

    The risk-terrain model's features are the store's places by category; the areas'
    population is used when they carry one. Enough for the heat layer's bandwidth.
    """
    incidents = _incidents(path, version, cats)
    if len(months_available(incidents)) < 2:
        return None
    areas = _layer(path, version, "areas")
    return score_area(incidents, _study_area(path, version),
                      _evaluation_settings(cats, radius_m),
                      features=group_places(_store_places(path, version)),
                      areas=areas if len(areas) else None)


@st.cache_data(max_entries=8, show_spinner="Checking whether flags held in later months…")
def evaluation(path: str, version: float, cats: Cats, radius_m: float) -> Evaluation | None:
    """The out-of-sample evaluation with the flag check (:func:`method_scores` plus flags)."""
    scored = method_scores(path, version, cats, radius_m)
    if scored is None:
        return None
    places = _store_places(path, version)
    areas = _layer(path, version, "areas")
    return check_flags(scored, _incidents(path, version, cats), _study_area(path, version),
                       places, _evaluation_settings(cats, radius_m),
                       features=group_places(places), areas=areas if len(areas) else None)


def evaluated_bandwidth(path: str, version: float, cats: Cats) -> EvaluatedBandwidth | None:
    """The heat bandwidth that predicted this area's last months best (None without one).

    From :func:`method_scores` at the default radius: cached once per store version and
    incident types, and shared with the Locations of concern page.
    """
    scored = method_scores(path, version, cats, RADIUS_M)
    return scored.best_bandwidth_choice() if scored is not None else None


@st.cache_data(max_entries=8, show_spinner="Fitting the risk-terrain model…")
def risk_terrain(path: str, version: float, contexts: str, counting: Ranking) -> (
    tuple[gpd.GeoDataFrame, pd.DataFrame, str, bool]
):
    """The risk-terrain model of the period: cells (EPSG:4326), factor table, reason, used.

    The same fit as the ranking's ``model`` expectation (one fit for both).
    """
    prepared = _prepared(path, version, contexts, counting.counting())
    model = fitted_model(replace(prepared.inputs, layers=_model_layers(path, version)))
    return model.cells_frame(), model.factor_table(), model.reason, model.usable
