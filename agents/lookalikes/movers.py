"""Many targets moving along a twin graph's edges at once (vehicles on the drive graph, cyclists and joggers
on the walk graph), as numpy arrays: no Python loop per mover per tick.

``EdgeNet`` is a graph's edges as flat arrays: each edge's polyline (its OSM geometry, else the straight
chord) with the distance along it at every vertex, and where a mover on an edge may turn next.
``GraphMovers`` holds a fixed number of movers, each on an edge at an ``offset`` (m from its tail) and a
``lateral`` offset (m, > 0 right of the direction of travel). At the end of an edge a mover takes one of the
edges leaving its head, drawn with probability proportional to a per-edge preference (a random walk that
keeps to the streets its kind prefers), never straight back unless it is a dead end. A mover reaching a
dead end at the edge of the graph (within ``boundary_m`` of the graph's extent: a street cut by the twin's
bbox) leaves the world; another one enters at once on an edge leaving such a node, so the number of movers
stays as given. Speeds are set by the owner every tick (``advance(v, dt)``).
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import networkx as nx
import numpy as np

__all__ = ["EdgeNet", "GraphMovers", "edge_net"]


@dataclass(frozen=True)
class EdgeNet:
    """A graph's edges as arrays (edge index 0..E-1 in ``graph.edges(keys=True)`` order, self loops left out).

    ``vstart[e]:vstart[e + 1]`` are the vertices of edge ``e`` in ``vx``/``vy``, tail first; ``vd`` is the
    distance along the edge at each vertex and ``gd = vd + base[e]`` the same, increasing over all edges
    (so one ``searchsorted`` finds the segment of many movers at once). ``data`` holds each edge's attribute
    dict (for preferences and speeds), ``rev`` the opposite edge (-1 if none), ``dead_end`` the nodes with at
    most one neighbour and ``boundary`` the nodes within the boundary margin of the nodes' extent.
    """

    nodes: list
    x: np.ndarray
    y: np.ndarray
    eu: np.ndarray
    ev: np.ndarray
    length: np.ndarray
    vstart: np.ndarray
    vx: np.ndarray
    vy: np.ndarray
    vd: np.ndarray
    gd: np.ndarray
    base: np.ndarray
    rev: np.ndarray
    data: list
    dead_end: np.ndarray
    boundary: np.ndarray

    @property
    def n_edges(self) -> int:
        return len(self.eu)

    def at(self, edges: np.ndarray, offsets: np.ndarray, lateral: np.ndarray | None = None,
           ) -> tuple[np.ndarray, np.ndarray]:
        """Ground positions (k, 2) at ``offsets`` along ``edges`` plus ``lateral`` m to the right, and the
        unit direction of travel there (k, 2)."""
        e = np.asarray(edges, np.int64)
        off = np.clip(offsets, 0.0, self.length[e])
        j = np.searchsorted(self.gd, self.base[e] + off, side="right") - 1
        j = np.clip(j, self.vstart[e], self.vstart[e + 1] - 2)
        dx, dy = self.vx[j + 1] - self.vx[j], self.vy[j + 1] - self.vy[j]
        seg = np.maximum(self.vd[j + 1] - self.vd[j], 1e-9)
        f = (off - self.vd[j]) / seg
        ux, uy = dx / seg, dy / seg
        x, y = self.vx[j] + dx * f, self.vy[j] + dy * f
        if lateral is not None:
            x, y = x + uy * lateral, y - ux * lateral
        return np.column_stack([x, y]), np.column_stack([ux, uy])

    def turn_deg(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Angle (degrees, 0..180) between the last segment of edges ``a`` and the first of edges ``b``."""
        ia, ib = self.vstart[a + 1] - 2, self.vstart[b]
        ax, ay = self.vx[ia + 1] - self.vx[ia], self.vy[ia + 1] - self.vy[ia]
        bx, by = self.vx[ib + 1] - self.vx[ib], self.vy[ib + 1] - self.vy[ib]
        cos = (ax * bx + ay * by) / np.maximum(np.hypot(ax, ay) * np.hypot(bx, by), 1e-12)
        return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


