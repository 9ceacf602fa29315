"""Read and write contexts and their records in the store.

Every write runs in one store transaction, appends what changed (field, old, new as
JSON, who, when) to the append-only ``ctx_history`` table, and uses optimistic
concurrency: an update states the ``version`` it read, and if someone else changed the
record since, :class:`~ctxmap.errors.ConflictError` says who and when.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from ctxmap.cases.records import (
    DEFAULT_RADIUS_M,
    DELETABLE,
    ENTITIES,
    RATINGS,
    SEED_PARTNERS,
    Context,
    ContextBundle,
    field_changes,
    jsonable,
    next_context_id,
    now_utc,
)
from ctxmap.cases.validation import check_date, check_text, check_yp_ref, validate_fields
from ctxmap.errors import ConflictError, InputError, StoreError
from ctxmap.layers.schemas import STORAGE_CRS
from ctxmap.store import dbapi as dbapi
from ctxmap.store.dbapi import AnyConnection, read_sql, store_name
from ctxmap.store.protocol import Store

# --------------------------------------------------------------------------- store access


def _row_to(cls: type, row: sqlite3.Row) -> Any:
    names = {f.name for f in dataclasses.fields(cls)}
    data = {k: row[k] for k in row.keys() if k in names}  # noqa: SIM118
    if "geometry" in names:
        wkt = row["geometry_wkt"]
        data["geometry"] = shapely.from_wkt(wkt) if wkt else None
    return cls(**data)


def _to_sql(values: Mapping[str, Any]) -> dict[str, Any]:
    out = {}
    for k, v in values.items():
        if k == "geometry":
            out["geometry_wkt"] = None if v is None else shapely.to_wkt(v, rounding_precision=7)
        else:
            out[k] = v
    return out


def connect_rows(store: Store) -> AnyConnection:
    """A connection to ``store`` whose rows are read by column name."""
    con = dbapi.connect(store)
    con.row_factory = sqlite3.Row
    return con


def _log(con: AnyConnection, context_id: str | None, entity: str, entity_id: object,
         action: str, user: str, at: str, changes: Sequence[tuple[str, Any, Any]] = ()) -> None:
    user = check_text(user, "user", required=True, max_len=200)
    if not changes:
        con.execute("INSERT INTO ctx_history (context_id, entity, entity_id, action, field, "
                    "old_json, new_json, changed_by, changed_at) VALUES (?,?,?,?,?,?,?,?,?)",
                    (context_id, entity, str(entity_id), action, None, None, None, user, at))
        return
    con.executemany(
        "INSERT INTO ctx_history (context_id, entity, entity_id, action, field, old_json, "
        "new_json, changed_by, changed_at) VALUES (?,?,?,?,?,?,?,?,?)",
        [(context_id, entity, str(entity_id), action, f,
          json.dumps(jsonable(o), ensure_ascii=False),
          json.dumps(jsonable(n), ensure_ascii=False), user, at) for f, o, n in changes])


def _integrity(exc: sqlite3.IntegrityError, what: str) -> InputError:
    msg = str(exc)
    if "UNIQUE" in msg:
        return InputError(f"{what}: that record already exists ({msg})")
    if "FOREIGN KEY" in msg:
        return InputError(f"{what}: it refers to something that does not exist or is still "
                          f"referred to (link the young person / add the partner first; {msg})")
    return InputError(f"{what}: the store refused it ({msg})")


def list_partners(store: Store) -> list[str]:
    """Partner names: the case study's seeded partners first, then the rest A–Z."""
    con = dbapi.connect(store)
    try:
        rows = con.execute("SELECT name, seeded FROM ctx_partners").fetchall()
    finally:
        con.close()
    seeded = [p for p in SEED_PARTNERS if any(r[0] == p for r in rows)]
    rest = sorted(r[0] for r in rows if r[0] not in seeded)
    return seeded + rest


def add_partner(store: Store, name: str, user: str, description: str = "") -> str:
    """Add a partner to the list (kept in the history); return its name."""
    name = check_text(name, "partner name", required=True, max_len=200)
    with dbapi.transaction(store) as con:
        try:
            con.execute("INSERT INTO ctx_partners (name, description) VALUES (?, ?)",
                        (name, check_text(description, "description")))
        except sqlite3.IntegrityError as exc:
            raise _integrity(exc, f"partner {name!r}") from None
        _log(con, None, "partner", name, "create", user, now_utc(), [("name", None, name)])
    return name


