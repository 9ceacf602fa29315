"""The dashboard's sample-only behaviour follows the mark in the store, not its path."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
NOTE = "Homes in the sample are fictional"


def _captions(page: str) -> str:
    at = AppTest.from_file(str(ROOT / page), default_timeout=90)
    at.run()
    assert not at.exception, at.exception
    return "\n".join(c.value for c in [*at.caption, *at.sidebar.caption])


def test_marked_sample_says_homes_are_fictional_and_audit_is_off(sample_copy):
    assert NOTE in _captions("pages/map.py")
    shell = _captions("app.py")
    assert "Audit log: off for the bundled sample" in shell
    assert "(the bundled sample: fictional homes, public data)" in shell


def test_a_council_store_says_neither(store_copy):
    text = _captions("pages/map.py")  # the same data, without the sample's mark
    assert NOTE not in text
    assert "Crime data: Contains public sector information" in text
    shell = _captions("app.py")
    assert "Audit log: off" not in shell
    assert "(Norwich (test copy))" in shell
