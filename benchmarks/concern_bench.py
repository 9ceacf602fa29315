"""Benchmark: locations of concern and Gi* on synthetic data; prints timings and peak memory.

Run: python benchmarks/concern_bench.py [--quick]
"""

import resource
import sys
import time

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry import box

from ctxmap.analysis.concern import ConcernParams, rank_places
from ctxmap.analysis.hotspots import gistar_hotspots
from ctxmap.layers.schemas import EXPLOITATION_CATEGORIES, POLICE_UK_CATEGORIES

X0, Y0, SIDE = 600000.0, 300000.0, 20000.0


def maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def make(n_inc: int, n_places: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    # half uniform, half in 50 clusters
    centres = rng.uniform(0, SIDE, (50, 2))
    half = n_inc // 2
    rest = n_inc - half
    clustered = centres[rng.integers(0, 50, rest)] + rng.normal(0, 300, (rest, 2))
    xy = np.vstack([rng.uniform(0, SIDE, (half, 2)), clustered])
    xy = np.clip(xy, 0, SIDE)
    cats = np.array(POLICE_UK_CATEGORIES, dtype=object)[rng.integers(0, 14, n_inc)]
    months = np.array(["2019-01", "2019-02", "2019-03"], dtype=object)[rng.integers(0, 3, n_inc)]
    geom = gpd.points_from_xy(X0 + xy[:, 0], Y0 + xy[:, 1], crs="EPSG:27700")
    inc = gpd.GeoDataFrame({"id": np.arange(n_inc).astype(str), "month": months,
                            "category": cats}, geometry=geom, crs="EPSG:27700")
    pxy = rng.uniform(0, SIDE, (n_places, 2))
    places = gpd.GeoDataFrame(
        {"id": [f"p{k}" for k in range(n_places)], "name": "", "layer": "safe_places"},
        geometry=gpd.points_from_xy(X0 + pxy[:, 0], Y0 + pxy[:, 1]), crs="EPSG:27700")
    return inc, places


def baseline(places, inc, r, cats):
    sel = inc[inc["category"].isin(cats)]
    buf = gpd.GeoDataFrame({"pid": np.arange(len(places))}, geometry=places.buffer(r),
                           crs=places.crs)
    joined = gpd.sjoin(sel[["category", "geometry"]], buf, predicate="intersects")
    table = joined.groupby(["pid", "category"]).size().unstack(fill_value=0)
    return table.reindex(range(len(places)), fill_value=0)


def main() -> None:
    quick = "--quick" in sys.argv
    area = box(X0, Y0, X0 + SIDE, Y0 + SIDE)
    sizes = [(10_000, 100), (100_000, 1_000), (1_000_000, 10_000)]
    if quick:
        sizes = sizes[:2]
    params = ConcernParams(radius_m=400)
    print(f"{'incidents':>10} {'places':>7} {'ctxmap s':>9} {'baseline s':>11} {'same':>5} "
          f"{'maxrss MB':>10}")
    for n, p in sizes:
        inc, places = make(n, p)
        t0 = time.perf_counter()
        out = rank_places(places, inc, area, params)
        t_ours = time.perf_counter() - t0
        rss = maxrss_mb()
        t0 = time.perf_counter()
        base = baseline(places, inc, 400, EXPLOITATION_CATEGORIES)
        t_base = time.perf_counter() - t0
        # baseline buffers are 64-gons (slightly inside the circle), so allow tiny differences
        ours = out.sort_index()["incidents"].to_numpy()
        theirs = base.sum(axis=1).to_numpy()
        same = f"{np.mean(ours == theirs):.3f}"
        print(f"{n:>10} {p:>7} {t_ours:>9.2f} {t_base:>11.2f} {same:>5} {rss:>10.0f}",
              flush=True)
    n = 100_000 if quick else 1_000_000
    inc, _ = make(n, 1)
    t0 = time.perf_counter()
    grid = gistar_hotspots(inc, area, cell_m=250)
    t = time.perf_counter() - t0
    print(f"Gi*: {n} incidents, {len(grid)} cells of 250 m: {t:.2f} s, "
          f"{(grid['gi_bin'] > 0).sum()} hot cells; maxrss {maxrss_mb():.0f} MB")
    print("(ctxmap = rank_places incl. projection, clipping, Poisson test, reasons; "
          "baseline = buffer + sjoin + groupby counting only; 'same' = share of places with "
          "identical counts)")
    pd.set_option("display.width", 120)


if __name__ == "__main__":
    main()
