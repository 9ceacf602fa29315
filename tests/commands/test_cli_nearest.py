import csv
from pathlib import Path

import numpy as np
import pytest

from ctxmap.analysis.inputs import load_places
from ctxmap.cli import main
from ctxmap.nearby.network import build_network

PBF = Path(__file__).resolve().parents[1] / "data" / "osm" / "pyrosm_test.osm.pbf"
LAT, LON = 52.6300, 1.2930


def rows(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture
def places_csv(tmp_path):
    p = tmp_path / "places.csv"
    p.write_text(
        "id,name,category,opening_hours,layer,latitude,longitude\n"
        f"lib,Library,library,Mo-Sa 09:00-17:00,safe_places,{LAT + 0.001},{LON}\n"
        f"pol,Police <b>station</b>,police,24/7,safe_places,{LAT},{LON + 0.004}\n"
        f"yc,Youth club,youth club,Fr-Sa 20:00-02:00,youth_centres,{LAT - 0.006},{LON}\n"
        f"pt,Drop-in,community centre,\"\"\"Part time\"\"\",youth_centres,{LAT + 0.01},{LON}\n"
        f"home,A home,children's home,,homes,{LAT},{LON - 0.002}\n",
        encoding="utf-8",
    )
    return p


def test_nearest_estimate(places_csv, tmp_path):
    out = tmp_path / "n.csv"
    code = main(["nearest", "--lat", str(LAT), "--lon", str(LON), "--k", "3", "--places",
                 str(places_csv), "--open-at", "2019-01-12 21:00", "--out", str(out)])
    assert code == 0
    got = rows(out)
    assert [r["place_id"] for r in got] == ["lib", "pol", "yc"]  # homes are not listed
    for col in ("place_id", "name", "layer", "straight_m", "walk_m", "walk_min", "open",
                "walk_basis"):
        assert col in got[0]
    assert [r["open"] for r in got] == ["false", "true", "true"]
    assert all(r["walk_m"] == "" for r in got)
    assert got[0]["walk_basis"] == "estimate: straight line x1.3 at 4.8 km/h"
    straight = [float(r["straight_m"]) for r in got]
    assert straight == sorted(straight)
    assert float(got[0]["walk_min"]) == pytest.approx(straight[0] * 1.3 / 80, abs=0.01)
    assert got[1]["name"] == "Police <b>station</b>"  # CSV keeps text as given


def test_nearest_filters_and_swapped_note(places_csv, tmp_path, capsys):
    out = tmp_path / "n.csv"
    code = main(["nearest", "--lat", str(LON), "--lon", str(LAT), "--places", str(places_csv),
                 "--categories", "Police", "--layers", "safe_places", "--open-at",
                 "2019-01-12 21:00", "--out", str(out)])
    assert code == 0
    assert [r["place_id"] for r in rows(out)] == ["pol"]
    assert "swapped" in capsys.readouterr().err


def test_nearest_with_network(tmp_path):
    net = build_network(PBF)
    from pyproj import Transformer

    back = Transformer.from_crs(net.crs, "EPSG:4326", always_xy=True)
    lon, lat = back.transform(net.x[:40], net.y[:40])
    p = tmp_path / "fi.csv"
    lines = ["id,name,category,opening_hours,layer,latitude,longitude"]
    for i in (5, 17, 33):
        lines.append(f"p{i},Place {i},library,24/7,safe_places,{lat[i]},{lon[i]}")
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out, routes = tmp_path / "n.csv", tmp_path / "r.geojson"
    code = main(["nearest", "--lat", str(lat[0]), "--lon", str(lon[0]), "--places", str(p),
                 "--network", str(PBF), "--cache-dir", str(tmp_path / "cache"), "--open-at",
                 "2019-01-12 21:00", "--routes", str(routes), "--out", str(out)])
    assert code == 0
    got = rows(out)
    assert len(got) == 3 and {r["walk_basis"] for r in got} == {"network"}
    walk = np.array([float(r["walk_m"]) for r in got])
    straight = np.array([float(r["straight_m"]) for r in got])
    assert (walk >= straight - 0.05).all() and list(walk) == sorted(walk)
    np.testing.assert_allclose([float(r["walk_min"]) for r in got], walk / 80, atol=0.01)
    assert routes.is_file() and any((tmp_path / "cache").iterdir())


def test_nearest_bad_arguments(places_csv, tmp_path, capsys):
    out = str(tmp_path / "n.csv")
    assert main(["nearest", "--lat", "52.6", "--places", str(places_csv), "--out", out]) == 1
    assert "--lon" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["nearest", "--lat", "52.6", "--lon", "1.3", "--open-at", "soon", "--out", out])
    assert exc.value.code == 2
    with pytest.raises(SystemExit) as exc:
        main(["nearest", "--lat", "52.6", "--lon", "1.3", "--k", "0", "--out", out])
    assert exc.value.code == 2
    code = main(["nearest", "--postcode", "NR2 1AB", "--places", str(places_csv), "--out", out])
    assert code == 1 and "--postcode-directory" in capsys.readouterr().err


def test_nearest_from_postcode(places_csv, tmp_path):
    onspd = tmp_path / "onspd.csv"
    onspd.write_text(f"pcds,lat,long\nNR2 1AB,{LAT},{LON}\n", encoding="utf-8")
    out = tmp_path / "n.csv"
    assert main(["nearest", "--postcode", "nr21ab", "--postcode-directory", str(onspd),
                 "--places", str(places_csv), "--k", "1", "--open-at", "2019-01-12 12:00",
                 "--out", str(out)]) == 0
    assert rows(out)[0]["place_id"] == "lib" and rows(out)[0]["open"] == "true"


def test_coverage_from_files(places_csv, tmp_path):
    out, area = tmp_path / "c.csv", tmp_path / "a.geojson"
    code = main(["coverage", "--places", str(places_csv), "--minutes", "15", "--open-at",
                 "2019-01-12 21:00", "--area-out", str(area), "--out", str(out)])
    assert code == 0
    got = rows(out)
    assert len(got) == 1 and got[0]["home_id"] == "home"
    assert got[0]["safe_place_id"] == "pol"  # the library is closed on Saturday night
    assert got[0]["gap"] in ("true", "false") and got[0]["basis"].startswith("estimate")
    assert area.is_file()


def test_coverage_from_store(sample_store_path, tmp_path):
    out = tmp_path / "c.csv"
    assert main(["coverage", "--store", str(sample_store_path), "--out", str(out)]) == 0
    homes = load_places(sample_store_path, kinds=["homes"])
    got = rows(out)
    assert [r["home_id"] for r in got] == list(homes["id"])
    assert all(r["gap"] in ("true", "false") for r in got)
