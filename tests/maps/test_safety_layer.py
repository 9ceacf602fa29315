"""The safety map's drawing: RAG circles with escaped labels, and the legend's counts."""

from __future__ import annotations

from ctxmap.cases.safety_map import pool_by_place
from ctxmap.maps.safety_layer import safety_legend, safety_map_group
from tests.cases.test_safety_map import _ratings, _render


def test_labels_are_escaped_on_the_map() -> None:
    evil = '<img src=x onerror="alert(1)">'
    group = safety_map_group(pool_by_place(_ratings([(evil, "red", 1.3, 52.6)])))
    html = _render(group)
    assert "<img src=x" not in html and "&lt;img" in html


def test_legend_counts_places_per_colour() -> None:
    pooled = pool_by_place(_ratings([("A", "red", 1.3, 52.6), ("B", "green", 1.4, 52.6)]))
    legend = dict((e.key, d) for e, d in safety_legend(pooled))
    assert legend == {"rag_red": "1 place(s)", "rag_amber": "0 place(s)",
                      "rag_green": "1 place(s)"}
