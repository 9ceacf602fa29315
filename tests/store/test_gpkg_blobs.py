"""GeoPackage binary geometries: the points read straight from the bytes equal the WKB route."""

from __future__ import annotations

import gc
import struct

import numpy as np
import shapely
from shapely.geometry import LineString, Point, Polygon

from ctxmap.store.gpkg_blobs import from_gpkg_blobs, to_gpkg_blobs
from ctxmap.store.layer_rows import without_cycle_collection


def _by_wkb(blobs: list[bytes | None]) -> list[object]:
    """The decoding by the standard's header sizes and shapely's WKB reader, one by one."""
    sizes = {0: 0, 1: 32, 2: 48, 3: 48, 4: 64}
    out: list[object] = []
    for blob in blobs:
        if blob is None:
            out.append(None)
            continue
        start = 8 + sizes[(blob[3] >> 1) & 0b111]
        out.append(shapely.from_wkb(bytes(blob[start:])))
    return out


def test_points_and_every_other_geometry_decode_as_their_wkb():
    geoms = np.array([Point(1.2345678901234, 52.6), None, Point(-0.5, 51.25),
                      Polygon([(0, 0), (1, 0), (1, 1)]), Point(), LineString([(0, 0), (2, 3)]),
                      Point(1e-300, -1e300)], dtype=object)
    blobs = to_gpkg_blobs(geoms)
    # a big-endian point written by another tool: XY envelope, big-endian WKB
    wkb_be = b"\x00" + struct.pack(">I2d", 1, 3.5, -7.25)
    blobs.append(b"GP\x00\x02" + struct.pack(">i4d", 4326, 3.5, 3.5, -7.25, -7.25) + wkb_be)
    decoded = from_gpkg_blobs(blobs)
    expected = _by_wkb(blobs)
    assert len(decoded) == len(expected)
    for got, want in zip(decoded, expected, strict=True):
        if want is None:
            assert got is None
        else:
            assert shapely.equals_exact(got, want, tolerance=0) or (got.is_empty and want.is_empty)
            assert got.geom_type == want.geom_type
    assert decoded[7].x == 3.5 and decoded[7].y == -7.25
    assert decoded[0].x == 1.2345678901234  # bit for bit, not rounded


def test_a_read_pauses_the_cycle_collector_and_restores_it():
    assert gc.isenabled()
    with without_cycle_collection():
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with without_cycle_collection():
            pass
        assert not gc.isenabled()  # left as it was found
    finally:
        gc.enable()
