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
) -> gpd.GeoDataFrame:
    """Places with a ``layer`` column, from files (every row kept) or from the store.

    Parameters
    ----------
    store_path
        The store to read when no files are given.
    places_files
        Place files; each keeps every row (its ``layer`` comes from the file's own
        ``layer`` column, the OpenStreetMap tag rules, or ``places``).
    kinds
        Place layers to keep (default: every layer). With files, rows of other layers
        are dropped only when ``kinds`` is given.
    """
    if places_files:
        frames = []
        for f in places_files:
            result = read_places(f).raise_if_unusable()
            frames.append(result.gdf)
        out = _concat(frames, "safe_places", extra=["layer"])
        if kinds is not None:
            out = out[out["layer"].isin(list(kinds))].reset_index(drop=True)
        return out
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
