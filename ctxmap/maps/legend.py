"""Legends and notes on a map: one legend format, one box element, one attribution element.

:func:`legend_html` writes a legend block (a title, one symbol line per entry, notes),
all escaped here. :class:`Legend` is the one Leaflet control that shows such blocks:
the map's own legend, the analysis layers' legend (each block shown while its layer is
on) and the masked-view note. :class:`Attributions` adds lines to the attribution
control. Text reaches the page's scripts only through :func:`js_string`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal

from branca.element import MacroElement
from folium.template import Template

from ctxmap.text import clean_text, esc_plain

Symbol = Literal["circle", "diamond", "line", "dashed", "square", "ring", "triangle"]
LegendKind = Literal["layers", "analysis", "note"]


@dataclass(frozen=True)
class LegendEntry:
    """One line of a legend: a symbol of ``colour`` and a plain-text label.

    ``key`` names the line for code that reads a legend (e.g. ``"rag_red"``).
    """

    label: str
    colour: str
    symbol: Symbol = "square"
    key: str = ""


#: The Okabe-Ito colours (Okabe & Ito 2008, "Color Universal Design"): a categorical
#: palette told apart with every common colour-vision deficiency (tests/maps/test_palettes.py
#: checks the pairs under simulated protanopia, deuteranopia and tritanopia).
OKABE_ITO: Final[dict[str, str]] = {
    "orange": "#e69f00", "sky_blue": "#56b4e9", "bluish_green": "#009e73",
    "yellow": "#f0e442", "blue": "#0072b2", "vermillion": "#d55e00",
    "reddish_purple": "#cc79a7", "black": "#000000",
}

#: Colours, shapes and labels of every drawable layer, in one place (legend and map use
#: these). Each point layer has its own shape as well as its own colour: meaning is never
#: carried by colour alone.
LEGEND: Final[dict[str, LegendEntry]] = {
    "homes": LegendEntry("Homes", OKABE_ITO["reddish_purple"], "diamond", "homes"),
    "youth_centres": LegendEntry("Youth centres", OKABE_ITO["bluish_green"], "square",
                                 "youth_centres"),
    "safe_places": LegendEntry("Safe places", OKABE_ITO["blue"], "triangle", "safe_places"),
    "incidents": LegendEntry("Reported incidents", OKABE_ITO["vermillion"], "circle",
                             "incidents"),
    "study_area": LegendEntry("Study area", "#e08214", "line", "study_area"),
    "areas_district": LegendEntry("District outline", "#222222", "line", "areas_district"),
    "areas_ward": LegendEntry("Wards", "#555555", "line", "areas_ward"),
    "areas_msoa": LegendEntry("MSOAs", "#8c6d31", "dashed", "areas_msoa"),
    "areas_lsoa": LegendEntry("LSOAs", "#767676", "dashed", "areas_lsoa"),
    "areas_other": LegendEntry("Other areas", "#767676", "dashed", "areas_other"),
}
#: Shapes drawn as Leaflet markers (a styled ``div``): keyboard accessible as they are.
MARKER_SHAPES: Final = ("diamond", "square", "triangle")
#: Legend box text colours and its background's opacity (white): at least 4.5:1 whatever
#: the map below (tests/maps/test_palettes.py).
LEGEND_TEXT: Final = "#222222"
LEGEND_NOTE_TEXT: Final = "#4a4a4a"
LEGEND_BACKGROUND_ALPHA: Final = 0.92


def marker_class(kind: str) -> str:
    """The CSS class of a layer's marker (homes keep ``ctxmap-home``)."""
    return "ctxmap-home" if kind == "homes" else f"ctxmap-{kind.replace('_', '-')}"


