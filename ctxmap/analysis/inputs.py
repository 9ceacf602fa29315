"""Gather the layers a command or page works on: from files, from the store, or both.

Files given on the command line win over the store, so a user can point ctxmap at a
fresh police.uk download without importing it first. Files that cannot be used raise
:class:`~ctxmap.errors.InputError` with the full validation report.

The *store* argument of the loaders is a :class:`~ctxmap.store.protocol.Store`, a store
path or URL (opened when it exists), or ``None``: no store (files only; nothing falls back
to the bundled sample here).

:func:`study_area` (and :func:`resolve_study_area`) is THE way to get the study area: the
one given (``--study-area FILE|AREA_CODE``), else the one set in the store; never guessed.
:func:`check_overlap` and :func:`check_origin_near` stop inputs that lie elsewhere.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from ctxmap.analysis.areas import StudyArea
from ctxmap.errors import InputError
from ctxmap.layers.conform import empty_layer
from ctxmap.layers.crs import analysis_crs
from ctxmap.layers.geometry import located_mask
from ctxmap.layers.read_result import LayerRead
from ctxmap.layers.readers import read_layer, read_layer_bytes, read_places
from ctxmap.layers.schemas import PLACE_KINDS, STORAGE_CRS, schema_for
from ctxmap.store.marks import StoredStudyArea, make_study_area, read_study_area
from ctxmap.store.opening import open_store, store_exists
from ctxmap.store.protocol import Store

PathLike = str | os.PathLike[str]
#: A store, a store's path or URL, or ``None`` (no store).
StoreArg = Store | str | os.PathLike[str] | None

#: How to set a study area, for messages.
HOW_TO_SET_STUDY_AREA = (
    "set one with 'python -m ctxmap init --store STORE --study-area FILE' (a new store), "
    "'python -m ctxmap import FILE --layer areas --study-area --store STORE', the Import "
    "page, or give --study-area FILE|AREA_CODE"
)
#: An origin or layer further than this from the study area (or the layers) is elsewhere.
NEAR_M = 10_000.0


def open_existing_store(store_path: PathLike | None) -> Store | None:
    """Open the store (a GeoPackage path or a ``postgresql://`` URL) if it exists, else None.

    Never creates one: a command given only files leaves no store behind.
    """
    return open_store(store_path, create=False) if store_exists(store_path) else None


def as_store(store: StoreArg) -> Store | None:
    """The store ``store`` names: itself, the store at a path/URL if it exists, or None."""
    if store is None or isinstance(store, Store):
        return store
    return open_existing_store(store)


def load_layer(store_path: StoreArg, kind: str, files: Sequence[PathLike] = ()) -> (
    gpd.GeoDataFrame
):
    """Load one layer kind from ``files`` if given, else from the store (empty if none)."""
    if files:
        frames = [read_layer(f, kind).raise_if_unusable().gdf for f in files]
        return _concat(frames, kind)
    store = as_store(store_path)
    return store.read(kind) if store else empty_layer(kind)


def load_incidents(store_path: StoreArg, incidents_file: PathLike | None) -> (
    gpd.GeoDataFrame
):
    """Incidents from a file (police.uk or other CSV, GeoJSON, GeoPackage) or the store.

    Rows with no location are kept with a null geometry.
    """
    return load_layer(store_path, "incidents", [incidents_file] if incidents_file else [])


def load_places(
    store_path: StoreArg,
    places_files: Sequence[PathLike] = (),
    kinds: Sequence[str] | None = None,
    as_layer: str | None = None,
) -> gpd.GeoDataFrame:
    """Places with a ``layer`` column, from files or from the store.

    Parameters
    ----------
    store_path
        The store to read when no files are given.
    places_files
        Place files. A row's layer comes from ``as_layer``, the file's own ``layer``
        column, or the tag rules of ``docs/osm-classification.md`` (OSM tags, or a plain
        list's ``category`` and ``name``): see :func:`ctxmap.layers.readers.read_places`.
        Rows that are not a place are left out; ``attrs["notes"]`` says how many, per
        file, for the command to print.
    kinds
        Place layers to keep (default: every layer).
    as_layer
        ``safe_places`` or ``youth_centres``: take every row of the files as that layer.

    Raises
    ------
    InputError
        When files with rows give no place at all (or none of ``kinds``), saying why.
    """
    if places_files:
        return _places_from_files(places_files, kinds, as_layer)
    store = as_store(store_path)
    wanted = list(kinds) if kinds is not None else list(PLACE_KINDS)
    unknown = [k for k in wanted if k not in PLACE_KINDS]
    if unknown:
        raise InputError(f"unknown place layer(s) {unknown}; expected some of {PLACE_KINDS}")
    frames = []
    for kind in wanted:
        g = store.read(kind) if store else empty_layer(kind)
        g = g[[c for c in schema_for("safe_places").column_names] + ["geometry"]].copy()
        g["layer"] = kind
        frames.append(g)
    return _concat(frames, "safe_places", extra=["layer"])


def _places_from_files(
    files: Sequence[PathLike], kinds: Sequence[str] | None, as_layer: str | None
) -> gpd.GeoDataFrame:
    """The place rows of ``files`` (see :func:`load_places`)."""
    if as_layer is not None and as_layer not in PLACE_KINDS:
        raise InputError(f"--as {as_layer!r}; expected safe_places or youth_centres")
    frames, notes, read = [], [], 0
    for f in files:
        gdf = read_places(f, as_layer=as_layer).raise_if_unusable().gdf
        read += len(gdf)
        place = gdf["layer"].isin(list(PLACE_KINDS)).to_numpy()
        if not place.all():
            notes.append(
                f"{Path(f).name}: {int((~place).sum())} of {len(gdf)} rows are not a place by "
                "the tag rules (docs/osm-classification.md) and were left out; "
                "--as safe_places or --as youth_centres takes every row as that layer")
        frames.append(gdf[place].drop(columns="rule"))
    out = _concat(frames, "safe_places", extra=["layer"])
    if read and out.empty:
        raise InputError(
            f"none of the {read} rows of {describe_files(files)} is a place by the tag rules "
            "(docs/osm-classification.md); expected OSM tags or a category such as library, "
            "pharmacy or youth centre, or give --as safe_places|youth_centres")
    if kinds is not None:
        found = sorted(set(out["layer"]))
        out = out[out["layer"].isin(list(kinds))].reset_index(drop=True)
        if out.empty:
            raise InputError(
                f"{describe_files(files)} hold places in {', '.join(found)} but none in "
                f"{', '.join(kinds)}; expected places of those layers (or give --as)")
    out.attrs["notes"] = notes
    return out


def read_study_area_file(path: PathLike, *, label: str | None = None) -> StoredStudyArea:
    """The study area an outline file gives: the union of its polygons (EPSG:4326).

    Invalid outlines are repaired with ``make_valid``. ``label`` defaults to the file's
    one ``name`` when it has a single row, else the file's stem.
    """
    return outline_study_area(read_layer(path, "areas", repair=True), Path(path).name, label)


def read_study_area_bytes(raw: bytes, file_name: str, *, label: str | None = None) -> (
    StoredStudyArea
):
    """As :func:`read_study_area_file`, for an uploaded file's bytes named ``file_name``."""
    result = read_layer_bytes(raw, "areas", name=file_name, suffix=Path(file_name).suffix,
                              repair=True)
    return outline_study_area(result, file_name, label)


def outline_study_area(result: LayerRead, file_name: str, label: str | None = None) -> (
    StoredStudyArea
):
    """The study area of a read areas file: the union of its located outlines."""
    return outline_from_frame(result.raise_if_unusable().gdf, file_name, label)


def outline_from_frame(gdf: gpd.GeoDataFrame, file_name: str, label: str | None = None) -> (
    StoredStudyArea
):
    """The study area of areas rows (EPSG:4326): the union of the located outlines.

    ``label`` defaults to the rows' one ``name``, else the stem of ``file_name``.
    """
    gdf = gdf[located_mask(gdf)]
    if gdf.empty:
        raise InputError(f"{file_name}: no located outline; expected a polygon layer "
                         "(e.g. the ONS local authority district boundary)")
    names = gdf["name"].dropna().astype(str).unique() if "name" in gdf.columns else []
    chosen = label or (names[0] if len(names) == 1 else Path(file_name).stem)
    return make_study_area(shapely.union_all(gdf.geometry.to_numpy()), chosen, file_name)


def _area_by_code(store: Store | None, areas: gpd.GeoDataFrame | None,
                  code: str) -> StoredStudyArea:
    frame = areas if areas is not None else (store.read("areas") if store else None)
    if frame is None or frame.empty:
        raise InputError(f"--study-area {code!r} is neither a file nor an area code: there are "
                         "no stored areas; expected an outline file or the code of a stored "
                         "area (import areas with: python -m ctxmap import FILE --layer areas)")
    hit = frame[frame["id"].astype(str) == code]
    if hit.empty:
        levels = ", ".join(f"{lv} ({n})" for lv, n in frame["level"].astype(str)
                           .value_counts().sort_index().items())
        example = ", ".join(frame["id"].astype(str).head(3))
        raise InputError(f"--study-area {code!r} is neither a file nor a stored area code; "
                         f"expected an outline file or a code of the stored areas ({levels}; "
                         f"e.g. {example})")
    row = hit.iloc[0]
    label = str(row["name"]) if pd.notna(row.get("name")) else code
    return make_study_area(row.geometry, label, f"area {code} ({row['level']})")


def resolve_study_area(
    store: StoreArg,
    given: PathLike | None = None,
    *,
    areas: gpd.GeoDataFrame | None = None,
) -> StudyArea:
    """THE study area of an analysis: the one ``given``, else the one set in the store.

    Parameters
    ----------
    store
        The store (or its path/URL; ``None``: no store).
    given
        ``--study-area``: an outline file (its union), or the code (``id``) of an area in
        ``areas`` or the store.
    areas
        Areas to look a code up in (default: the store's).

    Returns
    -------
    StudyArea
        In EPSG:4326; ``name`` is the label (e.g. ``"Rutland"``), ``description`` says how
        it was set: ``"Rutland (393.7 km², from rutland_lad.geojson)"``.

    Raises
    ------
    InputError
        When none is given or set (never guessed from the areas or the incidents), or the
        file or code cannot be used.
    """
    opened = as_store(store)
    if given is not None and str(given).strip():
        text = str(given).strip()
        if Path(text).is_file():
            chosen = read_study_area_file(text)
        elif Path(text).suffix.lower() in (".geojson", ".json", ".gpkg", ".shp", ".zip"):
            raise InputError(f"--study-area {text}: no such file")
        else:
            chosen = _area_by_code(opened, areas, text)
    else:
        stored = read_study_area(opened) if opened is not None else None
        if stored is None:
            where = f"the store {opened.path}" if opened is not None else "no store"
            raise InputError(f"no study area is set ({where}); the baseline needs one: "
                             f"{HOW_TO_SET_STUDY_AREA}")
        chosen = stored
    return StudyArea(chosen.geometry, STORAGE_CRS, name=chosen.label,
                     description=chosen.description)


def study_area(
    source: StoreArg | gpd.GeoDataFrame,
    incidents: gpd.GeoDataFrame | None = None,
    *,
    buffer_m: float = 0.0,
    given: PathLike | None = None,
) -> tuple[BaseGeometry, str]:
    """The study area (EPSG:4326) and the sentence naming it: see :func:`resolve_study_area`.

    ``source`` is a store (or its path/URL), or an areas layer: then the study area is
    ``given`` (a file or an area code of those areas), else the one ``"district"`` outline
    among them; anything else raises :class:`InputError` saying how to set one. The
    ``incidents`` and ``buffer_m`` arguments of earlier versions are accepted and unused:
    a study area is never guessed from the incidents.
    """
    del incidents, buffer_m
    if isinstance(source, gpd.GeoDataFrame):
        if given is not None:
            sa = resolve_study_area(None, given, areas=source)
            return sa.geometry, sa.description
        districts = source[source["level"].astype(str) == "district"] if len(source) else source
        if len(districts) != 1:
            raise InputError(f"no study area is set and the areas hold {len(districts)} "
                             f"district outline(s); expected exactly one: "
                             f"{HOW_TO_SET_STUDY_AREA}")
        row = districts.iloc[0]
        chosen = make_study_area(row.geometry, str(row["name"] or row["id"]),
                                 f"area {row['id']} (district)")
        return chosen.geometry, chosen.description
    sa = resolve_study_area(source, given)
    return sa.geometry, sa.description


def _bounds_text(bounds: tuple[float, float, float, float] | np.ndarray) -> str:
    minx, miny, maxx, maxy = (float(v) for v in bounds)
    return f"lat {miny:.4f} to {maxy:.4f}, lon {minx:.4f} to {maxx:.4f}"


def check_overlap(what: str, layer: gpd.GeoDataFrame, area: StudyArea | BaseGeometry,
                  area_name: str) -> int:
    """Stop when every located row of ``layer`` lies further than :data:`NEAR_M` from ``area``.

    Returns how many lie inside. ``layer`` and ``area`` are EPSG:4326. A layer with no
    located row passes (other checks say it is empty). The error names both extents in lat/lon.
    """
    geom = area.geometry if isinstance(area, StudyArea) else area
    located = layer.geometry[located_mask(layer)]
    if located.empty:
        return 0
    inside = int(shapely.intersects(geom, located.to_numpy()).sum())
    if inside:
        return inside
    metric = analysis_crs(gpd.GeoDataFrame(geometry=[geom], crs=STORAGE_CRS))
    area_m = gpd.GeoSeries([geom], crs=STORAGE_CRS).to_crs(metric).iloc[0]
    near = located.to_crs(metric).distance(area_m)
    if float(near.min()) <= NEAR_M:
        return 0
    raise InputError(
        f"the {len(located):,} located {what} ({_bounds_text(located.total_bounds)}) lie "
        f"outside {area_name} ({_bounds_text(geom.bounds)}), the nearest "
        f"{float(near.min()) / 1000:,.1f} km away; expected {what} of the same area: name "
        "the store for their area with --store (or CTXMAP_STORE), or give --study-area"
    )


def check_origin_near(lat: float, lon: float, extent: BaseGeometry, extent_name: str) -> None:
    """Stop when the origin is more than :data:`NEAR_M` from ``extent`` (EPSG:4326)."""
    point = shapely.Point(lon, lat)
    metric = analysis_crs(gpd.GeoDataFrame(geometry=[point], crs=STORAGE_CRS))
    both = gpd.GeoSeries([point, extent], crs=STORAGE_CRS).to_crs(metric)
    away = float(both.iloc[0].distance(both.iloc[1]))
    if away > NEAR_M:
        raise InputError(
            f"the origin (lat {lat:.4f}, lon {lon:.4f}) is {away / 1000:,.1f} km from "
            f"{extent_name} ({_bounds_text(extent.bounds)}); expected an origin within "
            f"{NEAR_M / 1000:g} km of it: name the store for that area with --store (or "
            "CTXMAP_STORE), or give --places files of that area"
        )


def layers_extent(*layers: gpd.GeoDataFrame) -> BaseGeometry | None:
    """The bounding box (EPSG:4326) of the located rows of ``layers``, or ``None``."""
    parts = [g.geometry[located_mask(g)] for g in layers if len(g)]
    parts = [p for p in parts if not p.empty]
    if not parts:
        return None
    bounds = np.array([p.total_bounds for p in parts])
    return shapely.box(bounds[:, 0].min(), bounds[:, 1].min(), bounds[:, 2].max(),
                       bounds[:, 3].max())


def _concat(frames: list[gpd.GeoDataFrame], kind: str, extra: Sequence[str] = ()) -> (
    gpd.GeoDataFrame
):
    frames = [f for f in frames if len(f)]
    if not frames:
        out = empty_layer(kind)
        for c in extra:
            out[c] = pd.Series([], dtype="object")
        return out
    out = pd.concat(frames, ignore_index=True)
    return gpd.GeoDataFrame(out, geometry="geometry", crs=STORAGE_CRS)


def describe_files(files: Sequence[PathLike]) -> str:
    """A short list of file names for messages."""
    return ", ".join(Path(f).name for f in files)
