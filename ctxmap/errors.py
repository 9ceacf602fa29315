"""Errors ctxmap raises, the one credential redactor, and the log of unexpected errors.

* :class:`CtxmapError` and its subclasses carry a message for a person (never shown as a
  traceback); their text is passed through :func:`redact_credentials`.
* :func:`redact_credentials` is the *one* place that hides passwords in text: every
  message, report and log line that may hold a connection URL goes through it.
* :func:`log_unexpected` writes the traceback of an unexpected exception to a
  server-side log file and returns a short error id; the command line and every
  dashboard page then show one line with that id, never the traceback.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import secrets
import tempfile
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Final

#: ``scheme://user:password@host``: the password part of a URL's user information.
_URL_PASSWORD: Final = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^:/@\s'\"]*):[^/\s'\"]*@")
#: ``password=...`` / ``PGPASSWORD=...`` / ``"password": "..."`` in a query string,
#: a libpq keyword string, an environment dump or a dict's repr.
_KEYWORD_PASSWORD: Final = re.compile(
    r"(?i)((?:pg)?pass(?:word|wd)?['\"]?\s*[=:]\s*['\"]?)([^&\s'\",;}]+)")
#: What a hidden password becomes.
REDACTED: Final = "***"


def redact_credentials(text: object) -> str:
    """Return ``str(text)`` with every password it holds replaced by ``***``.

    Hides the password of any URL (``postgresql://user:secret@host/db`` becomes
    ``postgresql://user:***@host/db``) and any ``password=``/``PGPASSWORD=`` value
    (query strings, libpq keyword strings, environment dumps). The user name and host
    are kept, so messages still say which server was meant.

    Examples
    --------
    >>> redact_credentials("no store at postgresql://u:secret@db:5432/x?password=secret")
    'no store at postgresql://u:***@db:5432/x?password=***'
    """
    out = _URL_PASSWORD.sub(lambda m: f"{m.group(1)}:{REDACTED}@", str(text))
    return _KEYWORD_PASSWORD.sub(lambda m: f"{m.group(1)}{REDACTED}", out)


class CtxmapError(Exception):
    """Base class of every error ctxmap reports to a user (never as a traceback).

    Its text never holds a password: ``str(error)`` is :func:`redact_credentials` of
    the message, whatever the raiser put in it.
    """

    exit_code: int = 1

    def __str__(self) -> str:
        return redact_credentials(super().__str__())


class InputError(CtxmapError, ValueError):
    """An input cannot be used; the message says what arrived and what was expected."""


class StoreError(CtxmapError, RuntimeError):
    """The store cannot be read or written."""


class StoreBusyError(StoreError):
    """Another writer (an import) holds the store for longer than ``CTXMAP_BUSY_TIMEOUT``."""

    def __init__(self, message: str = "the store is busy (another import is running); "
                 "try again") -> None:
        super().__init__(message)


class ConflictError(StoreError):
    """Someone else changed a record since it was read."""


@dataclass(frozen=True)
class Problem:
    """One problem found in an input.

    Parameters
    ----------
    file
        The file's name as the user gave it.
    message
        What is wrong, saying what arrived and what was expected.
    row
        1-based data row number (the header is row 0), or ``None`` for the whole file.
    column
        The column concerned, or ``None``.
    severity
        ``"error"`` makes the input unusable; ``"warning"`` is reported and kept.
    code
        A short machine-readable kind (``"no_location"``, ``"swapped_latlon"``...), used
        to group many rows with the same problem in a report.
    """

    file: str
    message: str
    row: int | None = None
    column: str | None = None
    severity: str = "error"
    code: str = ""

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", row {self.row}"
        if self.column is not None:
            where += f", column {self.column!r}"
        return f"{self.severity}: {where}: {self.message}"


# --------------------------------------------------------------------------- error log

#: The log file's name inside the log folder.
LOG_NAME: Final = "ctxmap-errors.log"


def new_error_id() -> str:
    """A short random id that ties a one-line message on screen to its log entry."""
    return "E-" + secrets.token_hex(4).upper()


def log_unexpected(exc: BaseException, where: str, log_dir: Path | None) -> str:
    """Write ``exc``'s traceback to the server-side error log; return the entry's error id.

    Parameters
    ----------
    exc
        The unexpected exception.
    where
        What was running (a command line, a page), for the log.
    log_dir
        The log folder (``CTXMAP_LOG_DIR``, see :mod:`ctxmap.settings`). ``None`` or a
        folder that cannot be written falls back to ``ctxmap-logs`` in the system's
        temporary folder; if that fails too, the id is still returned (the traceback
        is never printed instead).

    The entry holds the time (UTC), the id, ``where`` and the traceback, all through
    :func:`redact_credentials`. The file is created owner-only where the system allows.
    """
    error_id = new_error_id()
    when = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    body = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    entry = redact_credentials(f"--- {when} {error_id} {where}\n{body}\n")
    for folder in (log_dir, Path(tempfile.gettempdir()) / "ctxmap-logs"):
        if folder is None:
            continue
        try:
            folder.mkdir(parents=True, exist_ok=True)
            fd = os.open(folder / LOG_NAME, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            with os.fdopen(fd, "a", encoding="utf-8") as f:
                f.write(entry)
            return error_id
        except OSError:
            continue
    return error_id


def unexpected_message(error_id: str) -> str:
    """The one line a user sees for an unexpected error (the details are in the log)."""
    return (f"unexpected error {error_id}: ctxmap could not finish this; the details are "
            "in the server's error log under this id (CTXMAP_LOG_DIR)")

