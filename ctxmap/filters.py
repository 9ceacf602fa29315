"""Filter incidents by month range and category, and summarise what a filter shows."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import geopandas as gpd
import pandas as pd

from ctxmap.errors import InputError

_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def check_month(value: str, what: str = "month") -> str:
    """Return ``value`` if it is ``YYYY-MM``; else raise :class:`InputError`."""
    if not isinstance(value, str) or not _MONTH.match(value):
        raise InputError(f"{what} {value!r} is not a month; expected YYYY-MM, e.g. 2019-01")
    return value


def months_available(incidents: pd.DataFrame) -> list[str]:
    """Sorted distinct months (``YYYY-MM``) present in ``incidents``."""
    if incidents.empty:
        return []
    months = incidents["month"].dropna().astype(str)
    return sorted({m for m in months if _MONTH.match(m)})


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
    keep = pd.Series(True, index=incidents.index)
    if months is not None:
        first, last = (check_month(m, w) for m, w in zip(months, ("from", "to"), strict=True))
        if first > last:
            raise InputError(f"month range {first} to {last} is empty; expected from <= to")
        month = incidents["month"].astype("object")
        keep &= month.notna() & (month >= first) & (month <= last)
    if categories is not None:
        keep &= incidents["category"].isin(list(categories))
    return incidents[keep].copy()


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
    located = incidents.geometry.notna() & ~incidents.geometry.is_empty
    frame = pd.DataFrame({"category": incidents["category"].astype("object"),
                          "mapped": located.astype(int), "no_location": (~located).astype(int)})
    by = frame.groupby("category", dropna=False)[["mapped", "no_location"]].sum()
    by["total"] = by["mapped"] + by["no_location"]
    by = by.sort_values(["total", "mapped"], ascending=False).reset_index()
    mapped = int(located.sum())
    return IncidentSummary(len(incidents), mapped, len(incidents) - mapped, by)


def month_label(month: str) -> str:
    """``"2018-12"`` → ``"Dec 2018"``."""
    return pd.Period(check_month(month), freq="M").strftime("%b %Y")


def period_label(first: str, last: str) -> str:
    """``("2018-12", "2019-02")`` → ``"Dec 2018 to Feb 2019"`` (one month: ``"Dec 2018"``)."""
    if first == last:
        return month_label(first)
    return f"{month_label(first)} to {month_label(last)}"
