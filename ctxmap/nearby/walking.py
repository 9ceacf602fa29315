"""Walking distances and times: along a :class:`~ctxmap.nearby.network.WalkNetwork`, or estimated.

Without a network a walk is estimated as the straight line times a detour factor
(:func:`estimate_walk_m`), and says so in its ``walk_basis``.

Distances
---------
Edge lengths are straight segments between consecutive OSM nodes, measured in the
network's metric CRS (:func:`ctxmap.layers.crs.analysis_crs` of the extract: British National
Grid in Great Britain). A point is *snapped* to its nearest network node; the straight
snapping distances at both ends are added to the network distance, and the result is
never shorter than the straight line between the two points (it is clamped with
``max``). Shortest paths use SciPy's compiled Dijkstra (``scipy.sparse.csgraph``):
one run per origin over all targets, or one multi-source run for coverage, never one
run per pair. :func:`ctxmap.nearby.network.to_networkx` gives the same network as a
:mod:`networkx` graph.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import shapely
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from ctxmap.errors import InputError
from ctxmap.nearby.network import WalkNetwork

#: Default walking speed, km/h (80 m per minute).
DEFAULT_SPEED_KMH: Final = 4.8

#: Default detour factor: walking distance ≈ straight line × this, without a network.
DEFAULT_DETOUR: Final = 1.3

#: ``walk_basis`` value when walking distances come from the street network.
NETWORK_BASIS: Final = "network"

def metres_per_minute(speed_kmh: float = DEFAULT_SPEED_KMH) -> float:
    """Return the walking speed ``speed_kmh`` in metres per minute (4.8 km/h → 80)."""
    if not speed_kmh > 0:
        raise InputError(f"walking speed must be a positive number of km/h; got {speed_kmh!r}")
    return speed_kmh * 1000.0 / 60.0


def estimate_basis(detour: float = DEFAULT_DETOUR, speed_kmh: float = DEFAULT_SPEED_KMH) -> str:
    """Return the ``walk_basis`` of an estimate: ``"estimate: straight line x1.3 at 4.8 km/h"``."""
    return f"estimate: straight line x{detour:g} at {speed_kmh:g} km/h"


def estimate_walk_m(straight_m: np.ndarray, detour: float = DEFAULT_DETOUR) -> np.ndarray:
    """Estimate walking distance without a network: straight line × ``detour``.

    Raises
    ------
    InputError
        If ``detour`` is below 1 (a walk is never shorter than the straight line).
    """
    if not detour >= 1.0:
        raise InputError(f"detour factor must be at least 1; got {detour!r}")
    return np.asarray(straight_m, dtype=float) * detour


def snap(net: WalkNetwork, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the nearest node index and straight snapping distance (m) of each point.

    ``x``/``y`` must be in ``net.crs``.
    """
    dist, idx = net.tree.query(np.column_stack([np.asarray(x, float), np.asarray(y, float)]))
    return np.asarray(idx, dtype=np.int64), np.asarray(dist, dtype=float)


@dataclass(frozen=True)
class WalkResult:
    """Walking distances from one origin to several targets (metres, ``inf`` if unreachable).

    ``walk_m`` = ``snap_origin_m`` + ``network_m`` + ``snap_target_m``, but never less than
    ``straight_m``. ``routes`` holds one LineString per target in the network's CRS
    (``None`` when unreachable), from the origin through the network to the target.
    """

    walk_m: np.ndarray
    network_m: np.ndarray
    straight_m: np.ndarray
    snap_origin_m: float
    snap_target_m: np.ndarray
    routes: list[shapely.LineString | None]


def _path(pred: np.ndarray, target: int) -> list[int]:
    nodes = [target]
    while pred[nodes[-1]] >= 0:
        nodes.append(int(pred[nodes[-1]]))
    return nodes[::-1]


def walk_from(
    net: WalkNetwork,
    origin_xy: tuple[float, float],
    targets_x: np.ndarray,
    targets_y: np.ndarray,
    *,
    with_routes: bool = True,
) -> WalkResult:
    """Walk from one origin to every target with ONE single-source Dijkstra run.

    Coordinates are in ``net.crs``.
    """
    tx, ty = np.asarray(targets_x, float), np.asarray(targets_y, float)
    ox, oy = float(origin_xy[0]), float(origin_xy[1])
    o_node, o_snap = snap(net, np.array([ox]), np.array([oy]))
    t_nodes, t_snap = snap(net, tx, ty)
    straight = np.hypot(tx - ox, ty - oy)
    if with_routes:
        dist, pred = dijkstra(
            net.matrix, directed=False, indices=int(o_node[0]), return_predecessors=True
        )
    else:
        dist = dijkstra(net.matrix, directed=False, indices=int(o_node[0]))
        pred = None
    network_m = dist[t_nodes]
    walk = np.maximum(o_snap[0] + network_m + t_snap, straight)
    routes: list[shapely.LineString | None] = []
    for i, node in enumerate(t_nodes):
        if pred is None or not np.isfinite(network_m[i]):
            routes.append(None)
            continue
        path = _path(pred, int(node))
        xs = np.concatenate([[ox], net.x[path], [tx[i]]])
        ys = np.concatenate([[oy], net.y[path], [ty[i]]])
        routes.append(shapely.LineString(np.column_stack([xs, ys])))
    return WalkResult(
        walk_m=walk,
        network_m=network_m,
        straight_m=straight,
        snap_origin_m=float(o_snap[0]),
        snap_target_m=t_snap,
        routes=routes,
    )


