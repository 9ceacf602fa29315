"""The risk-terrain layer: each grid cell's relative risk from the model, in a few classes.

Relative risk = the model's expected incidents per km² in the cell ÷ the study area's
average (:meth:`ctxmap.analysis.risk_terrain.RiskTerrain.cells_frame`). Cells below 1 (less
than the average) are not drawn; the rest fall in the classes of :data:`RISK_BREAKS`.
The legend names the kept factors with their relative risks.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ctxmap.layers.crs import require_display_crs
from ctxmap.layers.geometry import located_mask
from ctxmap.layers.schemas import STORAGE_CRS
from ctxmap.maps.analysis_layers import PRECISION, AnalysisLayer, _need, _simplified
from ctxmap.maps.classes import classify_values, range_labels
from ctxmap.maps.geojson import feature_collection
from ctxmap.maps.legend import LegendEntry, legend_html
from ctxmap.text import esc_plain

#: Relative risks that start each drawn class.
RISK_BREAKS: Final[tuple[float, ...]] = (1.0, 2.0, 4.0, 8.0)
#: Class colours, lightest first (ColorBrewer Purples).
RISK_COLOURS: Final[tuple[str, ...]] = ("#cbc9e2", "#9e9ac8", "#756bb1", "#54278f")


def risk_terrain_group(
    cells: gpd.GeoDataFrame,
    factors: pd.DataFrame | None = None,
    *,
    name: str = "Risk terrain (relative risk)",
    show: bool = False,
    notes: Sequence[str] = (),
) -> AnalysisLayer:
    """Draw the model's relative risk per cell as classes (cells of one class merged).

    Parameters
    ----------
    cells
        EPSG:4326 cells with ``relative_risk``.
    factors
        The factor table (``factor``, ``relative_risk``) for the legend, or None.
    name, show
        Layer-control name, and whether the layer starts switched on.
    notes
        Extra legend lines (e.g. that the model is not used, and why).
    """
    require_display_crs(cells, "the risk-terrain grid")
    _need(cells, ["relative_risk"], "the risk-terrain grid")
    loc = cells.loc[located_mask(cells)]
    values = loc["relative_risk"].to_numpy(dtype=float)
    classes = classify_values(values, list(RISK_BREAKS))
    finite = values[np.isfinite(values)]
    top = float(finite.max()) if finite.size else 0.0
    labels = range_labels(list(RISK_BREAKS), max(top, RISK_BREAKS[-1]), " × average")
    group = folium.FeatureGroup(name=name, show=show)
    geoms, props = [], []
    for k in range(len(RISK_BREAKS)):
        chosen = loc.geometry.loc[classes == k]
        if chosen.empty:
            continue
        geoms.append(shapely.union_all(chosen.to_numpy()))
        props.append({"label": f"Relative risk {esc_plain(labels[k])}", "k": k})
    if geoms:
        data = feature_collection(_simplified(gpd.GeoSeries(geoms, crs=STORAGE_CRS)), props,
                                  PRECISION)
        folium.GeoJson(
            data,
            control=False,
            style_function=lambda f: {
                "fillColor": RISK_COLOURS[int(f["properties"]["k"])], "fillOpacity": 0.45,
                "weight": 0, "stroke": False,
            },
            tooltip=folium.GeoJsonTooltip(fields=["label"], labels=False, sticky=True),
        ).add_to(group)
    lines = [*notes, "model's incidents per km² ÷ the study area's average; cells below "
             "the average not drawn"]
    if factors is not None and len(factors):
        lines.append("factors: " + "; ".join(
            f"{row.factor} (RR {row.relative_risk:.2f})" for row in factors.itertuples()))
    items = [(LegendEntry(lab, c), "") for c, lab in zip(RISK_COLOURS, labels, strict=True)]
    return AnalysisLayer(group, legend_html(name, items, lines), len(geoms))
