"""How deeply a JSON text nests, found without parsing it (so without recursing).

Python's :mod:`json` recurses once per level: a file of ``[`` repeated 100,000 times, or a
GeometryCollection nested 3,000 deep, raises ``RecursionError`` instead of an answer.
:func:`too_deep` finds, vectorised with numpy, the first place a text nests deeper than
a limit, so the reader can refuse it with a message naming the line, the column and
(inside a FeatureCollection) the feature.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

import numpy as np

#: Deepest nesting a GeoJSON file is read with (a MultiPolygon in a FeatureCollection
#: needs 7; GeometryCollections add 2 levels each).
MAX_JSON_DEPTH: Final = 128
#: GeometryCollections nested deeper than this are refused (GeoJSON advises against any).
MAX_COLLECTION_DEPTH: Final = 16
#: A JSON string literal (its brackets do not nest).
_STRING: Final = re.compile(rb'"(?:[^"\\]|\\.)*"', re.S)


@dataclass(frozen=True)
class DeepJson:
    """Where a JSON text first nests deeper than the limit.

    Parameters
    ----------
    depth
        The deepest nesting anywhere in the text.
    line, column
        1-based line and column where the limit is first passed.
    feature
        1-based feature number when the place is inside the ``features`` array of a
        top-level object, else ``None``.
    unclosed
        How many arrays/objects are still open at the end of the text.
    geometry_collections
        How many ``"GeometryCollection"`` strings come before the place.
    """

    depth: int
    line: int
    column: int
    feature: int | None
    unclosed: int
    geometry_collections: int


def too_deep(text: str, limit: int = MAX_JSON_DEPTH) -> DeepJson | None:
    """Return where ``text`` nests deeper than ``limit`` levels, or None if it does not."""
    raw = text.encode("utf-8")
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return None
    # blank out string literals (same length) so brackets inside strings do not count
    blanked = _STRING.sub(lambda m: b'"' + b" " * (len(m.group()) - 2) + b'"', raw)
    codes = np.frombuffer(blanked, dtype=np.uint8)
    step = (np.isin(codes, (ord("["), ord("{"))).astype(np.int32)
            - np.isin(codes, (ord("]"), ord("}"))).astype(np.int32))
    depth = np.cumsum(step)
    over = np.flatnonzero(depth > limit)
    if not len(over):
        return None
    at = int(over[0])
    line = raw.count(b"\n", 0, at) + 1
    column = len(raw[raw.rfind(b"\n", 0, at) + 1 : at + 1].decode("utf-8", "replace"))
    # features of a FeatureCollection open at depth 3: {"features": [ {...}, {...} ] }
    feature_opens = (codes[:at] == ord("{")) & (depth[:at] == 3)
    in_features = b'"features"' in raw[:at] and bool(feature_opens.any())
    return DeepJson(
        depth=int(depth.max()),
        line=line,
        column=column,
        feature=int(feature_opens.sum()) if in_features else None,
        unclosed=int(depth[-1]),
        geometry_collections=text[:at].count('"GeometryCollection"'),
    )


def deep_json_message(deep: DeepJson, limit: int = MAX_JSON_DEPTH) -> str:
    """A message for a person: what nests too deeply, where, and what was expected."""
    where = f"at line {deep.line}, column {deep.column}"
    if deep.geometry_collections >= limit // 4:
        return (f"the geometry is a GeometryCollection nested about "
                f"{deep.depth // 2:,} levels deep ({where}); expected a Point, LineString "
                f"or Polygon geometry (GeometryCollections nested at most "
                f"{MAX_COLLECTION_DEPTH} deep)")
    if deep.unclosed >= limit:
        return (f"the JSON opens {deep.depth:,} nested arrays or objects ({where} it is "
                f"already {limit} deep) and {deep.unclosed:,} are never closed; expected a "
                "GeoJSON FeatureCollection (a few levels deep)")
    return (f"the JSON nests {deep.depth:,} levels deep ({where} it passes {limit}); "
            "expected a GeoJSON FeatureCollection (a few levels deep)")
