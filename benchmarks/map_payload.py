"""Print the HTML size and build time of the map: real Norwich sample and 100k synthetic.

python benchmarks/map_payload.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ctxmap.maps.base import MapOptions  # noqa: E402
from ctxmap.maps.export import standalone_html  # noqa: E402
from ctxmap.maps.layers import build_map  # noqa: E402

REAL = Path("/work/shared/data/real")
if not REAL.exists():
    REAL = ROOT / "data" / "source"


def _real_layers() -> dict[str, gpd.GeoDataFrame]:
    crime = pd.read_csv(REAL / "crime" / "norwich_street_2018-10_to_2019-02.csv", dtype=str)
    lon = pd.to_numeric(crime["Longitude"], errors="coerce")
    lat = pd.to_numeric(crime["Latitude"], errors="coerce")
    geom = gpd.points_from_xy(lon, lat)
    geom = [None if pd.isna(x) else g for g, x in zip(geom, lon, strict=True)]
    incidents = gpd.GeoDataFrame(
        {
            "id": crime["Crime ID"].fillna(""),
            "month": crime["Month"],
            "category": crime["Crime type"],
            "location": crime["Location"],
            "outcome": crime["Last outcome category"],
        },
        geometry=geom,
        crs="EPSG:4326",
    )
    parts = []
    for name, level, code, label in (
        ("norwich_lad_2013.geojson", "district", "LAD13CD", "LAD13NM"),
        ("norwich_wards_2013.geojson", "ward", "WD13CD", "WD13NM"),
        ("norwich_msoa_2011.geojson", "msoa", "MSOA11CD", "MSOA11NM"),
        ("norwich_lsoa_2011.geojson", "lsoa", "LSOA11CD", "LSOA11NM"),
    ):
        g = gpd.read_file(REAL / "boundaries" / name).set_crs("EPSG:4326", allow_override=True)
        parts.append(
            gpd.GeoDataFrame({"id": g[code], "name": g[label], "level": level}, geometry=g.geometry)
        )
    areas = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs="EPSG:4326")
    osm = gpd.read_file(REAL / "osm" / "norwich_osm_pois.geojson")
    amenity = osm.get("amenity", pd.Series("", index=osm.index)).fillna("")

    def places(mask: pd.Series) -> gpd.GeoDataFrame:
        sel = osm[mask]
        return gpd.GeoDataFrame(
            {
                "id": sel["id"],
                "name": sel.get("name"),
                "category": amenity[mask],
                "address": sel.get("addr:street"),
                "opening_hours": sel.get("opening_hours"),
            },
            geometry=sel.geometry,
            crs="EPSG:4326",
        )

    return {
        "areas": areas,
        "incidents": incidents,
        "safe_places": places(amenity.isin(["library", "police", "pharmacy"])),
        "youth_centres": places(amenity.isin(["community_centre"])),
    }


def _synthetic(n: int, seed: int = 0) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    cats = np.array(["Drugs", "Robbery", "Anti-social behaviour", "Burglary", "Shoplifting"])
    return gpd.GeoDataFrame(
        {
            "id": [f"s{i}" for i in range(n)],
            "month": rng.choice(["2019-01", "2019-02", "2019-03"], n),
            "category": rng.choice(cats, n),
            "location": "On or near Somewhere",
            "outcome": "",
        },
        geometry=gpd.points_from_xy(rng.uniform(1.20, 1.34, n), rng.uniform(52.59, 52.68, n)),
        crs="EPSG:4326",
    )


def _measure(label: str, layers: dict[str, gpd.GeoDataFrame]) -> None:
    t0 = time.perf_counter()
    m = build_map(layers, MapOptions(tiles_url=None))
    t1 = time.perf_counter()
    page = m.get_root().render()
    t2 = time.perf_counter()
    size = len(page.encode("utf-8"))
    print(f"{label}: build {t1 - t0:.2f} s, render {t2 - t1:.2f} s, map HTML {size:,} bytes")
    try:
        standalone = len(standalone_html(m).encode("utf-8"))
        print(f"{label}: standalone export (JS/CSS inlined) {standalone:,} bytes")
    except Exception as exc:  # static/vendor missing: the rest is still printed
        print(f"{label}: standalone export unavailable: {exc}")


def main() -> None:
    """Run both measurements and print them."""
    _measure("real Norwich sample", _real_layers())
    _measure("100,000 synthetic incidents", {"incidents": _synthetic(100_000)})


if __name__ == "__main__":
    main()
