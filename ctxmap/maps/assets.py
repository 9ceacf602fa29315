"""Serve the map's JavaScript and CSS from the app itself: never from a CDN.

Folium elements list the scripts and stylesheets they need in ``default_js`` and
``default_css`` (pairs of a name and a CDN URL). Councils often block CDNs, and every
third-party request tells someone who is looking at which map, so ctxmap replaces
those URLs with local ones:

* in the app, files copied by ``npm ci`` into ``static/vendor/`` and served by
  Streamlit at ``/app/static/vendor/`` (``server.enableStaticServing = true``);
* in a standalone export, the same files inlined into the HTML (see
  :func:`inline_assets`), so the file opens offline.

Libraries the map does not use (Bootstrap, Font Awesome, awesome-markers) are dropped;
jQuery is kept only when an element needs it (folium's ``Popup`` uses ``$``).
"""

from __future__ import annotations

import base64
import copy
import mimetypes
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Final

import folium
import folium.elements
from branca.element import Element

from ctxmap.errors import CtxmapError

#: Where Streamlit serves ``static/vendor/`` (``static/`` sits next to ``app.py``).
DEFAULT_BASE_URL: Final = "/app/static/vendor/"

#: The repository's ``static/vendor/`` directory, filled by ``npm ci``.
VENDOR_DIR: Final[Path] = Path(__file__).resolve().parents[2] / "static" / "vendor"

#: Folium's JavaScript link names mapped to files under ``static/vendor/``;
#: ``None`` means "not needed by ctxmap's maps: drop it".
JS_FILES: Final[dict[str, str | None]] = {
    "leaflet": "leaflet/leaflet.js",
    "jquery": "jquery/jquery.min.js",
    "bootstrap": None,
    "awesome_markers": None,
    "markerclusterjs": "leaflet.markercluster/leaflet.markercluster.js",
    "leaflet_draw_js": "leaflet-draw/leaflet.draw.js",
}

#: Folium's stylesheet link names mapped to files under ``static/vendor/`` (or dropped).
CSS_FILES: Final[dict[str, str | None]] = {
    "leaflet_css": "leaflet/leaflet.css",
    "bootstrap_css": None,
    "glyphicons_css": None,
    "awesome_markers_font_css": None,
    "awesome_markers_css": None,
    "awesome_rotate_css": None,
    "markerclustercss": "leaflet.markercluster/MarkerCluster.css",
    "markerclusterdefaultcss": "leaflet.markercluster/MarkerCluster.Default.css",
    "leaflet_draw_css": "leaflet-draw/leaflet.draw.css",
}

_NPM_HINT: Final = (
    "run `npm ci` in the repository root (it copies Leaflet and its plugins into static/vendor/)"
)


class AssetsMissingError(CtxmapError, FileNotFoundError):
    """The map's JavaScript/CSS files are not in ``static/vendor/`` (run ``npm ci``)."""


class UnknownAssetError(CtxmapError, ValueError):
    """A map element asks for a script or stylesheet ctxmap does not serve locally."""


def _join(base_url: str, relpath: str) -> str:
    return base_url.rstrip("/") + "/" + relpath


def local_js(
    names: Sequence[str] = ("leaflet",), base_url: str = DEFAULT_BASE_URL
) -> list[tuple[str, str]]:
    """Return ``(name, url)`` pairs for folium's ``default_js``, pointing at local files.

    Parameters
    ----------
    names
        Folium link names (keys of :data:`JS_FILES`), e.g. ``("leaflet", "jquery")``.
    base_url
        URL prefix under which ``static/vendor/`` is served.

    Raises
    ------
    UnknownAssetError
        If a name is not served locally.
    """
    return _local_links(names, JS_FILES, base_url, "script")


def local_css(
    names: Sequence[str] = ("leaflet_css",), base_url: str = DEFAULT_BASE_URL
) -> list[tuple[str, str]]:
    """Return ``(name, url)`` pairs for folium's ``default_css``, pointing at local files.

    Parameters
    ----------
    names
        Folium link names (keys of :data:`CSS_FILES`), e.g. ``("leaflet_css",)``.
    base_url
        URL prefix under which ``static/vendor/`` is served.

    Raises
    ------
    UnknownAssetError
        If a name is not served locally.
    """
    return _local_links(names, CSS_FILES, base_url, "stylesheet")


