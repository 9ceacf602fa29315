"""SQL migrations of the store after the base layers (see :mod:`ctxmap.store.geopackage`).

Each entry is ``(name, script)``; the store runs the scripts it has not run yet, in
order, inside one transaction. Append new entries at the end; never edit one that has
been released, because existing stores have already run it.
"""

from __future__ import annotations

from typing import Final

MIGRATION_SQL: Final[list[tuple[str, str]]] = []

# --------------------------------------------------------------------------- contexts (v2)
# Contexts of concern and everything under them (see ctxmap.cases.contexts). Geometries are
# WKT in EPSG:4326. Every editable row has a ``version`` for optimistic concurrency.
# ``ctx_history`` is append-only: triggers abort any UPDATE or DELETE of it.
_CONTEXTS_V1: Final = """
CREATE TABLE ctx_partners (
    name TEXT PRIMARY KEY CHECK (length(trim(name)) > 0),
    description TEXT NOT NULL DEFAULT '',
    seeded INTEGER NOT NULL DEFAULT 0 CHECK (seeded IN (0, 1)));
CREATE TABLE ctx_contexts (
    id TEXT PRIMARY KEY CHECK (id GLOB 'ctx-[0-9]*'),
    name TEXT NOT NULL CHECK (length(trim(name)) > 0),
    kind TEXT NOT NULL CHECK (kind IN ('home', 'park', 'school', 'transport hub', 'street',
        'business', 'online space', 'other')),
    geometry_wkt TEXT,
    place_layer TEXT CHECK (place_layer IS NULL OR place_layer IN
        ('homes', 'youth_centres', 'safe_places')),
    place_id TEXT,
    radius_m REAL NOT NULL DEFAULT 400 CHECK (radius_m > 0 AND radius_m <= 5000),
    referral_date TEXT NOT NULL CHECK (referral_date GLOB
        '[12][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]'),
    referral_reason TEXT NOT NULL CHECK (length(trim(referral_reason)) > 0),
    referring_agency TEXT NOT NULL DEFAULT '',
    lead_agency TEXT NOT NULL DEFAULT '',
    lead_worker TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT 'referred' CHECK (status IN ('referred', 'assessing',
        'planning', 'active plan', 'review', 'closed')),
    plan_start TEXT CHECK (plan_start IS NULL OR plan_start GLOB
        '[12][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]'),
    safety_plan TEXT NOT NULL DEFAULT '',
    version INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1),
    created_at TEXT NOT NULL, created_by TEXT NOT NULL,
    updated_at TEXT NOT NULL, updated_by TEXT NOT NULL,
    CHECK (place_layer IS NULL OR place_id IS NOT NULL),
    CHECK (kind = 'online space' OR geometry_wkt IS NOT NULL));
CREATE INDEX ctx_contexts_status ON ctx_contexts (status);
CREATE TABLE ctx_young_people (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    context_id TEXT NOT NULL REFERENCES ctx_contexts(id) ON DELETE RESTRICT,
    yp_ref TEXT NOT NULL CHECK (yp_ref GLOB 'YP-[0-9A-Z][0-9A-Z]*'
        AND yp_ref NOT GLOB '*[^0-9A-Z-]*' AND length(yp_ref) BETWEEN 5 AND 15),
    linked_on TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1),
    UNIQUE (context_id, yp_ref));
CREATE TABLE ctx_assessment (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    context_id TEXT NOT NULL REFERENCES ctx_contexts(id) ON DELETE RESTRICT,
    side TEXT NOT NULL CHECK (side IN ('young_people', 'guardianship', 'place')),
    factor TEXT NOT NULL CHECK (factor IN ('risk', 'vulnerability', 'protective')),
    text TEXT NOT NULL CHECK (length(trim(text)) > 0),
    source TEXT NOT NULL CHECK (length(trim(source)) > 0),
    source_grade TEXT NOT NULL CHECK (source_grade IN ('A', 'B', 'C', 'D', 'E')),
    info_grade TEXT NOT NULL CHECK (info_grade IN ('1', '2', '3', '4', '5')),
    yp_ref TEXT,
    recorded_on TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1),
    FOREIGN KEY (context_id, yp_ref) REFERENCES ctx_young_people(context_id, yp_ref));
CREATE INDEX ctx_assessment_context ON ctx_assessment (context_id);
CREATE TABLE ctx_actions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    context_id TEXT NOT NULL REFERENCES ctx_contexts(id) ON DELETE RESTRICT,
    partner TEXT NOT NULL REFERENCES ctx_partners(name) ON UPDATE CASCADE,
    what TEXT NOT NULL CHECK (length(trim(what)) > 0),
    owner TEXT NOT NULL DEFAULT '',
    due_date TEXT CHECK (due_date IS NULL OR due_date GLOB
        '[12][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]'),
    status TEXT NOT NULL DEFAULT 'not started' CHECK (status IN ('not started',
        'in progress', 'done', 'cancelled')),
    notes TEXT NOT NULL DEFAULT '',
    version INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1));
CREATE INDEX ctx_actions_context ON ctx_actions (context_id);
CREATE TABLE ctx_consent (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    context_id TEXT NOT NULL REFERENCES ctx_contexts(id) ON DELETE RESTRICT,
    yp_ref TEXT NOT NULL,
    partner TEXT NOT NULL REFERENCES ctx_partners(name) ON UPDATE CASCADE,
    category TEXT NOT NULL CHECK (category IN ('link', 'assessment', 'safety plan',
        'safety map', 'views')),
    legal_basis TEXT NOT NULL CHECK (legal_basis IN ('consent', 'legal obligation',
        'vital interests', 'public task')),
    given_on TEXT NOT NULL CHECK (given_on GLOB '[12][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]'),
    withdrawn_on TEXT CHECK (withdrawn_on IS NULL OR withdrawn_on >= given_on),
    version INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1),
    UNIQUE (context_id, yp_ref, partner, category),
    FOREIGN KEY (context_id, yp_ref) REFERENCES ctx_young_people(context_id, yp_ref));
CREATE INDEX ctx_consent_context ON ctx_consent (context_id);
CREATE TABLE ctx_safety_ratings (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    context_id TEXT REFERENCES ctx_contexts(id) ON DELETE RESTRICT,
    yp_ref TEXT,
    place_label TEXT NOT NULL CHECK (length(trim(place_label)) > 0),
    rating TEXT NOT NULL CHECK (rating IN ('red', 'amber', 'green')),
    geometry_wkt TEXT NOT NULL,
    rated_on TEXT NOT NULL CHECK (rated_on GLOB '[12][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]'),
    comment TEXT NOT NULL DEFAULT '',
    version INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1),
    CHECK (yp_ref IS NULL OR context_id IS NOT NULL),
    FOREIGN KEY (context_id, yp_ref) REFERENCES ctx_young_people(context_id, yp_ref));
CREATE INDEX ctx_safety_ratings_context ON ctx_safety_ratings (context_id);
CREATE TABLE ctx_review_notes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    context_id TEXT NOT NULL REFERENCES ctx_contexts(id) ON DELETE RESTRICT,
    kind TEXT NOT NULL CHECK (kind IN ('staff confidence', 'young people views',
        'partner feedback', 'other')),
    yp_ref TEXT,
    text TEXT NOT NULL CHECK (length(trim(text)) > 0),
    noted_on TEXT NOT NULL CHECK (noted_on GLOB '[12][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]'),
    version INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1),
    FOREIGN KEY (context_id, yp_ref) REFERENCES ctx_young_people(context_id, yp_ref));
CREATE INDEX ctx_review_notes_context ON ctx_review_notes (context_id);
CREATE TABLE ctx_history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    context_id TEXT,
    entity TEXT NOT NULL CHECK (entity IN ('context', 'young_person', 'assessment', 'action',
        'consent', 'safety_rating', 'review_note', 'partner')),
    entity_id TEXT NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('create', 'update', 'delete')),
    field TEXT,
    old_json TEXT,
    new_json TEXT,
    changed_by TEXT NOT NULL CHECK (length(trim(changed_by)) > 0),
    changed_at TEXT NOT NULL);
CREATE INDEX ctx_history_context ON ctx_history (context_id, id);
CREATE TRIGGER ctx_history_no_update BEFORE UPDATE ON ctx_history
BEGIN
    SELECT RAISE(ABORT, 'ctx_history is append-only: rows cannot be changed');
END;
CREATE TRIGGER ctx_history_no_delete BEFORE DELETE ON ctx_history
BEGIN
    SELECT RAISE(ABORT, 'ctx_history is append-only: rows cannot be deleted');
END;
CREATE TRIGGER ctx_contexts_no_delete BEFORE DELETE ON ctx_contexts
BEGIN
    SELECT RAISE(ABORT, 'contexts are never deleted: set status to closed');
END;
INSERT INTO ctx_partners (name, description, seeded) VALUES
    ('Contextual Safeguarding team', 'Youth workers and social workers', 1),
    ('Children''s social care', 'Lead for context assessments', 1),
    ('VCSE substance-misuse service', 'Voluntary and community substance-misuse service', 1),
    ('Community safety team', 'Security of homes and places, environmental design', 1),
    ('Local area coordinator', 'Links young people to community resources', 1),
    ('Community youth centre', 'Safe place to go and youth work', 1),
    ('Local police', 'Neighbourhood policing and disruption', 1),
    ('Residents near the place', 'People living and working nearby', 1),
    ('Local business / apprenticeship provider', 'Employers offering apprenticeships', 1),
    ('The home''s staff', 'Staff of the home or place of concern', 1),
    ('The young people themselves', 'Young people in the context', 1),
    ('School or college', 'Education settings', 1),
    ('Health (school nurse, CAMHS)', 'Health partners', 1),
    ('Youth offending service', 'Youth justice', 1),
    ('Transport operator', 'Bus, rail and station staff', 1),
    ('Housing provider', 'Landlords and housing officers', 1);
INSERT INTO gpkg_contents (table_name, data_type, identifier, description)
    VALUES ('ctx_contexts', 'attributes', 'ctx_contexts', 'contexts of concern'),
           ('ctx_history', 'attributes', 'ctx_history', 'append-only history of contexts');
"""

