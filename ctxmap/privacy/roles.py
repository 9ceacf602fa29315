"""Roles, users and local passwords: who may open which page (no streamlit here).

Three roles (see ``docs/roles-and-audit.md``):

``analyst``
    Everything, including unmasked layers, the audit log and retention.
``coordinator``
    Places, homes, nearest resources, and the contexts/plans they lead.
``meeting viewer``
    Masked views only: the meeting view of the map, never a home as a point.

Sign-in is Streamlit's OpenID Connect login when ``.streamlit/secrets.toml`` has an
``[auth]`` section (roles then come from the users file, keyed by e-mail; anyone
not listed is a meeting viewer). For a single machine, a users file (default
``data/users.toml``, or ``$CTXMAP_USERS_FILE``) holds usernames, roles and scrypt
password hashes with a per-user salt. With neither configured, ctxmap runs as a
local analyst (a fresh clone needs no set-up).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import hmac
import json
import os
import re
import secrets
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

from ctxmap import settings
from ctxmap.errors import InputError
from ctxmap.store.geopackage import REPO_ROOT

Role = Literal["analyst", "coordinator", "meeting viewer"]

ANALYST: Final = "analyst"
COORDINATOR: Final = "coordinator"
MEETING_VIEWER: Final = "meeting viewer"
#: Every role, most privileged first.
ROLES: Final[tuple[str, ...]] = (ANALYST, COORDINATOR, MEETING_VIEWER)

#: Users file used when ``$CTXMAP_USERS_FILE`` is not set (never commit real users).
DEFAULT_USERS_FILE: Final = REPO_ROOT / "data" / "users.toml"
#: Testing only: with ``CTXMAP_TESTING=1`` *and* no sign-in configured, the local user
#: gets the role in ``CTXMAP_TEST_ROLE`` instead of analyst. It can only lower rights
#: (an unconfigured installation already runs as analyst).

#: scrypt cost parameters of new hashes (n=2**17, r=8, p=1, OWASP's minimum: 128 MiB
#: and about half a second per check). Each hash stores its own parameters, so older
#: hashes (n=2**14) still verify.
SCRYPT_N: Final = 2**17
SCRYPT_R: Final = 8
SCRYPT_P: Final = 1
#: Most memory a stored hash's parameters may ask for (a larger one never verifies).
SCRYPT_MAX_MEMORY: Final = 512 * 2**20
_USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}$")
MIN_PASSWORD_LENGTH: Final = 10


@dataclass(frozen=True)
class User:
    """The person using the app.

    Parameters
    ----------
    name
        Username or e-mail (recorded in the audit log).
    role
        One of :data:`ROLES`.
    method
        How they signed in: ``"oidc"``, ``"password"``, ``"local"`` (no sign-in
        configured) or ``"test"``.
    """

    name: str
    role: str
    method: str = "local"

    def __post_init__(self) -> None:
        object.__setattr__(self, "role", check_role(self.role))


@dataclass(frozen=True)
class PageRule:
    """Which roles may open a page, and whether it shows unmasked data."""

    path: str
    title: str
    roles: tuple[str, ...]
    unmasked: bool = True


def check_role(role: object) -> str:
    """Return the canonical name of ``role`` if it is a known role, else raise InputError.

    Every spelling of a role is accepted wherever roles are parsed (the users file,
    ``users add --role``, ``$CTXMAP_TEST_ROLE``): case, and ``_``, ``-`` or spaces
    between words, do not matter, so ``meeting_viewer``, ``Meeting-Viewer`` and
    ``meeting viewer`` are all :data:`MEETING_VIEWER`.
    """
    key = " ".join(re.split(r"[\s_-]+", role.strip().lower())) if isinstance(role, str) else None
    if key not in ROLES:
        spellings = ", ".join(f"{r} (or {r.replace(' ', '_')})" if " " in r else r
                              for r in ROLES)
        raise InputError(f"unknown role {role!r}; expected one of: {spellings}")
    return key


def valid_username(name: object) -> bool:
    """Whether ``name`` is a usable username (see :func:`check_username`)."""
    return isinstance(name, str) and bool(_USERNAME.match(name))


def check_username(name: object) -> str:
    """Return ``name`` if it is a usable username (letters, digits, ``._@+-``)."""
    text = str(name) if isinstance(name, str) else ""
    if not _USERNAME.match(text):
        raise InputError(
            f"username {name!r} is not usable; expected 1 to 64 letters, digits or . _ @ + - "
            "(starting with a letter or digit)"
        )
    return text


#: Every page the app knows, with the roles that may open it. The app registers only
#: the pages whose files exist and that the current role may open.
PAGE_RULES: Final[tuple[PageRule, ...]] = (
    PageRule("pages/map.py", "Map", (ANALYST, COORDINATOR, MEETING_VIEWER), unmasked=False),
    PageRule("pages/contexts.py", "Contexts of concern", (ANALYST, COORDINATOR)),
    PageRule("pages/concern.py", "Locations of concern", (ANALYST,)),
    PageRule("pages/nearby.py", "Nearby safe places", (ANALYST, COORDINATOR)),
    PageRule("pages/import_layers.py", "Import & layers", (ANALYST, COORDINATOR)),
    PageRule("pages/audit.py", "Audit & retention", (ANALYST,)),
)


def page_rule(path: str, rules: Iterable[PageRule] = PAGE_RULES) -> PageRule:
    """Return the rule of a page; an unknown page is for analysts only."""
    for rule in rules:
        if rule.path == path:
            return rule
    stem = Path(path).stem.replace("_", " ").capitalize()
    return PageRule(path, stem, (ANALYST,))


def allowed_pages(
    role: str, existing: Iterable[str], rules: Iterable[PageRule] = PAGE_RULES
) -> list[PageRule]:
    """Return the rules of the pages ``role`` may open among the ``existing`` page files.

    Known pages come in :data:`PAGE_RULES` order, then any other existing page (for
    analysts only), sorted by path.
    """
    check_role(role)
    rules = tuple(rules)
    present = set(existing)
    known = [r for r in rules if r.path in present]
    others = [page_rule(p, rules) for p in sorted(present - {r.path for r in rules})]
    return [r for r in [*known, *others] if role in r.roles]


def may_see_unmasked(role: str) -> bool:
    """Tell whether ``role`` may see unmasked layers (homes as points)."""
    return check_role(role) in (ANALYST, COORDINATOR)


# --------------------------------------------------------------------------- passwords


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int, dklen: int) -> bytes:
    """Run scrypt with ``maxmem`` set from the parameters (OpenSSL's default is 32 MiB).

    Raises ``ValueError`` when the parameters ask for more than :data:`SCRYPT_MAX_MEMORY`.
    """
    needed = 128 * r * (n + p + 2)
    if needed > SCRYPT_MAX_MEMORY:
        raise ValueError(f"scrypt parameters need {needed} bytes")
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=dklen,
                          maxmem=needed + 2**20)


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """Return an scrypt hash string ``scrypt$n$r$p$salt_hex$hash_hex`` of ``password``.

    The parameters (:data:`SCRYPT_N`, :data:`SCRYPT_R`, :data:`SCRYPT_P`) are stored
    with the hash. A fresh 16-byte random salt is drawn unless ``salt`` is given
    (tests only).
    """
    if not isinstance(password, str) or not password:
        raise InputError("expected a non-empty password")
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = _scrypt(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P, 32)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    """Tell whether ``password`` matches a hash from :func:`hash_password` (constant time).

    The hash's own parameters are used, so hashes made with older, cheaper parameters
    still verify.
    """
    try:
        scheme, n, r, p, salt_hex, hash_hex = str(stored).split("$")
        if scheme != "scrypt":
            return False
        expected = bytes.fromhex(hash_hex)
        digest = _scrypt(str(password), bytes.fromhex(salt_hex), int(n), int(r), int(p),
                         len(expected))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(digest, expected)


@functools.cache
def _decoy_hash() -> str:
    """A hash no password matches, checked for unknown names (made once per process)."""
    return hash_password(secrets.token_urlsafe(24))


def check_password_strength(password: str) -> str:
    """Return ``password`` if it is at least :data:`MIN_PASSWORD_LENGTH` characters long."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InputError(
            f"the password has {len(password)} characters; expected at least "
            f"{MIN_PASSWORD_LENGTH}"
        )
    return password


