"""Disclosure control: the one place that decides which counts a shared output may show.

Every shared output (the meeting view's map page, its tables and metrics, a partner's
meeting pack) takes its counts through this module, so the rules of
``docs/privacy.md`` hold the same way everywhere:

- **Floors.** The small-count threshold is never below :data:`MIN_THRESHOLD` (3) and
  a mask square never smaller than :data:`MIN_CELL_M` (100 m): :func:`check_threshold`
  and :func:`check_cell_m` refuse lower values with a message saying why.
- **Small counts.** A count from 1 to ``threshold - 1`` is never shown
  (:func:`suppress`; shown as :func:`hidden_text`, e.g. "fewer than 5").
- **Rounding.** A count in a table that also shows totals, or a count around a
  sensitive place (a home, a context), is rounded to :func:`rounding_base` (5, or the
  threshold when it is larger) after the small ones are hidden (:func:`protect`).
  Totals are rounded from the exact totals, never summed from the rounded cells, so a
  hidden cell cannot be recovered by subtraction (secondary protection by rounding:
  the figures of a table may not add up exactly, and the tables say so).
- **Bands.** Counts about a home or a context in a partner's pack are shown as bands
  (:func:`band`: "fewer than 5", "5 to 9", "10 to 19", "20 to 49", "100 to 199", ...),
  wider than rounding.
- **Ranges over the square, not counts at a point.** For a home, a partner's pack shows
  the range of the counts within the radius of *every* point of the home's shown square
  (:func:`square_ranges`, :func:`range_text`), and the places that are among the
  nearest to *some* point of the square, alphabetically and without distances
  (:func:`unordered_places`). What the pack shows is the same wherever the home lies
  in its square, and every point of the square is consistent with it.
"""

from __future__ import annotations

import math
from typing import Final

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry.base import BaseGeometry

from ctxmap.errors import InputError
from ctxmap.layers.crs import analysis_crs
from ctxmap.layers.schemas import STORAGE_CRS
from ctxmap.settings import MIN_MASK_CELL_M, MIN_SMALL_COUNT_THRESHOLD

#: The lowest small-count threshold any shared output may use.
MIN_THRESHOLD: Final = MIN_SMALL_COUNT_THRESHOLD
#: The smallest mask square any shared output may use, in metres.
MIN_CELL_M: Final = MIN_MASK_CELL_M
#: Counts are rounded to a multiple of this (or of the threshold when it is larger).
ROUND_TO: Final = 5


def check_threshold(value: object, what: str = "the small-count threshold") -> int:
    """Return ``value`` as the threshold, or raise InputError when it is below the floor.

    Raises
    ------
    InputError
        If ``value`` is not a whole number, or is below :data:`MIN_THRESHOLD` (the
        message says a count of 1 or 2 could point at one person).
    """
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise InputError(f"{what} is {value!r}; expected a whole number >= {MIN_THRESHOLD}")
    if int(value) < MIN_THRESHOLD:
        raise InputError(
            f"{what} is {value!r}; expected a whole number >= {MIN_THRESHOLD} (a shared "
            "view must never show a count of 1 or 2: it could point at one person)")
    return int(value)


def check_cell_m(value: object, what: str = "the mask square") -> float:
    """Return ``value`` as a square side in metres, or raise InputError below the floor.

    Raises
    ------
    InputError
        If ``value`` is not a finite number of metres >= :data:`MIN_CELL_M`.
    """
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        number = math.nan
    if isinstance(value, bool) or not math.isfinite(number) or number < MIN_CELL_M:
        raise InputError(
            f"{what} is {value!r} m; expected at least {MIN_CELL_M:g} m (a smaller square "
            "could show where a home is)")
    return number


def rounding_base(threshold: int) -> int:
    """The multiple counts are rounded to: :data:`ROUND_TO`, or the threshold if larger."""
    return max(ROUND_TO, int(threshold))


