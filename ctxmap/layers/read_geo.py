"""Read GeoJSON and GeoPackage layer files and check their geometries against the schema.

Rows are features, numbered from 1. OpenStreetMap POI exports are recognised and
classified by the tag rules of :mod:`ctxmap.layers.osm`.
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS
from pyproj.exceptions import CRSError

from ctxmap.errors import Problem
from ctxmap.layers.conform import (
    apply_aliases,
    area_level,
    column_or_none,
    conform,
    duplicate_columns,
    empty_layer,
    norm_column,
    stable_ids,
)
from ctxmap.layers.coordinates import check_geo_coordinates
from ctxmap.layers.json_depth import (
    MAX_COLLECTION_DEPTH,
    MAX_JSON_DEPTH,
    DeepJson,
    deep_json_message,
    too_deep,
)
from ctxmap.layers.osm import (
    NO_RULE,
    OSM_SOURCE,
    is_osm_poi_frame,
    matching_rule,
    osm_address,
    osm_to_layers,
)
from ctxmap.layers.read_result import LayerRead, warn_no_location
from ctxmap.layers.schemas import STORAGE_CRS, LayerSchema, schema_for

#: Shapely's geometry type ids, in order.
_TYPE_NAMES = np.array(["Point", "LineString", "LinearRing", "Polygon", "MultiPoint",
                        "MultiLineString", "MultiPolygon", "GeometryCollection"])


def read_geojson(text: str, name: str) -> tuple[gpd.GeoDataFrame | None, list[Problem]]:
    """Parse GeoJSON text into a frame (CRS as declared, else EPSG:4326) and its problems.

    Hostile or malformed files give problems naming the file, row (feature) and column,
    never an exception: JSON nested too deeply to parse (:mod:`ctxmap.layers.json_depth`),
    a FeatureCollection without ``features``, ``properties`` that are not an object, a
    ``crs`` member that is not an object, or a CRS code nobody knows.
    """
    try:
        doc = json.loads(text)
    except RecursionError:
        deep = too_deep(text) or DeepJson(MAX_JSON_DEPTH, 1, 1, None, 0, 0)
        return None, [Problem(name, deep_json_message(deep), row=deep.feature,
                              column="geometry" if deep.geometry_collections else None,
                              code="too_deep")]
    except json.JSONDecodeError as exc:
        return None, [Problem(name, f"the GeoJSON is not valid JSON: {exc.msg} at line "
                              f"{exc.lineno}, column {exc.colno}; expected a GeoJSON "
                              "FeatureCollection", code="json")]
    if not isinstance(doc, dict) or doc.get("type") not in ("FeatureCollection", "Feature"):
        got = doc.get("type") if isinstance(doc, dict) else type(doc).__name__
        return None, [Problem(name, f"the JSON is a {got!r}, not GeoJSON; expected a "
                              "FeatureCollection", code="format")]
    if doc["type"] == "FeatureCollection" and "features" not in doc:
        return None, [Problem(name, "the FeatureCollection has no 'features' member; "
                              f"found {sorted(map(str, doc))}; expected \"features\": "
                              "[ ...features... ]", column="features", code="format")]
    features = doc["features"] if doc["type"] == "FeatureCollection" else [doc]
    if not isinstance(features, list):
        return None, [Problem(name, f"'features' is a {type(features).__name__}; expected "
                              "a list of features", column="features", code="format")]
    if not features:
        return None, [Problem(name, "the FeatureCollection has no features; expected at least "
                              "one", code="empty")]
    crs, problems = _declared_crs(doc.get("crs"), name)
    if crs is None:
        return None, problems
    geoms: list[object] = []
    props: list[dict] = []
    for i, feat in enumerate(features, start=1):
        geom, prop = _feature(feat, name, i, problems)
        geoms.append(geom)
        props.append(prop)
    frame = pd.DataFrame(props)
    gdf = gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, crs=crs), crs=crs)
    gdf.attrs["crs_declared"] = "crs" in doc
    return gdf, problems


def _collection_depth(geometry: object) -> int:
    """How deeply GeometryCollections nest in a GeoJSON geometry (iterative, no recursion)."""
    deepest, stack = 0, [(geometry, 0)]
    while stack:
        g, level = stack.pop()
        if isinstance(g, dict) and g.get("type") == "GeometryCollection":
            deepest = max(deepest, level + 1)
            parts = g.get("geometries")
            if isinstance(parts, list):
                stack.extend((part, level + 1) for part in parts)
    return deepest


def _feature(feat: object, name: str, row: int,
             problems: list[Problem]) -> tuple[object, dict[str, object]]:
    """One feature's geometry and properties; problems (naming ``row``) added to ``problems``."""
    if not isinstance(feat, dict):
        problems.append(Problem(name, f"feature is a {type(feat).__name__}; expected an "
                                "object", row=row, code="format"))
        return None, {}
    raw_props = feat.get("properties")
    if raw_props is not None and not isinstance(raw_props, dict):
        problems.append(Problem(name, f"'properties' is a {type(raw_props).__name__} "
                                f"({_short(raw_props)}); expected an object of name/value "
                                "pairs, or null", row=row, column="properties",
                                code="format"))
        raw_props = None
    p = dict(raw_props or {})
    if "id" not in p and feat.get("id") is not None:
        p["id"] = feat["id"]
    g = feat.get("geometry")
    if g is None:
        return None, p
    depth = _collection_depth(g)
    if depth > MAX_COLLECTION_DEPTH:
        problems.append(Problem(name, f"the geometry is a GeometryCollection nested {depth} "
                                f"deep; expected a Point, LineString or Polygon geometry "
                                f"(collections nested at most {MAX_COLLECTION_DEPTH} deep)",
                                row=row, column="geometry", code="too_deep"))
        return shapely.Point(), p
    try:
        return shapely.geometry.shape(g), p
    except Exception as exc:
        problems.append(Problem(name, f"the geometry cannot be read ({exc}); expected a "
                                "GeoJSON geometry", row=row, column="geometry",
                                code="bad_geometry"))
        return shapely.Point(), p  # marked bad above; becomes an empty geometry


