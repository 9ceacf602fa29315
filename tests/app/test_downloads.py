"""Dashboard downloads exist only after the click that audits them.

Every page's export goes through ``ctxmap.app.audit.export_button``, which gives
``st.download_button`` a callable: Streamlit stores bytes at a ``/media/...`` URL only for
data given directly (``marshall_file``), and runs a callable only when the button is
clicked. These tests capture what the page hands to Streamlit, check that it is a
callable and that nothing is in the audit log or in the runtime's media storage before it
runs, then run it as the click does: the entry (page, context, partner, rows) is written
first, then the bytes come back.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import streamlit
from streamlit.testing.v1 import AppTest

from ctxmap.errors import StoreError
from ctxmap.privacy.audit import read_log
from ctxmap.store.geopackage import GeoPackageStore

PAGES = Path(__file__).resolve().parents[2] / "pages"


class Downloads:
    """Stands in for ``st.download_button``: keeps what each button would serve."""

    def __init__(self) -> None:
        self.buttons: list[tuple[str, Any, dict[str, Any]]] = []

    def __call__(self, label: str, data: Any, **kwargs: Any) -> bool:
        self.buttons.append((label, data, kwargs))
        return False

    def only(self, label_part: str) -> Callable[[], str | bytes]:
        (found,) = [d for label, d, _ in self.buttons if label_part in label]
        return found  # type: ignore[no-any-return]


@pytest.fixture
def downloads(monkeypatch: pytest.MonkeyPatch) -> Downloads:
    spy = Downloads()
    monkeypatch.setattr(streamlit, "download_button", spy)
    return spy


def exports(path: Path) -> list[str]:
    log = read_log(GeoPackageStore(path, create=False))
    return log.loc[log["action"].str.startswith("export"), "what"].tolist()


def _pack_page(store_copy: Path, who: str) -> AppTest:
    at = AppTest.from_file(str(PAGES / "contexts.py"), default_timeout=90).run()
    assert not at.exception, at.exception
    at.selectbox(key="ctx_pack_for").set_value(who)
    at.button(key="pack_make").click().run()
    assert not at.exception, at.exception
    return at


def test_full_pack_download_is_made_by_the_audited_click(store_copy: Path,
                                                         downloads: Downloads) -> None:
    _pack_page(store_copy, "Lead agency (full record)")
    produce = downloads.only("Download pack")
    assert callable(produce)  # deferred: Streamlit keeps no bytes for it before the click
    assert exports(store_copy) == []
    page = produce()
    assert "<html" in str(page).lower()
    assert exports(store_copy) == [
        "Contexts of concern page: meeting pack (HTML), full record for the lead agency, "
        "unmasked; context ctx-0001"]
    produce()  # each click is an export, each one logged
    assert len(exports(store_copy)) == 2


def test_partner_pack_entry_names_the_partner(store_copy: Path, downloads: Downloads) -> None:
    _pack_page(store_copy, "Local police")
    downloads.only("Download pack")()
    assert exports(store_copy) == [
        "Contexts of concern page: meeting pack (HTML), consent-filtered, home masked; "
        "context ctx-0001; for partner Local police"]


def test_no_bytes_when_the_entry_cannot_be_written(store_copy: Path, downloads: Downloads,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    _pack_page(store_copy, "Lead agency (full record)")
    produce = downloads.only("Download pack")

    def refuse(*_a: object, **_k: object) -> int:
        raise StoreError("the audit log is read-only")

    monkeypatch.setattr("ctxmap.app.audit.record", refuse)
    with pytest.raises(StoreError, match="read-only"):
        produce()


def test_callable_data_leaves_nothing_in_media_storage() -> None:
    """Streamlit's own code path: a callable registers a deferred file, never bytes."""
    from streamlit.elements.widgets.button import marshall_file
    from streamlit.proto.DownloadButton_pb2 import DownloadButton
    from streamlit.runtime.media_file_manager import MediaFileManager
    from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage

    storage = MemoryMediaFileStorage("/media")
    manager = MediaFileManager(storage)

    class FakeRuntime:
        media_file_mgr = manager

    calls: list[int] = []

    def produce() -> bytes:
        calls.append(1)
        return b"secret pack"

    proto = DownloadButton()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("streamlit.runtime.exists", lambda: True)
        mp.setattr("streamlit.runtime.get_instance", lambda: FakeRuntime())
        marshall_file("coords", produce, proto, "text/html", "pack.html")
        assert proto.url == "" and proto.deferred_file_id
        assert storage._files_by_id == {} and calls == []  # nothing served, nothing made
        url = manager.execute_deferred(proto.deferred_file_id)  # the click
        assert calls == [1] and url.startswith("/media/")
        eager = DownloadButton()
        marshall_file("coords2", b"secret pack", eager, "text/html", "pack.html")
        assert eager.url.startswith("/media/")  # direct data sits at a URL at once
