"""Export a folium map as one self-contained HTML file that opens offline.

All JavaScript and CSS is inlined from ``static/vendor/`` (see :mod:`ctxmap.maps.assets`);
the only request the page may make is for basemap tiles, and a Content Security
Policy in the page forbids everything else.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from urllib.parse import urlsplit

import folium

from ctxmap.errors import InputError
from ctxmap.maps.assets import (
    DEFAULT_BASE_URL,
    AssetsMissingError,
    UnknownAssetError,
    external_references,
    inline_assets,
    localize_in_place,
    walk,
)
from ctxmap.text import clean_text, esc_plain

_DEFAULT_TITLE = "ctxmap map"


def tile_origins(m: folium.Map) -> list[str]:
    """Return the origins (``scheme://host``) of the map's tile layers, for a CSP.

    A ``{s}`` subdomain placeholder becomes ``*`` (e.g. ``https://*.tile.example.org``).
    """
    origins: list[str] = []
    for el in walk(m):
        if isinstance(el, folium.TileLayer):
            parts = urlsplit(str(el.tiles).replace("{s}", "subdomain-placeholder"))
            if parts.scheme in ("http", "https") and parts.netloc:
                host = parts.netloc.replace("subdomain-placeholder", "*")
                origin = f"{parts.scheme}://{host}"
                if origin not in origins:
                    origins.append(origin)
    return origins


def _csp(origins: list[str]) -> str:
    img = " ".join(["data:", *origins])
    return (
        "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
        f"img-src {img}; font-src data:; base-uri 'none'; form-action 'none'"
    )


def standalone_html(
    m: folium.Map,
    *,
    title: str = _DEFAULT_TITLE,
    vendor_dir: Path | None = None,
) -> str:
    """Return ``m`` as a complete HTML page with every script and stylesheet inlined.

    Parameters
    ----------
    m
        A map, e.g. from :func:`ctxmap.maps.layers.build_map` (not modified).
    title
        The page title (HTML-escaped).
    vendor_dir
        Where the vendored files are (default ``static/vendor/``).

    Returns
    -------
    str
        A page that needs no network except for basemap tiles (if the map has any);
        a Content-Security-Policy ``<meta>`` blocks every other request.

    Raises
    ------
    AssetsMissingError
        If ``static/vendor/`` is missing: run ``npm ci``.
    UnknownAssetError
        If an element of the map needs a library ctxmap does not vendor.
    """
    page_map = localize_in_place(copy.deepcopy(m), DEFAULT_BASE_URL)
    rendered = page_map.get_root().render()
    page = inline_assets(rendered, DEFAULT_BASE_URL, vendor_dir)
    leftover = external_references(page)
    if leftover:
        raise UnknownAssetError(
            "the exported map still links to "
            + ", ".join(repr(u) for u in leftover)
            + "; expected every script and stylesheet to be inlined"
        )
    head = (
        '<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{_csp(tile_origins(page_map))}">\n'
        '<meta name="referrer" content="no-referrer">\n'
        f"<title>{esc_plain(clean_text(title))}</title>\n"
    )
    page, n = re.subn(r"<head>", lambda _m: "<head>\n" + head, page, count=1)
    if n != 1:
        raise UnknownAssetError("folium rendered a page without <head>; expected one")
    return page


def write_map_html(m: folium.Map, path: str | Path, *, title: str = _DEFAULT_TITLE) -> Path:
    """Write ``m`` as a standalone HTML file (see :func:`standalone_html`); return its path.

    Parameters
    ----------
    m
        The map (not modified).
    path
        Output file; its folder is created if needed.
    title
        The page title.

    Raises
    ------
    InputError
        If ``path`` is an existing directory or cannot be written.
    AssetsMissingError
        If ``static/vendor/`` is missing: run ``npm ci``.
    """
    out = Path(path)
    if out.is_dir():
        raise InputError(f"{out} is a directory; expected a file name such as map.html")
    page = standalone_html(m, title=title)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(page, encoding="utf-8")
    except OSError as exc:
        raise InputError(
            f"cannot write {out}: {exc.strerror or exc}; expected a writable path"
        ) from exc
    return out


__all__ = [
    "AssetsMissingError",
    "UnknownAssetError",
    "standalone_html",
    "tile_origins",
    "write_map_html",
]
