"""The ``concern`` and ``hotspots`` sub-commands: rank places and grid hotspots from files."""

from __future__ import annotations

import argparse
from pathlib import Path

import geopandas as gpd

from ctxmap.analysis.areas import StudyArea
from ctxmap.analysis.concern import ConcernParams, rank_places
from ctxmap.analysis.expectations import BASELINES, RING_OUTER_M
from ctxmap.analysis.hotspots import gistar_hotspots
from ctxmap.analysis.inputs import (
    check_overlap,
    load_incidents,
    load_layer,
    load_places,
    resolve_study_area,
)
from ctxmap.analysis.periods import Period, check_categories, data_period, month_range, parse_month
from ctxmap.commands import positive, print_notes, read_geo_file
from ctxmap.commands.exporting import add_audit_options, audit_export
from ctxmap.commands.stores import add_store_argument, command_store, given_inputs
from ctxmap.errors import InputError
from ctxmap.layers.osm_groups import group_osm_features
from ctxmap.layers.schemas import EXPLOITATION_CATEGORIES, POLICE_UK_CATEGORIES
from ctxmap.store.protocol import Store
from ctxmap.text import to_safe_csv


def _month_arg(text: str) -> str:
    try:
        parse_month(text)
    except InputError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text.strip()


def _types_arg(text: str) -> tuple[str, ...] | None:
    if text.strip().lower() == "all":
        return None
    try:
        cats = check_categories([t for t in text.split(",") if t.strip()])
    except InputError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return cats


def _known_types(args: argparse.Namespace, incidents: gpd.GeoDataFrame) -> None:
    """Check ``--types`` against the police.uk types and those in the data (exit 2)."""
    present = incidents["category"].dropna().astype(str).unique().tolist()
    try:
        check_categories(args.types, known=[*POLICE_UK_CATEGORIES, *sorted(present)])
    except InputError as exc:
        raise UsageError(f"argument --types: {exc}") from None


class UsageError(InputError):
    """A command-line argument that does not fit the data (exit code 2)."""

    exit_code = 2


