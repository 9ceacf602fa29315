"""Every exporting command writes its audit entry before its output exists.

On a council's store (the sample's data with its mark replaced: audited): who (``--as`` or
the OS user), what (command, context, partner, filters, row count, file) and the legal
basis, which an unmasked output must be given. The marked sample is not audited.
"""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest

from ctxmap.cli import main
from ctxmap.errors import StoreError
from ctxmap.privacy.audit import read_log
from ctxmap.store.geopackage import GeoPackageStore
from ctxmap.store.protocol import os_user

BASIS = ["--legal-basis", "public task"]


def log(path: Path) -> pd.DataFrame:
    return read_log(GeoPackageStore(path, create=False))


def test_unmasked_export_needs_a_legal_basis_and_writes_nothing_without(
        store_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "pack.html"
    assert main(["pack", "--context", "ctx-0001", "--store", str(store_copy), "--no-map",
                 "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "--legal-basis" in err and "unmasked" in err
    assert not out.exists() and log(store_copy).empty
    assert main(["contexts", "--store", str(store_copy)]) == 1
    assert capsys.readouterr().out == ""
    assert main(["contexts", "--store", str(store_copy), "--legal-basis", "because"]) == 1
    assert "legal basis 'because'" in capsys.readouterr().err
    assert log(store_copy).empty


def test_full_pack_is_logged_as_what_it_is(store_copy: Path, tmp_path: Path) -> None:
    out = tmp_path / "pack.html"
    assert main(["pack", "--context", "ctx-0001", "--store", str(store_copy), "--no-map",
                 "--out", str(out), "--as", "alex", "--legal-basis", "vital interests"]) == 0
    entry = log(store_copy).iloc[0]
    assert (entry["user"], entry["action"], entry["legal_basis"]) == (
        "alex", "export", "vital interests")
    assert entry["what"] == ("command pack: meeting pack (HTML), full record for the lead "
                             "agency, unmasked to pack.html; context ctx-0001")
    assert "consent-filtered" not in entry["what"]


def test_partner_pack_is_logged_masked_with_the_os_user(store_copy: Path,
                                                         tmp_path: Path) -> None:
    out = tmp_path / "pack.html"
    assert main(["pack", "--context", "ctx-0001", "--store", str(store_copy), "--no-map",
                 "--for-partner", "Local police", "--out", str(out)]) == 0
    entry = log(store_copy).iloc[0]
    assert (entry["user"], entry["action"], entry["legal_basis"]) == (
        os_user(), "export masked", "public task")
    assert entry["what"] == ("command pack: meeting pack (HTML), consent-filtered, home masked "
                             "to pack.html; context ctx-0001; for partner Local police")


def test_contexts_entry_counts_rows(store_copy: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["contexts", "--store", str(store_copy), *BASIS]) == 0
    rows = len(pd.read_csv(io.StringIO(capsys.readouterr().out)))
    entry = log(store_copy).iloc[0]
    assert entry["what"] == (f"command contexts: list of contexts of concern (CSV) to "
                             f"standard output; {rows} rows")


@pytest.mark.parametrize(("command", "extra", "unmasked"), [
    ("map", [], True),
    ("concern", ["--from", "2018-10", "--to", "2019-02"], True),
    ("hotspots", ["--cell-m", "500"], False),
    ("nearest", ["--lat", "52.63", "--lon", "1.29"], False),
    ("nearest", ["--from-place", "home-cs-01"], True),
    ("coverage", [], True),
])
def test_every_export_command_is_audited(store_copy: Path, tmp_path: Path,
                                         command: str, extra: list[str],
                                         unmasked: bool) -> None:
    suffix = {"map": ".html", "hotspots": ".geojson"}.get(command, ".csv")
    out = tmp_path / f"out{suffix}"
    args = [command, "--store", str(store_copy), *extra, "--out", str(out)]
    if unmasked:
        assert main(args) == 1 and not out.exists()
    assert main([*args, *BASIS, "--as", "sam"]) == 0 and out.exists()
    entries = log(store_copy)
    assert len(entries) == 1
    entry = entries.iloc[0]
    assert entry["user"] == "sam"
    assert entry["action"] == ("export" if unmasked else "export masked")
    assert entry["what"].startswith(f"command {command}: ")
    assert f"to {out.name}" in entry["what"]
    if command == "map":
        rows = len(GeoPackageStore(store_copy, create=False).read("homes"))
        assert "homes as points" in entry["what"] and f"homes {rows}" in entry["what"]
    elif command in ("concern", "coverage", "nearest"):
        written = len(pd.read_csv(out))
        assert entry["what"].endswith(f"; {written} rows")


def test_entry_is_written_before_the_output(store_copy: Path, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    def refuse(*_a: object, **_k: object) -> int:
        raise StoreError("the audit log is read-only")

    monkeypatch.setattr("ctxmap.commands.exporting.record", refuse)
    out = tmp_path / "pack.html"
    assert main(["pack", "--context", "ctx-0001", "--store", str(store_copy), "--no-map",
                 "--out", str(out), *BASIS]) == 1
    assert "read-only" in capsys.readouterr().err
    assert not out.exists()


def test_the_marked_sample_is_not_audited(sample_copy: Path, tmp_path: Path) -> None:
    out = tmp_path / "pack.html"
    assert main(["pack", "--context", "ctx-0001", "--store", str(sample_copy), "--no-map",
                 "--out", str(out)]) == 0
    assert log(sample_copy).empty


@pytest.mark.parametrize(("command", "extra"), [
    ("map", []),
    ("concern", ["--from", "2018-10", "--to", "2019-02"]),
    ("hotspots", ["--cell-m", "500"]),
    ("nearest", ["--from-place", "home-cs-01"]),
    ("coverage", []),
    ("contexts", []),
    ("pack", ["--context", "ctx-0001", "--no-map"]),
])
def test_audit_goes_to_the_store_named_by_ctxmap_store(
        store_copy: Path, tmp_path: Path, command: str, extra: list[str],
        capsys: pytest.CaptureFixture[str]) -> None:
    """No --store: the store is $CTXMAP_STORE (set by the fixture), and so is the audit log."""
    suffix = {"map": ".html", "hotspots": ".geojson", "pack": ".html"}.get(command, ".csv")
    out = tmp_path / f"out{suffix}"
    outs = [] if command == "contexts" else ["--out", str(out)]
    assert main([command, *extra, *outs, *BASIS, "--as", "kim"]) == 0
    err = capsys.readouterr().err
    assert f"store: {store_copy}" in err and "not audited" not in err
    entries = log(store_copy)
    assert len(entries) == 1
    assert entries.iloc[0]["user"] == "kim"
    assert entries.iloc[0]["what"].startswith(f"command {command}: ")


def test_files_only_are_not_audited_and_say_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               sample_store_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    """Given files and no store named, there is no audit log: the command says so."""
    monkeypatch.delenv("CTXMAP_STORE", raising=False)
    monkeypatch.chdir(tmp_path)  # no .streamlit/secrets.toml naming a store
    places = tmp_path / "places.csv"
    places.write_text("id,name,category,lat,lon,layer\np1,Library,library,52.63,1.29,"
                      "safe_places\n", encoding="utf-8")
    out = tmp_path / "near.csv"
    assert main(["nearest", "--places", str(places), "--lat", "52.631", "--lon", "1.291",
                 "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "store: none" in err and "note: not audited: no store holds this nearest" in err
    assert out.exists()
    assert log(sample_store_path).empty
