"""Credentials never appear in a message or a log, and no traceback reaches a user.

Every command of the command line is driven with a store URL holding a password (as
``--store`` where the command has it, and as ``$CTXMAP_STORE`` for all); its output,
its error and the error log must not hold the password. An unexpected error in a
command and in a dashboard page shows one line with an error id; the traceback (with
the password hidden) is only in the log.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from ctxmap import cli
from ctxmap.errors import LOG_NAME, StoreError, redact_credentials

ROOT = Path(__file__).resolve().parent.parent
SECRET = "secret"
#: Nothing listens on port 1: connecting fails at once.
URL = f"postgresql://user:{SECRET}@127.0.0.1:1/db"
POLICE = ROOT / "tests" / "data" / "police_uk"


def page_text(at: AppTest) -> str:
    """Every element of an AppTest page as text (its protobuf messages)."""
    out: list[str] = []

    def walk(node: object) -> None:
        proto = getattr(node, "proto", None)
        if proto is not None:
            out.append(str(proto))
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    return "\n".join(out)


def test_redact_credentials_hides_every_form_of_password():
    cases = {
        f"no store at {URL}": "no store at postgresql://user:***@127.0.0.1:1/db",
        "postgres://u:p%40ss@h:5432/db?sslmode=require&password=x2":
            "postgres://u:***@h:5432/db?sslmode=require&password=***",
        "postgresql://u:p@ss@h/db": "postgresql://u:***@h/db",
        "host=db user=u password=s3 dbname=x": "host=db user=u password=*** dbname=x",
        "PGPASSWORD=s3 psql": "PGPASSWORD=*** psql",
        "{'password': 's3'}": "{'password': '***'}",
    }
    for text, hidden in cases.items():
        assert redact_credentials(text) == hidden
    kept = ["postgresql://u@h/db", "https://tile.example.org/{z}/{x}/{y}.png",
            'password authentication failed for user "u"', "data/ctxmap.gpkg"]
    for text in kept:
        assert redact_credentials(text) == text
    assert str(StoreError(f"cannot open {URL}")) == (
        "cannot open postgresql://user:***@127.0.0.1:1/db")


def _commands() -> list[tuple[list[str], argparse.ArgumentParser]]:
    found: list[tuple[list[str], argparse.ArgumentParser]] = []

    def walk(parser: argparse.ArgumentParser, words: list[str]) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    walk(sub, [*words, name])
                return
        found.append((words, parser))

    walk(cli.build_parser(), [])
    return found


def _accepted(action: argparse.Action) -> str:
    """A value the argument's own type accepts (a month, a number, a word)."""
    for candidate in ("2019-01", "1", "x"):
        try:
            if action.type is None or action.type(candidate) is not None:  # type: ignore[operator]
                return candidate
        except (ValueError, TypeError, argparse.ArgumentTypeError):
            continue
    return "x"


def _argv(words: list[str], parser: argparse.ArgumentParser, tmp: Path) -> list[str]:
    """The command ``words`` with its required arguments filled and the store as a URL."""
    values = {"file": str(POLICE / "2019-02-norfolk-street.csv"), "layer": "incidents",
              "context": "1", "name": "robust_user",
              "role": "analyst", "source": URL, "target": str(tmp / "copy.gpkg"),
              "users_file": str(tmp / "users.toml"), "point": "52.6309,1.2974"}
    argv = list(words)
    for group in parser._mutually_exclusive_groups:
        if group.required:
            pick = next((a for a in group._group_actions if a.dest in values),
                        group._group_actions[0])
            argv += [pick.option_strings[0], values.get(pick.dest) or _accepted(pick)]
    for action in parser._actions:
        if not action.required and action.option_strings:
            continue
        if isinstance(action, argparse._HelpAction):
            continue
        value = values.get(action.dest) or _accepted(action)
        if action.dest == "out":
            value = str(tmp / ("out.csv" if ".csv" in str(action.metavar) else "out.html"))
        if action.choices and value not in action.choices:
            value = str(next(iter(action.choices)))
        argv += [action.option_strings[0], value] if action.option_strings else [value]
    options = {o for a in parser._actions for o in a.option_strings}
    if "--store" in options:
        argv += ["--store", URL]
    return argv


