"""Per-track ground history: recent positions of each track and the speed and heading they imply."""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

import numpy as np

__all__ = ["TrackHistory", "step_speeds"]


class TrackHistory:
    """Recent ``(t, x, y)`` of every track id, pruned to ``window_s`` and forgotten after ``forget_s`` unseen.

    Velocity is the displacement over the window, which smooths per-frame box jitter.
    """

    def __init__(self, *, window_s: float = 1.0, forget_s: float = 10.0) -> None:
        self.window_s = float(window_s)
        self.forget_s = float(forget_s)
        self._pts: dict[str, deque[tuple[float, float, float]]] = {}
        self._last_prune = float("-inf")

    def update(self, t: float, ids: Sequence[str], xy: np.ndarray) -> np.ndarray:
        """Add one frame and return each track's (vx, vy) in m/s (NaN until it spans half a window)."""
        vel = np.full((len(ids), 2), np.nan)
        for i, tid in enumerate(ids):
            x, y = float(xy[i, 0]), float(xy[i, 1])
            if x != x or y != y:
                continue
            dq = self._pts.get(tid)
            if dq is None:
                dq = self._pts[tid] = deque()
            dq.append((t, x, y))
            while len(dq) > 2 and t - dq[1][0] >= self.window_s:
                dq.popleft()
            t0, x0, y0 = dq[0]
            if t - t0 >= 0.5 * self.window_s:
                vel[i] = ((x - x0) / (t - t0), (y - y0) / (t - t0))
        if t - self._last_prune > self.forget_s:
            self._last_prune = t
            self._pts = {k: v for k, v in self._pts.items() if t - v[-1][0] <= self.forget_s}
        return vel

    def __contains__(self, tid: str) -> bool:
        return tid in self._pts


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
