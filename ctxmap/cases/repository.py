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
from collections.abc import Mapping, Sequence
from typing import Any, Required, TypedDict, Unpack

import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from ctxmap.cases.records import (
    DEFAULT_RADIUS_M,
    DELETABLE,
    ENTITIES,
    OPEN_ACTION_STATUSES,
    SEED_PARTNERS,
    Context,
    ContextBundle,
    field_changes,
    jsonable,
    next_context_id,
    now_utc,
)
from ctxmap.cases.validation import check_text, check_yp_ref, validate_fields
from ctxmap.errors import ConflictError, InputError, StoreError
from ctxmap.store.chain import append
from ctxmap.store.engine import RecordRefusedError
from ctxmap.store.protocol import Store
from ctxmap.store.record_tables import (
    RecordsConnection,
    ctx_actions,
    ctx_contexts,
    ctx_history,
    ctx_partners,
    inserted_id,
)

# --------------------------------------------------------------------------- store access


def _row_to(cls: type, row: Mapping[Any, Any]) -> Any:
    names = {f.name for f in dataclasses.fields(cls)}
    data = {k: v for k, v in row.items() if k in names}
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


def store_name(store: Store) -> str:
    """A short name of the store for messages (file name, or URL without password)."""
    path = store.path
    return str(getattr(path, "name", path))


def _log(con: RecordsConnection, context_id: str | None, entity: str, entity_id: object,
         action: str, user: str, at: str, changes: Sequence[tuple[str, Any, Any]] = ()) -> None:
    user = check_text(user, "user", required=True, max_len=200)
    row = {"context_id": context_id, "entity": entity, "entity_id": str(entity_id),
           "action": action, "changed_by": user, "changed_at": at}
    if not changes:
        append(con, ctx_history, [{**row, "field": None, "old_json": None, "new_json": None}])
        return
    append(con, ctx_history, [
        {**row, "field": f, "old_json": json.dumps(jsonable(o), ensure_ascii=False),
         "new_json": json.dumps(jsonable(n), ensure_ascii=False)} for f, o, n in changes])


def _integrity(exc: RecordRefusedError, what: str) -> InputError:
    msg = str(exc)
    if "UNIQUE" in msg:
        return InputError(f"{what}: that record already exists ({msg})")
    if "FOREIGN KEY" in msg:
        return InputError(f"{what}: it refers to something that does not exist or is still "
                          f"referred to (link the young person / add the partner first; {msg})")
    return InputError(f"{what}: the store refused it ({msg})")


def _touch(con: RecordsConnection, context_id: str, user: str, at: str) -> None:
    con.execute(ctx_contexts.update().where(ctx_contexts.c.id == context_id)
                .values(updated_at=at, updated_by=user))


def list_partners(store: Store) -> list[str]:
    """Partner names: the case study's seeded partners first, then the rest A–Z."""
    with store.records() as con:
        names = set(con.execute(ctx_partners.select().with_only_columns(ctx_partners.c.name))
                    .scalars())
    seeded = [p for p in SEED_PARTNERS if p in names]
    return seeded + sorted(names - set(seeded))


def add_partner(store: Store, name: str, user: str, description: str = "") -> str:
    """Add a partner to the list (kept in the history); return its name."""
    name = check_text(name, "partner name", required=True, max_len=200)
    with store.records_transaction() as con:
        try:
            con.execute(ctx_partners.insert().values(
                name=name, description=check_text(description, "description")))
        except RecordRefusedError as exc:
            raise _integrity(exc, f"partner {name!r}") from None
        _log(con, None, "partner", name, "create", user, now_utc(), [("name", None, name)])
    return name


class ContextFields(TypedDict, total=False):
    """The fields :func:`create_context` takes (the first four are required)."""

    name: Required[str]
    kind: Required[str]
    referral_date: Required[object]
    referral_reason: Required[str]
    geometry: BaseGeometry | str | None
    place_layer: str | None
    place_id: str | None
    radius_m: float
    referring_agency: str
    lead_agency: str
    lead_worker: str
    status: str
    plan_start: object
    safety_plan: str
    young_people: Sequence[str]
    context_id: str | None
    at: str | None


#: What :func:`create_context` records when a field is not given.
_CONTEXT_DEFAULTS: dict[str, Any] = {
    "geometry": None, "radius_m": DEFAULT_RADIUS_M, "referring_agency": "",
    "lead_agency": "", "lead_worker": "", "status": "referred", "plan_start": None,
    "safety_plan": ""}