def _polyline(graph: nx.MultiDiGraph, u, v, d: dict) -> np.ndarray:
    pu = (float(graph.nodes[u]["x"]), float(graph.nodes[u]["y"]))
    pv = (float(graph.nodes[v]["x"]), float(graph.nodes[v]["y"]))
    geom = d.get("geometry")
    if geom is None:
        return np.array([pu, pv])
    c = np.asarray(geom.coords, float)[:, :2]
    if np.hypot(*(c[0] - pu)) > np.hypot(*(c[-1] - pu)):
        c = c[::-1]
    c = np.vstack([pu, c[1:-1], pv]) if len(c) > 2 else np.array([pu, pv])
    keep = np.r_[True, np.hypot(*np.diff(c, axis=0).T) > 1e-6]
    c = c[keep]
    return c if len(c) >= 2 else np.array([pu, (pu[0] + 1e-3, pu[1])])


def _build(graph: nx.MultiDiGraph, boundary_m: float) -> EdgeNet:
    nodes = list(graph.nodes)
    index = {n: i for i, n in enumerate(nodes)}
    x = np.array([float(graph.nodes[n]["x"]) for n in nodes]) if nodes else np.zeros(0)
    y = np.array([float(graph.nodes[n]["y"]) for n in nodes]) if nodes else np.zeros(0)
    eu, ev, polys, data = [], [], [], []
    for u, v, d in graph.edges(data=True):
        if u == v:
            continue
        eu.append(index[u])
        ev.append(index[v])
        polys.append(_polyline(graph, u, v, d))
        data.append(d)
    eu, ev = np.asarray(eu, np.int64), np.asarray(ev, np.int64)
    counts = np.array([len(p) for p in polys], np.int64)
    vstart = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    allp = np.vstack(polys) if polys else np.zeros((0, 2))
    seg = np.hypot(*np.diff(allp, axis=0).T) if len(allp) else np.zeros(0)
    first = np.zeros(len(allp), bool)
    first[vstart[:-1]] = True
    step = np.r_[0.0, seg] * ~first
    cum = np.cumsum(step)
    vd = cum - np.repeat(cum[vstart[:-1]], counts) if len(allp) else np.zeros(0)
    length = vd[vstart[1:] - 1] if len(counts) else np.zeros(0)
    base = np.concatenate([[0.0], np.cumsum(length + 1.0)[:-1]]) if len(counts) else np.zeros(0)
    gd = vd + np.repeat(base, counts)
    n = len(nodes)
    rev = np.full(len(eu), -1, np.int64)
    nbrs = np.zeros(n, np.int64)
    boundary = np.zeros(n, bool)
    if len(eu):
        key = eu * n + ev
        order = np.argsort(key, kind="stable")
        want = ev * n + eu
        pos = np.minimum(np.searchsorted(key[order], want), len(order) - 1)
        rev = np.where(key[order][pos] == want, order[pos], -1)
        pairs = np.unique(np.column_stack([np.minimum(eu, ev), np.maximum(eu, ev)]), axis=0)
        nbrs = np.bincount(pairs[:, 0], minlength=n) + np.bincount(pairs[:, 1], minlength=n)
    if n:
        edge_x = np.minimum(x - x.min(), x.max() - x)
        edge_y = np.minimum(y - y.min(), y.max() - y)
        boundary = np.minimum(edge_x, edge_y) <= boundary_m
    return EdgeNet(nodes, x, y, eu, ev, length, vstart, allp[:, 0].copy(), allp[:, 1].copy(), vd, gd, base,
                   rev.astype(np.int64), data, nbrs <= 1, boundary)


_MEMO: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def edge_net(graph: nx.MultiDiGraph, *, boundary_m: float = 40.0) -> EdgeNet:
    """The ``EdgeNet`` of ``graph``, built once per graph object (and boundary margin)."""
    memo = _MEMO.setdefault(graph, {})
    key = (graph.number_of_edges(), float(boundary_m))
    if key not in memo:
        memo[key] = _build(graph, boundary_m)
    return memo[key]


