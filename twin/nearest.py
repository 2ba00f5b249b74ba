"""Spatial queries on a twin graph (node ``x``/``y`` in metres): the one nearest-node lookup, edges near a
point, nodes on a ring.

Every part of the testbed that needs "the graph node closest to this point" (place resolution, assets,
attackers and responders on the walk and drive graphs) asks a ``NodeIndex`` (a KD-tree over the nodes);
``node_index`` keeps one per graph object so the tree is built once.
"""

from __future__ import annotations

import weakref
from typing import Any

import networkx as nx
import numpy as np
import shapely
from scipy.spatial import cKDTree

__all__ = ["NodeIndex", "edges_within", "node_index", "ring_nodes"]


class NodeIndex:
    """Nodes of ``graph`` in its own node order, their positions (n, 2) and a KD-tree over them.

    >>> g = nx.Graph(); g.add_node("a", x=0.0, y=0.0); g.add_node("b", x=10.0, y=0.0)
    >>> NodeIndex(g).nearest((7.0, 1.0))
    'b'
    """

    def __init__(self, graph: nx.Graph | None = None, *, nodes: list | None = None, xy=None) -> None:
        if graph is not None:
            nodes = list(graph.nodes)
            xy = [[graph.nodes[n]["x"], graph.nodes[n]["y"]] for n in nodes]
        self.nodes: list[Any] = list(nodes or [])
        self.xy = np.asarray(xy if xy is not None else [], float).reshape(-1, 2)
        self._tree = cKDTree(self.xy) if len(self.nodes) else None

    @classmethod
    def of_points(cls, nodes, xy) -> NodeIndex:
        """An index over some nodes given with their positions (e.g. only the routable ones)."""
        return cls(nodes=list(nodes), xy=xy)

    def nearest_index(self, xy) -> np.ndarray:
        """Row in ``nodes`` of the node nearest to each point of ``xy`` ((2,) or (n, 2))."""
        if self._tree is None:
            raise ValueError("nearest node: the graph has no nodes")
        return np.atleast_1d(self._tree.query(np.asarray(xy, float))[1])

    def nearest(self, xy) -> Any:
        """The node nearest (straight line) to the point ``xy``."""
        return self.nodes[int(self.nearest_index(np.asarray(xy, float).reshape(2))[0])]

    def nearest_many(self, xy) -> list[Any]:
        """The nearest node of each point of ``xy`` (n, 2)."""
        return [self.nodes[i] for i in self.nearest_index(np.asarray(xy, float).reshape(-1, 2)).tolist()]


_MEMO: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def node_index(graph: nx.Graph) -> NodeIndex:
    """The ``NodeIndex`` of ``graph``, built on first use and rebuilt if the graph's node count changed."""
    found = _MEMO.get(graph)
    if found is None or found[0] != graph.number_of_nodes():
        found = _MEMO[graph] = (graph.number_of_nodes(), NodeIndex(graph))
    return found[1]


def edges_within(graph: nx.MultiDiGraph, xy, radius_m: float) -> list[tuple]:
    """``(u, v, key)`` of every edge whose straight segment passes within ``radius_m`` of ``xy``."""
    out = []
    p = shapely.Point(*xy)
    for u, v, k in graph.edges(keys=True):
        a = (graph.nodes[u]["x"], graph.nodes[u]["y"])
        b = (graph.nodes[v]["x"], graph.nodes[v]["y"])
        if shapely.LineString([a, b]).distance(p) <= radius_m:
            out.append((u, v, k))
    return out


def ring_nodes(graph: nx.Graph, xy, radius_m: float) -> list:
    """Nodes between ``radius_m`` and ``2.5 * radius_m`` from ``xy`` (sorted by name), else the farthest."""
    def dist(n) -> float:
        return float(np.hypot(graph.nodes[n]["x"] - xy[0], graph.nodes[n]["y"] - xy[1]))

    nodes = [n for n in graph.nodes if radius_m < dist(n) <= 2.5 * radius_m]
    return sorted(nodes, key=str) or [max(graph.nodes, key=dist)]
