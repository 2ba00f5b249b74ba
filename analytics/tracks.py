"""Per-track ground history: recent positions of each track and the speed and heading they imply."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["TrackHistory", "step_speeds"]


class TrackHistory:
    """Recent ``(t, x, y)`` of every track id, pruned to ``window_s`` and forgotten after ``forget_s`` unseen.

    Velocity is the displacement over the window, which smooths per-frame box jitter: from the newest sample
    at least ``window_s`` old (else the oldest kept) to the current one. Samples live in one ring buffer per
    track (rows of arrays, grown when a track's window holds more samples than they fit), so a frame costs a
    few numpy operations for all its tracks, not a Python loop over them.
    """

    def __init__(self, *, window_s: float = 1.0, forget_s: float = 10.0, capacity: int = 16) -> None:
        self.window_s = float(window_s)
        self.forget_s = float(forget_s)
        self._slot: dict[str, int] = {}
        self._free: list[int] = []
        self._k = max(4, int(capacity))                   # ring length per track
        self._t = np.zeros((0, self._k))
        self._x = np.zeros((0, self._k))
        self._y = np.zeros((0, self._k))
        self._start = np.zeros(0, np.int64)              # sample numbers: first kept, last written
        self._end = np.full(0, -1, np.int64)
        self._last_prune = float("-inf")

    def update(self, t: float, ids: Sequence[str], xy: np.ndarray) -> np.ndarray:
        """Add one frame (each id at most once) and return each track's (vx, vy) in m/s (NaN until the kept
        samples span half a window)."""
        n = len(ids)
        vel = np.full((n, 2), np.nan)
        xy = np.asarray(xy, float).reshape(n, 2)
        ok = np.flatnonzero(np.isfinite(xy).all(axis=1))
        if len(ok):
            slots = np.array([self._slot_of(ids[i]) for i in ok.tolist()], np.int64)
            if len(np.unique(slots)) != len(slots):
                raise ValueError("TrackHistory.update: an id appears twice in one frame")
            vel[ok] = self._add(float(t), slots, xy[ok])
        if t - self._last_prune > self.forget_s:
            self._last_prune = t
            self._prune(t)
        return vel

    def __contains__(self, tid: str) -> bool:
        return tid in self._slot

    # ---------------------------------------------------------------- internals
    def _add(self, t: float, s: np.ndarray, xy: np.ndarray) -> np.ndarray:
        end = self._end[s] + 1
        while (end - self._start[s] + 1 > self._k).any():  # a window longer than the ring: grow it
            self._grow()
        k = self._k
        self._t[s, end % k], self._x[s, end % k], self._y[s, end % k] = t, xy[:, 0], xy[:, 1]
        self._end[s] = end
        # drop from the left while the second kept sample is already a window old (and 3+ are kept)
        start = self._start[s]
        pos = start[:, None] + np.arange(1, k)[None, :]
        times = self._t[s[:, None], pos % k]
        old = (pos <= end[:, None] - 1) & (t - times >= self.window_s)
        start = start + np.cumprod(old, axis=1).sum(axis=1)
        self._start[s] = start
        t0, x0, y0 = self._t[s, start % k], self._x[s, start % k], self._y[s, start % k]
        out = np.full((len(s), 2), np.nan)
        span = t - t0
        ready = span >= 0.5 * self.window_s
        out[ready, 0] = (xy[ready, 0] - x0[ready]) / span[ready]
        out[ready, 1] = (xy[ready, 1] - y0[ready]) / span[ready]
        return out

    def _slot_of(self, tid: str) -> int:
        slot = self._slot.get(tid)
        if slot is None:
            if not self._free:
                self._more_slots()
            slot = self._slot[tid] = self._free.pop()
            self._start[slot], self._end[slot] = 0, -1
        return slot

    def _more_slots(self) -> None:
        m = len(self._end)
        add = max(16, m)
        self._t = np.vstack([self._t, np.zeros((add, self._k))])
        self._x = np.vstack([self._x, np.zeros((add, self._k))])
        self._y = np.vstack([self._y, np.zeros((add, self._k))])
        self._start = np.concatenate([self._start, np.zeros(add, np.int64)])
        self._end = np.concatenate([self._end, np.full(add, -1, np.int64)])
        self._free.extend(range(m + add - 1, m - 1, -1))

    def _grow(self) -> None:
        """Double the ring length, keeping every track's samples at their sample numbers."""
        k, k2 = self._k, 2 * self._k
        rows = np.arange(len(self._end))[:, None]
        pos = self._end[:, None] - np.arange(k)[None, :]  # the last k sample numbers of each track
        live = pos >= np.maximum(self._start, 0)[:, None]
        r, p = np.broadcast_to(rows, pos.shape)[live], pos[live]
        for name in ("_t", "_x", "_y"):
            old, new = getattr(self, name), np.zeros((len(self._end), k2))
            new[r, p % k2] = old[r, p % k]
            setattr(self, name, new)
        self._k = k2

    def _prune(self, t: float) -> None:
        k = self._k
        gone = [tid for tid, s in self._slot.items() if t - self._t[s, self._end[s] % k] > self.forget_s]
        for tid in gone:
            self._free.append(self._slot.pop(tid))


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
