"""Geometry of street graphs for the recommendation step: node and edge arrays, nearest nodes, polygons.

Graphs follow osmnx conventions (``networkx.MultiDiGraph``, node ``x``/``y`` in projected metres, edge
``length`` in metres, an optional ``geometry`` LineString for simplified edges), so the same code reads a
twin's graphs and graphs built from a real city's data. Node ids sort by ``node_key`` (integers first, in
numeric order, then everything else by its text), which is how every tie in the recommendation step is
broken.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import networkx as nx
import numpy as np
import shapely

__all__ = ["EdgeTable", "RecommendError", "as_polygon", "edge_table", "finite_xy", "jsonable_node",
           "nearest_node", "node_arrays", "node_key", "polyline"]


class RecommendError(ValueError):
    """An input of the recommendation step that cannot be used (one line naming the field and the problem)."""


def node_key(n: Hashable) -> tuple:
    """Sort key of a node id: integers first in numeric order, then every other id by its text.

    >>> sorted([10, "b", 2, "a"], key=node_key)
    [2, 10, 'a', 'b']
    """
    if isinstance(n, (int, np.integer)) and not isinstance(n, bool):
        return (0, int(n), "")
    return (1, 0, str(n))


def jsonable_node(n: Hashable) -> Any:
    """A node id as a plain JSON value: integers stay integers, every other id becomes its text."""
    if isinstance(n, (int, np.integer)) and not isinstance(n, bool):
        return int(n)
    return n if isinstance(n, str) else str(n)


def finite_xy(value: Any, field: str) -> tuple[float, float]:
    """``value`` as a finite ``(x, y)``.

    Raises
    ------
    RecommendError
        If it is not two finite numbers.
    """
    try:
        x, y = float(value[0]), float(value[1])
        if len(value) != 2:
            raise ValueError
    except (TypeError, ValueError, IndexError):
        raise RecommendError(f"{field}: expected [x, y] in metres, got {value!r}") from None
    if not (math.isfinite(x) and math.isfinite(y)):
        raise RecommendError(f"{field}: position {value!r} is not finite")
    return x, y


def as_polygon(value: Any, field: str) -> shapely.Polygon | shapely.MultiPolygon:
    """A shapely (multi)polygon from a shapely geometry or a list of ``[x, y]`` vertices (metres).

    Raises
    ------
    RecommendError
        If it is neither, has fewer than 3 vertices, or has no area.
    """
    if isinstance(value, (shapely.Polygon, shapely.MultiPolygon)):
        poly = value
    else:
        try:
            pts = np.asarray(value, dtype=float)
        except (TypeError, ValueError):
            raise RecommendError(f"{field}: not a polygon nor a list of [x, y] vertices") from None
        if pts.ndim != 2 or pts.shape[1] != 2 or len(pts) < 3 or not np.isfinite(pts).all():
            raise RecommendError(f"{field}: a polygon needs at least 3 finite [x, y] vertices")
        poly = shapely.Polygon(pts)
    if poly.is_empty or poly.area <= 0:
        raise RecommendError(f"{field}: the polygon has no area")
    return poly if poly.is_valid else shapely.make_valid(poly)


def node_arrays(graph: nx.MultiDiGraph) -> tuple[list, np.ndarray]:
    """The graph's nodes sorted by ``node_key`` and their ``x``/``y`` as an (N, 2) array (cached)."""
    return _cached(graph).nodes, _cached(graph).xy


def nearest_node(graph: nx.MultiDiGraph, xy: Sequence[float]) -> Hashable:
    """The node nearest ``xy`` (straight line); ties go to the lowest ``node_key``.

    Raises
    ------
    RecommendError
        If the graph has no nodes.
    """
    nodes, coords = node_arrays(graph)
    if not nodes:
        raise RecommendError("graph: it has no nodes")
    d2 = (coords[:, 0] - xy[0]) ** 2 + (coords[:, 1] - xy[1]) ** 2
    return nodes[int(np.argmin(d2))]   # argmin takes the first minimum: nodes are in node_key order


