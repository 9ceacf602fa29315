"""Gather the layers a command or page works on: from files, from the store, or both.

Files given on the command line win over the store, so a user can point ctxmap at a
fresh police.uk download without importing it first. Files that cannot be used raise
:class:`~ctxmap.errors.InputError` with the full validation report.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

from ctxmap.analysis.areas import study_area as choose_study_area
from ctxmap.errors import InputError
from ctxmap.layers.conform import empty_layer
from ctxmap.layers.readers import read_layer, read_places
from ctxmap.layers.schemas import PLACE_KINDS, STORAGE_CRS, schema_for
from ctxmap.store.opening import open_store, store_exists
from ctxmap.store.protocol import Store

PathLike = str | os.PathLike[str]


def open_existing_store(store_path: PathLike | None) -> Store | None:
    """Open the store (a GeoPackage path or a ``postgresql://`` URL) if it exists, else None.

    Never creates one: a command given only files leaves no store behind.
    """
    return open_store(store_path, create=False) if store_exists(store_path) else None


def load_layer(store_path: PathLike | None, kind: str, files: Sequence[PathLike] = ()) -> (
    gpd.GeoDataFrame
):
    """Load one layer kind from ``files`` if given, else from the store (empty if none)."""
    if files:
        frames = [read_layer(f, kind).raise_if_unusable().gdf for f in files]
        return _concat(frames, kind)
    store = open_existing_store(store_path)
    return store.read(kind) if store else empty_layer(kind)


def load_incidents(store_path: PathLike | None, incidents_file: PathLike | None) -> (
    gpd.GeoDataFrame
):
    """Incidents from a file (police.uk or other CSV, GeoJSON, GeoPackage) or the store.

    Rows with no location are kept with a null geometry.
    """
    return load_layer(store_path, "incidents", [incidents_file] if incidents_file else [])


def load_places(
    store_path: PathLike | None,
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
    store = open_existing_store(store_path)
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


def study_area(
    areas: gpd.GeoDataFrame, incidents: gpd.GeoDataFrame | None = None, *, buffer_m: float = 0.0
) -> tuple[shapely.Geometry, str]:
    """The study area (in the layers' CRS) and a sentence saying how it was chosen.

    A thin wrapper of :func:`ctxmap.analysis.areas.study_area` (the district outline, else all
    areas, else the buffered convex hull of the located incidents).
    """
    chosen = choose_study_area(areas if len(areas) else None, incidents, buffer_m=buffer_m)
    return chosen.geometry, chosen.description


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
