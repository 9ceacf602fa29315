"""The README and docs/ name only modules and functions that exist."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
PATH_REF = re.compile(r"\bctxmap/[a-z_/]+\.py\b")
# not inside a URL or a file name (https://ctxmap.example.org, data/ctxmap.gpkg)
DOTTED_REF = re.compile(r"(?<![/\w.-])ctxmap(?:\.[A-Za-z_][A-Za-z0-9_]*)+")


def _resolves(dotted: str) -> bool:
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj: object = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for name in parts[cut:]:
            if not hasattr(obj, name):
                return False
            obj = getattr(obj, name)
        return True
    return False


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_module_paths_exist(doc: Path) -> None:
    text = doc.read_text(encoding="utf-8")
    missing = sorted({ref for ref in PATH_REF.findall(text) if not (ROOT / ref).is_file()})
    assert not missing, f"{doc.name} names files that do not exist: {missing}"


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_dotted_names_exist(doc: Path) -> None:
    text = doc.read_text(encoding="utf-8")
    refs = {ref.rstrip(".") for ref in DOTTED_REF.findall(text)}
    refs = {r for r in refs if not r.endswith(".gpkg")}  # the store file, not a module
    missing = sorted(r for r in refs if not _resolves(r))
    assert not missing, f"{doc.name} names what does not exist: {missing}"