def create_context(store: Store, user: str, **fields: Unpack[ContextFields]) -> Context:
    """Refer a context of concern; return it as stored (version 1).

    ``fields`` are those of :class:`ContextFields`: ``name``, ``kind``,
    ``referral_date`` and ``referral_reason`` are required. ``geometry`` is the place's
    point or the drawn polygon in EPSG:4326 (only an ``online space`` may have none);
    ``place_layer``/``place_id`` name the map place it was referred from;
    ``young_people`` are pseudonymous references linked at once; ``context_id`` and
    ``at`` (the time recorded) default to the next free id and now. Every field is
    checked (:func:`validate_fields`).
    """
    given: dict[str, Any] = dict(fields)
    place_layer, place_id = given.pop("place_layer", None), given.pop("place_id", None)
    young_people = given.pop("young_people", ())
    context_id, at = given.pop("context_id", None), given.pop("at", None) or now_utc()
    values = validate_fields("context", {**_CONTEXT_DEFAULTS, **given})
    if values["geometry"] is None and values["kind"] != "online space":
        raise InputError(f"a {values['kind']} context needs a location; expected a point or "
                         "an area (only an online space may have none)")
    if (place_layer is None) != (place_id is None):
        raise InputError("place_layer and place_id go together; expected both or neither")
    refs = [check_yp_ref(r) for r in young_people]
    with store.records_transaction() as con:
        if context_id is None:
            context_id = next_context_id(
                con.execute(ctx_contexts.select().with_only_columns(ctx_contexts.c.id))
                .scalars())
        row = {"id": context_id, **_to_sql(values), "place_layer": place_layer,
               "place_id": place_id, "version": 1, "created_at": at, "created_by": user,
               "updated_at": at, "updated_by": user}
        try:
            con.execute(ctx_contexts.insert().values(**row))
        except RecordRefusedError as exc:
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
    with store.records() as con:
        row = con.execute(ctx_contexts.select().where(ctx_contexts.c.id == context_id)
                          ).mappings().first()
    if row is None:
        raise InputError(f"no context {context_id!r} in {store_name(store)}; expected an id "
                         "from `python -m ctxmap contexts`")
    return _row_to(Context, row)


def list_contexts(store: Store, today: dt.date | None = None) -> pd.DataFrame:
    """List every context, newest referral first.

    Columns: ``id, name, kind, status, referral_date, lead_agency, open_actions,
    overdue_actions, version``.
    """
    day = (today or dt.date.today()).isoformat()
    c, a = ctx_contexts.c, ctx_actions.c
    with store.records() as con:
        contexts = con.execute(ctx_contexts.select().with_only_columns(
            c.id, c.name, c.kind, c.status, c.referral_date, c.lead_agency, c.version)
            .order_by(c.referral_date.desc(), c.id.desc())).all()
        open_actions = con.execute(ctx_actions.select().with_only_columns(
            a.context_id, a.due_date).where(a.status.in_(OPEN_ACTION_STATUSES))).all()
    n_open: dict[str, int] = {}
    n_overdue: dict[str, int] = {}
    for context_id, due in open_actions:
        n_open[context_id] = n_open.get(context_id, 0) + 1
        if due is not None and due < day:
            n_overdue[context_id] = n_overdue.get(context_id, 0) + 1
    rows = [(r.id, r.name, r.kind, r.status, r.referral_date, r.lead_agency,
             n_open.get(r.id, 0), n_overdue.get(r.id, 0), r.version) for r in contexts]
    return pd.DataFrame(rows, columns=["id", "name", "kind", "status", "referral_date",
                                       "lead_agency", "open_actions", "overdue_actions",
                                       "version"])


def _insert_child(con: RecordsConnection, entity: str, context_id: str | None,
                  values: Mapping[str, Any], user: str, at: str) -> int:
    table = ENTITIES[entity][0]
    try:
        result = con.execute(table.insert().values(context_id=context_id, **_to_sql(values)))
    except RecordRefusedError as exc:
        raise _integrity(exc, f"cannot add the {entity.replace('_', ' ')}") from None
    new_id = inserted_id(result)
    _log(con, context_id, entity, new_id, "create", user, at,
         [(k, None, v) for k, v in values.items() if v not in (None, "")])
    if context_id is not None:
        _touch(con, context_id, user, at)
    return new_id


