"""The records tables, defined once (SQLAlchemy Core) for SQLite and PostgreSQL.

Contexts of concern and everything under them (young-person links, assessment,
actions, consent, safety ratings, review notes), the partner list, the append-only
history of every change, the append-only audit log and the retention-erasure register.
Geometries are WKT in EPSG:4326; every editable row has a ``version`` for optimistic
concurrency. The CHECK lists come from :mod:`ctxmap.store.vocabularies`.

The few things the two databases spell differently are chosen per dialect here and
nowhere else: text compares bytewise on both (``COLLATE "C"`` on PostgreSQL, SQLite's
default), generated ids (``AUTOINCREMENT`` / ``IDENTITY``) and pattern checks (``GLOB``
/ regular expressions, :class:`Pattern`). The append-only triggers are per-database
DDL in :mod:`ctxmap.store.record_migrations`.

Callers read and write these tables with the ``Table`` objects' own ``select()``,
``insert()``, ``update()`` and ``delete()`` on a connection from a store's
``records()`` or ``records_transaction()``.
"""

from __future__ import annotations

from typing import Any, Final

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Connection,
    CursorResult,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Identity,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement
from sqlalchemy.types import Boolean

from ctxmap.store import vocabularies as vocab

#: A connection to the records tables (from ``store.records()``), for type hints.
RecordsConnection = Connection
#: One records table, for type hints.
RecordsTable = Table


def inserted_id(result: CursorResult[Any]) -> int:
    """The generated ``id`` of the row an ``insert()`` just wrote."""
    key = result.inserted_primary_key
    if key is None or key[0] is None:
        raise ValueError("the insert generated no id; expected an insert into a table with "
                         "a generated id")
    return int(key[0])

#: Every records table.
RECORDS: Final = MetaData()

#: Text that compares and sorts bytewise on both databases (SQLite's default).
TEXT: Final = Text().with_variant(postgresql.TEXT(collation="C"), "postgresql")
_INT: Final = BigInteger().with_variant(Integer(), "sqlite")  # GeoPackage: INTEGER
_DATE_GLOB: Final = "[12][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]"
_DATE_REGEX: Final = "^[12][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]$"


class Pattern(ColumnElement[Boolean]):
    """``column`` matches a pattern: ``GLOB`` on SQLite, a regular expression on PostgreSQL.

    ``sqlite`` and ``postgresql`` are the whole conditions, one per database (they
    must accept the same values).
    """

    inherit_cache = False
    type: Boolean = Boolean()  # type: ignore[assignment]

    def __init__(self, sqlite: str, postgresql: str) -> None:
        self.sqlite = sqlite
        self.postgresql = postgresql


@compiles(Pattern)
def _pattern_sqlite(element: Pattern, compiler: Any, **kw: Any) -> str:
    return element.sqlite


@compiles(Pattern, "postgresql")
def _pattern_postgresql(element: Pattern, compiler: Any, **kw: Any) -> str:
    return element.postgresql


def _is_date(column: str, *, optional: bool = False) -> CheckConstraint:
    sqlite = f"{column} GLOB '{_DATE_GLOB}'"
    pg = f"{column} ~ '{_DATE_REGEX}'"
    if optional:
        sqlite, pg = f"{column} IS NULL OR {sqlite}", f"{column} IS NULL OR {pg}"
    return CheckConstraint(Pattern(sqlite, pg))


def _one_of(column: str, values: tuple[str, ...], *, optional: bool = False) -> CheckConstraint:
    listed = ", ".join("'" + v.replace("'", "''") + "'" for v in values)
    condition = f"{column} IN ({listed})"
    return CheckConstraint(f"{column} IS NULL OR {condition}" if optional else condition)


def _not_blank(column: str) -> CheckConstraint:
    return CheckConstraint(f"length(trim({column})) > 0")


def _id() -> Column[int]:
    """A generated integer id (``INTEGER PRIMARY KEY AUTOINCREMENT`` / ``IDENTITY``)."""
    return Column("id", BigInteger().with_variant(Integer(), "sqlite"), Identity(),
                  primary_key=True)


