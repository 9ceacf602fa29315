"""The session's store: which store this session uses, opening it and its layers' version.

The store is chosen once per session (:func:`ctxmap.store.opening.resolve_target`:
``$CTXMAP_STORE``, ``[ctxmap] store`` in ``.streamlit/secrets.toml``, or the bundled
sample) and kept in ``st.session_state``.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Final

import streamlit as st

from ctxmap.errors import CtxmapError
from ctxmap.store.opening import (
    describe_target,
    is_bundled_sample,
    layers_version,
    open_store,
    resolve_target,
    store_exists,
    store_summary,
)
from ctxmap.store.protocol import Store

#: Session-state key of the session's store (a path or a ``postgresql://`` URL).
KEY_STORE: Final = "ctxmap_store_path"


def store_target() -> str:
    """The store this session uses: a GeoPackage path or a ``postgresql://`` URL.

    ``--store``-like settings as :func:`ctxmap.store.opening.resolve_target`: ``$CTXMAP_STORE``,
    then ``[ctxmap] store`` in ``.streamlit/secrets.toml``, then the bundled sample.
    """
    if KEY_STORE not in st.session_state:
        st.session_state[KEY_STORE] = str(resolve_target(None))
    return str(st.session_state[KEY_STORE])


def store_path() -> Path:
    """The session's store as a path (only meaningful for the embedded store)."""
    return Path(store_target())


def session_store_exists() -> bool:
    """Whether the session's store exists (a PostgreSQL store is asked, never created)."""
    return store_exists(store_target())


def store_label() -> str:
    """The session's store for messages (a URL's password hidden)."""
    return describe_target(store_target())


def open_session_store(*, create: bool = False) -> Store:
    """Open the session's store (embedded or PostgreSQL); ``create`` makes a missing one."""
    return open_store(store_target(), create=create)


def store_version(target: str) -> float:
    """A number that changes whenever a *layer* of the store ``target`` changes (cache key).

    A digest of :func:`ctxmap.store.opening.layers_version`: writing the audit log or
    contexts does not throw the cached layers away. ``0.0`` when the store cannot be read.
    """
    mark = layers_version(target)
    if not mark:
        return 0.0
    return float(int(hashlib.sha256(mark.encode()).hexdigest()[:12], 16))


def session_store_summary() -> str:
    """One line naming the session's store and whether it is the bundled sample."""
    if not session_store_exists():
        return f"Store: {store_label()} (none yet: import a layer or create one on the Import page)"
    try:
        line = store_summary(open_session_store())
    except CtxmapError as exc:
        return f"Store: {store_label()} (cannot be read: {exc})"
    return "Store: " + line.removeprefix("store: ")


def session_is_sample() -> bool:
    """Whether the session's store carries the bundled sample's mark (never its path).

    False when the store does not exist or cannot be read.
    """
    if not session_store_exists():
        return False
    try:
        return is_bundled_sample(open_session_store())
    except CtxmapError:
        return False


def audit_enabled() -> bool:
    """False only for a store marked as the bundled sample (fictional homes, public data).

    The sample is a file in the repository; writing audit entries into it would change
    it on every run. Any other store is always audited, wherever it is: the mark inside
    the store decides (:func:`ctxmap.store.opening.is_bundled_sample`), not its path.
    """
    return not session_is_sample()
