"""Duplicate place records: same OSM id, or the same normalised name within 150 m."""

from __future__ import annotations

import numpy as np

from ctxmap.analysis.duplicates import duplicate_groups, normalise_name


def test_normalise_name():
    assert normalise_name("St. Peter's  Church-Hall") == "st peter s church hall"
    assert normalise_name("Café & Bar") == normalise_name("cafe and bar") == "cafe and bar"
    assert normalise_name("  ") == ""


def test_groups_by_name_distance_chain_and_osm_id():
    ids = np.array(["node/1", "way/2", "node/3", "way/4", "node/5", "ctx-1", "ctx-2", "x", "y",
                    "node/1"])
    names = np.array(["Library", "library.", "LIBRARY", "Library", "Surgery", "Library",
                      "Library", "", "", "Youth club"])
    layers = np.array(["safe_places"] * 5 + ["contexts", "contexts"] + ["homes"] * 2
                      + ["youth_centres"])
    # 0-1: 100 m apart; 1-2: 140 m (chain: 0-2 is 240 m); 3: 151 m from 2; 4: other name;
    # contexts never merge; unnamed records never merge by name; 9 shares 0's OSM id
    x = np.array([0, 100, 240, 391, 0, 0, 1, 5, 5, 5000], dtype=float)
    y = np.zeros(10)
    rep = duplicate_groups(ids, names, layers, x, y)
    assert rep.tolist() == [0, 0, 0, 3, 4, 5, 6, 7, 8, 0]
    # the representative is the smallest id, whatever the order
    order = np.array([9, 2, 1, 0, 3, 4, 5, 6, 7, 8])
    again = duplicate_groups(ids[order], names[order], layers[order], x[order], y[order])
    assert ids[order][again].tolist() == ids[rep][order].tolist()
    # a record with no location merges only by OSM id
    x[9] = np.nan
    assert duplicate_groups(ids, names, layers, x, y)[9] == 0
