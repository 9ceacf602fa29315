"""Read layer files: the entry points, which sniff a file's real format and hand it on.

Police.uk CSV, lat/lon or easting/northing CSV (:mod:`ctxmap.layers.read_csv`), GeoJSON
and GeoPackage (:mod:`ctxmap.layers.read_geo`). Every reader validates as it reads and
collects *every* problem before reporting, each naming the file, row and column and
saying what arrived and what was expected. The result is a
:class:`~ctxmap.layers.read_result.LayerRead`: a GeoDataFrame in EPSG:4326 with the
canonical columns of the layer's schema (see :mod:`ctxmap.layers.schemas`), and the
problems.

Rows are numbered from 1 after the header (row 1 is line 2 of a CSV file); GeoJSON
and GeoPackage rows are features, numbered from 1.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Final

import geopandas as gpd
import pandas as pd

from ctxmap.errors import InputError, Problem
from ctxmap.layers.conform import empty_layer
from ctxmap.layers.osm import NO_RULE, category_rule
from ctxmap.layers.osm_rules import tag_text
from ctxmap.layers.read_csv import read_csv
from ctxmap.layers.read_geo import finish_geo, is_osm, read_geojson, read_gpkg, read_osm_places
from ctxmap.layers.read_result import LayerRead
from ctxmap.layers.schemas import LayerKind, LayerSchema, schema_for

#: The ``rule`` of rows whose layer was given with ``--as``, and of rows whose file says it.
AS_RULE: Final = "--as"
LAYER_COLUMN_RULE: Final = "layer column"

TEXT_EXTENSIONS: Final = {".csv": "csv", ".txt": "csv", ".geojson": "json", ".json": "json"}
BINARY_EXTENSIONS: Final = {".gpkg": "gpkg"}


# --------------------------------------------------------------------------- sniffing


def _sniff(raw: bytes) -> str:
    """Guess a file's real format from its first bytes."""
    head = raw[:4096]
    if head.startswith(b"SQLite format 3\x00"):
        return "gpkg"
    if head.startswith(b"PK\x03\x04"):
        return "zip"
    if head.startswith(b"%PDF"):
        return "pdf"
    if b"\x00" in head:
        return "binary"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text[:1] in (b"{", b"["):
        return "json"
    if text[:1] == b"<":
        return "xml/html"
    return "csv"


_FORMAT_WORDS: Final = {
    "gpkg": "a GeoPackage (SQLite) file",
    "zip": "a ZIP archive",
    "pdf": "a PDF document",
    "binary": "binary data",
    "json": "JSON text",
    "xml/html": "XML or HTML text",
    "csv": "CSV text",
}


def _decode(raw: bytes, name: str) -> tuple[str | None, list[Problem]]:
    """Decode UTF-8 (with or without BOM); name the line of the first bad byte."""
    try:
        return raw.decode("utf-8-sig"), []
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        bad = raw[exc.start : exc.start + 1].hex().upper()
        msg = (
            f"the file is not UTF-8: byte 0x{bad} at line {line} (byte offset {exc.start}) "
            "cannot be decoded; expected UTF-8 text. Re-save it as UTF-8 "
            "(it may be Windows-1252 or Latin-1)"
        )
        return None, [Problem(name, msg, row=max(line - 1, 0) or None, code="encoding")]


# --------------------------------------------------------------------------- entry points


def read_layer(
    path: str | os.PathLike[str], kind: str, *, name: str | None = None, repair: bool = False
) -> LayerRead:
    """Read and validate one layer file.

    Parameters
    ----------
    path
        A ``.csv`` (police.uk street-level, lat/lon or easting/northing), ``.geojson``/
        ``.json`` or ``.gpkg`` file.
    kind
        The layer kind to read it as (see :data:`ctxmap.layers.schemas.LAYER_KINDS`).
        OpenStreetMap POI files read as ``youth_centres`` or ``safe_places`` keep only
        the features the documented tag rules put in that layer.
    name
        The file name to show in messages (defaults to the path's name); used for
        uploads whose temporary path means nothing to the user.
    repair
        Repair invalid geometries with ``shapely.make_valid`` (reported as warnings)
        instead of rejecting them.

    Returns
    -------
    LayerRead
        Never raises for bad content: problems are in ``.problems``. Raises
        :class:`InputError` only when the file cannot be opened at all.
    """
    schema = schema_for(kind)
    path = Path(path)
    shown = name or path.name
    if not path.exists():
        raise InputError(f"{shown}: no such file ({path})")
    if path.is_dir():
        raise InputError(f"{shown}: is a folder; expected a file")
    raw = path.read_bytes()
    return read_layer_bytes(raw, kind, name=shown, suffix=path.suffix, schema=schema,
                            repair=repair)


