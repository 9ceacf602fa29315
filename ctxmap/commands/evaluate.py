"""The ``evaluate`` sub-command: compare ways of predicting incidents on this area's own months."""

from __future__ import annotations

import argparse

from ctxmap.analysis.evaluation import AREA_SHARES, Evaluation
from ctxmap.analysis.evaluation_run import EvaluationSettings, evaluate_area
from ctxmap.analysis.inputs import (
    check_overlap,
    load_incidents,
    load_layer,
    load_places,
    resolve_study_area,
)
from ctxmap.analysis.periods import format_period
from ctxmap.commands import positive, read_geo_file
from ctxmap.commands.concern import _known_types, _month_arg, _types_arg
from ctxmap.commands.stores import add_store_argument, command_store, given_inputs
from ctxmap.errors import InputError
from ctxmap.layers.osm_groups import group_osm_features, group_places
from ctxmap.layers.population import read_population, with_population
from ctxmap.layers.readers import read_layer
from ctxmap.layers.schemas import EXPLOITATION_CATEGORIES


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``evaluate`` sub-command."""
    p = sub.add_parser(
        "evaluate",
        help="compare KDE, last period's counts, the local expectation and the risk-terrain "
        "model out of sample (PAI)",
        description="Train every method on the months up to --train-to and score it on the "
        "months from --test-from: share of the test incidents captured in the top 1, 5 and "
        "10 %% of the study area, and PAI (share captured / share of area).",
    )
    p.add_argument("--incidents", metavar="FILE", required=True,
                   help="incidents file (police.uk CSV, ...)")
    add_store_argument(p)
    p.add_argument("--study-area", metavar="FILE", default=None,
                   help="boundary file (areas layer): its outline is the study area and its "
                   "areas are joined to --population; default: the store's study area and "
                   "areas")
    p.add_argument("--train-to", type=_month_arg, required=True, metavar="YYYY-MM",
                   help="last training month")
    p.add_argument("--test-from", type=_month_arg, required=True, metavar="YYYY-MM",
                   help="first test month (the test runs to the last month of the data)")
    p.add_argument("--types", type=_types_arg, default=EXPLOITATION_CATEGORIES, metavar="LIST",
                   help="comma-separated incident types, or 'all' (default: as concern)")
    p.add_argument("--osm", metavar="FILE", default=None,
                   help="OpenStreetMap points-of-interest extract for the model's feature "
                   "groups; default: the store's places by category")
    p.add_argument("--population", metavar="FILE", default=None,
                   help="CSV of area code and population (joined to the areas)")
    p.add_argument("--streets", metavar="FILE", default=None,
                   help="street lines (GeoJSON, GeoPackage) for street length per cell")
    p.add_argument("--places", metavar="FILE", action="append", default=[],
                   help="places file for the flag check (repeatable); default: the store's")
    p.add_argument("--cell-m", type=positive("metres"), default=200.0,
                   help="grid cell size in metres (200)")
    p.add_argument("--radius-m", type=positive("metres"), default=400.0,
                   help="radius around places in metres (400)")
    p.set_defaults(func=run_evaluate)


def run_evaluate(args: argparse.Namespace) -> int:
    """Handle ``evaluate``: print the comparison table and what it means."""
    need = None if args.study_area else "the study area (or give --study-area FILE)"
    store = command_store(args, given_inputs(args, "incidents", "places"), need_store=need)
    incidents = load_incidents(store, args.incidents)
    if len(incidents) == 0:
        raise InputError(f"{args.incidents}: no incidents; expected at least two months of them")
    _known_types(args, incidents)
    if args.study_area:
        areas = read_layer(args.study_area, "areas", repair=True).raise_if_unusable().gdf
    else:
        areas = load_layer(store, "areas")
    area = resolve_study_area(store, args.study_area)
    check_overlap("incidents", incidents, area.geometry, f"the study area {area.description}")
    if args.population:
        if len(areas) == 0:
            raise InputError("--population needs areas to join to; expected --study-area FILE "
                             "or areas in the store")
        areas = with_population(areas, read_population(args.population))
    places = load_places(store, args.places)
    if args.osm:
        features = group_osm_features(read_geo_file(args.osm, "OpenStreetMap features"))
        source = f"OpenStreetMap feature groups from {args.osm}"
    else:
        features = group_places(places)
        source = "the places' categories (no --osm extract given)"
    streets = read_geo_file(args.streets, "streets") if args.streets else None
    settings = EvaluationSettings(args.train_to, args.test_from, args.types, args.cell_m,
                                  args.radius_m)
    result = evaluate_area(incidents, area, settings, features=features,
                           areas=areas if len(areas) else None, streets=streets, places=places)
    print(report(result, source))
    return 0


def _pct(value: float) -> str:
    return "—" if value != value else f"{value:.1%}"


def _pai(value: float) -> str:
    return "—" if value != value else f"{value:.2f}"


def report(result: Evaluation, source: str) -> str:
    """The printed report: the table, the model's factors, flag persistence and the choice."""
    shares = [f"{s * 100:g}%" for s in AREA_SHARES]
    head = ["method"] + [f"PAI {s}" for s in shares] + [f"captured {s}" for s in shares]
    rows = []
    for m in result.methods:
        cells = [m.label]
        cells += [_pai(c.pai) for c in m.captures] or ["—"] * len(shares)
        cells += [_pct(c.captured_share) for c in m.captures] or ["—"] * len(shares)
        rows.append(cells)
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    lines = [
        f"trained on {format_period(result.train)} ({result.train_incidents:,} incidents), "
        f"tested on {format_period(result.test)} ({result.test_incidents:,} incidents in the "
        f"study area); {result.cells:,} cells of {result.cell_m:g} m; study area: "
        f"{result.study_area}",
        "  ".join(h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in
                  enumerate(zip(head, widths, strict=True))),
    ]
    for r in rows:
        lines.append("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in
                               enumerate(zip(r, widths, strict=True))))
    lines.append("PAI = share of the test incidents in the top cells / share of the area "
                 "they cover (cells taken whole)")
    for m in result.methods:
        if not m.used:
            lines.append(f"{m.label}: not evaluated ({m.note})")
    lines.append(f"model covariates: {source}; {result.model_reason}")
    for name, (flagged, above) in result.persistence.items():
        lines.append(f"flag check ({name} expectation): {flagged} place(s) flagged on "
                     f"{format_period(result.train)}; {above} of them stay above their "
                     f"expectation on {format_period(result.test)}")
    best = result.best()
    if best is not None:
        lines.append(f"best overall: {best.label} ({best.mean_captured:.1%} captured on average "
                     "at 1, 5 and 10 % of the area)")
    bw = result.best_bandwidth()
    if bw is not None and bw.bandwidth_m is not None:
        lines.append(f"density layer default bandwidth for this area: {bw.bandwidth_m:,.0f} m "
                     f"({bw.label})")
    lines.append(f"auto expectation: {result.auto_sentence()}")
    return "\n".join(lines)
