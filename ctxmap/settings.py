"""Settings: every ``CTXMAP_*`` variable and ``.streamlit/secrets.toml``, read and checked once.

This is the one place ctxmap reads its configuration from. :func:`load` reads the
environment (or a mapping given in tests) and the secrets file, checks every value and
raises one :class:`SettingsError` listing every problem, each naming the variable,
what arrived and what was expected. The README's configuration table documents the
same settings (:data:`VARIABLES` is its source).

Nothing is cached: a value changed between two calls (a test's ``monkeypatch.setenv``,
a new ``--store``) is seen by the next call. ``app.py`` calls :func:`load` at start so
that a bad setting stops the dashboard with a clear message, not half-way through a page.
"""

from __future__ import annotations

import math
import os
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from ctxmap.errors import InputError

#: The repository (where the bundled sample and the default users file live).
REPO_ROOT: Final = Path(__file__).resolve().parents[1]
#: Where the dashboard's secrets live, relative to the working directory and to the repo.
SECRETS_FILE: Final = Path(".streamlit") / "secrets.toml"

STORE: Final = "CTXMAP_STORE"
PG_SCHEMA: Final = "CTXMAP_PG_SCHEMA"
TILES_URL: Final = "CTXMAP_TILES_URL"
NETWORK: Final = "CTXMAP_NETWORK"
MASK_KEY: Final = "CTXMAP_MASK_KEY"
SMALL_COUNT_THRESHOLD: Final = "CTXMAP_SMALL_COUNT_THRESHOLD"
MASK_CELL_M: Final = "CTXMAP_MASK_CELL_M"
RETENTION_DAYS: Final = "CTXMAP_RETENTION_DAYS"
USERS_FILE: Final = "CTXMAP_USERS_FILE"
TESTING: Final = "CTXMAP_TESTING"
TEST_ROLE: Final = "CTXMAP_TEST_ROLE"
LOG_DIR: Final = "CTXMAP_LOG_DIR"
BUSY_TIMEOUT: Final = "CTXMAP_BUSY_TIMEOUT"

#: Every variable, with what it sets (the README's configuration table).
VARIABLES: Final[dict[str, str]] = {
    STORE: "the store: a GeoPackage path or a postgresql:// URL (default: the bundled "
           "sample, data/ctxmap.gpkg)",
    PG_SCHEMA: "the PostgreSQL schema of a postgresql:// store (default ctxmap)",
    TILES_URL: "basemap tile URL template (default OpenStreetMap's; empty for none)",
    NETWORK: "an OpenStreetMap extract (.osm.pbf or .osm) for walking times in the dashboard",
    MASK_KEY: "secret key of the deterministic donut geomask (never in the repository)",
    SMALL_COUNT_THRESHOLD: "counts below this are suppressed in shared views (default 5, "
                           "at least 3)",
    MASK_CELL_M: "side of the mask squares in shared views, metres (default 250, at least "
                 "100)",
    RETENTION_DAYS: "days closed contexts are kept before review (default 730)",
    USERS_FILE: "the local users file (default data/users.toml)",
    TESTING: "1 in the test suite only (with no sign-in configured, allows CTXMAP_TEST_ROLE)",
    TEST_ROLE: "testing only: the role of the local user when CTXMAP_TESTING=1",
    LOG_DIR: "folder of the server-side error log ctxmap-errors.log, where unexpected "
             "errors' tracebacks go (default logs/ in the repository)",
    BUSY_TIMEOUT: "seconds a write waits for a store another import is writing before it "
                  "stops with 'the store is busy' (default 30)",
}
DEFAULT_RETENTION_DAYS: Final = 730
#: Where the error log goes when ``CTXMAP_LOG_DIR`` is not set (``logs/`` is git-ignored).
DEFAULT_LOG_DIR: Final = REPO_ROOT / "logs"
DEFAULT_BUSY_TIMEOUT_S: Final = 30.0
#: The geomask key's shortest length, in bytes (UTF-8): 256 bits.
MIN_MASK_KEY_BYTES: Final = 32
#: Floors of the masking settings (ctxmap.privacy.disclosure enforces them everywhere):
#: no shared view may show a count of 1 or 2, nor a square smaller than 100 m.
MIN_SMALL_COUNT_THRESHOLD: Final = 3
MIN_MASK_CELL_M: Final = 100.0


class SettingsError(InputError):
    """A ``CTXMAP_*`` variable or the secrets file holds a value ctxmap cannot use."""


@dataclass(frozen=True)
class Settings:
    """ctxmap's configuration, checked (see :data:`VARIABLES`).

    ``None`` means "not set": each user of a setting applies its own default, named
    in :data:`VARIABLES`. ``tiles_url`` is ``None`` when unset and ``""`` when set
    empty (no basemap).
    """

    store: str | None = None
    store_from: str = "default"
    pg_schema: str | None = None
    tiles_url: str | None = None
    network: Path | None = None
    mask_key: str | None = field(default=None, repr=False)
    small_count_threshold: int | None = None
    mask_cell_m: float | None = None
    retention_days: int = DEFAULT_RETENTION_DAYS
    users_file: Path | None = None
    testing: bool = False
    test_role: str | None = None
    auth: Mapping[str, Any] | None = field(default=None, repr=False)
    secrets_path: Path | None = None
    log_dir: Path = DEFAULT_LOG_DIR
    busy_timeout_s: float = DEFAULT_BUSY_TIMEOUT_S


