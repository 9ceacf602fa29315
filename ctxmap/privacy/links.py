"""What a meeting link may hold: the page, a context id, an area code, zoom and layers.

:class:`ViewParams` is the only thing a meeting link carries, never personal data;
:func:`parse_view_params` reads a link and drops any value not of the expected form.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from ctxmap.layers.schemas import LAYER_KINDS
from ctxmap.text import clean_text

_CONTEXT_ID = re.compile(r"^ctx-[0-9]{1,9}$")
_AREA_ID = re.compile(r"^[EWSN][0-9]{8}$")
_PAGE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


@dataclass(frozen=True)
class ViewParams:
    """What a meeting link may hold: the view, never personal data.

    Parameters
    ----------
    page
        Page name (lower-case letters, digits, underscores).
    context
        A context id (``ctx-`` and digits) or None.
    area
        An ONS area code (e.g. ``E05012345``) or None.
    zoom
        Map zoom 1 to 19, or None.
    layers
        Layer kinds to show (subset of :data:`ctxmap.layers.schemas.LAYER_KINDS`).
    """

    page: str = "map"
    context: str | None = None
    area: str | None = None
    zoom: int | None = None
    layers: tuple[str, ...] = ()

    def to_query(self) -> dict[str, str]:
        """The query parameters of the link (``view=meeting`` plus the set fields)."""
        out = {"view": "meeting", "page": self.page}
        if self.context:
            out["context"] = self.context
        if self.area:
            out["area"] = self.area
        if self.zoom is not None:
            out["zoom"] = str(self.zoom)
        if self.layers:
            out["layers"] = ",".join(self.layers)
        return out


#: Query parameters a meeting link may carry; anything else is dropped.
VIEW_PARAM_KEYS: Final[tuple[str, ...]] = ("view", "page", "context", "area", "zoom", "layers")


def parse_view_params(params: Mapping[str, str]) -> ViewParams:
    """Read view parameters from a link.

    Values not of the expected form are ignored, so a link can never smuggle free
    text into the page.
    """
    def get(key: str) -> str:
        value = params.get(key, "")
        if isinstance(value, Sequence) and not isinstance(value, str):
            value = value[-1] if value else ""
        return clean_text(value)

    page = get("page")
    context = get("context")
    area = get("area")
    zoom_text = get("zoom")
    zoom = int(zoom_text) if zoom_text.isdigit() and 1 <= int(zoom_text) <= 19 else None
    layers = tuple(k for k in LAYER_KINDS if k in get("layers").split(","))
    return ViewParams(
        page=page if _PAGE.match(page) else "map",
        context=context if _CONTEXT_ID.match(context) else None,
        area=area if _AREA_ID.match(area) else None,
        zoom=zoom,
        layers=layers,
    )
