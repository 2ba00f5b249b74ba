"""Where individuals (attackers, responders) are at any time: timed polylines built from graph paths.

A ``Track`` is a polyline with an arrival time at each vertex, so ``pos(t)`` is exact at any instant and phase
changes can be stamped with their true time, not the tick's. ``GraphIndex`` gives nearest nodes and paths on
one twin graph (a handful of individuals: networkx is fine here, the crowd has its own routing).
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx
import numpy as np

from twin.nearest import node_index

__all__ = ["GraphIndex", "Track"]


@dataclass(frozen=True)
class Track:
    """Vertices ``xy`` (n, 2) reached at absolute times ``times`` (n,), non-decreasing; rests at the end."""

    xy: np.ndarray
    times: np.ndarray

    @staticmethod
    def still(xy, t0: float, t1: float) -> Track:
        """Standing at ``xy`` from ``t0`` to ``t1``."""
        p = np.asarray(xy, float).reshape(1, 2)
        return Track(np.vstack([p, p]), np.array([t0, max(t0, t1)], float))

    @staticmethod
    def at_speed(points, speed: float, t0: float) -> Track:
        """Walk ``points`` (n, 2) at a constant ``speed`` (m/s) starting at ``t0``."""
        p = np.asarray(points, float).reshape(-1, 2)
        seg = np.hypot(*np.diff(p, axis=0).T) if len(p) > 1 else np.zeros(0)
        return Track(p, t0 + np.concatenate([[0.0], np.cumsum(seg) / speed]))

    @staticmethod
    def timed(points, seg_durations, t0: float) -> Track:
        """Polyline ``points`` whose segment ``i`` takes ``seg_durations[i]`` seconds, starting at ``t0``."""
        p = np.asarray(points, float).reshape(-1, 2)
        return Track(p, t0 + np.concatenate([[0.0], np.cumsum(np.asarray(seg_durations, float))]))

    @property
    def t0(self) -> float:
        return float(self.times[0])

    @property
    def t1(self) -> float:
        return float(self.times[-1])

    @property
    def length(self) -> float:
        return float(np.hypot(*np.diff(self.xy, axis=0).T).sum()) if len(self.xy) > 1 else 0.0

    def pos(self, t: float) -> np.ndarray:
        """Position (2,) at time ``t`` (clamped to the ends)."""
        return np.array([np.interp(t, self.times, self.xy[:, 0]), np.interp(t, self.times, self.xy[:, 1])])

    def speed(self, t: float) -> float:
        """Speed (m/s) on the segment in use at ``t``; 0 before the start, after the end or when standing."""
        if t < self.times[0] or t >= self.times[-1] or len(self.times) < 2:
            return 0.0
        i = int(np.searchsorted(self.times, t, side="right")) - 1
        dt = self.times[i + 1] - self.times[i]
        return float(np.hypot(*(self.xy[i + 1] - self.xy[i])) / dt) if dt > 0 else 0.0

    def sample(self, t_a: float, t_b: float, step_m: float) -> tuple[np.ndarray, np.ndarray]:
        """Points about ``step_m`` apart along the track between times ``t_a`` and ``t_b``, with times."""
        a, b = self.pos(t_a), self.pos(t_b)
        # distance covered in (t_a, t_b] along the polyline, through the vertices passed
        inner = (self.times > t_a) & (self.times < t_b)
        pts = np.vstack([a, self.xy[inner], b])
        tms = np.concatenate([[t_a], self.times[inner], [t_b]])
        seg = np.hypot(*np.diff(pts, axis=0).T)
        s = np.concatenate([[0.0], np.cumsum(seg)])
        n = max(1, int(np.ceil(s[-1] / step_m)))
        q = np.linspace(0.0, s[-1], n + 1)
        return (np.column_stack([np.interp(q, s, pts[:, 0]), np.interp(q, s, pts[:, 1])]),
                np.interp(q, s, tms) if s[-1] > 0 else np.full(n + 1, t_a))

    def split(self, t: float) -> tuple[Track, Track]:
        """This track cut at time ``t`` (strictly inside it) into the part before and the part after."""
        p = self.pos(t)
        before, after = self.times < t, self.times > t
        head = Track(np.vstack([self.xy[before], p]), np.concatenate([self.times[before], [t]]))
        tail = Track(np.vstack([p, self.xy[after]]), np.concatenate([[t], self.times[after]]))
        return head, tail

    def then(self, other: Track) -> Track:
        """This track followed by ``other`` (whose times must start where this one ends)."""
        return Track(np.vstack([self.xy, other.xy]), np.concatenate([self.times, other.times]))


class GraphIndex:
    """Nearest nodes, distances and path polylines on one twin graph (osmnx conventions, metres)."""

    def __init__(self, graph: nx.MultiDiGraph) -> None:
        self.g = graph
        self.nodes = list(graph.nodes)
        self.xy = np.array([[graph.nodes[n]["x"], graph.nodes[n]["y"]] for n in self.nodes], float)
        self._rev = graph.reverse(copy=False)

    def node_xy(self, n) -> np.ndarray:
        d = self.g.nodes[n]
        return np.array([d["x"], d["y"]], float)

    def nearest(self, xy) -> object:
        """The node closest (straight line) to ``xy``."""
        return node_index(self.g).nearest(xy)

    def node_at_distance(self, target, dist_m: float, rng: np.random.Generator, *, weight: str = "length"):
        """A node from which ``target`` is about ``dist_m`` away along the graph (picked with ``rng``).

        Takes the nodes whose path distance to ``target`` lies within 25 % of ``dist_m``; if there are none,
        the node whose distance is closest to ``dist_m`` (a single-node graph gives ``target`` itself).
        """
        dist = nx.single_source_dijkstra_path_length(self._rev, target, cutoff=1.25 * dist_m, weight=weight)
        cand = sorted((n for n, d in dist.items() if 0.75 * dist_m <= d), key=str)
        if cand:
            return cand[int(rng.integers(len(cand)))]
        dist = nx.single_source_dijkstra_path_length(self._rev, target, weight=weight)
        return min(dist.items(), key=lambda kv: (abs(kv[1] - dist_m), -kv[1], str(kv[0])))[0]

    def _best_edge(self, u, v, weight: str) -> dict:
        data = self.g.get_edge_data(u, v)
        return min(data.values(), key=lambda d: d.get(weight, d.get("length", 0.0)))

    def path(self, a, b, *, weight: str = "length") -> list:
        """Shortest node path from ``a`` to ``b``."""
        return nx.shortest_path(self.g, a, b, weight=weight)

    def polyline(self, path: list, *, weight: str = "length") -> tuple[np.ndarray, np.ndarray]:
        """Points along a node path (edge geometries followed where present) and each edge's share of them.

        Returns ``(points (m, 2), seg_edge (m-1,))``: ``seg_edge[i]`` is the index of the path edge that
        segment ``i`` lies on.
        """
        pts = [self.node_xy(path[0])]
        seg_edge: list[int] = []
        for k, (u, v) in enumerate(zip(path[:-1], path[1:], strict=True)):
            d = self._best_edge(u, v, weight)
            geom = d.get("geometry")
            if geom is not None:
                c = np.asarray(geom.coords, float)[:, :2]
                if np.hypot(*(c[0] - pts[-1])) > np.hypot(*(c[-1] - pts[-1])):
                    c = c[::-1]
                inner = list(c[1:-1])
            else:
                inner = []
            for p in [*inner, self.node_xy(v)]:
                pts.append(np.asarray(p, float))
                seg_edge.append(k)
        return np.array(pts), np.array(seg_edge, int)

    def edge_times(self, path: list, *, default_kph: float = 30.0) -> np.ndarray:
        """Travel time (s) of each edge of ``path``: ``travel_time``, else ``length`` at ``default_kph``."""
        out = []
        for u, v in zip(path[:-1], path[1:], strict=True):
            d = self._best_edge(u, v, "travel_time")
            tt = d.get("travel_time")
            out.append(float(tt) if tt is not None else float(d["length"]) / (default_kph / 3.6))
        return np.array(out, float)

    def drive_track(self, path: list, t0: float) -> Track:
        """Drive ``path`` starting at ``t0``, each edge taking its travel time (spread over its geometry)."""
        pts, seg_edge = self.polyline(path, weight="travel_time")
        if len(pts) < 2:
            return Track.still(pts[0], t0, t0)
        et = self.edge_times(path)
        seg_len = np.hypot(*np.diff(pts, axis=0).T)
        edge_len = np.bincount(seg_edge, weights=seg_len, minlength=len(et))
        count = np.bincount(seg_edge, minlength=len(et))[seg_edge]
        share = np.where(edge_len[seg_edge] > 0, seg_len / np.maximum(edge_len[seg_edge], 1e-12), 1.0 / count)
        return Track.timed(pts, et[seg_edge] * share, t0)