def _context_id(*, nullable: bool = False) -> Column[str]:
    return Column("context_id", TEXT, ForeignKey("ctx_contexts.id", ondelete="RESTRICT"),
                  nullable=nullable)


def _version() -> Column[int]:
    return Column("version", _INT, nullable=False, server_default=text("1"))


_VERSION_CHECK: Final = "version >= 1"
_YP: Final = ("context_id", "yp_ref")
_YP_TARGET: Final = ("ctx_young_people.context_id", "ctx_young_people.yp_ref")

ctx_partners: Final = Table(
    "ctx_partners", RECORDS,
    Column("name", TEXT, primary_key=True),
    Column("description", TEXT, nullable=False, server_default=""),
    Column("seeded", _INT, nullable=False, server_default=text("0")),
    _not_blank("name"),
    CheckConstraint("seeded IN (0, 1)"),
)

ctx_contexts: Final = Table(
    "ctx_contexts", RECORDS,
    Column("id", TEXT, primary_key=True),
    Column("name", TEXT, nullable=False),
    Column("kind", TEXT, nullable=False),
    Column("geometry_wkt", TEXT),
    Column("place_layer", TEXT),
    Column("place_id", TEXT),
    Column("radius_m", Float, nullable=False, server_default=text("400")),
    Column("referral_date", TEXT, nullable=False),
    Column("referral_reason", TEXT, nullable=False),
    Column("referring_agency", TEXT, nullable=False, server_default=""),
    Column("lead_agency", TEXT, nullable=False, server_default=""),
    Column("lead_worker", TEXT, nullable=False, server_default=""),
    Column("status", TEXT, nullable=False, server_default="referred"),
    Column("plan_start", TEXT),
    Column("safety_plan", TEXT, nullable=False, server_default=""),
    _version(),
    Column("created_at", TEXT, nullable=False),
    Column("created_by", TEXT, nullable=False),
    Column("updated_at", TEXT, nullable=False),
    Column("updated_by", TEXT, nullable=False),
    CheckConstraint(Pattern("id GLOB 'ctx-[0-9]*'", "id ~ '^ctx-[0-9]'")),
    _not_blank("name"),
    _one_of("kind", vocab.CONTEXT_KINDS),
    _one_of("place_layer", vocab.PLACE_LAYERS, optional=True),
    CheckConstraint("radius_m > 0 AND radius_m <= 5000"),
    _is_date("referral_date"),
    _not_blank("referral_reason"),
    _one_of("status", vocab.CONTEXT_STATUSES),
    _is_date("plan_start", optional=True),
    CheckConstraint(_VERSION_CHECK),
    CheckConstraint("place_layer IS NULL OR place_id IS NOT NULL"),
    CheckConstraint("kind = 'online space' OR geometry_wkt IS NOT NULL"),
    Index("ctx_contexts_status", "status"),
)

ctx_young_people: Final = Table(
    "ctx_young_people", RECORDS,
    _id(),
    _context_id(),
    Column("yp_ref", TEXT, nullable=False),
    Column("linked_on", TEXT, nullable=False),
    _version(),
    CheckConstraint(Pattern(
        "yp_ref GLOB 'YP-[0-9A-Z][0-9A-Z]*' AND yp_ref NOT GLOB '*[^0-9A-Z-]*' "
        "AND length(yp_ref) BETWEEN 5 AND 15",
        "yp_ref ~ '^YP-[0-9A-Z][0-9A-Z-]*$' AND length(yp_ref) BETWEEN 5 AND 15")),
    CheckConstraint(_VERSION_CHECK),
    UniqueConstraint(*_YP),
    sqlite_autoincrement=True,
)

