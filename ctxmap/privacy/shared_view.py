"""Turn layers into what a multi-agency meeting (or a partner export) may see.

:func:`mask_layers` applies the rules of ``docs/privacy.md`` to every layer at once:

- homes (and any place whose ``sensitive`` column is true) become the grid cell or
  LSOA they lie in, drawn as areas, never as points, with no name, address or notes;
- incidents are moved to the centre of their grid cell, cells with fewer than the
  threshold (default 5) incidents are left out, and free text is dropped (or, when a
  secret key is configured and asked for, they are displaced with the keyed donut);
- public places keep only their name, category and opening hours;
- areas keep their code, name, level and population.

The result can be drawn by :func:`ctxmap.maps.layers.build_map` as it is;
:func:`ctxmap.maps.masked_map.build_meeting_map` draws it better (incidents as the counted
squares of :func:`incident_squares`, small counts suppressed, and a note saying the view
is masked). What a meeting link may hold is in :mod:`ctxmap.privacy.links`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely import box

from ctxmap.errors import InputError
from ctxmap.layers.crs import analysis_crs, require_display_crs
from ctxmap.layers.flags import is_true
from ctxmap.layers.geometry import grid_cells, located_mask
from ctxmap.layers.schemas import LAYER_KINDS, PLACE_KINDS, SCHEMAS, STORAGE_CRS
from ctxmap.privacy.disclosure import check_cell_m, check_threshold, protect, suppress
from ctxmap.privacy.masks import (
    DEFAULT_CELL_M,
    DEFAULT_DONUT_MAX_M,
    DEFAULT_DONUT_MIN_M,
    DEFAULT_THRESHOLD,
    SuppressMode,
    aggregate_to_grid,
    donut_mask,
    mask_points_to_areas,
    mask_points_to_cells,
    strip_names,
)
from ctxmap.settings import MASK_KEY
from ctxmap.settings import load as load_settings

#: Text columns of public places shown in a masked view.
PUBLIC_PLACE_TEXT: Final[tuple[str, ...]] = ("name", "category", "opening_hours", "layer")
#: Text columns of areas shown in a masked view (public boundary codes and names).
AREA_TEXT: Final[tuple[str, ...]] = ("id", "name", "level")
#: Text columns of incidents kept (classifications only).
INCIDENT_TEXT: Final[tuple[str, ...]] = ("category", "month", "location_precision", "cell_id")
#: Level given to masked homes when they are drawn with the areas.
MASKED_HOME_LEVEL: Final = "other"
MASKED_BANNER: Final = (
    "Meeting view: masked. Homes are shown only as the area they are in; incidents are "
    "counted per square and counts below {threshold} are not shown; no names, addresses "
    "or notes."
)

HomeMask = Literal["cell", "area"]
IncidentMask = Literal["grid", "donut"]


@dataclass(frozen=True)
class MaskSettings:
    """How to mask a shared view (defaults: 250 m cells, counts 1 to 4 suppressed).

    Parameters
    ----------
    home_mask
        ``"cell"``: the grid cell of side ``cell_m``; ``"area"``: the area of level
        ``home_area_level`` (LSOA) from the areas layer.
    cell_m
        Grid cell side in metres, for homes and incidents.
    home_area_level
        Area level used by ``home_mask="area"``.
    incident_mask
        ``"grid"``: incidents move to their cell's centre; ``"donut"``: displaced by
        :func:`ctxmap.privacy.masks.donut_mask` with ``key`` (falls back to ``"grid"``
        when no key is set).
    threshold, mode
        Small counts (1 to ``threshold - 1``) are suppressed (``"suppress"``) or
        rounded (``"round"``, squares only); cells with fewer incidents are left out.
    key
        The donut's secret (from ``$CTXMAP_MASK_KEY``), never from the repository.
    donut_min_m, donut_max_m
        The donut's ring, metres.
    place_text
        Text columns kept for public places.
    """

    home_mask: HomeMask = "cell"
    cell_m: float = DEFAULT_CELL_M
    home_area_level: str = "lsoa"
    incident_mask: IncidentMask = "grid"
    threshold: int = DEFAULT_THRESHOLD
    mode: SuppressMode = "suppress"
    key: str | None = field(default=None, repr=False)
    donut_min_m: float = DEFAULT_DONUT_MIN_M
    donut_max_m: float = DEFAULT_DONUT_MAX_M
    place_text: tuple[str, ...] = PUBLIC_PLACE_TEXT

    def __post_init__(self) -> None:
        if self.home_mask not in ("cell", "area"):
            raise InputError(f"home_mask must be 'cell' or 'area', got {self.home_mask!r}")
        if self.incident_mask not in ("grid", "donut"):
            raise InputError(
                f"incident_mask must be 'grid' or 'donut', got {self.incident_mask!r}"
            )
        check_threshold(self.threshold, "threshold")
        check_cell_m(self.cell_m, "cell_m")

    @property
    def donut_active(self) -> bool:
        """True when incidents are displaced with the donut (asked for and a key is set)."""
        return self.incident_mask == "donut" and bool(self.key)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> MaskSettings:
        """Settings from the environment (unset: the defaults; no key: no donut).

        Reads ``$CTXMAP_MASK_KEY``, ``$CTXMAP_SMALL_COUNT_THRESHOLD`` and
        ``$CTXMAP_MASK_CELL_M`` through :func:`ctxmap.settings.load` (``env``: the
        environment to read, default ``os.environ``); ``overrides`` win.

        Raises
        ------
        ctxmap.settings.SettingsError
            If a setting is not a usable value (it names the variable and the value).
        """
        configured = load_settings(env)
        values: dict[str, Any] = {}
        if configured.mask_key:
            values["key"] = configured.mask_key
        if configured.small_count_threshold is not None:
            values["threshold"] = configured.small_count_threshold
        if configured.mask_cell_m is not None:
            values["cell_m"] = configured.mask_cell_m
        values.update(overrides)
        return cls(**values)


# --------------------------------------------------------------------------- masking


def _empty_like(kind: str) -> gpd.GeoDataFrame:
    columns = {c: pd.Series(dtype="object") for c in SCHEMAS[kind].column_names}  # type: ignore[index]
    return gpd.GeoDataFrame(columns, geometry=gpd.GeoSeries([], crs=STORAGE_CRS), crs=STORAGE_CRS)


def _sensitive_rows(kind: str, gdf: gpd.GeoDataFrame) -> np.ndarray:
    if SCHEMAS[kind].sensitive:  # type: ignore[index]
        return np.ones(len(gdf), dtype=bool)
    if "sensitive" in gdf.columns:
        return np.array([is_true(v) for v in gdf["sensitive"]], dtype=bool)
    return np.zeros(len(gdf), dtype=bool)


def masked_home_areas(
    places: gpd.GeoDataFrame,
    settings: MaskSettings,
    areas: gpd.GeoDataFrame | None = None,
    crs: str | None = None,
) -> gpd.GeoDataFrame:
    """Return the areas that hold sensitive places, one row per distinct area.

    Parameters
    ----------
    places
        Sensitive place points in EPSG:4326 (e.g. homes).
    settings
        ``home_mask`` chooses grid cells or areas of ``home_area_level``.
    areas
        The areas layer (needed for ``home_mask="area"``).
    crs
        Metric CRS of the grid (default :func:`ctxmap.layers.crs.analysis_crs` of ``places``).

    Returns
    -------
    GeoDataFrame
        Areas-layer columns (``id``: the cell or area code, ``name``: a fixed
        description, ``level``: ``"other"``, ``population`` empty) and
        ``masked_home`` (True) in EPSG:4326,
        no duplicates; places with no location or outside every area are left out.
        Nothing of the places' own text survives.
    """
    located = places[located_mask(places)]
    columns = ["id", "name", "level", "population"]
    if located.empty:
        out = _empty_like("areas")
        out["masked_home"] = pd.Series(dtype=bool)
        return out[[*columns, "masked_home", out.geometry.name]]
    if settings.home_mask == "area":
        if areas is None or areas.empty:
            raise InputError("home_mask='area' needs an areas layer; none was given")
        level = areas[areas["level"].astype("object") == settings.home_area_level]
        if level.empty:
            raise InputError(
                f"home_mask='area' needs areas of level {settings.home_area_level!r}; the "
                f"areas layer has levels {sorted(map(str, areas['level'].unique()))}"
            )
        masked = mask_points_to_areas(located[[located.geometry.name]], level, "id")
        ids = masked["area_id"]
        label = f"A home is somewhere in this {settings.home_area_level.upper()}"
    else:
        masked = mask_points_to_cells(located[[located.geometry.name]], settings.cell_m, crs)
        ids = masked["cell_id"]
        label = f"A home is somewhere in this {settings.cell_m:g} m square"
    keep = ids.notna().to_numpy()
    masked = masked[keep]
    ids = ids[keep].astype(str)
    first = ~ids.duplicated().to_numpy()
    geoms = masked.geometry[first]
    out = gpd.GeoDataFrame(
        {
            "id": ids[first].to_numpy(dtype=object),
            "name": [label] * int(first.sum()),
            "level": [MASKED_HOME_LEVEL] * int(first.sum()),
            "population": np.full(int(first.sum()), np.nan),
            "masked_home": np.ones(int(first.sum()), dtype=bool),
        },
        geometry=geoms.to_numpy(),
        crs=STORAGE_CRS,
    )
    return out.sort_values("id").reset_index(drop=True)


def snap_incidents(
    incidents: gpd.GeoDataFrame, cell_m: float, threshold: int, crs: str | None = None
) -> gpd.GeoDataFrame:
    """Move each located incident to its grid cell's centre; leave out small cells.

    Parameters
    ----------
    incidents
        Incident points in EPSG:4326.
    cell_m
        Cell side in metres (grid anchored at the metric CRS's origin).
    threshold
        Cells holding fewer located incidents than this are left out (their rows
        are dropped). Rows with no location are kept, still without one.
    crs
        Metric CRS of the grid (default :func:`ctxmap.layers.crs.analysis_crs`).

    Returns
    -------
    GeoDataFrame
        A copy (same index for the rows kept) with ``cell_id`` added and only the
        text columns of :data:`INCIDENT_TEXT`; ``attrs["suppressed"]`` is how many
        located incidents were left out.
    """
    located = located_mask(incidents)
    out = incidents.copy()
    ids: list[str | None] = [None] * len(out)
    keep = np.ones(len(out), dtype=bool)
    suppressed = 0
    if located.any():
        metric_crs = crs or analysis_crs(incidents[located])
        metric = incidents.geometry.to_crs(metric_crs)
        keys: list[tuple[int, int] | None] = [None] * len(out)
        for pos, geom in enumerate(metric.array):
            if located[pos]:
                i, j = grid_cells(geom.x, geom.y, float(cell_m))
                keys[pos] = (int(i), int(j))
        tally = pd.Series([k for k in keys if k is not None]).value_counts()
        centres: list[object] = []
        for pos, k in enumerate(keys):
            if k is None:
                centres.append(None)
                continue
            if int(tally[k]) < threshold:
                keep[pos] = False
                suppressed += 1
                centres.append(None)
                continue
            ci, cj = k
            ids[pos] = f"{float(cell_m):g}m:{ci}:{cj}"
            centres.append(
                box(ci * cell_m, cj * cell_m, (ci + 1) * cell_m, (cj + 1) * cell_m).centroid)
        moved = gpd.GeoSeries(centres, index=out.index, crs=metric_crs).to_crs(STORAGE_CRS)
        out = out.set_geometry(moved.array).set_crs(STORAGE_CRS, allow_override=True)
    out["cell_id"] = pd.Series(ids, index=out.index, dtype=object)
    out = strip_names(out[keep], INCIDENT_TEXT)
    out.attrs = {"suppressed": suppressed}
    return out


def mask_layers(
    layers: Mapping[str, gpd.GeoDataFrame], settings: MaskSettings | None = None
) -> dict[str, gpd.GeoDataFrame]:
    """Return every layer masked for a shared view (inputs are not changed).

    Parameters
    ----------
    layers
        Layers keyed by kind, in EPSG:4326 with canonical columns.
    settings
        How to mask (default :class:`MaskSettings` with no key).

    Returns
    -------
    dict
        The same kinds. ``homes`` is always empty; the cells or areas holding homes
        (and any place with a true ``sensitive`` column) are added to ``areas`` with
        level ``"other"`` (see :func:`masked_home_areas`). ``incidents`` are snapped
        (:func:`snap_incidents`) or donut-displaced, with text reduced to
        :data:`INCIDENT_TEXT`. Public places keep ``settings.place_text``; areas
        keep :data:`AREA_TEXT`. Everything can be drawn by
        :func:`ctxmap.maps.layers.build_map`. ``attrs["masking"]`` on the ``areas`` layer
        describes what was done.

    Raises
    ------
    InputError
        If a key is not a layer kind, a layer is not a GeoDataFrame in EPSG:4326, or
        the settings need an areas layer that is missing.
    """
    settings = settings or MaskSettings()
    unknown = [k for k in layers if k not in LAYER_KINDS]
    if unknown:
        raise InputError(f"unknown layer kind(s) {unknown}; expected some of {LAYER_KINDS}")
    for kind, gdf in layers.items():
        require_display_crs(gdf, f"layer {kind!r}", "before masking")
    areas_in = layers.get("areas")
    located_all = [g[located_mask(g)] for g in layers.values() if len(g) and located_mask(g).any()]
    crs = analysis_crs(pd.concat(located_all)) if located_all else None

    out: dict[str, gpd.GeoDataFrame] = {}
    sensitive_parts: list[gpd.GeoDataFrame] = []
    for kind in PLACE_KINDS:
        if kind not in layers:
            continue
        gdf = layers[kind]
        sens = _sensitive_rows(kind, gdf)
        if sens.any():
            sensitive_parts.append(gdf[sens][[gdf.geometry.name]])
        public = gdf[~sens]
        if kind == "homes":
            out[kind] = _empty_like("homes")
        else:
            out[kind] = strip_names(public, settings.place_text)
    notes: list[str] = []
    if areas_in is not None:
        kept = strip_names(areas_in, AREA_TEXT)
    else:
        kept = _empty_like("areas")[[*AREA_TEXT, "population", "geometry"]]
    if sensitive_parts:
        sensitive = pd.concat(sensitive_parts)
        homes_masked = masked_home_areas(sensitive, settings, areas_in, crs)
        kept = pd.concat([kept, homes_masked], ignore_index=True)
        kept = gpd.GeoDataFrame(kept, geometry="geometry", crs=STORAGE_CRS)
        notes.append(
            f"{len(sensitive)} sensitive places (homes) shown as {len(homes_masked)} areas"
        )
    if areas_in is not None or sensitive_parts:
        out["areas"] = kept
    if "incidents" in layers:
        incidents = layers["incidents"]
        if settings.donut_active and len(incidents):
            moved = donut_mask(
                incidents, settings.donut_min_m, settings.donut_max_m, str(settings.key),
                crs=crs,
            )
            out["incidents"] = strip_names(moved, INCIDENT_TEXT)
            notes.append("incidents displaced by a keyed donut mask")
        else:
            snapped = snap_incidents(incidents, settings.cell_m, settings.threshold, crs)
            out["incidents"] = snapped
            notes.append(
                f"incidents moved to the centre of their {settings.cell_m:g} m square; "
                f"{snapped.attrs.get('suppressed', 0)} in squares with fewer than "
                f"{settings.threshold} left out"
            )
            if settings.incident_mask == "donut":
                notes.append(f"no ${MASK_KEY} set: incidents aggregated instead of displaced")
    if "areas" in out:
        out["areas"].attrs["masking"] = notes
    return out


# --------------------------------------------------------------------------- squares


def incident_squares(
    incidents: gpd.GeoDataFrame, settings: MaskSettings, crs: str | None = None
) -> gpd.GeoDataFrame:
    """Count incidents per grid square with small counts suppressed or rounded.

    :func:`ctxmap.privacy.masks.aggregate_to_grid` with the settings' cell size, its
    counts through :func:`ctxmap.privacy.disclosure.suppress` (``mode="round"``:
    :func:`ctxmap.privacy.disclosure.protect`); squares whose shown count is missing or
    0 are left out (nothing to draw), and ``label`` holds the text to show.
    """
    grid = aggregate_to_grid(incidents, settings.cell_m, 1, crs=crs)
    grid["count"] = (suppress(grid["count"], settings.threshold) if settings.mode == "suppress"
                     else protect(grid["count"], settings.threshold))
    grid["suppressed"] = grid["count"].isna().to_numpy(dtype=bool)
    grid.attrs["threshold"] = settings.threshold
    shown = grid[grid["count"].fillna(0).astype(int) > 0].copy()
    shown["label"] = [f"{int(c):,} incidents in this {settings.cell_m:g} m square"
                      for c in shown["count"]]
    shown.attrs = dict(grid.attrs)
    return shown


def focus_on_area(
    layers: Mapping[str, gpd.GeoDataFrame], area: gpd.GeoDataFrame
) -> dict[str, gpd.GeoDataFrame]:
    """Keep only the features that intersect ``area`` (one area at a time).

    Incidents with no location are left out: they cannot be placed in the area, so an
    area's counts (its "No location" column included) are the area's own;
    ``attrs["unlocated_left_out"]`` on the incidents says how many. Places with no
    location are kept (they are never drawn); the area itself is kept in ``areas``.
    """
    if area.empty:
        return dict(layers)
    shape = area.geometry.union_all()
    out: dict[str, gpd.GeoDataFrame] = {}
    for kind, gdf in layers.items():
        if gdf.empty:
            out[kind] = gdf
            continue
        located = located_mask(gdf)
        hits = np.zeros(len(gdf), dtype=bool)
        hits[located] = np.asarray(gdf.geometry[located].intersects(shape), dtype=bool)
        if kind == "areas":
            out[kind] = gdf[hits]
        elif kind == "incidents":
            out[kind] = gdf[hits]
            out[kind].attrs = {**gdf.attrs, "unlocated_left_out": int((~located).sum())}
        else:
            out[kind] = gdf[hits | ~located]
    return out