def _checked(entity: str, values: Mapping[str, Any],
             partners: Sequence[str] | None) -> dict[str, Any]:
    """One child record's fields checked (:func:`validate_fields`), or InputError."""
    if "yp_ref" in values and entity in ("young_person", "consent"):
        check_yp_ref(values["yp_ref"])
    clean = validate_fields(entity, {k: v for k, v in values.items() if k != "yp_ref"},
                            partners)
    if "yp_ref" in values:
        clean["yp_ref"] = (None if values["yp_ref"] in (None, "")
                           else check_yp_ref(values["yp_ref"]))
    if entity == "safety_rating" and clean.get("geometry") is None:
        raise InputError("a safety-map rating needs a place on the map; expected a point or "
                         "an area")
    return clean


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
    return add_records(store, entity, context_id, user, [values], at=at)[0]


def add_records(store: Store, entity: str, context_id: str | None, user: str,
                rows: Sequence[Mapping[str, Any]], *, at: str | None = None) -> list[Any]:
    """Add several records of one kind (see :func:`add_record`) all or none.

    Every row is checked before any is written, and all are written in one store
    transaction: a refused row (a CHECK, a duplicate) leaves none of them stored.
    """
    if entity not in ENTITIES or entity == "context":
        raise InputError(f"cannot add a {entity!r}; expected one of "
                         f"{', '.join(e for e in ENTITIES if e != 'context')}")
    partners = list_partners(store) if any("partner" in r for r in rows) else None
    clean = [_checked(entity, row, partners) for row in rows]
    if context_id is not None:
        get_context(store, context_id)
    at = at or now_utc()
    with store.records_transaction() as con:
        new_ids = [_insert_child(con, entity, context_id, c, user, at) for c in clean]
    return [get_record(store, entity, new_id) for new_id in new_ids]


def _read_row(con: RecordsConnection, entity: str, record_id: object) -> Mapping[Any, Any]:
    table = ENTITIES[entity][0]
    row = con.execute(table.select().where(table.c.id == record_id)).mappings().first()
    if row is None:
        raise InputError(f"no {entity.replace('_', ' ')} with id {record_id!r}")
    return row


def get_record(store: Store, entity: str, record_id: int) -> Any:
    """Read one child record (see :func:`add_record`)."""
    with store.records() as con:
        row = _read_row(con, entity, record_id)
    return _row_to(ENTITIES[entity][1], row)


def _last_change(con: RecordsConnection, entity: str, entity_id: object) -> tuple[str, str]:
    h = ctx_history.c
    row = con.execute(ctx_history.select().with_only_columns(h.changed_by, h.changed_at)
                      .where(h.entity == entity, h.entity_id == str(entity_id))
                      .order_by(h.id.desc()).limit(1)).first()
    return (row[0], row[1]) if row else ("someone", "an unknown time")


def _conflict(entity: str, entity_id: object, read: int, now: int, by: str,
              at: str) -> ConflictError:
    return ConflictError(
        f"{entity.replace('_', ' ')} {entity_id} was changed by {by} at {at} after you read "
        f"it (you read version {read}, it is now version {now}); your change was not saved: "
        "reload it and apply your change again")


