"""Text for people: display cleaning and HTML escaping with bidirectional isolation.

Every package that puts a user's string into HTML (map popups, legends, the meeting
chrome, the card and the pack) uses :func:`esc` (or the ``esc`` filter of the report
templates, which calls it), so hostile names are escaped the same way everywhere and
right-to-left text cannot reorder what follows it.

Every CSV ctxmap writes goes through :func:`to_safe_csv` (:func:`neutralise_formulas`), so
a name such as ``=HYPERLINK(...)`` never runs as a formula in a spreadsheet.
"""

from __future__ import annotations

import html
import re
import unicodedata
from typing import Any, Final

import pandas as pd


def clean_text(value: object) -> str:
    """Return ``value`` as display text: control characters removed, whitespace trimmed.

    Bidirectional marks are kept (they are legitimate in Arabic/Hebrew names); the
    HTML helpers isolate them with ``<bdi>`` so they cannot reorder other text.
    Missing values (``None``, NaN, ``pd.NA``) become ``""``.
    """
    if value is None:
        return ""
    try:
        if pd.isna(value):
            return ""
    except (TypeError, ValueError):
        pass
    text = str(value)
    # Cc: C0/C1 controls. Zero-width and bidi characters are Cf and are kept.
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Cc" or ch in " ")
    return " ".join(text.split())


def esc(value: object) -> str:
    """Return ``value`` cleaned (:func:`clean_text`), HTML-escaped and wrapped in ``<bdi>``.

    Empty or missing text gives ``""`` (no empty ``<bdi>``).
    """
    text = clean_text(value)
    return f"<bdi>{html.escape(text, quote=True)}</bdi>" if text else ""


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+\-.!|~$])")


def esc_markdown(value: object) -> str:
    """Return ``str(value)`` with every Markdown and HTML special character backslash-escaped.

    For a user's or the data's text inside Markdown (``st.markdown``): it shows as typed,
    never as formatting, a link or HTML.
    """
    return _MARKDOWN_SPECIAL.sub(r"\\\1", str(value))


def esc_plain(value: object) -> str:
    """Return ``str(value)`` HTML-escaped (quotes too), for fixed text and attributes.

    For ctxmap's own labels, colours and attribution strings; a user's text goes
    through :func:`esc`, which also isolates its direction.
    """
    return html.escape(str(value), quote=True)


#: First characters that make a spreadsheet read a cell as a formula (OWASP, CSV injection).
FORMULA_STARTS: Final = ("=", "+", "-", "@", "\t", "\r")


def neutralise_cell(value: object) -> object:
    """Return ``value`` with a leading apostrophe when it is text starting a formula.

    A carriage return inside the text becomes a line feed: the CSV writer quotes a cell
    holding a line feed, but not one holding only a carriage return, which a reader
    would take as the end of the row. Anything that is not ``str`` (numbers, dates,
    missing values) is returned unchanged.
    """
    if not isinstance(value, str):
        return value
    text = "'" + value if value.startswith(FORMULA_STARTS) else value
    return text.replace("\r\n", "\n").replace("\r", "\n")


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Return a copy of ``frame`` safe to open in a spreadsheet (OWASP CSV injection).

    Every text cell (a ``str`` in an object, string or categorical column) and every
    column name that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return
    gets a leading apostrophe, so the spreadsheet shows it as text and never runs it.
    Numeric, boolean and date columns are not touched: a negative number stays a
    number. The index is kept.
    """
    out = pd.DataFrame(frame).copy()
    for position in range(out.shape[1]):
        column = out.iloc[:, position]
        dtype = column.dtype
        if (pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype)
                or isinstance(dtype, pd.CategoricalDtype)):
            out.isetitem(position, column.astype("object").map(neutralise_cell, na_action="ignore"))
    out.columns = [neutralise_cell(c) for c in out.columns]
    return out


def to_safe_csv(frame: pd.DataFrame, path_or_buf: Any = None, **options: Any) -> str | None:
    """Write ``frame`` as CSV after :func:`neutralise_formulas` (``index=False`` by default).

    The one CSV writer of ctxmap: ``path_or_buf`` and ``options`` are those of
    :meth:`pandas.DataFrame.to_csv`; with no path the CSV text is returned.
    """
    options.setdefault("index", False)
    return neutralise_formulas(frame).to_csv(path_or_buf, **options)