MIGRATION_SQL.append(("contexts of concern", _CONTEXTS_V1))


# --------------------------------------------------------------------------- audit (v3)
#: The store migration that creates the audit table (append-only: triggers refuse
#: UPDATE and DELETE). Idempotent, so it can also be run on demand.
AUDIT_MIGRATION: Final[tuple[str, str]] = (
    "audit log",
    """
CREATE TABLE IF NOT EXISTS ctxmap_audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    user TEXT NOT NULL CHECK (length(trim(user)) > 0),
    role TEXT NOT NULL CHECK (role IN ('analyst', 'coordinator', 'meeting viewer')),
    action TEXT NOT NULL CHECK (length(trim(action)) > 0),
    what TEXT NOT NULL,
    legal_basis TEXT NOT NULL CHECK (legal_basis IN ('consent', 'public task',
        'vital interests', 'legitimate interests')));
CREATE INDEX IF NOT EXISTS ctxmap_audit_at ON ctxmap_audit (at);
CREATE TRIGGER IF NOT EXISTS ctxmap_audit_no_update BEFORE UPDATE ON ctxmap_audit
BEGIN
    SELECT RAISE(ABORT, 'ctxmap_audit is append-only: entries cannot be changed');
END;
CREATE TRIGGER IF NOT EXISTS ctxmap_audit_no_delete BEFORE DELETE ON ctxmap_audit
BEGIN
    SELECT RAISE(ABORT, 'ctxmap_audit is append-only: entries cannot be deleted');
END;
INSERT OR IGNORE INTO gpkg_contents (table_name, data_type, identifier, description)
    VALUES ('ctxmap_audit', 'attributes', 'ctxmap_audit', 'append-only audit log');
""",
)

