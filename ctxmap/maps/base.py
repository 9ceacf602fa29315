"""The base map every ctxmap map starts from: tiles (or none), attributions, options.

:func:`resolve_tiles_url` reads ``$CTXMAP_TILES_URL``; :func:`base_map` makes an empty
:class:`folium.Map` with that basemap; :class:`MapOptions` holds the drawing options of
:func:`ctxmap.maps.layers.build_map` (and of the meeting map built on it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Final, Protocol

import folium
from shapely.geometry.base import BaseGeometry

from ctxmap.analysis.aggregate import DEFAULT_MAX_CELLS
from ctxmap.errors import InputError
from ctxmap.maps.access import MapAccess
from ctxmap.maps.assets import DEFAULT_BASE_URL
from ctxmap.settings import load as load_settings
from ctxmap.text import esc_plain


class _Default(Enum):
    TOKEN = "default"


#: Sentinel for ``tiles_url``: use ``$CTXMAP_TILES_URL`` if set, else OpenStreetMap.
DEFAULT: Final = _Default.TOKEN

OSM_TILES_URL: Final = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
OSM_ATTRIBUTION: Final = "© OpenStreetMap contributors"

POLICE_ATTRIBUTION: Final = (
    "Contains public sector information licensed under the Open Government Licence v3.0."
)
BOUNDARIES_ATTRIBUTION: Final = (
    "Contains National Statistics data © Crown copyright and database right 2014. "
    "Contains Ordnance Survey data © Crown copyright and database right 2014."
)
FICTIONAL_HOMES_ATTRIBUTION: Final = "Homes shown are fictional"

#: Attributions shown on every map: police.uk (OGL), OpenStreetMap (ODbL), ONS/OS (OGL).
DATA_ATTRIBUTIONS: Final[tuple[str, ...]] = (
    POLICE_ATTRIBUTION,
    OSM_ATTRIBUTION,
    BOUNDARIES_ATTRIBUTION,
)

#: Incidents drawn one marker each up to this many located rows; above it, aggregated.
DEFAULT_CLUSTER_THRESHOLD: Final = 1000
#: Decimal places kept in coordinates (5 places ≈ 1 m).
DEFAULT_PRECISION: Final = 5

TilesUrl = str | _Default | None


class Outline(Protocol):
    """A described area drawn as an outline: the study area.

    :class:`ctxmap.store.marks.StoredStudyArea` and :class:`ctxmap.analysis.areas.StudyArea`
    are both one: ``geometry`` in EPSG:4326, ``description`` in the reasons' words, e.g.
    ``"Rutland (393.7 km², from rutland_lad.geojson)"`` (plain text, escaped where drawn).
    """

    @property
    def geometry(self) -> BaseGeometry:
        """The area, EPSG:4326."""
        ...

    @property
    def description(self) -> str:
        """What it is and how it was set (plain text)."""
        ...


@dataclass(frozen=True)
class MapOptions:
    """How :func:`ctxmap.maps.layers.build_map` draws a map (every field has a default).

    Attributes
    ----------
    tiles_url
        Basemap tile URL template. ``DEFAULT`` uses ``$CTXMAP_TILES_URL`` if set,
        else OpenStreetMap; ``""`` or ``None`` draws no basemap (white background).
    attribution
        Attribution of the tiles (HTML-escaped).
    incidents_cluster_threshold
        Up to this many located incidents are drawn one marker each (>= 0); more are
        aggregated into grid cells (:func:`ctxmap.analysis.aggregate.aggregate_incidents`).
    max_incident_cells
        Upper bound on aggregated incident markers (>= 1).
    center, zoom
        Initial view as ``(lat, lon)`` and zoom level. Without ``center`` the map
        fits the data's bounds.
    precision
        Decimal places kept in coordinates.
    data_attributions
        Data source attributions shown on the map (default: police.uk, OSM, ONS/OS);
        "Homes shown are fictional" is added when a home is fictional.
    assets_base_url
        URL prefix of the local JavaScript/CSS (see :mod:`ctxmap.maps.assets`).
    layer_control
        Add the layer control. Leave it out when the caller adds one later, e.g. with
        groups that streamlit-folium swaps in without redrawing the map.
    study_area
        The store's study area (:class:`Outline`), drawn as an unfilled outline with a
        legend line naming it in the reasons' words; ``None``: none drawn. A district's
        outline is public: shared and masked views draw it too.

    Raises
    ------
    InputError
        If ``incidents_cluster_threshold`` is negative or ``max_incident_cells`` < 1.
    """

    tiles_url: TilesUrl = DEFAULT
    attribution: str = OSM_ATTRIBUTION
    incidents_cluster_threshold: int = DEFAULT_CLUSTER_THRESHOLD
    max_incident_cells: int = DEFAULT_MAX_CELLS
    center: tuple[float, float] | None = None
    zoom: int | None = None
    precision: int = DEFAULT_PRECISION
    data_attributions: Sequence[str] = DATA_ATTRIBUTIONS
    assets_base_url: str = DEFAULT_BASE_URL
    layer_control: bool = True
    study_area: Outline | None = None

    def __post_init__(self) -> None:
        if self.incidents_cluster_threshold < 0:
            raise InputError(
                f"incidents_cluster_threshold is {self.incidents_cluster_threshold}; "
                "expected >= 0"
            )
        if self.max_incident_cells < 1:
            raise InputError(f"max_incident_cells is {self.max_incident_cells}; expected >= 1")


def resolve_tiles_url(tiles_url: TilesUrl = DEFAULT, env: Mapping[str, str] | None = None) -> (
    str | None
):
    """Return the tile URL to use, or ``None`` for no basemap.

    ``DEFAULT`` reads ``$CTXMAP_TILES_URL`` through :func:`ctxmap.settings.load` (``env``:
    the environment to read, default ``os.environ``; an empty value means no basemap)
    and falls back to OpenStreetMap's standard tiles; ``""`` and ``None`` mean no basemap.
    """
    if tiles_url is DEFAULT:
        configured = load_settings(env).tiles_url
        tiles_url = OSM_TILES_URL if configured is None else configured
    if not tiles_url:
        return None
    return str(tiles_url)


def base_map(
    location: Sequence[float], zoom: int, url: str | None, attribution: str = OSM_ATTRIBUTION
) -> folium.Map:
    """An empty map at ``location`` (lat, lon) with the basemap ``url`` (None: no tiles).

    ``url`` is a resolved tile URL (see :func:`resolve_tiles_url`); the attribution is
    HTML-escaped. Keyboard access and accessible names come with it
    (:class:`ctxmap.maps.access.MapAccess`).
    """
    m = folium.Map(
        location=[float(location[0]), float(location[1])],
        zoom_start=zoom,
        tiles=None,
        control_scale=True,
        max_zoom=19,
    )
    if url is not None:
        folium.TileLayer(
            tiles=url,
            attr=esc_plain(attribution),
            name="Basemap",
            max_zoom=19,
            control=False,
        ).add_to(m)
    MapAccess().add_to(m)
    return m
