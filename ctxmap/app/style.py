"""The app's accessibility CSS: readable captions, large enough targets, a visible focus.

Streamlit's default theme draws captions and help text in a faded grey (3.8:1 on the
sidebar, below WCAG 2.2 AA's 4.5:1) and the day and month parts of a date field as
targets about 18 px wide (below the 24 px of WCAG 2.5.8). :func:`accessible_style`
adds the CSS that fixes both, and a focus ring on every control, once per run (app.py
calls it first).
"""

from __future__ import annotations

from typing import Final

import streamlit as st

#: Caption and help text colour: 8.9:1 on white, 8.4:1 on the sidebar's #f8f8f7.
CAPTION_COLOUR: Final = "#46464a"
#: Focus ring (GOV.UK's yellow and black: visible on white, grey and map backgrounds).
FOCUS_RING: Final = "outline: 3px solid #0b0c0c !important; outline-offset: 2px !important; " \
    "box-shadow: 0 0 0 6px #ffdd00 !important;"

ACCESSIBLE_CSS: Final = f"""
<style>
[data-testid="stCaptionContainer"], [data-testid="stCaptionContainer"] *,
[data-testid="stWidgetLabel"] small, [data-testid="stTooltipHoverTarget"] {{
  color: {CAPTION_COLOUR} !important; opacity: 1 !important; }}
.react-aria-DateField [role="spinbutton"] {{
  display: inline-flex; align-items: center; justify-content: center;
  min-width: 24px; min-height: 24px; }}
a:focus-visible, button:focus-visible, input:focus-visible, textarea:focus-visible,
select:focus-visible, summary:focus-visible, [role="tab"]:focus-visible,
[role="spinbutton"]:focus-visible, [role="switch"]:focus-visible,
[role="checkbox"]:focus-visible, [role="radio"]:focus-visible, [tabindex]:focus-visible,
label:focus-within:has(input[type="checkbox"]:focus-visible) {{ {FOCUS_RING} }}
</style>
"""


def accessible_style() -> None:
    """Add the accessibility CSS to the page (call once per run, before the pages draw)."""
    st.html(ACCESSIBLE_CSS)
