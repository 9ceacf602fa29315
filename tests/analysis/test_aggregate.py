"""Grid aggregation of incidents: counts, cell size, top categories and months."""

from __future__ import annotations

import numpy as np
import pytest

from ctxmap.analysis.aggregate import aggregate_incidents
from ctxmap.errors import InputError
from ctxmap.layers.crs import to_metric
from tests.maps.test_mapping import _incidents


def test_aggregate_matches_brute_force():
    rng = np.random.default_rng(7)
    n = 400
    cats = list(rng.choice(["Drugs", "Robbery", "Burglary"], n))
    months = list(rng.choice(["2019-01", "2019-02", "2018-12"], n))
    pts = list(zip(rng.uniform(1.25, 1.30, n), rng.uniform(52.60, 52.64, n), strict=True))
    inc = _incidents(pts, categories=cats, months=months)
    cells = aggregate_incidents(inc, max_cells=40, min_cell_m=100)
    assert len(cells) <= 40 and cells.crs == "EPSG:4326"
    size = float(cells["cell_m"].iloc[0])
    metric = to_metric(inc)
    expected: dict[tuple[int, int], list[int]] = {}
    for k, (x, y) in enumerate(zip(metric.geometry.x, metric.geometry.y, strict=True)):
        expected.setdefault((int(np.floor(x / size)), int(np.floor(y / size))), []).append(k)
    assert sorted(cells["count"]) == sorted(len(v) for v in expected.values())
    # the grid is the finest allowed one: the next finer size would exceed max_cells
    if size > 100:
        finer = {
            (int(np.floor(x / (size / 2))), int(np.floor(y / (size / 2))))
            for x, y in zip(metric.geometry.x, metric.geometry.y, strict=True)
        }
        assert len(finer) > 40
    # the biggest cell's top category and month span match a direct count
    top_members = max(expected.values(), key=len)
    biggest = cells.iloc[0]
    assert biggest["count"] == len(top_members)
    member_cats = [cats[k] for k in top_members]
    best = max(set(member_cats), key=lambda c: (member_cats.count(c), [-ord(ch) for ch in c]))
    assert biggest["top_categories"].startswith(f"{best} ({member_cats.count(best)})")
    assert biggest["first_month"] == min(months[k] for k in top_members)
    assert biggest["last_month"] == max(months[k] for k in top_members)


def test_aggregate_rejects_bad_arguments_and_handles_empty():
    inc = _incidents([(1.3, 52.6)])
    with pytest.raises(InputError, match="max_cells"):
        aggregate_incidents(inc, max_cells=0)
    with pytest.raises(InputError, match="min_cell_m"):
        aggregate_incidents(inc, min_cell_m=0)
    assert aggregate_incidents(_incidents([None])).empty
