"""Benchmark at scale: imports, concern on both stores, map payload, dashboard filter rerun.

python benchmarks/scale_bench.py [--sizes 100000,1000000] [--pg-url URL] [--skip-app]

Synthetic police-like incidents in the Norwich box (lon 1.20–1.34, lat 52.59–52.68),
months 2018-10..2019-09, the 14 police.uk categories, 8 % without a location, half of the
points in 60 clusters; places and areas come from the bundled sample store. Prints a
table; nothing is asserted. PostGIS: $CTXMAP_TEST_PG_URL or ``scripts/postgis.sh``'s URL.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path

import geopandas as gpd
import numpy as np
import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ctxmap.analysis.areas import study_area  # noqa: E402
from ctxmap.analysis.concern import ConcernParams, rank_places  # noqa: E402
from ctxmap.analysis.concern_postgis import rank_places_pg  # noqa: E402
from ctxmap.analysis.inputs import load_places  # noqa: E402
from ctxmap.layers.conform import empty_layer  # noqa: E402
from ctxmap.layers.schemas import POLICE_UK_CATEGORIES  # noqa: E402
from ctxmap.store.geopackage import GeoPackageStore  # noqa: E402
from ctxmap.store.postgis import PostGISStore  # noqa: E402

SAMPLE = ROOT / "data" / "ctxmap.gpkg"
PG_URL = os.environ.get("CTXMAP_TEST_PG_URL",
                        "postgresql://ctxmap_test:ctxmap_test@127.0.0.1:54329/ctxmap_test")
MONTHS = [f"2018-{m:02d}" for m in (10, 11, 12)] + [f"2019-{m:02d}" for m in range(1, 10)]


def synthetic_incidents(n: int, seed: int = 0) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    half = n // 2
    centres = np.column_stack([rng.uniform(1.22, 1.32, 60), rng.uniform(52.60, 52.67, 60)])
    clustered = centres[rng.integers(0, 60, n - half)] + rng.normal(0, 0.004, (n - half, 2))
    uniform = np.column_stack([rng.uniform(1.20, 1.34, half), rng.uniform(52.59, 52.68, half)])
    xy = np.vstack([uniform, clustered])
    xy[:, 0] = np.clip(xy[:, 0], 1.20, 1.34)
    xy[:, 1] = np.clip(xy[:, 1], 52.59, 52.68)
    geoms = gpd.points_from_xy(xy[:, 0], xy[:, 1]).to_numpy()
    geoms[rng.random(n) < 0.08] = None
    cats = np.array(POLICE_UK_CATEGORIES, dtype=object)[rng.integers(0, 14, n)]
    months = np.array(MONTHS, dtype=object)[rng.integers(0, len(MONTHS), n)]
    g = gpd.GeoDataFrame(
        {"id": [f"c{i:08x}" for i in range(n)], "month": months, "category": cats,
         "location_precision": "snapped to police.uk map point",
         "location": "On or near Example Street", "lsoa_code": "E01026791",
         "outcome": "Under investigation", "source": "synthetic"},
        geometry=gpd.GeoSeries(geoms, crs="EPSG:4326"), crs="EPSG:4326")
    g["date"] = None
    return g[list(empty_layer("incidents").columns)]


def timed(fn):  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def dashboard(store_path: Path) -> tuple[float, float, float, float, int]:
    """Cold run, warm rerun, new-filter rerun, back-to-a-seen-filter rerun (s), payload."""
    from streamlit.testing.v1 import AppTest

    os.environ["CTXMAP_STORE"] = str(store_path)
    at = AppTest.from_file(str(ROOT / "pages" / "map.py"), default_timeout=900)
    _, cold = timed(at.run)
    _, warm = timed(at.run)
    _, change = timed(lambda: at.sidebar.radio[0].set_value("Exploitation-related").run())
    _, back = timed(lambda: at.sidebar.radio[0].set_value("All types").run())
    if at.exception:
        raise RuntimeError(str(at.exception))
    els = [e for e in at.get("component_instance") if "json_args" in str(e.proto)]
    payload = len(els[0].proto.json_args.encode()) if els else -1
    return cold, warm, change, back, payload


def map_export_bytes(store_path: Path, out: Path) -> int:
    from ctxmap.cli import main

    main(["map", "--store", str(store_path), "--out", str(out)])
    return out.stat().st_size


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="100000,1000000")
    ap.add_argument("--pg-url", default=PG_URL)
    ap.add_argument("--skip-app", action="store_true")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    tmp = Path(tempfile.mkdtemp(prefix="ctxmap-scale-"))
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    places = load_places(SAMPLE)
    areas = GeoPackageStore(SAMPLE).read("areas")
    params = ConcernParams(radius_m=400)
    area = study_area(areas, None)
    rows = []
    try:
        for n in sizes:
            inc = synthetic_incidents(n)
            gpkg = tmp / f"s{n}.gpkg"
            shutil.copy(SAMPLE, gpkg)
            store = GeoPackageStore(gpkg)
            _, t_gp_imp = timed(lambda s=store, i=inc: s.write("incidents", i, file="syn.csv"))
            pg = PostGISStore(args.pg_url, schema=schema)
            _, t_pg_imp = timed(lambda s=pg, i=inc: s.write("incidents", i, file="syn.csv"))

            def embedded(s: GeoPackageStore = store) -> int:
                ranking = rank_places(places, s.read("incidents"), area, params)
                return int(ranking["incidents"].sum())

            def in_db(s: PostGISStore = pg) -> int:
                return int(rank_places_pg(s, places, area, params)["incidents"].sum())

            n_emb, t_emb = timed(embedded)
            n_pg, t_pg = timed(in_db)
            export = map_export_bytes(gpkg, tmp / f"map{n}.html")
            app = (float("nan"),) * 4 + (-1,) if args.skip_app else dashboard(gpkg)
            rows.append((n, n / t_gp_imp, n / t_pg_imp, t_emb, t_pg, n_emb == n_pg, export,
                         *app))
            print(json.dumps({"n": n, "gpkg_import_rows_s": round(n / t_gp_imp),
                              "pg_import_rows_s": round(n / t_pg_imp),
                              "concern_gpkg_s": round(t_emb, 2), "concern_pg_s": round(t_pg, 2),
                              "same_counts": n_emb == n_pg, "map_export_bytes": export,
                              "app_cold_s": round(app[0], 2), "app_warm_s": round(app[1], 2),
                              "app_filter_change_s": round(app[2], 2),
                              "app_filter_back_s": round(app[3], 2),
                              "app_payload_bytes": app[4]}), flush=True)
    finally:
        with psycopg.connect(args.pg_url) as con:
            con.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        shutil.rmtree(tmp, ignore_errors=True)
    print()
    print(f"{'incidents':>10} {'import gpkg r/s':>15} {'import pg r/s':>13} "
          f"{'concern gpkg s':>14} {'concern pg s':>12} {'same':>5} {'export B':>10} "
          f"{'app cold s':>10} {'app warm s':>10} {'new filter s':>12} {'seen filter s':>13} "
          f"{'payload B':>10}")
    for r in rows:
        print(f"{r[0]:>10} {r[1]:>15,.0f} {r[2]:>13,.0f} {r[3]:>14.2f} {r[4]:>12.2f} "
              f"{r[5]!s:>5} {r[6]:>10,} {r[7]:>10.2f} {r[8]:>10.2f} {r[9]:>12.2f} {r[10]:>13.2f} "
              f"{r[11]:>10,}")
    print("(concern = read the incidents + rank_places; pg = SQL-filtered read + ST_DWithin "
          "counts in PostGIS; app = pages/map.py under AppTest on the GeoPackage store)")


if __name__ == "__main__":
    main()
