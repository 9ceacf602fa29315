"""What the map's incident filter offers and what a filter shows.

The filter itself is :func:`ctxmap.analysis.periods.select_incidents` (the one used by every
analysis), through :func:`filter_incidents`; month parsing and wording are in
:mod:`ctxmap.analysis.periods` too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import geopandas as gpd
import pandas as pd

from ctxmap.analysis.periods import parse_month, select_incidents
from ctxmap.errors import InputError


def _is_month(value: str) -> bool:
    try:
        parse_month(value)
    except InputError:
        return False
    return True


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
    located = incidents.geometry.notna() & ~incidents.geometry.is_empty
    frame = pd.DataFrame({"category": incidents["category"].astype("object"),
                          "mapped": located.astype(int), "no_location": (~located).astype(int)})
    by = frame.groupby("category", dropna=False)[["mapped", "no_location"]].sum()
    by["total"] = by["mapped"] + by["no_location"]
    by = by.sort_values(["total", "mapped"], ascending=False).reset_index()
    mapped = int(located.sum())
    return IncidentSummary(len(incidents), mapped, len(incidents) - mapped, by)