def _check_version(con: RecordsConnection, entity: str, record_id: object,
                   row: Mapping[Any, Any], expected: int) -> Any:
    """The record in ``row`` if it is still at version ``expected``, else ConflictError."""
    current = _row_to(ENTITIES[entity][1], row)
    if current.version != expected:
        if entity == "context":
            by, when = row["updated_by"], row["updated_at"]
        else:
            by, when = _last_change(con, entity, record_id)
        raise _conflict(entity, record_id, expected, current.version, by, when)
    return current


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
    table, _, editable = ENTITIES[entity]
    bad = [k for k in changes if k not in editable]
    if bad:
        raise InputError(f"cannot change {bad} of a {entity.replace('_', ' ')}; expected some "
                         f"of {', '.join(editable)}")
    partners = list_partners(store) if "partner" in changes else None
    clean = validate_fields(entity, changes, partners)
    at = at or now_utc()
    expected = int(expected_version)
    with store.records_transaction() as con:
        row = _read_row(con, entity, record_id)
        current = _check_version(con, entity, record_id, row, expected)
        diff = field_changes(dataclasses.asdict(current) | {"geometry": getattr(
            current, "geometry", None)}, clean)
        if not diff:
            return current
        sets = _to_sql({f: n for f, _, n in diff})
        if entity == "context":
            sets |= {"updated_at": at, "updated_by": user}
        try:
            result = con.execute(
                table.update().where(table.c.id == record_id, table.c.version == expected)
                .values(**sets, version=table.c.version + 1))
        except RecordRefusedError as exc:
            raise _integrity(exc, f"cannot change the {entity.replace('_', ' ')}") from None
        if result.rowcount != 1:  # pragma: no cover - guarded by the immediate transaction
            raise StoreError(f"{entity} {record_id} changed while saving; reload and retry")
        ctx_id = str(record_id) if entity == "context" else row["context_id"]
        _log(con, ctx_id, entity, record_id, "update", user, at, diff)
        if entity != "context" and ctx_id is not None:
            _touch(con, ctx_id, user, at)
    if entity == "context":
        return get_context(store, str(record_id))
    return get_record(store, entity, int(record_id))  # type: ignore[call-overload]


def delete_record(store: Store, entity: str, record_id: int, expected_version: int,
                  user: str) -> None:
    """Delete a child record (assessment entry, action, rating, note, young-person link).

    The whole record is kept in the history (``old_json``). Contexts and consent records
    are never deleted (close the context; withdraw consent with ``withdrawn_on``).
    """
    if entity not in DELETABLE:
        raise InputError(f"a {entity.replace('_', ' ')} cannot be deleted; expected one of "
                         f"{', '.join(DELETABLE)} (close a context, withdraw a consent)")
    table = ENTITIES[entity][0]
    at = now_utc()
    with store.records_transaction() as con:
        row = _read_row(con, entity, record_id)
        current = _check_version(con, entity, record_id, row, int(expected_version))
        try:
            con.execute(table.delete().where(table.c.id == record_id))
        except RecordRefusedError as exc:
            raise _integrity(exc, f"cannot delete the {entity.replace('_', ' ')}") from None
        old = {k: v for k, v in dataclasses.asdict(current).items()
               if k not in ("id", "context_id", "version")}
        if "geometry" in old:
            old["geometry"] = current.geometry
        _log(con, row["context_id"], entity, record_id, "delete", user, at,
             [(k, v, None) for k, v in old.items() if v not in (None, "")])


#: The records under a context: entity -> (field of the bundle, order of the rows).
_BUNDLE_ORDER: dict[str, tuple[str, tuple[str, ...]]] = {
    "young_person": ("young_people", ("yp_ref",)),
    "assessment": ("assessment", ("side", "factor", "id")),
    "action": ("actions", ("id",)),
    "consent": ("consents", ("yp_ref", "partner", "category")),
    "safety_rating": ("safety_ratings", ("rated_on", "id")),
    "review_note": ("review_notes", ("noted_on", "id"))}


def load_bundle(store: Store, context_id: str) -> ContextBundle:
    """A context and every record under it (the full, unfiltered view)."""
    context = get_context(store, context_id)
    records: dict[str, Any] = {}
    with store.records() as con:
        for entity, (field, order) in _BUNDLE_ORDER.items():
            table, cls, _ = ENTITIES[entity]
            rows = con.execute(table.select().where(table.c.context_id == context_id)
                               .order_by(*(table.c[o] for o in order))).mappings()
            records[field] = tuple(_row_to(cls, r) for r in rows)
    return ContextBundle(context=context, **records)


def history(store: Store, context_id: str | None = None) -> pd.DataFrame:
    """Return the append-only history, oldest first (one context's, or everything).

    Columns: ``id, context_id, entity, entity_id, action, field, old, new, changed_by,
    changed_at`` (``old``/``new`` are JSON text).
    """
    h = ctx_history.c
    query = ctx_history.select().with_only_columns(
        h.id, h.context_id, h.entity, h.entity_id, h.action, h.field,
        h.old_json.label("old"), h.new_json.label("new"), h.changed_by, h.changed_at,
    ).order_by(h.id)
    if context_id is not None:
        query = query.where(h.context_id == context_id)
    with store.records() as con:
        result = con.execute(query)
        return pd.DataFrame(result.all(), columns=list(result.keys()))
