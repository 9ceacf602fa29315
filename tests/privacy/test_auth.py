"""Roles, page rules, scrypt passwords, the users file and the ``users`` CLI."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ctxmap.cli import main
from ctxmap.commands import users as users_cmd
from ctxmap.errors import InputError
from ctxmap.privacy import roles as auth

PAGES = ["pages/map.py", "pages/import_layers.py", "pages/concern.py", "pages/contexts.py",
         "pages/audit.py", "pages/nearby.py", "pages/new_thing.py"]


def test_hash_and_verify():
    h = auth.hash_password("correct horse battery")
    assert h.startswith("scrypt$") and "correct" not in h
    assert auth.verify_password("correct horse battery", h)
    assert not auth.verify_password("correct horse batterY", h)
    assert not auth.verify_password("x", "garbage")
    assert h != auth.hash_password("correct horse battery")  # fresh salt each time


def test_known_salt_gives_known_scrypt():
    import hashlib

    h = auth.hash_password("pw", salt=b"s" * 16)
    expect = hashlib.scrypt(b"pw", salt=b"s" * 16, n=2**17, r=8, p=1, dklen=32,
                            maxmem=2**28).hex()
    assert h == f"scrypt$131072$8$1${(b's' * 16).hex()}${expect}"  # OWASP: n >= 2**17


def test_old_hashes_still_verify_with_their_own_parameters():
    import hashlib

    old = hashlib.scrypt(b"an old password", salt=b"o" * 16, n=2**14, r=8, p=1, dklen=32)
    stored = f"scrypt$16384$8$1${(b'o' * 16).hex()}${old.hex()}"
    assert auth.verify_password("an old password", stored)
    assert not auth.verify_password("an old passwore", stored)
    # parameters asking for more memory than allowed never verify (nor exhaust memory)
    assert not auth.verify_password("x", f"scrypt${2**24}$8$1${'00' * 16}${old.hex()}")


@pytest.mark.parametrize("spelling", ["meeting viewer", "meeting_viewer", "Meeting-Viewer",
                                      " MEETING  viewer "])
def test_every_spelling_of_a_role_is_accepted(spelling, tmp_path, monkeypatch):
    assert auth.check_role(spelling) == auth.MEETING_VIEWER
    assert auth.User("mo", spelling).role == auth.MEETING_VIEWER
    path = tmp_path / "users.toml"
    path.write_text(f'[users.mo]\nrole = "{spelling}"\npassword = ""\n')
    assert auth.read_users(path)["mo"].role == auth.MEETING_VIEWER
    monkeypatch.setattr(users_cmd, "prompt_password", lambda _p: "a long password")
    monkeypatch.setattr(auth, "SCRYPT_N", 2**14)  # speed
    assert main(["users", "add", "kim", "--role", spelling, "--users-file", str(path)]) == 0
    assert auth.read_users(path)["kim"].role == auth.MEETING_VIEWER
    assert 'role = "meeting viewer"' in path.read_text()  # one spelling written


def test_the_readme_role_spelling_works(tmp_path, monkeypatch):
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert "--role analyst|coordinator|meeting_viewer" in readme
    for role in ("analyst", "coordinator", "meeting_viewer"):
        assert auth.check_role(role) in auth.ROLES


def test_pages_per_role():
    def titles(role):
        return [r.path for r in auth.allowed_pages(role, PAGES)]

    assert titles("analyst") == ["pages/map.py", "pages/contexts.py", "pages/concern.py",
                                 "pages/nearby.py", "pages/import_layers.py",
                                 "pages/audit.py", "pages/new_thing.py"]
    assert titles("coordinator") == ["pages/map.py", "pages/contexts.py", "pages/nearby.py",
                                     "pages/import_layers.py"]
    assert titles("meeting viewer") == ["pages/map.py"]
    with pytest.raises(InputError, match="unknown role"):
        auth.allowed_pages("admin", PAGES)
    assert not auth.may_see_unmasked("meeting viewer")


def test_users_file_roundtrip_and_authenticate(tmp_path):
    path = tmp_path / "users.toml"
    users = auth.add_user({}, "alex.w", "coordinator", "a long password")
    users = auth.add_user(users, "pat@example.org", "analyst", None)
    auth.write_users(path, users)
    back = auth.read_users(path)
    assert back == users
    assert "a long password" not in path.read_text()
    assert auth.authenticate(back, "alex.w", "a long password") == auth.User(
        "alex.w", "coordinator", "password")
    assert auth.authenticate(back, "alex.w", "wrong password") is None
    assert auth.authenticate(back, "nobody", "a long password") is None
    assert auth.authenticate(back, "pat@example.org", "") is None  # OIDC-only user
    assert auth.role_for_identity(back, "pat@example.org") == "analyst"
    assert auth.role_for_identity(back, "stranger@example.org") == "meeting viewer"


@settings(max_examples=30, deadline=None)
@given(name=st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._@+-]{0,20}", fullmatch=True),
       role=st.sampled_from(auth.ROLES))
def test_users_toml_roundtrip_any_name(name, role, tmp_path_factory):
    path = tmp_path_factory.mktemp("u") / "users.toml"
    users = {name: auth.UserRecord(name, role, "scrypt$1$1$1$00$00")}
    auth.write_users(path, users)
    assert auth.read_users(path) == users


def test_bad_inputs():
    for bad in ("", " x", "a b", "<script>", "x" * 65, 'a"b'):
        with pytest.raises(InputError):
            auth.check_username(bad)
    with pytest.raises(InputError, match="at least"):
        auth.add_user({}, "sam", "analyst", "short")


def test_testing_role_needs_the_flag():
    assert auth.testing_role_from_env({"CTXMAP_TEST_ROLE": "meeting viewer"}) is None
    env = {"CTXMAP_TESTING": "1", "CTXMAP_TEST_ROLE": "meeting viewer"}
    assert auth.testing_role_from_env(env) == "meeting viewer"
    with pytest.raises(InputError):
        auth.testing_role_from_env({"CTXMAP_TESTING": "1", "CTXMAP_TEST_ROLE": "root"})


def test_users_cli_add_and_list(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(auth, "SCRYPT_N", 2**14)  # speed: the hash stores its own n
    path = tmp_path / "users.toml"
    answers = iter(["a long password", "a long password"])
    monkeypatch.setattr(users_cmd, "prompt_password", lambda _p: next(answers))
    assert main(["users", "add", "sam", "--role", "coordinator", "--users-file", str(path)]) == 0
    assert auth.authenticate(auth.read_users(path), "sam", "a long password")
    assert main(["users", "list", "--users-file", str(path)]) == 0
    out = capsys.readouterr().out
    assert "sam\tcoordinator\tpassword" in out and "a long password" not in out
    mismatch = iter(["a long password", "another password"])
    monkeypatch.setattr(users_cmd, "prompt_password", lambda _p: next(mismatch))
    assert main(["users", "add", "kim", "--role", "analyst", "--users-file", str(path)]) == 1
    assert "kim" not in auth.read_users(path)
    with pytest.raises(SystemExit) as exc:
        main(["users", "add", "kim", "--role", "root", "--users-file", str(path)])
    assert exc.value.code == 2
