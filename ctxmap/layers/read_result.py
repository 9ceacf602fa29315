"""The result of reading one layer file: its usable rows, every problem, and the report.

Readers collect every problem (file, row, column, code) into a :class:`LayerRead`
and report or raise once, with all of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

import geopandas as gpd
import numpy as np

from ctxmap.errors import InputError, Problem
from ctxmap.layers.geometry import located_mask

#: How many rows of one kind of problem a text report lists before summarising.
REPORT_ROWS_PER_PROBLEM: Final = 5


@dataclass
class LayerRead:
    """The result of reading one layer file.

    Attributes
    ----------
    file
        The file's name as given.
    kind
        The layer kind it was read as.
    gdf
        The usable rows in EPSG:4326 with the canonical columns; rows with no
        location have a null geometry; rows with errors are left out.
    problems
        Every problem found, errors and warnings.
    total_rows
        Data rows in the file.
    """

    file: str
    kind: str
    gdf: gpd.GeoDataFrame
    problems: list[Problem] = field(default_factory=list)
    total_rows: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        """Problems that make the input unusable."""
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        """Problems that are reported but leave the input usable."""
        return [p for p in self.problems if p.severity != "error"]

    @property
    def usable(self) -> bool:
        """True when the file has no errors and at least one row."""
        return not self.errors and self.total_rows > 0

    @property
    def mapped_rows(self) -> int:
        """Rows with a location (drawn on the map)."""
        return int(located_mask(self.gdf).sum()) if len(self.gdf) else 0

    @property
    def unmapped_rows(self) -> int:
        """Rows kept without a location (counted, never mapped)."""
        return int(len(self.gdf) - self.mapped_rows)

    @property
    def rejected_rows(self) -> int:
        """Rows left out because of errors."""
        return len({p.row for p in self.errors if p.row is not None})

    def report(self) -> str:
        """Return a plain-text validation report."""
        lines = [
            f"file: {self.file}",
            f"layer: {self.kind}",
            f"total rows: {self.total_rows}",
            f"mapped rows: {self.mapped_rows}",
            f"rows without a location: {self.unmapped_rows}",
            f"rows with errors (left out): {self.rejected_rows}",
            f"errors: {len(self.errors)}",
            f"warnings: {len(self.warnings)}",
        ]
        lines += [f"note: {n}" for n in self.notes]
        for group in group_problems(self.problems):
            lines.extend(group)
        lines.append("result: " + ("usable" if self.usable else "NOT usable"))
        return "\n".join(lines)

    def raise_if_unusable(self) -> LayerRead:
        """Return ``self``, or raise :class:`InputError` with the report when unusable."""
        if not self.usable:
            raise InputError(f"{self.file} cannot be used as {self.kind}:\n{self.report()}")
        return self


def group_problems(problems: list[Problem]) -> list[list[str]]:
    """Group problems by (severity, code, column) into report lines, a few rows each."""
    groups: dict[tuple[str, str, str | None], list[Problem]] = {}
    for p in problems:
        groups.setdefault((p.severity, p.code or p.message, p.column), []).append(p)
    out: list[list[str]] = []
    for items in groups.values():
        lines = [str(p) for p in items[:REPORT_ROWS_PER_PROBLEM]]
        if len(items) > REPORT_ROWS_PER_PROBLEM:
            rows = [p.row for p in items[REPORT_ROWS_PER_PROBLEM:] if p.row is not None]
            more = f"  ... and {len(items) - REPORT_ROWS_PER_PROBLEM} more rows like this"
            if rows:
                shown = ", ".join(str(r) for r in rows[:20])
                more += f" (rows {shown}{', ...' if len(rows) > 20 else ''})"
            lines.append(more)
        out.append(lines)
    return out


def warn_no_location(result: LayerRead, mask: np.ndarray, name: str, column: str) -> None:
    """Warn for each row of ``mask`` with no location (kept, counted, never mapped)."""
    n = int(mask.sum())
    if not n:
        return
    for i in np.flatnonzero(mask):
        result.problems.append(
            Problem(name, "no location: kept and counted, but not mapped and never counted in "
                    "spatial joins", row=int(i + 1), column=column, severity="warning",
                    code="no_location")
        )
    result.notes.append(f"{n} rows have no location: they are kept and counted, not mapped")
