"""``python -m ctxmap evaluate``: the contract through a subprocess, determinism on the sample."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

SAMPLE_CRIME = ROOT / "data" / "source" / "crime" / "norwich_street_2018-10_to_2019-02.csv"
SAMPLE_OSM = ROOT / "data" / "source" / "osm" / "norwich_osm_pois.geojson"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "ctxmap", "evaluate", *args], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=600, check=False)


def test_evaluate_on_the_sample_is_deterministic_and_prints_the_contract(
    sample_store_path: Path,
):
    args = ("--incidents", str(SAMPLE_CRIME), "--store", str(sample_store_path),
            "--train-to", "2018-12", "--test-from", "2019-01", "--osm", str(SAMPLE_OSM))
    first, second = _run(*args), _run(*args)
    assert first.returncode == 0, first.stderr
    assert first.stdout == second.stdout
    out = first.stdout
    assert out.startswith("trained on Oct 2018 to Dec 2018")
    assert "tested on Jan 2019 to Feb 2019" in out
    header = next(line for line in out.splitlines() if line.startswith("method"))
    assert re.split(r"\s{2,}", header) == [
        "method", "PAI 1%", "PAI 5%", "PAI 10%", "captured 1%", "captured 5%", "captured 10%"]
    for label in ("KDE, Scott's rule", "KDE, 200 m", "KDE, 400 m", "last period's counts",
                  "local expectation", "risk-terrain model"):
        row = next(line for line in out.splitlines() if line.startswith(label))
        values = re.split(r"\s{2,}", row)[1:]
        pai = [float(v) for v in values[:3]]
        captured = [float(v.rstrip("%")) / 100 for v in values[3:]]
        # PAI = captured / area share, and the area share is at least the target share
        for p, c, share in zip(pai, captured, (0.01, 0.05, 0.10), strict=True):
            assert p <= c / share + 0.01
            assert p > 0
    assert re.search(r"flag check \(study-area expectation\): \d+ place\(s\) flagged", out)
    assert "density layer default bandwidth for this area:" in out
    assert "auto expectation: " in out


def test_evaluate_errors_are_one_line_and_exit_codes(tmp_path: Path):
    missing = _run("--incidents", str(SAMPLE_CRIME), "--test-from", "2019-01")
    assert missing.returncode == 2
    assert "--train-to" in missing.stderr
    outline = ROOT / "data" / "source" / "boundaries" / "norwich_lad_2013.geojson"
    swapped = _run("--incidents", str(SAMPLE_CRIME), "--study-area", str(outline),
                   "--train-to", "2019-01", "--test-from", "2018-12")
    assert swapped.returncode == 1
    first, last = swapped.stderr.strip().splitlines()
    assert first.startswith("store: none (working from the given files only: --incidents")
    assert last == ("error: --test-from 2018-12 is not after --train-to "
                    "2019-01; expected the test months to follow the "
                    "training months")
    assert "Traceback" not in swapped.stderr
