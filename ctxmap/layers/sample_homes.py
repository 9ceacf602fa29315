"""Make the bundled sample's fictional children's and supported-living homes.

There is no open data on real children's homes (rightly: they are sensitive), so the
sample carries about a dozen made-up homes, placed by fixed rules at plausible
residential spots: inside an LSOA, away from the city-centre commercial core, at
least 300 m apart. Placement uses SHA-256 of a fixed seed text and the LSOA code
instead of a random generator, so every build, on every machine and library version,
gives the same homes. Nothing here uses the location of any real home (in particular
not OpenStreetMap ``social_facility=group_home`` objects).

One home, ``home-cs-01``, is modelled on the published case study of a supported
living home for young people aged 16+ who were targeted for criminal exploitation. It
is placed where the incidents given show the most drugs, weapons, robbery and violence
reports within 400 m (outside the core), so concern flags have a worked example.
"""

from __future__ import annotations

import hashlib
import math
import string
from dataclasses import dataclass
from typing import Final

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry

from ctxmap.errors import InputError
from ctxmap.layers.crs import analysis_crs
from ctxmap.layers.geometry import located_mask
from ctxmap.layers.schemas import SCHEMAS, STORAGE_CRS

#: ``source`` of every sample home.
SAMPLE_SOURCE: Final = "ctxmap sample (fictional)"
#: Seed text for the deterministic placement; change it to get a different sample.
SEED: Final = "ctxmap-sample-homes-v1"
#: Id of the home modelled on the case study.
CASE_STUDY_ID: Final = "home-cs-01"
CASE_STUDY_NAME: Final = "Riverside Lodge (fictional, case-study home)"
#: Incident categories that mark the case-study home's surroundings.
CASE_STUDY_CATEGORIES: Final[tuple[str, ...]] = (
    "Drugs",
    "Possession of weapons",
    "Robbery",
    "Violence and sexual offences",
)
#: Radius in metres within which incidents are counted for the case-study home.
CASE_STUDY_RADIUS_M: Final = 400.0
#: Number of homes in the sample (the case-study home included).
N_HOMES: Final = 12
#: Smallest distance between two sample homes, in metres.
MIN_SPACING_M: Final = 300.0
#: LSOAs whose representative point lies this close to the centre are the
#: commercial core, where no home is placed.
CORE_RADIUS_M: Final = 1200.0
#: Largest jitter of a home from its LSOA's representative point, in metres.
JITTER_M: Final = 150.0
#: Homes are kept at least this far inside their LSOA's boundary, in metres.
EDGE_MARGIN_M: Final = 15.0

CHILDRENS_HOME: Final = "children's home"
SUPPORTED_LIVING: Final = "supported living (16+)"

_TREE_NAMES: Final[tuple[str, ...]] = (
    "Willow House",
    "Alder Lodge",
    "Birch Cottage",
    "Rowan House",
    "Hazel Court",
    "Linden House",
    "Maple Lodge",
    "Elm View",
    "Cedar House",
    "Holly Lodge",
    "Aspen House",
    "Juniper Cottage",
    "Larch House",
    "Poplar Lodge",
    "Sycamore House",
    "Hawthorn Court",
    "Beech House",
    "Laurel Lodge",
    "Yew Cottage",
    "Chestnut House",
    "Spruce Lodge",
    "Hornbeam House",
    "Olive Court",
    "Myrtle House",
    "Heather Lodge",
)

_ID_COLUMNS: Final[tuple[str, ...]] = ("id", "LSOA11CD", "lsoa11cd", "code")


@dataclass(frozen=True)
class Placement:
    """Where one sample home goes, in the analysis CRS.

    Parameters
    ----------
    lsoa_id
        Code of the LSOA it lies in.
    point
        The home's location (metric CRS).
    nearby_incidents
        For the case-study home, the number of :data:`CASE_STUDY_CATEGORIES`
        incidents within :data:`CASE_STUDY_RADIUS_M`; None for the others.
    """

    lsoa_id: str
    point: Point
    nearby_incidents: int | None = None


def _unit(*parts: object) -> tuple[float, float]:
    """Two numbers in [0, 1) derived from SHA-256 of ``parts`` (stable everywhere)."""
    digest = hashlib.sha256(":".join(map(str, parts)).encode("utf-8")).digest()
    return (
        int.from_bytes(digest[:8], "big") / 2.0**64,
        int.from_bytes(digest[8:16], "big") / 2.0**64,
    )


def _order_key(lsoa_id: str) -> str:
    return hashlib.sha256(f"{SEED}:order:{lsoa_id}".encode()).hexdigest()


def _lsoa_ids(lsoas: gpd.GeoDataFrame) -> pd.Series:
    for name in _ID_COLUMNS:
        if name in lsoas.columns:
            ids = lsoas[name]
            if ids.isna().any():
                raise InputError(f"the LSOA layer has empty values in column {name!r}")
            return ids.astype(str)
    raise InputError(
        f"the LSOA layer has none of the id columns {', '.join(_ID_COLUMNS)} "
        f"(columns: {', '.join(map(str, lsoas.columns))})"
    )


