"""GeoPackage binary geometries: a small header (SRS id, envelope) followed by WKB.

See the GeoPackage standard, clause 2.1.3 ("GeoPackageBinary"). The embedded store
writes little-endian blobs with an XY envelope (none for an empty geometry).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import Final

import numpy as np
import shapely

#: The SRS id every ctxmap geometry is stored in (EPSG:4326).
SRS_ID: Final = 4326
#: Envelope size in bytes by the header's envelope-contents indicator.
_ENVELOPE_BYTES: Final = {0: 0, 1: 32, 2: 48, 3: 48, 4: 64}
#: A point as :func:`to_gpkg_blobs` writes it: 8-byte header, XY envelope, 21-byte WKB.
_POINT_BLOB_BYTES: Final = 61
#: Its header's first bytes ("GP", version 0, flags: little-endian, XY envelope) ...
_POINT_HEADER: Final = np.frombuffer(b"GP\x00\x03", dtype=np.uint8)
#: ... and its WKB's (little-endian, type 1 = 2-D point).
_POINT_WKB: Final = np.frombuffer(b"\x01\x01\x00\x00\x00", dtype=np.uint8)


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


def from_gpkg_blobs(blobs: Sequence[bytes | None]) -> np.ndarray:
    """Decode GeoPackage binary blobs to shapely geometries (None stays None).

    Points as this store writes them (little-endian header with an XY envelope, then a
    little-endian 2-D WKB point: 61 bytes) are read straight from the bytes in one step;
    any other blob goes through ``shapely.from_wkb``. Both give the same geometries.
    """
    n = len(blobs)
    out = np.full(n, None, dtype=object)
    sizes = np.fromiter((0 if b is None else len(b) for b in blobs), dtype=np.int64, count=n)
    fast = np.flatnonzero(sizes == _POINT_BLOB_BYTES)
    if len(fast):
        raw = np.frombuffer(b"".join([blobs[i] or b"" for i in fast.tolist()]),
                            dtype=np.uint8).reshape(len(fast), _POINT_BLOB_BYTES)
        ok = (raw[:, :4] == _POINT_HEADER).all(axis=1) & (raw[:, 40:45] == _POINT_WKB).all(axis=1)
        xy = raw[ok, 45:61].copy().view("<f8")
        out[fast[ok]] = shapely.points(xy[:, 0], xy[:, 1])
        sizes[fast[ok]] = 0  # done
    rest = np.flatnonzero(sizes > 0)
    if len(rest):
        wkb: list[bytes] = []
        for i in rest.tolist():
            blob = blobs[i] or b""  # sizes > 0: never None
            start = 8 + _ENVELOPE_BYTES.get((blob[3] >> 1) & 0b111, 0)
            wkb.append(bytes(blob[start:]))
        out[rest] = shapely.from_wkb(np.array(wkb, dtype=object))
    return out