@dataclass(frozen=True, slots=True, eq=False)
class EdgeTable:
    """Every edge of a graph once, in ``(node_key(u), node_key(v), key)`` order.

    ``edges`` are ``(u, v, key)``; ``lines`` the LineStrings walked from u to v (the edge's ``geometry`` when
    it has one, else the straight segment); ``length`` the edge ``length`` (m, else the line's length);
    ``width`` the edge ``width_m`` (m, else ``DEFAULT_WIDTH_M``); ``tree`` an STRtree over ``lines``;
    ``nodes`` the nodes in ``node_key`` order, ``xy`` their positions (N, 2), ``index`` node -> row;
    ``u_idx``/``v_idx`` each edge's end rows.
    """

    edges: list[tuple]
    lines: np.ndarray
    length: np.ndarray
    width: np.ndarray
    tree: shapely.STRtree
    nodes: list
    xy: np.ndarray
    index: dict
    u_idx: np.ndarray    # row of each edge's u in ``nodes``
    v_idx: np.ndarray    # row of each edge's v


#: Width (m) of a walk edge without ``width_m`` (the twin's default walkable width).
DEFAULT_WIDTH_M = 2.0

_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def edge_table(graph: nx.MultiDiGraph) -> EdgeTable:
    """The graph's ``EdgeTable``, built once per graph object (rebuilt if its size changed).

    Raises
    ------
    RecommendError
        A node without finite ``x``/``y``, or an edge with a negative or non-finite ``length`` or a
        ``width_m`` that is not a positive number.
    """
    return _cached(graph)


def _cached(graph: nx.MultiDiGraph) -> EdgeTable:
    # nodes and node pairs (a C-level count per node; ``number_of_edges`` walks every edge key in Python)
    size = (graph.number_of_nodes(), sum(map(len, graph._adj.values())))
    hit = _CACHE.get(graph)
    if hit is not None and hit[0] == size:
        return hit[1]
    table = _build(graph)
    _CACHE[graph] = (size, table)
    return table


def _build(graph: nx.MultiDiGraph) -> EdgeTable:
    nodes = sorted(graph.nodes, key=node_key)
    try:
        xy = np.array([(float(graph.nodes[n]["x"]), float(graph.nodes[n]["y"])) for n in nodes], float)
    except KeyError:
        raise RecommendError("graph: every node needs x and y (projected metres)") from None
    xy = xy.reshape(-1, 2)
    if not np.isfinite(xy).all():
        raise RecommendError("graph: a node has a non-finite x or y")
    index = {n: i for i, n in enumerate(nodes)}
    multi = graph.is_multigraph()
    raw = graph.edges(keys=True, data=True) if multi else ((u, v, 0, d) for u, v, d in graph.edges(data=True))
    rows = sorted(raw, key=lambda e: (node_key(e[0]), node_key(e[1]), node_key(e[2])))
    lines, length, width = [], np.empty(len(rows)), np.empty(len(rows))
    for i, (u, v, _k, d) in enumerate(rows):
        a, b = xy[index[u]], xy[index[v]]
        geom = d.get("geometry")
        if geom is None:
            line = shapely.LineString([a, b])
        else:
            c = np.asarray(geom.coords)
            if u != v and np.hypot(*(c[0] - a)) > np.hypot(*(c[-1] - a)):
                c = c[::-1]                     # walked from u to v
            line = shapely.LineString(c)
        lines.append(line)
        length[i] = float(d.get("length", line.length))
        width[i] = float(d.get("width_m", DEFAULT_WIDTH_M))
    bad = ~np.isfinite(length) | (length < 0) | ~np.isfinite(width) | (width <= 0)
    if bad.any():
        u, v, k, _d = rows[int(np.flatnonzero(bad)[0])]
        raise RecommendError(f"graph: edge ({u}, {v}, {k}) has a negative or non-finite length or width_m")
    lines_arr = np.array(lines, dtype=object)
    edges = [(u, v, k) for u, v, k, _ in rows]
    u_idx = np.array([index[u] for u, _v, _k in edges], dtype=np.int64)
    v_idx = np.array([index[v] for _u, v, _k in edges], dtype=np.int64)
    return EdgeTable(edges, lines_arr, length, width, shapely.STRtree(lines_arr), nodes, xy, index, u_idx,
                     v_idx)


def polyline(table: EdgeTable, edge_ids: Sequence[int], start: Hashable) -> list[list[float]]:
    """The ``[x, y]`` points (rounded to cm) of a walk along the table's edges ``edge_ids`` from node
    ``start``; joints are not repeated."""
    out = [[round(float(v), 2) for v in table.xy[table.index[start]]]]
    for i in edge_ids:
        for x, y in np.asarray(table.lines[i].coords)[1:]:
            p = [round(float(x), 2), round(float(y), 2)]
            if p != out[-1]:
                out.append(p)
    return out