def create_context(store: Store, user: str, *, name: str, kind: str, referral_date: object,
                   referral_reason: str, geometry: BaseGeometry | str | None = None,
                   place_layer: str | None = None, place_id: str | None = None,
                   radius_m: float = DEFAULT_RADIUS_M, referring_agency: str = "",
                   lead_agency: str = "", lead_worker: str = "", status: str = "referred",
                   plan_start: object = None, safety_plan: str = "",
                   young_people: Sequence[str] = (), context_id: str | None = None,
                   at: str | None = None) -> Context:
    """Refer a context of concern; return it as stored (version 1).

    ``geometry`` is the place's point or the drawn polygon in EPSG:4326 (only an
    ``online space`` may have none). ``young_people`` are pseudonymous references
    linked at once. Every field is checked (:func:`validate_fields`).
    """
    values = validate_fields("context", {
        "name": name, "kind": kind, "referral_date": referral_date,
        "referral_reason": referral_reason, "geometry": geometry, "radius_m": radius_m,
        "referring_agency": referring_agency, "lead_agency": lead_agency,
        "lead_worker": lead_worker, "status": status, "plan_start": plan_start,
        "safety_plan": safety_plan})
    if values["geometry"] is None and values["kind"] != "online space":
        raise InputError(f"a {kind} context needs a location; expected a point or an area "
                         "(only an online space may have none)")
    if (place_layer is None) != (place_id is None):
        raise InputError("place_layer and place_id go together; expected both or neither")
    refs = [check_yp_ref(r) for r in young_people]
    at = at or now_utc()
    with dbapi.transaction(store) as con:
        if context_id is None:
            context_id = next_context_id(r[0] for r in con.execute("SELECT id FROM ctx_contexts"))
        row = {"id": context_id, **_to_sql(values), "place_layer": place_layer,
               "place_id": place_id, "version": 1, "created_at": at, "created_by": user,
               "updated_at": at, "updated_by": user}
        try:
            con.execute(f"INSERT INTO ctx_contexts ({', '.join(row)}) VALUES "
                        f"({', '.join('?' * len(row))})", list(row.values()))
        except sqlite3.IntegrityError as exc:
            raise _integrity(exc, f"context {context_id}") from None
        _log(con, context_id, "context", context_id, "create", user, at,
             [(k, None, v) for k, v in {**values, "place_layer": place_layer,
                                         "place_id": place_id}.items()
              if v not in (None, "")])
        for ref in refs:
            _insert_child(con, "young_person", context_id,
                          {"yp_ref": ref, "linked_on": values["referral_date"]}, user, at)
    return get_context(store, context_id)


def get_context(store: Store, context_id: str) -> Context:
    """Read one context; :class:`InputError` if there is none with that id."""
    con = connect_rows(store)
    try:
        row = con.execute("SELECT * FROM ctx_contexts WHERE id = ?", (context_id,)).fetchone()
    finally:
        con.close()
    if row is None:
        raise InputError(f"no context {context_id!r} in {store_name(store)}; expected an id "
                         "from `python -m ctxmap contexts`")
    return _row_to(Context, row)


def list_contexts(store: Store, today: dt.date | None = None) -> pd.DataFrame:
    """List every context, newest referral first.

    Columns: ``id, name, kind, status, referral_date, lead_agency, open_actions,
    overdue_actions, version``.
    """
    today = today or dt.date.today()
    con = dbapi.connect(store)
    try:
        frame = read_sql(
            con, "SELECT c.id, c.name, c.kind, c.status, c.referral_date, c.lead_agency, "
            "(SELECT count(*) FROM ctx_actions a WHERE a.context_id = c.id AND a.status IN "
            "('not started', 'in progress')) AS open_actions, "
            "(SELECT count(*) FROM ctx_actions a WHERE a.context_id = c.id AND a.status IN "
            "('not started', 'in progress') AND a.due_date < ?) AS overdue_actions, "
            "c.version FROM ctx_contexts c ORDER BY c.referral_date DESC, c.id DESC",
            (today.isoformat(),))
    finally:
        con.close()
    return frame