# --------------------------------------------------------------------------- users file


def users_file_path(env: Mapping[str, str] | None = None) -> Path:
    """The users file: ``$CTXMAP_USERS_FILE`` or ``data/users.toml``."""
    return settings.load(env).users_file or DEFAULT_USERS_FILE


def sign_in_users(env: Mapping[str, str] | None = None) -> dict[str, UserRecord]:
    """The users who may sign in; ``{}`` only when no users file is configured at all.

    Fails closed: when ``$CTXMAP_USERS_FILE`` is set, or the default users file exists,
    the file must exist and hold at least one user. Otherwise an :class:`InputError`
    says so, and the app stops instead of letting everyone in as a local analyst.
    """
    explicit = settings.load(env).users_file
    path = users_file_path(env)
    if explicit is None and not path.exists():
        return {}
    if not path.exists():
        raise InputError(f"the users file {path.name} (${settings.USERS_FILE}) does not exist; "
                         "expected a users file: add a user with python -m ctxmap users "
                         "add NAME --role ROLE, or unset the variable to run without sign-in")
    users = read_users(path)
    if not users:
        raise InputError(f"the users file {path.name} has no users, so nobody could sign "
                         "in; expected at least one: python -m ctxmap users add NAME "
                         "--role ROLE (or delete the file to run without sign-in)")
    return users