ctx_assessment: Final = Table(
    "ctx_assessment", RECORDS,
    _id(),
    _context_id(),
    Column("side", TEXT, nullable=False),
    Column("factor", TEXT, nullable=False),
    Column("text", TEXT, nullable=False),
    Column("source", TEXT, nullable=False),
    Column("source_grade", TEXT, nullable=False),
    Column("info_grade", TEXT, nullable=False),
    Column("yp_ref", TEXT),
    Column("recorded_on", TEXT, nullable=False),
    _version(),
    _one_of("side", vocab.ASSESSMENT_SIDES),
    _one_of("factor", vocab.FACTORS),
    _not_blank("text"),
    _not_blank("source"),
    _one_of("source_grade", vocab.SOURCE_GRADES),
    _one_of("info_grade", vocab.INFO_GRADES),
    CheckConstraint(_VERSION_CHECK),
    ForeignKeyConstraint(_YP, _YP_TARGET),
    Index("ctx_assessment_context", "context_id"),
    sqlite_autoincrement=True,
)

ctx_actions: Final = Table(
    "ctx_actions", RECORDS,
    _id(),
    _context_id(),
    Column("partner", TEXT, ForeignKey("ctx_partners.name", onupdate="CASCADE"),
           nullable=False),
    Column("what", TEXT, nullable=False),
    Column("owner", TEXT, nullable=False, server_default=""),
    Column("due_date", TEXT),
    Column("status", TEXT, nullable=False, server_default="not started"),
    Column("notes", TEXT, nullable=False, server_default=""),
    _version(),
    _not_blank("what"),
    _is_date("due_date", optional=True),
    _one_of("status", vocab.ACTION_STATUSES),
    CheckConstraint(_VERSION_CHECK),
    Index("ctx_actions_context", "context_id"),
    sqlite_autoincrement=True,
)

ctx_consent: Final = Table(
    "ctx_consent", RECORDS,
    _id(),
    _context_id(),
    Column("yp_ref", TEXT, nullable=False),
    Column("partner", TEXT, ForeignKey("ctx_partners.name", onupdate="CASCADE"),
           nullable=False),
    Column("category", TEXT, nullable=False),
    Column("legal_basis", TEXT, nullable=False),
    Column("given_on", TEXT, nullable=False),
    Column("withdrawn_on", TEXT),
    _version(),
    _one_of("category", vocab.CONSENT_CATEGORIES),
    _one_of("legal_basis", vocab.SHARING_BASES),
    _is_date("given_on"),
    CheckConstraint("withdrawn_on IS NULL OR withdrawn_on >= given_on"),
    CheckConstraint(_VERSION_CHECK),
    UniqueConstraint("context_id", "yp_ref", "partner", "category"),
    ForeignKeyConstraint(_YP, _YP_TARGET),
    Index("ctx_consent_context", "context_id"),
    sqlite_autoincrement=True,
)

ctx_safety_ratings: Final = Table(
    "ctx_safety_ratings", RECORDS,
    _id(),
    _context_id(nullable=True),
    Column("yp_ref", TEXT),
    Column("place_label", TEXT, nullable=False),
    Column("rating", TEXT, nullable=False),
    Column("geometry_wkt", TEXT, nullable=False),
    Column("rated_on", TEXT, nullable=False),
    Column("comment", TEXT, nullable=False, server_default=""),
    _version(),
    _not_blank("place_label"),
    _one_of("rating", vocab.RATINGS),
    _is_date("rated_on"),
    CheckConstraint(_VERSION_CHECK),
    CheckConstraint("yp_ref IS NULL OR context_id IS NOT NULL"),
    ForeignKeyConstraint(_YP, _YP_TARGET),
    Index("ctx_safety_ratings_context", "context_id"),
    sqlite_autoincrement=True,
)

ctx_review_notes: Final = Table(
    "ctx_review_notes", RECORDS,
    _id(),
    _context_id(),
    Column("kind", TEXT, nullable=False),
    Column("yp_ref", TEXT),
    Column("text", TEXT, nullable=False),
    Column("noted_on", TEXT, nullable=False),
    _version(),
    _one_of("kind", vocab.REVIEW_NOTE_KINDS),
    _not_blank("text"),
    _is_date("noted_on"),
    CheckConstraint(_VERSION_CHECK),
    ForeignKeyConstraint(_YP, _YP_TARGET),
    Index("ctx_review_notes_context", "context_id"),
    sqlite_autoincrement=True,
)

