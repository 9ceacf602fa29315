from pathlib import Path

import networkx as nx
import numpy as np
import pytest

from ctxmap.errors import InputError
from ctxmap.nearby.network import (
    build_network,
    cache_path,
    is_walkable,
    load_network,
    to_networkx,
)

OSM = Path(__file__).resolve().parents[1] / "data" / "osm"
PBF = OSM / "pyrosm_test.osm.pbf"  # real OSM data (Kouvola, Finland), see LICENSE.md
XML = OSM / "pyrosm_test_subset.osm"


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