@dataclass(frozen=True)
class UserRecord:
    """One entry of the users file (a password hash may be empty for OIDC users)."""

    name: str
    role: str
    password_hash: str = ""


def read_users(path: str | os.PathLike[str]) -> dict[str, UserRecord]:
    """Read a users file (TOML ``[users."name"]`` tables with ``role`` and ``password``).

    A missing file gives no users. A malformed file or entry is an :class:`InputError`.
    """
    p = Path(path)
    if not p.exists():
        return {}
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{p} is not a readable users file ({exc}); expected TOML") from None
    table = data.get("users", {})
    if not isinstance(table, dict):
        raise InputError(f"{p}: 'users' must be a table of users")
    out: dict[str, UserRecord] = {}
    for name, entry in table.items():
        if not isinstance(entry, dict):
            raise InputError(f"{p}: user {name!r} must be a table with role and password")
        out[check_username(name)] = UserRecord(
            name, check_role(entry.get("role")), str(entry.get("password", ""))
        )
    return out


def _toml_str(text: str) -> str:
    # JSON strings with ensure_ascii are valid TOML basic strings.
    return json.dumps(text, ensure_ascii=True)


def users_toml(users: Mapping[str, UserRecord]) -> str:
    """Return the TOML text of a users file."""
    lines = [
        "# ctxmap users: roles and scrypt password hashes. Keep this file private;",
        "# never commit it. Edit with: python -m ctxmap users add NAME --role ROLE",
        "",
    ]
    for name in sorted(users):
        rec = users[name]
        lines += [
            f"[users.{_toml_str(check_username(name))}]",
            f"role = {_toml_str(check_role(rec.role))}",
            f"password = {_toml_str(rec.password_hash)}",
            "",
        ]
    return "\n".join(lines)


def write_users(path: str | os.PathLike[str], users: Mapping[str, UserRecord]) -> Path:
    """Write a users file (owner-only permissions where the system allows)."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(p.name + ".tmp")
    tmp.write_text(users_toml(users), encoding="utf-8")
    with contextlib.suppress(OSError):  # e.g. some network file systems
        os.chmod(tmp, 0o600)
    os.replace(tmp, p)
    return p


def add_user(
    users: Mapping[str, UserRecord], name: str, role: str, password: str | None
) -> dict[str, UserRecord]:
    """Return ``users`` with ``name`` added or replaced (password hashed; None: OIDC user)."""
    check_username(name)
    role = check_role(role)
    hashed = hash_password(check_password_strength(password)) if password is not None else ""
    out = dict(users)
    out[name] = UserRecord(name, role, hashed)
    return out


def authenticate(users: Mapping[str, UserRecord], name: str, password: str) -> User | None:
    """Return the signed-in :class:`User` if ``name``/``password`` match, else None.

    Unknown names still cost one scrypt run, so timing does not tell which names exist.
    """
    rec = users.get(name)
    if rec is None or not rec.password_hash:
        verify_password(password, _decoy_hash())
        return None
    if not verify_password(password, rec.password_hash):
        return None
    return User(rec.name, rec.role, "password")


def role_for_identity(users: Mapping[str, UserRecord], email: str | None) -> str:
    """The role of an OIDC-signed-in user: from the users file by e-mail, else meeting viewer."""
    if email:
        rec = users.get(email) or users.get(email.lower())
        if rec is not None:
            return rec.role
    return MEETING_VIEWER


def testing_role_from_env(env: Mapping[str, str] | None = None) -> str | None:
    """The testing role (``$CTXMAP_TEST_ROLE``), or None unless ``$CTXMAP_TESTING`` is 1."""
    configured = settings.load(env)
    if not configured.testing:
        return None
    return check_role(configured.test_role) if configured.test_role else None
