"""The ``nearest`` and ``coverage`` sub-commands: protective places within reach (CSV)."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

import pandas as pd

from ctxmap.analysis.inputs import check_origin_near, layers_extent, load_places
from ctxmap.commands import positive, print_notes
from ctxmap.commands.exporting import add_audit_options, audit_export
from ctxmap.commands.stores import add_store_argument, command_store, given_inputs
from ctxmap.errors import InputError
from ctxmap.layers.schemas import PLACE_KINDS
from ctxmap.nearby.coverage import DEFAULT_MINUTES, coverage_area, home_coverage
from ctxmap.nearby.hours import LOCAL_TZ, cli_value, parse_when
from ctxmap.nearby.nearest import filter_places, nearest_places
from ctxmap.nearby.network import DEFAULT_CACHE_DIR, WalkNetwork, load_network
from ctxmap.nearby.origins import (
    Origin,
    from_bng,
    from_latlon,
    from_place,
    lookup_postcode,
    parse_point,
)
from ctxmap.nearby.walking import DEFAULT_DETOUR, DEFAULT_SPEED_KMH
from ctxmap.store.marks import read_study_area
from ctxmap.store.protocol import Store
from ctxmap.text import to_safe_csv

#: Columns written by ``nearest``, in order.
NEAREST_CSV_COLUMNS: tuple[str, ...] = (
    "rank",
    "place_id",
    "name",
    "layer",
    "category",
    "straight_m",
    "walk_m",
    "walk_min",
    "walk_basis",
    "snap_origin_m",
    "snap_place_m",
    "open",
    "open_at",
    "opening_hours",
)


def _when_arg(text: str) -> dt.datetime:
    try:
        return parse_when(text)
    except InputError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _k_arg(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}; expected a whole number >= 1")
    return value


def _layers_arg(text: str) -> tuple[str, ...]:
    layers = tuple(t.strip() for t in text.split(",") if t.strip())
    unknown = [t for t in layers if t not in PLACE_KINDS]
    if not layers or unknown:
        raise argparse.ArgumentTypeError(
            f"unknown layer(s) {unknown or text!r}; expected some of {', '.join(PLACE_KINDS)}"
        )
    return layers


def _categories_arg(text: str) -> tuple[str, ...]:
    cats = tuple(t.strip() for t in text.split(",") if t.strip())
    if not cats:
        raise argparse.ArgumentTypeError("expected a comma-separated list of categories")
    return cats


def _add_common(p: argparse.ArgumentParser) -> None:
    add_store_argument(p)
    p.add_argument("--places", metavar="FILE", nargs="+", action="extend", default=[],
                   help="place files (default: the store's place layers)")
    p.add_argument("--network", metavar="FILE",
                   help="OpenStreetMap extract (.osm.pbf or .osm) for walking distances; without "
                   "it walking is estimated from the straight line")
    p.add_argument("--cache-dir", metavar="DIR", default=str(DEFAULT_CACHE_DIR),
                   help=f"where the built network is cached ({DEFAULT_CACHE_DIR})")
    p.add_argument("--speed-kmh", type=positive(), default=DEFAULT_SPEED_KMH,
                   help=f"walking speed in km/h ({DEFAULT_SPEED_KMH:g})")
    p.add_argument("--detour", type=float, default=DEFAULT_DETOUR,
                   help=f"detour factor for estimates without a network ({DEFAULT_DETOUR:g})")
    p.add_argument("--out", metavar="FILE.csv", required=True, help="CSV to write")
    add_audit_options(p, places=True)


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``nearest`` and ``coverage`` sub-commands."""
    p = sub.add_parser(
        "nearest",
        help="nearest safe places and youth centres to a point, with walking time and hours",
        description="List the k nearest protective places to an origin, nearest first (by "
        "walking distance with --network, else by straight line), with straight-line "
        "distance, walking distance and time, and whether each is open (true/false/unknown).",
    )
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--lat", type=float, help="latitude of the origin (with --lon)")
    where.add_argument("--point", metavar="TEXT",
                       help="'LAT, LON' or 'EASTING, NORTHING' (British National Grid)")
    where.add_argument("--easting", type=float, help="BNG easting of the origin (with --northing)")
    where.add_argument("--postcode", help="a postcode (with --postcode-directory)")
    where.add_argument("--from-place", metavar="ID", help="id of a home or other place")
    p.add_argument("--lon", type=float, help="longitude of the origin (with --lat)")
    p.add_argument("--northing", type=float, help="BNG northing (with --easting)")
    p.add_argument("--postcode-directory", metavar="CSV",
                   help="ONS Postcode Directory CSV (columns pcds/pcd, lat, long)")
    p.add_argument("--k", type=_k_arg, default=5, help="how many places (5)")
    p.add_argument("--layers", type=_layers_arg, default=("safe_places", "youth_centres"),
                   help="comma-separated place layers (safe_places,youth_centres)")
    p.add_argument("--categories", type=_categories_arg, default=None,
                   help="only these categories, e.g. police,library,pharmacy")
    p.add_argument("--open-at", type=_when_arg, metavar="'YYYY-MM-DD HH:MM'",
                   help="check opening hours at this local time (default: now)")
    p.add_argument("--open-only", action="store_true",
                   help="list only places open then (unknown hours never count as open)")
    p.add_argument("--routes", metavar="FILE.geojson",
                   help="also write the routes as GeoJSON lines (EPSG:4326)")
    _add_common(p)
    p.set_defaults(func=run_nearest)

    c = sub.add_parser(
        "coverage",
        help="walking time from every home to the nearest safe place and youth centre",
        description="For every home: the nearest (open) safe place and youth centre and the "
        "walk to each; homes with no safe place within --minutes are gaps.",
    )
    c.add_argument("--minutes", type=positive(), default=DEFAULT_MINUTES,
                   help=f"walking-time threshold in minutes ({DEFAULT_MINUTES:g})")
    c.add_argument("--open-at", type=_when_arg, metavar="'YYYY-MM-DD HH:MM'",
                   help="count only safe places open at this local time (default: all)")
    c.add_argument("--area-out", metavar="FILE.geojson",
                   help="also write the area within --minutes of a safe place (EPSG:4326)")
    _add_common(c)
    c.set_defaults(func=run_coverage)


