"""Per-track ground history: recent positions of each track and the speed and heading they imply."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["Persistence", "TrackHistory", "step_speeds", "track_frame"]


def track_frame(msg: dict[str, Any]) -> tuple[float, list[str], list[str], np.ndarray] | None:
    """(t, ids, cls, xy) of a ``track/frame`` message with a ground projection, else None."""
    xy = msg.get("xy")
    if xy is None or not msg.get("ids"):
        return None
    return float(msg["t"]), list(msg["ids"]), list(msg["cls"]), np.asarray(xy, dtype=float).reshape(-1, 2)


class TrackHistory:
    """Recent ``(t, x, y)`` of every track id, pruned to ``window_s`` and forgotten after ``forget_s`` unseen.

    Velocity is the displacement over the window, which smooths per-frame box jitter. Each track's points are
    a row of ring buffers (arrays), so the frames of many cameras update in one pass (``update_many``).
    """

    def __init__(self, *, window_s: float = 1.0, forget_s: float = 10.0) -> None:
        self.window_s = float(window_s)
        self.forget_s = float(forget_s)
        self._slot: dict[str, int] = {}
        self._free: list[int] = []
        self._buf = np.zeros((0, 16, 3))           # per slot: ring of (t, x, y)
        self._head = np.zeros(0, np.int64)         # oldest point's index in the ring
        self._len = np.zeros(0, np.int64)
        self._last = np.zeros(0)                   # time of the newest point
        self._last_prune = float("-inf")

    def update(self, t: float, ids: Sequence[str], xy: np.ndarray) -> np.ndarray:
        """Add one frame and return each track's (vx, vy) in m/s (NaN until it spans half a window)."""
        return self.update_many([t], [ids], [xy])[0]

    def update_many(self, ts: Sequence[float], ids: Sequence[Sequence[str]], xys: Sequence[np.ndarray],
                    ) -> list[np.ndarray]:
        """``update`` of each frame in order (``ts[i]``, ``ids[i]``, ``xys[i]``), the frames' tracks updated
        together between the forgetting sweeps that frame-by-frame calls would make."""
        out: list[np.ndarray] = []
        start = 0
        for k, t in enumerate(ts):
            sweep = t - self._last_prune > self.forget_s
            if sweep or k == len(ts) - 1:
                out += self._segment(ts[start : k + 1], ids[start : k + 1], xys[start : k + 1])
                start = k + 1
            if sweep:
                self._sweep(float(t))
        return out

    def __contains__(self, tid: str) -> bool:
        return tid in self._slot

    def _segment(self, ts, ids, xys) -> list[np.ndarray]:
        """Frames whose tracks are all distinct, with no sweep among them: one vectorised step."""
        n = [len(i) for i in ids]
        flat = [tid for i in ids for tid in i]
        if len(set(flat)) < len(flat):  # a track twice: frame by frame
            return [v for t, i, xy in zip(ts, ids, xys, strict=True) for v in self._segment([t], [i], [xy])]
        xy = np.concatenate([np.empty((0, 2)), *(np.asarray(a, dtype=float).reshape(-1, 2) for a in xys)])
        t = np.repeat(np.asarray(ts, dtype=float), n)
        vel = np.full((len(flat), 2), np.nan)
        ok = np.flatnonzero(~np.isnan(xy).any(axis=1))
        if len(ok):
            rows = self._slots([flat[i] for i in ok])
            vel[ok] = self._step(rows, t[ok], xy[ok])
        return np.split(vel, np.cumsum(n)[:-1])

    def _slots(self, tids: list[str]) -> np.ndarray:
        get, rows = self._slot.get, []
        for tid in tids:
            r = get(tid)
            if r is None:
                if not self._free:
                    self._grow_rows()
                r = self._slot[tid] = self._free.pop()
                self._head[r] = self._len[r] = 0
            rows.append(r)
        return np.array(rows, dtype=np.int64)

    def _step(self, r: np.ndarray, t: np.ndarray, xy: np.ndarray) -> np.ndarray:
        """Append the points to rows ``r``, drop what left the window, return the velocities."""
        if (self._len[r] >= self._buf.shape[1]).any():
            self._grow_ring()
        cap = self._buf.shape[1]
        self._buf[r, (self._head[r] + self._len[r]) % cap] = np.column_stack([t, xy])
        self._len[r] += 1
        self._last[r] = t
        while True:  # drop the oldest while the second oldest is a whole window old (two points stay)
            drop = (self._len[r] > 2) & (t - self._buf[r, (self._head[r] + 1) % cap, 0] >= self.window_s)
            if not drop.any():
                break
            d = r[drop]
            self._head[d] = (self._head[d] + 1) % cap
            self._len[d] -= 1
        t0, x0, y0 = self._buf[r, self._head[r]].T
        vel = np.full((len(r), 2), np.nan)
        span = t - t0
        ok = span >= 0.5 * self.window_s
        vel[ok, 0] = (xy[ok, 0] - x0[ok]) / span[ok]
        vel[ok, 1] = (xy[ok, 1] - y0[ok]) / span[ok]
        return vel

    def _sweep(self, t: float) -> None:
        """Forget the tracks unseen for more than ``forget_s``."""
        self._last_prune = t
        gone = [tid for tid, r in self._slot.items() if t - self._last[r] > self.forget_s]
        for tid in gone:
            self._free.append(self._slot.pop(tid))

    def _grow_rows(self) -> None:
        old = len(self._head)
        new = max(64, 2 * old)
        self._buf = np.concatenate([self._buf, np.zeros((new - old, *self._buf.shape[1:]))])
        grow = np.zeros(new - old, np.int64)
        self._head, self._len = np.concatenate([self._head, grow]), np.concatenate([self._len, grow])
        self._last = np.concatenate([self._last, np.zeros(new - old)])
        self._free.extend(range(new - 1, old - 1, -1))

    def _grow_ring(self) -> None:
        cap = self._buf.shape[1]
        idx = (self._head[:, None] + np.arange(cap)[None, :]) % cap   # each ring unrolled from its head
        self._buf = np.concatenate([np.take_along_axis(self._buf, idx[:, :, None], axis=1),
                                    np.zeros_like(self._buf)], axis=1)
        self._head[:] = 0


