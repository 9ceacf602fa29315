import re
from pathlib import Path

import folium
import geopandas as gpd
import pytest
from shapely.geometry import Point, box

from ctxmap.errors import InputError
from ctxmap.maps import assets as assets
from ctxmap.maps.base import MapOptions
from ctxmap.maps.export import standalone_html, tile_origins, write_map_html
from ctxmap.maps.layers import build_map

needs_vendor = pytest.mark.skipif(
    not assets.VENDOR_DIR.is_dir() and not __import__("os").environ.get("CI"),
    reason="static/vendor missing: run npm ci (required in CI)",
)


def _map(tiles_url=None):
    homes = gpd.GeoDataFrame(
        {"id": ["h"], "name": ["<script>alert(1)</script>"], "fictional": [True]},
        geometry=[Point(1.29, 52.63)],
        crs="EPSG:4326",
    )
    areas = gpd.GeoDataFrame(
        {"id": ["D"], "name": ["Norwich"], "level": ["district"]},
        geometry=[box(1.2, 52.59, 1.34, 52.68)],
        crs="EPSG:4326",
    )
    return build_map({"homes": homes, "areas": areas}, MapOptions(tiles_url=tiles_url))


@needs_vendor
def test_standalone_is_fully_inlined():
    m = _map(tiles_url="https://{s}.tiles.example.org/{z}/{x}/{y}.png")
    page = standalone_html(m, title="<Norwich>")
    assert not re.search(r"<script\b[^>]*\bsrc=", page)
    assert not re.search(r"<link\b[^>]*\bhref=", page)
    assert "/app/static/vendor" not in page
    assert "Leaflet 1.9.4" in page  # leaflet.js itself is inside
    assert "data:image/png;base64," in page  # css images inlined
    assert "<title>&lt;Norwich&gt;</title>" in page
    assert "<script>alert" not in page
    csp = re.search(r'Content-Security-Policy" content="([^"]+)"', page).group(1)
    assert "default-src 'none'" in csp and "https://*.tiles.example.org" in csp
    # no tag loads anything from the network (the tile URL is only a JS template string)
    assert not re.search(r"<(?:script|link|img|iframe)\b[^>]*(?:src|href)\s*=\s*[\"']https?:", page)


@needs_vendor
def test_standalone_does_not_modify_the_map():
    m = _map()
    before = [list(el.default_js) for el in assets.walk(m) if hasattr(el, "default_js")]
    standalone_html(m)
    after = [list(el.default_js) for el in assets.walk(m) if hasattr(el, "default_js")]
    assert before == after


@needs_vendor
def test_write_map_html(tmp_path: Path):
    out = write_map_html(_map(), tmp_path / "sub" / "map.html")
    text = out.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and "leaflet" in text
    with pytest.raises(InputError, match="is a directory"):
        write_map_html(_map(), tmp_path)


def test_missing_vendor_message(monkeypatch, tmp_path: Path):
    monkeypatch.setattr(assets, "VENDOR_DIR", tmp_path / "missing")
    with pytest.raises(assets.AssetsMissingError, match="npm ci"):
        standalone_html(_map())


def test_tile_origins():
    m = folium.Map(tiles=None)
    folium.TileLayer("https://{s}.tile.example.org/{z}/{x}/{y}.png", attr="x").add_to(m)
    folium.TileLayer("http://localhost:8080/t/{z}/{x}/{y}.png", attr="y").add_to(m)
    assert tile_origins(m) == ["https://*.tile.example.org", "http://localhost:8080"]
    assert tile_origins(folium.Map(tiles=None)) == []