def _short(value: object, limit: int = 60) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _declared_crs(member: object, name: str) -> tuple[CRS | None, list[Problem]]:
    """The CRS a GeoJSON ``crs`` member declares (absent: WGS84), or None and the problem."""
    if member is None:
        return CRS.from_user_input(STORAGE_CRS), []
    example = ('{"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::27700"}} '
               "(or no crs member: GeoJSON is WGS84 longitude/latitude)")
    declared = member.get("properties", {}).get("name") if isinstance(member, dict) and \
        isinstance(member.get("properties"), dict) else None
    if not isinstance(declared, str):
        what = (f"a {type(member).__name__} ({_short(member)})" if not isinstance(member, dict)
                else f"an object without properties.name ({_short(member)})")
        return None, [Problem(name, f"the 'crs' member is {what}; expected {example}",
                              column="crs", code="crs")]
    if "CRS84" in declared or "4326" in declared:
        return CRS.from_user_input(STORAGE_CRS), []
    try:
        return CRS.from_user_input(declared), []
    except CRSError:
        return None, [Problem(name, f"the declared CRS {declared!r} is not a known coordinate "
                              "reference system; expected a known code such as "
                              "urn:ogc:def:crs:EPSG::27700 (British National Grid) or "
                              "urn:ogc:def:crs:OGC:1.3:CRS84 (WGS84)", column="crs",
                              code="crs")]