def hidden_text(threshold: int) -> str:
    """What a suppressed count shows instead, e.g. ``"fewer than 5"``."""
    return f"fewer than {int(threshold)}"


def _counts(values: object) -> pd.Series:
    series = values if isinstance(values, pd.Series) else pd.Series(values)
    try:
        numbers = pd.to_numeric(series, errors="raise")
    except (TypeError, ValueError) as exc:
        raise InputError(f"counts must be numbers: {exc}") from None
    present = numbers.dropna()
    bad = present[(present < 0) | (present != np.floor(present))]
    if len(bad):
        raise InputError(f"counts must be whole numbers >= 0, got {bad.iloc[0]!r} "
                         f"(index {bad.index[0]!r})")
    return numbers.astype("Int64")


def suppress(counts: object, threshold: int) -> pd.Series:
    """Hide every count from 1 to ``threshold - 1`` (primary suppression).

    For counts on a fixed public grid that no shown total sums up (the meeting map's
    squares). Anything with totals, or around a sensitive place, uses :func:`protect`.

    Returns
    -------
    Series
        ``Int64``, same index and name; hidden counts are ``<NA>`` (0 stays 0).
    """
    t = check_threshold(threshold)
    values = _counts(counts)
    small = ((values >= 1) & (values < t)).fillna(False)
    return values.mask(small, pd.NA)


