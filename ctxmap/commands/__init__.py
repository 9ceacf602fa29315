"""Commands: the sub-commands of ``python -m ctxmap`` (see :mod:`ctxmap.cli`).

Each module registers its sub-commands; they parse arguments, call the domain packages
and print.

May import: ctxmap.errors, ctxmap.settings, ctxmap.text, ctxmap.layers, ctxmap.store,
    ctxmap.analysis, ctxmap.nearby, ctxmap.privacy, ctxmap.cases, ctxmap.maps,
    ctxmap.reports, ctxmap.commands.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

import geopandas as gpd
import pandas as pd

from ctxmap.errors import InputError

#: The layers ``--as`` may give every row of a place file.
AS_LAYERS = ("safe_places", "youth_centres")


def add_as_option(p: argparse.ArgumentParser) -> None:
    """Add ``--as safe_places|youth_centres`` (the layer of every row of the place files)."""
    p.add_argument("--as", dest="as_layer", choices=AS_LAYERS, default=None,
                   help="take every row of the place files as this layer (default: the "
                   "file's layer column, else the tag rules of docs/osm-classification.md)")


def print_notes(places: pd.DataFrame) -> None:
    """Print on stderr the notes :func:`ctxmap.analysis.inputs.load_places` left (rows left out)."""
    for note in places.attrs.get("notes", []):
        print(f"note: {note}", file=sys.stderr)


def positive(unit: str = "") -> Callable[[str], float]:
    """An argparse ``type`` for a number > 0 (``unit``, e.g. ``"metres"``, names it)."""
    what = f"a number of {unit}" if unit else "a number"

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
        if not value > 0:
            raise argparse.ArgumentTypeError(f"{text!r}; expected {what} > 0")
        return value

    return parse


def read_geo_file(path: str, what: str) -> gpd.GeoDataFrame:
    """Read a GeoJSON or GeoPackage file (``what`` names it in messages), in EPSG:4326.

    Raises
    ------
    InputError
        If the file cannot be read or has no CRS.
    """
    try:
        gdf = gpd.read_file(path)
    except Exception as exc:  # pyogrio raises several types for unreadable files
        raise InputError(f"{path}: cannot read the {what} ({type(exc).__name__}: {exc}); "
                         "expected a GeoJSON or GeoPackage file") from None
    if gdf.crs is None:
        raise InputError(f"{path}: the {what} have no CRS; expected one (GeoJSON is EPSG:4326)")
    return gdf.to_crs("EPSG:4326")
