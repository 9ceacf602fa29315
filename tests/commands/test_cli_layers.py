"""``python -m ctxmap validate | import | layers | map`` as a batch user runs them."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

from ctxmap.cli import main
from ctxmap.store.geopackage import GeoPackageStore
from tests.layers.test_readers import ASB, GOOD, HEADER, NOLOC

ROOT = Path(__file__).resolve().parents[2]
FORCE_FILE = ROOT / "tests" / "data" / "police_uk" / "2019-02-norfolk-street.csv"


@pytest.fixture
def police_csv(tmp_path: Path) -> Path:
    p = tmp_path / "police.csv"
    p.write_text("\n".join([HEADER, GOOD, ASB, NOLOC]) + "\n", encoding="utf-8")
    return p


def test_validate_usable(police_csv, capsys):
    assert main(["validate", str(police_csv), "--layer", "incidents"]) == 0
    out = capsys.readouterr().out
    assert "total rows: 3" in out and "mapped rows: 2" in out
    assert "rows without a location: 1" in out


def test_validate_unusable_exit_1(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("id,name,lat,lon\na,A,308500,623000\n")
    assert main(["validate", str(bad), "--layer", "safe_places"]) == 1
    out = capsys.readouterr().out
    assert "bad.csv, row 1, column 'lat'" in out and "NOT usable" in out


def test_bad_arguments_exit_2(police_csv):
    with pytest.raises(SystemExit) as exc:
        main(["validate", str(police_csv), "--layer", "spaceships"])
    assert exc.value.code == 2
    with pytest.raises(SystemExit) as exc:
        main(["validate", str(police_csv)])
    assert exc.value.code == 2


def test_missing_file_is_a_message_not_a_traceback(tmp_path, capsys):
    assert main(["validate", str(tmp_path / "nope.csv"), "--layer", "incidents"]) == 1
    assert "no such file" in capsys.readouterr().err


def test_import_then_refused_import_keeps_store(police_csv, tmp_path, capsys):
    store = tmp_path / "s.gpkg"
    assert main(["import", str(police_csv), "--layer", "incidents", "--store", str(store)]) == 0
    assert "imported 3 rows" in capsys.readouterr().out
    before = hashlib.sha256(store.read_bytes()).hexdigest()
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + "\n" + GOOD.replace("2019-01", "January") + "\n")
    assert main(["import", str(bad), "--layer", "incidents", "--store", str(store)]) == 1
    assert "unchanged" in capsys.readouterr().err
    assert hashlib.sha256(store.read_bytes()).hexdigest() == before
    assert main(["layers", "--store", str(store)]) == 0
    assert "incidents,3,2,1" in capsys.readouterr().out


def test_whole_force_file_never_seen_by_the_sample(tmp_path, capsys):
    """A police.uk monthly force file (all of Norfolk, rows located far outside it)."""
    assert main(["validate", str(FORCE_FILE), "--layer", "incidents"]) == 0
    out = capsys.readouterr().out
    assert "total rows: 5869" in out
    store = tmp_path / "s.gpkg"
    assert main(["import", str(FORCE_FILE), "--layer", "incidents", "--store", str(store)]) == 0
    counts = GeoPackageStore(store).counts()["incidents"]
    assert counts["rows"] == 5869 and counts["unmapped"] > 100


def test_python_m_entry_point(police_csv):
    proc = subprocess.run([sys.executable, "-m", "ctxmap", "validate", str(police_csv),
                           "--layer", "incidents"], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0 and "result: usable" in proc.stdout


def test_map_command_from_files_without_store(police_csv, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("CTXMAP_STORE", raising=False)
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "map.html"
    places = ROOT / "data" / "source" / "osm" / "norwich_osm_pois.geojson"
    code = main(["map", "--incidents", str(police_csv), "--places", str(places),
                 "--out", str(out)])
    assert code == 0
    html = out.read_text(encoding="utf-8")
    assert "L.map(" in html and "<script src=" not in html  # inlined: opens offline
    assert "Homes" not in html  # files only: never the bundled sample's homes
    captured = capsys.readouterr()
    assert "2 mapped, 1 without a location" in captured.out
    assert "store: none (working from the given files only: --incidents, --places" in captured.err
    assert list(tmp_path.glob("*.gpkg")) == []  # a file-only run creates no store


def test_map_command_with_a_named_store_that_is_missing(police_csv, tmp_path, capsys):
    code = main(["map", "--store", str(tmp_path / "none.gpkg"), "--incidents", str(police_csv),
                 "--out", str(tmp_path / "m.html")])
    assert code == 1
    err = capsys.readouterr().err
    assert "no store at" in err and "python -m ctxmap init --store" in err
    assert not (tmp_path / "none.gpkg").exists()


def test_map_command_on_sample_store(sample_store_path, tmp_path):
    out = tmp_path / "map.html"
    assert main(["map", "--store", str(sample_store_path), "--out", str(out)]) == 0
    html = out.read_text(encoding="utf-8")
    assert "Homes shown are fictional" in html
    assert "Open Government Licence" in html and "OpenStreetMap contributors" in html
    assert out.stat().st_size < 3_000_000


def test_commands_on_a_postgis_store(police_csv, monkeypatch, capsys):
    """The one setting: a postgresql:// URL as --store, for import, layers and concern."""
    from tests.store.test_pgstore import fresh_schema

    with fresh_schema() as (url, schema):
        monkeypatch.setenv("CTXMAP_PG_SCHEMA", schema)
        assert main(["import", str(police_csv), "--layer", "incidents", "--store", url]) == 0
        out = capsys.readouterr().out
        assert "imported 3 rows" in out
        assert ":ctxmap_test@" not in out  # the password is never printed
        assert main(["layers", "--store", url]) == 0
        assert "incidents,3,2,1" in capsys.readouterr().out
