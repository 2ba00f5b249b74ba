"""Look-alike targets on timed polylines, and records kept until their time comes.

``TimedPaths`` holds many targets that each follow a polyline with a time at every vertex (walk in, stand
for minutes, walk out), as flat arrays: a target is in the world from its first vertex's time to its last
one's, and its position at any instant is interpolated. Positions of all of them come out of a few numpy
operations; each target keeps a cursor on its current segment (time only moves forward).

``Agenda`` holds actions planned ahead (the record of a person who will board a tram in four minutes, the bag
a traveller will put down) and does each in the tick that reaches its time, so nothing is recorded or placed
before it happens.

``WalkRoutes`` gives walking polylines on the twin's walk graph from a node about some distance away to a
place's node (then straight on to a spot), a few per node, computed once and reused for every person who
comes and goes there.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable

import numpy as np

from agents.world import Targets

__all__ = ["Agenda", "TimedPaths", "WalkRoutes", "visit", "walk_times"]


class TimedPaths:
    """Targets of one class on timed polylines (see the module docstring).

    Parameters
    ----------
    cls : int
        The target class code (``agents.world``) of every target held.
    """

    def __init__(self, cls: int) -> None:
        self.cls = int(cls)
        self.ids = np.zeros(0, np.int64)
        self.height = np.zeros(0)
        self.width = np.zeros(0)
        self.start = np.zeros(0, np.int64)     # first vertex of each target's polyline
        self.end = np.zeros(0, np.int64)       # one past its last vertex
        self.cur = np.zeros(0, np.int64)       # the vertex that begins its current segment
        self.px = np.zeros(0)
        self.py = np.zeros(0)
        self.pt = np.zeros(0)
        self._new: list[tuple] = []

    def __len__(self) -> int:
        self._merge()
        return len(self.ids)

    def add(self, tid: int, xy, times, *, height: float, width: float) -> None:
        """Target ``tid`` at ``xy[i]`` (m) at ``times[i]`` (s, non-decreasing, at least two vertices)."""
        p = np.asarray(xy, float).reshape(-1, 2)
        tt = np.asarray(times, float).reshape(-1)
        if len(p) < 2 or len(p) != len(tt) or np.any(np.diff(tt) < 0) or not np.isfinite(tt).all():
            raise ValueError(f"target {tid}: a timed path needs >= 2 vertices with non-decreasing times")
        self._new.append((int(tid), p, tt, float(height), float(width)))

    def _merge(self) -> None:
        if not self._new:
            return
        n0 = len(self.px)
        counts = np.array([len(p) for _, p, _, _, _ in self._new], np.int64)
        starts = n0 + np.concatenate([[0], np.cumsum(counts)[:-1]])
        self.ids = np.concatenate([self.ids, [tid for tid, *_ in self._new]]).astype(np.int64)
        self.height = np.concatenate([self.height, [h for *_, h, _ in self._new]])
        self.width = np.concatenate([self.width, [w for *_, w in self._new]])
        self.start = np.concatenate([self.start, starts])
        self.end = np.concatenate([self.end, starts + counts])
        self.cur = np.concatenate([self.cur, starts])
        pts = np.vstack([p for _, p, _, _, _ in self._new])
        self.px = np.concatenate([self.px, pts[:, 0]])
        self.py = np.concatenate([self.py, pts[:, 1]])
        self.pt = np.concatenate([self.pt, np.concatenate([t for _, _, t, _, _ in self._new])])
        self._new = []

    def prune(self, t: float) -> None:
        """Forget the targets whose path ended before ``t`` (when they are at least half of those held)."""
        self._merge()
        done = self.pt[self.end - 1] < t
        if not len(done) or done.sum() * 2 < len(done):
            return
        keep = ~done
        counts = (self.end - self.start)[keep]
        take = np.repeat(self.start[keep], counts) + (
            np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts))
        new_start = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
        self.cur = new_start + (self.cur - self.start)[keep]
        self.start, self.end = new_start, new_start + counts
        self.ids, self.height, self.width = self.ids[keep], self.height[keep], self.width[keep]
        self.px, self.py, self.pt = self.px[take], self.py[take], self.pt[take]

    def state(self, t: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Rows in the world at ``t``, their positions (k, 2) and speeds (k,)."""
        self._merge()
        if not len(self.ids):
            return np.zeros(0, np.int64), np.zeros((0, 2)), np.zeros(0)
        rows = np.flatnonzero((self.pt[self.start] <= t) & (self.pt[self.end - 1] >= t))
        if not len(rows):
            return rows, np.zeros((0, 2)), np.zeros(0)
        cur = self.cur[rows]
        last = self.end[rows] - 2
        for _ in range(10_000):
            adv = (cur < last) & (self.pt[np.minimum(cur + 1, self.end[rows] - 1)] <= t)
            if not adv.any():
                break
            cur = cur + adv
        self.cur[rows] = cur
        t0, t1 = self.pt[cur], self.pt[cur + 1]
        dx, dy = self.px[cur + 1] - self.px[cur], self.py[cur + 1] - self.py[cur]
        span = t1 - t0
        f = np.where(span > 0, np.clip((t - t0) / np.where(span > 0, span, 1.0), 0.0, 1.0), 1.0)
        xy = np.column_stack([self.px[cur] + dx * f, self.py[cur] + dy * f])
        moving = (span > 0) & (t < t1)
        speed = np.where(moving, np.hypot(dx, dy) / np.where(span > 0, span, 1.0), 0.0)
        return rows, xy, speed

    def targets(self, t: float) -> Targets:
        """The targets in the world at ``t``."""
        rows, xy, speed = self.state(t)
        return Targets(ids=self.ids[rows], cls=np.full(len(rows), self.cls, np.int8), xy=xy,
                       height_m=self.height[rows], width_m=self.width[rows], speed=speed)