def _add_selection(p: argparse.ArgumentParser) -> None:
    p.add_argument("--incidents", metavar="FILE", help="incidents file (police.uk CSV, ...); "
                   "default: the store's incidents")
    add_store_argument(p)
    p.add_argument("--study-area", metavar="FILE|AREA_CODE", default=None,
                   help="the study area (the baseline): an outline file, or the code of a "
                   "stored area (default: the store's study area)")
    p.add_argument("--from", dest="month_from", type=_month_arg, metavar="YYYY-MM",
                   help="first month (default: the first month in the data)")
    p.add_argument("--to", dest="month_to", type=_month_arg, metavar="YYYY-MM",
                   help="last month (default: the last month in the data)")
    p.add_argument("--types", type=_types_arg, default=EXPLOITATION_CATEGORIES,
                   metavar="LIST",
                   help="comma-separated incident types, or 'all' (default: "
                   f"{', '.join(EXPLOITATION_CATEGORIES)}; known: "
                   f"{', '.join(POLICE_UK_CATEGORIES)})")


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``concern`` and ``hotspots`` sub-commands."""
    p = sub.add_parser(
        "concern",
        help="rank places by nearby incidents and flag locations of concern (CSV)",
        description="Rank every place by the incidents within a radius; flag places whose "
        "count lies above the funnel limit of their expectation (study-area average, their "
        "own neighbourhood, or a model), with over-dispersion estimated from all the places "
        "(Spiegelhalter 2005). Poisson p-values (Benjamini–Hochberg) are columns, "
        "without over-dispersion.",
    )
    _add_selection(p)
    p.add_argument("--places", metavar="FILE", action="append", default=[],
                   help="places file (repeatable); default: homes, youth centres and safe "
                   "places from the store")
    p.add_argument("--radius-m", type=positive("metres"), default=400.0,
                   help="radius in metres (400)")
    p.add_argument("--baseline", choices=list(BASELINES), default="auto",
                   help="the expectation each place's count is compared with: auto (the "
                   "method that predicted this area's recent months best), local (the ring "
                   "from the radius to --ring-outer), study-area (the study area's average) "
                   "or model (risk-terrain model) (auto)")
    p.add_argument("--osm", metavar="FILE", default=None,
                   help="OpenStreetMap points-of-interest extract: feature groups for the "
                   "model expectation (default: the places by category)")
    p.add_argument("--ring-outer", type=positive("metres"), default=RING_OUTER_M,
                   metavar="METRES", help="outer radius of the local baseline's ring "
                   f"({RING_OUTER_M:g})")
    p.add_argument("--funnel-limit", type=float, choices=[99.8, 95.0], default=99.8,
                   metavar="{99.8,95}",
                   help="flag places above this funnel limit, %% (99.8)")
    p.add_argument("--min-incidents", type=int, default=5,
                   help="fewest incidents a flagged place must have (5)")
    p.add_argument("--alpha", type=float, default=0.05,
                   help="threshold of the poisson_significant column (Poisson, without "
                   "over-dispersion; does not flag) (0.05)")
    p.add_argument("--correction", choices=["fdr_bh", "none"], default="fdr_bh",
                   help="multiple-testing correction of the Poisson p-values (fdr_bh)")
    p.add_argument("--out", required=True, metavar="FILE.csv", help="where to write the CSV")
    add_audit_options(p, places=True)
    p.set_defaults(func=run_concern)

    h = sub.add_parser(
        "hotspots",
        help="Getis-Ord Gi* hot and cold spots of incidents on a grid (GeoJSON)",
        description="Count incidents on a square grid over the study area and classify "
        "cells hot/cold at 90/95/99%% (Gi*, queen contiguity, FDR-corrected).",
    )
    _add_selection(h)
    h.add_argument("--cell-m", type=positive("metres"), default=250.0,
                   help="cell size in metres (250)")
    h.add_argument("--out", required=True, metavar="FILE.geojson", help="where to write")
    add_audit_options(h)
    h.set_defaults(func=run_hotspots)


def _period(args: argparse.Namespace, incidents: gpd.GeoDataFrame) -> Period | None:
    if args.month_from is None and args.month_to is None:
        return None
    first, last = args.month_from, args.month_to
    if first is None or last is None:
        d_first, d_last = data_period(incidents)
        first = first or d_first
        last = last or d_last
    month_range(first, last)
    return first, last


def _store(args: argparse.Namespace, *inputs: str) -> Store | None:
    """The store (said on stderr); files without a store need ``--study-area``."""
    need = None if args.study_area else "the study area (the baseline; or give --study-area)"
    return command_store(args, given_inputs(args, *inputs), need_store=need)


def _study_area(
    args: argparse.Namespace, store: Store | None, incidents: gpd.GeoDataFrame
) -> StudyArea:
    """The study area (given or the store's) after checking the incidents lie in it."""
    area = resolve_study_area(store, args.study_area)
    check_overlap("incidents", incidents, area.geometry, f"the study area {area.description}")
    return area


def _load_incidents(args: argparse.Namespace, store: Store | None) -> gpd.GeoDataFrame:
    incidents = load_incidents(store, args.incidents)
    if len(incidents) == 0:
        raise InputError(
            "no incidents: expected --incidents FILE or incidents in the store"
        )
    return incidents


def _model_layers(args: argparse.Namespace, store: Store | None,
                  places: gpd.GeoDataFrame) -> dict[str, gpd.GeoDataFrame]:
    """The layers the ``model`` expectation (and ``auto``) may use: places, areas, --osm."""
    layers = {"places": places, "areas": load_layer(store, "areas")}
    if args.osm:
        raw = read_geo_file(args.osm, "OpenStreetMap features")
        layers["features"] = group_osm_features(raw)
    return layers


def run_concern(args: argparse.Namespace) -> int:
    """Handle ``concern``: write the ranking CSV and print a one-line summary."""
    store = _store(args, "incidents", "places")
    incidents = _load_incidents(args, store)
    _known_types(args, incidents)
    places = load_places(store, args.places, as_layer=args.as_layer)
    print_notes(places)
    if len(places) == 0:
        raise InputError("no places: expected --places FILE or places in the store")
    params = ConcernParams(
        radius_m=args.radius_m,
        months=_period(args, incidents),
        categories=args.types,
        alpha=args.alpha,
        min_incidents=args.min_incidents,
        correction=args.correction,
        baseline=args.baseline,
        ring_outer_m=args.ring_outer,
        funnel_level=args.funnel_limit / 100.0,
    )
    area = _study_area(args, store, incidents)
    check_overlap("places", places, area.geometry, f"the study area {area.description}")
    ranking = rank_places(places, incidents, area, params,
                          layers=_model_layers(args, store, places))
    meta = ranking.attrs["ctxmap"]
    out = Path(args.out)
    homes = int((places["layer"] == "homes").sum()) if "layer" in places else 0
    audit_export(args, store, "concern", "locations-of-concern ranking (CSV)"
                 + (f", {homes} homes among the places" if homes else ""),
                 unmasked=homes > 0, rows=len(ranking),
                 filters=f"{meta['period_text']}, {len(meta['categories'])} types, "
                 f"radius {args.radius_m:g} m")
    out.parent.mkdir(parents=True, exist_ok=True)
    to_safe_csv(ranking.drop(columns="geometry"), out)
    chosen = f" ({meta['baseline_chosen_because']})" if meta["baseline_chosen_because"] else ""
    merged = (f", {meta['duplicates_merged']} duplicate records merged"
              if meta["duplicates_merged"] else "")
    print(
        f"ranked {len(ranking)} places{merged}, flagged {meta['flagged']} above the "
        f"{meta['funnel_level_text']} funnel limit (over-dispersion estimated from "
        f"{meta['funnel_n']} places); expectation: {meta['baseline']}{chosen}; "
        f"incidents used {meta['incidents_used']} in the study area ({meta['period_text']}, "
        f"{len(meta['categories'])} types), {meta['incidents_outside']} outside it (left "
        f"out), {meta['incidents_unlocated']} without a location (not counted); study area: "
        f"{area.description}; wrote {out}"
    )
    return 0


def run_hotspots(args: argparse.Namespace) -> int:
    """Handle ``hotspots``: write the Gi* grid as GeoJSON and print a one-line summary."""
    store = _store(args, "incidents")
    incidents = _load_incidents(args, store)
    _known_types(args, incidents)
    area = _study_area(args, store, incidents)
    grid = gistar_hotspots(
        incidents, area, cell_m=args.cell_m, period=_period(args, incidents),
        categories=args.types,
    )
    meta = grid.attrs["ctxmap"]
    out = Path(args.out)
    audit_export(args, store, "hotspots", "Gi* hotspot grid (GeoJSON)", unmasked=False,
                 rows=len(grid), filters=f"{'all' if args.types is None else len(args.types)}"
                 f" types, cells {args.cell_m:g} m")
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.exists():
        out.unlink()
    grid.to_file(out, driver="GeoJSON")
    print(
        f"{meta['cells']} cells of {meta['cell_m']:g} m: {meta['hot_cells']} hot, "
        f"{meta['cold_cells']} cold (Gi*, {meta['weights']}; {meta['correction']}); "
        f"incidents used {meta['incidents_used']} in the study area, "
        f"{meta['incidents_outside']} outside it (left out), {meta['incidents_unlocated']} "
        f"without a location; study area: {area.description}; wrote {out}"
    )
    return 0