class GraphMovers:
    """``n`` movers on ``net`` as arrays; see the module docstring.

    Parameters
    ----------
    net : EdgeNet
    pref : numpy.ndarray
        (E,) or (T, E): preference of each edge (>= 0) for each of ``T`` sorts of mover (cars, buses):
        a mover turns into an edge with probability proportional to its sort's preference and starts on an
        edge with probability proportional to ``pref * length``. An edge of preference 0 is taken only when
        nothing else leaves the node.
    sort : numpy.ndarray
        (n,) int, the sort (row of ``pref``) of each mover; its length is the number of movers. Every sort
        used must have an edge of preference > 0.
    rng : numpy.random.Generator
    exits : bool
        Whether movers leave at boundary dead ends (and others enter there); else they turn back.
    lateral_of : callable, optional
        ``lateral_of(rows, edges) -> lateral`` (m) of movers ``rows`` entering ``edges``; default: they keep
        their lateral offset.
    blend_m : float
        Entering an edge at a node, the position would jump (new direction, new lateral offset); the jump
        is eased out over the first ``blend_m`` metres instead, so positions stay continuous (the crowd's
        ``lane_blend_m`` does the same).

    Attributes
    ----------
    edge, offset, speed, lateral, nxt : numpy.ndarray
        Per mover: edge, metres from its tail, speed (m/s), lateral offset (m, > 0 right), the edge it
        will take at the end of this one (-1: none, it leaves there).
    """

    def __init__(self, net: EdgeNet, pref: np.ndarray, sort: np.ndarray, *, rng: np.random.Generator,
                 exits: bool = True, lateral_of=None, blend_m: float = 10.0) -> None:
        self.net, self.rng = net, rng
        self.lateral_of, self.blend_m = lateral_of, float(blend_m)
        self.pref = np.maximum(np.atleast_2d(np.asarray(pref, float)), 0.0)
        self.tables = [self._succ_table(p, exits) for p in self.pref]
        self.exit = (self.tables[0][3] if self.tables else np.zeros(net.n_edges, bool))
        w = self.pref * net.length
        sort = np.asarray(sort, np.int64)
        if len(sort) and not (w.sum(axis=1)[sort] > 0).all():
            raise ValueError("movers of a sort whose preferences are all 0: no edge to put them on")
        self.sort = sort
        self.n = len(sort)
        self.edge = np.zeros(self.n, np.int64)
        for k in range(len(self.pref)):
            rows = np.flatnonzero(sort == k)
            if len(rows):
                self.edge[rows] = _draw(w[k], rng.random(len(rows)))
        self.offset = rng.random(self.n) * net.length[self.edge] if self.n else np.zeros(0)
        self.speed = np.zeros(self.n)
        self.lateral = np.zeros(self.n)
        self.jump = np.zeros((self.n, 2))
        self.nxt = self.pick_next(np.arange(self.n))

    def _succ_table(self, pref: np.ndarray, exits: bool) -> tuple:
        """Edges a mover of one sort may take after each edge, with cumulative probabilities; the edges
        that lead out of the world; the edges that lead into it."""
        net = self.net
        E = net.n_edges
        order = np.argsort(net.eu, kind="stable")
        nptr = np.searchsorted(net.eu[order], np.arange(len(net.nodes) + 1))
        deg = nptr[1:] - nptr[:-1]
        cnt = deg[net.ev] if E else np.zeros(0, np.int64)
        rows = np.repeat(np.arange(E), cnt)
        within = np.arange(len(rows)) - np.repeat(np.cumsum(cnt) - cnt, cnt)
        cand = order[nptr[net.ev[rows]] + within] if len(rows) else np.zeros(0, np.int64)
        uturn = cand == net.rev[rows]
        other = np.bincount(rows[~uturn], minlength=E)
        if exits:
            out = net.dead_end[net.ev] & net.boundary[net.ev] & (other == 0)
            entries = np.flatnonzero(net.dead_end[net.eu] & net.boundary[net.eu] & (pref > 0))
        else:
            out, entries = np.zeros(E, bool), np.zeros(0, np.int64)
        keep = ~uturn | (other[rows] == 0)
        rows, cand = rows[keep], cand[keep]
        w = pref[cand]
        tot = np.bincount(rows, weights=w, minlength=E)
        k = np.bincount(rows, minlength=E)
        w = np.where(tot[rows] > 0, w / np.maximum(tot[rows], 1e-300), 1.0 / np.maximum(k[rows], 1))
        cum = np.cumsum(w)
        start = np.concatenate([[0.0], np.cumsum(np.bincount(rows, weights=w, minlength=E))])
        key = rows + (cum - start[rows])      # row r's keys lie in (r, r + 1]
        return cand, key, k > 0, out, entries

    def pick_next(self, rows: np.ndarray) -> np.ndarray:
        """The next edge of movers ``rows`` from the head of the edge each is on (drawn by its sort's
        preferences); -1 where nothing leaves the head or the mover leaves the world there."""
        rows = np.asarray(rows, np.int64)
        edges = self.edge[rows]
        u = self.rng.random(len(rows))
        out = np.full(len(rows), -1, np.int64)
        for k, (succ, key, has, gone, _) in enumerate(self.tables):
            m = self.sort[rows] == k
            if not m.any() or not len(succ):
                continue
            j = np.minimum(np.searchsorted(key, edges[m] + u[m], side="right"), len(succ) - 1)
            out[m] = np.where(has[edges[m]] & ~gone[edges[m]], succ[j], -1)
        return out

    def _ease(self, rows) -> np.ndarray:
        return np.maximum(1.0 - self.offset[rows] / self.blend_m, 0.0)[:, None]

    def positions(self, rows: np.ndarray | None = None) -> np.ndarray:
        """Ground positions (k, 2) of the movers ``rows`` (all by default), lateral offset included."""
        r = slice(None) if rows is None else rows
        return self.net.at(self.edge[r], self.offset[r], self.lateral[r])[0] + self.jump[r] * self._ease(r)

    def _turn(self, go: np.ndarray) -> None:
        """Movers ``go`` pass the head of their edge onto ``nxt``: the position jump there is kept (eased)."""
        net = self.net
        old = self.edge[go]
        end = net.at(old, net.length[old], self.lateral[go])[0]
        end += self.jump[go] * np.maximum(1.0 - net.length[old] / self.blend_m, 0.0)[:, None]
        self.offset[go] -= net.length[old]
        self.edge[go] = self.nxt[go]
        if self.lateral_of is not None:
            self.lateral[go] = self.lateral_of(go, self.edge[go])
        self.jump[go] = end - net.at(self.edge[go], np.zeros(len(go)), self.lateral[go])[0]
        self.nxt[go] = self.pick_next(go)

    def advance(self, v: np.ndarray, dt: float) -> tuple[np.ndarray, np.ndarray]:
        """Move every mover ``v * dt`` along its way, turning at edge ends. Returns the rows that entered a
        new edge and the rows that left the world at a boundary dead end or a street with no way on (the
        caller puts those back with ``enter``; until then they wait at the end of their edge)."""
        net = self.net
        self.speed = np.asarray(v, float).copy()
        self.offset = self.offset + self.speed * dt
        gone = np.zeros(self.n, bool)
        moved = np.zeros(self.n, bool)
        for _ in range(64):
            over = np.flatnonzero(~gone & (self.offset >= net.length[self.edge]))
            if not len(over):
                break
            out = self.nxt[over] < 0
            gone[over[out]] = True
            go = over[~out]
            self._turn(go)
            moved[go] = True
        gone_rows = np.flatnonzero(gone)
        self.offset[gone_rows] = net.length[self.edge[gone_rows]]
        self.speed[gone_rows] = 0.0
        return np.flatnonzero(moved & ~gone), gone_rows

    def enter(self, rows: np.ndarray) -> None:
        """Put ``rows`` at the start of entry edges of their sort (drawn by preference), or anywhere on
        their sort's streets when it has none."""
        net = self.net
        for k, (*_, entries) in enumerate(self.tables):
            r = rows[self.sort[rows] == k]
            if not len(r):
                continue
            cand = entries if len(entries) else np.flatnonzero(self.pref[k] > 0)
            e = cand[_draw(self.pref[k][cand] * (1.0 if len(entries) else net.length[cand]),
                           self.rng.random(len(r)))]
            self.edge[r] = e
            self.offset[r] = 0.0 if len(entries) else self.rng.random(len(r)) * net.length[e]
            self.speed[r] = 0.0
        if self.lateral_of is not None:
            self.lateral[rows] = self.lateral_of(rows, self.edge[rows])
        self.jump[rows] = 0.0
        self.nxt[rows] = self.pick_next(rows)


def _draw(w: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Indices drawn with probability proportional to ``w`` for uniforms ``u``."""
    c = np.cumsum(w)
    return np.minimum(np.searchsorted(c / c[-1], u, side="right"), len(w) - 1)