def _origin(args: argparse.Namespace, store: Store | None) -> Origin:
    if args.lat is not None:
        if args.lon is None:
            raise InputError("--lat needs --lon; expected both, e.g. --lat 52.63 --lon 1.29")
        return from_latlon(args.lat, args.lon)
    if args.point is not None:
        return parse_point(args.point)
    if args.easting is not None:
        if args.northing is None:
            raise InputError("--easting needs --northing")
        return from_bng(args.easting, args.northing)
    if args.postcode is not None:
        if not args.postcode_directory:
            raise InputError(
                "--postcode needs --postcode-directory (an ONS Postcode Directory CSV); "
                "postcodes are never looked up online"
            )
        return lookup_postcode(args.postcode_directory, args.postcode)
    places = load_places(store, args.places, as_layer=args.as_layer)
    return from_place(places, args.from_place)


def _check_near(origin: Origin, store: Store | None, places: pd.DataFrame) -> None:
    """Stop when the origin is far from the store's study area (else from the places)."""
    area = read_study_area(store) if store is not None else None
    if area is not None:
        check_origin_near(origin.lat, origin.lon, area.geometry,
                          f"the study area {area.description}")
        return
    extent = layers_extent(places)
    if extent is not None:
        check_origin_near(origin.lat, origin.lon, extent, "the places' extent")


def _network(args: argparse.Namespace) -> WalkNetwork | None:
    if not args.network:
        return None
    def progress(stage: str, count: int) -> None:
        print(f"building the walking network: {count:,} {stage}", file=sys.stderr, flush=True)

    return load_network(args.network, cache_dir=args.cache_dir, progress=progress)


def _write_csv(frame: pd.DataFrame, out: str) -> None:
    path = Path(out)
    if path.parent and not path.parent.exists():
        raise InputError(f"cannot write {out!r}: folder {str(path.parent)!r} does not exist")
    to_safe_csv(frame, path)


