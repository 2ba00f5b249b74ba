"""Track history: the ring-buffer implementation gives the velocities of the plain per-track deque."""

from __future__ import annotations

from collections import deque

import numpy as np
import pytest

from analytics.tracks import TrackHistory


class DequeHistory:
    """The reference: the per-track deque the arrays replace (the previous implementation, verbatim)."""

    def __init__(self, *, window_s: float = 1.0, forget_s: float = 10.0) -> None:
        self.window_s, self.forget_s = float(window_s), float(forget_s)
        self._pts: dict[str, deque] = {}
        self._last_prune = float("-inf")

    def update(self, t, ids, xy):
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


@pytest.mark.parametrize(
    "fps, window, jitter",
    [(5.0, 1.0, 0.2), (2.0, 3.0, 0.2), (30.0, 1.0, 0.2), (25.0, 4.0, 0.2), (4.0, 1.0, 0.0)],
)
def test_ring_buffers_give_the_deque_velocities(fps: float, window: float, jitter: float) -> None:
    """Tracks come and go, skip frames, return after being forgotten, carry NaN positions; frame times jitter
    (or not: at 4 fps, samples exactly one window apart test the boundary). At 25-30 fps a 4 s window holds
    ~100 samples: the rings must grow past their first length."""
    rng = np.random.default_rng(int(fps * 10 + window))
    ref = DequeHistory(window_s=window, forget_s=6.0)
    new = TrackHistory(window_s=window, forget_s=6.0, capacity=4)
    pos = rng.uniform(0, 100, (60, 2))
    t, compared = 0.0, 0
    for _ in range(int(40 * fps)):
        t += (1 + rng.uniform(-jitter, jitter)) / fps
        pos += rng.normal(0, 0.3, pos.shape)
        seen = np.flatnonzero(rng.random(60) < 0.8)
        if rng.random() < 0.05:
            seen = seen[seen < 20]  # most tracks vanish for a while: some are forgotten, then come back
        rng.shuffle(seen)
        ids = [f"cam:{i}" for i in seen]
        xy = pos[seen].copy()
        xy[rng.random(len(seen)) < 0.03] = np.nan
        a, b = ref.update(t, ids, xy), new.update(t, ids, xy)
        np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
        np.testing.assert_array_equal(a[~np.isnan(a)], b[~np.isnan(b)])   # bit for bit
        compared += int((~np.isnan(a[:, 0])).sum())
        assert {i for i in ids if i in new} == {i for i in ids if i in ref._pts}
    assert compared > 1000


def test_speed_of_a_straight_walk_and_a_repeated_id() -> None:
    h = TrackHistory(window_s=1.0)
    for k in range(11):
        v = h.update(0.2 * k, ["a"], np.array([[1.3 * 0.2 * k, 0.0]]))
    np.testing.assert_allclose(v, [[1.3, 0.0]])
    with pytest.raises(ValueError, match="twice"):
        h.update(3.0, ["a", "a"], np.zeros((2, 2)))
