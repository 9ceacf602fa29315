"""The dashboard's one error handler: no traceback, server path or password on a page.

``app.py`` runs every page inside :func:`page_guard`. An unexpected exception becomes one
line on the page with an error id (:func:`ctxmap.errors.unexpected_message`); its
traceback goes to the server-side error log (``CTXMAP_LOG_DIR``,
:func:`ctxmap.errors.log_unexpected`), never to the screen. A :class:`CtxmapError`
(a message written for a person) is shown as it is, without server paths. Streamlit's
own ``st.stop()``/``st.rerun()`` are ``BaseException`` subclasses and pass through untouched.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

import streamlit as st

from ctxmap import settings
from ctxmap.errors import CtxmapError, log_unexpected, redact_credentials, unexpected_message

#: An absolute POSIX or Windows path that is not part of a URL (``host:5432/db`` is kept).
_SERVER_PATH: Final = re.compile(
    r"(?<![\w:/.@~-])(?:/|[A-Za-z]:\\)(?:[^\s'\"/\\:]+[/\\])+([^\s'\"/\\:]+)")


def without_server_paths(text: object) -> str:
    """Return ``text`` with credentials hidden and every absolute path cut to its last name.

    ``no store at /srv/ctxmap/data/area.gpkg`` becomes ``no store at area.gpkg``: a user
    of the dashboard learns which file, never where the server keeps it.
    """
    return _SERVER_PATH.sub(r"\1", redact_credentials(text))


def show_error(exc: CtxmapError, prefix: str = "") -> None:
    """Show a :class:`CtxmapError`'s message on the page (no server path, no password)."""
    st.error(prefix + without_server_paths(exc))


@contextmanager
def page_guard(where: str) -> Iterator[None]:
    """Run the ``with`` body; show an unexpected exception as one line with an error id.

    Parameters
    ----------
    where
        What is running (a page's file or title), written to the log with the traceback.
    """
    try:
        yield
    except CtxmapError as exc:
        show_error(exc)
    except Exception as exc:  # the page's one top-level handler
        error_id = log_unexpected(exc, f"dashboard page {where}", settings.log_dir())
        st.error(unexpected_message(error_id))