def js_string(text: str) -> str:
    """Return ``text`` as a JavaScript string literal safe inside a ``<script>`` element.

    JSON-encoded, with ``<``, ``>``, ``&`` and the JavaScript line separators escaped,
    so no user string can close the script or start a tag.
    """
    return (
        json.dumps(text, ensure_ascii=False)
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def legend_html(
    title: str,
    entries: Sequence[tuple[LegendEntry, str]],
    notes: Sequence[str] = (),
) -> str:
    """Return one legend block: ``title``, a line per ``(entry, detail)``, then notes.

    Every text is cleaned and escaped here (labels, details and notes are plain text).
    """
    lines = [f"<b>{esc_plain(clean_text(title))}</b>"]
    for entry, detail in entries:
        colour = esc_plain(entry.colour)
        if entry.symbol in ("line", "dashed", "ring"):
            style = f"border-color:{colour}"
        elif entry.symbol == "triangle":
            style = f"border-bottom-color:{colour}"
        else:
            style = f"background:{colour}"
        text = esc_plain(clean_text(entry.label))
        if detail:
            text += f' <span class="note">{esc_plain(clean_text(detail))}</span>'
        lines.append(f'<span class="sym {esc_plain(entry.symbol)}" style="{style}"></span>{text}')
    lines.extend(f'<span class="note">{esc_plain(clean_text(n))}</span>' for n in notes)
    return '<div class="block">' + "<br>".join(lines) + "</div>"


#: Where each kind of box sits and its CSS class.
_BOXES: Final[dict[str, tuple[str, str]]] = {
    "layers": ("bottomleft", "ctxmap-legend"),
    "analysis": ("bottomright", "ctxmap-alegend"),
    "note": ("topleft", "ctxmap-masked"),
}


class Legend(MacroElement):
    """A Leaflet control box holding blocks of already escaped HTML.

    Parameters
    ----------
    blocks
        ``(html, layer)`` pairs: ``html`` from :func:`legend_html` (or other escaped
        HTML); ``layer`` is the JavaScript name of a feature group (its
        ``get_name()``) whose block shows only while the group is on the map, or
        ``None`` for a block always shown. The box hides when no block is shown.
    kind
        ``"layers"``: the map's legend (bottom left, with the map's own styles);
        ``"analysis"``: the analysis layers' legend (bottom right); ``"note"``: a
        banner-like note (top left), e.g. that the view is masked.
    white_background
        With ``kind="layers"``: a white map background (no basemap).
    """

    _template = Template(
        """
        {% macro header(this, kwargs) %}
        <style>
        {%- if this.kind == "note" %}
        .ctxmap-masked { background: #fff3cd; color: #3d2b00; border: 2px solid #b8860b;
          padding: 6px 10px; font: 600 15px/1.4 system-ui, sans-serif; border-radius: 4px;
          max-width: 420px; }
        {%- else %}
        .{{ this.css_class }} { background: rgba(255,255,255,{{ this.alpha }}); padding: 6px 8px;
          font: 12px/1.5 system-ui, sans-serif; border-radius: 4px; color: {{ this.text }};
          box-shadow: 0 1px 4px rgba(0,0,0,0.3); max-width: 260px; max-height: 45vh;
          overflow-y: auto; }
        .{{ this.css_class }} .block { margin-bottom: 4px; }
        .{{ this.css_class }} .sym { display: inline-block; width: 12px; height: 12px;
          margin-right: 6px; vertical-align: -1px; box-sizing: border-box; }
        .{{ this.css_class }} .circle { border-radius: 50%; border: 1px solid #fff; }
        .{{ this.css_class }} .ring { border-radius: 50%; border: 2px dashed; }
        .{{ this.css_class }} .diamond { transform: rotate(45deg) scale(0.8);
          border: 1px solid #fff; }
        .{{ this.css_class }} .line { height: 0; border-top: 3px solid; vertical-align: 3px; }
        .{{ this.css_class }} .dashed { height: 0; border-top: 2px dashed; vertical-align: 3px; }
        .{{ this.css_class }} .triangle { width: 0; height: 0; border-left: 7px solid transparent;
          border-right: 7px solid transparent; border-bottom: 12px solid; }
        .{{ this.css_class }} .note { color: {{ this.note_text }}; font-size: 11px; }
        {%- endif %}
        {%- if this.kind == "layers" %}
        .ctxmap-mark div { width: 12px; height: 12px; border: 2px solid #fff;
          box-sizing: border-box; }
        .ctxmap-diamond div { transform: rotate(45deg); }
        .ctxmap-triangle div { width: 14px; height: 13px; border: none;
          clip-path: polygon(50% 0, 100% 100%, 0 100%); }
        {%- for cls, colour in this.marker_colours %}
        .{{ cls }} div { background: {{ colour }}; box-shadow: 0 0 0 1px {{ colour }}; }
        {%- endfor %}
        .leaflet-control-attribution { font-size: 10px; line-height: 1.35; max-width: 55%; }
        .leaflet-control-layers { font-size: 13px; }
        {% if this.white_background %}.leaflet-container { background: #fff; }{% endif %}
        {%- endif %}
        </style>
        {% endmacro %}
        {% macro script(this, kwargs) %}
        (function () {
            var map = {{ this._parent.get_name() }};
            var blocks = [
            {%- for layer, text in this.blocks %}
                [{{ layer }}, {{ text }}],
            {%- endfor %}
            ];
            var box = L.control({position: "{{ this.position }}"});
            box.onAdd = function () {
                var div = L.DomUtil.create("div", "{{ this.css_class }}");
                var els = blocks.map(function (b) {
                    var el = L.DomUtil.create("div", "", div);
                    el.innerHTML = b[1];
                    return el;
                });
                function update() {
                    var any = false;
                    blocks.forEach(function (b, i) {
                        var on = b[0] === null || map.hasLayer(b[0]);
                        els[i].style.display = on ? "" : "none";
                        any = any || on;
                    });
                    div.style.display = any ? "" : "none";
                }
                map.on("overlayadd overlayremove", update);
                update();
                L.DomEvent.disableClickPropagation(div);
                L.DomEvent.disableScrollPropagation(div);
                return div;
            };
            box.addTo(map);
        })();
        {% endmacro %}
        """
    )

    def __init__(
        self,
        blocks: Sequence[tuple[str, str | None]],
        *,
        kind: LegendKind = "layers",
        white_background: bool = False,
    ) -> None:
        super().__init__()
        self._name = "CtxmapLegend"
        self.kind = kind
        self.position, self.css_class = _BOXES[kind]
        self.blocks = [(layer or "null", js_string(text)) for text, layer in blocks]
        self.white_background = white_background
        self.marker_colours = [(marker_class(kind), e.colour) for kind, e in LEGEND.items()
                               if e.symbol in MARKER_SHAPES]
        self.text, self.note_text = LEGEND_TEXT, LEGEND_NOTE_TEXT
        self.alpha = LEGEND_BACKGROUND_ALPHA


class Attributions(MacroElement):
    """Add lines to a map's attribution control (plain text, escaped and JSON-encoded)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        {% for text in this.texts %}
        {{ this._parent.get_name() }}.attributionControl.addAttribution({{ text }});
        {% endfor %}
        {% endmacro %}
        """
    )

    def __init__(self, texts: Sequence[str]) -> None:
        super().__init__()
        self._name = "CtxmapAttributions"
        self.texts = [js_string(esc_plain(t)) for t in texts]
