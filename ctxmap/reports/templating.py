"""The reports' Jinja2 environment: templates in the package, autoescape on, ``esc``.

Every report page is rendered here from ``ctxmap/reports/templates/``. Autoescape is on
for every template, so a value is escaped unless it is marked safe; the ``esc`` filter
(:func:`ctxmap.text.esc`) also cleans a user's text and isolates its direction with
``<bdi>``. Only the page parts ctxmap made itself (folium's map page, the review chart)
are passed in as :class:`markupsafe.Markup`.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from ctxmap.text import esc


def _esc(value: object) -> Markup:
    return Markup(esc(value))  # esc escaped it (and isolated it with <bdi>)


@cache
def environment() -> Environment:
    """The shared environment (built once): package loader, autoescape, ``esc`` filter."""
    env = Environment(
        loader=PackageLoader("ctxmap.reports", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["esc"] = _esc
    return env


def render(name: str, **context: Any) -> str:
    """Render the template ``name`` (e.g. ``"card.html.j2"``) with ``context``."""
    return environment().get_template(name).render(**context)


def trusted(html: str) -> Markup:
    """Mark HTML that ctxmap made itself (e.g. folium's map page) as safe to insert."""
    return Markup(html)  # only for ctxmap's own markup