def run_nearest(args: argparse.Namespace) -> int:
    """Write the nearest places to the origin as CSV."""
    store = command_store(args, given_inputs(args, "places"))
    origin = _origin(args, store)
    if origin.note:
        print(f"note: {origin.note}", file=sys.stderr)
    places = load_places(store, args.places, kinds=list(args.layers),
                         as_layer=args.as_layer)
    print_notes(places)
    _check_near(origin, store, places)
    chosen = filter_places(places, categories=args.categories)
    if chosen.empty and not places.empty:
        found = ", ".join(sorted({str(c) for c in places["category"].dropna()})) or "none"
        raise InputError(f"no place has a category in {', '.join(args.categories)}; the "
                         f"{len(places)} places' categories are: {found}")
    places = chosen
    network = _network(args)
    when = args.open_at or dt.datetime.now(LOCAL_TZ).replace(tzinfo=None, second=0, microsecond=0)
    result = nearest_places(
        origin,
        places,
        k=args.k,
        network=network,
        when=when,
        open_only=args.open_only,
        speed_kmh=args.speed_kmh,
        detour=args.detour,
    )
    if result.empty and not places.empty:
        why = (f"none of the {len(places)} places is open at {when:%Y-%m-%d %H:%M} "
               "(unknown hours never count as open)" if args.open_only
               else f"none of the {len(places)} places has a location")
        raise InputError(f"no place to list: {why}")
    if result.attrs.get("unlocated_places"):
        print(f"note: {result.attrs['unlocated_places']} place(s) have no location and were "
              "left out", file=sys.stderr)
    table = pd.DataFrame(result.drop(columns="geometry"))
    table["open"] = [cli_value(s) for s in table["open"]]
    for col in ("straight_m", "walk_m", "snap_origin_m", "snap_place_m"):
        table[col] = table[col].round(1)
    table["walk_min"] = table["walk_min"].round(2)
    audit_export(args, store, "nearest", "nearest places (CSV)"
                 + (", routes (GeoJSON)" if args.routes else ""),
                 unmasked=args.from_place is not None, rows=len(table),
                 filters=f"from {'a stored place' if args.from_place else 'a given point'}, "
                 f"k {args.k}, layers {','.join(args.layers)}")
    _write_csv(table[list(NEAREST_CSV_COLUMNS)], args.out)
    if args.routes:
        routes = result[["rank", "place_id", "walk_basis", "geometry"]]
        routes.to_file(args.routes, driver="GeoJSON")
    print(f"wrote {len(table)} place(s) nearest to {origin.label} to {args.out} "
          f"(walk: {table['walk_basis'].iloc[0] if len(table) else 'n/a'})")
    return 0


def run_coverage(args: argparse.Namespace) -> int:
    """Write one row per home: nearest safe place and youth centre, walk times, gap."""
    store = command_store(args, given_inputs(args, "places"))
    places = load_places(store, args.places, as_layer=args.as_layer)
    print_notes(places)
    homes = places[places["layer"] == "homes"]
    if homes.empty and args.places:  # a list of safe places: the homes are the store's
        homes = load_places(store, kinds=["homes"])
    if homes.empty:
        raise InputError("no homes found; expected a 'homes' layer in the store or place files")
    safe = places[places["layer"] == "safe_places"]
    youth = places[places["layer"] == "youth_centres"]
    network = _network(args)
    table = home_coverage(
        homes,
        safe,
        youth,
        minutes=args.minutes,
        when=args.open_at,
        network=network,
        speed_kmh=args.speed_kmh,
        detour=args.detour,
    )
    table = table.copy()
    for col in ("safe_walk_min", "youth_walk_min"):
        table[col] = table[col].round(2)
    for col in ("gap", "youth_gap"):
        table[col] = table[col].map({True: "true", False: "false"}).astype(object)
    audit_export(args, store, "coverage", "walking coverage of every home (CSV)"
                 + (", area (GeoJSON)" if args.area_out else ""), unmasked=True,
                 rows=len(table), filters=f"within {args.minutes:g} min")
    _write_csv(table, args.out)
    if args.area_out:
        area = coverage_area(
            safe,
            minutes=args.minutes,
            when=args.open_at,
            network=network,
            speed_kmh=args.speed_kmh,
            detour=args.detour,
        )
        area.to_file(args.area_out, driver="GeoJSON")
    gaps = int((table["gap"] == "true").sum())
    print(f"wrote {len(table)} home(s) to {args.out}: {gaps} with no safe place within "
          f"{args.minutes:g} min (walk: {table['basis'].iloc[0]})")
    return 0
