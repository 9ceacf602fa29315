"""Every palette is colour-blind safe and every legend text is readable (WCAG 1.4.1, 1.4.3).

Colour-vision deficiencies are simulated with the matrices of Machado, Oliveira and
Fernandes (2009, severity 1.0: protanopia, deuteranopia, tritanopia) applied in linear
sRGB; colours are compared by their CIELAB distance (CIE76 ΔE). Categorical palettes
must stay apart (ΔE >= 15) for normal vision and under each simulation; sequential and
diverging palettes must keep their order in lightness (L*), which every deficiency
preserves. Contrast ratios follow WCAG 2.2's definition of relative luminance, computed
here, not taken from ctxmap.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from ctxmap.maps.analysis_layers import CHOROPLETH_COLOURS, DENSITY_COLOURS, HOTSPOT_CLASSES
from ctxmap.maps.legend import (
    LEGEND,
    LEGEND_BACKGROUND_ALPHA,
    LEGEND_NOTE_TEXT,
    LEGEND_TEXT,
    MARKER_SHAPES,
    OKABE_ITO,
)
from ctxmap.maps.safety_layer import HIDDEN_COLOUR, RAG_COLOURS, RAG_LETTERS, safety_legend

MACHADO = {
    "protanopia": np.array([[0.152286, 1.052583, -0.204868],
                            [0.114503, 0.786281, 0.099216],
                            [-0.003882, -0.048116, 1.051998]]),
    "deuteranopia": np.array([[0.367322, 0.860646, -0.227968],
                              [0.280085, 0.672501, 0.047413],
                              [-0.011820, 0.042940, 0.968881]]),
    "tritanopia": np.array([[1.255528, -0.076749, -0.178779],
                            [-0.078411, 0.930809, 0.147602],
                            [0.004733, 0.691367, 0.303900]]),
}
VISIONS = ["normal", *MACHADO]
MIN_DELTA_E = 15.0


def _rgb(hex_colour: str) -> np.ndarray:
    h = hex_colour.lstrip("#")
    if len(h) == 3:
        h = "".join(c * 2 for c in h)
    return np.array([int(h[i:i + 2], 16) for i in (0, 2, 4)], dtype=float) / 255.0


def _linear(c: np.ndarray) -> np.ndarray:
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def _lab(linear_rgb: np.ndarray) -> np.ndarray:
    m = np.array([[0.4124564, 0.3575761, 0.1804375],
                  [0.2126729, 0.7151522, 0.0721750],
                  [0.0193339, 0.1191920, 0.9503041]])
    xyz = m @ linear_rgb / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def seen(hex_colour: str, vision: str) -> np.ndarray:
    """CIELAB of a colour as seen with ``vision`` (simulated)."""
    lin = _linear(_rgb(hex_colour))
    if vision != "normal":
        lin = np.clip(MACHADO[vision] @ lin, 0.0, 1.0)
    return _lab(lin)


def luminance(hex_colour: str) -> float:
    r, g, b = _linear(_rgb(hex_colour))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def over(alpha: float, top: str, below: str) -> str:
    """The colour of ``top`` at ``alpha`` over ``below`` (sRGB compositing, as browsers do)."""
    mixed = alpha * _rgb(top) + (1 - alpha) * _rgb(below)
    return "#" + "".join(f"{round(v * 255):02x}" for v in mixed)


CATEGORICAL = {
    "point layers": [LEGEND[k].colour for k in ("homes", "youth_centres", "safe_places",
                                               "incidents")],
    "safety ratings (RAG and hidden)": [*RAG_COLOURS.values(), HIDDEN_COLOUR],
    "hot and cold spots (99 %)": [HOTSPOT_CLASSES[3][0], HOTSPOT_CLASSES[-3][0]],
}
SEQUENTIAL = {
    "kernel density": list(DENSITY_COLOURS),
    "choropleth": list(CHOROPLETH_COLOURS),
    "hot and cold spots": [HOTSPOT_CLASSES[b][0] for b in (-3, -2, -1, 1, 2, 3)],
}


def test_known_values_of_the_helpers():
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast("#767676", "#ffffff") == pytest.approx(4.54, abs=0.01)
    assert seen("#ffffff", "normal")[0] == pytest.approx(100.0, abs=0.01)
    # the old palette's purple homes and blue safe places collapse: the check can fail
    assert min(np.linalg.norm(seen("#7b3294", v) - seen("#0072b2", v)) for v in VISIONS) \
        < MIN_DELTA_E


@pytest.mark.parametrize("name", list(CATEGORICAL))
@pytest.mark.parametrize("vision", VISIONS)
def test_categorical_palettes_stay_apart(name: str, vision: str):
    colours = CATEGORICAL[name]
    for a, b in itertools.combinations(colours, 2):
        distance = float(np.linalg.norm(seen(a, vision) - seen(b, vision)))
        assert distance >= MIN_DELTA_E, (name, vision, a, b, round(distance, 1))


@pytest.mark.parametrize("name", list(SEQUENTIAL))
@pytest.mark.parametrize("vision", VISIONS)
def test_ordered_palettes_keep_their_order_in_lightness(name: str, vision: str):
    lightness = [seen(c, vision)[0] for c in SEQUENTIAL[name]]
    steps = np.diff(lightness)
    assert (np.all(steps > 0) or np.all(steps < 0)) or name == "hot and cold spots", lightness
    if name == "hot and cold spots":  # diverging: darker towards both ends
        cold, hot = lightness[:3], lightness[3:]
        assert np.all(np.diff(cold) > 0) and np.all(np.diff(hot) < 0), lightness


def test_no_meaning_by_colour_alone():
    kinds = ("homes", "youth_centres", "safe_places", "incidents")
    shapes = [LEGEND[k].symbol for k in kinds]
    assert len(set(shapes)) == len(shapes)  # each point layer has its own shape
    assert set(shapes) - {"circle"} <= set(MARKER_SHAPES)
    assert sorted(RAG_LETTERS.values()) == ["A", "G", "R"]
    import geopandas as gpd

    labels = [entry.label for entry, _ in safety_legend(gpd.GeoDataFrame({"rating": []}))]
    assert [lab[:2] for lab in labels] == ["R:", "A:", "G:"]
    assert set(OKABE_ITO.values()) >= {LEGEND[k].colour for k in kinds}


@pytest.mark.parametrize("below", ["#ffffff", "#000000", "#808080"])
def test_legend_text_contrast_at_least_4_5(below: str):
    box = over(LEGEND_BACKGROUND_ALPHA, "#ffffff", below)
    assert contrast(LEGEND_TEXT, box) >= 4.5
    assert contrast(LEGEND_NOTE_TEXT, box) >= 4.5


def test_banner_and_note_contrast():
    # the meeting banner and the masked map's note: dark brown on pale yellow
    assert contrast("#3d2b00", "#fff3cd") >= 7.0
    # captions (ctxmap.app.style) on white and on the sidebar
    from ctxmap.app.style import CAPTION_COLOUR

    for background in ("#ffffff", "#f8f8f7", "#f0f2f6"):
        assert contrast(CAPTION_COLOUR, background) >= 4.5
