"""A store URL's password never reaches the terminal, whatever goes wrong."""

from __future__ import annotations

import subprocess
import sys

import pytest

URL = "postgresql://u:secret@127.0.0.1:1/x"


@pytest.mark.parametrize("args", [
    ["contexts", "--store", URL],
    ["pack", "--store", URL, "--context", "ctx-0001", "--out", "pack.html"],
])
def test_unreachable_store_message_hides_the_password(args: list[str], tmp_path) -> None:
    proc = subprocess.run([sys.executable, "-m", "ctxmap", *args], capture_output=True,
                          text=True, cwd=tmp_path, timeout=120)
    assert proc.returncode != 0
    assert "secret" not in proc.stdout + proc.stderr
    assert "u:***@127.0.0.1:1" in proc.stderr