def _check_inputs(lsoas: gpd.GeoDataFrame, incidents: gpd.GeoDataFrame | None) -> None:
    if not isinstance(lsoas, gpd.GeoDataFrame) or lsoas.crs is None:
        raise InputError("expected the LSOA boundaries as a GeoDataFrame with a CRS")
    if lsoas.empty:
        raise InputError("the LSOA layer is empty; expected area polygons")
    kinds = set(lsoas.geometry.geom_type.dropna())
    if not kinds or kinds - {"Polygon", "MultiPolygon"}:
        raise InputError(
            f"the LSOA layer has {', '.join(sorted(map(str, kinds))) or 'no'} geometries; "
            "expected Polygon or MultiPolygon"
        )
    if incidents is None:
        return
    if not isinstance(incidents, gpd.GeoDataFrame) or incidents.crs is None:
        raise InputError("expected the incidents as a GeoDataFrame with a CRS")
    if incidents.crs != lsoas.crs:
        raise InputError(
            f"incidents are in {incidents.crs.to_string()} but LSOAs in "
            f"{lsoas.crs.to_string()}; expected the same CRS"
        )
    if "category" not in incidents.columns:
        raise InputError(
            "the incidents have no 'category' column; expected the canonical incidents layer"
        )


def _located_points(incidents: gpd.GeoDataFrame, crs: str) -> gpd.GeoSeries:
    return incidents.geometry[located_mask(incidents)].to_crs(crs)


def _centre(polys: gpd.GeoSeries, incidents_m: gpd.GeoSeries | None) -> BaseGeometry:
    """Return the commercial centre.

    That is the representative point of the LSOA with the highest density of
    incidents (all categories), or the centroid of all the LSOAs without incidents.
    """
    if incidents_m is not None and len(incidents_m) > 0:
        poly_pos, _ = incidents_m.sindex.query(polys.array, predicate="intersects")
        counts = np.bincount(poly_pos, minlength=len(polys))
        if counts.any():
            density = counts / polys.area.to_numpy()
            return polys.iloc[int(np.argmax(density))].representative_point()
    return polys.union_all().centroid


def _jittered(poly: BaseGeometry, lsoa_id: str) -> Point:
    """A point near ``poly``'s representative point, kept well inside ``poly``."""
    inner = poly.buffer(-EDGE_MARGIN_M)
    base = poly.representative_point()
    for attempt in range(24):
        u_angle, u_radius = _unit(SEED, "jitter", lsoa_id, attempt)
        radius = JITTER_M * math.sqrt(u_radius)
        angle = 2.0 * math.pi * u_angle
        candidate = Point(base.x + radius * math.cos(angle), base.y + radius * math.sin(angle))
        if inner.contains(candidate):
            return candidate
    return base


def plan_homes(
    lsoas: gpd.GeoDataFrame,
    incidents: gpd.GeoDataFrame | None = None,
    *,
    n_homes: int = N_HOMES,
    core_radius_m: float = CORE_RADIUS_M,
    min_spacing_m: float = MIN_SPACING_M,
) -> tuple[str, list[Placement]]:
    """Decide where the sample homes go (the case-study home first).

    Returns the metric CRS used and the placements in it; see
    :func:`fictional_homes` for the rules and parameters.
    """
    _check_inputs(lsoas, incidents)
    if n_homes < 1:
        raise InputError(f"n_homes must be at least 1, got {n_homes}")
    ids = _lsoa_ids(lsoas)
    crs = analysis_crs(lsoas)
    polys = gpd.GeoSeries(lsoas.geometry.to_crs(crs).array, index=ids.to_numpy(), crs=crs)
    incidents_m = None if incidents is None else _located_points(incidents, crs)
    centre = _centre(polys, incidents_m)
    reps = polys.representative_point()
    candidates = [
        i for i in sorted(polys.index, key=_order_key) if reps[i].distance(centre) >= core_radius_m
    ]
    if not candidates:
        raise InputError(
            f"every LSOA lies within {core_radius_m:g} m of the centre; "
            "expected some outside the commercial core (lower core_radius_m)"
        )

    # The case-study home: most exploitation-type incidents within 400 m.
    case_lsoa, nearby = candidates[0], None
    if incidents is not None and incidents_m is not None:
        focus = incidents.loc[incidents_m.index, "category"].isin(CASE_STUDY_CATEGORIES)
        focus_pts = incidents_m[focus.to_numpy()]
        if len(focus_pts) > 0:
            cand_reps = gpd.GeoSeries([reps[i] for i in candidates], crs=crs)
            rep_pos, _ = focus_pts.sindex.query(
                cand_reps.array, predicate="dwithin", distance=CASE_STUDY_RADIUS_M
            )
            counts = np.bincount(rep_pos, minlength=len(candidates))
            by_code = sorted(range(len(candidates)), key=lambda k: candidates[k])
            best = max(by_code, key=lambda k: counts[k])  # ties: the smallest code
            case_lsoa, nearby = candidates[best], int(counts[best])
        else:
            nearby = 0
    placements = [Placement(case_lsoa, reps[case_lsoa], nearby)]

    spacing = min_spacing_m + 1.0  # margin for the round trip through EPSG:4326
    for lsoa_id in candidates:
        if len(placements) >= n_homes:
            break
        if lsoa_id == case_lsoa:
            continue
        point = _jittered(polys[lsoa_id], lsoa_id)
        if all(point.distance(p.point) >= spacing for p in placements):
            placements.append(Placement(lsoa_id, point))
    return crs, placements


