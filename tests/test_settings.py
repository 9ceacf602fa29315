"""ctxmap.settings: every variable read and checked in one place."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ctxmap import settings
from ctxmap.settings import SettingsError, load

ROOT = Path(__file__).resolve().parents[1]


def test_unset_gives_defaults(tmp_path: Path) -> None:
    s = load({}, secrets=[tmp_path / "none.toml"])
    assert s.store is None and s.store_from == "default"
    assert s.tiles_url is None and s.network is None and s.mask_key is None
    assert s.retention_days == settings.DEFAULT_RETENTION_DAYS
    assert not s.testing and s.auth is None


def test_values_are_parsed(tmp_path: Path) -> None:
    s = load({"CTXMAP_STORE": " /x/s.gpkg ", "CTXMAP_TILES_URL": "", "CTXMAP_NETWORK": "n.pbf",
              "CTXMAP_SMALL_COUNT_THRESHOLD": "10", "CTXMAP_MASK_CELL_M": "500",
              "CTXMAP_RETENTION_DAYS": "90", "CTXMAP_TESTING": "1",
              "CTXMAP_TEST_ROLE": "coordinator", "CTXMAP_MASK_KEY": "k" * 40},
             secrets=[tmp_path / "none.toml"])
    assert (s.store, s.store_from) == ("/x/s.gpkg", "$CTXMAP_STORE")
    assert s.tiles_url == ""  # set empty: no basemap, not the default
    assert s.network == Path("n.pbf")
    assert (s.small_count_threshold, s.mask_cell_m, s.retention_days) == (10, 500.0, 90)
    assert s.testing and s.test_role == "coordinator"
    assert "k" * 40 not in repr(s)  # the key never appears in a repr or log


def test_every_bad_value_is_reported_at_once(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as err:
        load({"CTXMAP_SMALL_COUNT_THRESHOLD": "many", "CTXMAP_MASK_CELL_M": "-3",
              "CTXMAP_RETENTION_DAYS": "0"}, secrets=[tmp_path / "none.toml"])
    msg = str(err.value)
    assert "$CTXMAP_SMALL_COUNT_THRESHOLD is 'many'; expected a whole number" in msg
    assert "$CTXMAP_MASK_CELL_M is '-3'; expected metres > 0" in msg
    assert "$CTXMAP_RETENTION_DAYS is '0'; expected a whole number of days >= 1" in msg


def test_secrets_file_store_and_auth(tmp_path: Path) -> None:
    path = tmp_path / "secrets.toml"
    path.write_text('[ctxmap]\nstore = "postgresql://u@h/db"\n[auth]\nclient_id = "x"\n')
    s = load({}, secrets=[tmp_path / "missing.toml", path])
    assert s.store == "postgresql://u@h/db" and s.store_from.endswith("[ctxmap] store")
    assert s.auth == {"client_id": "x"} and s.secrets_path == path
    # the environment wins over the secrets file
    assert load({"CTXMAP_STORE": "a.gpkg"}, secrets=[path]).store == "a.gpkg"


def test_bad_secrets_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "secrets.toml"
    path.write_text("[ctxmap\nstore = ")
    with pytest.raises(SettingsError, match=re.escape(str(path)) + " is not valid TOML"):
        load({}, secrets=[path])
    path.write_text('ctxmap = "a string"\n')
    with pytest.raises(SettingsError, match=r"\[ctxmap\] is a str; expected a table"):
        load({}, secrets=[path])


def test_readme_configuration_table_documents_every_variable() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    missing = [name for name in settings.VARIABLES if f"`{name}`" not in table]
    assert not missing, missing



def test_no_other_module_reads_ctxmap_variables() -> None:
    """Only ctxmap/settings.py names a CTXMAP_ variable's value source (os.environ)."""
    offenders = []
    for path in [*(ROOT / "ctxmap").rglob("*.py"), *(ROOT / "pages").glob("*.py"),
                 ROOT / "app.py"]:
        if path.name == "settings.py" and path.parent.name == "ctxmap":
            continue
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if re.search(r"(os\.environ|os\.getenv|getenv\().*CTXMAP_|\"CTXMAP_[A-Z_]+\"", line):
                offenders.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert not offenders, "\n".join(offenders)


def test_dashboard_stops_on_a_bad_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("CTXMAP_MASK_CELL_M", "tiny")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert any("$CTXMAP_MASK_CELL_M is 'tiny'; expected metres > 0" in e for e in errors), errors


def test_command_line_stops_on_a_bad_setting(monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str],
                                            tmp_path: Path) -> None:
    from ctxmap.cli import main

    monkeypatch.setenv("CTXMAP_RETENTION_DAYS", "soon")
    code = main(["layers", "--store", str(tmp_path / "s.gpkg")])
    err = capsys.readouterr().err
    assert code != 0
    assert "$CTXMAP_RETENTION_DAYS is 'soon'; expected a whole number of days >= 1" in err
    assert not (tmp_path / "s.gpkg").exists()  # nothing was done


def test_masking_settings_have_floors(tmp_path: Path) -> None:
    """A threshold below 3 or a square below 100 m is refused with a message saying so."""
    with pytest.raises(SettingsError) as err:
        load({"CTXMAP_SMALL_COUNT_THRESHOLD": "1", "CTXMAP_MASK_CELL_M": "0.01"},
             secrets=[tmp_path / "none.toml"])
    msg = str(err.value)
    assert "$CTXMAP_SMALL_COUNT_THRESHOLD is '1'; expected a whole number >= 3" in msg
    assert "$CTXMAP_MASK_CELL_M is '0.01'; expected metres > 0 and >= 100" in msg
    s = load({"CTXMAP_SMALL_COUNT_THRESHOLD": "3", "CTXMAP_MASK_CELL_M": "100"},
             secrets=[tmp_path / "none.toml"])
    assert (s.small_count_threshold, s.mask_cell_m) == (3, 100.0)
