from pathlib import Path

import networkx as nx
import numpy as np
import pytest
import shapely

from ctxmap.errors import InputError
from ctxmap.nearby.network import (
    WalkNetwork,
    build_network,
    cache_path,
    is_walkable,
    load_network,
    to_networkx,
)
from ctxmap.nearby.walking import multi_source_walk, reachable_area, walk_from, walk_to_nearest

OSM = Path(__file__).resolve().parents[1] / "data" / "osm"
PBF = OSM / "pyrosm_test.osm.pbf"  # real OSM data (Kouvola, Finland), see LICENSE.md
XML = OSM / "pyrosm_test_subset.osm"


@pytest.fixture(scope="module")
def net(tmp_path_factory):
    return load_network(PBF, cache_dir=tmp_path_factory.mktemp("cache"))


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


def test_real_pbf_loads(net):
    assert net.crs == "EPSG:32635"  # UTM 35N: the extract is in Finland
    assert net.n_nodes > 1000 and net.n_edges >= net.n_nodes - 1
    assert (net.edge_len > 0).all()
    g = to_networkx(net)
    assert nx.is_connected(g)  # only the largest connected part is kept


def test_cache_is_written_and_reused(tmp_path):
    first = load_network(PBF, cache_dir=tmp_path)
    cached = cache_path(PBF, tmp_path)
    assert cached.is_file() and cached.suffix == ".npz"
    stamp = cached.stat().st_mtime_ns
    second = load_network(PBF, cache_dir=tmp_path)
    assert cached.stat().st_mtime_ns == stamp
    np.testing.assert_array_equal(first.edge_len, second.edge_len)
    assert second.crs == first.crs and second.source == "pyrosm_test.osm.pbf"
    cached.write_bytes(b"damaged")  # a broken cache is rebuilt, not trusted
    third = load_network(PBF, cache_dir=tmp_path)
    np.testing.assert_array_equal(first.osm_ids, third.osm_ids)


def test_osm_xml_loads_and_agrees_with_pbf(net):
    sub = build_network(XML)
    assert sub.crs == net.crs and 100 < sub.n_nodes < net.n_nodes
    # Every node of the XML cut is a node of the same real network with the same place.
    pos = {int(o): i for i, o in enumerate(net.osm_ids)}
    common = [i for i, o in enumerate(sub.osm_ids) if int(o) in pos]
    assert len(common) > 0.9 * sub.n_nodes
    j = [pos[int(sub.osm_ids[i])] for i in common]
    np.testing.assert_allclose(sub.x[common], net.x[j])


def test_bad_files(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        load_network(tmp_path / "none.osm.pbf")
    junk = tmp_path / "junk.osm.pbf"
    junk.write_bytes(b"this is not OSM")
    with pytest.raises(InputError, match="could not be read"):
        build_network(junk)
    empty = tmp_path / "empty.osm"
    empty.write_text("<?xml version='1.0'?><osm version='0.6'>"
                     "<node id='1' lat='52.6' lon='1.3'/></osm>")
    with pytest.raises(InputError, match="no walkable street"):
        build_network(empty)


@pytest.mark.parametrize("tags,ok", [
    ({"highway": "residential"}, True),
    ({"highway": "footway"}, True),
    ({"highway": "cycleway"}, True),
    ({"highway": "cycleway", "foot": "no"}, False),
    ({"highway": "motorway"}, False),
    ({"highway": "construction"}, False),
    ({"highway": "service", "access": "private"}, False),
    ({"highway": "service", "access": "private", "foot": "yes"}, True),
    ({"highway": "pedestrian", "area": "yes"}, False),
    ({"building": "yes"}, False),
])
def test_is_walkable(tags, ok):
    assert is_walkable(tags) is ok


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


def test_build_reports_progress(tmp_path):
    seen: list[tuple[str, int]] = []
    net = load_network(PBF, cache_dir=tmp_path,
                       progress=lambda stage, n: seen.append((stage, n)))
    stages = dict(seen)
    assert stages["ways read"] > 0 and stages["walkable segments"] > 0
    assert net.osm_ids.size > 0
    seen.clear()
    load_network(PBF, cache_dir=tmp_path, progress=lambda stage, n: seen.append((stage, n)))
    assert seen == []  # from the cache: nothing to build
