"""The OpenStreetMap classification rules: one table, checked in order (pure data).

Each :class:`Rule` says which tags put an OSM object in a protective-place layer
(``youth_centres`` or ``safe_places``), or mark it as "not a protective resource";
``docs/osm-classification.md`` explains every rule and is checked against
:func:`ctxmap.layers.osm.rules_markdown`. The classifier that applies the table is
:mod:`ctxmap.layers.osm`.

The rules are checked in order and the first rule that matches decides. A rule whose
``layer`` is ``None`` says "not a protective resource" and stops the search: these
exclusion rules come first so that, for example, a residential care home tagged
``social_facility:for=youth`` is never shown as a youth centre (homes are sensitive
and never come from OSM).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import pandas as pd

_YOUTH_FOR: Final[tuple[str, ...]] = ("youth", "juvenile", "child", "children", "young_people")

_RESIDENTIAL_SOCIAL_FACILITY: Final[tuple[str, ...]] = (
    "group_home",
    "shelter",
    "assisted_living",
    "care_home",
    "nursing_home",
    "hospice",
    "housing",
    "supported_housing",
)


def _is_missing(value: Any) -> bool:
    """True for None, NA, NaT and NaN."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


def tag_text(value: Any) -> str | None:
    """Return ``value`` as stripped text, or None when missing or blank."""
    if _is_missing(value):
        return None
    text = str(value).strip()
    return text or None


def _tag_values(tags: Mapping[str, Any], key: str) -> list[str]:
    """Return the lower-cased values of tag ``key`` (split on ``;``); [] when absent."""
    text = tag_text(tags.get(key))
    if text is None:
        return []
    return [v.strip().lower() for v in text.split(";") if v.strip()]



@dataclass(frozen=True)
class TagTest:
    """One tag condition: the tag ``key`` has one of ``values`` (``("*",)``: any value).

    Values are compared case-insensitively, and a tag holding several values
    separated by ``;`` (OSM's convention) matches when any of them does.
    """

    key: str
    values: tuple[str, ...]

    def matches(self, tags: Mapping[str, Any]) -> bool:
        """Return True when ``tags`` satisfies this condition."""
        present = _tag_values(tags, self.key)
        if not present:
            return False
        if self.values == ("*",):
            return True
        wanted = {v.lower() for v in self.values}
        return any(v in wanted for v in present)

    def describe(self) -> str:
        """Describe the condition in OSM notation, e.g. ``amenity=library`` (Markdown)."""
        if len(self.values) == 1:
            return f"`{self.key}={self.values[0]}`"
        return f"`{self.key}` one of " + ", ".join(f"`{v}`" for v in self.values)


@dataclass(frozen=True)
class Rule:
    """One classification rule.

    Parameters
    ----------
    rule_id
        Short stable identifier, used in the documentation.
    when
        Conditions that must all hold (AND).
    layer
        ``"youth_centres"``, ``"safe_places"``, or ``None`` for "not a protective
        resource" (an exclusion: the search stops there).
    category
        The ``category`` value given to a matched place (``None`` for exclusions).
    why
        The reason for the rule, for people reading the documentation.
    name_pattern
        Optional regular expression (case-insensitive) that the ``name`` tag must
        contain as well. Rules that rely on names are secondary: names are free text.
    """

    rule_id: str
    when: tuple[TagTest, ...]
    layer: str | None
    category: str | None
    why: str
    name_pattern: str | None = None

    def matches(self, tags: Mapping[str, Any]) -> bool:
        """Return True when every condition of the rule holds for ``tags``."""
        if not all(test.matches(tags) for test in self.when):
            return False
        if self.name_pattern is None:
            return True
        name = tag_text(tags.get("name"))
        return name is not None and re.search(self.name_pattern, name, re.IGNORECASE) is not None

    def describe(self) -> str:
        """Describe the rule's conditions, e.g. ``amenity=library`` and name ~ ``x``."""
        parts = [t.describe() for t in self.when]
        if self.name_pattern is not None:
            parts.append(f"name matches `{self.name_pattern}`")
        return " and ".join(parts)


