"""Shared fixtures of the nearby tests: the walking network of a real OSM extract."""

from pathlib import Path

import pytest

from ctxmap.nearby.network import load_network

PBF = Path(__file__).resolve().parents[1] / "data" / "osm" / "pyrosm_test.osm.pbf"


@pytest.fixture(scope="module")
def net(tmp_path_factory):
    return load_network(PBF, cache_dir=tmp_path_factory.mktemp("cache"))