def read_gpkg(raw: bytes, name: str, kind: str) -> tuple[gpd.GeoDataFrame | None, list[Problem]]:
    """Read the layer named ``kind`` (else the first) of GeoPackage bytes, and its problems."""
    import tempfile

    import pyogrio

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "upload.gpkg"
        path.write_bytes(raw)
        try:
            layers = [str(row[0]) for row in pyogrio.list_layers(path)]
        except Exception as exc:
            return None, [Problem(name, f"the GeoPackage cannot be opened "
                                  f"({_named(exc, path, name)}); expected a valid GeoPackage",
                                  code="format")]
        if not layers:
            return None, [Problem(name, "the GeoPackage has no layers; expected one",
                                  code="empty")]
        layer = kind if kind in layers else layers[0]
        try:
            gdf = pyogrio.read_dataframe(path, layer=layer)
        except Exception as exc:
            return None, [Problem(name, f"layer {layer!r} cannot be read "
                                  f"({_named(exc, path, name)})", code="format")]
    problems: list[Problem] = []
    if len(layers) > 1 and kind not in layers:
        problems.append(Problem(name, f"the GeoPackage has layers {layers}; read {layer!r} "
                                f"(name a layer {kind!r} to choose)", severity="warning",
                                code="layer_choice"))
    if not isinstance(gdf, gpd.GeoDataFrame):
        return None, [Problem(name, f"layer {layer!r} has no geometry column; expected a "
                              "spatial layer", code="format")]
    gdf.attrs["crs_declared"] = gdf.crs is not None
    return gdf, problems


def _named(exc: Exception, path: Path, name: str) -> str:
    """An exception's text with the server's temporary path replaced by the file's name."""
    return str(exc).replace(str(path), name).replace(str(path.parent), "")


def is_osm(frame: gpd.GeoDataFrame) -> bool:
    """True when ``frame`` looks like an OpenStreetMap POI export (ids like ``node/123``)."""
    return bool(is_osm_poi_frame(frame))


def read_osm_places(frame: gpd.GeoDataFrame, name: str) -> LayerRead:
    """Classify an OSM POI frame, keeping every row (``layer`` = ``other`` if no rule)."""
    tags = frame.drop(columns="geometry")
    records = tags.to_dict("records")
    rules = [matching_rule({k: v for k, v in r.items() if isinstance(v, str)}) for r in records]
    out = _osm_place_columns(frame)
    out["layer"] = [(r.layer if r else None) or "other" for r in rules]
    out["rule"] = [r.rule_id if r else NO_RULE for r in rules]
    out["category"] = [
        (rule.category if rule else None)
        or r.get("amenity") or r.get("shop") or r.get("leisure") or None
        for rule, r in zip(rules, records, strict=True)
    ]
    result = finish_geo(out, [], name, schema_for("safe_places"), extra=("layer", "rule"))
    result.kind = "places"
    return result