# --------------------------------------------------------------------------- retention (v4)
#: The store migration that lets a retention erasure (and only that) delete a context
#: and its history, after the contexts migration. Idempotent.
RETENTION_MIGRATION: Final[tuple[str, str]] = (
    "retention erasure",
    """
CREATE TABLE IF NOT EXISTS ctx_retention_erasing (context_id TEXT PRIMARY KEY);
DROP TRIGGER IF EXISTS ctx_contexts_no_delete;
CREATE TRIGGER ctx_contexts_no_delete BEFORE DELETE ON ctx_contexts
WHEN NOT EXISTS (SELECT 1 FROM ctx_retention_erasing WHERE context_id = OLD.id)
BEGIN
    SELECT RAISE(ABORT, 'contexts are never deleted: set status to closed');
END;
DROP TRIGGER IF EXISTS ctx_history_no_delete;
CREATE TRIGGER ctx_history_no_delete BEFORE DELETE ON ctx_history
WHEN OLD.context_id IS NULL
    OR NOT EXISTS (SELECT 1 FROM ctx_retention_erasing WHERE context_id = OLD.context_id)
BEGIN
    SELECT RAISE(ABORT, 'ctx_history is append-only: rows cannot be deleted');
END;
""",
)

MIGRATION_SQL.extend([AUDIT_MIGRATION, RETENTION_MIGRATION])