def multi_source_walk(
    net: WalkNetwork, sources_x: np.ndarray, sources_y: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Walking distance from the nearest source to every node, with ONE multi-source run.

    Each source joins the network through a virtual node linked to its snapped node by
    its snapping distance, so the distance to a node includes the source's snapping.

    Returns
    -------
    dist, nearest
        Per network node: metres to the nearest source (``inf`` if none reachable) and
        the index of that source (``-1`` if none).
    """
    sx, sy = np.asarray(sources_x, float), np.asarray(sources_y, float)
    n, k = net.n_nodes, sx.size
    if k == 0:
        return np.full(n, np.inf), np.full(n, -1, dtype=np.int64)
    s_nodes, s_snap = snap(net, sx, sy)
    virtual = np.arange(n, n + k)
    # Zero-length snaps still need a stored edge: csgraph drops explicit zeros.
    weight = np.maximum(s_snap, 1e-9)
    rows = np.concatenate([net.edge_u, net.edge_v, virtual, s_nodes])
    cols = np.concatenate([net.edge_v, net.edge_u, s_nodes, virtual])
    data = np.concatenate([net.edge_len, net.edge_len, weight, weight])
    graph = csr_matrix((data, (rows, cols)), shape=(n + k, n + k))
    dist, _, sources = dijkstra(
        graph, directed=False, indices=virtual, min_only=True, return_predecessors=True
    )
    nearest = np.where(sources >= n, sources - n, -1)
    return dist[:n], nearest[:n].astype(np.int64)


def walk_to_nearest(
    net: WalkNetwork,
    sources_x: np.ndarray,
    sources_y: np.ndarray,
    targets_x: np.ndarray,
    targets_y: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """For each target, the walk (m) to its nearest source and that source's index.

    One multi-source Dijkstra run for all targets. Distances are clamped to at least
    the straight line to the chosen source; ``inf`` and ``-1`` when none is reachable.
    """
    tx, ty = np.asarray(targets_x, float), np.asarray(targets_y, float)
    sx, sy = np.asarray(sources_x, float), np.asarray(sources_y, float)
    dist, nearest = multi_source_walk(net, sx, sy)
    t_nodes, t_snap = snap(net, tx, ty)
    chosen = nearest[t_nodes]
    walk = dist[t_nodes] + t_snap
    ok = chosen >= 0
    straight = np.zeros(tx.size)
    straight[ok] = np.hypot(tx[ok] - sx[chosen[ok]], ty[ok] - sy[chosen[ok]])
    walk = np.where(ok, np.maximum(walk, straight), np.inf)
    return walk, chosen


def reachable_area(
    net: WalkNetwork,
    sources_x: np.ndarray,
    sources_y: np.ndarray,
    budget_m: float,
    *,
    buffer_m: float = 25.0,
) -> shapely.Geometry:
    """Return the area (in ``net.crs``) within ``budget_m`` walk of any source.

    The reachable parts of network edges (whole edges, and the reachable end of edges
    only partly within the budget) are buffered by ``buffer_m`` and merged. An empty
    polygon when there is no source.
    """
    dist, _ = multi_source_walk(net, sources_x, sources_y)
    u, v, length = net.edge_u, net.edge_v, net.edge_len
    du, dv = dist[u], dist[v]
    parts: list[np.ndarray] = []
    for a, b, da in ((u, v, du), (v, u, dv)):
        # Portion of each edge reachable from end ``a``: up to (budget - da) metres.
        reach = np.clip((budget_m - da) / np.where(length > 0, length, 1.0), 0.0, 1.0)
        reach = np.where(np.isfinite(da), reach, 0.0)
        sel = reach > 0
        if sel.any():
            ax, ay = net.x[a[sel]], net.y[a[sel]]
            bx = ax + (net.x[b[sel]] - ax) * reach[sel]
            by = ay + (net.y[b[sel]] - ay) * reach[sel]
            parts.append(np.stack([np.column_stack([ax, ay]), np.column_stack([bx, by])], 1))
    pieces: list[shapely.Geometry] = []
    if parts:
        segments = np.concatenate(parts)
        pieces.extend(shapely.linestrings(segments))
    # Each source is reachable itself, and so is its snapping line (within the budget).
    sx, sy = np.asarray(sources_x, float), np.asarray(sources_y, float)
    if sx.size and budget_m >= 0:
        s_nodes, s_snap = snap(net, sx, sy)
        pieces.extend(shapely.points(sx, sy))
        frac = np.clip(budget_m / np.where(s_snap > 0, s_snap, 1.0), 0.0, 1.0)
        ex = sx + (net.x[s_nodes] - sx) * frac
        ey = sy + (net.y[s_nodes] - sy) * frac
        lines = np.stack([np.column_stack([sx, sy]), np.column_stack([ex, ey])], 1)
        pieces.extend(shapely.linestrings(lines[s_snap > 0]))
    if not pieces:
        return shapely.Polygon()
    return shapely.union_all(shapely.buffer(np.asarray(pieces, dtype=object), buffer_m))
