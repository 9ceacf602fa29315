"""Safety mapping by young people: places to rate, clicked points, the pooled RAG layer.

Young people rate places red (unsafe), amber (unsure) or green (safe). A place is
picked from the map layers (safe places, youth centres, named areas; never a home,
because the pooled layer is shared) or clicked on a map. The ratings of every
context, over time, are pooled per place into one layer drawn with RAG colours and
counts; in shared views small counts are suppressed so no single young person's
rating can be read off the map. The layer is drawn by :mod:`ctxmap.maps.safety_layer`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Final

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import Point

from ctxmap.cases.validation import check_date
from ctxmap.errors import InputError
from ctxmap.layers.crs import require_display_crs
from ctxmap.layers.geometry import located_mask
from ctxmap.layers.schemas import STORAGE_CRS
from ctxmap.privacy.disclosure import suppress
from ctxmap.privacy.masks import mask_points_to_cells
from ctxmap.store.protocol import Store
from ctxmap.store.record_tables import ctx_safety_ratings

RAG: Final[tuple[str, ...]] = ("red", "amber", "green")
RAG_MEANINGS: Final[dict[str, str]] = {
    "red": "feels unsafe", "amber": "not sure / sometimes unsafe", "green": "feels safe",
}
#: Layers a young person may pick a place from, with their labels (homes never).
PICKABLE_LAYERS: Final[dict[str, str]] = {
    "safe_places": "safe place", "youth_centres": "youth centre", "areas": "area",
}
DEFAULT_AREA_LEVELS: Final[tuple[str, ...]] = ("ward", "msoa", "lsoa")
POOLED_COLUMNS: Final[tuple[str, ...]] = (
    "place_label", "red", "amber", "green", "ratings", "share_red", "rating", "hidden",
)


def pickable_places(
    layers: Mapping[str, gpd.GeoDataFrame],
    area_levels: Sequence[str] = DEFAULT_AREA_LEVELS,
) -> gpd.GeoDataFrame:
    """The places a young person can pick to rate, as points (EPSG:4326).

    Parameters
    ----------
    layers
        Layers keyed by kind; ``safe_places``, ``youth_centres`` and ``areas`` are used
        (``homes`` never: a rating of a home would put the home on the shared map).
    area_levels
        Area levels offered (an area is rated at its representative point, a point
        inside it).

    Returns
    -------
    GeoDataFrame
        ``key`` (``layer:id``, unique), ``label`` (name and kind), ``layer``,
        ``place_id``, points; unnamed and unlocated places are left out. Sorted by label.

    Raises
    ------
    InputError
        If a layer used is not in EPSG:4326.
    """
    frames = []
    for layer, kind_label in PICKABLE_LAYERS.items():
        g = layers.get(layer)
        if g is None or g.empty:
            continue
        require_display_crs(g, f"layer {layer}")
        if layer == "areas":
            levels = g["level"].astype("object") if "level" in g else pd.Series("", g.index)
            g = g.loc[levels.isin(list(area_levels)).to_numpy()]
        names = g["name"].astype("object")
        named = (names.notna() & (names.astype(str).str.strip() != "")).to_numpy()
        keep = located_mask(g) & named
        g = g.loc[keep]
        if g.empty:
            continue
        if layer == "areas":
            points = g.geometry.representative_point()
            level = g["level"].astype(str).str.upper().str.replace("WARD", "ward")
            label = g["name"].astype(str) + " (" + level + " area)"
        else:
            points = g.geometry.representative_point()
            label = g["name"].astype(str) + f" ({kind_label})"
        ids = g["id"].astype(str)
        frames.append(pd.DataFrame({
            "key": (layer + ":" + ids).to_numpy(), "label": label.to_numpy(),
            "layer": layer, "place_id": ids.to_numpy(), "geometry": points.to_numpy()}))
    if not frames:
        return gpd.GeoDataFrame({c: pd.Series([], dtype="object")
                                 for c in ("key", "label", "layer", "place_id")},
                                geometry=gpd.GeoSeries([], crs=STORAGE_CRS), crs=STORAGE_CRS)
    out = pd.concat(frames, ignore_index=True).drop_duplicates("key")
    out = out.sort_values(["label", "key"], kind="stable").reset_index(drop=True)
    return gpd.GeoDataFrame(out, geometry="geometry", crs=STORAGE_CRS)


def clicked_point(value: Mapping[str, Any] | None) -> Point | None:
    """The point of streamlit-folium's ``last_clicked`` value, or ``None`` when nothing was clicked.

    Raises
    ------
    InputError
        If the value has no numeric ``lat``/``lng`` within the world's range.
    """
    if not value:
        return None
    try:
        lat, lng = float(value["lat"]), float(value["lng"])
    except (KeyError, TypeError, ValueError):
        raise InputError(f"map click {value!r}; expected lat and lng numbers") from None
    if not (math.isfinite(lat) and math.isfinite(lng) and -90 <= lat <= 90
            and -180 <= lng <= 180):
        raise InputError(f"map click at lat {lat}, lng {lng}; expected -90..90 and -180..180")
    return Point(round(lng, 6), round(lat, 6))


def pool_by_place(
    ratings: gpd.GeoDataFrame, *, threshold: int | None = None, precision: int = 4
) -> gpd.GeoDataFrame:
    """Pool ratings (all contexts, all dates given) per place, with RAG counts.

    A place is a label at one location: ratings with the same ``place_label`` whose
    points round to the same ``precision`` decimals of a degree (4: about 10 m) are one
    place, drawn at the mean of their points.

    Parameters
    ----------
    ratings
        ``place_label``, ``rating`` (red/amber/green) and point or area geometry, in
        EPSG:4326 (e.g. :func:`safety_ratings_layer`). Not modified.
    threshold
        For shared views: counts from 1 to ``threshold - 1`` are hidden (``<NA>``) with
        :func:`ctxmap.privacy.disclosure.suppress` (at least 3). ``None`` shows every count.
    precision
        Decimals of a degree used to tell places with the same label apart.

    Returns
    -------
    GeoDataFrame
        One row per place: ``place_label, red, amber, green, ratings, share_red, rating,
        hidden`` and the point. ``rating`` is the most frequent rating among the counts
        shown (ties go to the less safe rating), ``None`` when every count is hidden;
        ``share_red`` is ``NaN`` when a count it needs is hidden; ``hidden`` is True when
        any count was suppressed, and then ``ratings`` is hidden too (the total minus the
        counts shown would give the hidden one away). Sorted by share red then ratings, descending.

    Raises
    ------
    InputError
        On a wrong CRS, missing columns or a rating other than red/amber/green.
    """
    require_display_crs(ratings, "the ratings")
    missing = [c for c in ("place_label", "rating") if c not in ratings]
    if missing:
        raise InputError(f"the ratings have no column(s) {missing}; expected place_label, "
                         "rating and a geometry")
    located = ratings.loc[located_mask(ratings)]
    bad = sorted(set(located["rating"].astype(str)) - set(RAG))
    if bad:
        raise InputError(f"ratings {bad}; expected red, amber or green")
    cols = {c: pd.Series([], dtype="Int64") for c in ("red", "amber", "green", "ratings")}
    if located.empty:
        empty = pd.DataFrame({"place_label": pd.Series([], dtype="object"), **cols,
                              "share_red": pd.Series([], dtype=float),
                              "rating": pd.Series([], dtype="object"),
                              "hidden": pd.Series([], dtype=bool)})
        return gpd.GeoDataFrame(empty, geometry=gpd.GeoSeries([], crs=STORAGE_CRS),
                                crs=STORAGE_CRS)
    pts = located.geometry.representative_point()
    frame = pd.DataFrame({
        "place_label": located["place_label"].astype(str).to_numpy(),
        "rating": located["rating"].astype(str).to_numpy(),
        "x": pts.x.to_numpy(), "y": pts.y.to_numpy(),
        "kx": np.round(pts.x.to_numpy(), precision), "ky": np.round(pts.y.to_numpy(), precision),
    })
    keys = ["place_label", "kx", "ky"]
    counts = (pd.crosstab([frame[k] for k in keys], frame["rating"])
              .reindex(columns=list(RAG), fill_value=0))
    where = frame.groupby(keys)[["x", "y"]].mean().reindex(counts.index)
    out = counts.reset_index().drop(columns=["kx", "ky"])
    out.columns.name = None
    out["x"], out["y"] = where["x"].to_numpy(), where["y"].to_numpy()
    out["ratings"] = out[list(RAG)].sum(axis=1)
    raw = out[[*RAG, "ratings"]].copy()
    if threshold is not None:
        for c in (*RAG, "ratings"):
            out[c] = suppress(out[c], threshold)
    else:
        out[[*RAG, "ratings"]] = out[[*RAG, "ratings"]].astype("Int64")
    shown = out[list(RAG)]
    out["hidden"] = (shown.isna().any(axis=1) | out["ratings"].isna()).to_numpy(dtype=bool)
    # the total minus the counts shown would give a hidden count away: hide it too
    out.loc[out["hidden"].to_numpy(), "ratings"] = pd.NA
    share = (out["red"].astype("Float64") / out["ratings"].astype("Float64"))
    out["share_red"] = share.astype(float).to_numpy()
    out["rating"] = [_top(row) for row in shown.itertuples(index=False)]
    out["_raw"] = raw["ratings"].to_numpy()
    out = out.sort_values(["share_red", "_raw", "place_label"], ascending=[False, False, True],
                          na_position="last", kind="stable").drop(columns="_raw")
    out = out.reset_index(drop=True)
    geoms = [Point(x, y) for x, y in zip(out["x"], out["y"], strict=True)]
    return gpd.GeoDataFrame(out[list(POOLED_COLUMNS)],
                            geometry=gpd.GeoSeries(geoms, crs=STORAGE_CRS), crs=STORAGE_CRS)


def _top(row: tuple[Any, ...]) -> str | None:
    best, best_n = None, 0
    for name, n in zip(RAG, row, strict=True):
        if n is pd.NA or pd.isna(n):
            continue
        if int(n) > best_n:
            best, best_n = name, int(n)
    return best


def shared_safety_places(pooled: gpd.GeoDataFrame, cell_m: float = 250.0) -> gpd.GeoDataFrame:
    """Pooled ratings fit for a shared screen: generic labels, points moved to their square.

    Labels typed by staff ("path beside the home") are replaced by a generic one, and
    each point is moved to the centre of its ``cell_m`` grid square
    (:func:`ctxmap.privacy.masks.mask_points_to_cells`), so a rated spot is never shown exactly.
    """
    require_display_crs(pooled, "the pooled ratings")
    cells = mask_points_to_cells(pooled[["geometry"]], cell_m=cell_m)
    out = pooled.copy()
    out["place_label"] = "Place rated by young people"
    # the squares are small: the centre of their lon/lat corners is their centre
    out = out.set_geometry(gpd.GeoSeries(shapely.centroid(cells.geometry.to_numpy()),
                                         index=out.index, crs=out.crs))
    return out


def safety_ratings_layer(store: Store, since: str | None = None) -> gpd.GeoDataFrame:
    """Every safety-map rating, pooled across contexts (EPSG:4326), optionally since a date.

    Columns: ``id, context_id, place_label, rating, rated_on, comment, geometry``. The
    young person's reference is left out: the pooled layer shows places, not people.
    """
    r = ctx_safety_ratings.c
    query = ctx_safety_ratings.select().order_by(r.rated_on, r.id)
    if since is not None:
        query = query.where(r.rated_on >= check_date(since, "since"))
    with store.records() as con:
        rows = con.execute(query).mappings().all()
    cols = ["id", "context_id", "place_label", "rating", "rated_on", "comment"]
    frame = pd.DataFrame([{c: row[c] for c in cols} for row in rows], columns=cols)
    geoms = [shapely.from_wkt(row["geometry_wkt"]) for row in rows]
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, crs=STORAGE_CRS),
                            crs=STORAGE_CRS)
