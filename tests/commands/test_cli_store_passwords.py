"""A store URL's password never reaches the terminal, whatever goes wrong."""

from __future__ import annotations

import subprocess
import sys

import pytest

from ctxmap.store.geopackage import GeoPackageStore

URL = "postgresql://u:secret@127.0.0.1:1/x"


@pytest.mark.parametrize("args", [
    ["contexts", "--store", URL],
    ["pack", "--store", URL, "--context", "ctx-0001", "--out", "pack.html"],
    ["migrate-store", "--from", URL, "--to", "copy.gpkg"],
    ["migrate-store", "--from", "src.gpkg", "--to", URL],
])
def test_unreachable_store_message_hides_the_password(args: list[str], tmp_path) -> None:
    GeoPackageStore(tmp_path / "src.gpkg")  # an existing source for migrate-store
    proc = subprocess.run([sys.executable, "-m", "ctxmap", *args], capture_output=True,
                          text=True, cwd=tmp_path, timeout=120)
    assert proc.returncode != 0
    assert "secret" not in proc.stdout + proc.stderr
    assert "u:***@127.0.0.1:1" in proc.stderr