def fictional_homes(
    lsoas: gpd.GeoDataFrame,
    incidents: gpd.GeoDataFrame | None = None,
    *,
    n_homes: int = N_HOMES,
    core_radius_m: float = CORE_RADIUS_M,
    min_spacing_m: float = MIN_SPACING_M,
) -> gpd.GeoDataFrame:
    """Make the sample's fictional homes layer.

    Rules: LSOAs whose representative point lies within ``core_radius_m`` of the
    centre (the representative point of the LSOA with the densest incidents, or
    the centroid of all LSOAs without incidents) are the commercial core and get
    no home. The case-study home goes on the representative point of the remaining
    LSOA with the most :data:`CASE_STUDY_CATEGORIES` incidents within 400 m (ties:
    smallest code; without incidents: the first LSOA in seeded order). The others
    go, one per LSOA, to LSOAs in an order fixed by SHA-256 of :data:`SEED` and the
    LSOA code, each at a seeded jitter (up to 150 m) from the LSOA's representative
    point, kept 15 m inside it; a home closer than ``min_spacing_m`` to an earlier
    one is skipped.

    Parameters
    ----------
    lsoas
        LSOA polygons with a CRS and an id column (``id`` or ``LSOA11CD``).
    incidents
        Canonical incidents layer (``category`` column) in the same CRS as
        ``lsoas``, or None. Rows without a location are ignored.
    n_homes
        How many homes to make (fewer when the LSOAs run out).
    core_radius_m, min_spacing_m
        The core radius and the minimum spacing between homes, in metres.

    Returns
    -------
    GeoDataFrame
        The ``homes`` schema columns (``fictional`` True, ``address`` and
        ``opening_hours`` None, ``source`` :data:`SAMPLE_SOURCE`) in EPSG:4326,
        case-study home (:data:`CASE_STUDY_ID`) first; categories alternate between
        "children's home" and "supported living (16+)". ``attrs["lsoa_ids"]`` maps
        each home id to the LSOA it was placed in.

    Raises
    ------
    InputError
        If the layers are not usable (no CRS, wrong geometry, no id column,
        mismatched CRSs, no ``category`` column) or no LSOA lies outside the core.
    """
    crs, placements = plan_homes(
        lsoas,
        incidents,
        n_homes=n_homes,
        core_radius_m=core_radius_m,
        min_spacing_m=min_spacing_m,
    )
    rows: list[dict[str, object]] = []
    letters = string.ascii_uppercase
    for k, place in enumerate(placements):
        if k == 0:
            nearby = (
                f" Placed where the sample's police.uk data shows {place.nearby_incidents} "
                "drugs, weapons, robbery and violence reports within 400 m, outside the "
                "city centre."
                if place.nearby_incidents is not None
                else ""
            )
            rows.append(
                {
                    "id": CASE_STUDY_ID,
                    "name": CASE_STUDY_NAME,
                    "category": SUPPORTED_LIVING,
                    "notes": (
                        "FICTIONAL home, not a real place. Modelled on the published case "
                        "study 'Making a supported living home safer' (young people aged 16+ "
                        "targeted for criminal exploitation)." + nearby
                    ),
                }
            )
            continue
        number = k  # 1-based among the ordinary homes
        letter = letters[(number - 1) % 26]
        tree = _TREE_NAMES[(number - 1) % len(_TREE_NAMES)]
        rows.append(
            {
                "id": f"home-fx-{number:02d}",
                "name": f"Fictional home {letter} — {tree} (fictional)",
                "category": CHILDRENS_HOME if number % 2 == 1 else SUPPORTED_LIVING,
                "notes": "FICTIONAL home for the ctxmap sample, placed by fixed rules; "
                "not a real place.",
            }
        )
    columns = SCHEMAS["homes"].column_names
    data = {
        "id": [r["id"] for r in rows],
        "name": [r["name"] for r in rows],
        "category": [r["category"] for r in rows],
        "address": [None] * len(rows),
        "opening_hours": [None] * len(rows),
        "source": [SAMPLE_SOURCE] * len(rows),
        "fictional": [True] * len(rows),
        "notes": [r["notes"] for r in rows],
    }
    frame = pd.DataFrame(
        {c: pd.Series(data[c], dtype=bool if c == "fictional" else object) for c in columns}
    )
    homes = gpd.GeoDataFrame(
        frame, geometry=gpd.GeoSeries([p.point for p in placements], crs=crs).array, crs=crs
    ).to_crs(STORAGE_CRS)
    homes.attrs["lsoa_ids"] = {
        str(h): p.lsoa_id for h, p in zip(homes["id"], placements, strict=True)
    }
    return homes