def _chain_columns() -> list[Column[str]]:
    """``prev_hash`` and ``row_hash`` of a hash-chained table (:mod:`ctxmap.store.chain`).

    Nullable in the table definition because a store upgraded in place adds them to
    existing rows; the chain migration then refuses rows without them.
    """
    return [Column("prev_hash", TEXT), Column("row_hash", TEXT)]


#: Append-only: triggers refuse UPDATE and DELETE (except a retention erasure).
ctx_history: Final = Table(
    "ctx_history", RECORDS,
    _id(),
    Column("context_id", TEXT),
    Column("entity", TEXT, nullable=False),
    Column("entity_id", TEXT, nullable=False),
    Column("action", TEXT, nullable=False),
    Column("field", TEXT),
    Column("old_json", TEXT),
    Column("new_json", TEXT),
    Column("changed_by", TEXT, nullable=False),
    Column("changed_at", TEXT, nullable=False),
    *_chain_columns(),
    _one_of("entity", vocab.HISTORY_ENTITIES),
    _one_of("action", vocab.HISTORY_ACTIONS),
    _not_blank("changed_by"),
    Index("ctx_history_context", "context_id", "id"),
    sqlite_autoincrement=True,
)

#: Append-only: triggers refuse UPDATE and DELETE.
ctxmap_audit: Final = Table(
    "ctxmap_audit", RECORDS,
    _id(),
    Column("at", TEXT, nullable=False),
    Column("user", TEXT, nullable=False),
    Column("role", TEXT, nullable=False),
    Column("action", TEXT, nullable=False),
    Column("what", TEXT, nullable=False),
    Column("legal_basis", TEXT, nullable=False),
    *_chain_columns(),
    _not_blank('"user"'),
    _one_of("role", vocab.AUDIT_ROLES),
    _not_blank("action"),
    _one_of("legal_basis", vocab.AUDIT_LEGAL_BASES),
    Index("ctxmap_audit_at", "at"),
    sqlite_autoincrement=True,
)

#: A context registered here (in the erasing transaction) may be deleted with its history.
ctx_retention_erasing: Final = Table(
    "ctx_retention_erasing", RECORDS,
    Column("context_id", TEXT, primary_key=True),
)

#: The head of each hash chain (:mod:`ctxmap.store.chain`): rows, last id and last hash.
ctxmap_chain: Final = Table(
    "ctxmap_chain", RECORDS,
    Column("name", TEXT, primary_key=True),
    Column("rows", _INT, nullable=False),
    Column("last_id", _INT),
    Column("last_hash", TEXT, nullable=False),
    CheckConstraint("rows >= 0"),
)

#: Chained rows erased under retention: their ids and hashes only, so the chain still links.
ctxmap_chain_erased: Final = Table(
    "ctxmap_chain_erased", RECORDS,
    Column("name", TEXT, primary_key=True),
    Column("id", _INT, primary_key=True, autoincrement=False),
    Column("erased_context", TEXT, nullable=False),
    Column("prev_hash", TEXT, nullable=False),
    Column("row_hash", TEXT, nullable=False),
)

#: The tables of each records migration (store versions 2, 3, 4 and 5).
CONTEXT_TABLES: Final = (ctx_partners, ctx_contexts, ctx_young_people, ctx_assessment,
                         ctx_actions, ctx_consent, ctx_safety_ratings, ctx_review_notes,
                         ctx_history)
AUDIT_TABLES: Final = (ctxmap_audit,)
RETENTION_TABLES: Final = (ctx_retention_erasing,)
CHAIN_TABLES: Final = (ctxmap_chain, ctxmap_chain_erased)
#: The hash-chained tables (:mod:`ctxmap.store.chain`).
CHAINED_TABLES: Final = (ctx_history, ctxmap_audit)
#: Every records table, in an order that satisfies the foreign keys.
RECORD_TABLES: Final = (*CONTEXT_TABLES, *AUDIT_TABLES, *RETENTION_TABLES, *CHAIN_TABLES)
#: Tables whose ``id`` the database generates.
GENERATED_ID_TABLES: Final = tuple(t for t in RECORD_TABLES
                                   if "id" in t.c and t.c.id.identity is not None)
