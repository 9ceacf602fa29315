"""Layer commands: ``validate``, ``import``, ``layers`` and ``map``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ctxmap.commands import AS_LAYERS, add_as_option, print_notes
from ctxmap.commands.exporting import add_audit_options, audit_export
from ctxmap.errors import InputError
from ctxmap.layers.readers import file_sha256, read_layer, read_places, rule_counts
from ctxmap.layers.schemas import LAYER_KINDS, PLACE_KINDS
from ctxmap.store.opening import describe_target, open_store, store_exists


def register(sub: argparse._SubParsersAction) -> None:
    """Add the layer commands to the ``python -m ctxmap`` parser."""
    kinds = ", ".join(LAYER_KINDS)

    p = sub.add_parser("validate", help="validate a layer file and print a report",
                       description="Validate a layer file. Exit 0 when usable, 1 when not.")
    p.add_argument("file", help="CSV (police.uk, lat/lon or easting/northing), GeoJSON or GPKG")
    p.add_argument("--layer", required=True, choices=LAYER_KINDS, metavar="KIND",
                   help=f"layer kind: {kinds}")
    p.add_argument("--repair-geometries", action="store_true",
                   help="repair invalid geometries with make_valid instead of rejecting them")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("import", help="validate a layer file and keep it in the store",
                       description="Validate a layer file and write it to the store in one "
                       "transaction: all rows or, on any problem, none. --layer places "
                       "classifies every row of a place file (OSM extract or your own list) "
                       "into safe_places and youth_centres by the rules of "
                       "docs/osm-classification.md and writes both.")
    p.add_argument("file")
    p.add_argument("--layer", required=True, choices=(*LAYER_KINDS, "places"), metavar="KIND",
                   help=f"layer kind: {kinds}, or places (safe places and youth centres "
                   "from one file)")
    add_as_option(p)
    p.add_argument("--store", metavar="PATH", help="store file (default: $CTXMAP_STORE or "
                   "data/ctxmap.gpkg)")
    p.add_argument("--mode", choices=("replace", "append"), default="replace",
                   help="replace the layer (areas: the same levels) or append/update by id")
    p.add_argument("--repair-geometries", action="store_true",
                   help="repair invalid geometries with make_valid instead of rejecting them")
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("layers", help="list the layers in the store with their row counts")
    p.add_argument("--store", metavar="PATH")
    p.set_defaults(func=cmd_layers)

    p = sub.add_parser("map", help="write a standalone HTML map that opens offline")
    p.add_argument("--store", metavar="PATH")
    p.add_argument("--incidents", metavar="FILE", help="incidents file (instead of the store's)")
    p.add_argument("--places", metavar="FILE", nargs="+", action="extend", default=[],
                   help="place files (instead of the store's places)")
    p.add_argument("--out", required=True, metavar="map.html")
    add_audit_options(p, places=True)
    p.set_defaults(func=cmd_map)


def cmd_validate(args: argparse.Namespace) -> int:
    """Print a validation report; 0 when usable, 1 when not."""
    result = read_layer(args.file, args.layer, repair=args.repair_geometries)
    print(result.report())
    return 0 if result.usable else 1


def cmd_import(args: argparse.Namespace) -> int:
    """Validate then import a layer file in one transaction."""
    if args.layer == "places":
        return import_places(args)
    if args.as_layer is not None:
        raise InputError(f"--as is for --layer places; --layer {args.layer} takes every row "
                         f"as {args.layer} already")
    result = read_layer(args.file, args.layer, repair=args.repair_geometries)
    print(result.report())
    if not result.usable:
        print(f"not imported: the store at {describe_target(args.store)} is unchanged",
              file=sys.stderr)
        return 1
    store = open_store(args.store)
    total = len(result.gdf)

    def progress(done: int, n: int) -> None:
        if n >= 20_000:
            print(f"\rwriting {done:,}/{n:,} rows", end="", file=sys.stderr, flush=True)

    record = store.write(args.layer, result.gdf, file=Path(args.file).name, mode=args.mode,
                         sha256=file_sha256(args.file), progress=progress)
    if total >= 20_000:
        print(file=sys.stderr)
    print(f"imported {record.rows} rows into {args.layer} ({record.mapped} mapped, "
          f"{record.unmapped} without a location) in {store.path} [import {record.import_id}, "
          f"mode {record.mode}]")
    return 0


def import_places(args: argparse.Namespace) -> int:
    """``import FILE --layer places``: classify every row, write both place layers.

    Prints the validation report and the rows per rule; writes the safe places and the
    youth centres (each layer in its own transaction, after both are known to be
    usable); a layer with no row in the file is left unchanged.
    """
    result = read_places(args.file, as_layer=args.as_layer)
    print(result.report())
    counts = rule_counts(result.gdf)
    print("rows per rule (docs/osm-classification.md):")
    for rule, layer, rows in counts.itertuples(index=False):
        print(f"  {rule}: {rows} -> {layer if layer in AS_LAYERS else 'not a place'}")
    unchanged = f"the store at {describe_target(args.store)} is unchanged"
    if not result.usable:
        print(f"not imported: {unchanged}", file=sys.stderr)
        return 1
    gdf = result.gdf
    layers = {k: gdf[gdf["layer"] == k].drop(columns=["layer", "rule"]) for k in AS_LAYERS}
    if all(part.empty for part in layers.values()):
        print(f"not imported: none of the {len(gdf)} rows of {Path(args.file).name} is a safe "
              "place or youth centre by the tag rules (docs/osm-classification.md); give "
              f"--as safe_places or --as youth_centres to take every row as one; {unchanged}",
              file=sys.stderr)
        return 1
    store = open_store(args.store)
    sha = file_sha256(args.file)
    for kind, part in layers.items():
        if part.empty:
            print(f"{kind}: no row of this file is one; the layer is left unchanged")
            continue
        record = store.write(kind, part, file=Path(args.file).name, mode=args.mode, sha256=sha)
        print(f"imported {record.rows} rows into {kind} ({record.mapped} mapped, "
              f"{record.unmapped} without a location) in {store.path} "
              f"[import {record.import_id}, mode {record.mode}]")
    left = len(gdf) - sum(len(part) for part in layers.values())
    if left:
        print(f"left out {left} rows that are not a safe place or youth centre")
    return 0


def cmd_layers(args: argparse.Namespace) -> int:
    """Print each layer's row counts."""
    if not store_exists(args.store):
        raise InputError(f"no store at {describe_target(args.store)}; build the sample with "
                         "'python scripts/build_sample.py' or import a layer")
    counts = open_store(args.store, create=False).counts()
    print("layer,rows,mapped,without_location")
    for kind, c in counts.items():
        print(f"{kind},{c['rows']},{c['mapped']},{c['unmapped']}")
    return 0


