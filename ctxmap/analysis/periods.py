"""Months, periods and incident filters: select incidents, count them by month, compare periods.

The one place for month handling (parsing, ranges, wording), for what the incident filter
offers (months and categories present) and for what a filter keeps and shows.

Months are ``"YYYY-MM"`` strings (as police.uk publishes them). A *period* is an inclusive
pair ``(first_month, last_month)``. The *previous period* of a period is the run of months
of the same length that ends the month before it starts.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

from ctxmap.errors import InputError
from ctxmap.layers.geometry import located_mask

Period = tuple[str, str]

_MONTH_RE = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun",
                "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def parse_month(month: str) -> tuple[int, int]:
    """Return ``(year, month)`` of a ``"YYYY-MM"`` string.

    Raises
    ------
    InputError
        If ``month`` is not of the form ``YYYY-MM`` with a month 01..12.
    """
    match = _MONTH_RE.match(str(month).strip())
    if match is None:
        raise InputError(f"month {month!r} is not a month; expected YYYY-MM, e.g. 2018-12")
    return int(match.group(1)), int(match.group(2))


def month_index(month: str) -> int:
    """Return a month as a count of months since year 0 (so consecutive months differ by 1)."""
    year, mon = parse_month(month)
    return year * 12 + (mon - 1)


def month_from_index(index: int) -> str:
    """Inverse of :func:`month_index`."""
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def month_range(first: str, last: str) -> list[str]:
    """Return every month from ``first`` to ``last`` inclusive.

    Raises
    ------
    InputError
        If either is not ``YYYY-MM`` or ``last`` is before ``first``.
    """
    a, b = month_index(first), month_index(last)
    if b < a:
        raise InputError(f"period {first} to {last} ends before it starts; expected from <= to")
    return [month_from_index(i) for i in range(a, b + 1)]


def format_month(month: str) -> str:
    """Return ``"2018-12"`` as ``"Dec 2018"``."""
    year, mon = parse_month(month)
    return f"{_MONTH_NAMES[mon - 1]} {year}"


def format_period(period: Period) -> str:
    """Return a period in words: ``"Dec 2018 to Feb 2019"``, or ``"Dec 2018"`` for one month."""
    first, last = period
    if month_index(first) == month_index(last):
        return format_month(first)
    return f"{format_month(first)} to {format_month(last)}"


def previous_period(period: Period) -> Period:
    """Return the period of equal length that ends the month before ``period`` starts."""
    a, b = month_index(period[0]), month_index(period[1])
    length = b - a + 1
    return month_from_index(a - length), month_from_index(a - 1)


def check_categories(
    categories: Sequence[str] | None, known: Iterable[str] | None = None
) -> tuple[str, ...] | None:
    """Validate a selection of categories; ``None`` means every category.

    Parameters
    ----------
    categories
        The selection.
    known
        The categories that exist (e.g. the police.uk ones plus those in the data); a
        selected category outside them is an error. ``None`` accepts any name, since
        incidents from other sources (a council's own harm log) have other categories.

    Raises
    ------
    InputError
        If nothing is selected, or a category is not ``known``; the message lists them.
    """
    if categories is None:
        return None
    cats = tuple(dict.fromkeys(str(c).strip() for c in categories if str(c).strip()))
    if not cats:
        raise InputError("no incident types selected; expected at least one")
    if known is not None:
        known = list(dict.fromkeys(known))
        unknown = [c for c in cats if c not in known]
        if unknown:
            raise InputError(
                f"unknown incident type(s): {', '.join(map(repr, unknown))}; "
                f"expected any of: {', '.join(known)}"
            )
    return cats


def select_incidents(
    incidents: gpd.GeoDataFrame,
    period: Period | None = None,
    categories: Sequence[str] | None = None,
) -> gpd.GeoDataFrame:
    """Return the incidents reported in ``period`` whose category is in ``categories``.

    Parameters
    ----------
    incidents
        Incidents layer (columns ``month`` and ``category``). Rows without a location are
        kept (their geometry stays null): callers count them separately.
    period
        Inclusive ``(first, last)`` months, or ``None`` for every month.
    categories
        Categories to keep, or ``None`` for all.

    Returns
    -------
    geopandas.GeoDataFrame
        A filtered copy, with the input's index.
    """
    for col in ("month", "category"):
        if col not in incidents.columns:
            raise InputError(
                f"the incidents have no {col!r} column; expected the incidents layer columns"
            )
    keep = np.ones(len(incidents), dtype=bool)
    if period is not None:
        keep &= text_in(incidents["month"], set(month_range(*period)))
    cats = check_categories(categories)
    if cats is not None:
        keep &= text_in(incidents["category"], set(cats))
    return incidents.loc[keep].copy()


#: What ``astype(str)`` makes of a null value.
_NULL_TEXTS: frozenset[str] = frozenset({"nan", "None", "<NA>", "NaT"})


def text_in(column: pd.Series, wanted: set[str]) -> np.ndarray:
    """Whether each value of ``column``, as text, is one of ``wanted`` (a boolean array).

    The same as ``column.astype(str).isin(wanted)``; a column holding only text (and
    nulls) is tested as it is, without making a text copy (at a million rows the copy
    took most of a selection's time).
    """
    if pd.api.types.infer_dtype(column, skipna=True) in ("string", "empty"):
        hit = np.array(column.isin(wanted), dtype=bool)
        # astype(str) writes nulls as text ("nan", "None", "<NA>"): only then can they match
        if not wanted.isdisjoint(_NULL_TEXTS) and column.hasnans:
            nulls = column.isna().to_numpy()
            hit[nulls] = column[nulls].astype(str).isin(wanted).to_numpy(dtype=bool)
        return hit
    return column.astype(str).isin(wanted).to_numpy(dtype=bool)


def data_period(incidents: gpd.GeoDataFrame) -> Period:
    """Return the first and last month present in ``incidents``.

    Raises
    ------
    InputError
        If there are no incidents (so no period can be inferred).
    """
    months = incidents["month"].dropna().astype(str)
    if months.empty:
        raise InputError("no incidents to take a period from; expected at least one row")
    idx = month_codes(months.to_numpy())
    return month_from_index(int(idx.min())), month_from_index(int(idx.max()))


def month_codes(months: Sequence[str] | np.ndarray | pd.Series) -> np.ndarray:
    """Return :func:`month_index` of each month, vectorised (one parse per distinct month).

    Raises
    ------
    InputError
        If a value is not ``YYYY-MM``.
    """
    codes, uniques = pd.factorize(pd.Series(np.asarray(months, dtype=object)).astype(str))
    lookup = np.array([month_index(m) for m in uniques], dtype=np.int64)
    return lookup[codes] if len(lookup) else np.zeros(0, dtype=np.int64)


def counts_by_month(
    group: np.ndarray, months: np.ndarray, n_groups: int, period: Period
) -> np.ndarray:
    """Count events per group and month.

    Parameters
    ----------
    group
        Group number (0..n_groups-1) of each event.
    months
        ``"YYYY-MM"`` of each event (same length as ``group``).
    n_groups
        Number of groups (rows of the result).
    period
        Months making the columns; events outside it are ignored.

    Returns
    -------
    numpy.ndarray
        ``(n_groups, n_months)`` integer counts.
    """
    first = month_index(period[0])
    n_months = month_index(period[1]) - first + 1
    if len(group) == 0:
        return np.zeros((n_groups, n_months), dtype=np.int64)
    codes = month_codes(months) - first
    ok = (codes >= 0) & (codes < n_months)
    flat = np.bincount(
        np.asarray(group)[ok] * n_months + codes[ok], minlength=n_groups * n_months
    )
    return flat.reshape(n_groups, n_months)


def compare_periods(
    counts: np.ndarray, period: Period, index: pd.Index | None = None
) -> pd.DataFrame:
    """Turn monthly counts over two periods into a trend table.

    Parameters
    ----------
    counts
        ``(n, 2 * k)`` counts per row and month over the previous period followed by
        ``period`` (``k`` months each), as made by :func:`counts_by_month` over
        ``(previous_period(period)[0], period[1])``.
    period
        The current period.
    index
        Row index of the result (default ``0..n-1``).

    Returns
    -------
    pandas.DataFrame
        One column per month of ``period`` (``"YYYY-MM"``), then ``current`` (total over
        ``period``), ``previous`` (total over the previous period of equal length),
        ``change`` (current - previous) and ``change_pct`` (100 * change / previous, NaN
        when previous is 0).
    """
    months = month_range(*period)
    k = len(months)
    if counts.shape[1] != 2 * k:
        raise InputError(
            f"expected {2 * k} monthly columns (previous + current period), got {counts.shape[1]}"
        )
    prev = counts[:, :k].sum(axis=1)
    cur_m = counts[:, k:]
    cur = cur_m.sum(axis=1)
    out = pd.DataFrame(cur_m, columns=months, index=index)
    out["current"] = cur
    out["previous"] = prev
    out["change"] = cur - prev
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = np.where(prev > 0, 100.0 * (cur - prev) / np.where(prev > 0, prev, 1), np.nan)
    out["change_pct"] = pct
    return out


# --------------------------------------------------------------------------- the incident filter


def _is_month(value: str) -> bool:
    """True when ``value`` is a month ``YYYY-MM`` (what :func:`parse_month` accepts)."""
    return _MONTH_RE.match(str(value).strip()) is not None


def months_available(incidents: pd.DataFrame) -> list[str]:
    """Sorted distinct months (``YYYY-MM``) present in ``incidents``."""
    if incidents.empty:
        return []
    months = incidents["month"].dropna().astype(str).unique()
    return sorted(m for m in months if _is_month(m))


def categories_available(incidents: pd.DataFrame) -> list[str]:
    """Sorted distinct categories present in ``incidents``."""
    if incidents.empty:
        return []
    return sorted(incidents["category"].dropna().astype(str).unique().tolist())


def filter_incidents(
    incidents: gpd.GeoDataFrame,
    *,
    months: tuple[str, str] | None = None,
    categories: Sequence[str] | None = None,
) -> gpd.GeoDataFrame:
    """Keep incidents whose month is in the inclusive range and whose category is chosen.

    Parameters
    ----------
    incidents
        Incidents with ``month`` and ``category`` columns (rows with no location kept).
    months
        ``(first, last)`` as ``YYYY-MM``, inclusive; ``None`` keeps every month.
    categories
        Categories to keep; ``None`` keeps every category (an empty list keeps none).

    Returns
    -------
    geopandas.GeoDataFrame
        A filtered copy with the input's index.
    """
    if categories is not None and not list(categories):
        return incidents.iloc[0:0].copy()
    return select_incidents(incidents, months, categories)


@dataclass(frozen=True)
class IncidentSummary:
    """What a filtered incident layer holds.

    Attributes
    ----------
    total
        Incidents matching the filter.
    mapped
        Of those, incidents with a location (drawn on the map).
    unmapped
        Of those, incidents with no location (counted, not mapped).
    by_category
        One row per category: ``category``, ``mapped``, ``no_location``, ``total``,
        largest first.
    """

    total: int
    mapped: int
    unmapped: int
    by_category: pd.DataFrame


def summarise_incidents(incidents: gpd.GeoDataFrame) -> IncidentSummary:
    """Count a (filtered) incident layer: shown, without location, per category."""
    located = pd.Series(located_mask(incidents), index=incidents.index)
    frame = pd.DataFrame({"category": incidents["category"].astype("object"),
                          "mapped": located.astype(int), "no_location": (~located).astype(int)})
    by = frame.groupby("category", dropna=False)[["mapped", "no_location"]].sum()
    by["total"] = by["mapped"] + by["no_location"]
    by = by.sort_values(["total", "mapped"], ascending=False).reset_index()
    mapped = int(located.sum())
    return IncidentSummary(len(incidents), mapped, len(incidents) - mapped, by)
