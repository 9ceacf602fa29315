"""Places recorded more than once: the same building mapped twice, or one OSM object in two layers.

Two place records are the same place when

* they have the same OpenStreetMap id (``node/123``, ``way/45``, ``relation/6``), in any
  layers; or
* their normalised names are equal and non-empty and they lie within ``within_m``
  (default 150 m) of each other (chains merge: A~B and B~C make one place).

Contexts of concern are never merged (each is a case). The record with the smallest id
(then the first in input order) represents a group, so the result does not depend on the
order of the input; the others are listed beside it.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final

import numpy as np
from scipy.cluster.hierarchy import DisjointSet
from scipy.spatial import cKDTree

#: Distance within which two records with the same normalised name are one place, metres.
WITHIN_M: Final = 150.0
_OSM_ID: Final = re.compile(r"^(node|way|relation)/\d+$")
_NOT_WORD: Final = re.compile(r"[^0-9a-z]+")
#: Layers whose records are never merged.
NEVER_MERGED: Final = frozenset({"contexts"})


def normalise_name(name: str) -> str:
    """``"St. Peter's  Church-Hall"`` -> ``"st peter s church hall"``.

    Case-folded, accents removed, ``&`` read as ``and``, every run of other characters
    one space.
    """
    text = unicodedata.normalize("NFKD", str(name)).encode("ascii", "ignore").decode()
    text = text.casefold().replace("&", " and ")
    return _NOT_WORD.sub(" ", text).strip()


def duplicate_groups(
    ids: np.ndarray,
    names: np.ndarray,
    layers: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    within_m: float = WITHIN_M,
) -> np.ndarray:
    """Return, for each record, the position of the record that represents its place.

    Parameters
    ----------
    ids, names, layers
        Each record's id, name and layer (strings).
    x, y
        Metric coordinates (NaN for records with no location: merged by OSM id only).
    within_m
        Greatest distance between two records of the same name that are one place.

    Returns
    -------
    numpy.ndarray
        Integer positions; ``out[k] == k`` for representatives (the smallest id of each group).
    """
    n = len(ids)
    sets = DisjointSet(range(n))
    mergeable = np.array([str(lay) not in NEVER_MERGED for lay in layers], dtype=bool)
    by_id: dict[str, int] = {}
    for k in range(n):
        pid = str(ids[k])
        if mergeable[k] and _OSM_ID.match(pid):
            if pid in by_id:
                sets.merge(by_id[pid], k)
            else:
                by_id[pid] = k
    located = np.isfinite(np.asarray(x, float)) & np.isfinite(np.asarray(y, float))
    by_name: dict[str, list[int]] = {}
    for j in np.flatnonzero(mergeable & located):
        key = normalise_name(names[j])
        if key:
            by_name.setdefault(key, []).append(int(j))
    for members in by_name.values():
        if len(members) < 2:
            continue
        pos = np.asarray(members)
        tree = cKDTree(np.column_stack([np.asarray(x, float)[pos], np.asarray(y, float)[pos]]))
        for a, b in tree.query_pairs(float(within_m)):
            sets.merge(int(pos[a]), int(pos[b]))
    out = np.arange(n)
    for group in sets.subsets():
        first = int(min(group, key=lambda k: (str(ids[k]), int(k))))
        out[list(group)] = first
    return out


__all__ = ["NEVER_MERGED", "WITHIN_M", "duplicate_groups", "normalise_name"]