def _whole(environ: Mapping[str, str], name: str, what: str, problems: list[str],
           minimum: int = 1) -> int | None:
    value = environ.get(name, "").strip()
    if not value:
        return None
    if not value.isdigit() or int(value) < minimum:
        problems.append(f"${name} is {value!r}; expected {what} >= {minimum}")
        return None
    return int(value)


def _positive(environ: Mapping[str, str], name: str, problems: list[str],
              unit: str = "metres", example: str = "250", minimum: float = 0.0) -> float | None:
    value = environ.get(name, "").strip()
    if not value:
        return None
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not (math.isfinite(number) and number > 0 and number >= minimum):
        floor = f" and >= {minimum:g} (a smaller square could show where a home is)" \
            if minimum else ""
        problems.append(f"${name} is {value!r}; expected {unit} > 0{floor}, e.g. {example}")
        return None
    return number


def _mask_key(environ: Mapping[str, str], problems: list[str]) -> str | None:
    key = environ.get(MASK_KEY) or None
    if key is not None and len(key.encode("utf-8")) < MIN_MASK_KEY_BYTES:
        # never echo the key itself: it is a secret
        problems.append(f"${MASK_KEY} has {len(key.encode('utf-8'))} bytes; expected at "
                        f"least {MIN_MASK_KEY_BYTES} (e.g. the output of: python3 -c "
                        "'import secrets; print(secrets.token_urlsafe(32))')")
        return None
    return key


def log_dir(env: Mapping[str, str] | None = None) -> Path:
    """The error log's folder (``CTXMAP_LOG_DIR``, else :data:`DEFAULT_LOG_DIR`).

    Never raises: it is read when something has already gone wrong, so it does not
    check the other settings (:func:`load` does).
    """
    environ = os.environ if env is None else env
    value = environ.get(LOG_DIR, "").strip()
    return Path(value) if value else DEFAULT_LOG_DIR


def read_secrets(paths: Sequence[Path]) -> tuple[dict[str, Any], Path | None]:
    """The first readable secrets file among ``paths``, parsed, and its path.

    Raises
    ------
    SettingsError
        If a file exists but is not valid TOML (naming the file and the error).
    """
    for path in paths:
        if not path.is_file():
            continue
        try:
            return tomllib.loads(path.read_text(encoding="utf-8")), path
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise SettingsError(f"{path} is not valid TOML ({exc}); expected e.g. "
                                '[ctxmap] store = "postgresql://..." or a file path') from None
    return {}, None


def secrets_paths() -> list[Path]:
    """Where the secrets file is looked for: the working directory, the repository, home.

    The first that exists is read (Streamlit's own ``st.secrets``, which ``st.login``
    uses, reads the working directory's and the home folder's).
    """
    return [Path.cwd() / SECRETS_FILE, REPO_ROOT / SECRETS_FILE, Path.home() / SECRETS_FILE]


def load(env: Mapping[str, str] | None = None,
         secrets: Sequence[Path] | None = None) -> Settings:
    """Read and check every setting.

    Parameters
    ----------
    env
        The environment (default ``os.environ``).
    secrets
        Secrets files to try in order (default :func:`secrets_paths`).

    Raises
    ------
    SettingsError
        Listing every bad value, each naming the variable, what arrived and what was
        expected.
    """
    environ = os.environ if env is None else env
    problems: list[str] = []
    data, secrets_path = read_secrets(secrets_paths() if secrets is None else secrets)
    section = data.get("ctxmap")
    if section is not None and not isinstance(section, dict):
        problems.append(f"{secrets_path}: [ctxmap] is a {type(section).__name__}; "
                        "expected a table")
        section = None
    store, store_from = None, "default"
    if environ.get(STORE, "").strip():
        store, store_from = environ[STORE].strip(), f"${STORE}"
    elif section and section.get("store"):
        store, store_from = str(section["store"]), f"{secrets_path} [ctxmap] store"
    auth = data.get("auth")
    if auth is not None and not isinstance(auth, dict):
        problems.append(f"{secrets_path}: [auth] is a {type(auth).__name__}; expected a table")
        auth = None
    network = environ.get(NETWORK, "").strip()
    users = environ.get(USERS_FILE, "").strip()
    settings = Settings(
        store=store,
        store_from=store_from,
        pg_schema=environ.get(PG_SCHEMA, "").strip() or None,
        tiles_url=environ[TILES_URL].strip() if TILES_URL in environ else None,
        network=Path(network) if network else None,
        mask_key=_mask_key(environ, problems),
        small_count_threshold=_whole(
            environ, SMALL_COUNT_THRESHOLD, "a whole number", problems,
            minimum=MIN_SMALL_COUNT_THRESHOLD),
        mask_cell_m=_positive(environ, MASK_CELL_M, problems, minimum=MIN_MASK_CELL_M),
        retention_days=_whole(environ, RETENTION_DAYS, "a whole number of days", problems)
        or DEFAULT_RETENTION_DAYS,
        users_file=Path(users) if users else None,
        testing=environ.get(TESTING, "") == "1",
        test_role=environ.get(TEST_ROLE, "").strip() or None,
        auth=auth,
        secrets_path=secrets_path,
        log_dir=log_dir(environ),
        busy_timeout_s=_positive(environ, BUSY_TIMEOUT, problems, "seconds", "30")
        or DEFAULT_BUSY_TIMEOUT_S,
    )
    if problems:
        raise SettingsError("; ".join(problems))
    return settings
