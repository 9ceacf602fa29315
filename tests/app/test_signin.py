"""Sign-in: fails closed, is audited, throttled per user and per client, meeting viewers can
sign out, and the link a person arrived with survives the sign-in (AppTest)."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from ctxmap.privacy import roles as auth
from ctxmap.privacy.audit import read_log
from ctxmap.privacy.throttle import SignInThrottle, client_key, user_key
from ctxmap.store.geopackage import GeoPackageStore

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "a long password 1"


class FakeClock:
    """Seconds that move only when a test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def signin_env(tmp_path, monkeypatch):
    """A users file (alex: analyst, mo: meeting viewer), an audited store, a fresh throttle."""
    monkeypatch.setattr(auth, "SCRYPT_N", 2**14)  # speed: stored hashes carry their own n
    users = auth.add_user({}, "alex", "analyst", PASSWORD)
    users = auth.add_user(users, "mo", "meeting_viewer", PASSWORD)
    path = auth.write_users(tmp_path / "users.toml", users)
    store = tmp_path / "area.gpkg"
    GeoPackageStore(store)  # a new store: not the bundled sample, so audited
    clock = FakeClock()
    throttle = SignInThrottle(clock=clock)
    monkeypatch.setattr("ctxmap.app.signin.SIGN_IN_THROTTLE", throttle)
    monkeypatch.setenv("CTXMAP_USERS_FILE", str(path))
    monkeypatch.setenv("CTXMAP_STORE", str(store))
    monkeypatch.setenv("CTXMAP_LOG_DIR", str(tmp_path / "logs"))
    monkeypatch.delenv("CTXMAP_TEST_ROLE", raising=False)
    return store, clock, throttle


def _app() -> AppTest:
    return AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)


def _sign_in(at: AppTest, name: str, password: str) -> AppTest:
    at.text_input[0].input(name)
    at.text_input[1].input(password)
    at.button[0].click()
    return at.run()


def _log(store: Path):
    return read_log(GeoPackageStore(store, create=False))


@pytest.mark.parametrize("content", [None, "", "# no users yet\n"])
def test_a_configured_but_missing_or_empty_users_file_stops_the_app(
        tmp_path, monkeypatch, content):
    path = tmp_path / "users.toml"
    if content is not None:
        path.write_text(content)
    monkeypatch.setenv("CTXMAP_USERS_FILE", str(path))
    monkeypatch.delenv("CTXMAP_TEST_ROLE", raising=False)
    at = _app().run()
    assert not at.exception
    assert [e.value for e in at.error] and "Sign-in is configured but cannot work" in \
        at.error[0].value
    assert str(tmp_path) not in at.error[0].value  # no server path before sign-in
    assert not at.text_input  # no form, no page: nobody gets in
    assert "local analyst" not in " ".join(c.value for c in at.caption)


def test_sign_ins_and_failures_are_audited(signin_env):
    store, _clock, throttle = signin_env
    at = _app().run()
    assert at.title[0].value == "ctxmap: sign in"
    at = _sign_in(at, "alex", "wrong password")
    assert at.error[0].value == "Unknown username or wrong password."
    at = _sign_in(at, "alex", PASSWORD)
    assert not at.exception, at.exception
    assert not [t for t in at.title if t.value == "ctxmap: sign in"]
    log = _log(store)
    rows = log[log["action"].str.startswith("sign in")].sort_values("id")
    assert rows["action"].tolist() == ["sign in failed", "sign in"]
    assert rows["user"].tolist() == ["alex", "alex"]
    assert "wrong password" in rows["what"].iloc[0]
    assert throttle.failures(user_key("alex")) == 0  # success clears the user's count
    assert "from client unknown" in rows["what"].iloc[0]  # AppTest has no address
    assert throttle.failures(client_key(None)) == 1  # not the client's


def test_failures_are_throttled_with_exponential_back_off(signin_env):
    store, clock, _throttle = signin_env
    at = _app().run()
    for _ in range(3):
        at = _sign_in(at, "alex", "wrong password")
        assert at.error[0].value == "Unknown username or wrong password."
    at = _sign_in(at, "alex", PASSWORD)  # 3 failures: even the right password waits
    assert "Too many failed sign-ins: try again in" in at.error[0].value
    assert [t.value for t in at.title] == ["ctxmap: sign in"]
    clock.now += 2.01  # the first wait (2 s) is over
    at = _sign_in(at, "alex", PASSWORD)
    assert not [t for t in at.title if t.value == "ctxmap: sign in"]
    actions = _log(store).sort_values("id")["what"].tolist()
    assert sum("too many failed attempts" in a for a in actions) == 1


def test_the_throttle_backs_off_per_user_and_per_client():
    clock = FakeClock()
    t = SignInThrottle(free=3, base_s=2.0, cap_s=60.0, forget_s=3600.0, clock=clock)
    waits = []
    for _ in range(9):
        t.failed(user_key("Alex"), client_key("10.0.0.1"))
        waits.append(t.wait_s(user_key("alex")))
    assert waits == [0, 0, 2, 4, 8, 16, 32, 60, 60]  # exponential, then the cap
    assert t.wait_s(user_key("sam"), client_key("10.0.0.1")) == 60  # same client
    assert t.wait_s(user_key("sam"), client_key("10.0.0.2")) == 0  # another client
    clock.now += 30
    assert t.wait_s(user_key("alex")) == 30
    t.succeeded(user_key("alex"))
    assert t.wait_s(user_key("alex")) == 0 and t.wait_s(client_key("10.0.0.1")) == 30
    clock.now += 3601
    assert t.wait_s(client_key("10.0.0.1")) == 0 and t.failures(client_key("10.0.0.1")) == 0


def test_meeting_viewers_can_sign_out_from_the_banner(signin_env):
    at = _app().run()
    at = _sign_in(at, "mo", PASSWORD)
    assert not at.exception, at.exception
    out = at.button(key="ctxmap_meeting_sign_out")
    out.click()
    at = at.run()
    assert [t.value for t in at.title] == ["ctxmap: sign in"]


def test_the_link_survives_the_sign_in(signin_env):
    at = _app()
    at.query_params["view"] = "meeting"
    at.query_params["zoom"] = "14"
    at.run()
    assert [t.value for t in at.title] == ["ctxmap: sign in"]
    at.query_params.clear()  # as when the browser's address loses them during the sign-in
    at = _sign_in(at, "alex", PASSWORD)
    assert not at.exception, at.exception
    assert at.query_params["view"] == "meeting" and at.query_params["zoom"] == "14"
    assert at.button(key="ctxmap_leave_meeting")  # the analyst is in the linked meeting view
