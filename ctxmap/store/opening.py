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
from ctxmap.store.marks import (
    NAME_KEY,
    StoredStudyArea,
    is_sample_store,
    read_study_area,
    store_name,
    write_study_area,
)
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


def is_empty(store: Store) -> bool:
    """Whether ``store`` holds no layer rows, no name and no study area."""
    rows = sum(c["rows"] for c in store.counts().values())
    return rows == 0 and store.metadata(NAME_KEY) is None and read_study_area(store) is None


def create_store(target: str | os.PathLike[str], *, name: str | None = None,
                 study_area: StoredStudyArea | None = None) -> Store:
    """Make an empty store for a new area at ``target`` (``init`` and the Import page).

    Parameters
    ----------
    target
        A GeoPackage path (``.gpkg``) or a ``postgresql://`` URL.
    name
        The area's name (metadata ``name``).
    study_area
        The study area to keep in it.

    Raises
    ------
    StoreError
        When a store there already holds layers, a name or a study area (never
        overwritten), or the path is not a ``.gpkg`` file. A new file that fails
        half-way is removed.
    """
    resolved = resolve_target(target)
    existed = store_exists(resolved)
    if existed:
        if not is_empty(open_store(resolved, create=False)):
            raise StoreError(f"the store at {describe_target(resolved)} is not empty (it holds "
                             "layers, a name or a study area); expected a new or empty store: "
                             "a store is never overwritten (import into it instead)")
    elif isinstance(resolved, Path) and resolved.suffix.lower() != ".gpkg":
        raise StoreError(f"{resolved}: expected a GeoPackage file name ending in .gpkg, or a "
                         "postgresql:// URL")
    try:
        store = open_store(resolved, create=True)
        if name and name.strip():
            store.set_metadata(NAME_KEY, name.strip())
        if study_area is not None:
            write_study_area(store, study_area)
    except BaseException:
        if not existed and isinstance(resolved, Path):
            resolved.unlink(missing_ok=True)  # nothing half-made left behind
        raise
    return store
