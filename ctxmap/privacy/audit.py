"""The append-only audit log: who viewed unmasked data or exported what, when and why.

Each entry records the user, their role, when (UTC), the action, what was viewed or
exported (a short description, never personal data), and the legal basis chosen
(:data:`LEGAL_BASES`). The table ``ctxmap_audit`` lives in the store; triggers abort
any UPDATE or DELETE, so entries can only be added, and each entry is hash-chained to
the one before it (:mod:`ctxmap.store.chain`), so a rewrite is found by
``python -m ctxmap audit verify``. See ``docs/roles-and-audit.md``.
"""

from __future__ import annotations

import datetime as dt
from typing import Final

import pandas as pd

from ctxmap.errors import InputError
from ctxmap.store.chain import ChainCheck, append, verify_chains
from ctxmap.store.protocol import Store
from ctxmap.store.record_tables import RecordsConnection, ctxmap_audit
from ctxmap.store.vocabularies import AUDIT_LEGAL_BASES
from ctxmap.text import to_safe_csv

#: Lawful bases a user may choose (UK GDPR Art. 6(1), the ones safeguarding uses).
LEGAL_BASES: Final[tuple[str, ...]] = AUDIT_LEGAL_BASES
#: Actions written to the log.
ACTIONS: Final[tuple[str, ...]] = (
    "view unmasked",
    "view unmapped",
    "export",
    "export masked",
    "read audit log",
    "export audit log",
    "retention delete",
    "sign in",
)
_MAX_WHAT: Final = 500
#: The columns :func:`read_log` returns (the chain's hashes are checked, not shown).
LOG_COLUMNS: Final = ("id", "at", "user", "role", "action", "what", "legal_basis")



def describe(
    where: str,
    what: str,
    *,
    context: str | None = None,
    partner: str | None = None,
    filters: str | None = None,
    rows: int | None = None,
) -> str:
    """The ``what`` of an entry: where (page or command), what, context, partner, filters, rows.

    For example ``"Contexts of concern page: meeting pack (HTML); context ctx-0001; for
    partner Local police (consent-filtered, home masked); 1 rows"``. Cut to 500 characters
    (the end is marked ``...``). Never put personal data in any part.
    """
    parts = [f"{where}: {what}"]
    if context:
        parts.append(f"context {context}")
    if partner:
        parts.append(f"for partner {partner}")
    if filters:
        parts.append(f"filters {filters}")
    if rows is not None:
        parts.append(f"{rows} rows")
    text = "; ".join(parts)
    return text if len(text) <= _MAX_WHAT else text[:_MAX_WHAT - 3] + "..."


def check_legal_basis(value: object) -> str:
    """Return ``value`` if it is one of :data:`LEGAL_BASES`, else raise InputError."""
    if value not in LEGAL_BASES:
        raise InputError(
            f"legal basis {value!r} is not one of: {', '.join(LEGAL_BASES)}"
        )
    return str(value)


def _check_entry(user: str, action: str, what: str, legal_basis: str, role: str) -> None:
    """Refuse a bad audit entry (see :func:`record`): say which field and why."""
    from ctxmap.privacy.roles import check_role

    if not str(user).strip():
        raise InputError("audit record: expected the user's name, got an empty string")
    if not str(action).strip():
        raise InputError("audit record: expected an action, got an empty string")
    if len(str(what)) > _MAX_WHAT:
        raise InputError(
            f"audit record: 'what' has {len(str(what))} characters; expected at most {_MAX_WHAT}"
        )
    check_legal_basis(legal_basis)
    check_role(role)


def record(
    store: Store,
    user: str,
    action: str,
    what: str,
    legal_basis: str,
    *,
    role: str = "analyst",
    at: dt.datetime | None = None,
) -> int:
    """Append one entry to the audit log and return its id.

    Parameters
    ----------
    store
        The store holding the log (its migrations created the table at open).
    user
        Who (username or e-mail).
    action
        What they did, e.g. ``"export"`` or ``"view unmasked"`` (see :data:`ACTIONS`;
        other short verbs are accepted).
    what
        What was viewed or exported, e.g. ``"map page: homes as points"``; at most
        500 characters. Never put personal data here.
    legal_basis
        One of :data:`LEGAL_BASES`.
    role
        The user's role.
    at
        When (default now, UTC).

    Raises
    ------
    InputError
        On an empty user or action, an unknown legal basis or role, or a too-long
        ``what``.
    """
    with store.records_transaction() as con:
        return record_in(con, user, action, what, legal_basis, role=role, at=at)


def record_in(
    con: RecordsConnection,
    user: str,
    action: str,
    what: str,
    legal_basis: str,
    *,
    role: str = "analyst",
    at: dt.datetime | None = None,
) -> int:
    """Append one entry inside an open transaction (the table must exist).

    For writes that must be logged atomically with the entry (e.g. a retention
    deletion); arguments as :func:`record`, checked the same way.
    """
    _check_entry(user, action, what, legal_basis, role)
    when = (at or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).isoformat(timespec="seconds")
    return append(con, ctxmap_audit, [{
        "at": when, "user": str(user), "role": role, "action": str(action),
        "what": str(what), "legal_basis": legal_basis}])[0]


def read_log(
    store: Store,
    *,
    user: str | None = None,
    action: str | None = None,
    since: str | None = None,
) -> pd.DataFrame:
    """Return the audit log, newest first, optionally filtered.

    Columns: ``id, at, user, role, action, what, legal_basis``. ``since`` is an ISO
    date or date-time (entries at or after it).
    """
    log = ctxmap_audit.c
    query = ctxmap_audit.select().with_only_columns(*(log[c] for c in LOG_COLUMNS)).order_by(
        log.id.desc())
    if user:
        query = query.where(log.user == user)
    if action:
        query = query.where(log.action == action)
    if since:
        query = query.where(log.at >= since)
    with store.records() as con:
        result = con.execute(query)
        return pd.DataFrame(result.all(), columns=list(result.keys()))


def verify(store: Store) -> tuple[bool, str, list[ChainCheck]]:
    """Check the hash chains of the audit log and the history of ``store``.

    Returns ``(intact, message, checks)``: ``message`` is ``"chain intact: N rows"``
    (N counting audit entries and history rows, erased ones included), or names the first
    broken row and why.
    """
    checks = verify_chains(store)
    for check in checks:
        if not check.intact:
            return False, f"chain broken: {check.problem}", checks
    total = sum(c.rows + c.erased for c in checks)
    return True, f"chain intact: {total} rows", checks


def chain_details(checks: list[ChainCheck]) -> list[str]:
    """One line per chain: its rows, erased rows and the hash it ends with (to keep elsewhere)."""
    lines = []
    for c in checks:
        erased = f", {c.erased} erased under retention" if c.erased else ""
        lines.append(f"{c.table}: {c.rows} rows{erased}; head {c.head}")
    return lines


def log_csv(log: pd.DataFrame) -> str:
    """Return the log as CSV text, formulas neutralised (:func:`ctxmap.text.to_safe_csv`).

    A cell starting with ``= + - @``, a tab or a carriage return gets a leading ``'``,
    so a spreadsheet never runs it as a formula (CSV injection).
    """
    return str(to_safe_csv(log))


__all__ = [
    "ACTIONS",
    "LEGAL_BASES",
    "chain_details",
    "check_legal_basis",
    "describe",
    "log_csv",
    "read_log",
    "record",
    "record_in",
    "verify",
]