def _insert_child(con: AnyConnection, entity: str, context_id: str | None,
                  values: Mapping[str, Any], user: str, at: str) -> int:
    table = ENTITIES[entity][0]
    row = {"context_id": context_id, **_to_sql(values)}
    try:
        cur = con.execute(f"INSERT INTO {table} ({', '.join(row)}) VALUES "
                          f"({', '.join('?' * len(row))})", list(row.values()))
    except sqlite3.IntegrityError as exc:
        raise _integrity(exc, f"cannot add the {entity.replace('_', ' ')}") from None
    new_id = int(cur.lastrowid or 0)
    _log(con, context_id, entity, new_id, "create", user, at,
         [(k, None, v) for k, v in values.items() if v not in (None, "")])
    if context_id is not None:
        con.execute("UPDATE ctx_contexts SET updated_at = ?, updated_by = ? WHERE id = ?",
                    (at, user, context_id))
    return new_id


def add_record(store: Store, entity: str, context_id: str | None, user: str,
               at: str | None = None, **values: Any) -> Any:
    """Add one record under a context and return it.

    ``entity`` is ``"young_person"`` (``yp_ref, linked_on``), ``"assessment"`` (``side,
    factor, text, source, source_grade, info_grade, recorded_on[, yp_ref]``),
    ``"action"`` (``partner, what[, owner, due_date, status, notes]``), ``"consent"``
    (``yp_ref, partner, category, legal_basis, given_on[, withdrawn_on]``),
    ``"safety_rating"`` (``place_label, rating, geometry, rated_on[, yp_ref, comment]``;
    ``context_id`` may be ``None`` for a pooled rating) or ``"review_note"`` (``kind, text,
    noted_on[, yp_ref]``). Fields are checked with :func:`validate_fields`. ``at`` is the
    time recorded in the history (default: now, UTC).
    """
    if entity not in ENTITIES or entity == "context":
        raise InputError(f"cannot add a {entity!r}; expected one of "
                         f"{', '.join(e for e in ENTITIES if e != 'context')}")
    if "yp_ref" in values and entity in ("young_person", "consent"):
        values["yp_ref"] = check_yp_ref(values["yp_ref"])
    partners = list_partners(store) if "partner" in values else None
    clean = validate_fields(entity, {k: v for k, v in values.items() if k != "yp_ref"},
                            partners)
    if "yp_ref" in values:
        clean["yp_ref"] = (None if values["yp_ref"] in (None, "")
                           else check_yp_ref(values["yp_ref"]))
    if entity == "safety_rating" and clean.get("geometry") is None:
        raise InputError("a safety-map rating needs a place on the map; expected a point or "
                         "an area")
    if context_id is not None:
        get_context(store, context_id)
    at = at or now_utc()
    with dbapi.transaction(store) as con:
        new_id = _insert_child(con, entity, context_id, clean, user, at)
    return get_record(store, entity, new_id)


def get_record(store: Store, entity: str, record_id: int) -> Any:
    """Read one child record (see :func:`add_record`)."""
    table, cls, _ = ENTITIES[entity]
    con = connect_rows(store)
    try:
        row = con.execute(f"SELECT * FROM {table} WHERE id = ?", (record_id,)).fetchone()
    finally:
        con.close()
    if row is None:
        raise InputError(f"no {entity.replace('_', ' ')} with id {record_id!r}")
    return _row_to(cls, row)


def _last_change(con: AnyConnection, entity: str, entity_id: object) -> tuple[str, str]:
    row = con.execute("SELECT changed_by, changed_at FROM ctx_history WHERE entity = ? AND "
                      "entity_id = ? ORDER BY id DESC LIMIT 1", (entity, str(entity_id))
                      ).fetchone()
    return (row[0], row[1]) if row else ("someone", "an unknown time")


def _conflict(entity: str, entity_id: object, read: int, now: int, by: str, at: str) -> (
    ConflictError
):
    return ConflictError(
        f"{entity.replace('_', ' ')} {entity_id} was changed by {by} at {at} after you read "
        f"it (you read version {read}, it is now version {now}); your change was not saved: "
        "reload it and apply your change again")


