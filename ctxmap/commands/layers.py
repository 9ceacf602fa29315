"""Layer commands: ``validate``, ``import``, ``layers`` and ``map``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import geopandas as gpd
import pandas as pd

from ctxmap.analysis.inputs import check_overlap, outline_from_frame
from ctxmap.commands import AS_LAYERS, add_as_option, print_notes
from ctxmap.commands.exporting import add_audit_options, audit_export
from ctxmap.commands.stores import (
    HOW_TO_NAME,
    add_store_argument,
    command_store,
    given_inputs,
    named_store,
    say,
)
from ctxmap.errors import CtxmapError, InputError, StoreError
from ctxmap.layers.readers import (
    file_sha256,
    read_layer,
    read_places,
    rule_counts,
    split_places,
)
from ctxmap.layers.schemas import LAYER_KINDS, PLACE_KINDS
from ctxmap.store.marks import write_study_area
from ctxmap.store.opening import describe_target, open_store, store_exists, store_summary
from ctxmap.store.protocol import Store


def register(sub: argparse._SubParsersAction) -> None:
    """Add the layer commands to the ``python -m ctxmap`` parser."""
    kinds = ", ".join(LAYER_KINDS)

    p = sub.add_parser("validate", help="validate a layer file and print a report",
                       description="Validate a layer file. Exit 0 when usable, 1 when not.")
    p.add_argument("file", help="CSV (police.uk, lat/lon or easting/northing), GeoJSON or GPKG")
    p.add_argument("--layer", required=True, choices=LAYER_KINDS, metavar="KIND",
                   help=f"layer kind: {kinds}")
    _add_repair(p)
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("import", help="validate a layer file and keep it in the store",
                       description="Validate a layer file and write it to the store in one "
                       "transaction: all rows or, on any problem, none. --layer places "
                       "classifies every row of a place file (OSM extract or your own list) "
                       "into safe_places and youth_centres by the rules of "
                       "docs/osm-classification.md and writes both.")
    p.add_argument("files", nargs="+", metavar="FILE",
                   help="one or more files of the same layer (e.g. several monthly police.uk "
                   "files), written together in one transaction")
    p.add_argument("--layer", required=True, choices=(*LAYER_KINDS, "places"), metavar="KIND",
                   help=f"layer kind: {kinds}, or places (safe places and youth centres "
                   "from one file)")
    add_as_option(p)
    add_store_argument(p)
    p.add_argument("--mode", choices=("replace", "append"), default=None,
                   help="replace the layer or append/update by id (default: replace; for "
                   "areas always append/update by level and code: use --replace LEVEL)")
    p.add_argument("--replace", metavar="LEVEL", action="append", default=[],
                   help="areas: drop the stored areas of this level first (repeatable; the "
                   "file must hold exactly these levels); the output lists what was removed")
    p.add_argument("--study-area", action="store_true",
                   help="areas: make the outline (union) of this file the store's study area")
    p.add_argument("--name", metavar="NAME",
                   help="with --study-area: its name (default: the file's one area name)")
    _add_repair(p)
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("layers", help="list the layers in the store with their row counts")
    add_store_argument(p)
    p.set_defaults(func=cmd_layers)

    p = sub.add_parser("map", help="write a standalone HTML map that opens offline")
    add_store_argument(p)
    p.add_argument("--incidents", metavar="FILE", help="incidents file (instead of the store's)")
    p.add_argument("--places", metavar="FILE", nargs="+", action="extend", default=[],
                   help="place files (instead of the store's places)")
    p.add_argument("--out", required=True, metavar="map.html")
    add_audit_options(p, places=True)
    p.set_defaults(func=cmd_map)


def _add_repair(p: argparse.ArgumentParser) -> None:
    p.add_argument("--no-repair", action="store_true",
                   help="refuse invalid geometries instead of repairing them with make_valid "
                   "(by default each repair is reported: file, row, what was repaired)")
    p.add_argument("--repair-geometries", action="store_true", help=argparse.SUPPRESS)
    # --repair-geometries: the old opt-in, now the default; accepted and ignored


def _print_repairs(result: object) -> None:
    for w in getattr(result, "warnings", []):
        if getattr(w, "code", "") == "repaired_geometry":
            say(str(w))


def cmd_validate(args: argparse.Namespace) -> int:
    """Print a validation report; 0 when usable, 1 when not."""
    say("store: none (validate reads only the file)")
    result = read_layer(args.file, args.layer, repair=not args.no_repair)
    print(result.report())
    _print_repairs(result)
    return 0 if result.usable else 1


def _import_store(args: argparse.Namespace) -> Store:
    """The store to import into: named (created when missing, said so); never the sample."""
    target = named_store(args)
    if not target:
        raise InputError(f"no store named to import {Path(args.files[0]).name} into; "
                         f"{HOW_TO_NAME}. "
                         "The bundled sample is never written by import")
    if not store_exists(target):
        say(f"store: {describe_target(target)} does not exist yet: making a new, empty store "
            "there (python -m ctxmap init makes one with a study area and a name)")
    store = open_store(target, create=True)
    say(store_summary(store))
    return store


def _areas_mode(args: argparse.Namespace, levels: list[str]) -> str:
    """The write mode of an areas import (append unless --replace names the file's levels)."""
    if args.mode == "replace" and not args.replace:
        raise InputError("--mode replace with --layer areas; expected --replace LEVEL (areas "
                         "from several files live side by side, keyed by level and code)")
    if not args.replace:
        return "append"
    asked = sorted(set(args.replace))
    if asked != levels:
        raise InputError(f"--replace {', '.join(asked)} but the file(s) hold "
                         f"level(s) {', '.join(levels) or 'none'}; expected --replace for "
                         "exactly the levels the file holds")
    return "replace"


def _removed_areas(store: Store, levels: list[str]) -> list[str]:
    stored = store.read("areas", columns=["id", "name", "level"])
    gone = stored[stored["level"].astype(str).isin(levels)]
    return [f"{r.id} {r.name}" if r.name else str(r.id) for r in gone.itertuples()]


def _read_files(args: argparse.Namespace) -> gpd.GeoDataFrame | None:
    """Read and report every file; the rows of all, or ``None`` when one is unusable."""
    frames = []
    usable = True
    for f in args.files:
        result = read_layer(f, args.layer, repair=not args.no_repair)
        print(result.report())
        _print_repairs(result)
        usable = usable and result.usable
        frames.append(result.gdf)
    if not usable:
        return None
    if len(frames) == 1:
        return frames[0]
    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry",
                            crs=frames[0].crs)


