"""Text for people: display cleaning and HTML escaping with bidirectional isolation.

Every package that puts a user's string into HTML (map popups, legends, the meeting
chrome, the card and the pack) uses :func:`esc` (or the ``esc`` filter of the report
templates, which calls it), so hostile names are escaped the same way everywhere and
right-to-left text cannot reorder what follows it.
"""

from __future__ import annotations

import html
import re
import unicodedata

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
