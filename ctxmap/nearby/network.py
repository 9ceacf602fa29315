"""The walking network: built from an OpenStreetMap extract, cached, loaded.

The network is built once from a local ``.osm.pbf`` or ``.osm`` (XML) file with pyosmium
(the maintained Python binding of libosmium, which reads both formats) and cached on disk
as a NumPy ``.npz`` file keyed by the extract's SHA-256 (never a pickle). Nothing is ever
downloaded.

What counts as walkable
-----------------------
Every OSM way with a ``highway`` tag, except ``motorway``/``motorway_link``, roads that
do not exist yet or any more (``construction``, ``proposed``, ``planned``,
``abandoned``, ``razed``, ``disused``), ``raceway``, ``bus_guideway``, ``escape``, and
ways tagged ``foot=no``/``foot=private``, ``access=no``/``access=private`` (unless
``foot`` is ``yes``/``designated``/``permissive``), or ``area=yes``. Cycleways count
(in Great Britain most are shared with pedestrians) unless ``foot=no``. One-way
restrictions do not apply to people on foot, so the network is undirected. Only the
largest connected part of the network is kept, so a point never snaps onto an
isolated fragment.

Walking over the network (snapping, shortest paths, reachable areas) is in
:mod:`ctxmap.nearby.walking`.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Final

import geopandas as gpd
import networkx as nx
import numpy as np
from pyproj import Transformer
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from ctxmap.errors import InputError
from ctxmap.layers.crs import analysis_crs
from ctxmap.layers.readers import file_sha256
from ctxmap.layers.schemas import STORAGE_CRS

#: Where built networks are cached (relative to the working directory).
DEFAULT_CACHE_DIR: Final = Path("data/cache")

#: Bumped whenever the cache file layout or the walkable rules change.
_CACHE_VERSION: Final = 1

_EXCLUDED_HIGHWAYS: Final = frozenset(
    {
        "motorway",
        "motorway_link",
        "construction",
        "proposed",
        "planned",
        "abandoned",
        "razed",
        "disused",
        "raceway",
        "bus_guideway",
        "escape",
        "no",
    }
)
_FOOT_ALLOWED: Final = frozenset({"yes", "designated", "permissive"})
_NO_ACCESS: Final = frozenset({"no", "private"})


def is_walkable(tags: Mapping[str, str]) -> bool:
    """Return whether an OSM way with ``tags`` can be walked along (rules in the module doc)."""
    highway = tags.get("highway")
    if not highway or highway in _EXCLUDED_HIGHWAYS:
        return False
    if tags.get("area") == "yes":
        return False
    foot = tags.get("foot")
    if foot in _NO_ACCESS:
        return False
    return not (tags.get("access") in _NO_ACCESS and foot not in _FOOT_ALLOWED)


@dataclass(frozen=True)
class WalkNetwork:
    """An undirected walking network in a metric CRS.

    Parameters
    ----------
    crs
        The metric CRS of ``x``/``y`` and of every length.
    x, y
        Node coordinates, one entry per node.
    osm_ids
        The OSM node id of each node.
    edge_u, edge_v
        Node indices (into ``x``/``y``) of each edge's ends; each edge appears once.
    edge_len
        Length of each edge in metres.
    source
        The name of the file the network was built from.
    file_hash
        SHA-256 of that file.
    """

    crs: str
    x: np.ndarray
    y: np.ndarray
    osm_ids: np.ndarray
    edge_u: np.ndarray
    edge_v: np.ndarray
    edge_len: np.ndarray
    source: str = ""
    file_hash: str = field(default="", repr=False)

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return int(self.x.size)

    @property
    def n_edges(self) -> int:
        """Number of (undirected) edges."""
        return int(self.edge_u.size)

    @cached_property
    def matrix(self) -> csr_matrix:
        """Symmetric sparse adjacency matrix of edge lengths."""
        n = self.n_nodes
        rows = np.concatenate([self.edge_u, self.edge_v])
        cols = np.concatenate([self.edge_v, self.edge_u])
        data = np.concatenate([self.edge_len, self.edge_len])
        return csr_matrix((data, (rows, cols)), shape=(n, n))

    @cached_property
    def tree(self) -> cKDTree:
        """KD-tree of node coordinates, for snapping."""
        return cKDTree(np.column_stack([self.x, self.y]))


#: ``progress(stage, count)``: how far a network build has got (e.g. ``("ways read", 200000)``).
NetworkProgress = Callable[[str, int], None]
_PROGRESS_EVERY = 100_000


def _read_segments(
    path: Path, progress: NetworkProgress | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Read walkable way segments: (node refs a/b, lon/lat a/b) from an OSM file."""
    import osmium  # imported here: only needed when a network is built

    refs: list[tuple[int, int]] = []
    coords: list[tuple[float, float, float, float]] = []
    processor = osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY)
    ways = 0
    for obj in processor.with_locations():
        if not isinstance(obj, osmium.osm.Way):
            continue
        ways += 1
        if progress is not None and ways % _PROGRESS_EVERY == 0:
            progress("ways read", ways)
        if not is_walkable(dict(obj.tags)):
            continue
        prev: tuple[int, float, float] | None = None
        for nd in obj.nodes:
            if not nd.location.valid():
                prev = None  # the way runs off the extract: split it there
                continue
            here = (nd.ref, nd.lon, nd.lat)
            if prev is not None and prev[0] != here[0]:
                refs.append((prev[0], here[0]))
                coords.append((prev[1], prev[2], here[1], here[2]))
            prev = here
    if progress is not None:
        progress("ways read", ways)
        progress("walkable segments", len(refs))
    ref_arr = np.asarray(refs, dtype=np.int64).reshape(-1, 2)
    coord_arr = np.asarray(coords, dtype=float).reshape(-1, 4)
    return ref_arr, coord_arr[:, :2], coord_arr[:, 2:]


