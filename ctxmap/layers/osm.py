"""Classify OpenStreetMap points of interest into ctxmap's protective-place layers.

An OSM extract (e.g. an Overpass GeoJSON export) arrives as one row per object whose
columns are the raw OSM tags. This module applies the table of documented rules
(:data:`ctxmap.layers.osm_rules.RULES`, explained in ``docs/osm-classification.md``):
the first rule that matches decides whether each object is a youth centre, a safe
place, or neither; then it builds the canonical place layers.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

import geopandas as gpd
import pandas as pd

from ctxmap.errors import InputError
from ctxmap.layers.osm_rules import RULES, Rule, tag_text
from ctxmap.layers.schemas import SCHEMAS, STORAGE_CRS

#: Value of the ``source`` column of every classified row.
OSM_SOURCE: Final = "OpenStreetMap (ODbL)"

#: The two layers OSM can feed.
OSM_LAYERS: Final[tuple[str, ...]] = ("youth_centres", "safe_places")

#: OSM object ids as Overpass writes them: ``node/123``, ``way/45``, ``relation/6``.
_OSM_ID: Final = re.compile(r"^(node|way|relation)/\d+$")

#: Tag keys that mark a frame as raw OSM tags (at least one must be a column).
_OSM_TAG_KEYS: Final[tuple[str, ...]] = ("amenity", "shop", "leisure", "healthcare", "tourism")

def classify_tags(tags: Mapping[str, Any]) -> tuple[str, str] | None:
    """Classify one OSM object by its tags.

    Parameters
    ----------
    tags
        The object's raw OSM tags (key to value). Missing values may be ``None``,
        NaN or absent; other keys (``id``, ``geometry``) are ignored.

    Returns
    -------
    tuple of (str, str) or None
        ``(layer, category)`` where ``layer`` is ``"youth_centres"`` or
        ``"safe_places"``, or ``None`` when the object is not a protective resource.
    """
    for rule in RULES:
        if rule.matches(tags):
            if rule.layer is None or rule.category is None:
                return None
            return rule.layer, rule.category
    return None


def matching_rule(tags: Mapping[str, Any]) -> Rule | None:
    """Return the rule that decides ``tags`` (first match), or None if none matches."""
    for rule in RULES:
        if rule.matches(tags):
            return rule
    return None


#: The ``rule`` of a row that no rule matched (neither a place nor an exclusion).
NO_RULE: Final = "no rule"


def category_rule(category: Any, name: Any = None) -> Rule | None:
    """The rule that decides a row of a place list without OSM tags, or None.

    A council's own list (``id, name, category, lat, lon``) has a free-text category
    instead of tags. The category is read as an OSM tag value (``Library`` is
    ``amenity=library``, ``Youth centre`` is ``leisure=youth_centre``) and the rules are
    applied as to an OSM object with that tag and ``name``; a category that is one of the
    rules' own category names (``GP surgery``, ``youth club``) takes that rule.
    """
    text = tag_text(category)
    if text is None:
        return None
    words = text.lower().replace("-", " ").replace("_", " ").split()
    value = "_".join(words)
    rule = matching_rule({"amenity": value, "leisure": value, "healthcare": value,
                          "name": name})
    if rule is not None:
        return rule
    label = " ".join(words)
    return next((r for r in RULES if r.layer and r.category and r.category.lower() == label),
                None)


def osm_address(tags: Mapping[str, Any]) -> str | None:
    """Build a one-line address from ``addr:*`` tags.

    Returns ``"<housenumber> <street>, <city>, <postcode>"`` with absent parts left
    out, or None when none of ``addr:housenumber``, ``addr:street``, ``addr:city``
    and ``addr:postcode`` is present.
    """
    number = tag_text(tags.get("addr:housenumber"))
    street = tag_text(tags.get("addr:street"))
    first = " ".join(p for p in (number, street) if p is not None) or None
    parts = [
        p
        for p in (first, tag_text(tags.get("addr:city")), tag_text(tags.get("addr:postcode")))
        if p is not None
    ]
    return ", ".join(parts) if parts else None


def _id_column(gdf: pd.DataFrame) -> str | None:
    for name in ("id", "@id", "osm_id"):
        if name in gdf.columns:
            return name
    return None


def is_osm_poi_frame(gdf: pd.DataFrame) -> bool:
    """Tell whether a frame holds raw OSM tags (an Overpass-style POI export).

    True when at least one typical OSM tag key (``amenity``, ``shop``, ``leisure``,
    ``healthcare``, ``tourism``) is a column and the ``id`` (or ``@id``) column's
    non-empty values all look like ``node/123``, ``way/45`` or ``relation/6``.
    """
    if not any(key in gdf.columns for key in _OSM_TAG_KEYS):
        return False
    column = _id_column(gdf)
    if column is None:
        return False
    ids = [t for t in (tag_text(v) for v in gdf[column].tolist()) if t is not None]
    return bool(ids) and all(_OSM_ID.match(t) for t in ids)


def osm_to_layers(gdf_raw: gpd.GeoDataFrame) -> dict[str, gpd.GeoDataFrame]:
    """Split an OSM POI extract into the ``youth_centres`` and ``safe_places`` layers.

    Parameters
    ----------
    gdf_raw
        One row per OSM object, columns = raw tags plus ``id`` (``node/…``), with
        a CRS. Ways and relations given as polygons are reduced to a point inside
        them (``representative_point``); rows with no geometry are skipped, as
        they cannot be a place on the map (their count is in ``attrs``).

    Returns
    -------
    dict of str to GeoDataFrame
        ``{"youth_centres": ..., "safe_places": ...}``, each in EPSG:4326 with the
        canonical place columns (``id``, ``name``, ``category``, ``address``,
        ``opening_hours``, ``source``), keeping the input's index. Each frame's
        ``attrs["unlocated"]`` counts classified rows dropped for lack of geometry.

    Raises
    ------
    InputError
        If the frame has no CRS or no ``id`` column.
    """
    if gdf_raw.crs is None:
        raise InputError("the OSM layer has no CRS; expected one (GeoJSON is EPSG:4326)")
    id_col = _id_column(gdf_raw)
    if id_col is None:
        raise InputError(
            f"the OSM layer has no id column (columns: {', '.join(map(str, gdf_raw.columns[:10]))}"
            "...); expected 'id' with values like 'node/328762'"
        )
    geom_name = gdf_raw.geometry.name
    tag_columns = [c for c in gdf_raw.columns if c != geom_name]
    rows: dict[str, list[dict[str, Any]]] = {layer: [] for layer in OSM_LAYERS}
    index: dict[str, list[Any]] = {layer: [] for layer in OSM_LAYERS}
    geoms: dict[str, list[Any]] = {layer: [] for layer in OSM_LAYERS}
    unlocated = dict.fromkeys(OSM_LAYERS, 0)
    records = zip(
        gdf_raw.index,
        gdf_raw[tag_columns].itertuples(index=False),
        gdf_raw.geometry.array,
        strict=True,
    )
    for idx, values, geom in records:
        tags = dict(zip(tag_columns, values, strict=True))
        decided = classify_tags(tags)
        if decided is None:
            continue
        layer, category = decided
        if geom is None or geom.is_empty:
            unlocated[layer] += 1
            continue
        if geom.geom_type != "Point":
            geom = geom.representative_point()
        rows[layer].append(
            {
                "id": tag_text(tags.get(id_col)),
                "name": tag_text(tags.get("name")),
                "category": category,
                "address": osm_address(tags),
                "opening_hours": tag_text(tags.get("opening_hours")),
                "source": OSM_SOURCE,
            }
        )
        index[layer].append(idx)
        geoms[layer].append(geom)
    out: dict[str, gpd.GeoDataFrame] = {}
    for layer in OSM_LAYERS:
        columns = SCHEMAS[layer].column_names  # type: ignore[index]
        frame = pd.DataFrame(
            {c: pd.Series([r[c] for r in rows[layer]], dtype=object) for c in columns}
        )
        frame.index = pd.Index(index[layer], dtype=gdf_raw.index.dtype)
        gdf = gpd.GeoDataFrame(frame, geometry=geoms[layer], crs=gdf_raw.crs)
        gdf = gdf.to_crs(STORAGE_CRS)
        gdf.index.name = gdf_raw.index.name
        gdf.attrs["unlocated"] = unlocated[layer]
        out[layer] = gdf
    return out


def rules_markdown() -> str:
    """Render :data:`RULES` as the Markdown table used in ``docs/osm-classification.md``."""
    lines = [
        "| # | rule | when | layer | category | why |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for number, rule in enumerate(RULES, start=1):
        layer = f"`{rule.layer}`" if rule.layer else "none (not a protective resource)"
        category = rule.category or "—"
        cells = [str(number), f"`{rule.rule_id}`", rule.describe(), layer, category, rule.why]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines) + "\n"