def cmd_map(args: argparse.Namespace) -> int:
    """Write a standalone HTML map of the same layers as the dashboard."""
    from ctxmap.analysis.inputs import load_incidents, load_layer, load_places
    from ctxmap.maps.export import write_map_html
    from ctxmap.maps.layers import build_map

    layers = {
        "areas": load_layer(args.store, "areas"),
        "incidents": load_incidents(args.store, args.incidents),
    }
    if args.places:
        places = load_places(args.store, args.places, as_layer=args.as_layer)
        print_notes(places)  # the rows that are not a place, left out
        for kind in PLACE_KINDS:
            layers[kind] = places[places["layer"] == kind].drop(columns="layer")
    else:
        for kind in PLACE_KINDS:
            layers[kind] = load_layer(args.store, kind)
    m = build_map(layers)
    out = Path(args.out)
    drawn = {k: len(v) for k, v in layers.items() if len(v)}
    audit_export(args, "map", "standalone HTML map, homes as points"
                 if drawn.get("homes") else "standalone HTML map", unmasked=bool(
                     drawn.get("homes")), rows=sum(drawn.values()),
                 filters=", ".join(f"{k} {n}" for k, n in drawn.items()))
    write_map_html(m, out)
    unmapped = int(layers["incidents"].geometry.isna().sum())
    print(f"wrote {out} ({out.stat().st_size:,} bytes); incidents: "
          f"{len(layers['incidents']) - unmapped} mapped, {unmapped} without a location "
          "(not drawn)")
    return 0