def _local_links(
    names: Sequence[str], table: dict[str, str | None], base_url: str, what: str
) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for name in names:
        relpath = table.get(name)
        if relpath is None:
            served = sorted(k for k, v in table.items() if v is not None)
            raise UnknownAssetError(
                f"the {what} {name!r} is not served locally; expected one of: {', '.join(served)}"
            )
        out.append((name, _join(base_url, relpath)))
    return out


def _localize(
    links: Sequence[tuple[str, str]],
    table: dict[str, str | None],
    base_url: str,
    drop: set[str],
    what: str,
) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for name, url in links:
        if name in drop:
            continue
        if name not in table:
            raise UnknownAssetError(
                f"a map element needs the {what} {name!r} from {url!r}, which ctxmap does not "
                f"serve locally; expected one of: {', '.join(sorted(table))} "
                "(add it to package.json, scripts/copy_assets.mjs and ctxmap/assets.py)"
            )
        relpath = table[name]
        if relpath is not None:
            out.append((name, _join(base_url, relpath)))
    return out


def walk(element: Element) -> Iterator[Element]:
    """Yield ``element`` and every element below it (depth first, through ``_children``)."""
    stack = [element]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(list(current._children.values())))


def needs_jquery(m: folium.Map) -> bool:
    """Tell whether any element of ``m`` needs jQuery (folium ``Popup`` or linked GeoJson)."""
    for el in walk(m):
        if isinstance(el, folium.Popup):
            return True
        if isinstance(el, folium.GeoJson) and not el.embed:
            return True
    return False


def localize_in_place(m: folium.Map, base_url: str = DEFAULT_BASE_URL) -> folium.Map:
    """Point ``default_js``/``default_css`` of ``m`` and all its elements at local files.

    Unlike :func:`use_local_assets` this *modifies* ``m`` (for maps a function has
    just built itself). Each element gets its own lists (folium's class-level
    lists are never touched).

    Raises
    ------
    UnknownAssetError
        If an element needs a library that is not served locally.
    """
    drop_js: set[str] = set() if needs_jquery(m) else {"jquery"}
    for el in walk(m):
        if isinstance(el, folium.elements.JSCSSMixin):
            el.default_js = _localize(el.default_js, JS_FILES, base_url, drop_js, "script")
            el.default_css = _localize(el.default_css, CSS_FILES, base_url, set(), "stylesheet")
    return m


def use_local_assets(m: folium.Map, base_url: str = DEFAULT_BASE_URL) -> folium.Map:
    """Return a copy of ``m`` whose scripts and stylesheets all come from ``base_url``.

    streamlit-folium collects ``default_js``/``default_css`` from every element of the
    map, so every element is rewritten, not only the map.

    Parameters
    ----------
    m
        A folium map (not modified).
    base_url
        URL prefix under which ``static/vendor/`` is served (default
        ``/app/static/vendor/``).

    Raises
    ------
    UnknownAssetError
        If an element needs a library that is not served locally.
    """
    return localize_in_place(copy.deepcopy(m), base_url)


def required_files(m: folium.Map) -> list[str]:
    """Return the paths (relative to ``static/vendor/``) of the files ``m`` loads, in order."""
    files: list[str] = []
    for el in walk(m):
        for name, _url in getattr(el, "default_js", []):
            rel = JS_FILES.get(name)
            if rel is not None and rel not in files:
                files.append(rel)
        for name, _url in getattr(el, "default_css", []):
            rel = CSS_FILES.get(name)
            if rel is not None and rel not in files:
                files.append(rel)
    return files


def check_vendor(vendor_dir: Path | None = None, files: Sequence[str] | None = None) -> Path:
    """Check that ``static/vendor/`` holds the map's files; return its path.

    Call this when the app starts, so a missing ``npm ci`` is reported clearly
    instead of as a blank map.

    Parameters
    ----------
    vendor_dir
        Directory to check (default :data:`VENDOR_DIR`).
    files
        Paths relative to it (default: every file in :data:`JS_FILES` and
        :data:`CSS_FILES`).

    Raises
    ------
    AssetsMissingError
        If the directory or a file is missing; the message says to run ``npm ci``.
    """
    root = vendor_dir if vendor_dir is not None else VENDOR_DIR
    wanted = (
        list(files)
        if files is not None
        else [p for p in (*JS_FILES.values(), *CSS_FILES.values()) if p is not None]
    )
    missing = [rel for rel in wanted if not (root / rel).is_file()]
    if missing:
        raise AssetsMissingError(
            f"the map's JavaScript/CSS is missing from {root} (missing: {', '.join(missing)}); "
            f"expected the files installed by npm: {_NPM_HINT}"
        )
    return root