def step_speeds(t: np.ndarray, ids: np.ndarray, xy: np.ndarray, *, max_gap_s: float = 1.0) -> np.ndarray:
    """Speeds (m/s) between consecutive samples of the same track, for arrays of observations.

    Rows may come in any order; steps longer than ``max_gap_s`` (the track was lost) are left out.

    >>> step_speeds(np.array([0.0, 1.0, 0.0]), np.array([1, 1, 2]), np.array([[0, 0], [3, 4], [9, 9]]))
    array([5.])
    """
    order = np.lexsort((t, ids))
    t, ids, xy = np.asarray(t, float)[order], np.asarray(ids)[order], np.asarray(xy, float)[order]
    same = ids[1:] == ids[:-1]
    dt = np.diff(t)
    ok = same & (dt > 0) & (dt <= max_gap_s)
    d = np.hypot(*np.diff(xy, axis=0).T)
    return d[ok] / dt[ok]


class Persistence:
    """How long each track has met a test without a gap: a test met now and again within ``max_gap_s``
    each time holds on; a track lost longer (re-found, or a jump after an ID switch) starts again."""

    def __init__(self, max_gap_s: float) -> None:
        self.max_gap_s = float(max_gap_s)
        self._since: dict[str, tuple[float, float]] = {}  # track -> (met since, last met)
        self._last_prune = float("-inf")

    def __contains__(self, key: object) -> bool:
        return key in self._since

    def update(self, t: float, ids: Sequence, met: np.ndarray) -> np.ndarray:
        """Seconds each track has met the test up to ``t`` (0 when it is not met now)."""
        held = np.zeros(len(ids))
        since = self._since
        for k in np.flatnonzero(met):
            tid = ids[k]
            t0, seen = since.get(tid, (t, t))
            if t - seen > self.max_gap_s:
                t0 = t
            since[tid] = (t0, t)
            held[k] = t - t0
        for k in np.flatnonzero(~np.asarray(met, bool)):
            since.pop(ids[k], None)
        if t - self._last_prune > 10 * self.max_gap_s:  # drop the tracks not met since a gap ago
            self._last_prune = t
            self._since = {k: v for k, v in since.items() if t - v[1] <= self.max_gap_s}
        return held
