"""Open the store ctxmap is pointed at: the embedded GeoPackage or a shared PostGIS database.

One setting decides, the first found of:

1. the ``target`` given (a ``--store`` argument): a path, or a ``postgresql://`` URL;
2. the environment variable ``CTXMAP_STORE``;
3. ``store = "..."`` in the ``[ctxmap]`` table of ``.streamlit/secrets.toml`` (in the
   working directory, then in the repository);
4. the bundled embedded store ``data/ctxmap.gpkg``.

A ``postgresql://`` (or ``postgres://``) URL opens a :class:`~ctxmap.store.postgis.PostGISStore`;
anything else a :class:`~ctxmap.store.geopackage.GeoPackageStore`. Passwords are never printed: use
:func:`describe_target` in messages.
"""

from __future__ import annotations

import os
from pathlib import Path

from ctxmap import settings
from ctxmap.errors import CtxmapError, StoreError, redact_credentials
from ctxmap.store.geopackage import (
    DEFAULT_STORE_PATH,
    GeoPackageStore,
    gpkg_layers_version,
)
from ctxmap.store.marks import is_sample_store, read_study_area, store_name
from ctxmap.store.postgis import PostGISStore, is_pg_url
from ctxmap.store.protocol import Store

#: What the stderr line and the dashboard say about the bundled sample.
SAMPLE_NOTE = "the bundled sample: fictional homes, public data"


def resolve_target(target: str | os.PathLike[str] | None = None) -> str | Path:
    """Return the store the settings point at: a PostgreSQL URL (str) or a file path."""
    if target is not None and str(target):
        return str(target) if is_pg_url(str(target)) else Path(target)
    configured = settings.load().store
    if configured:
        return configured if is_pg_url(configured) else Path(configured)
    return DEFAULT_STORE_PATH


def open_store(target: str | os.PathLike[str] | None = None, *, create: bool = True) -> Store:
    """Open the embedded or the PostgreSQL store that ``target`` (or the settings) name.

    Parameters
    ----------
    target
        A GeoPackage path or a ``postgresql://`` URL; ``None`` means the settings (see the
        module docstring).
    create
        Create the store when it does not exist (default). With ``False`` a missing
        store raises :class:`~ctxmap.errors.StoreError`.
    """
    resolved = resolve_target(target)
    if isinstance(resolved, str):
        return PostGISStore(resolved, create=create)
    return GeoPackageStore(resolved, create=create)


def store_exists(target: str | os.PathLike[str] | None = None) -> bool:
    """Whether the store the settings name exists (a PostgreSQL store is asked, never created)."""
    resolved = resolve_target(target)
    if isinstance(resolved, Path):
        return resolved.exists()
    try:
        PostGISStore(resolved, create=False)
    except StoreError:
        return False
    return True


def describe_target(target: str | os.PathLike[str] | None = None) -> str:
    """The store the settings name, for messages (a URL's password hidden)."""
    resolved = resolve_target(target)
    return redact_credentials(resolved)


def layers_version(target: str | os.PathLike[str] | None = None) -> str:
    """A mark that changes whenever a *layer* of the store changes (a cache key).

    Embedded store: :func:`~ctxmap.store.geopackage.gpkg_layers_version`, read without
    opening (so without migrating) the file; PostgreSQL store:
    :meth:`~ctxmap.store.postgis.PostGISStore.layers_version`. Writing the audit log or
    contexts does not change it. ``""`` when the store cannot be read.
    """
    resolved = resolve_target(target)
    if isinstance(resolved, str):
        try:
            return PostGISStore(resolved, create=False).layers_version()
        except CtxmapError:
            return ""
    return gpkg_layers_version(resolved)


def is_bundled_sample(store: Store) -> bool:
    """Whether ``store`` is the bundled sample: its metadata ``dataset`` says so.

    Read from the store itself (``dataset = "ctxmap bundled sample"``, written by
    ``scripts/build_sample.py``), never from its path: a copy of the sample anywhere is
    the sample, and a council's store at ``data/ctxmap.gpkg`` is not.
    """
    return is_sample_store(store)


def store_display_path(store: Store) -> str:
    """The store's place for messages: relative to the working folder when inside it."""
    where = store.path
    if isinstance(where, Path):
        try:
            return str(where.resolve().relative_to(Path.cwd().resolve()))
        except (ValueError, OSError):
            return str(where)
    return str(where)


def store_summary(store: Store) -> str:
    """One line naming the store and what it holds, for stderr and page headers.

    ``store: /x/y.gpkg (Great Yarmouth)``; ``store: data/ctxmap.gpkg (the bundled sample:
    fictional homes, public data)``; a URL's password is never shown.
    """
    where = store_display_path(store)
    if is_bundled_sample(store):
        return f"store: {where} ({SAMPLE_NOTE})"
    name = store_name(store)
    if not name:
        area = read_study_area(store)
        name = area.label if area else "no name; set one with init --name"
    return f"store: {where} ({name})"
