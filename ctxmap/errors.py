"""Errors ctxmap raises: subclasses of Python's own, each with a message for a person."""

from __future__ import annotations

from dataclasses import dataclass


class CtxmapError(Exception):
    """Base class of every error ctxmap reports to a user (never as a traceback)."""

    exit_code: int = 1


class InputError(CtxmapError, ValueError):
    """An input cannot be used; the message says what arrived and what was expected."""


class StoreError(CtxmapError, RuntimeError):
    """The store cannot be read or written."""


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
