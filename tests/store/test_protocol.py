"""Both stores implement the one ``Store`` protocol, and behave alike through it."""

from __future__ import annotations

import geopandas as gpd
import pytest
from shapely.geometry import Point
from sqlalchemy import text

from ctxmap.store.engine import RecordRefusedError
from ctxmap.store.geopackage import GeoPackageStore
from ctxmap.store.postgis import PostGISStore
from ctxmap.store.protocol import Store


def test_both_store_classes_have_every_protocol_method() -> None:
    members = [m for m in vars(Store) if not m.startswith("_") and m != "path"]  # path: per store
    assert "records_transaction" in members
    for cls in (GeoPackageStore, PostGISStore):
        missing = [m for m in members if not hasattr(cls, m)]
        assert not missing, f"{cls.__name__} lacks {missing}"


def test_each_store_is_a_store_and_works_through_the_protocol(both_stores: object) -> None:
    assert isinstance(both_stores, Store)
    store: Store = both_stores
    homes = gpd.GeoDataFrame({"id": ["h1", "h2"], "name": ["A", "B"]},
                             geometry=[Point(1.3, 52.6), None], crs="EPSG:4326")
    before = store.layers_version()
    record = store.write("homes", homes, file="homes.csv", user="sam")
    assert (record.rows, record.mapped, record.unmapped) == (2, 1, 1)
    assert store.layers_version() != before
    assert store.read("homes")["id"].tolist() == ["h1", "h2"]
    assert store.counts()["homes"] == {"rows": 2, "mapped": 1, "unmapped": 1}
    assert store.imports()["imported_by"].tolist() == ["sam"]
    assert store.current_user()
    assert store.schema_version >= 4
    assert str(store.path)
    with store.records() as con:
        partners = con.execute(text("SELECT count(*) FROM ctx_partners")).scalar_one()
    assert partners > 0
    with pytest.raises(RecordRefusedError, match="UNIQUE constraint failed"), \
            store.records_transaction() as con:
        con.execute(text("INSERT INTO ctx_partners (name) VALUES ('Local police')"))
    with store.records() as con:  # the refused transaction left nothing behind
        assert con.execute(text("SELECT count(*) FROM ctx_partners")).scalar_one() == partners
    assert store.layers_version() == store.layers_version()