def protect(counts: object, threshold: int) -> pd.Series:
    """Hide counts from 1 to ``threshold - 1`` and round every other to :func:`rounding_base`.

    Rounding is to the nearest multiple, halves up (7 shows as 5, 8 as 10); a count of
    at least the threshold never shows below it. Use it for every count of a table that
    also shows totals (pass the totals through it too, from their exact values) and
    every count around a home or a context.

    Returns
    -------
    Series
        ``Int64``, same index and name; hidden counts are ``<NA>``.
    """
    t = check_threshold(threshold)
    base = rounding_base(t)
    values = _counts(counts)
    rounded = ((2 * values + base) // (2 * base)) * base
    rounded = rounded.where(~((values >= t) & (rounded < t)).fillna(False), t)
    small = ((values >= 1) & (values < t)).fillna(False)
    return rounded.mask(small, pd.NA)


def protect_table(table: pd.DataFrame, columns: list[str] | tuple[str, ...],
                  threshold: int) -> pd.DataFrame:
    """Return ``table`` with each count column passed through :func:`protect`.

    Totals must be rows or columns of ``table`` computed from the exact counts before
    this call; they are rounded like every other cell.
    """
    out = table.copy()
    for column in columns:
        out[column] = protect(out[column], threshold)
    return out


#: Columns of :func:`protect_summary`, in order.
SUMMARY_COLUMNS: Final = ("Type", "Mapped", "No location", "Total")
#: The label of the table's total row.
ALL_TYPES: Final = "All types"


def protect_summary(by_category: pd.DataFrame, threshold: int) -> pd.DataFrame:
    """The per-type incident table of a shared view, protected, as text.

    Parameters
    ----------
    by_category
        ``category, mapped, no_location, total`` (exact counts; e.g.
        :attr:`ctxmap.analysis.incident_index.IncidentSummary.by_category`).
    threshold
        The small-count threshold (at least :data:`MIN_THRESHOLD`).

    Returns
    -------
    DataFrame
        Columns :data:`SUMMARY_COLUMNS`: one row per type, then an :data:`ALL_TYPES`
        row with the exact totals; every count (the "No location" column and the totals
        included) through :func:`protect` and shown as text, so no count of 1 to
        ``threshold - 1`` is shown and a hidden cell cannot be recovered from the totals.
        The metrics above a shared table take their figures from its last row.
    """
    needed = ["category", "mapped", "no_location", "total"]
    missing = [c for c in needed if c not in by_category.columns]
    if missing:
        raise InputError(f"the incident summary lacks columns {missing}; expected {needed}")
    exact = by_category[needed].copy()
    exact["category"] = exact["category"].map(
        lambda v: v if isinstance(v, str) and v else "(no type)")
    totals = pd.DataFrame({"category": [ALL_TYPES],
                           **{c: [int(exact[c].sum())] for c in needed[1:]}})
    table = pd.concat([exact, totals], ignore_index=True)
    out = pd.DataFrame({SUMMARY_COLUMNS[0]: table["category"].astype(object)})
    for column, name in zip(needed[1:], SUMMARY_COLUMNS[1:], strict=True):
        out[name] = shown_text(protect(table[column], threshold), threshold).to_numpy()
    return out


def shown_text(counts: pd.Series, threshold: int) -> pd.Series:
    """Counts from :func:`suppress` or :func:`protect` as text for people.

    Hidden counts read :func:`hidden_text`; others ``"1,234"``.
    """
    hidden = hidden_text(threshold)
    return pd.Series([hidden if pd.isna(v) else f"{int(v):,}" for v in counts],
                     index=counts.index, name=counts.name, dtype=object)


def band_edges(threshold: int, largest: int) -> list[int]:
    """Lower edges of the bands of :func:`band`: 0, the threshold, then 10, 20, 50, 100, ...

    The 1-2-5 sequence above the threshold, up to the first edge beyond ``largest``.
    """
    t = check_threshold(threshold)
    edges, scale = [0, t], 1
    while edges[-1] <= max(int(largest), t):
        for step in (10, 20, 50):
            edge = step * scale
            if edge > edges[-1]:
                edges.append(edge)
        scale *= 10
    return edges


def band(counts: object, threshold: int) -> pd.Series:
    """Counts around a sensitive place as bands of text, e.g. ``"100 to 199"``.

    0 stays ``"0"``; 1 to ``threshold - 1`` read :func:`hidden_text`; above, the band
    between two edges of :func:`band_edges`. Wider than :func:`protect`'s rounding:
    a band changes only where a count crosses 10, 20, 50, 100, ... so a count moving
    with a hypothetical home rarely changes band.

    Returns
    -------
    Series
        Text, same index and name.
    """
    t = check_threshold(threshold)
    values = _counts(counts)
    present = values.dropna()
    edges = band_edges(t, int(present.max()) if len(present) else 0)
    out = []
    for v in values:
        if pd.isna(v):
            out.append(hidden_text(t))
        elif v == 0:
            out.append("0")
        elif v < t:
            out.append(hidden_text(t))
        else:
            k = int(np.searchsorted(edges, int(v), side="right")) - 1
            out.append(f"{edges[k]:,} to {edges[k + 1] - 1:,}")
    return pd.Series(out, index=values.index, name=values.name, dtype=object)


#: Spacing of the points where :func:`square_ranges` evaluates counts, metres.
RANGE_STEP_M: Final = 5.0


def square_points(bounds: tuple[float, float, float, float],
                  step: float = RANGE_STEP_M) -> np.ndarray:
    """Points of a square (metric ``minx, miny, maxx, maxy``) on a ``step`` grid, edges included."""
    minx, miny, maxx, maxy = (float(b) for b in bounds)
    xs = np.unique(np.append(np.arange(minx, maxx, step), maxx))
    ys = np.unique(np.append(np.arange(miny, maxy, step), maxy))
    gx, gy = np.meshgrid(xs, ys)
    return np.column_stack([gx.ravel(), gy.ravel()])


def square_ranges(bounds: tuple[float, float, float, float],
                  points: dict[str, np.ndarray], radius_m: float,
                  step: float = RANGE_STEP_M) -> pd.DataFrame:
    """The smallest and largest count within ``radius_m`` of any point of a square.

    A partner's pack shows, for a home, these ranges instead of the home's own counts:
    every point of the square the home may lie in has its count inside the range, so
    the range says nothing about where in the square the home is.

    Parameters
    ----------
    bounds
        The shown square, ``minx, miny, maxx, maxy`` in a metric CRS.
    points
        Incident coordinates (metric, shape ``(n, 2)``) per key, e.g. per type.
    radius_m
        The counting radius.
    step
        Spacing of the evaluation grid (edges included); ranges are then widened to
        multiples of :data:`ROUND_TO` by :func:`range_text`.

    Returns
    -------
    DataFrame
        Index: the keys, then ``"total"`` (all keys together); columns ``low``, ``high``.
    """
    from scipy.spatial import cKDTree

    grid = square_points(bounds, step)
    rows: dict[str, tuple[int, int]] = {}
    total = np.zeros(len(grid), dtype=np.int64)
    for key, xy in points.items():
        arr = np.asarray(xy, dtype=float).reshape(-1, 2)
        counts = (np.asarray(cKDTree(arr).query_ball_point(grid, r=float(radius_m),
                                                           return_length=True))
                  if len(arr) else np.zeros(len(grid), dtype=np.int64))
        total += counts
        rows[key] = (int(counts.min()), int(counts.max()))
    rows["total"] = (int(total.min()), int(total.max()))
    return pd.DataFrame.from_dict(rows, orient="index", columns=["low", "high"])


def nearest_anywhere(bounds: tuple[float, float, float, float], places: np.ndarray, k: int,
                     step: float = RANGE_STEP_M) -> np.ndarray:
    """Positions of the places among the ``k`` nearest to *some* point of a square.

    A partner's pack lists these (alphabetically, without distances) instead of the
    home's own nearest places: the list is the same wherever the home is in the square.
    """
    from scipy.spatial import cKDTree

    arr = np.asarray(places, dtype=float).reshape(-1, 2)
    if len(arr) == 0 or k < 1:
        return np.array([], dtype=np.int64)
    kk = min(int(k), len(arr))
    _, idx = cKDTree(arr).query(square_points(bounds, step), k=kk)
    return np.unique(np.asarray(idx).reshape(-1))


def range_text(low: int, high: int, threshold: int) -> str:
    """A range of counts for people, widened outwards to multiples of 5, small ends hidden.

    ``(12, 31)`` reads ``"10 to 35"``; a range whose top is below the threshold reads
    ``"fewer than 5"``; one whose bottom is below it, ``"up to 15"``; ``(0, 0)``, ``"0"``.
    """
    t = check_threshold(threshold)
    lo = (int(low) // ROUND_TO) * ROUND_TO
    hi = -(-int(high) // ROUND_TO) * ROUND_TO
    if int(high) == 0:
        return "0"
    if int(high) < t:
        return hidden_text(t)
    if lo < t:
        return f"up to {hi:,}"
    return f"{lo:,} to {hi:,}"


def neighbourhood(geometry: BaseGeometry, radius_m: float) -> BaseGeometry:
    """Return ``geometry`` grown by ``radius_m`` metres (EPSG:4326 in and out).

    A partner's pack counts incidents and finds places over the neighbourhood of a home's
    *shown square*: it is the same for every point of the square.

    Raises
    ------
    InputError
        If the geometry is missing or empty, or ``radius_m`` is not a positive number.
    """
    if geometry is None or geometry.is_empty:
        raise InputError("neighbourhood: expected a geometry, got none")
    radius = float(radius_m)
    if not (math.isfinite(radius) and radius > 0):
        raise InputError(f"neighbourhood: radius {radius_m!r} m; expected metres > 0")
    series = gpd.GeoSeries([geometry], crs=STORAGE_CRS)
    crs = analysis_crs(gpd.GeoDataFrame(geometry=series))
    return series.to_crs(crs).buffer(radius, 64).to_crs(STORAGE_CRS).iloc[0]


def unordered_places(names: pd.Series | list[object]) -> list[str]:
    """Place names sorted alphabetically (case-insensitive), unnamed ones last, no duplicates.

    A list in distance order would rank distances from a masked place; this one does not.
    """
    cleaned = {str(n).strip() if isinstance(n, str) and str(n).strip() else "unnamed place"
               for n in list(names)}
    return sorted(cleaned, key=lambda n: (n == "unnamed place", n.casefold(), n))
