"""Build the bundled Norwich sample store, ``data/ctxmap.gpkg``, from ``data/source/``.

    python scripts/build_sample.py [--out data/ctxmap.gpkg]

Real data is kept as real and as dirty as it is: the 878 crime rows with no location
stay (stored, counted, not mapped), points outside their LSOA stay, unnamed OSM places
stay. The LAD outline from quantised TopoJSON self-intersects: it is repaired with
make_valid (reported). Homes are FICTIONAL (``ctxmap.sample_homes``); no real home for
children is ever published.

The build writes a new file beside the target and renames it over the target only when
everything succeeded, so a failed build never leaves a half-written store.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ctxmap.layers.readers import file_sha256, read_layer  # noqa: E402
from ctxmap.store.geopackage import GeoPackageStore  # noqa: E402
from ctxmap.store.marks import (  # noqa: E402
    DATASET_KEY,
    NAME_KEY,
    SAMPLE_DATASET,
    make_study_area,
    write_study_area,
)
from ctxmap.store.protocol import Store  # noqa: E402

SOURCE = ROOT / "data" / "source"
FILES = {
    "district": SOURCE / "boundaries" / "norwich_lad_2013.geojson",
    "ward": SOURCE / "boundaries" / "norwich_wards_2013.geojson",
    "msoa": SOURCE / "boundaries" / "norwich_msoa_2011.geojson",
    "lsoa": SOURCE / "boundaries" / "norwich_lsoa_2011.geojson",
    "incidents": SOURCE / "crime" / "norwich_street_2018-10_to_2019-02.csv",
    "osm": SOURCE / "osm" / "norwich_osm_pois.geojson",
}
BUILD_USER = "ctxmap sample build"


def mark_sample(store: Store) -> str:
    """Mark ``store`` as the bundled sample and set its study area (the Norwich LAD outline).

    The mark (metadata ``dataset = "ctxmap bundled sample"``) is what every sample-only
    behaviour follows (fictional homes note, audit off), never the file's path. Returns
    the study area's description.
    """
    district = read_layer(FILES["district"], "areas", repair=True).raise_if_unusable().gdf
    label = str(district["name"].iloc[0]) if len(district) == 1 else "Norwich"
    area = make_study_area(district.geometry.union_all(), label, FILES["district"].name)
    store.set_metadata(DATASET_KEY, SAMPLE_DATASET)
    store.set_metadata(NAME_KEY, f"{label} sample")
    write_study_area(store, area)
    return area.description


def build(out: Path) -> dict[str, int]:
    """Build the sample store at ``out``; return rows written per layer."""
    tmp = out.with_name(out.name + ".building")
    tmp.unlink(missing_ok=True)
    store = GeoPackageStore(tmp)
    written: dict[str, int] = {}

    def write(kind: str, path: Path, *, repair: bool = False, mode: str = "replace") -> None:
        result = read_layer(path, kind, repair=repair)
        for w in result.warnings[:3]:
            print(f"  {w}")
        result.raise_if_unusable()
        rec = store.write(kind, result.gdf, file=path.name, mode=mode,
                          sha256=file_sha256(path), user=BUILD_USER)
        written[kind] = written.get(kind, 0) + rec.rows
        print(f"{kind:14} {rec.rows:6} rows from {path.name} ({rec.unmapped} without location)")

    for level in ("district", "ward", "msoa", "lsoa"):
        write("areas", FILES[level], repair=True)
    write("incidents", FILES["incidents"])
    write("youth_centres", FILES["osm"])
    write("safe_places", FILES["osm"])

    from ctxmap.layers.sample_homes import fictional_homes

    homes = fictional_homes(store.read("areas").query("level == 'lsoa'"), store.read("incidents"))
    rec = store.write("homes", homes, file="ctxmap.sample_homes (fictional)", user=BUILD_USER)
    written["homes"] = rec.rows
    print(f"{'homes':14} {rec.rows:6} rows, all FICTIONAL")

    try:
        from ctxmap.cases.sample_context import add_sample_context
    except ImportError:  # contexts not built yet
        pass
    else:
        add_sample_context(store)
        print("contexts       1 worked fictional context (case study)")

    print(f"marked as the bundled sample; study area: {mark_sample(store)}")
    _normalise_timestamps(tmp)
    os.replace(tmp, out)
    return written


def _normalise_timestamps(path: Path) -> None:
    """Fix build timestamps so that rebuilding from the same sources gives the same file."""
    import sqlite3

    con = sqlite3.connect(path)
    with con:
        con.execute("UPDATE ctxmap_imports SET imported_at = '2019-03-01T00:00:00+00:00'")
        con.execute("UPDATE gpkg_contents SET last_change = '2019-03-01T00:00:00.000Z'")
    con.execute("VACUUM")
    con.close()


def main(argv: list[str] | None = None) -> int:
    """Build the sample store."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "data" / "ctxmap.gpkg"))
    parser.add_argument("--mark-only", action="store_true",
                        help="only write the sample mark and study area into --out (in place)")
    args = parser.parse_args(argv)
    if args.mark_only:
        description = mark_sample(GeoPackageStore(args.out, create=False))
        _normalise_timestamps(Path(args.out))
        print(f"marked {args.out} as the bundled sample; study area: {description}")
        return 0
    start = time.perf_counter()
    written = build(Path(args.out))
    size = Path(args.out).stat().st_size
    print(f"built {args.out}: {sum(written.values())} rows, {size:,} bytes, "
          f"{time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
