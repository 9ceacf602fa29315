"""Retention: list closed contexts kept past the retention period, and erase them.

A context closed more than ``period_days`` ago is *due*: an analyst reviews it and
either keeps it (nothing happens) or deletes it. Deletion removes the context and
every row under it (young-person links, assessment, actions, consent, safety
ratings, review notes, and its history) from the store file itself, with SQLite's
``secure_delete`` so the bytes are overwritten, in one transaction together with an
audit-log entry. Contexts are otherwise never deleted (see :mod:`ctxmap.cases.repository`):
the store's triggers allow it only for a context registered for erasure in the same
transaction (:func:`ctxmap.store.erasure.erasing`).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Final

import pandas as pd

from ctxmap import settings
from ctxmap.errors import InputError
from ctxmap.privacy.audit import record_in
from ctxmap.store.chain import erase
from ctxmap.store.erasure import erasing, reclaim_space
from ctxmap.store.protocol import Store
from ctxmap.store.record_tables import (
    RECORD_TABLES,
    RecordsTable,
    ctx_contexts,
    ctx_history,
    ctx_retention_erasing,
    ctx_young_people,
)

#: Default retention period after closure, in days (set it with ``$CTXMAP_RETENTION_DAYS``
#: to what the organisation's retention schedule says).
DEFAULT_RETENTION_DAYS: Final = settings.DEFAULT_RETENTION_DAYS


#: Tables removed last, in this order (the others refer to them).
_LAST: Final = (ctx_young_people, ctx_history, ctx_contexts)
#: Every records table with rows under a context, in the order they are erased.
ERASED_TABLES: Final[tuple[RecordsTable, ...]] = (*sorted(
    (t for t in RECORD_TABLES if "context_id" in t.c and t not in _LAST
     and t is not ctx_retention_erasing), key=lambda t: t.name), *_LAST)


def retention_days(env: Mapping[str, str] | None = None) -> int:
    """The retention period: ``$CTXMAP_RETENTION_DAYS`` or :data:`DEFAULT_RETENTION_DAYS`.

    Read through :func:`ctxmap.settings.load` (``env``: the environment to read,
    default ``os.environ``).
    """
    return settings.load(env).retention_days


def closed_contexts(store: Store) -> pd.DataFrame:
    """Every closed context with the date it was closed.

    Columns ``id, name, kind, closed_on`` (``YYYY-MM-DD``): the last change of its
    status to ``closed`` in the history, else its last update.
    """
    c, h = ctx_contexts.c, ctx_history.c
    with store.records() as con:
        closed = con.execute(ctx_contexts.select()
                             .with_only_columns(c.id, c.name, c.kind, c.updated_at)
                             .where(c.status == "closed").order_by(c.id)).all()
        closings = con.execute(ctx_history.select()
                               .with_only_columns(h.context_id, h.changed_at)
                               .where(h.entity == "context", h.field == "status",
                                      h.new_json == json.dumps("closed"))).all()
    closed_at: dict[str, str] = {}
    for context_id, at in closings:
        closed_at[context_id] = max(at, closed_at.get(context_id, at))
    frame = pd.DataFrame(closed, columns=["id", "name", "kind", "updated_at"])
    frame["closed_at"] = [closed_at.get(i) for i in frame["id"]]
    when = frame["closed_at"].where(frame["closed_at"].notna(), frame["updated_at"])
    frame["closed_on"] = when.astype("object").map(lambda v: str(v)[:10])
    return frame[["id", "name", "kind", "closed_on"]]


def due_for_review(closed: pd.DataFrame, period_days: int, today: dt.date) -> pd.DataFrame:
    """Return the closed contexts whose closure is more than ``period_days`` before ``today``.

    Parameters
    ----------
    closed
        As :func:`closed_contexts` returns (needs ``closed_on``).
    period_days
        Retention period after closure (>= 1).
    today
        The day of the review.

    Returns
    -------
    DataFrame
        The due rows (same index) plus ``days_closed``, longest closed first.
    """
    if isinstance(period_days, bool) or not isinstance(period_days, int) or period_days < 1:
        raise InputError(f"period_days must be a whole number >= 1, got {period_days!r}")
    out = closed.copy()
    dates = pd.to_datetime(out["closed_on"], format="%Y-%m-%d", errors="coerce")
    if dates.isna().any():
        bad = out.loc[dates.isna(), "closed_on"].iloc[0]
        raise InputError(f"closure date {bad!r} is not a date; expected YYYY-MM-DD")
    out["days_closed"] = (pd.Timestamp(today) - dates).dt.days.astype("int64")
    due = out[out["days_closed"] > period_days]
    return due.sort_values(["days_closed", "id"], ascending=[False, True])


def delete_context(
    store: Store,
    context_id: str,
    user: str,
    legal_basis: str,
    *,
    role: str = "analyst",
    period_days: int | None = None,
    today: dt.date | None = None,
) -> dict[str, int]:
    """Erase a closed context that is past the retention period, and everything under it.

    Parameters
    ----------
    store
        The store.
    context_id
        The context to erase.
    user, role, legal_basis
        Recorded in the audit log (in the same transaction as the deletion).
    period_days
        Retention period (default :func:`retention_days`).
    today
        The day of the deletion (default today).

    Returns
    -------
    dict
        Rows removed per table.

    Raises
    ------
    InputError
        If the context does not exist, is not closed, or is not yet past the period.
    """
    period = retention_days() if period_days is None else period_days
    day = today or dt.date.today()
    closed = closed_contexts(store)
    row = closed[closed["id"] == context_id]
    if row.empty:
        exists = context_id in set(_context_ids(store))
        state = "is not closed" if exists else "does not exist"
        raise InputError(f"context {context_id!r} {state}; expected a closed context past "
                         f"the {period}-day retention period")
    if due_for_review(row, period, day).empty:
        raise InputError(f"context {context_id!r} was closed on {row['closed_on'].iloc[0]}, "
                         f"not more than {period} days before {day.isoformat()}; keep it")
    removed: dict[str, int] = {}
    with erasing(store, context_id) as con:
        for table in ERASED_TABLES:
            column = table.c.id if table is ctx_contexts else table.c.context_id
            if table is ctx_history:  # chained: keep the ids and hashes, not the content
                removed[table.name] = erase(con, table, column == context_id, context_id)
                continue
            removed[table.name] = con.execute(table.delete().where(column == context_id)
                                              ).rowcount
        total = sum(removed.values())
        record_in(con, user, "retention delete",
                  f"context {context_id}: {total} rows erased after the {period}-day period",
                  legal_basis, role=role)
    reclaim_space(store, ERASED_TABLES)
    return removed


def _context_ids(store: Store) -> list[str]:
    with store.records() as con:
        return list(con.execute(ctx_contexts.select().with_only_columns(ctx_contexts.c.id))
                    .scalars())


__all__ = [
    "DEFAULT_RETENTION_DAYS",
    "ERASED_TABLES",
    "closed_contexts",
    "delete_context",
    "due_for_review",
    "retention_days",
]
