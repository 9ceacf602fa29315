"""SQL migrations of the store after the base layers (see :mod:`ctxmap.store`).

Each entry is ``(name, script)``; the store runs the scripts it has not run yet, in
order, inside one transaction. Append new entries at the end; never edit one that has
been released, because existing stores have already run it.
"""

from __future__ import annotations

from typing import Final

MIGRATION_SQL: Final[list[tuple[str, str]]] = []