def cmd_import(args: argparse.Namespace) -> int:
    """Validate then import one or more layer files in one transaction."""
    if args.layer == "places":
        return import_places(args)
    if args.as_layer is not None:
        raise InputError(f"--as is for --layer places; --layer {args.layer} takes every row "
                         f"as {args.layer} already")
    if args.layer != "areas" and (args.replace or args.study_area):
        raise InputError("--replace and --study-area are for --layer areas; expected them "
                         "only with areas")
    names = ", ".join(Path(f).name for f in args.files)
    gdf = _read_files(args)
    if gdf is None:
        print(f"not imported: the store at {describe_target(named_store(args))} is unchanged",
              file=sys.stderr)
        return 1
    mode = args.mode or "replace"
    levels: list[str] = []
    if args.layer == "areas":
        levels = sorted({str(v) for v in gdf["level"].dropna()})
        mode = _areas_mode(args, levels)
    area = None
    if args.study_area:
        area = outline_from_frame(gdf, names, args.name)
    store = _import_store(args)
    removed = _removed_areas(store, levels) if mode == "replace" and levels else []

    def progress(done: int, n: int) -> None:
        if n >= 20_000:
            print(f"\rwriting {done:,}/{n:,} rows", end="", file=sys.stderr, flush=True)

    record = store.write(args.layer, gdf, file=names, mode=mode,
                         sha256=",".join(file_sha256(f) for f in args.files), progress=progress)
    if len(gdf) >= 20_000:
        print(file=sys.stderr)
    print(f"imported {record.rows} rows into {args.layer} ({record.mapped} mapped, "
          f"{record.unmapped} without a location) from {len(args.files)} file(s) in "
          f"{store.path} [import {record.import_id}, mode {record.mode}]")
    if args.layer == "areas":
        _report_areas(store, removed, levels if mode == "replace" else [])
    if area is not None:
        write_study_area(store, area)
        print(f"study area: {area.description}")
    return 0