def build_network(path: str | Path, progress: NetworkProgress | None = None) -> WalkNetwork:
    """Build the walking network of an OSM extract (``.osm.pbf``, ``.osm`` XML), uncached.

    ``progress`` is called as the file is read (see :data:`NetworkProgress`).

    Raises
    ------
    InputError
        If the file is missing, cannot be read as OSM data, or holds no walkable way.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(
            f"network file {str(path)!r} does not exist; expected an .osm.pbf or .osm file"
        )
    try:
        refs, lonlat_a, lonlat_b = _read_segments(path, progress)
    except RuntimeError as exc:  # libosmium reports unreadable input this way
        raise InputError(
            f"network file {path.name!r} could not be read as OpenStreetMap data ({exc}); "
            "expected an .osm.pbf or .osm (XML) extract"
        ) from None
    if len(refs) == 0:
        raise InputError(
            f"network file {path.name!r} has no walkable street (no OSM way with a usable "
            "highway tag and node locations); expected a street-network extract"
        )
    ids, inverse = np.unique(refs.ravel(), return_inverse=True)
    inverse = inverse.reshape(-1, 2)
    lonlat = np.empty((ids.size, 2))
    lonlat[inverse[:, 0]] = lonlat_a
    lonlat[inverse[:, 1]] = lonlat_b
    corners = gpd.GeoDataFrame(
        geometry=gpd.points_from_xy(lonlat[:, 0], lonlat[:, 1]), crs=STORAGE_CRS
    )
    crs = analysis_crs(corners)
    x, y = Transformer.from_crs(STORAGE_CRS, crs, always_xy=True).transform(
        lonlat[:, 0], lonlat[:, 1]
    )
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    u, v = np.minimum(inverse[:, 0], inverse[:, 1]), np.maximum(inverse[:, 0], inverse[:, 1])
    length = np.hypot(x[u] - x[v], y[u] - y[v])
    # One edge per node pair (the shortest when ways overlap).
    order = np.lexsort((length, v, u))
    u, v, length = u[order], v[order], length[order]
    first = np.ones(u.size, dtype=bool)
    first[1:] = (u[1:] != u[:-1]) | (v[1:] != v[:-1])
    u, v, length = u[first], v[first], length[first]
    # Keep the largest connected part.
    n = ids.size
    adjacency = csr_matrix((np.ones(u.size), (u, v)), shape=(n, n))
    _, labels = connected_components(adjacency, directed=False)
    biggest = np.argmax(np.bincount(labels))
    keep = labels == biggest
    renumber = np.full(n, -1, dtype=np.int64)
    renumber[keep] = np.arange(int(keep.sum()))
    edge_keep = keep[u]
    return WalkNetwork(
        crs=str(crs),
        x=x[keep],
        y=y[keep],
        osm_ids=ids[keep],
        edge_u=renumber[u[edge_keep]],
        edge_v=renumber[v[edge_keep]],
        edge_len=length[edge_keep],
        source=path.name,
        file_hash=file_sha256(path),
    )


def cache_path(path: str | Path, cache_dir: str | Path = DEFAULT_CACHE_DIR) -> Path:
    """Return where the network built from ``path`` is cached (keyed by the file's hash)."""
    digest = file_sha256(path)
    return Path(cache_dir) / f"walknet-{digest[:24]}-v{_CACHE_VERSION}.npz"


def _save(net: WalkNetwork, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".npz.tmp")
    os.close(fd)
    try:
        with open(tmp, "wb") as handle:
            np.savez_compressed(
                handle,
                crs=np.array(net.crs),
                source=np.array(net.source),
                file_hash=np.array(net.file_hash),
                x=net.x,
                y=net.y,
                osm_ids=net.osm_ids,
                edge_u=net.edge_u,
                edge_v=net.edge_v,
                edge_len=net.edge_len,
            )
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _load(target: Path) -> WalkNetwork:
    with np.load(target, allow_pickle=False) as data:
        return WalkNetwork(
            crs=str(data["crs"]),
            x=data["x"],
            y=data["y"],
            osm_ids=data["osm_ids"],
            edge_u=data["edge_u"],
            edge_v=data["edge_v"],
            edge_len=data["edge_len"],
            source=str(data["source"]),
            file_hash=str(data["file_hash"]),
        )


def load_network(
    path: str | Path,
    cache_dir: str | Path | None = DEFAULT_CACHE_DIR,
    progress: NetworkProgress | None = None,
) -> WalkNetwork:
    """Return the walking network of an OSM extract, from the on-disk cache when built before.

    Parameters
    ----------
    path
        An ``.osm.pbf`` or ``.osm`` (XML) file. Nothing is downloaded.
    cache_dir
        Folder for the cache (created if needed); ``None`` builds without caching.
    progress
        Called while a network is built (not when it comes from the cache).

    Raises
    ------
    InputError
        As :func:`build_network`.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(
            f"network file {str(path)!r} does not exist; expected an .osm.pbf or .osm file"
        )
    if cache_dir is None:
        return build_network(path, progress)
    target = cache_path(path, cache_dir)
    if target.is_file():
        try:
            return _load(target)
        except (OSError, ValueError, KeyError):
            pass  # a damaged cache file is rebuilt below
    net = build_network(path, progress)
    _save(net, target)
    return net


def to_networkx(net: WalkNetwork) -> nx.Graph:
    """Return the network as an undirected :class:`networkx.Graph`.

    Nodes are the node indices with ``x``, ``y`` (in ``net.crs``) and ``osmid``; edges have
    ``length`` in metres. The graph's ``crs`` attribute is ``net.crs``.
    """
    graph = nx.Graph(crs=net.crs)
    graph.add_nodes_from(
        (i, {"x": float(net.x[i]), "y": float(net.y[i]), "osmid": int(net.osm_ids[i])})
        for i in range(net.n_nodes)
    )
    graph.add_weighted_edges_from(
        zip(net.edge_u.tolist(), net.edge_v.tolist(), net.edge_len.tolist(), strict=True),
        weight="length",
    )
    return graph
