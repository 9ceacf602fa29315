"""Stores say what they are: metadata, the bundled sample's mark and the study area.

The sample is recognised by the mark inside the store, never by its path; the study
area's km² is recomputed here on the ellipsoid (pyproj.Geod), not in the metric CRS.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import shapely
from pyproj import Geod
from shapely.geometry import box

from ctxmap.store.geopackage import DEFAULT_STORE_PATH, GeoPackageStore
from ctxmap.store.marks import (
    DATASET_KEY,
    SAMPLE_DATASET,
    make_study_area,
    read_study_area,
    write_study_area,
)
from ctxmap.store.opening import is_bundled_sample, store_summary
from ctxmap.store.protocol import Store

GEOD = Geod(ellps="WGS84")


def geodesic_km2(geom: shapely.Geometry) -> float:
    return abs(GEOD.geometry_area_perimeter(geom)[0]) / 1e6


def test_metadata_round_trip_on_both_stores(both_stores: Store) -> None:
    store = both_stores
    assert store.metadata("name") is None
    before = store.layers_version()
    store.set_metadata("name", "Great Yarmouth")
    assert store.metadata("name") == "Great Yarmouth"
    assert store.layers_version() != before  # a new study area must refresh cached analyses
    store.set_metadata("name", "Yarmouth")
    assert store.metadata("name") == "Yarmouth"
    for reserved in ("schema_version", "metric_srid", "metadata_changes"):
        with pytest.raises(ValueError, match="kept by the store"):
            store.set_metadata(reserved, "1")
    assert not is_bundled_sample(store)
    store.set_metadata(DATASET_KEY, SAMPLE_DATASET)
    assert is_bundled_sample(store)


def test_the_bundled_sample_is_marked_and_a_copy_anywhere_still_is(tmp_path: Path) -> None:
    sample = GeoPackageStore(DEFAULT_STORE_PATH, create=False)
    assert is_bundled_sample(sample)
    copy = tmp_path / "elsewhere.gpkg"
    shutil.copy(DEFAULT_STORE_PATH, copy)
    assert is_bundled_sample(GeoPackageStore(copy, create=False))
    assert "the bundled sample: fictional homes, public data" in store_summary(sample)


def test_a_store_at_the_samples_path_is_not_the_sample(tmp_path: Path) -> None:
    other = GeoPackageStore(tmp_path / "data" / "ctxmap.gpkg")  # same file name, no mark
    assert not is_bundled_sample(other)
    other.set_metadata("name", "Great Yarmouth")
    assert store_summary(other).endswith("(Great Yarmouth)")


def test_sample_study_area_is_the_norwich_outline() -> None:
    area = read_study_area(GeoPackageStore(DEFAULT_STORE_PATH, create=False))
    assert area is not None
    assert (area.label, area.source) == ("Norwich", "norwich_lad_2013.geojson")
    assert area.km2 == pytest.approx(geodesic_km2(area.geometry), rel=2e-3)
    assert area.description.startswith("Norwich (39.0 km², from norwich_lad_2013.geojson")


def test_study_area_round_trip_and_km2(tmp_path: Path) -> None:
    store = GeoPackageStore(tmp_path / "s.gpkg")
    assert read_study_area(store) is None
    square = box(1.60, 52.55, 1.75, 52.65)  # Great Yarmouth-ish, about 10 x 11 km
    area = make_study_area(square, "Test box", "box.geojson")
    assert area.km2 == pytest.approx(geodesic_km2(square), rel=2e-3)
    write_study_area(store, area)
    back = read_study_area(store)
    assert back is not None and back.geometry.equals(square)
    assert back.description == f"Test box ({area.km2:,.1f} km², from box.geojson)"


def test_a_bowtie_outline_is_repaired_and_a_line_refused() -> None:
    bowtie = shapely.Polygon([(1.6, 52.5), (1.7, 52.6), (1.7, 52.5), (1.6, 52.6)])
    assert not bowtie.is_valid
    area = make_study_area(bowtie, "Bowtie", "b.geojson")
    assert area.geometry.is_valid and area.km2 > 0
    from ctxmap.errors import InputError

    with pytest.raises(InputError, match="expected a polygon"):
        make_study_area(shapely.LineString([(1.6, 52.5), (1.7, 52.6)]), "L", "l.geojson")


def test_migrating_a_store_keeps_its_name_and_study_area_not_the_mark(tmp_path: Path) -> None:
    from ctxmap.store.migrate import migrate_store

    target = tmp_path / "copy.gpkg"
    migrate_store(DEFAULT_STORE_PATH, target)
    copy = GeoPackageStore(target, create=False)
    assert not is_bundled_sample(copy)  # a store of its own: audited
    source_area = read_study_area(GeoPackageStore(DEFAULT_STORE_PATH, create=False))
    copied_area = read_study_area(copy)
    assert source_area is not None and copied_area is not None
    assert copied_area.description == source_area.description
    assert copied_area.geometry.equals(source_area.geometry)