def _osm_place_columns(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The place columns of an OSM POI frame (id, name, address, opening hours, source)."""
    tags = frame.drop(columns=frame.geometry.name).to_dict("records")
    address = [osm_address(t) for t in tags]
    out = gpd.GeoDataFrame(
        {
            "id": column_or_none(frame, "id").astype(str),
            "name": column_or_none(frame, "name"),
            "address": address,
            "opening_hours": column_or_none(frame, "opening_hours"),
            "source": OSM_SOURCE,
        },
        geometry=frame.geometry,
        crs=frame.crs,
    )
    return out


def finish_geo(
    frame: gpd.GeoDataFrame | None,
    problems: list[Problem],
    name: str,
    schema: LayerSchema,
    *,
    total_rows: int | None = None,
    located_checked: bool = False,
    repair: bool = False,
    extra: tuple[str, ...] = (),
) -> LayerRead:
    """Validate a GeoDataFrame's columns and geometries; conform it to the schema."""
    result = LayerRead(name, schema.kind, empty_layer(schema.kind), problems=list(problems))
    if frame is None:
        return result
    result.total_rows = total_rows if total_rows is not None else len(frame)
    if schema.kind in ("youth_centres", "safe_places") and not extra and is_osm(frame):
        frame = _keep_osm_layer(frame, schema.kind, result)
    frame = _canonical_columns(frame, schema, result)
    if frame is None:
        return result
    error, present, frame = _geometry_errors(frame, problems, schema, result, repair=repair)
    live = present & ~error
    if not located_checked and live.any():
        error |= check_geo_coordinates(frame, live, name, result.problems)
    error |= _no_location(~present & ~error, schema, result)
    out = frame[~error]
    if out.crs is not None and not out.crs.equals(STORAGE_CRS) and len(out):
        out = out.to_crs(STORAGE_CRS)
    result.gdf = conform(out, schema, extra=extra)
    return result


def _keep_osm_layer(frame: gpd.GeoDataFrame, kind: str, result: LayerRead) -> gpd.GeoDataFrame:
    """Keep the features of an OSM POI frame that the tag rules put in layer ``kind``."""
    kept = osm_to_layers(frame)[kind]
    result.notes.append(
        f"OpenStreetMap file: {len(kept)} of {len(frame)} features are {kind} by "
        "the tag rules in docs/osm-classification.md; the rest are not imported as "
        f"{kind}"
    )
    result.total_rows = len(kept)
    return kept.reset_index(drop=True)


def _canonical_columns(
    frame: gpd.GeoDataFrame, schema: LayerSchema, result: LayerRead
) -> gpd.GeoDataFrame | None:
    """Rename to canonical columns and make missing ids; None (with problems) if unusable."""
    name = result.file
    doubled = duplicate_columns([str(c) for c in frame.columns])
    if doubled:
        result.problems.append(
            Problem(name, f"duplicate column names: {doubled}; expected each column once "
                    "(names differing only in case or spaces count as the same)",
                    code="duplicate_columns"))
        return None
    if schema.kind == "areas" and not any(norm_column(c) == "level" for c in frame.columns):
        frame["level"] = area_level(list(frame.columns))
    frame = apply_aliases(frame, schema)
    missing = [c for c in schema.required_columns if c not in frame.columns]
    if "id" in missing and schema.kind != "areas":
        frame["id"] = stable_ids(frame.drop(columns="geometry").astype("string")
                                 .assign(_wkt=frame.geometry.to_wkt()),
                                 [*[c for c in frame.columns if c != "geometry"], "_wkt"],
                                 f"{schema.kind[:4]}-")
        missing.remove("id")
        result.notes.append("the file has no id column: stable ids were made from each row")
    if missing:
        result.problems.append(
            Problem(name, f"missing required column(s) {missing}; found {list(frame.columns)}; "
                    f"expected {schema.required_columns} (or an accepted spelling)",
                    code="missing_columns")
        )
        return None
    if frame.crs is None:
        result.problems.append(
            Problem(name, "the layer has no CRS; expected one (GeoJSON is WGS84 lon/lat by "
                    "definition; a GeoPackage layer must declare its CRS)", code="crs")
        )
        return None
    return frame


def _geometry_errors(
    frame: gpd.GeoDataFrame,
    problems: list[Problem],
    schema: LayerSchema,
    result: LayerRead,
    *,
    repair: bool,
) -> tuple[np.ndarray, np.ndarray, gpd.GeoDataFrame]:
    """Find empty, wrongly typed and invalid geometries (repairing them if asked).

    Returns ``(error, present, frame)``: rows to leave out, rows with a geometry, and
    the frame (with repaired geometries when ``repair``).
    """
    name = result.file
    arr = frame.geometry.to_numpy()
    present = ~shapely.is_missing(arr)
    error = np.zeros(len(frame), dtype=bool)
    bad_rows = {p.row for p in problems if p.row is not None and p.severity == "error"}
    if bad_rows:
        error[np.array(sorted(bad_rows)) - 1] = True
    expected = " or ".join(schema.geometry_types)
    empty = present & shapely.is_empty(np.where(present, arr, shapely.Point()))
    for i in np.flatnonzero(empty & ~error):
        result.problems.append(Problem(name, f"the geometry is empty; expected a {expected}",
                                       row=int(i + 1), column="geometry", code="empty_geometry"))
    error |= empty
    live = present & ~error
    types = np.array(shapely.get_type_id(np.where(live, arr, None)))
    wrong = live & ~np.isin(np.where(types >= 0, _TYPE_NAMES[np.clip(types, 0, 7)], ""),
                            schema.geometry_types)
    for i in np.flatnonzero(wrong):
        result.problems.append(Problem(name, f"geometry is a {_TYPE_NAMES[types[i]]}; expected "
                                       f"{expected}", row=int(i + 1),
                                       column="geometry", code="geometry_type"))
    error |= wrong
    error |= _not_finite(arr, present & ~error, result)
    live = present & ~error
    invalid = live & ~shapely.is_valid(np.where(live, arr, shapely.Point(0, 0)))
    for i in np.flatnonzero(invalid):
        result.problems.append(_invalid_problem(name, arr[i], int(i + 1), repair=repair))
    if repair and invalid.any():
        fixed = frame.geometry.copy()
        repaired = shapely.make_valid(arr[invalid], method="structure", keep_collapsed=False)
        fixed.iloc[np.flatnonzero(invalid)] = repaired
        frame = frame.set_geometry(fixed)
        lost = np.flatnonzero(invalid)[shapely.is_empty(repaired)]
        for i in lost:  # nothing left to map: refused, never kept as an empty "mapped" row
            result.problems.append(Problem(
                name, "invalid geometry could not be repaired: make_valid left nothing; "
                f"expected a {expected}", row=int(i + 1), column="geometry",
                code="invalid_geometry"))
        error[lost] = True
    else:
        error |= invalid
    return error, present, frame


def _not_finite(arr: np.ndarray, live: np.ndarray, result: LayerRead) -> np.ndarray:
    """Rows whose geometry has a NaN or infinite coordinate (errors, never repaired)."""
    bad = np.zeros(len(arr), dtype=bool)
    rows = np.flatnonzero(live)
    if not len(rows):
        return bad
    coords, index = shapely.get_coordinates(arr[rows], return_index=True)
    bad[rows[np.unique(index[~np.isfinite(coords).all(axis=1)])]] = True
    for i in np.flatnonzero(bad):
        result.problems.append(Problem(
            result.file, "a coordinate is not a finite number (NaN or Infinity); expected "
            "longitude/latitude or easting/northing numbers", row=int(i + 1),
            column="geometry", code="not_finite"))
    return bad


def _invalid_problem(name: str, geom: shapely.Geometry, row: int, *, repair: bool) -> Problem:
    """The problem for one invalid geometry: a warning when repaired, else an error."""
    reason = shapely.is_valid_reason(geom)
    if repair:
        return Problem(name, f"invalid geometry ({reason}) was repaired with make_valid",
                       row=row, column="geometry", severity="warning", code="repaired_geometry")
    return Problem(name, f"invalid geometry ({reason}); expected a valid geometry (import "
                   "without --no-repair to repair it with make_valid, or fix it in QGIS)",
                   row=row, column="geometry", code="invalid_geometry")


def _no_location(no_loc: np.ndarray, schema: LayerSchema, result: LayerRead) -> np.ndarray:
    """Report rows with no geometry; return those that are errors (areas need a boundary)."""
    error = np.zeros(len(no_loc), dtype=bool)
    if not no_loc.any():
        return error
    if not schema.geometry_required:
        warn_no_location(result, no_loc, result.file, "geometry")
        return error
    sev = "error" if schema.kind == "areas" else "warning"
    for i in np.flatnonzero(no_loc):
        result.problems.append(Problem(
            result.file, "no geometry: " + ("expected a boundary polygon" if sev == "error"
                                            else "kept and counted, but not mapped"),
            row=int(i + 1), column="geometry", severity=sev, code="no_location"))
    if schema.kind == "areas":
        return no_loc.copy()
    result.notes.append(f"{int(no_loc.sum())} rows have no location: kept and "
                        "counted, not mapped")
    return error
