"""The ``contexts`` and ``pack`` commands."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest

from ctxmap.cli import main
from tests.app.test_page_contexts import _small_store


@pytest.fixture(scope="module")
def store_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "s.gpkg"
    _small_store(path)
    return path


def test_contexts_lists_csv(store_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["contexts", "--store", str(store_path), "--legal-basis", "public task"]) == 0
    frame = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert list(frame.columns[:5]) == ["id", "name", "kind", "status", "open_actions"]
    assert frame["id"].tolist() == ["ctx-0001"]
    assert frame["open_actions"].iloc[0] == 4  # 8 case-study actions, 4 done


def test_pack_writes_html(store_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "pack.html"
    assert main(["pack", "--context", "ctx-0001", "--store", str(store_path),
                 "--for-partner", "Local police", "--no-map", "--out", str(out)]) == 0
    page = out.read_text(encoding="utf-8")
    assert "Prepared for: Local police" in page and "YP-0002" not in page


@pytest.mark.parametrize("args,message", [
    (["pack", "--context", "ctx-0099", "--out", "x.html"], "no context"),
    (["pack", "--context", "ctx-0001", "--out", "x.pdf"], ".html"),
    (["pack", "--context", "ctx-0001", "--for-partner", "Nobody", "--out", "x.html"],
     "partner list"),
])
def test_errors_exit_1(store_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                       args: list[str], message: str) -> None:
    args = [a if a not in ("x.html", "x.pdf") else str(tmp_path / a) for a in args]
    assert main([*args, "--store", str(store_path)]) == 1
    assert message in capsys.readouterr().err


def test_missing_store_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["contexts", "--store", str(tmp_path / "none.gpkg")]) == 1
    assert "no store" in capsys.readouterr().err