def _t(key: str, *values: str) -> TagTest:
    return TagTest(key, values)


#: The classification rules, checked in order; the first match decides.
RULES: Final[tuple[Rule, ...]] = (
    # --- exclusions first -------------------------------------------------------------
    Rule(
        "residential-care",
        (_t("social_facility", *_RESIDENTIAL_SOCIAL_FACILITY),),
        None,
        None,
        "Residential settings (group homes, hostels, care homes, supported housing) are "
        "somebody's home, not a place to walk in and ask for help. Children's homes and "
        "supported-living homes are the sensitive `homes` layer, which never comes from "
        "OSM: this rule keeps them out even when tagged for youth.",
    ),
    Rule(
        "honesty-library",
        (_t("amenity", "library"),),
        None,
        None,
        "Honesty libraries and book swaps are unstaffed boxes of books: nobody is there "
        "to help (they should be tagged `amenity=public_bookcase`, but are often not).",
        name_pattern=r"honesty|book ?swap|little free",
    ),
    Rule(
        "early-years-group",
        (_t("amenity", "social_facility"),),
        None,
        None,
        "Secondary, name-based: parent-and-toddler groups, playgroups and nurseries are "
        "for under-fives with their parents (they are often tagged "
        "`social_facility:for=child`), not for young people at risk outside the home.",
        name_pattern=r"toddler|bab(y|ies)|playgroup|pre-?school|nursery",
    ),
    # --- youth centres ------------------------------------------------------------------
    Rule(
        "leisure-youth-centre",
        (_t("leisure", "youth_centre"),),
        "youth_centres",
        "youth centre",
        "Tagged as a youth centre: youth provision by definition.",
    ),
    Rule(
        "amenity-youth-centre",
        (_t("amenity", "youth_centre"),),
        "youth_centres",
        "youth centre",
        "Same meaning as `leisure=youth_centre` (a tag some mappers use).",
    ),
    Rule(
        "community-centre-youth",
        (_t("community_centre", "youth_centre", "youth_club"),),
        "youth_centres",
        "youth club",
        "A community centre whose type is youth centre/club.",
    ),
    Rule(
        "community-centre-for-youth",
        (_t("community_centre:for", *_YOUTH_FOR),),
        "youth_centres",
        "youth club",
        "A community centre explicitly for young people.",
    ),
    Rule(
        "social-facility-for-youth",
        (_t("social_facility:for", *_YOUTH_FOR),),
        "youth_centres",
        "youth service",
        "A non-residential social facility for young people (e.g. a youth charity's "
        "venue); residential ones were excluded by `residential-care`.",
    ),
    Rule(
        "community-centre-named-youth",
        (_t("amenity", "community_centre", "community_hall", "social_centre"),),
        "youth_centres",
        "youth club",
        "Secondary, name-based: a community centre whose name says Youth or YMCA is "
        "almost always a youth club (e.g. 'Jubilee Youth Club'). Names are free text, "
        "so this only refines the category of a place that is a community centre anyway.",
        name_pattern=r"\byouth\b|\bymca\b",
    ),
    Rule(
        "social-facility-named-youth",
        (_t("amenity", "social_facility"),),
        "youth_centres",
        "youth organisation",
        "Secondary, name-based: a non-residential social facility named Youth or YMCA "
        "(e.g. 'Central Norwich YMCA') is run by a youth organisation with youth workers.",
        name_pattern=r"\byouth\b|\bymca\b",
    ),
    Rule(
        "community-centre",
        (_t("amenity", "community_centre"),),
        "youth_centres",
        "community centre",
        "Community centres host most local youth sessions, and are named as protective "
        "places in Contextual Safeguarding plans (the case study links young people to "
        "a 'community youth centre'). Village and church halls tagged this way are kept: "
        "they are where youth groups meet.",
    ),
    Rule(
        "community-hall",
        (_t("amenity", "community_hall"),),
        "youth_centres",
        "community centre",
        "An older spelling of `amenity=community_centre` (not an approved OSM value, "
        "still found in extracts): same meaning, same rule.",
    ),
    Rule(
        "scout-hut",
        (_t("amenity", "scout_hut"),),
        "youth_centres",
        "scout or guide hut",
        "Home of a Scout or Guide group: regular youth provision run by checked, "
        "safeguarding-trained adult volunteers.",
    ),
    # --- safe places ----------------------------------------------------------------------
    Rule(
        "police",
        (_t("amenity", "police"),),
        "safe_places",
        "police",
        "Police stations and neighbourhood team bases: the most direct place to report "
        "danger; officers have statutory safeguarding duties.",
    ),
    Rule(
        "library",
        (_t("amenity", "library"),),
        "safe_places",
        "library",
        "Public libraries are free, open to everyone, staffed long hours, and are the "
        "core members of most 'Safe Places' schemes; council staff are safeguarding "
        "trained.",
    ),
    Rule(
        "pharmacy",
        (_t("amenity", "pharmacy"),),
        "safe_places",
        "pharmacy",
        "Pharmacies are walk-in, open long hours (often evenings and Sundays), have a "
        "private consultation room, and NHS pharmacy staff must complete safeguarding "
        "training.",
    ),
    Rule(
        "healthcare-pharmacy",
        (_t("healthcare", "pharmacy"),),
        "safe_places",
        "pharmacy",
        "The healthcare tag for a pharmacy (some are tagged only this way).",
    ),
    Rule(
        "hospital-emergency",
        (_t("amenity", "hospital"), _t("emergency", "yes")),
        "safe_places",
        "hospital (A&E)",
        "A hospital with an emergency department is open 24/7 to anyone who walks in, "
        "with safeguarding teams on site.",
    ),
    Rule(
        "healthcare-hospital-emergency",
        (_t("healthcare", "hospital"), _t("emergency", "yes")),
        "safe_places",
        "hospital (A&E)",
        "The healthcare tag for a hospital with an emergency department.",
    ),
    Rule(
        "doctors",
        (_t("amenity", "doctors"),),
        "safe_places",
        "GP surgery",
        "GP surgeries and walk-in centres are public-facing in opening hours, and NHS "
        "staff have safeguarding duties (Children Act 2004, s.11) and training; a young "
        "person can ask at reception.",
    ),
    Rule(
        "fire-station",
        (_t("amenity", "fire_station"),),
        "safe_places",
        "fire station",
        "Fire and rescue services have safeguarding duties and many stations are "
        "staffed around the clock; some schemes name them as safe havens.",
    ),
    # --- considered, not included (documented exclusions) ---------------------------------
    Rule(
        "hospital-no-emergency",
        (_t("amenity", "hospital"),),
        None,
        None,
        "A hospital without an emergency department (mental-health, community or private "
        "hospital) has no public walk-in door to ask for help at.",
    ),
    Rule(
        "clinic",
        (_t("amenity", "clinic"),),
        None,
        None,
        "Clinics are a mix of appointment-only and private services (cosmetic, hearing); "
        "OSM does not tell which ones would help a young person who walks in.",
    ),
    Rule(
        "place-of-worship",
        (_t("amenity", "place_of_worship"),),
        None,
        None,
        "Often locked or unstaffed outside services; the halls where faith groups run "
        "youth work are mapped as community centres and counted there.",
    ),
    Rule(
        "townhall",
        (_t("amenity", "townhall"),),
        None,
        None,
        "In OSM this mostly marks village halls and event venues (all 8 in the Norwich "
        "extract) without a staffed public desk.",
    ),
    Rule(
        "school",
        (_t("amenity", "school", "kindergarten", "childcare", "college", "university"),),
        None,
        None,
        "Schools have safeguarding leads but are not open to the public, nor at night or "
        "in the holidays, when risk outside the home is highest; education settings "
        "belong to a different layer if one is added.",
    ),
)
