"""A page whose audit entry cannot be written stops, and shows no password or driver text."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest


def _script() -> None:
    from ctxmap.app.audit import audit

    audit("view", "the unmasked map")
    import streamlit as st

    st.write("after the audit")


@pytest.mark.parametrize("raised", ["driver", "store"])
def test_a_failed_audit_entry_stops_the_page_without_leaking(
    raised: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import ctxmap.app.audit as page_audit
    from ctxmap.errors import StoreError

    secret = "postgresql://analyst:hunter2-secret@db.example/ctxmap"

    def fail(*_args: object, **_kwargs: object) -> None:
        if raised == "driver":
            raise RuntimeError(f"connection to {secret} refused")
        raise StoreError(f"cannot write to {secret}")

    monkeypatch.setenv("CTXMAP_LOG_DIR", str(tmp_path))
    monkeypatch.setattr(page_audit, "audit_enabled", lambda: True)
    monkeypatch.setattr(page_audit, "open_session_store", lambda create=False: object())
    monkeypatch.setattr(page_audit, "record", fail)
    at = AppTest.from_function(_script).run(timeout=60)
    shown = " ".join(e.value for e in at.error)
    assert "could not be written, so this was not done" in shown
    assert "hunter2" not in shown
    assert not [m for m in at.markdown if "after the audit" in m.value]
    if raised == "driver":
        assert "connection to" not in shown and "error E-" in shown
        log = "".join(p.read_text() for p in tmp_path.glob("*.log"))
        assert "RuntimeError" in log and "hunter2" not in log
