"""The contexts page's tables and choices, built from a context's records or the layers.

Plain pandas, no streamlit: what the page shows is testable without it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import geopandas as gpd
import pandas as pd

from ctxmap.cases.records import ASSESSMENT_SIDES, AssessmentEntry, ContextBundle, assessment_frame
from ctxmap.cases.repository import get_context, list_contexts
from ctxmap.errors import CtxmapError
from ctxmap.layers.geometry import located_mask
from ctxmap.layers.schemas import STORAGE_CRS
from ctxmap.store.protocol import Store

#: Short names of the three sides of an assessment.
SIDE_LABELS: Final[dict[str, str]] = {"young_people": "Young people",
                                      "guardianship": "Guardianship", "place": "The place"}
#: The layers a context can be referred at (a place on the map).
REFERRAL_LAYERS: Final = ("homes", "youth_centres", "safe_places")
_ASSESSMENT_COLUMNS: Final = ["factor", "text", "source", "grade", "yp_ref", "recorded_on"]


def young_people_refs(text: str) -> list[str]:
    """The references of a comma-separated list (``"YP-0001, YP-0002"``), blanks dropped."""
    return [r for r in (x.strip() for x in text.split(",")) if r]


def referral_places(layers: Mapping[str, gpd.GeoDataFrame]) -> gpd.GeoDataFrame:
    """The located homes, youth centres and safe places a context can be referred at.

    Columns: the layers' own, plus ``layer``, ``key`` (``"layer:id"``) and ``label``.
    """
    frames = [layers[k].assign(layer=k) for k in REFERRAL_LAYERS]
    places = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry",
                              crs=STORAGE_CRS)
    places = places.loc[located_mask(places)].copy()
    places["key"] = [f"{r.layer}:{r.id}" for r in places.itertuples()]
    places["label"] = [f"{r.name or 'Unnamed'} ({r.layer}, {r.category})"
                       for r in places.itertuples()]
    return places


def assessment_tables(bundle: ContextBundle) -> list[tuple[str, pd.DataFrame]]:
    """The assessment, one table per side, with each side's title."""
    return [(title, assessment_frame(e for e in bundle.assessment if e.side == side)[
        _ASSESSMENT_COLUMNS]) for side, title in ASSESSMENT_SIDES.items()]


def entry_label(entry: AssessmentEntry) -> str:
    """One assessment entry in a list: number, side, factor, grade and its text's start."""
    return (f"#{entry.id} {SIDE_LABELS[entry.side]} / {entry.factor} "
            f"({entry.source_grade}{entry.info_grade}): {entry.text[:70]}")


def ratings_table(bundle: ContextBundle) -> pd.DataFrame:
    """The context's safety-map ratings: place, rating, by whom, date, comment."""
    return pd.DataFrame([{"place": r.place_label, "rating": r.rating, "by": r.yp_ref,
                          "date": r.rated_on, "comment": r.comment}
                         for r in bundle.safety_ratings])


def review_notes_table(bundle: ContextBundle) -> pd.DataFrame:
    """The context's review notes: date, kind, young person, note."""
    return pd.DataFrame([{"date": n.noted_on, "kind": n.kind, "young person": n.yp_ref,
                          "note": n.text} for n in bundle.review_notes])


def pooled_table(pooled: gpd.GeoDataFrame) -> pd.DataFrame:
    """The pooled safety map as a table (see :func:`ctxmap.cases.safety_map.pool_by_place`)."""
    return pd.DataFrame(pooled.drop(columns="geometry")).rename(columns={
        "place_label": "place", "ratings": "all ratings", "rating": "mostly",
        "hidden": "counts hidden"})


def located_contexts(store: Store) -> pd.DataFrame:
    """Contexts with a location, each at a point inside it: ``id, name, lon, lat``.

    Empty when the store has none (or cannot list them).
    """
    rows: list[dict[str, object]] = []
    try:
        for cid in list_contexts(store)["id"].tolist():
            ctx = get_context(store, str(cid))
            if ctx.geometry is None or ctx.geometry.is_empty:
                continue
            pt = ctx.geometry.representative_point()
            rows.append({"id": ctx.id, "name": ctx.name, "lon": pt.x, "lat": pt.y})
    except CtxmapError:
        return pd.DataFrame(columns=["id", "name", "lon", "lat"])
    return pd.DataFrame(rows, columns=["id", "name", "lon", "lat"])
