import geopandas as gpd
import pytest
from pyproj import Transformer
from shapely.geometry import Point

from ctxmap.errors import InputError
from ctxmap.nearby.origins import (
    from_bng,
    from_latlon,
    from_place,
    lookup_postcode,
    normalise_postcode,
    origins_frame,
    parse_point,
)


def test_latlon_plain():
    o = from_latlon(52.6309, 1.2974)
    assert (o.lat, o.lon, o.note, o.kind) == (52.6309, 1.2974, "", "point")


def test_swapped_latlon_detected_and_said():
    o = from_latlon(1.2974, 52.6309)
    assert (o.lat, o.lon) == (52.6309, 1.2974)
    assert "swapped" in o.note


def test_far_away_point_kept_as_typed():
    o = from_latlon(40.7128, -74.0060)  # New York: swapping would not land in the UK either
    assert (o.lat, o.lon, o.note) == (40.7128, -74.0060, "")


def test_bng_in_latlon_boxes():
    o = from_latlon(308500, 623000)  # northing in the latitude box, easting in longitude
    back = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True).transform(o.lon, o.lat)
    assert back == pytest.approx((623000, 308500), abs=0.01)
    assert "British National Grid" in o.note
    assert o.kind == "bng"


def test_from_bng_roundtrip_and_range():
    o = from_bng(623000, 308500)
    assert 52.6 < o.lat < 52.65 and 1.27 < o.lon < 1.31
    with pytest.raises(InputError, match="outside the British National Grid"):
        from_bng(800000, 100)


@pytest.mark.parametrize("lat,lon", [(-100, 5000000), (95, -200), (float("nan"), 1.0)])
def test_invalid_points(lat, lon):
    with pytest.raises(InputError):
        from_latlon(lat, lon)


def test_parse_point_forms():
    assert parse_point("52.6309, 1.2974").lat == 52.6309
    assert parse_point("52.6309 1.2974").lon == 1.2974
    en = parse_point("623000, 308500")  # written easting first
    assert en.kind == "bng" and 52.6 < en.lat < 52.65
    with pytest.raises(InputError, match="two numbers"):
        parse_point("Norwich")


@pytest.mark.parametrize("raw", ["nr21ab", "NR2 1AB", " nr2   1ab ", "Nr21aB"])
def test_normalise_postcode(raw):
    assert normalise_postcode(raw) == "NR2 1AB"


def test_normalise_postcode_other_shapes():
    assert normalise_postcode("sw1a1aa") == "SW1A 1AA"
    assert normalise_postcode("m11ae") == "M1 1AE"
    with pytest.raises(InputError, match="not a UK postcode"):
        normalise_postcode("12345")


def _onspd(tmp_path, header="pcd,pcds,lat,long,oseast1m"):
    p = tmp_path / "onspd.csv"
    p.write_text(
        header + "\n"
        "NR2 1AB,NR2 1AB,52.630000,1.290000,622800\n"
        "NR2 1AD,NR2 1AD,52.631000,1.291000,622870\n"
        "NR9 9ZZ,NR9 9ZZ,99.999999,0.000000,\n",
        encoding="utf-8",
    )
    return p


def test_lookup_postcode(tmp_path):
    path = _onspd(tmp_path)
    o = lookup_postcode(path, "nr21ad", chunksize=1)
    assert (o.lat, o.lon, o.label, o.kind) == (52.631, 1.291, "NR2 1AD", "postcode")
    with pytest.raises(InputError, match="not in"):
        lookup_postcode(path, "NR1 1AA")
    with pytest.raises(InputError, match="no location"):
        lookup_postcode(path, "NR9 9ZZ")


def test_lookup_postcode_pcd_only_and_bad_columns(tmp_path):
    p = tmp_path / "pcd.csv"
    p.write_text("pcd,lat,long\nNR2  1AB,52.63,1.29\n", encoding="utf-8")  # pcd: 7-char padding
    assert lookup_postcode(p, "NR2 1AB").lat == 52.63
    bad = tmp_path / "bad.csv"
    bad.write_text("postcode,x,y\nNR2 1AB,1,2\n", encoding="utf-8")
    with pytest.raises(InputError, match="expected 'pcds'"):
        lookup_postcode(bad, "NR2 1AB")
    with pytest.raises(InputError, match="does not exist"):
        lookup_postcode(tmp_path / "missing.csv", "NR2 1AB")


def test_from_place_and_frame():
    places = gpd.GeoDataFrame(
        {"id": ["h1", "h2"], "name": ["A home", "B home"]},
        geometry=[Point(1.29, 52.63), None],
        crs="EPSG:4326",
    )
    o = from_place(places, "h1")
    assert (o.lon, o.lat, o.label, o.kind) == (1.29, 52.63, "h1", "place")
    with pytest.raises(InputError, match="no location"):
        from_place(places, "h2")
    with pytest.raises(InputError, match="no place has id"):
        from_place(places, "zz")
    frame = origins_frame([o, from_latlon(52.0, 1.0)])
    assert frame.crs == "EPSG:4326" and list(frame["label"]) == ["h1", "52.000000, 1.000000"]
