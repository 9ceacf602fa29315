"""Which store a command uses, said on stderr; and ``init``, which makes a store for a new area.

Rules every command follows (:func:`command_store`):

* a store named by ``--store``, ``$CTXMAP_STORE`` or ``[ctxmap] store`` in
  ``.streamlit/secrets.toml`` is used, and must exist (``init`` makes one);
* given input files (``--incidents``, ``--places``, ...) and no store named, a command
  works from the files alone, or stops saying how to name a store: it never falls back
  to the bundled sample;
* given no input files and no store named, it uses the bundled sample and says so.

Every command prints one line on stderr naming the store (a URL's password hidden) and
whether it is the bundled sample, e.g. ``store: data/ctxmap.gpkg (the bundled sample:
fictional homes, public data)``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ctxmap import settings
from ctxmap.analysis.inputs import read_study_area_file
from ctxmap.errors import InputError
from ctxmap.store.geopackage import DEFAULT_STORE_PATH
from ctxmap.store.opening import (
    create_store,
    describe_target,
    open_store,
    store_exists,
    store_summary,
)
from ctxmap.store.protocol import Store

#: How to name a store, for messages.
HOW_TO_NAME = ("name one with --store PATH_OR_URL, the environment variable CTXMAP_STORE, or "
               "store = \"...\" under [ctxmap] in .streamlit/secrets.toml (make a new one "
               "with: python -m ctxmap init --store PATH_OR_URL --study-area FILE --name NAME)")


def add_store_argument(p: argparse.ArgumentParser, *, required: bool = False) -> None:
    """Add ``--store PATH_OR_URL`` to a command's parser."""
    p.add_argument("--store", metavar="PATH_OR_URL", default=None, required=required,
                   help="the ctxmap store: a GeoPackage path or a postgresql:// URL (default: "
                   "$CTXMAP_STORE, then .streamlit/secrets.toml; the bundled sample only "
                   "for commands given no input files)")


def named_store(args: argparse.Namespace) -> str | None:
    """The store named by ``--store``, ``$CTXMAP_STORE`` or the secrets file, or ``None``."""
    given = getattr(args, "store", None)
    if given:
        return str(given)
    return settings.load().store or None


def say(line: str) -> None:
    """Print one line on stderr (the store line, notes)."""
    print(line, file=sys.stderr, flush=True)


def command_store(
    args: argparse.Namespace,
    inputs: Sequence[str] = (),
    *,
    need_store: str | None = None,
) -> Store | None:
    """The store a command uses (see the module docstring), said on stderr.

    Parameters
    ----------
    args
        The parsed arguments (``args.store`` may be ``None``).
    inputs
        The input-file options the user gave (e.g. ``["--incidents"]``); empty when none.
    need_store
        When the command cannot work from its files alone, what it needs the store for
        (e.g. ``"the study area"``): with files and no store named it then stops.

    Returns
    -------
    Store or None
        ``None`` only when files were given, no store was named and none is needed.

    Raises
    ------
    InputError
        A named store that does not exist, or files without a needed store.
    """
    target = named_store(args)
    if target:
        if not store_exists(target):
            raise InputError(f"no store at {describe_target(target)}; expected an existing "
                             f"ctxmap store (make one with: python -m ctxmap init --store "
                             f"{describe_target(target)} --study-area FILE --name NAME)")
        store = open_store(target, create=False)
        say(store_summary(store))
        return store
    if inputs:
        given = ", ".join(inputs)
        if need_store:
            raise InputError(f"{given} given but no store named, and this command needs one "
                             f"for {need_store}; {HOW_TO_NAME}. The bundled sample is never "
                             "used with your own files")
        say(f"store: none (working from the given files only: {given}; the bundled sample is "
            "never used with your own files)")
        return None
    if not DEFAULT_STORE_PATH.exists():
        raise InputError(f"no store named and no bundled sample at {DEFAULT_STORE_PATH}; "
                         f"{HOW_TO_NAME}")
    store = open_store(DEFAULT_STORE_PATH, create=False)
    say(f"{store_summary(store)}; no store named, so the bundled sample is used "
        "(name yours with --store or CTXMAP_STORE)")
    return store


def given_inputs(args: argparse.Namespace, *options: str) -> list[str]:
    """The input-file options among ``options`` (dest names) that the user gave."""
    out = []
    for dest in options:
        value = getattr(args, dest, None)
        if value:
            out.append("--" + dest.replace("_", "-"))
    return out


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``init`` sub-command."""
    p = sub.add_parser(
        "init",
        help="make an empty store for a new area (GeoPackage path or postgresql:// URL)",
        description="Make an empty ctxmap store for a new area, optionally with its study "
        "area (an outline file; its union is the study area) and a name. A store that "
        "already holds layers, a name or a study area is never overwritten.",
    )
    add_store_argument(p, required=True)
    p.add_argument("--study-area", metavar="FILE",
                   help="outline of the study area (GeoJSON, GeoPackage, ...; e.g. the ONS "
                   "local authority district boundary)")
    p.add_argument("--name", metavar="NAME", help="the area's name, e.g. 'Great Yarmouth'")
    p.set_defaults(func=run_init)


def run_init(args: argparse.Namespace) -> int:
    """Make the store; print what it holds."""
    area = read_study_area_file(args.study_area, label=args.name) if args.study_area else None
    store = create_store(args.store, name=args.name, study_area=area)
    say(store_summary(store))
    print(f"created an empty store at {describe_target(args.store)}"
          + (f" named {args.name.strip()!r}" if args.name else ""))
    if area is not None:
        print(f"study area: {area.description}")
    else:
        print("no study area yet: set one with 'python -m ctxmap import FILE --layer areas "
              "--study-area --store ...' (commands that compare with a baseline need it)")
    return 0
