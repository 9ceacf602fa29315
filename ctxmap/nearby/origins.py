"""Turn what a user typed (coordinates, a postcode, a place) into an origin point.

Coordinates may be latitude/longitude or British National Grid (BNG) easting/northing.
Common mistakes are detected and *said*, never silently fixed without a note:
longitude and latitude typed the wrong way round, and BNG metres typed into the
latitude/longitude boxes. Postcodes are looked up in an ONS Postcode Directory (ONSPD)
CSV the user supplies (columns ``pcds`` or ``pcd``, ``lat``, ``long``); nothing is
looked up online.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import Transformer

from ctxmap.errors import InputError
from ctxmap.layers.crs import BNG
from ctxmap.layers.schemas import STORAGE_CRS

OriginKind = Literal["point", "bng", "postcode", "place"]

#: Great Britain and Northern Ireland with a margin (lon, lat): where "looks British" is judged.
UK_LONLAT_BOUNDS: Final = (-8.8, 49.8, 2.1, 60.95)

#: Valid BNG easting / northing ranges in metres.
BNG_EASTING: Final = (0.0, 700_000.0)
BNG_NORTHING: Final = (0.0, 1_300_000.0)

_POSTCODE_RE: Final = re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?)([0-9][A-Z]{2})$")
_NO_GRID_LAT: Final = 99.0  # ONSPD stores 99.999999 / 0.000000 for postcodes without a location


@dataclass(frozen=True)
class Origin:
    """A starting point for 'nearest' questions, in WGS84.

    Parameters
    ----------
    lon, lat
        Longitude and latitude (EPSG:4326).
    label
        What to call it in outputs (e.g. ``"52.63, 1.29"`` or ``"NR2 1AB"``).
    kind
        How it was given: ``"point"``, ``"bng"``, ``"postcode"`` or ``"place"``.
    note
        What ctxmap assumed or corrected (e.g. swapped latitude and longitude), or ``""``.
    """

    lon: float
    lat: float
    label: str
    kind: OriginKind = "point"
    note: str = ""


def _in_uk(lon: float, lat: float) -> bool:
    x0, y0, x1, y1 = UK_LONLAT_BOUNDS
    return x0 <= lon <= x1 and y0 <= lat <= y1


def _finite(*values: float) -> bool:
    return all(isinstance(v, int | float) and np.isfinite(v) for v in values)


def from_bng(easting: float, northing: float, *, note: str = "") -> Origin:
    """Return the origin at a British National Grid easting/northing (metres).

    Raises
    ------
    InputError
        If the values are outside the grid.
    """
    if not _finite(easting, northing):
        raise InputError(f"easting/northing must be numbers; got {easting!r}, {northing!r}")
    if not (
        BNG_EASTING[0] <= easting <= BNG_EASTING[1]
        and BNG_NORTHING[0] <= northing <= BNG_NORTHING[1]
    ):
        raise InputError(
            f"easting {easting:g}, northing {northing:g} is outside the British National Grid; "
            "expected easting 0-700000 and northing 0-1300000 metres"
        )
    lon, lat = Transformer.from_crs(BNG, STORAGE_CRS, always_xy=True).transform(easting, northing)
    return Origin(
        lon=float(lon),
        lat=float(lat),
        label=f"E {easting:.0f}, N {northing:.0f}",
        kind="bng",
        note=note,
    )


def from_latlon(lat: float, lon: float) -> Origin:
    """Return the origin at latitude ``lat``, longitude ``lon``, checking for common mix-ups.

    * The values look like BNG metres (outside ±90/±180 but inside the grid): read as
      northing=``lat`` and easting=``lon`` (latitude and northing both measure north),
      noted.
    * The pair is outside the UK but the swapped pair is inside: swapped, noted.

    Raises
    ------
    InputError
        If the values are neither valid latitude/longitude nor BNG metres.
    """
    if not _finite(lat, lon):
        raise InputError(f"latitude/longitude must be numbers; got {lat!r}, {lon!r}")
    if abs(lat) > 90 or abs(lon) > 180:
        if lat >= 0 and lon >= 0:
            note = (
                f"latitude {lat:g}, longitude {lon:g} are not degrees; read as British National "
                f"Grid northing {lat:g}, easting {lon:g}"
            )
            try:
                return from_bng(lon, lat, note=note)
            except InputError:
                pass
        raise InputError(
            f"latitude {lat:g}, longitude {lon:g} is not a place on Earth; expected latitude "
            "-90..90 and longitude -180..180 (or BNG easting/northing in metres)"
        )
    label = f"{lat:.6f}, {lon:.6f}"
    if not _in_uk(lon, lat) and abs(lon) <= 90 and _in_uk(lat, lon):
        return Origin(
            lon=float(lat),
            lat=float(lon),
            label=f"{lon:.6f}, {lat:.6f}",
            note=(
                f"latitude {lat:g}, longitude {lon:g} is outside the UK but the swapped pair is "
                f"inside it; read as latitude {lon:g}, longitude {lat:g}"
            ),
        )
    return Origin(lon=float(lon), lat=float(lat), label=label)


def parse_point(text: str) -> Origin:
    """Parse a typed pair such as ``"52.6309, 1.2974"`` or ``"623000 308500"``.

    Two numbers separated by a comma and/or spaces: latitude then longitude, or BNG
    easting then northing (the usual written order), told apart by size: when both are
    beyond ±180 they are metres. Swapped latitude/longitude is detected as in
    :func:`from_latlon`.

    Raises
    ------
    InputError
        If ``text`` is not two numbers.
    """
    parts = [p for p in re.split(r"[,\s;]+", text.strip()) if p]
    try:
        first, second = (float(p) for p in parts)
    except ValueError:
        raise InputError(
            f"could not read {text!r} as a point; expected two numbers, e.g. '52.6309, 1.2974' "
            "(latitude, longitude) or '623000, 308500' (easting, northing)"
        ) from None
    if abs(first) > 180 and abs(second) > 180:
        return from_bng(first, second)
    return from_latlon(first, second)


def normalise_postcode(text: str) -> str:
    """Return a UK postcode in standard form, upper case with one space (``"NR2 1AB"``).

    Raises
    ------
    InputError
        If ``text`` is not shaped like a UK postcode.
    """
    compact = re.sub(r"\s+", "", str(text)).upper()
    match = _POSTCODE_RE.match(compact)
    if not match:
        raise InputError(f"{text!r} is not a UK postcode; expected e.g. 'NR2 1AB'")
    return f"{match.group(1)} {match.group(2)}"


def _compact_series(values: pd.Series) -> pd.Series:
    return values.astype("string").str.replace(r"\s+", "", regex=True).str.upper()


def lookup_postcode(directory: str | Path, postcode: str, *, chunksize: int = 200_000) -> Origin:
    """Find a postcode's location in an ONS Postcode Directory CSV.

    Parameters
    ----------
    directory
        ONSPD CSV with columns ``pcds`` (or ``pcd``), ``lat`` and ``long``. Read in chunks,
        only those columns, so the full national file (millions of rows) is fine.
    postcode
        Any spacing or case (``"nr2 1ab"``, ``"NR21AB"``).
    chunksize
        Rows read at a time.

    Raises
    ------
    InputError
        If the file is missing or lacks the columns, the postcode is malformed or not
        in the file, or the directory gives it no location.
    """
    wanted = normalise_postcode(postcode)
    compact = wanted.replace(" ", "")
    path = Path(directory)
    if not path.is_file():
        raise InputError(f"postcode directory {str(path)!r} does not exist; expected an ONSPD CSV")
    header = pd.read_csv(path, nrows=0, encoding="utf-8-sig")
    lower = {str(c).strip().lower(): c for c in header.columns}
    code_col = lower.get("pcds") or lower.get("pcd")
    if code_col is None or "lat" not in lower or "long" not in lower:
        raise InputError(
            f"postcode directory {path.name!r} has columns {list(header.columns)[:8]}; "
            "expected 'pcds' (or 'pcd'), 'lat' and 'long' (ONS Postcode Directory)"
        )
    cols = [code_col, lower["lat"], lower["long"]]
    reader = pd.read_csv(
        path, usecols=cols, dtype=str, chunksize=chunksize, encoding="utf-8-sig"
    )
    for chunk in reader:
        hit = chunk[_compact_series(chunk[code_col]) == compact]
        if hit.empty:
            continue
        row = hit.iloc[0]
        lat = pd.to_numeric(row[lower["lat"]], errors="coerce")
        lon = pd.to_numeric(row[lower["long"]], errors="coerce")
        if pd.isna(lat) or pd.isna(lon) or lat >= _NO_GRID_LAT:
            raise InputError(
                f"postcode {wanted} is in {path.name!r} but has no location there "
                f"(lat {row[lower['lat']]!r}, long {row[lower['long']]!r})"
            )
        return Origin(lon=float(lon), lat=float(lat), label=wanted, kind="postcode")
    raise InputError(f"postcode {wanted} is not in {path.name!r}")


def from_place(places: gpd.GeoDataFrame, place_id: str) -> Origin:
    """Return the origin at the place whose ``id`` is ``place_id`` (a home or other place).

    The label is the place id, never its name (homes are sensitive).

    Raises
    ------
    InputError
        If no place has that id or it has no location.
    """
    if "id" not in places.columns:
        raise InputError("the places have no 'id' column; expected canonical place columns")
    hit = places[places["id"].astype(str) == str(place_id)]
    if hit.empty:
        raise InputError(f"no place has id {place_id!r}")
    geom = hit.to_crs(STORAGE_CRS).geometry.iloc[0] if places.crs else None
    if geom is None or geom.is_empty:
        raise InputError(f"place {place_id!r} has no location (or its layer has no CRS)")
    point = geom if geom.geom_type == "Point" else geom.representative_point()
    return Origin(lon=float(point.x), lat=float(point.y), label=str(place_id), kind="place")


def origins_frame(origins: list[Origin]) -> gpd.GeoDataFrame:
    """Return origins as a GeoDataFrame in EPSG:4326 (columns ``label``, ``kind``, ``note``)."""
    return gpd.GeoDataFrame(
        {
            "label": [o.label for o in origins],
            "kind": [o.kind for o in origins],
            "note": [o.note for o in origins],
        },
        geometry=gpd.points_from_xy([o.lon for o in origins], [o.lat for o in origins]),
        crs=STORAGE_CRS,
    )
