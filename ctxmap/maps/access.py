"""Keyboard and screen-reader access inside a map: names, focus, Enter opens a popup.

Leaflet makes its markers keyboard accessible (``keyboard: true``: a tab stop with
``role="button"``; Enter fires a click, which opens the popup) but leaves them without
an accessible name, and its vector layers (circle markers, GeoJSON paths) cannot be
reached from the keyboard at all. :class:`MapAccess`, added to every map ctxmap draws
(:func:`ctxmap.maps.base.base_map`, the drawing map), fixes both in the browser:

- each marker gets an ``aria-label`` from its feature's ``label`` property or its
  tooltip (plain text only: parsed with ``DOMParser``, which runs no script);
- each named vector feature becomes a tab stop (``tabindex="0"``, ``role="button"``,
  ``aria-label``); focus shows its tooltip, Enter or Space fires a click (opening its
  popup, as a pointer click does) and Escape closes the popup, focus back on the feature
  (Leaflet's own Escape works only while the map itself has focus);
- the layer control and the legends become named regions that can be reached with Tab
  (the legends scroll, so they must take focus); the controls come first in the tab
  order, before the (possibly many) features;
- focus is visible: a thick two-colour outline (a black line on a yellow halo: at
  least 3:1 against any map), the stroke of a focused vector feature thickens.

Nothing here changes what a map shows; it only adds attributes, listeners and CSS.
"""

from __future__ import annotations

from typing import Final

from branca.element import MacroElement
from folium.template import Template

from ctxmap.maps.legend import js_string

#: The focus ring every focusable element of a map gets (GOV.UK's: yellow and black).
FOCUS_CSS: Final = "outline: 3px solid #0b0c0c; outline-offset: 1px; box-shadow: 0 0 0 6px #ffdd00;"
#: Accessible names of the map's boxes, by CSS class.
REGION_NAMES: Final[dict[str, str]] = {
    "leaflet-control-layers": "Map layers",
    "ctxmap-legend": "Legend",
    "ctxmap-alegend": "Analysis legend",
    "ctxmap-masked": "About this view",
    "leaflet-control-attribution": "Map data sources",
}


