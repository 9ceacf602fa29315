"""The Nearby page's tables and lists: place search, coverage of homes, homes with a gap.

Plain pandas, no streamlit: what the page shows is testable without it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import geopandas as gpd
import pandas as pd

from ctxmap.layers.geometry import located_mask
from ctxmap.text import clean_text

#: The layers a starting point can be searched in by name.
SEARCH_LAYERS: Final = ("homes", "safe_places", "youth_centres")


def search_places(layers: Mapping[str, gpd.GeoDataFrame], text: str) -> pd.DataFrame:
    """Located homes, safe places and youth centres whose name contains ``text``.

    Case-insensitive, on the cleaned name (:func:`ctxmap.text.clean_text`). Columns: the
    layers' own plus ``layer`` and ``key`` (``"layer|id"``).
    """
    frames = [layers[k].assign(layer=k) for k in SEARCH_LAYERS if len(layers[k])]
    if not frames:
        return pd.DataFrame(columns=["id", "name", "category", "layer", "key"])
    everything = pd.concat(frames, ignore_index=True)
    everything = everything.loc[located_mask(everything.geometry.to_numpy())]
    shown = everything["name"].map(clean_text)
    hit = everything.loc[shown.str.contains(text.strip(), case=False, regex=False)].copy()
    hit["key"] = [f"{r.layer}|{r.id}" for r in hit.itertuples()]
    return hit


def coverage_table(cov: pd.DataFrame) -> pd.DataFrame:
    """Coverage of homes (:func:`ctxmap.nearby.coverage.home_coverage`) for people to read."""
    def gap(column: str) -> pd.Series:
        return cov[column].map({True: "yes", False: "no"}).fillna("no location")

    return pd.DataFrame({
        "Home": cov["home_id"],
        "Name": cov["name"].map(clean_text),
        "Nearest safe place": cov["safe_place_name"].map(clean_text),
        "Walk to safe place (min)": cov["safe_walk_min"].round(1),
        "Nearest youth centre": cov["youth_centre_name"].map(clean_text),
        "Walk to youth centre (min)": cov["youth_walk_min"].round(1),
        "Gap (safe place)": gap("gap"),
        "Gap (youth centre)": gap("youth_gap"),
    })


def gap_homes(cov: pd.DataFrame, column: str = "gap") -> pd.DataFrame:
    """The rows of ``cov`` whose ``column`` (``gap`` or ``youth_gap``) is true."""
    return cov.loc[cov[column].fillna(False).astype(bool)]


def gap_list(gaps: pd.DataFrame) -> str:
    """Homes with a gap as one line: ``id (name), ...``."""
    return ", ".join(f"{r.home_id} ({clean_text(r.name) or 'unnamed'})"
                     for r in gaps.itertuples())
