"""Coordinator scope and contexts as places: who sees which contexts, and contexts on the map."""

from __future__ import annotations

import datetime as dt
from typing import Final

import geopandas as gpd
import pandas as pd
import shapely

from ctxmap.cases.repository import list_contexts
from ctxmap.layers.schemas import STORAGE_CRS
from ctxmap.store.protocol import Store
from ctxmap.store.record_tables import ctx_contexts

# --------------------------------------------------------------------------- scope and places
# (added for the contexts-of-concern journeys; the functions above are unchanged)

#: ``layer`` value of contexts ranked among the places (see :func:`contexts_as_places`).
CONTEXTS_LAYER: Final = "contexts"
#: The role that sees only the contexts it leads (``ctxmap.privacy.roles.COORDINATOR``).
COORDINATOR_ROLE: Final = "coordinator"


def contexts_for_user(store: Store, user: str, role: str,
                      today: dt.date | None = None) -> pd.DataFrame:
    """The contexts a user may see: a coordinator only those they lead, others all.

    Parameters
    ----------
    store
        The store.
    user
        The signed-in user's name (``ctxmap.privacy.roles.User.name``).
    role
        Their role; for ``"coordinator"`` only contexts whose ``lead_worker`` is
        ``user`` are kept (compared ignoring case and outer spaces).
    today
        For the overdue counts (default: today).

    Returns
    -------
    DataFrame
        :func:`list_contexts`'s columns plus ``lead_worker``, same order.
    """
    frame = list_contexts(store, today)
    c = ctx_contexts.c
    with store.records() as con:
        leads = dict(con.execute(ctx_contexts.select().with_only_columns(c.id, c.lead_worker))
                     .all())
    frame = frame.copy()
    frame["lead_worker"] = [str(leads.get(i) or "") for i in frame["id"]]
    if role != COORDINATOR_ROLE:
        return frame
    me = str(user).strip().casefold()
    mine = frame["lead_worker"].str.strip().str.casefold() == me
    return frame.loc[mine.to_numpy()].reset_index(drop=True)


def contexts_as_places(store: Store) -> gpd.GeoDataFrame:
    """Every located context as a place to rank among homes, youth centres and safe places.

    A point context is its point; an area (a drawn polygon) is its representative
    point (a point guaranteed inside it). Online spaces (no location) are left out.
    Nothing about young people is read.

    Returns
    -------
    GeoDataFrame
        EPSG:4326 points with the place columns ``id, name, category, address,
        opening_hours, source`` (``category`` is the context kind, ``address`` and
        ``opening_hours`` empty, ``source`` ``"context of concern (<status>)"``),
        ``layer`` = ``"contexts"`` and ``location`` (``"point"`` or
        ``"representative point of the area"``), ordered by id.
    """
    c = ctx_contexts.c
    with store.records() as con:
        rows = con.execute(ctx_contexts.select()
                           .with_only_columns(c.id, c.name, c.kind, c.status, c.geometry_wkt)
                           .where(c.geometry_wkt.is_not(None)).order_by(c.id)).mappings().all()
    recs, geoms = [], []
    for r in rows:
        geom = shapely.from_wkt(r["geometry_wkt"])
        if geom is None or geom.is_empty:
            continue
        is_point = geom.geom_type == "Point"
        recs.append({"id": r["id"], "name": r["name"], "category": r["kind"], "address": "",
                     "opening_hours": "", "source": f"context of concern ({r['status']})",
                     "layer": CONTEXTS_LAYER,
                     "location": "point" if is_point else "representative point of the area"})
        geoms.append(geom if is_point else geom.representative_point())
    cols = ["id", "name", "category", "address", "opening_hours", "source", "layer", "location"]
    frame = pd.DataFrame(recs, columns=cols).astype("object")
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, crs=STORAGE_CRS),
                            crs=STORAGE_CRS)


def contexts_signature(store: Store) -> str:
    """A text that changes whenever a context is added or changed (a cache key)."""
    c = ctx_contexts.c
    with store.records() as con:
        rows = con.execute(ctx_contexts.select().with_only_columns(c.updated_at, c.version)
                           ).all()
    last = max((r[0] for r in rows), default=None)
    versions = sum(r[1] for r in rows) if rows else None
    return f"{len(rows)}|{last}|{versions}"