def import_places(args: argparse.Namespace) -> int:
    """``import FILE --layer places``: classify every row, write both place layers.

    Prints the validation report and the rows per rule; writes the safe places and the
    youth centres in ONE transaction (both layers or, on any failure, neither), after
    both are known to be usable; a layer with no row in the file is left unchanged.
    """
    if len(args.files) > 1:
        raise InputError(f"--layer places takes one file at a time; got {len(args.files)}")
    file = args.files[0]
    result = read_places(file, as_layer=args.as_layer)
    _print_repairs(result)
    print(result.report())
    counts = rule_counts(result.gdf)
    print("rows per rule (docs/osm-classification.md):")
    for rule, layer, rows in counts.itertuples(index=False):
        print(f"  {rule}: {rows} -> {layer if layer in AS_LAYERS else 'not a place'}")
    unchanged = f"the store at {describe_target(named_store(args))} is unchanged"
    if not result.usable:
        print(f"not imported: {unchanged}", file=sys.stderr)
        return 1
    gdf = result.gdf
    layers = split_places(gdf)
    if all(part.empty for part in layers.values()):
        print(f"not imported: none of the {len(gdf)} rows of {Path(file).name} is a safe "
              "place or youth centre by the tag rules (docs/osm-classification.md); give "
              f"--as safe_places or --as youth_centres to take every row as one; {unchanged}",
              file=sys.stderr)
        return 1
    store = _import_store(args)
    for kind, part in layers.items():
        if part.empty:
            print(f"{kind}: no row of this file is one; the layer is left unchanged")
    written = {kind: part for kind, part in layers.items() if not part.empty}
    try:  # both layers in one transaction: both are written, or neither
        records = store.write_layers(written, file=Path(file).name, mode=args.mode or "replace",
                                     sha256=file_sha256(file))
    except CtxmapError as exc:
        raise StoreError(f"not imported: writing {' and '.join(written)} from "
                         f"{Path(file).name} failed ({exc}); neither layer was written, "
                         f"{unchanged}") from None
    except Exception:
        print(f"not imported: neither {' nor '.join(written)} was written; {unchanged}",
              file=sys.stderr)
        raise  # the command line's handler logs it and prints an error id
    for record in records:
        print(f"imported {record.rows} rows into {record.layer} ({record.mapped} mapped, "
              f"{record.unmapped} without a location) in {store.path} "
              f"[import {record.import_id}, mode {record.mode}]")
    left = len(gdf) - sum(len(part) for part in layers.values())
    if left:
        print(f"left out {left} rows that are not a safe place or youth centre")
    return 0


def _report_areas(store: Store, removed: list[str], levels: list[str]) -> None:
    if levels:
        shown = "; ".join(removed[:20]) + (f"; and {len(removed) - 20} more"
                                           if len(removed) > 20 else "")
        print(f"--replace {', '.join(levels)}: removed {len(removed)} stored area(s) first"
              + (f": {shown}" if removed else ""))
    stored = store.read("areas", columns=["level"])["level"].astype(str).value_counts()
    print("areas now: " + ", ".join(f"{lv} {n}" for lv, n in sorted(stored.items())))


def cmd_layers(args: argparse.Namespace) -> int:
    """Print each layer's row counts."""
    store = command_store(args)
    assert store is not None  # no input files: a store or the sample
    counts = store.counts()
    print("layer,rows,mapped,without_location")
    for kind, c in counts.items():
        print(f"{kind},{c['rows']},{c['mapped']},{c['unmapped']}")
    return 0


def cmd_map(args: argparse.Namespace) -> int:
    """Write a standalone HTML map of the same layers as the dashboard."""
    from ctxmap.analysis.inputs import load_incidents, load_layer, load_places
    from ctxmap.maps.base import MapOptions
    from ctxmap.maps.export import write_map_html
    from ctxmap.maps.layers import build_map
    from ctxmap.store.marks import read_study_area

    store = command_store(args, given_inputs(args, "incidents", "places"))
    layers = {
        "areas": load_layer(store, "areas"),
        "incidents": load_incidents(store, args.incidents),
    }
    area = read_study_area(store) if store is not None else None
    if area is not None:
        check_overlap("incidents", layers["incidents"], area.geometry,
                      f"the study area {area.description}")
    if args.places:
        places = load_places(store, args.places, as_layer=args.as_layer)
        print_notes(places)  # the rows that are not a place, left out
        for kind in PLACE_KINDS:
            layers[kind] = places[places["layer"] == kind].drop(columns="layer")
    else:
        for kind in PLACE_KINDS:
            layers[kind] = load_layer(store, kind)
    m = build_map(layers, MapOptions(study_area=area))
    out = Path(args.out)
    drawn = {k: len(v) for k, v in layers.items() if len(v)}
    audit_export(args, store, "map", "standalone HTML map, homes as points"
                 if drawn.get("homes") else "standalone HTML map", unmasked=bool(
                     drawn.get("homes")), rows=sum(drawn.values()),
                 filters=", ".join(f"{k} {n}" for k, n in drawn.items()))
    write_map_html(m, out)
    unmapped = int(layers["incidents"].geometry.isna().sum())
    print(f"wrote {out} ({out.stat().st_size:,} bytes); incidents: "
          f"{len(layers['incidents']) - unmapped} mapped, {unmapped} without a location "
          "(not drawn); study area: "
          + (area.description if area is not None else "none set (no outline drawn)"))
    return 0
