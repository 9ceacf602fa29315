import os
import re
from pathlib import Path

import folium
import folium.plugins
import pytest

from ctxmap.maps import assets as assets
from ctxmap.maps.assets import (
    DEFAULT_BASE_URL,
    AssetsMissingError,
    UnknownAssetError,
    check_vendor,
    external_references,
    inline_assets,
    inline_css,
    local_css,
    local_js,
    use_local_assets,
)

FOLIUM_MAP_JS = list(folium.Map.default_js)
FOLIUM_MAP_CSS = list(folium.Map.default_css)


def _links(html: str) -> list[str]:
    return re.findall(r'(?:src|href)="([^"]+)"', html)


def test_local_urls_use_base_url():
    assert local_js(["leaflet"], "/x/") == [("leaflet", "/x/leaflet/leaflet.js")]
    assert local_css(["leaflet_css"]) == [("leaflet_css", DEFAULT_BASE_URL + "leaflet/leaflet.css")]
    with pytest.raises(UnknownAssetError, match="bootstrap"):
        local_js(["bootstrap"])


def test_use_local_assets_rewrites_every_element_and_leaves_input_alone():
    m = folium.Map(tiles=None)
    folium.plugins.MarkerCluster().add_to(m)
    folium.plugins.Draw().add_to(m)
    local = use_local_assets(m, "/app/static/vendor/")
    # the input map and folium's class-level lists are untouched
    assert m.default_js == FOLIUM_MAP_JS
    assert folium.Map.default_js == FOLIUM_MAP_JS and folium.Map.default_css == FOLIUM_MAP_CSS
    urls = [u for el in assets.walk(local) for _, u in getattr(el, "default_js", [])]
    urls += [u for el in assets.walk(local) for _, u in getattr(el, "default_css", [])]
    assert urls and all(u.startswith("/app/static/vendor/") for u in urls)
    assert not any("bootstrap" in u or "awesome" in u or "jquery" in u for u in urls)
    html = local.get_root().render()
    assert not [u for u in _links(html) if u.startswith(("http://", "https://"))]


def test_jquery_kept_only_when_a_popup_needs_it():
    m = folium.Map(tiles=None)
    folium.CircleMarker([52.6, 1.3], popup=folium.Popup("hi")).add_to(m)
    names = [n for n, _ in use_local_assets(m).default_js]
    assert "jquery" in names
    names = [n for n, _ in use_local_assets(folium.Map(tiles=None)).default_js]
    assert names == ["leaflet"]


def test_unknown_library_raises():
    m = folium.Map(tiles=None)
    folium.plugins.Fullscreen().add_to(m)
    with pytest.raises(UnknownAssetError, match="does not serve locally"):
        use_local_assets(m)


def test_missing_vendor_dir_says_npm_ci(tmp_path: Path):
    with pytest.raises(AssetsMissingError, match="npm ci"):
        check_vendor(tmp_path / "nope")
    html = '<script src="/app/static/vendor/leaflet/leaflet.js"></script>'
    with pytest.raises(AssetsMissingError, match="npm ci"):
        inline_assets(html, vendor_dir=tmp_path / "nope")
    (tmp_path / "v").mkdir()
    with pytest.raises(AssetsMissingError, match="npm ci"):
        inline_assets(html, vendor_dir=tmp_path / "v")


def test_inline_assets_with_tiny_vendor(tmp_path: Path):
    vendor = tmp_path / "vendor"
    (vendor / "lib" / "images").mkdir(parents=True)
    (vendor / "lib" / "a.js").write_text('var s = "</script>";\n//# sourceMappingURL=a.js.map\n')
    (vendor / "lib" / "a.css").write_text(
        ".x{background:url(images/i.png)} .y{b:url(#default#VML)}"
    )
    (vendor / "lib" / "images" / "i.png").write_bytes(b"\x89PNG")
    page = (
        '<head><script src="/v/lib/a.js"></script>'
        '<link rel="stylesheet" href="/v/lib/a.css"/>'
        '<script src="https://tiles.example.org/x.js"></script></head>'
    )
    out = inline_assets(page, "/v/", vendor)
    assert 'var s = "<\\/script>";' in out
    assert "sourceMappingURL" not in out
    assert 'url("data:image/png;base64,iVBORw==")' in out
    assert "url(#default#VML)" in out
    # foreign URLs are left alone and reported
    assert external_references(out) == ["https://tiles.example.org/x.js"]


def test_inline_css_missing_image(tmp_path: Path):
    css = tmp_path / "a.css"
    with pytest.raises(AssetsMissingError):
        inline_css("a{b:url('images/none.png')}", css)


def test_asset_url_outside_vendor_is_refused(tmp_path: Path):
    (tmp_path / "vendor").mkdir()
    (tmp_path / "secret.js").write_text("x")
    with pytest.raises(UnknownAssetError):
        inline_assets('<script src="/v/../secret.js"></script>', "/v/", tmp_path / "vendor")


def test_copy_script_lists_every_served_file():
    script = (Path(__file__).resolve().parents[2] / "scripts" / "copy_assets.mjs").read_text()
    served = [p for p in (*assets.JS_FILES.values(), *assets.CSS_FILES.values()) if p]
    for rel in served:
        assert f'"{rel}"' in script, rel


def test_package_json_pins_exact_versions():
    import json

    pkg = json.loads((Path(__file__).resolve().parents[2] / "package.json").read_text())
    assert pkg["dependencies"] == {
        "axe-core": "4.14.1",  # the accessibility tests' checker, served like Leaflet
        "jquery": "3.7.1",
        "leaflet": "1.9.4",
        "leaflet-draw": "1.0.4",
        "leaflet.markercluster": "1.5.3",
    }
    assert "copy_assets" in pkg["scripts"]["postinstall"]


def test_real_vendor_is_complete():
    if not assets.VENDOR_DIR.is_dir() and not os.environ.get("CI"):
        pytest.skip("static/vendor missing: run npm ci (this test fails in CI)")
    assert check_vendor() == assets.VENDOR_DIR