class MapAccess(MacroElement):
    """Keyboard access, accessible names and a visible focus for one map (see the module).

    Parameters
    ----------
    label
        The map's accessible name (plain text), e.g. ``"Map of the layers"``.
    """

    _template = Template(
        """
        {% macro header(this, kwargs) %}
        <style>
        .leaflet-container:focus-visible, .leaflet-container :focus-visible,
        .leaflet-container a:focus-visible, .leaflet-container input:focus-visible {
          {{ this.focus_css }} }
        .leaflet-container path.leaflet-interactive:focus { outline: none; }
        .leaflet-container path.leaflet-interactive:focus-visible { outline: none;
          box-shadow: none; stroke: #0b0c0c; stroke-width: 4px; stroke-opacity: 1;
          stroke-dasharray: none; }
        .leaflet-container .leaflet-control-attribution {
          background: rgba(255, 255, 255, 0.95); color: #222; }
        .leaflet-container .leaflet-control-attribution a { color: #1d4f91; }
        .leaflet-container .leaflet-popup-content { color: #1b1b1b; }
        .leaflet-container a.leaflet-popup-close-button { color: #333; }
        </style>
        {% endmacro %}
        {% macro script(this, kwargs) %}
        (function () {
            var map = {{ this._parent.get_name() }};
            var regions = {{ this.regions }};
            var parser = new DOMParser();
            function text(html) {
                if (html === null || html === undefined) { return ""; }
                var doc = parser.parseFromString(String(html), "text/html");
                return (doc.body.textContent || "").replace(/\\s+/g, " ").trim();
            }
            function nameOf(layer) {
                var props = layer.feature && layer.feature.properties;
                if (props && props.label) { return text(props.label); }
                var own = layer.getTooltip && layer.getTooltip();
                if (own && typeof own.getContent() === "string") { return text(own.getContent()); }
                return "";
            }
            function centre(layer) {
                if (layer.getLatLng) { return layer.getLatLng(); }
                return layer.getBounds ? layer.getBounds().getCenter() : map.getCenter();
            }
            function enhance(layer) {
                var name = nameOf(layer);
                if (layer._icon) {
                    if (name && !layer._icon.getAttribute("aria-label")) {
                        layer._icon.setAttribute("aria-label", name);
                    }
                    return;
                }
                var el = layer._path;
                if (!el || !name || el.getAttribute("tabindex") !== null) { return; }
                if (!layer.options || layer.options.interactive === false) { return; }
                el.setAttribute("tabindex", "0");
                el.setAttribute("role", "button");
                el.setAttribute("aria-label", name);
                el.addEventListener("focus", function () {  // shows its tooltip, if any
                    layer.fire("mouseover", {latlng: centre(layer)}, true);
                });
                el.addEventListener("blur", function () {
                    layer.fire("mouseout", {latlng: centre(layer)}, true);
                });
                el.addEventListener("keydown", function (e) {
                    if (e.key === "Enter" || e.key === " ") {
                        e.preventDefault();
                        opener = el;
                        layer.fire("click", {latlng: centre(layer)}, true);
                    }
                });
            }
            function sweep() {
                var root = map.getContainer();
                var controls = root.querySelector(".leaflet-control-container");
                if (controls && root.firstElementChild !== controls) {
                    // first in the tab order: the controls and legends before the features
                    root.insertBefore(controls, root.firstElementChild);
                }
                if (!root.getAttribute("role")) {
                    root.setAttribute("role", "region");
                    root.setAttribute("aria-label", {{ this.label }});
                }
                Object.keys(regions).forEach(function (cls) {
                    root.querySelectorAll("." + cls).forEach(function (box) {
                        if (box.getAttribute("role")) { return; }
                        box.setAttribute("role", "region");
                        box.setAttribute("aria-label", regions[cls]);
                        if (cls !== "leaflet-control-attribution") {
                            box.setAttribute("tabindex", "0");
                        }
                    });
                });
            }
            var opener = null;  // the feature whose popup Enter opened: Escape returns to it
            map.getContainer().addEventListener("keydown", function (e) {
                if (e.key === "Escape" && map._popup && map.hasLayer(map._popup)) {
                    map.closePopup();
                    var back = opener || (e.target.closest && e.target.closest("[tabindex]"));
                    if (back && back.focus) { back.focus(); }
                }
            });
            map.on("layeradd", function (e) { enhance(e.layer); });
            map.eachLayer(enhance);
            map.whenReady(function () { setTimeout(sweep, 0); });
            var controls = map.getContainer().querySelector(".leaflet-control-container");
            if (controls && window.MutationObserver) {
                new MutationObserver(sweep).observe(controls, {childList: true, subtree: true});
            }
            sweep();
        })();
        {% endmacro %}
        """
    )

    def __init__(self, label: str = "Map") -> None:
        super().__init__()
        self._name = "CtxmapMapAccess"
        self.label = js_string(label)
        self.focus_css = FOCUS_CSS
        self.regions = "{" + ", ".join(
            f"{js_string(k)}: {js_string(v)}" for k, v in REGION_NAMES.items()) + "}"


#: Font sizes (px) of a map's text at normal size, by CSS selector (see ctxmap.maps.legend).
BASE_TYPE_PX: Final[dict[str, float]] = {
    ".ctxmap-legend, .ctxmap-alegend": 12.0,
    ".ctxmap-legend .note, .ctxmap-alegend .note": 11.0,
    ".ctxmap-masked": 15.0,
    ".leaflet-control-layers": 13.0,
    ".leaflet-control-attribution": 10.0,
    ".leaflet-tooltip, .leaflet-popup-content": 12.0,
}


class LargeType(MacroElement):
    """Scale a map's text (legends, layer control, attribution, tooltips) by ``scale``.

    For the meeting view, shown on a shared screen: its type is at least 1.25 times the
    normal size. The map also fills its frame's height (the meeting CSS sizes the frame).
    """

    _template = Template(
        """
        {% macro header(this, kwargs) %}
        <style>
        {%- for selector, px in this.sizes %}
        .leaflet-container {{ selector | replace(", ", ", .leaflet-container ") }} {
          font-size: {{ px }}px !important; }
        {%- endfor %}
        .ctxmap-legend .sym, .ctxmap-alegend .sym { width: {{ this.symbol }}px;
          height: {{ this.symbol }}px; }
        .ctxmap-legend, .ctxmap-alegend { max-width: {{ this.box }}px; }
        #map_div, .folium-map { height: 100vh !important; }
        .ctxmap-masked { max-width: {{ this.note }}px !important; }
        </style>
        {% endmacro %}
        """
    )

    def __init__(self, scale: float) -> None:
        super().__init__()
        self._name = "CtxmapLargeType"
        self.sizes = [(sel, round(px * scale, 1)) for sel, px in BASE_TYPE_PX.items()]
        self.symbol = round(12 * scale)
        self.box = round(260 * scale)
        self.note = round(420 * scale * 1.2)
