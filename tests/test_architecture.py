"""The layout's rules, checked on the code's own imports.

Each package of ``ctxmap`` says in its ``__init__`` docstring which of ctxmap's own
modules and packages it may import ("May import: …"); a few third-party libraries may
be imported by one package only. Both are read from the source with :mod:`ast`, lazy
imports inside functions included, so a rule cannot be broken where a linter does not
look. (``lint-imports`` checks the same layering in ``.ci/run``.)
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "ctxmap"
PACKAGES = sorted(p.parent.name for p in PKG.glob("*/__init__.py"))
TOP_MODULES = sorted(p.stem for p in PKG.glob("*.py") if p.stem != "__init__")

# Third-party (and stdlib database) modules that only one place may import.
ONLY_IN: dict[str, set[str]] = {
    "sqlite3": {"store"},
    "psycopg": {"store"},
    "sqlalchemy": {"store"},
    "folium": {"maps"},
    "branca": {"maps"},
    "streamlit": {"app"},
    "streamlit_folium": {"app"},
    "jinja2": {"reports"},
}


def _imports(path: Path) -> list[tuple[int, str]]:
    """Every module ``path`` imports (absolute names), with its line."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.extend((node.lineno, a.name) for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "ctxmap":
                out.extend((node.lineno, f"ctxmap.{a.name}") for a in node.names)
            else:
                out.append((node.lineno, node.module))
    return out


def _allowed(package: str) -> set[str]:
    doc = ast.get_docstring(ast.parse((PKG / package / "__init__.py").read_text())) or ""
    match = re.search(r"May import:(.*?)(?:\.\s*$|\n\n)", doc, flags=re.S)
    assert match, f"ctxmap/{package}/__init__.py: the docstring has no 'May import:' line"
    return {name.strip() for name in match.group(1).replace("\n", " ").split(",")}


def _owner(name: str) -> str | None:
    """The package or top-level module of ctxmap that ``name`` belongs to."""
    parts = name.split(".")
    if parts[0] != "ctxmap" or len(parts) < 2:
        return None
    return f"ctxmap.{parts[1]}"


@pytest.mark.parametrize("package", PACKAGES)
def test_package_imports_only_what_its_docstring_allows(package: str) -> None:
    allowed = _allowed(package) | {f"ctxmap.{package}"}
    broken = []
    for path in sorted((PKG / package).rglob("*.py")):
        for line, name in _imports(path):
            owner = _owner(name)
            if owner and owner not in allowed:
                broken.append(f"{path.relative_to(ROOT)}:{line} imports {name}")
    assert not broken, "\n".join(broken)


@pytest.mark.parametrize("package", PACKAGES)
def test_package_docstring_opens_with_what_it_owns(package: str) -> None:
    doc = ast.get_docstring(ast.parse((PKG / package / "__init__.py").read_text())) or ""
    first = doc.splitlines()[0] if doc else ""
    assert first.lower().startswith(package.lower()), first


def test_only_one_package_imports_each_restricted_library() -> None:
    broken = []
    for path in sorted(PKG.rglob("*.py")):
        rel = path.relative_to(PKG)
        where = rel.parts[0] if len(rel.parts) > 1 else rel.stem
        for line, name in _imports(path):
            top = name.split(".")[0]
            if top in ONLY_IN and where not in ONLY_IN[top]:
                broken.append(f"ctxmap/{rel}:{line} imports {name} (only {ONLY_IN[top]} may)")
    assert not broken, "\n".join(broken)


def test_top_level_modules_are_few_and_shared() -> None:
    """Outside the packages only the entry points and the helpers every package shares."""
    assert set(TOP_MODULES) <= {"__main__", "cli", "errors", "settings", "text"}, TOP_MODULES


def test_no_module_is_over_500_lines() -> None:
    long = {}
    for path in PKG.rglob("*.py"):
        n = len(path.read_text(encoding="utf-8").splitlines())
        if n > 500:
            long[str(path.relative_to(ROOT))] = n
    assert not long, long


def test_no_page_is_over_250_lines() -> None:
    long = {}
    for path in [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py"))]:
        n = len(path.read_text(encoding="utf-8").splitlines())
        if n > 250:
            long[str(path.relative_to(ROOT))] = n
    assert not long, long
