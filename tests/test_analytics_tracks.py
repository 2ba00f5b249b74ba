"""Track histories: the ring-buffer ``TrackHistory`` against the plain per-track deque it replaced, frame by
frame and many frames at once."""

from __future__ import annotations

from collections import deque

import numpy as np

from analytics.tracks import TrackHistory, step_speeds


class _DequeHistory:
    """The previous implementation: one deque of (t, x, y) per track."""

    def __init__(self, *, window_s: float = 1.0, forget_s: float = 10.0) -> None:
        self.window_s, self.forget_s = window_s, forget_s
        self._pts: dict = {}
        self._last_prune = float("-inf")

    def update(self, t, ids, xy):
        vel = np.full((len(ids), 2), np.nan)
        for i, tid in enumerate(ids):
            x, y = float(xy[i, 0]), float(xy[i, 1])
            if x != x or y != y:
                continue
            dq = self._pts.setdefault(tid, deque())
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


def _stream(seed: int, n_frames: int = 400):
    """Instants of several cameras' frames: tracks that walk, stop, vanish for a while (longer than the
    forgetting time), come back, NaN positions, uneven frame rates, ids repeated across instants."""
    rng = np.random.default_rng(seed)
    pos = {}
    for k in range(n_frames):
        t = k * 0.2 + (1e-12 if k % 7 == 0 else 0.0)
        frames = []
        for cam in range(4):
            if cam == 3 and k % 3:  # a slower camera
                continue
            live = [i for i in range(25) if not (80 < k < 150 and i < 5) and rng.random() < 0.9]
            ids = [f"c{cam}:{i}" for i in live]
            xy = []
            for tid in ids:
                p = pos.get(tid, rng.uniform(0, 50, 2)) + rng.normal(0, 0.6, 2)
                pos[tid] = p
                xy.append(p if rng.random() > 0.03 else [np.nan, np.nan])
            frames.append((t, ids, np.array(xy, dtype=float).reshape(-1, 2)))
        yield frames


def test_frame_by_frame_equals_the_deque_history():
    new, old = TrackHistory(window_s=2.0), _DequeHistory(window_s=2.0)
    for frames in _stream(1):
        for t, ids, xy in frames:
            np.testing.assert_array_equal(new.update(t, ids, xy), old.update(t, ids, xy))
    every = [f"c{c}:{i}" for c in range(4) for i in range(25)]
    assert all((tid in new) == (tid in old._pts) for tid in every)


def test_an_instant_of_many_cameras_at_once_equals_frame_by_frame():
    new, old = TrackHistory(window_s=1.0, forget_s=5.0), _DequeHistory(window_s=1.0, forget_s=5.0)
    moving = 0
    for frames in _stream(2):
        got = new.update_many([f[0] for f in frames], [f[1] for f in frames], [f[2] for f in frames])
        for (t, ids, xy), v in zip(frames, got, strict=True):
            want = old.update(t, ids, xy)
            np.testing.assert_array_equal(v, want)
            moving += int(np.isfinite(want).all(axis=1).sum())
    assert moving > 10000
    assert new._buf.shape[1] == 16  # 1 s at 5 fps fits the ring


def test_a_long_window_grows_the_rings_and_a_repeated_id_is_taken_in_order():
    new, old = TrackHistory(window_s=10.0), _DequeHistory(window_s=10.0)
    for k in range(200):
        t = k * 0.1
        ab = np.array([[k * 0.1, 0.0], [0.0, k * 0.2]])
        frames = [(t, ["a", "b"], ab), (t, ["a"], np.array([[k, 1.0]]))]
        got = new.update_many([f[0] for f in frames], [f[1] for f in frames], [f[2] for f in frames])
        for (tt, ids, xy), v in zip(frames, got, strict=True):
            np.testing.assert_array_equal(v, old.update(tt, ids, xy))
    assert new._buf.shape[1] >= 128


def test_step_speeds():
    xy = np.array([[0, 0], [1, 0], [9, 9]])
    assert step_speeds(np.array([0.0, 0.5, 2.0]), np.array([1, 1, 1]), xy).tolist() == [2.0]