def read_layer_bytes(
    raw: bytes,
    kind: str,
    *,
    name: str,
    suffix: str,
    schema: LayerSchema | None = None,
    repair: bool = False,
    extra: tuple[str, ...] = (),
) -> LayerRead:
    """Read and validate a layer from bytes (e.g. an upload); see :func:`read_layer`."""
    schema = schema or schema_for(kind)
    empty = LayerRead(name, kind, empty_layer(kind))
    suffix = suffix.lower()
    expected = TEXT_EXTENSIONS.get(suffix) or BINARY_EXTENSIONS.get(suffix)
    if expected is None:
        known = ", ".join(sorted({*TEXT_EXTENSIONS, *BINARY_EXTENSIONS}))
        empty.problems.append(
            Problem(name, f"unsupported file type {suffix or '(none)'!r}; expected one of {known}",
                    code="extension")
        )
        return empty
    if not raw[:4096].strip(b"\xef\xbb\xbf \t\r\n") and not raw.strip(b"\xef\xbb\xbf \t\r\n"):
        empty.problems.append(
            Problem(name, "the file is empty; expected a header row and data rows", code="empty")
        )
        return empty
    actual = _sniff(raw)
    if actual != expected:
        empty.problems.append(
            Problem(
                name,
                f"the file is not what its extension says: {suffix} should be "
                f"{_FORMAT_WORDS[expected]}, but it looks like {_FORMAT_WORDS[actual]}",
                code="format",
            )
        )
        return empty
    if actual == "gpkg":
        frame, problems = read_gpkg(raw, name, kind)
        return finish_geo(frame, problems, name, schema, repair=repair, extra=extra)
    # ASCII is UTF-8: only other files are decoded to find a bad byte's line
    text, problems = ("", []) if raw.isascii() else _decode(raw, name)
    if text is None:
        empty.problems.extend(problems)
        return empty
    if actual == "json":
        frame, problems = read_geojson(text or raw.decode("ascii"), name)
        return finish_geo(frame, problems, name, schema, repair=repair, extra=extra)
    return read_csv(raw, name, schema, extra=extra)  # the CSV parser reads bytes


def read_places(
    path: str | os.PathLike[str], *, name: str | None = None, as_layer: str | None = None
) -> LayerRead:
    """Read a file of places of any kind, keeping every row, each with its layer and rule.

    The result has the place columns plus ``layer`` and ``rule`` (what decided the layer):

    - ``as_layer`` given (``--as safe_places``): every row is in that layer (rule ``--as``);
    - the file's own ``layer`` column, where filled (rule ``layer column``);
    - an OpenStreetMap POI file: the tag rules of ``docs/osm-classification.md``;
    - a plain list (``id, name, category, lat, lon``): the same rules applied to its
      ``category`` and ``name`` (:func:`~ctxmap.layers.osm.category_rule`).

    Rows no rule puts in a layer get ``layer`` ``other``: not a place (rule ``no rule``,
    or the id of the exclusion rule that matched).
    """
    path = Path(path)
    shown = name or path.name
    if not path.exists():
        raise InputError(f"{shown}: no such file ({path})")
    return read_places_bytes(path.read_bytes(), name=shown, suffix=path.suffix,
                             as_layer=as_layer)


def read_places_bytes(
    raw: bytes, *, name: str, suffix: str, as_layer: str | None = None
) -> LayerRead:
    """:func:`read_places` from bytes (e.g. an upload); ``suffix`` is the file's extension."""
    result: LayerRead | None = None
    if suffix.lower() in (".geojson", ".json", ".gpkg") and _sniff(raw) in ("json", "gpkg"):
        frame, problems = (
            read_gpkg(raw, name, "safe_places")
            if _sniff(raw) == "gpkg"
            else read_geojson(raw.decode("utf-8-sig", errors="replace"), name)
        )
        if frame is not None and not problems and is_osm(frame):
            result = read_osm_places(frame, name)
    if result is None:
        result = read_layer_bytes(raw, "safe_places", name=name, suffix=suffix,
                                  extra=("layer",))
        result.kind = "places"
        _classify_rows(result.gdf)
    if as_layer is not None:
        result.gdf["layer"] = as_layer
        result.gdf["rule"] = AS_RULE
    return result


def split_places(places: gpd.GeoDataFrame) -> dict[str, gpd.GeoDataFrame]:
    """The rows of a :func:`read_places` frame per place layer.

    Keys ``safe_places`` and ``youth_centres``, without the ``layer`` and ``rule``
    columns; rows that are not a place are in neither.
    """
    return {kind: places[places["layer"] == kind].drop(columns=["layer", "rule"])
            for kind in ("safe_places", "youth_centres")}


def _classify_rows(gdf: gpd.GeoDataFrame) -> None:
    """Fill ``layer`` and ``rule``: the file's own layer, else the rules on category/name."""
    own = [tag_text(v) for v in gdf["layer"]] if "layer" in gdf.columns else [None] * len(gdf)
    rules = [None if lay is not None else category_rule(cat, nm)
             for lay, cat, nm in zip(own, gdf["category"], gdf["name"], strict=True)]
    gdf["layer"] = [lay if lay is not None else (r.layer if r and r.layer else "other")
                    for lay, r in zip(own, rules, strict=True)]
    gdf["rule"] = [LAYER_COLUMN_RULE if lay is not None else (r.rule_id if r else NO_RULE)
                   for lay, r in zip(own, rules, strict=True)]


def rule_counts(places: pd.DataFrame) -> pd.DataFrame:
    """Rows per (rule, layer) of a :func:`read_places` frame, most first.

    Columns ``rule``, ``layer`` (``other``: not a place) and ``rows``.
    """
    if places.empty:
        return pd.DataFrame({"rule": [], "layer": [], "rows": []})
    counts = places.groupby(["rule", "layer"], sort=False).size().rename("rows").reset_index()
    return counts.sort_values(["rows", "rule"], ascending=[False, True], ignore_index=True)


def file_sha256(path: str | os.PathLike[str]) -> str:
    """Return the hex SHA-256 of a file's bytes (the import log and the network cache key)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def layer_kind(kind: str) -> LayerKind:
    """Validate a layer kind from the command line (:func:`~ctxmap.layers.schemas.schema_for`)."""
    return schema_for(kind).kind
