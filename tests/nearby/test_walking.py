"""Walks over the network: Dijkstra against networkx and brute force, clamping, areas."""

import networkx as nx
import numpy as np
import pytest
import shapely

from ctxmap.nearby.network import WalkNetwork, to_networkx
from ctxmap.nearby.walking import multi_source_walk, reachable_area, walk_from, walk_to_nearest


def grid(n=3, step=100.0):
    """A hand-built n x n street grid (synthetic), nodes numbered row by row."""
    xs, ys = np.meshgrid(np.arange(n) * step, np.arange(n) * step)
    u, v = [], []
    for r in range(n):
        for c in range(n):
            i = r * n + c
            if c + 1 < n:
                u.append(i)
                v.append(i + 1)
            if r + 1 < n:
                u.append(i)
                v.append(i + n)
    u, v = np.array(u), np.array(v)
    x, y = xs.ravel().astype(float), ys.ravel().astype(float)
    return WalkNetwork("EPSG:27700", x, y, np.arange(n * n), u, v,
                       np.hypot(x[u] - x[v], y[u] - y[v]))


def test_walk_from_matches_networkx(net):
    g = to_networkx(net)
    rng = np.random.default_rng(3)
    o = rng.integers(net.n_nodes)
    targets = rng.integers(0, net.n_nodes, 15)
    ox, oy = net.x[o] + 7.0, net.y[o] - 3.0
    tx, ty = net.x[targets] + 2.0, net.y[targets]
    res = walk_from(net, (ox, oy), tx, ty)

    def snap(x, y):  # brute force: nearest node by full distance scan
        d = np.hypot(net.x - x, net.y - y)
        return int(np.argmin(d)), float(d.min())

    o_node, o_snap = snap(ox, oy)
    t_snaps = [snap(x, y) for x, y in zip(tx, ty, strict=True)]
    lengths = nx.single_source_dijkstra_path_length(g, o_node, weight="length")
    want_net = np.array([lengths[t] for t, _ in t_snaps])
    np.testing.assert_allclose(res.network_m, want_net, rtol=1e-9)
    want = np.maximum(o_snap + want_net + np.array([d for _, d in t_snaps]),
                      np.hypot(tx - ox, ty - oy))
    np.testing.assert_allclose(res.walk_m, want, rtol=1e-9)
    assert (res.walk_m >= res.straight_m).all()
    for route, x, y, w in zip(res.routes, tx, ty, res.walk_m, strict=True):
        assert route.coords[0] == pytest.approx((ox, oy))
        assert route.coords[-1] == pytest.approx((x, y))
        assert route.length == pytest.approx(w, rel=1e-9) or route.length > w


def test_grid_walk_and_clamp():
    g = grid()
    res = walk_from(g, (0.0, 0.0), np.array([200.0, 50.0]), np.array([200.0, 0.0]))
    np.testing.assert_allclose(res.walk_m, [400.0, 50.0])  # (50,0) snaps 50 m to node (0,0)
    assert res.routes[0].length == pytest.approx(400.0)
    # A network 'shortcut' shorter than the straight line is never reported.
    tunnel = WalkNetwork("EPSG:27700", np.array([0.0, 1000.0]), np.array([0.0, 0.0]),
                         np.array([1, 2]), np.array([0]), np.array([1]), np.array([1.0]))
    short = walk_from(tunnel, (0.0, 0.0), np.array([1000.0]), np.array([0.0]))
    assert short.network_m[0] == 1.0 and short.walk_m[0] == 1000.0


def test_multi_source_matches_brute_force(net):
    g = to_networkx(net)
    rng = np.random.default_rng(11)
    src = rng.integers(0, net.n_nodes, 5)
    sx, sy = net.x[src] + rng.uniform(-20, 20, 5), net.y[src] + rng.uniform(-20, 20, 5)
    dist, nearest = multi_source_walk(net, sx, sy)
    snapped = [int(net.tree.query([x, y])[1]) for x, y in zip(sx, sy, strict=True)]
    snaps = np.hypot(sx - net.x[snapped], sy - net.y[snapped])
    per_source = [nx.single_source_dijkstra_path_length(g, s, weight="length") for s in snapped]
    check = rng.integers(0, net.n_nodes, 40)
    for node in check:
        options = [snaps[i] + per_source[i][int(node)] for i in range(5)]
        assert dist[node] == pytest.approx(min(options), rel=1e-9)
        assert options[nearest[node]] == pytest.approx(min(options), rel=1e-9)
    walk, chosen = walk_to_nearest(net, sx, sy, net.x[check], net.y[check])
    np.testing.assert_allclose(walk, np.maximum(dist[check], 0), rtol=1e-9)
    assert (walk >= np.hypot(net.x[check] - sx[chosen], net.y[check] - sy[chosen]) - 1e-9).all()


def test_reachable_area_on_grid():
    g = grid(5, 100.0)
    area = reachable_area(g, np.array([0.0]), np.array([0.0]), 250.0, buffer_m=10.0)
    assert area.contains(shapely.Point(200, 0))  # 200 m along the street
    assert area.contains(shapely.Point(100, 140))  # 100 + 40 along the streets
    assert not area.contains(shapely.Point(200, 100))  # 300 m walk, though 224 m away
    assert not area.contains(shapely.Point(50, 50))  # inside a block, far from a street
    assert reachable_area(g, np.array([]), np.array([]), 250.0).is_empty
