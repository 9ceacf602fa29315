"""OpenStreetMap feature groups: the environmental factors of the risk-terrain model (pure data).

Each :class:`FeatureGroup` gathers OSM objects that plausibly attract or generate
incidents (Risk Terrain Modeling's "risk factors"): food and drink, licensed premises,
shops, schools and colleges, community buildings, transport stops, ... An object belongs
to the **first** group whose tag conditions it meets (so a pub that also sells food is a
licensed premises). ``docs/osm-classification.md`` holds the table made by
:func:`groups_markdown`; a test checks the two agree.

Places already in the store (safe places and youth centres) can stand in for a raw
extract: :func:`group_places` groups them by their ``category``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import geopandas as gpd
import numpy as np
import pandas as pd

from ctxmap.errors import InputError
from ctxmap.layers.osm_rules import TagTest, tag_text


@dataclass(frozen=True)
class FeatureGroup:
    """One environmental factor built from OSM tags.

    Parameters
    ----------
    group_id
        Short stable identifier (a column name in the model's factor table).
    label
        Plain-English name for tables and reasons.
    when
        Tag conditions; an object is in the group when **any** holds (OR).
    why
        Why the factor may relate to incidents (criminology's crime generators and
        attractors), for people reading the documentation.
    """

    group_id: str
    label: str
    when: tuple[TagTest, ...]
    why: str

    def matches(self, tags: Mapping[str, Any]) -> bool:
        """Return True when any of the group's conditions holds for ``tags``."""
        return any(test.matches(tags) for test in self.when)

    def describe(self) -> str:
        """The conditions in OSM notation, joined by "or" (Markdown)."""
        return " or ".join(test.describe() for test in self.when)


def _t(key: str, *values: str) -> TagTest:
    return TagTest(key, tuple(values))


#: The groups, checked in order (first match decides).
FEATURE_GROUPS: Final[tuple[FeatureGroup, ...]] = (
    FeatureGroup(
        "licensed_premises", "licensed premises",
        (_t("amenity", "pub", "bar", "nightclub", "biergarten", "casino"),
         _t("shop", "alcohol", "wine")),
        "Alcohol and the night-time economy go with violence, disorder and drug markets.",
    ),
    FeatureGroup(
        "food_and_drink", "food and drink",
        (_t("amenity", "fast_food", "cafe", "restaurant", "food_court", "ice_cream"),),
        "Takeaways and cafés are where young people gather, and late-night food outlets "
        "are a known crime generator.",
    ),
    FeatureGroup(
        "convenience", "convenience shops and supermarkets",
        (_t("shop", "convenience", "supermarket", "newsagent", "kiosk", "off_licence"),),
        "Long opening hours and cash: shoplifting, robbery and gathering points.",
    ),
    FeatureGroup(
        "gambling", "betting and gambling",
        (_t("shop", "bookmaker", "lottery"), _t("amenity", "gambling")),
        "Cash and loitering; often clustered with licensed premises.",
    ),
    FeatureGroup(
        "retail", "other shops",
        (_t("shop", "*"), _t("amenity", "marketplace")),
        "Shoplifting and theft need shops; shopping streets draw crowds.",
    ),
    FeatureGroup(
        "schools_and_colleges", "schools and colleges",
        (_t("amenity", "school", "college", "university", "kindergarten"),),
        "Where young people are every weekday, and the routes to and from them.",
    ),
    FeatureGroup(
        "community", "community buildings",
        (_t("amenity", "community_centre", "social_centre", "social_facility", "library",
            "place_of_worship", "townhall", "arts_centre", "youth_centre"),),
        "Public buildings where people meet; also where help is.",
    ),
    FeatureGroup(
        "health", "health services",
        (_t("amenity", "pharmacy", "doctors", "dentist", "clinic", "hospital"),
         _t("healthcare", "*")),
        "Pharmacies and surgeries sit on busy streets and hold drugs.",
    ),
    FeatureGroup(
        "transport", "transport stops and stations",
        (_t("amenity", "bus_station", "taxi", "ferry_terminal"),
         _t("public_transport", "station", "platform", "stop_position"),
         _t("railway", "station", "halt"), _t("highway", "bus_stop")),
        "Stations and stops concentrate people, and county lines run along transport.",
    ),
    FeatureGroup(
        "parking", "car parks",
        (_t("amenity", "parking", "bicycle_parking", "motorcycle_parking"),),
        "Vehicle crime and bicycle theft need parked vehicles; car parks are unsupervised.",
    ),
    FeatureGroup(
        "cash", "banks and cash machines",
        (_t("amenity", "bank", "atm", "bureau_de_change", "post_office"),),
        "Cash draws robbery and theft from the person.",
    ),
    FeatureGroup(
        "leisure", "leisure and entertainment",
        (_t("leisure", "sports_centre", "fitness_centre", "amusement_arcade", "bowling_alley",
            "stadium", "swimming_pool"),
         _t("amenity", "cinema", "theatre"), _t("tourism", "hotel", "hostel", "motel")),
        "Crowds and evening activity.",
    ),
)


def feature_group(tags: Mapping[str, Any]) -> str | None:
    """Return the ``group_id`` of the first group ``tags`` matches, or None."""
    for group in FEATURE_GROUPS:
        if group.matches(tags):
            return group.group_id
    return None


def group_label(group_id: str) -> str:
    """Plain-English label of a group id (store categories are their own label)."""
    for group in FEATURE_GROUPS:
        if group.group_id == group_id:
            return group.label
    return group_id.removeprefix("place:")


def group_osm_features(raw: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Group a raw OSM extract (one row per object, columns = tags) into feature groups.

    Returns
    -------
    geopandas.GeoDataFrame
        The grouped objects only, with columns ``group`` and ``geometry`` (polygons
        reduced to a point inside them), in the input's CRS; ``attrs["ungrouped"]``
        counts the objects no group took.

    Raises
    ------
    InputError
        If the frame has no CRS or none of the tag keys the groups use.
    """
    if raw.crs is None:
        raise InputError("the OSM features have no CRS; expected one (GeoJSON is EPSG:4326)")
    keys = sorted({test.key for group in FEATURE_GROUPS for test in group.when})
    present = [k for k in keys if k in raw.columns]
    if not present:
        raise InputError(
            f"the OSM features have none of the tag columns {', '.join(keys)}; expected an "
            "OpenStreetMap points-of-interest extract (e.g. an Overpass GeoJSON export)"
        )
    values = raw[present].to_numpy(dtype=object)
    groups = np.array(
        [feature_group({k: v for k, v in zip(present, row, strict=True) if tag_text(v)})
         for row in values],
        dtype=object,
    )
    geoms = raw.geometry.to_numpy()
    keep = np.array([g is not None for g in groups], dtype=bool)
    keep &= np.array([g is not None and not g.is_empty for g in geoms], dtype=bool)
    points = gpd.GeoSeries(geoms[keep], crs=raw.crs)
    points = points.where(points.geom_type == "Point", points.representative_point())
    out = gpd.GeoDataFrame({"group": pd.Series(groups[keep], dtype=object)},
                           geometry=points.reset_index(drop=True), crs=raw.crs)
    out.attrs["ungrouped"] = int((~keep).sum())
    return out


def group_places(places: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Use the store's places as features: one group per ``category`` (``place:<category>``).

    Homes are never used (they are sensitive and not an environmental factor).
    """
    if "layer" in places.columns:
        places = places[places["layer"].astype(str) != "homes"]
    located = places[places.geometry.notna() & ~places.geometry.is_empty]
    cats = located["category"].map(tag_text) if "category" in located.columns else None
    group = (("place:" + cats.fillna("uncategorised")) if cats is not None
             else pd.Series("place:place", index=located.index))
    return gpd.GeoDataFrame({"group": group.astype(object).to_numpy()},
                            geometry=located.geometry.to_numpy(), crs=places.crs)


def groups_markdown() -> str:
    """Render :data:`FEATURE_GROUPS` as the Markdown table in ``docs/osm-classification.md``."""
    lines = [
        "| # | group | label | when (any) | why |",
        "| --- | --- | --- | --- | --- |",
    ]
    for number, group in enumerate(FEATURE_GROUPS, start=1):
        cells = [str(number), f"`{group.group_id}`", group.label, group.describe(), group.why]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines) + "\n"
