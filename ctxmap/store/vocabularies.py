"""The closed lists the records tables' CHECK constraints enforce.

Defined once here, where the tables are (:mod:`ctxmap.store.record_tables`); the case and
audit modules use the same tuples for validation and menus, and a test reads the
CHECK lists back from both databases and compares them with these.
"""

from __future__ import annotations

from typing import Final

CONTEXT_KINDS: Final[tuple[str, ...]] = (
    "home", "park", "school", "transport hub", "street", "business", "online space", "other",
)
CONTEXT_STATUSES: Final[tuple[str, ...]] = (
    "referred", "assessing", "planning", "active plan", "review", "closed",
)
#: The map layers a context may be referred from.
PLACE_LAYERS: Final[tuple[str, ...]] = ("homes", "youth_centres", "safe_places")
#: The three sides of the context assessment triangle.
ASSESSMENT_SIDES: Final[tuple[str, ...]] = ("young_people", "guardianship", "place")
FACTORS: Final[tuple[str, ...]] = ("risk", "vulnerability", "protective")
#: Source reliability grades (A best) and information reliability grades (1 best).
SOURCE_GRADES: Final[tuple[str, ...]] = ("A", "B", "C", "D", "E")
INFO_GRADES: Final[tuple[str, ...]] = ("1", "2", "3", "4", "5")
ACTION_STATUSES: Final[tuple[str, ...]] = ("not started", "in progress", "done", "cancelled")
#: What a young person may agree to share with a partner.
CONSENT_CATEGORIES: Final[tuple[str, ...]] = (
    "link", "assessment", "safety plan", "safety map", "views",
)
#: Lawful bases for sharing case records (UK GDPR Article 6).
SHARING_BASES: Final[tuple[str, ...]] = (
    "consent", "legal obligation", "vital interests", "public task",
)
RATINGS: Final[tuple[str, ...]] = ("red", "amber", "green")
REVIEW_NOTE_KINDS: Final[tuple[str, ...]] = (
    "staff confidence", "young people views", "partner feedback", "other",
)
#: What the history records changes of, and how.
HISTORY_ENTITIES: Final[tuple[str, ...]] = (
    "context", "young_person", "assessment", "action", "consent", "safety_rating",
    "review_note", "partner",
)
HISTORY_ACTIONS: Final[tuple[str, ...]] = ("create", "update", "delete")
#: The roles an audit entry may name (``ctxmap.privacy.roles.ROLES``).
AUDIT_ROLES: Final[tuple[str, ...]] = ("analyst", "coordinator", "meeting viewer")
#: Lawful bases a user may give for viewing or exporting (UK GDPR Art. 6(1)).
AUDIT_LEGAL_BASES: Final[tuple[str, ...]] = (
    "consent", "public task", "vital interests", "legitimate interests",
)
#: The partner list a new store starts with (name, description), from the case study.
SEEDED_PARTNERS: Final[tuple[tuple[str, str], ...]] = (
    ("Contextual Safeguarding team", "Youth workers and social workers"),
    ("Children's social care", "Lead for context assessments"),
    ("VCSE substance-misuse service", "Voluntary and community substance-misuse service"),
    ("Community safety team", "Security of homes and places, environmental design"),
    ("Local area coordinator", "Links young people to community resources"),
    ("Community youth centre", "Safe place to go and youth work"),
    ("Local police", "Neighbourhood policing and disruption"),
    ("Residents near the place", "People living and working nearby"),
    ("Local business / apprenticeship provider", "Employers offering apprenticeships"),
    ("The home's staff", "Staff of the home or place of concern"),
    ("The young people themselves", "Young people in the context"),
    ("School or college", "Education settings"),
    ("Health (school nurse, CAMHS)", "Health partners"),
    ("Youth offending service", "Youth justice"),
    ("Transport operator", "Bus, rail and station staff"),
    ("Housing provider", "Landlords and housing officers"),
)