def update_record(store: Store, entity: str, record_id: object, expected_version: int,
                  user: str, at: str | None = None, **changes: Any) -> Any:
    """Change fields of a context (``entity="context"``) or a child record.

    Parameters
    ----------
    store
        The store.
    entity
        ``"context"`` or a child kind (see :func:`add_record`).
    record_id
        The context id or the child record's id.
    expected_version
        The ``version`` the user read. If the stored version differs, nothing is written
        and :class:`~ctxmap.errors.ConflictError` says who changed it and when.
    user
        Who makes the change (recorded in the history).
    at
        When (ISO time recorded in the history; default now, UTC).
    changes
        Fields to set (only editable fields; checked with :func:`validate_fields`).

    Returns
    -------
    The record as stored after the change (version + 1, or unchanged when no field
    actually changed).
    """
    if entity not in ENTITIES:
        raise InputError(f"unknown record kind {entity!r}; expected one of {', '.join(ENTITIES)}")
    table, cls, editable = ENTITIES[entity]
    bad = [k for k in changes if k not in editable]
    if bad:
        raise InputError(f"cannot change {bad} of a {entity.replace('_', ' ')}; expected some "
                         f"of {', '.join(editable)}")
    partners = list_partners(store) if "partner" in changes else None
    clean = validate_fields(entity, changes, partners)
    at = at or now_utc()
    with dbapi.transaction(store) as con:
        con.row_factory = sqlite3.Row
        row = con.execute(f"SELECT * FROM {table} WHERE id = ?", (record_id,)).fetchone()
        if row is None:
            raise InputError(f"no {entity.replace('_', ' ')} with id {record_id!r}")
        current = _row_to(cls, row)
        if current.version != int(expected_version):
            if entity == "context":
                by, when = row["updated_by"], row["updated_at"]
            else:
                by, when = _last_change(con, entity, record_id)
            raise _conflict(entity, record_id, int(expected_version), current.version, by, when)
        diff = field_changes(dataclasses.asdict(current) | {"geometry": getattr(
            current, "geometry", None)}, clean)
        if not diff:
            return current
        sets = _to_sql({f: n for f, _, n in diff})
        extra = ", updated_at = ?, updated_by = ?" if entity == "context" else ""
        params: list[Any] = [*sets.values(), *((at, user) if entity == "context" else ())]
        try:
            cur = con.execute(
                f"UPDATE {table} SET {', '.join(f'{k} = ?' for k in sets)}, "
                f"version = version + 1{extra} WHERE id = ? AND version = ?",
                [*params, record_id, int(expected_version)])
        except sqlite3.IntegrityError as exc:
            raise _integrity(exc, f"cannot change the {entity.replace('_', ' ')}") from None
        if cur.rowcount != 1:  # pragma: no cover - guarded by the immediate transaction
            raise StoreError(f"{entity} {record_id} changed while saving; reload and retry")
        ctx_id = record_id if entity == "context" else row["context_id"]
        _log(con, ctx_id, entity, record_id, "update", user, at, diff)
        if entity != "context" and ctx_id is not None:
            con.execute("UPDATE ctx_contexts SET updated_at = ?, updated_by = ? WHERE id = ?",
                        (at, user, ctx_id))
    if entity == "context":
        return get_context(store, str(record_id))
    return get_record(store, entity, int(record_id))  # type: ignore[arg-type]


def delete_record(store: Store, entity: str, record_id: int, expected_version: int,
                  user: str) -> None:
    """Delete a child record (assessment entry, action, rating, note, young-person link).

    The whole record is kept in the history (``old_json``). Contexts and consent records
    are never deleted (close the context; withdraw consent with ``withdrawn_on``).
    """
    if entity not in DELETABLE:
        raise InputError(f"a {entity.replace('_', ' ')} cannot be deleted; expected one of "
                         f"{', '.join(DELETABLE)} (close a context, withdraw a consent)")
    table, cls, _ = ENTITIES[entity]
    at = now_utc()
    with dbapi.transaction(store) as con:
        con.row_factory = sqlite3.Row
        row = con.execute(f"SELECT * FROM {table} WHERE id = ?", (record_id,)).fetchone()
        if row is None:
            raise InputError(f"no {entity.replace('_', ' ')} with id {record_id!r}")
        current = _row_to(cls, row)
        if current.version != int(expected_version):
            by, when = _last_change(con, entity, record_id)
            raise _conflict(entity, record_id, int(expected_version), current.version, by, when)
        try:
            con.execute(f"DELETE FROM {table} WHERE id = ?", (record_id,))
        except sqlite3.IntegrityError as exc:
            raise _integrity(exc, f"cannot delete the {entity.replace('_', ' ')}") from None
        old = {k: v for k, v in dataclasses.asdict(current).items()
               if k not in ("id", "context_id", "version")}
        if "geometry" in old:
            old["geometry"] = current.geometry
        _log(con, row["context_id"], entity, record_id, "delete", user, at,
             [(k, v, None) for k, v in old.items() if v not in (None, "")])


