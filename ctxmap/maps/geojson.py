"""GeoJSON payloads of the maps: feature collections with rounded coordinates."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np
import shapely


def round_geoms(geoms: Sequence[Any] | np.ndarray, precision: int) -> np.ndarray:
    """Return the geometries with coordinates rounded to ``precision`` decimals."""
    return shapely.transform(np.asarray(list(geoms), dtype=object),
                             lambda c: np.round(c, precision))


def feature_collection(
    geoms: Sequence[Any] | np.ndarray,
    properties: Sequence[dict[str, Any]],
    precision: int,
    *,
    ids: bool = False,
) -> dict[str, Any]:
    """A FeatureCollection of ``geoms`` (rounded) with one properties dict each.

    ``ids`` numbers the features ``"0"``, ``"1"``...
    """
    rounded = round_geoms(geoms, precision)
    features = []
    for i, (g, props) in enumerate(zip(rounded, properties, strict=True)):
        feature: dict[str, Any] = {"type": "Feature"}
        if ids:
            feature["id"] = str(i)
        feature["properties"] = props
        feature["geometry"] = json.loads(shapely.to_geojson(g))
        features.append(feature)
    return {"type": "FeatureCollection", "features": features}


def point_feature(lon: float, lat: float, props: dict[str, Any], precision: int) -> dict[str, Any]:
    """One point Feature at ``lon``, ``lat`` rounded to ``precision`` decimals."""
    return {
        "type": "Feature",
        "properties": props,
        "geometry": {"type": "Point",
                     "coordinates": [round(float(lon), precision), round(float(lat), precision)]},
    }


def point_collection(
    xs: np.ndarray, ys: np.ndarray, properties: Sequence[dict[str, Any]], precision: int
) -> dict[str, Any]:
    """A FeatureCollection of points from coordinate arrays (rounded), one properties dict each."""
    xs = np.round(np.asarray(xs, dtype=float), precision)
    ys = np.round(np.asarray(ys, dtype=float), precision)
    features = [point_feature(x, y, props, precision)
                for x, y, props in zip(xs, ys, properties, strict=True)]
    return {"type": "FeatureCollection", "features": features}
