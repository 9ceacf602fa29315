"""ctxmap.text: the one escaper for HTML and the one for Markdown."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from ctxmap.text import clean_text, esc, esc_markdown, esc_plain

HOSTILE = '<img src=x onerror="alert(1)"> & \u202eevil'


def test_esc_escapes_and_isolates_direction() -> None:
    out = esc(HOSTILE)
    assert out.startswith("<bdi>") and out.endswith("</bdi>")
    assert "<img" not in out and "&lt;img" in out and "&quot;" in out and "&amp;" in out
    assert "\u202e" in out  # kept, but inside <bdi> it cannot reorder what follows


@pytest.mark.parametrize("missing", [None, math.nan, pd.NA, "", "  \t\n "])
def test_missing_text_gives_nothing(missing: object) -> None:
    assert clean_text(missing) == "" and esc(missing) == ""


def test_clean_text_drops_control_characters() -> None:
    assert clean_text("a\x00b\x1b[31m  c\r\n") == "ab[31m c"


def test_esc_plain_for_our_own_strings() -> None:
    assert esc_plain('a "b" <c>') == "a &quot;b&quot; &lt;c&gt;"


@pytest.mark.parametrize("text", ["*bold*", "[link](http://x)", "<b>x</b>", "# head",
                                  "a_b", "1. item", "`code`", "$x$", "back\\slash"])
def test_esc_markdown_leaves_no_formatting(text: str) -> None:
    out = esc_markdown(text)
    # every special character is preceded by a backslash; removing them gives the text back
    assert out.replace("\\", "") == text.replace("\\", "")
    for ch in "*[]()<>#_`$.":
        assert ch not in out.replace(f"\\{ch}", "")
