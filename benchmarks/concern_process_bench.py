"""Benchmark: whole-process ``concern`` against a plain GeoPandas buffer + sjoin script.

python benchmarks/concern_process_bench.py [--incidents 1000000] [--places 10000] [--side-km 5]

Writes a police.uk street CSV of synthetic incidents (14 categories, months 2018-10..2019-09,
half uniform and half in 40 clusters) and a GeoJSON of places, all in a ``side-km`` square
in Norwich, so that each incident lies within 400 m of hundreds of places. Then it times,
each as its own process (``python -m ...``, reading included):

* ``python -m ctxmap concern --incidents CSV --places GEOJSON --baseline study-area`` and
  the same with ``--baseline local`` (the ring counts too);
* the baseline: pandas ``read_csv`` -> points -> EPSG:27700 -> ``buffer(400)`` around the
  places -> ``geopandas.sjoin`` -> ``groupby`` counts -> CSV, the plain GeoPandas way.

Prints the seconds, the ratio ours / baseline and whether the counts agree (the baseline's
buffers are 64-gons, slightly inside the circle, so a few counts may differ by a point or
two). Nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from pyproj import Transformer

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ctxmap.layers.schemas import (  # noqa: E402
    EXPLOITATION_CATEGORIES,
    POLICE_UK_CATEGORIES,
    POLICE_UK_COLUMNS,
)

CENTRE_E, CENTRE_N = 623000.0, 308500.0  # Norwich, EPSG:27700
MONTHS = [f"2018-{m:02d}" for m in (10, 11, 12)] + [f"2019-{m:02d}" for m in range(1, 10)]

BASELINE_SCRIPT = """
import sys, geopandas as gpd, pandas as pd
inc_csv, places_file, out, cats = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4].split("|")
df = pd.read_csv(inc_csv, dtype=str)
df = df[df["Crime type"].isin(cats)].dropna(subset=["Longitude", "Latitude"])
pts = gpd.GeoDataFrame(df[["Crime type"]], crs="EPSG:4326", geometry=gpd.points_from_xy(
    df["Longitude"].astype(float), df["Latitude"].astype(float))).to_crs(27700)
places = gpd.read_file(places_file).to_crs(27700)
buf = gpd.GeoDataFrame({"pid": places["id"]}, geometry=places.buffer(400), crs=places.crs)
joined = gpd.sjoin(pts, buf, predicate="intersects")
table = joined.groupby(["pid", "Crime type"]).size().unstack(fill_value=0)
table = table.reindex(places["id"], fill_value=0)
table["incidents"] = table.sum(axis=1)
table.to_csv(out)
"""


def write_inputs(folder: Path, n_inc: int, n_places: int, side_m: float) -> tuple[Path, Path]:
    """The incidents CSV (police.uk columns) and the places GeoJSON, in WGS84."""
    rng = np.random.default_rng(0)
    half = n_inc // 2
    centres = rng.uniform(0, side_m, (40, 2))
    xy = np.vstack([rng.uniform(0, side_m, (half, 2)),
                    centres[rng.integers(0, 40, n_inc - half)]
                    + rng.normal(0, 250, (n_inc - half, 2))])
    corner = np.array([CENTRE_E - side_m / 2, CENTRE_N - side_m / 2])
    xy = np.clip(xy, 0, side_m) + corner
    to_wgs = Transformer.from_crs(27700, 4326, always_xy=True)
    lon, lat = to_wgs.transform(xy[:, 0], xy[:, 1])
    cats = np.array(POLICE_UK_CATEGORIES, dtype=object)[rng.integers(0, 14, n_inc)]
    frame = pd.DataFrame({c: "" for c in POLICE_UK_COLUMNS}, index=range(n_inc))
    frame["Crime ID"] = [f"{k:064x}" for k in range(n_inc)]
    frame["Month"] = np.array(MONTHS, dtype=object)[rng.integers(0, len(MONTHS), n_inc)]
    frame["Reported by"] = frame["Falls within"] = "Norfolk Constabulary"
    frame["Longitude"] = np.round(lon, 6)
    frame["Latitude"] = np.round(lat, 6)
    frame["Location"] = "On or near Somewhere"
    frame["Crime type"] = cats
    inc_csv = folder / "street.csv"
    frame.to_csv(inc_csv, index=False)
    pxy = rng.uniform(0, side_m, (n_places, 2)) + corner
    plon, plat = to_wgs.transform(pxy[:, 0], pxy[:, 1])
    features = [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [x, y]},
                 "properties": {"id": f"p{k}", "name": f"Place {k}", "category": "library"}}
                for k, (x, y) in enumerate(zip(plon.tolist(), plat.tolist(), strict=True))]
    places = folder / "places.geojson"
    places.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return inc_csv, places


def run(cmd: list[str]) -> float:
    """Run ``cmd`` as its own process and return its wall-clock seconds (exit code checked).

    Also prints the process's CPU seconds (user + system): on a shared machine the wall
    clock measures the other load as much as the program.
    """
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    print(f"  CPU {cpu:.1f} s", flush=True)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:4])} failed:\n{done.stdout}\n{done.stderr}")
    print(f"  {seconds:.1f} s: {done.stdout.strip()[:300]}", flush=True)
    return seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--incidents", type=int, default=1_000_000)
    ap.add_argument("--places", type=int, default=10_000)
    ap.add_argument("--side-km", type=float, default=5.0)
    args = ap.parse_args()
    side = args.side_km * 1000
    per_circle = args.places * np.pi * 0.4**2 / args.side_km**2
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        t0 = time.perf_counter()
        inc_csv, places = write_inputs(folder, args.incidents, args.places, side)
        print(f"inputs: {args.incidents:,} incidents x {args.places:,} places in a "
              f"{args.side_km:g} km square (~{per_circle:.0f} places within 400 m of a point); "
              f"written in {time.perf_counter() - t0:.1f} s")
        ours: dict[str, float] = {}
        for baseline in ("study-area", "local"):
            out = folder / f"ours-{baseline}.csv"
            ours[baseline] = run([sys.executable, "-m", "ctxmap", "concern", "--incidents",
                                  str(inc_csv), "--places", str(places), "--baseline", baseline,
                                  "--out", str(out)])
        script = folder / "baseline.py"
        script.write_text(BASELINE_SCRIPT)
        t_base = run([sys.executable, str(script), str(inc_csv), str(places),
                      str(folder / "baseline.csv"), "|".join(EXPLOITATION_CATEGORIES)])
        mine = pd.read_csv(folder / "ours-study-area.csv").set_index("place_id")["incidents"]
        theirs = pd.read_csv(folder / "baseline.csv").set_index("id")["incidents"]
        same = float(np.mean(mine.reindex(theirs.index).to_numpy() == theirs.to_numpy()))
        close = float(np.mean(np.abs(mine.reindex(theirs.index).to_numpy()
                                     - theirs.to_numpy()) <= 2))
    print(f"{'run':<34} {'seconds':>8} {'x baseline':>11}")
    for name, t in ours.items():
        print(f"{'ctxmap concern --baseline ' + name:<34} {t:>8.1f} {t / t_base:>11.2f}")
    print(f"{'GeoPandas buffer + sjoin':<34} {t_base:>8.1f} {1.0:>11.2f}")
    print(f"counts identical for {same:.1%} of places, within 2 for {close:.1%}; load "
          f"average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
