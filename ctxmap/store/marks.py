"""What a store says about itself: its name, whether it is the bundled sample, its study area.

Kept in the store's metadata (``ctxmap_meta``, see :meth:`ctxmap.store.protocol.Store.metadata`),
so a copy of a store, wherever it is, says the same; nothing is recognised by its path.

* ``dataset``: :data:`SAMPLE_DATASET` marks the bundled sample (fictional homes, public
  data). Only :func:`ctxmap.store.opening.is_bundled_sample` reads it.
* ``name``: the area's name for messages, e.g. ``"Great Yarmouth"``.
* ``study_area``: the study area, set on purpose (``init --study-area``, ``import ...
  --layer areas --study-area``, the Import page): a JSON object with the outline in
  EPSG:4326 (WKB, hex), a label, its area in km² and the file it came from.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Final

import geopandas as gpd
import shapely
from shapely.geometry.base import BaseGeometry

from ctxmap.errors import InputError, StoreError
from ctxmap.layers.crs import analysis_crs
from ctxmap.layers.schemas import STORAGE_CRS
from ctxmap.store.protocol import Store

#: Metadata key of the dataset mark, and the value that marks the bundled sample.
DATASET_KEY: Final = "dataset"
SAMPLE_DATASET: Final = "ctxmap bundled sample"
#: Metadata key of the store's (area's) name.
NAME_KEY: Final = "name"
#: Metadata key of the study area.
STUDY_AREA_KEY: Final = "study_area"


@dataclass(frozen=True)
class StoredStudyArea:
    """The study area kept in a store.

    Parameters
    ----------
    geometry
        The outline, EPSG:4326.
    label
        Its name, e.g. ``"Rutland"``.
    km2
        Its area in square kilometres (measured in the local metric CRS).
    source
        The file (name only) or area code it came from.
    """

    geometry: BaseGeometry
    label: str
    km2: float
    source: str

    @property
    def description(self) -> str:
        """For reasons and summaries: ``"Rutland (393.7 km², from rutland_lad.geojson)"``."""
        return f"{self.label} ({self.km2:,.1f} km², from {self.source})"


def area_km2(geometry: BaseGeometry) -> float:
    """The area of an EPSG:4326 geometry in km², measured in its local metric CRS."""
    frame = gpd.GeoDataFrame(geometry=[geometry], crs=STORAGE_CRS)
    return float(frame.to_crs(analysis_crs(frame)).area.iloc[0]) / 1e6


def make_study_area(geometry: BaseGeometry, label: str, source: str) -> StoredStudyArea:
    """A study area from an EPSG:4326 outline (repaired when invalid; must have an area)."""
    if geometry is None or geometry.is_empty:
        raise InputError(f"the study area from {source} is empty; expected a polygon")
    if not geometry.is_valid:
        geometry = shapely.make_valid(geometry)
    polygons = shapely.get_parts(geometry)
    polygons = [p for p in polygons if p.geom_type in ("Polygon", "MultiPolygon")]
    if not polygons:
        raise InputError(f"the study area from {source} is a {geometry.geom_type}; expected a "
                         "polygon or multipolygon (an outline)")
    outline = shapely.union_all(polygons)
    return StoredStudyArea(outline, label.strip() or "the study area", area_km2(outline), source)


def read_study_area(store: Store) -> StoredStudyArea | None:
    """The study area kept in ``store``, or ``None`` when none was set."""
    raw = store.metadata(STUDY_AREA_KEY)
    if not raw:
        return None
    try:
        data = json.loads(raw)
        geometry = shapely.from_wkb(bytes.fromhex(data["wkb"]))
        return StoredStudyArea(geometry, str(data["label"]), float(data["km2"]),
                               str(data["source"]))
    except (ValueError, KeyError, TypeError, shapely.errors.GEOSException) as exc:
        raise StoreError(f"the study area kept in {store.path} cannot be read ({exc}); "
                         "expected one set by 'python -m ctxmap init --study-area FILE' "
                         "(set it again)") from None


def write_study_area(store: Store, area: StoredStudyArea) -> None:
    """Keep ``area`` as the store's study area (replacing any earlier one)."""
    value = json.dumps({
        "label": area.label,
        "km2": round(area.km2, 3),
        "source": area.source,
        "wkb": shapely.to_wkb(area.geometry, hex=True),
    }, sort_keys=True)
    store.set_metadata(STUDY_AREA_KEY, value)


def store_name(store: Store) -> str | None:
    """The name kept in the store (``init --name``), or ``None``."""
    return store.metadata(NAME_KEY)


def is_sample_store(store: Store) -> bool:
    """Whether ``store`` carries the bundled sample's mark (see the module docstring)."""
    return store.metadata(DATASET_KEY) == SAMPLE_DATASET
