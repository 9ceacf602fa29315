"""Layer kinds and their schemas: the one place that says what each layer holds.

Every layer ctxmap reads, stores, joins or draws is a GeoDataFrame in EPSG:4326 with
the *canonical* columns listed here (readers rename whatever arrives to these
names). Analysis functions project to a metric CRS themselves (see
:mod:`ctxmap.layers.crs`).

Layer kinds
-----------
``homes``
    Children's homes and supported-living homes (always sensitive: never shown as a
    point in a shared view). In the bundled sample they are fictional.
``youth_centres``
    Youth clubs, community centres and similar places with youth provision.
``safe_places``
    Places a young person can go for help: libraries, police stations, pharmacies...
``incidents``
    Reported crime and anti-social behaviour. Rows with no location keep a null
    geometry; they are stored and counted, never mapped.
``areas``
    Area boundaries (district outline, wards, LSOAs, MSOAs), told apart by ``level``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final, Literal

LayerKind = Literal["homes", "youth_centres", "safe_places", "incidents", "areas"]

#: Every layer kind, in drawing order (bottom first).
LAYER_KINDS: Final[tuple[LayerKind, ...]] = (
    "areas",
    "incidents",
    "safe_places",
    "youth_centres",
    "homes",
)

#: Place layers: the layers whose rows are places a young person might be at or go to.
PLACE_KINDS: Final[tuple[LayerKind, ...]] = ("homes", "youth_centres", "safe_places")

#: The CRS every stored and displayed layer is in.
STORAGE_CRS: Final = "EPSG:4326"

#: police.uk location precision for snapped "map points".
PRECISION_SNAPPED: Final = "snapped to police.uk map point"
PRECISION_EXACT: Final = "exact"
PRECISION_NONE: Final = "no location"

#: The 14 police.uk street-level categories (crime and ASB).
POLICE_UK_CATEGORIES: Final[tuple[str, ...]] = (
    "Anti-social behaviour",
    "Bicycle theft",
    "Burglary",
    "Criminal damage and arson",
    "Drugs",
    "Other crime",
    "Other theft",
    "Possession of weapons",
    "Public order",
    "Robbery",
    "Shoplifting",
    "Theft from the person",
    "Vehicle crime",
    "Violence and sexual offences",
)

#: Categories most associated with criminal exploitation: the default focus.
EXPLOITATION_CATEGORIES: Final[tuple[str, ...]] = (
    "Anti-social behaviour",
    "Drugs",
    "Possession of weapons",
    "Robbery",
    "Violence and sexual offences",
)

#: The columns of the police.uk street-level CSV, exactly as published.
POLICE_UK_COLUMNS: Final[tuple[str, ...]] = (
    "Crime ID",
    "Month",
    "Reported by",
    "Falls within",
    "Longitude",
    "Latitude",
    "Location",
    "LSOA code",
    "LSOA name",
    "Crime type",
    "Last outcome category",
    "Context",
)

AREA_LEVELS: Final[tuple[str, ...]] = ("district", "ward", "msoa", "lsoa", "other")


@dataclass(frozen=True)
class Column:
    """One canonical column of a layer.

    Parameters
    ----------
    name
        Canonical column name.
    dtype
        ``"str"``, ``"int"``, ``"float"`` or ``"bool"``.
    required
        Whether an input file must provide it (after header aliases are applied).
    description
        What it holds, for the docs and the validation report.
    user_text
        True when the value is free text supplied by a user or a data source, and
        so must be HTML-escaped wherever it is rendered.
    """

    name: str
    dtype: Literal["str", "int", "float", "bool"]
    required: bool
    description: str
    user_text: bool = False


@dataclass(frozen=True)
class LayerSchema:
    """The schema of one layer kind."""

    kind: LayerKind
    title: str
    geometry_types: tuple[str, ...]
    columns: tuple[Column, ...]
    geometry_required: bool = True
    sensitive: bool = False
    aliases: dict[str, str] = field(default_factory=dict)

    @property
    def column_names(self) -> list[str]:
        """Canonical column names, in order (without ``geometry``)."""
        return [c.name for c in self.columns]

    @property
    def required_columns(self) -> list[str]:
        """Names of the columns an input must provide."""
        return [c.name for c in self.columns if c.required]

    @property
    def text_columns(self) -> list[str]:
        """Names of free-text columns that must be escaped when rendered."""
        return [c.name for c in self.columns if c.user_text]


_PLACE_COLUMNS: tuple[Column, ...] = (
    Column("id", "str", True, "Identifier, unique within the layer"),
    Column("name", "str", False, "Name of the place (may be empty: unnamed places stay)", True),
    Column("category", "str", False, "What kind of place it is", True),
    Column("address", "str", False, "Address, if known", True),
    Column("opening_hours", "str", False, "Opening hours in OSM opening_hours syntax", True),
    Column("source", "str", False, "Where the record came from", True),
)

# Header spellings accepted for common columns, lower-cased, mapped to canonical names.
_COMMON_ALIASES: dict[str, str] = {
    "identifier": "id",
    "uid": "id",
    "ref": "id",
    "title": "name",
    "place_name": "name",
    "type": "category",
    "kind": "category",
    "amenity": "category",
    "addr": "address",
    "full_address": "address",
    "opening hours": "opening_hours",
    "openinghours": "opening_hours",
    "hours": "opening_hours",
}

SCHEMAS: Final[dict[LayerKind, LayerSchema]] = {
    "homes": LayerSchema(
        kind="homes",
        title="Homes",
        geometry_types=("Point",),
        columns=(
            *_PLACE_COLUMNS,
            Column("fictional", "bool", False, "True when the home is made up (sample data)"),
            Column("notes", "str", False, "Free-text notes (never shared)", True),
        ),
        sensitive=True,
        aliases=dict(_COMMON_ALIASES),
    ),
    "youth_centres": LayerSchema(
        kind="youth_centres",
        title="Youth centres",
        geometry_types=("Point",),
        columns=_PLACE_COLUMNS,
        aliases=dict(_COMMON_ALIASES),
    ),
    "safe_places": LayerSchema(
        kind="safe_places",
        title="Safe places",
        geometry_types=("Point",),
        columns=_PLACE_COLUMNS,
        aliases=dict(_COMMON_ALIASES),
    ),
    "incidents": LayerSchema(
        kind="incidents",
        title="Reported incidents",
        geometry_types=("Point",),
        geometry_required=False,
        columns=(
            Column("id", "str", True, "Identifier (police.uk Crime ID, or a stable hash)"),
            Column("month", "str", True, "Month reported, YYYY-MM"),
            Column("date", "str", False, "Date reported, YYYY-MM-DD, when known"),
            Column("category", "str", True, "Crime or harm type", True),
            Column("location_precision", "str", False, "How precise the location is"),
            Column("location", "str", False, "Location description, e.g. 'On or near ...'", True),
            Column("lsoa_code", "str", False, "LSOA code given by the source"),
            Column("outcome", "str", False, "Last outcome category", True),
            Column("source", "str", False, "Where the record came from", True),
        ),
        aliases={
            **{k: v for k, v in _COMMON_ALIASES.items() if v != "category"},
            "crime id": "id",
            "crime_id": "id",
            "crime type": "category",
            "crime_type": "category",
            "type": "category",
            "offence": "category",
            "lsoa code": "lsoa_code",
            "last outcome category": "outcome",
            "reported by": "source",
            "date": "date",
        },
    ),
    "areas": LayerSchema(
        kind="areas",
        title="Area boundaries",
        geometry_types=("Polygon", "MultiPolygon"),
        columns=(
            Column("id", "str", True, "Area code, e.g. E01026791"),
            Column("name", "str", False, "Area name", True),
            Column("level", "str", True, "district, ward, msoa, lsoa or other"),
            Column("population", "float", False, "Resident population, when known"),
            Column("source", "str", False, "Where the boundary came from", True),
        ),
        aliases={
            "lsoa11cd": "id",
            "lsoa11nm": "name",
            "msoa11cd": "id",
            "msoa11nm": "name",
            "wd13cd": "id",
            "wd13nm": "name",
            "lad13cd": "id",
            "lad13nm": "name",
            "code": "id",
            "pop": "population",
            "residents": "population",
        },
    ),
}


def schema_for(kind: str) -> LayerSchema:
    """Return the schema of a layer kind.

    Raises
    ------
    ValueError
        If ``kind`` is not a known layer kind; the message lists the known ones.
    """
    try:
        return SCHEMAS[kind]  # type: ignore[index]
    except KeyError:
        raise ValueError(
            f"unknown layer kind {kind!r}; expected one of: {', '.join(SCHEMAS)}"
        ) from None
