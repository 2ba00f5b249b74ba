"""Shared shortest-path routing for the crowd: the walk graph as flat arrays and cached next-hop trees.

One Dijkstra tree per destination (or destination *set*, e.g. the safe nodes of an evacuation) on the reversed
graph gives, for every node, the next edge toward that destination; everybody heading there reuses it. Trees
are recomputed lazily, only after the weights change (closures, hazards, congestion).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import networkx as nx
import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components, dijkstra

__all__ = ["Router", "RoutingError", "WalkNetwork"]

_MIN_WEIGHT = 1e-3  # m; scipy treats stored zeros as edges, but keep weights strictly positive anyway


class RoutingError(ValueError):
    """Bad routing input (unknown node, empty graph); the message is one line naming it."""

    exit_code = 2


@dataclass(frozen=True)
class WalkNetwork:
    """The walk MultiDiGraph as arrays: node index 0..N-1, edge index 0..E-1 (one per MultiDiGraph edge)."""

    nodes: list                 # original node ids, by index
    index: dict                 # original node id -> index
    x: np.ndarray               # (N,) node x, m
    y: np.ndarray               # (N,) node y, m
    eu: np.ndarray              # (E,) int32 tail node index
    ev: np.ndarray              # (E,) int32 head node index
    length: np.ndarray          # (E,) m (at least 0.1)
    width: np.ndarray           # (E,) m
    keys: list                  # (u, v, key) original ids, by edge index
    rev: np.ndarray             # (E,) int32 index of the opposite-direction edge, -1 if none
    core: np.ndarray            # (N,) bool: node in the largest strongly connected component

    @classmethod
    def from_graph(cls, graph: nx.MultiDiGraph, *, default_width_m: float = 2.0) -> WalkNetwork:
        """Convert once; missing ``width_m`` -> ``default_width_m``, missing ``length`` -> straight line."""
        nodes = list(graph.nodes)
        if not nodes:
            raise RoutingError("walk graph: has no nodes")
        index = {n: i for i, n in enumerate(nodes)}
        x = np.array([float(graph.nodes[n]["x"]) for n in nodes])
        y = np.array([float(graph.nodes[n]["y"]) for n in nodes])
        keys, eu, ev, length, width = [], [], [], [], []
        for u, v, k, d in graph.edges(keys=True, data=True):
            iu, iv = index[u], index[v]
            if iu == iv:
                continue  # self loops lead nowhere
            keys.append((u, v, k))
            eu.append(iu)
            ev.append(iv)
            ln = d.get("length")
            length.append(float(ln) if ln is not None else float(np.hypot(x[iv] - x[iu], y[iv] - y[iu])))
            w = d.get("width_m")
            width.append(float(w) if w is not None and float(w) > 0 else default_width_m)
        eu = np.asarray(eu, dtype=np.int32)
        ev = np.asarray(ev, dtype=np.int32)
        length = np.maximum(np.asarray(length, dtype=float), 0.1)
        width = np.maximum(np.asarray(width, dtype=float), 0.5)
        n = len(nodes)
        if not len(eu):
            raise RoutingError("walk graph: has no edges")
        # opposite direction: the first edge v->u (by index) for every u->v
        fkey = eu.astype(np.int64) * n + ev
        order = np.argsort(fkey, kind="stable")
        pos = np.minimum(np.searchsorted(fkey[order], ev.astype(np.int64) * n + eu), len(order) - 1)
        hit = fkey[order][pos] == ev.astype(np.int64) * n + eu
        rev = np.where(hit, order[pos], -1).astype(np.int32)
        adj = csr_matrix((np.ones(len(eu)), (eu, ev)), shape=(n, n))
        _, lab = connected_components(adj, directed=True, connection="strong")
        core = lab == np.bincount(lab).argmax()
        return cls(nodes, index, x, y, eu, ev, length, width, keys, rev, core)

    @property
    def n_nodes(self) -> int:
        return len(self.nodes)

    @property
    def n_edges(self) -> int:
        return len(self.eu)

    def node_index(self, node) -> int:
        """Index of an original node id; raises RoutingError when unknown."""
        try:
            return self.index[node]
        except (KeyError, TypeError):
            raise RoutingError(f"walk graph: unknown node {node!r}") from None

    def edges_between(self, pairs: Iterable[Sequence]) -> np.ndarray:
        """Edge indices for ``(u, v)`` (every key) or ``(u, v, key)`` items, in both directions."""
        want, want_k = set(), set()
        for p in pairs:
            if len(p) == 2:
                want.add((p[0], p[1]))
                want.add((p[1], p[0]))
            elif len(p) == 3:
                want_k.add((p[0], p[1], p[2]))
                want_k.add((p[1], p[0], p[2]))
            else:
                raise RoutingError(f"edge {p!r}: must be (u, v) or (u, v, key)")
        out = [i for i, (u, v, k) in enumerate(self.keys) if (u, v) in want or (u, v, k) in want_k]
        return np.asarray(out, dtype=np.int64)


class Router:
    """Cached next-edge tables toward destination sets under the current edge weights.

    ``slot(dests)`` registers a destination set once; ``next_edges(slots, nodes)`` gives, per query, the edge
    to take from ``nodes`` (-1 when at a destination or cut off). Weight changes bump a version and make every
    table stale; a table is rebuilt the next time somebody asks for it.
    """

    def __init__(self, net: WalkNetwork):
        self.net = net
        n = net.n_nodes
        self._pkey_all = net.eu.astype(np.int64) * n + net.ev
        self._pkeys, self._pair_of_edge = np.unique(self._pkey_all, return_inverse=True)
        self.weights = net.length.copy()
        self.version = 0
        self._slots: dict[tuple, int] = {}
        self._dests: list[np.ndarray] = []
        self._next = np.empty((0, n), dtype=np.int32)
        self._src: dict[int, np.ndarray] = {}
        self._ver = np.zeros(0, dtype=np.int64)
        self.n_trees = 0
        self._rebuild()

    def _rebuild(self) -> None:
        w = np.maximum(self.weights, _MIN_WEIGHT)
        order = np.lexsort((w, self._pair_of_edge))
        first = np.ones(len(order), bool)
        first[1:] = self._pair_of_edge[order][1:] != self._pair_of_edge[order][:-1]
        best = order[first]                      # min-weight edge per (u, v) pair, in pair order
        self._best_edge = best.astype(np.int32)
        pw = w[best]
        ok = np.isfinite(pw)
        n = self.net.n_nodes
        # reversed graph (v -> u): a tree grown from the destination gives next hops toward it
        self._gt = csr_matrix((pw[ok], (self.net.ev[best][ok], self.net.eu[best][ok])), shape=(n, n))

    def set_weights(self, weights: np.ndarray) -> None:
        """Replace per-edge weights (inf = closed); every cached tree becomes stale."""
        w = np.asarray(weights, dtype=float)
        if w.shape != self.weights.shape:
            raise RoutingError(f"weights: expected {self.weights.shape[0]} values, got {w.shape}")
        self.weights = w.copy()
        self.version += 1
        self._rebuild()

    def slot(self, dests: Iterable[int]) -> int:
        """The table id for the destination set ``dests`` (node indices), registered on first use."""
        key = tuple(sorted({int(d) for d in dests}))
        if not key:
            raise RoutingError("destination set: empty")
        if key[0] < 0 or key[-1] >= self.net.n_nodes:
            raise RoutingError(f"destination set: node index out of range in {key[:5]}")
        s = self._slots.get(key)
        if s is None:
            s = len(self._dests)
            self._slots[key] = s
            self._dests.append(np.asarray(key, dtype=np.int64))
            if s >= self._next.shape[0]:
                grow = max(8, self._next.shape[0])
                self._next = np.vstack([self._next, np.full((grow, self.net.n_nodes), -1, np.int32)])
                self._ver = np.concatenate([self._ver, np.full(grow, -1, np.int64)])
        return s

    def _compute(self, s: int) -> None:
        dests = self._dests[s]
        _, pred, src = dijkstra(self._gt, directed=True, indices=dests, return_predecessors=True,
                                min_only=True)
        n = self.net.n_nodes
        nodes = np.flatnonzero(pred >= 0)
        nxt = np.full(n, -1, np.int32)
        if nodes.size:
            key = nodes.astype(np.int64) * n + pred[nodes]
            pos = np.searchsorted(self._pkeys, key)
            nxt[nodes] = self._best_edge[pos]
        self._next[s] = nxt
        if len(dests) > 1:
            self._src[s] = src.astype(np.int64)
        self._ver[s] = self.version
        self.n_trees += 1

    def _fresh(self, slots: np.ndarray) -> None:
        if slots.size == 0:
            return
        stale = slots[self._ver[slots] != self.version]
        if stale.size:
            for s in np.unique(stale):
                self._compute(int(s))

    def next_edges(self, slots: np.ndarray, nodes: np.ndarray) -> np.ndarray:
        """Edge to take from each node toward its slot's destinations (-1 at a destination or cut off)."""
        slots = np.asarray(slots, dtype=np.int64)
        self._fresh(slots)
        return self._next[slots, nodes]

    def nearest_dest(self, s: int, nodes: np.ndarray) -> np.ndarray:
        """For a destination set, which of its nodes each node's path ends at (-1 when unreachable)."""
        self._fresh(np.asarray([s]))
        nodes = np.asarray(nodes, dtype=np.int64)
        if s not in self._src:
            d = self._dests[s][0]
            reach = (self._next[s, nodes] >= 0) | (nodes == d)
            return np.where(reach, d, -1)
        src = self._src[s][nodes]
        return np.where(src >= 0, src, -1)

    def distances(self, dest: int) -> np.ndarray:
        """Shortest-path length (current weights) from every node to ``dest``; inf when unreachable."""
        return dijkstra(self._gt, directed=True, indices=int(dest))
