"""An index of an incident layer for fast filter changes at a million incidents.

Built once per layer (the dashboard caches it): each incident's month and category as
integer codes and its metric coordinates. A filter is then a boolean mask computed from
the codes, and the counts and map cells of a filter come from ``bincount`` over the
mask, never from a filtered copy of the frame. The results equal
:func:`ctxmap.analysis.periods.filter_incidents` +
:func:`ctxmap.analysis.periods.summarise_incidents` +
:func:`ctxmap.analysis.aggregate.aggregate_incidents` (tested).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from ctxmap.analysis.aggregate import (
    DEFAULT_MAX_CELLS,
    DEFAULT_MIN_CELL_M,
    IncidentArrays,
    aggregate_arrays,
    incident_arrays,
)
from ctxmap.analysis.periods import IncidentSummary, month_range
from ctxmap.layers.geometry import located_mask


@dataclass(frozen=True)
class IncidentIndex:
    """Codes of every incident (located or not) and the prepared located ones.

    Attributes
    ----------
    month_codes, months
        Per row, the index of its month in the sorted ``months`` (-1: no month).
    category_codes, categories
        Per row, the index of its category in the sorted ``categories`` (-1: none).
    located
        Per row, True when it has a location.
    arrays
        The located rows prepared for aggregation (same order as ``located`` rows).
    """

    month_codes: np.ndarray
    months: list[str]
    category_codes: np.ndarray
    categories: list[str]
    located: np.ndarray
    arrays: IncidentArrays

    @classmethod
    def build(cls, incidents: gpd.GeoDataFrame) -> IncidentIndex:
        """Index an incident layer (EPSG:4326, ``month`` and ``category`` columns)."""
        m_codes, months = pd.factorize(incidents["month"].astype("object").to_numpy(),
                                       sort=True)
        c_codes, cats = pd.factorize(incidents["category"].astype("object").to_numpy(),
                                     sort=True)
        return cls(np.asarray(m_codes, np.int64), [str(m) for m in months],
                   np.asarray(c_codes, np.int64), [str(c) for c in cats],
                   located_mask(incidents), incident_arrays(incidents))

    def select(
        self,
        *,
        months: tuple[str, str] | None = None,
        categories: Sequence[str] | None = None,
    ) -> np.ndarray:
        """Rows a filter keeps: the rule of :func:`ctxmap.analysis.periods.filter_incidents`."""
        keep = np.ones(len(self.month_codes), dtype=bool)
        if months is not None:
            in_range = set(month_range(*months))
            wanted = np.array([m in in_range for m in self.months] + [False])
            keep &= wanted[self.month_codes]  # code -1 picks the final False
        if categories is not None:
            chosen = set(categories)
            wanted = np.array([c in chosen for c in self.categories] + [False])
            keep &= wanted[self.category_codes]
        return keep

    def inside(self, area: BaseGeometry, crs: str) -> np.ndarray:
        """Rows located in ``area`` (given in ``crs``); a point on its outline is inside.

        The rule of :func:`ctxmap.analysis.concern.rank_places`, so the map counts the
        incidents the rankings count. Rows with no location are never inside.
        """
        area_m = gpd.GeoSeries([area], crs=crs).to_crs(self.arrays.metric_crs).iloc[0]
        shapely.prepare(area_m)
        out = np.zeros(len(self.located), dtype=bool)
        if len(self.arrays.xs):
            out[self.located] = shapely.intersects_xy(area_m, self.arrays.xs, self.arrays.ys)
        return out

    def summary(self, keep: np.ndarray) -> IncidentSummary:
        """What :func:`ctxmap.analysis.periods.summarise_incidents` says of the kept rows."""
        n_cat = len(self.categories) + 1  # the last slot: no category
        codes = np.where(self.category_codes < 0, n_cat - 1, self.category_codes)
        mapped = np.bincount(codes[keep & self.located], minlength=n_cat)
        unmapped = np.bincount(codes[keep & ~self.located], minlength=n_cat)
        frame = pd.DataFrame({"category": [*self.categories, None], "mapped": mapped,
                              "no_location": unmapped})
        frame["total"] = frame["mapped"] + frame["no_location"]
        frame = frame[frame["total"] > 0]
        frame = frame.sort_values(["total", "mapped"], ascending=False, kind="stable")
        n_mapped = int(mapped.sum())
        total = int(keep.sum())
        return IncidentSummary(total, n_mapped, total - n_mapped, frame.reset_index(drop=True))

    def cells(
        self,
        keep: np.ndarray,
        *,
        max_cells: int = DEFAULT_MAX_CELLS,
        min_cell_m: float = DEFAULT_MIN_CELL_M,
    ) -> gpd.GeoDataFrame:
        """The map cells of the kept rows (see :mod:`ctxmap.analysis.aggregate`)."""
        return aggregate_arrays(self.arrays, keep[self.located], max_cells=max_cells,
                                min_cell_m=min_cell_m)