def test_every_command_keeps_the_password_out_of_messages_and_log(
        tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CTXMAP_STORE", URL)
    monkeypatch.setenv("CTXMAP_LOG_DIR", str(tmp_path / "logs"))
    monkeypatch.setenv("CTXMAP_USERS_FILE", str(tmp_path / "users.toml"))
    monkeypatch.setattr("ctxmap.commands.users.prompt_password", lambda _: "a long password 1")
    commands = _commands()
    assert len(commands) >= 12, [w for w, _ in commands]
    failed_on_store = 0
    refused: list[str] = []
    for words, parser in commands:
        argv = _argv(words, parser, tmp_path)
        try:
            code = cli.main(argv)
        except SystemExit as exc:  # argparse refused the arguments the test made up
            code = int(exc.code or 0)
            refused.append(" ".join(words))
        out, err = capsys.readouterr()
        assert SECRET not in out + err, (argv, out, err)
        assert "Traceback" not in out + err, (argv, err)
        failed_on_store += code != 0 and "user:***@127.0.0.1:1" in err
    assert failed_on_store >= 5  # the store's URL was named, its password hidden
    assert len(refused) <= 2, refused  # nearly every command ran past its arguments
    log = tmp_path / "logs" / LOG_NAME
    assert not log.exists() or SECRET not in log.read_text()


def test_an_unexpected_error_is_one_line_and_its_traceback_goes_to_the_log(
        tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CTXMAP_LOG_DIR", str(tmp_path / "logs"))

    def broken(args: argparse.Namespace) -> int:
        raise RuntimeError(f"driver failed for {URL}")

    monkeypatch.setattr("ctxmap.commands.users.list_handler", broken)
    code = cli.main(["users", "list", "--users-file", str(tmp_path / "u.toml")])
    _out, err = capsys.readouterr()
    assert code == 1
    assert err.strip().splitlines()[-1].startswith("error: unexpected error E-")
    error_id = re.search(r"unexpected error (E-[0-9A-F]{8})", err)
    assert error_id, err
    assert "Traceback" not in err and "RuntimeError" not in err and SECRET not in err
    log = (tmp_path / "logs" / LOG_NAME).read_text()
    assert error_id.group(1) in log and "Traceback" in log and "RuntimeError" in log
    assert "user:***@127.0.0.1:1" in log and SECRET not in log


def test_the_real_entry_point_prints_no_traceback(tmp_path):
    bad = tmp_path / "bad.geojson"
    bad.write_text('{"type": "FeatureCollection", "crs": "EPSG:27700", "features": []}')
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "HOME": str(tmp_path),
           "CTXMAP_LOG_DIR": str(tmp_path / "logs"), "CTXMAP_STORE": URL}
    done = subprocess.run([sys.executable, "-m", "ctxmap", "layers"], capture_output=True,
                          text=True, env=env, cwd=tmp_path, timeout=300)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr and SECRET not in done.stderr + done.stdout
    assert "user:***@127.0.0.1:1" in done.stderr


_BROKEN_PAGE = """
import streamlit as st
from ctxmap.app.guard import page_guard
st.title("before")
with page_guard("pages/broken.py"):
    raise RuntimeError("cannot reach postgresql://user:secret@127.0.0.1:1/db at /srv/x/y.gpkg")
"""


def test_a_page_error_is_one_line_with_an_id(tmp_path, monkeypatch):
    monkeypatch.setenv("CTXMAP_LOG_DIR", str(tmp_path / "logs"))
    at = AppTest.from_string(_BROKEN_PAGE, default_timeout=60)
    at.run()
    assert not at.exception
    assert at.title[0].value == "before"
    assert len(at.error) == 1
    shown = page_text(at)
    assert re.search(r"unexpected error E-[0-9A-F]{8}", at.error[0].value)
    assert SECRET not in shown and "/srv/x" not in shown and "RuntimeError" not in shown
    log = (tmp_path / "logs" / LOG_NAME).read_text()
    assert "RuntimeError" in log and "pages/broken.py" in log and SECRET not in log


def test_the_dashboard_never_shows_the_store_password(tmp_path, monkeypatch):
    monkeypatch.setenv("CTXMAP_STORE", URL)
    monkeypatch.setenv("CTXMAP_LOG_DIR", str(tmp_path / "logs"))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    at.run()
    assert not at.exception, at.exception
    shown = page_text(at)
    assert "user:***@127.0.0.1:1" in shown
    assert SECRET not in shown
    log = tmp_path / "logs" / LOG_NAME
    assert not log.exists() or SECRET not in log.read_text()


@pytest.mark.parametrize("page", ["import_layers.py", "audit.py", "contexts.py"])
def test_pages_never_show_the_store_password(tmp_path, monkeypatch, page):
    monkeypatch.setenv("CTXMAP_STORE", URL)
    monkeypatch.setenv("CTXMAP_LOG_DIR", str(tmp_path / "logs"))
    at = AppTest.from_file(str(ROOT / "pages" / page), default_timeout=90)
    at.run()
    shown = page_text(at) + "".join(str(e.value) for e in at.exception)
    assert SECRET not in shown
