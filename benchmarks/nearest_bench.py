"""Benchmark: vectorised nearest-k vs brute force, and multi-source vs per-pair Dijkstra.

Run: python benchmarks/nearest_bench.py   (prints numbers; asserts nothing about speed)
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import geopandas as gpd
import networkx as nx
import numpy as np
from scipy.sparse.csgraph import dijkstra

from ctxmap.nearby.nearest import nearest_k
from ctxmap.nearby.network import WalkNetwork, to_networkx
from ctxmap.nearby.walking import multi_source_walk

E0, N0 = 615000.0, 300000.0
rng = np.random.default_rng(0)


def points(n: int) -> gpd.GeoDataFrame:
    xy = rng.uniform(0, 15000, (n, 2))
    return gpd.GeoDataFrame(
        {"id": [f"p{i:05d}" for i in range(n)]},
        geometry=gpd.points_from_xy(E0 + xy[:, 0], N0 + xy[:, 1]),
        crs="EPSG:27700",
    )


def bench_nearest(n_origins: int = 10_000, n_places: int = 5_000, k: int = 5) -> None:
    origins, places = points(n_origins), points(n_places)
    t = time.perf_counter()
    got = nearest_k(origins, places, k)
    t_vec = time.perf_counter() - t
    ox, oy = origins.geometry.x.to_numpy(), origins.geometry.y.to_numpy()
    px, py = places.geometry.x.to_numpy(), places.geometry.y.to_numpy()
    # Brute force, numpy full distance matrix in blocks of 1,000 origins.
    t = time.perf_counter()
    best = []
    for s in range(0, n_origins, 1000):
        d = np.hypot(ox[s:s + 1000, None] - px[None, :], oy[s:s + 1000, None] - py[None, :])
        best.append(np.sort(d, axis=1)[:, :k])
    t_mat = time.perf_counter() - t
    same = np.allclose(np.concatenate(best).ravel(), got["distance_m"].to_numpy())
    # Brute force, per-row Python loop, on a subset, extrapolated.
    sub = 200
    t = time.perf_counter()
    for i in range(sub):
        d = np.hypot(ox[i] - px, oy[i] - py)
        np.argsort(d, kind="stable")[:k]
    t_loop = (time.perf_counter() - t) * n_origins / sub
    print(f"nearest-k (k={k}) for {n_origins:,} origins among {n_places:,} places")
    print(f"  vectorised KD-tree (ctxmap.nearby.nearest.nearest_k): {t_vec:8.3f} s")
    print(f"  brute force, numpy distance matrix (blocks):   {t_mat:8.3f} s   same answers: {same}")
    print(f"  brute force, per-origin loop (measured on {sub}, extrapolated to "
          f"{n_origins:,}): {t_loop:8.3f} s")


def grid_network(n: int, step: float = 50.0) -> WalkNetwork:
    idx = np.arange(n * n).reshape(n, n)
    u = np.concatenate([idx[:, :-1].ravel(), idx[:-1, :].ravel()])
    v = np.concatenate([idx[:, 1:].ravel(), idx[1:, :].ravel()])
    xs, ys = np.meshgrid(np.arange(n) * step, np.arange(n) * step)
    x, y = xs.ravel().astype(float), ys.ravel().astype(float)
    length = np.hypot(x[u] - x[v], y[u] - y[v]) * rng.uniform(1.0, 1.2, u.size)
    return WalkNetwork("EPSG:27700", x, y, np.arange(n * n), u, v, length)


def bench_walk(n: int = 200, n_sources: int = 100, n_targets: int = 2_000) -> None:
    net = grid_network(n)
    src = rng.choice(net.n_nodes, n_sources, replace=False)
    tgt = rng.choice(net.n_nodes, n_targets, replace=False)
    t = time.perf_counter()
    dist, _ = multi_source_walk(net, net.x[src], net.y[src])
    t_multi = time.perf_counter() - t
    # Per pair with scipy (one Dijkstra per source-target pair, stopped at the target's
    # distance is not available in csgraph, so each pair is a full run): on a subset.
    pairs = 40
    t = time.perf_counter()
    for j in range(pairs):
        dijkstra(net.matrix, directed=False, indices=int(src[j % n_sources]))
    t_pair_scipy = (time.perf_counter() - t) / pairs * n_sources * n_targets
    g = to_networkx(net)
    t = time.perf_counter()
    check = []
    for j in range(pairs):
        s, tg = int(src[j % n_sources]), int(tgt[j])
        check.append(nx.dijkstra_path_length(g, s, tg, weight="length"))
    t_pair_nx = (time.perf_counter() - t) / pairs * n_sources * n_targets
    # Correctness of the multi-source pass on a few targets: min over sources (networkx).
    ok = True
    for tg in tgt[:5]:
        lengths = nx.single_source_dijkstra_path_length(g, int(tg), weight="length")
        ok &= bool(np.isclose(min(lengths[int(s)] for s in src), dist[tg]))
    print(f"walking distance to the nearest of {n_sources} sources for {n_targets:,} targets, "
          f"grid of {net.n_nodes:,} nodes / {net.n_edges:,} edges")
    print(f"  one multi-source Dijkstra (ctxmap.nearby.walking.multi_source_walk): {t_multi:8.3f} s"
          f"   agrees with networkx: {ok}")
    print(f"  per pair, networkx dijkstra_path_length (measured on {pairs} pairs, extrapolated "
          f"to {n_sources * n_targets:,}): {t_pair_nx:10.1f} s")
    print(f"  per pair, scipy full Dijkstra (measured on {pairs}, extrapolated): "
          f"{t_pair_scipy:10.1f} s")


if __name__ == "__main__":
    bench_nearest()
    bench_walk()