def load_bundle(store: Store, context_id: str) -> ContextBundle:
    """A context and every record under it (the full, unfiltered view)."""
    context = get_context(store, context_id)
    con = connect_rows(store)
    try:
        def rows(entity: str, order: str = "id") -> tuple[Any, ...]:
            table, cls, _ = ENTITIES[entity]
            cur = con.execute(f"SELECT * FROM {table} WHERE context_id = ? ORDER BY {order}",
                              (context_id,))
            return tuple(_row_to(cls, r) for r in cur.fetchall())

        return ContextBundle(
            context=context,
            young_people=rows("young_person", "yp_ref"),
            assessment=rows("assessment", "side, factor, id"),
            actions=rows("action"),
            consents=rows("consent", "yp_ref, partner, category"),
            safety_ratings=rows("safety_rating", "rated_on, id"),
            review_notes=rows("review_note", "noted_on, id"),
        )
    finally:
        con.close()


def history(store: Store, context_id: str | None = None) -> pd.DataFrame:
    """Return the append-only history, oldest first (one context's, or everything).

    Columns: ``id, context_id, entity, entity_id, action, field, old, new, changed_by,
    changed_at`` (``old``/``new`` are JSON text).
    """
    con = dbapi.connect(store)
    try:
        sql = ("SELECT id, context_id, entity, entity_id, action, field, old_json AS old, "
               "new_json AS new, changed_by, changed_at FROM ctx_history")
        if context_id is None:
            return read_sql(con, sql + " ORDER BY id")
        return read_sql(con, sql + " WHERE context_id = ? ORDER BY id", (context_id,))
    finally:
        con.close()


def safety_ratings_layer(store: Store, since: str | None = None) -> gpd.GeoDataFrame:
    """Every safety-map rating, pooled across contexts (EPSG:4326), optionally since a date.

    Columns: ``id, context_id, place_label, rating, rated_on, comment, geometry``. The
    young person's reference is left out: the pooled layer shows places, not people.
    """
    con = connect_rows(store)
    try:
        sql = "SELECT * FROM ctx_safety_ratings"
        params: tuple[Any, ...] = ()
        if since is not None:
            sql += " WHERE rated_on >= ?"
            params = (check_date(since, "since"),)
        rows = con.execute(sql + " ORDER BY rated_on, id", params).fetchall()
    finally:
        con.close()
    cols = ["id", "context_id", "place_label", "rating", "rated_on", "comment"]
    frame = pd.DataFrame([{c: r[c] for c in cols} for r in rows], columns=cols)
    geoms = [shapely.from_wkt(r["geometry_wkt"]) for r in rows]
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, crs=STORAGE_CRS),
                            crs=STORAGE_CRS)


def pool_ratings(ratings: gpd.GeoDataFrame) -> pd.DataFrame:
    """Pool ratings by place label: counts of red/amber/green and the share rated red."""
    if ratings.empty:
        return pd.DataFrame(columns=["place_label", *RATINGS, "ratings", "share_red"])
    table = pd.crosstab(ratings["place_label"].astype(str), ratings["rating"].astype(str))
    table = table.reindex(columns=list(RATINGS), fill_value=0)
    table["ratings"] = table.sum(axis=1)
    table["share_red"] = table["red"] / table["ratings"]
    return table.reset_index().rename(columns={"index": "place_label"}).sort_values(
        ["share_red", "ratings"], ascending=False).reset_index(drop=True)

