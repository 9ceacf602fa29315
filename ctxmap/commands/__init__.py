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


class _AsAction(argparse.Action):
    """``--as``: a place layer, or who is exporting; sets ``as_layer`` or ``as_user``.

    ``safe_places`` and ``youth_centres`` are place layers; any other value is a user name
    where the command exports.
    """

    def __init__(self, *args: object, places: bool, users: bool, **kwargs: object) -> None:
        self.places, self.users = places, users
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: object, option_string: str | None = None) -> None:
        value = str(values)
        if self.places and value in AS_LAYERS:
            namespace.as_layer = value
        elif self.users and value not in AS_LAYERS:
            namespace.as_user = value
        else:
            wanted = [*(AS_LAYERS if self.places else ()), *(["a user name"] if self.users else [])]
            parser.error(f"argument --as: {value!r}; expected {' or '.join(wanted)}")


def add_as_option(
    p: argparse.ArgumentParser, *, places: bool = True, users: bool = False
) -> None:
    """Add ``--as`` to a command (issue 11's ``--as LAYER``, issue 13's ``--as NAME``).

    ``--as safe_places|youth_centres`` takes every row of the place files as that layer
    (``places``); ``--as NAME`` names who exports, for the audit log (``users``). A
    command that takes both accepts ``--as`` twice.
    """
    what = []
    if places:
        what.append("safe_places or youth_centres: take every row of the place files as that "
                    "layer (default: the file's layer column, else the tag rules of "
                    "docs/osm-classification.md)")
    if users:
        what.append("NAME: who is exporting, for the audit log (default: the operating-system "
                    "user)")
    p.add_argument("--as", action=_AsAction, places=places, users=users,
                   metavar="LAYER|NAME" if places and users else "LAYER" if places else "NAME",
                   help="; ".join(what) + (" (give --as twice for both)" if places and users
                                           else ""))
    p.set_defaults(as_layer=None, as_user=None)


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