_SCRIPT_SRC = re.compile(
    r"<script\b[^>]*\bsrc\s*=\s*[\"']([^\"']+)[\"'][^>]*>\s*</script\s*>", re.IGNORECASE
)
_LINK_HREF = re.compile(r"<link\b[^>]*\bhref\s*=\s*[\"']([^\"']+)[\"'][^>]*/?>", re.IGNORECASE)
_CSS_URL = re.compile(r"url\(\s*([\"']?)([^)\"']+)\1\s*\)")
_SOURCE_MAP = re.compile(r"^\s*//[#@]\s*sourceMappingURL=.*$", re.MULTILINE)


def _vendor_file(url: str, base_url: str, root: Path) -> Path | None:
    prefix = base_url.rstrip("/") + "/"
    if not url.startswith(prefix):
        return None
    rel = url[len(prefix) :]
    path = (root / rel).resolve()
    if root.resolve() not in path.parents:
        raise UnknownAssetError(f"asset URL {url!r} points outside {root}; expected a file in it")
    if not path.is_file():
        raise AssetsMissingError(f"{path} is missing (needed by {url!r}); {_NPM_HINT}")
    return path


def _data_uri(path: Path) -> str:
    mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


def inline_css(css: str, css_path: Path) -> str:
    """Return ``css`` with relative ``url(...)`` references replaced by data: URIs.

    Parameters
    ----------
    css
        Stylesheet text.
    css_path
        Where the stylesheet lives (relative URLs are resolved against its folder).

    Raises
    ------
    AssetsMissingError
        If a referenced file does not exist.
    """

    def replace(match: re.Match[str]) -> str:
        ref = match.group(2).strip()
        if ref.startswith(("data:", "#", "http:", "https:", "//")):
            return match.group(0)
        target = css_path.parent / ref.split("?")[0].split("#")[0]
        if not target.is_file():
            raise AssetsMissingError(f"{target} (used by {css_path.name}) is missing; {_NPM_HINT}")
        return f'url("{_data_uri(target)}")'

    return _CSS_URL.sub(replace, css)


def _script_safe(js: str) -> str:
    # A literal "</script" would end the inline <script> element early.
    return (
        _SOURCE_MAP.sub("", js).replace("</script", "<\\/script").replace("</SCRIPT", "<\\/SCRIPT")
    )


def inline_assets(
    html: str, base_url: str = DEFAULT_BASE_URL, vendor_dir: Path | None = None
) -> str:
    """Replace local ``<script src>`` and stylesheet ``<link>`` tags by their contents.

    Scripts become inline ``<script>`` elements; stylesheets become ``<style>``
    elements whose images are data: URIs. Tags pointing elsewhere are left alone
    (see :func:`external_references`).

    Parameters
    ----------
    html
        A rendered page whose assets point at ``base_url``.
    base_url
        The URL prefix of the local assets.
    vendor_dir
        Where the files are (default :data:`VENDOR_DIR`).

    Raises
    ------
    AssetsMissingError
        If ``static/vendor/`` or a file in it is missing (run ``npm ci``).
    """
    root = vendor_dir if vendor_dir is not None else VENDOR_DIR
    if not root.is_dir():
        raise AssetsMissingError(f"{root} does not exist; {_NPM_HINT}")

    def script(match: re.Match[str]) -> str:
        path = _vendor_file(match.group(1), base_url, root)
        if path is None:
            return match.group(0)
        js = _script_safe(path.read_text("utf-8"))
        return f"<script>/* {path.relative_to(root)} */\n{js}\n</script>"

    def link(match: re.Match[str]) -> str:
        if "stylesheet" not in match.group(0).lower():
            return match.group(0)
        path = _vendor_file(match.group(1), base_url, root)
        if path is None:
            return match.group(0)
        css = inline_css(path.read_text("utf-8"), path).replace("</style", "<\\/style")
        return f"<style>/* {path.relative_to(root)} */\n{css}\n</style>"

    return _LINK_HREF.sub(link, _SCRIPT_SRC.sub(script, html))


def external_references(html: str) -> list[str]:
    """Return every ``<script src>`` and ``<link href>`` URL in ``html``, in order."""
    return [m.group(1) for m in _SCRIPT_SRC.finditer(html)] + [
        m.group(1) for m in _LINK_HREF.finditer(html)
    ]