class Agenda:
    """Actions (records, placing or removing an object, a sound) waiting for their time.

    Parameters
    ----------
    owner : agents.lookalikes.base.Lookalike
        Whose ``record`` the planned records go through (so they carry its key).
    """

    def __init__(self, owner) -> None:
        self.owner = owner
        self._heap: list[tuple[float, int, Callable, tuple, dict]] = []
        self._seq = 0

    def __len__(self) -> int:
        return len(self._heap)

    def call(self, t: float, fn: Callable, *args, **kwargs) -> None:
        """Plan ``fn(*args, **kwargs)`` for time ``t``."""
        heapq.heappush(self._heap, (float(t), self._seq, fn, args, kwargs))
        self._seq += 1

    def record(self, t: float, kind: str, tid, xy, **extra) -> None:
        """Plan the owner's record ``kind`` about ``tid`` at ``xy``, stamped ``t``."""
        self.call(t, self.owner.record, kind, tid, xy, float(t), **extra)

    def run(self, t1: float) -> int:
        """Do every planned action due at or before ``t1``, in time order (then planning order); returns
        how many."""
        k = 0
        while self._heap and self._heap[0][0] <= t1:
            _, _, fn, args, kwargs = heapq.heappop(self._heap)
            fn(*args, **kwargs)
            k += 1
        return k


class WalkRoutes:
    """Walking polylines to a spot from walk nodes about ``dist_m`` away, ``k`` per spot, built once.

    Parameters
    ----------
    walk : agents.model_tracks.GraphIndex
        The model's walk graph index.
    rng : numpy.random.Generator
        Picks the far nodes.
    """

    def __init__(self, walk, rng: np.random.Generator) -> None:
        self.walk, self.rng = walk, rng
        self._cache: dict[tuple, list[np.ndarray]] = {}

    def to_node(self, node, dist_m: tuple[float, float], *, k: int = 4) -> list[np.ndarray]:
        """``k`` polylines (m, 2) along the walk graph to ``node``, each from a walk node ``dist_m`` (range)
        away; drawn on first use, then reused."""
        key = (node, float(dist_m[0]), float(dist_m[1]), int(k))
        if key not in self._cache:
            out = []
            for d in self.rng.uniform(dist_m[0], dist_m[1], k):
                far = self.walk.node_at_distance(node, float(d), self.rng)
                out.append(self.walk.polyline(self.walk.path(far, node))[0] if far != node else
                           self.walk.node_xy(node).reshape(1, 2))
            self._cache[key] = out
        return self._cache[key]

    def to_spot(self, node, spot, dist_m: tuple[float, float], *, k: int = 4) -> list[np.ndarray]:
        """The ``to_node`` polylines, each going on straight from ``node`` to ``spot``."""
        end = np.asarray(spot, float).reshape(1, 2)
        return [np.vstack([r, end]) for r in self.to_node(node, dist_m, k=k)]

    def pick(self, node, spot, dist_m: tuple[float, float], *, k: int = 4) -> np.ndarray:
        """One of the ``to_spot`` polylines, drawn."""
        routes = self.to_node(node, dist_m, k=k)
        r = routes[int(self.rng.integers(len(routes)))]
        return np.vstack([r, np.asarray(spot, float).reshape(1, 2)])


def walk_times(points: np.ndarray, speed: float, t0: float) -> np.ndarray:
    """Vertex times of walking ``points`` at ``speed`` m/s from ``t0``."""
    seg = np.hypot(*np.diff(points, axis=0).T) if len(points) > 1 else np.zeros(0)
    return t0 + np.concatenate([[0.0], np.cumsum(seg) / speed])


def visit(route_in: np.ndarray | None, spot, t_arrive: float, t_leave: float, route_out: np.ndarray | None,
          speed: float) -> tuple[np.ndarray, np.ndarray]:
    """The timed polyline of somebody who walks ``route_in`` (its last vertex replaced by ``spot``) to
    arrive at ``t_arrive``, stands at ``spot`` until ``t_leave`` and walks ``route_out`` (its first vertex
    replaced by ``spot``) away; either route may be None (appearing or vanishing at the spot)."""
    spot = np.asarray(spot, float).reshape(1, 2)
    parts, times = [], []
    if route_in is not None and len(route_in) > 1:
        p = np.vstack([route_in[:-1], spot])
        tt = walk_times(p, speed, 0.0)
        parts.append(p[:-1])
        times.append(t_arrive - tt[-1] + tt[:-1])
    parts += [spot, spot]
    times += [np.array([t_arrive]), np.array([max(t_leave, t_arrive)])]
    if route_out is not None and len(route_out) > 1:
        p = np.vstack([spot, route_out[1:]])
        tt = walk_times(p, speed, max(t_leave, t_arrive))
        parts.append(p[1:])
        times.append(tt[1:])
    return np.vstack(parts), np.concatenate(times)
