"""Benchmark: fit the risk-terrain model on 1,000,000 incidents and 10,000 cells.

A synthetic town in British National Grid: a 20 km square study area (10,000 cells of
200 m), 12 feature groups of 300 points each, and 1,000,000 incidents drawn from a
negative binomial model in which three of the groups raise the risk. Prints the time of
each step and of the whole fit (counting the incidents into cells, building the
candidate factors, selecting and fitting), and the relative risks recovered.

Run: ``python benchmarks/risk_terrain_bench.py [--incidents N]``.
"""

from __future__ import annotations

import argparse
import time

import geopandas as gpd
import numpy as np
import shapely

from ctxmap.analysis.areas import StudyArea
from ctxmap.analysis.risk_grid import build_grid, proximity_candidates
from ctxmap.analysis.risk_terrain import fit_risk_terrain

X0, Y0, SIDE = 620_000.0, 300_000.0, 20_000.0
TRUE_RR = {"g0": 2.0, "g1": 1.5, "g2": 1.3}


def synthetic(n_incidents: int, seed: int = 7) -> tuple[StudyArea, gpd.GeoDataFrame, np.ndarray,
                                                        np.ndarray]:
    """The study area, the features and incident coordinates (metric)."""
    rng = np.random.default_rng(seed)
    area = StudyArea(shapely.box(X0, Y0, X0 + SIDE, Y0 + SIDE), "EPSG:27700")
    groups = np.repeat([f"g{i}" for i in range(12)], 300)
    fx = rng.uniform(X0, X0 + SIDE, len(groups))
    fy = rng.uniform(Y0, Y0 + SIDE, len(groups))
    features = gpd.GeoDataFrame({"group": groups}, geometry=shapely.points(fx, fy),
                                crs="EPSG:27700")
    grid = build_grid(area, 200.0)
    risk = np.zeros(len(grid))
    for cand in proximity_candidates(grid, features, (200.0,)):
        if cand.group in TRUE_RR:
            risk += np.log(TRUE_RR[cand.group]) * cand.values
    weight = np.exp(risk) * rng.gamma(2.0, 0.5, len(grid))
    cell = rng.choice(len(grid), size=n_incidents, p=weight / weight.sum())
    cx, cy = grid.centres()
    ix = cx[cell] + rng.uniform(-100, 100, n_incidents)
    iy = cy[cell] + rng.uniform(-100, 100, n_incidents)
    return area, features, ix, iy


def main() -> None:
    """Run the benchmark and print the timings."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--incidents", type=int, default=1_000_000)
    args = parser.parse_args()
    area, features, ix, iy = synthetic(args.incidents)
    t0 = time.perf_counter()
    grid = build_grid(area, 200.0)
    t1 = time.perf_counter()
    model = fit_risk_terrain(grid, ix, iy, features, distances=(200.0, 400.0))
    t2 = time.perf_counter()
    print(f"cells: {len(grid):,}; incidents: {len(ix):,}")
    print(f"grid built in {t1 - t0:.2f} s")
    print(f"model fitted in {t2 - t1:.2f} s (count, candidates, selection, NB fit)")
    print(f"total {t2 - t0:.2f} s (target <= 10 s)")
    print(model.reason)
    for f in model.factors:
        truth = TRUE_RR.get(f.group, 1.0)
        print(f"  {f.label}: RR {f.relative_risk:.3f} (true {truth:g})")


if __name__ == "__main__":
    main()
