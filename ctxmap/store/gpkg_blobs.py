"""GeoPackage binary geometries: a small header (SRS id, envelope) followed by WKB.

See the GeoPackage standard, clause 2.1.3 ("GeoPackageBinary"). The embedded store
writes little-endian blobs with an XY envelope (none for an empty geometry).
"""

from __future__ import annotations

import struct
from typing import Final

import numpy as np
import shapely

#: The SRS id every ctxmap geometry is stored in (EPSG:4326).
SRS_ID: Final = 4326
#: Envelope size in bytes by the header's envelope-contents indicator.
_ENVELOPE_BYTES: Final = {0: 0, 1: 32, 2: 48, 3: 48, 4: 64}


def to_gpkg_blobs(geoms: np.ndarray) -> list[bytes | None]:
    """Encode shapely geometries as GeoPackage binary (little-endian, with envelope)."""
    wkb = shapely.to_wkb(geoms, byte_order=1, output_dimension=2)
    bounds = shapely.bounds(geoms)
    out: list[bytes | None] = []
    for w, b in zip(wkb, bounds, strict=True):
        if w is None:
            out.append(None)
            continue
        if np.isnan(b[0]):  # empty geometry: flag bit 4, no envelope
            out.append(b"GP\x00\x11" + struct.pack("<i", SRS_ID) + w)
            continue
        header = b"GP\x00\x03" + struct.pack("<i4d", SRS_ID, b[0], b[2], b[1], b[3])
        out.append(header + w)
    return out


def from_gpkg_blobs(blobs: list[bytes | None]) -> np.ndarray:
    """Decode GeoPackage binary blobs to shapely geometries (None stays None)."""
    wkb: list[bytes | None] = []
    for blob in blobs:
        if blob is None:
            wkb.append(None)
            continue
        flags = blob[3]
        start = 8 + _ENVELOPE_BYTES.get((flags >> 1) & 0b111, 0)
        wkb.append(bytes(blob[start:]))
    return shapely.from_wkb(np.array(wkb, dtype=object))
