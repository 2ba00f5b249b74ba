"""Roboflow ``trackers``' ByteTrack with every tracklet's Kalman filter held in one set of arrays.

Why: the library gives each tracklet its own ``KalmanFilter`` object, so a frame costs one small-matrix
predict and one update per track in Python, most of the tracking time (``docs/performance.md``).
``PooledByteTrackTracker`` keeps the library's association, two-stage matching, lifecycle and id
allocation, and only swaps the per-tracklet filter for rows of a ``KalmanPool``: one batched predict and
one batched update per frame (compiled row kernels, ``analytics.kalman_rows``), with the same matrices (F,
Q, R, initial P taken from a library tracklet) and the same algebra (Joseph form), so it returns the same
ids as the plain library tracker (tested).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import supervision as sv
from trackers import ByteTrackTracker
from trackers.core.bytetrack.tracklet import ByteTrackTracklet
from trackers.utils.base_tracklet import BaseTracklet
from trackers.utils.predict_timing import FIXED_RATE_TIMING, PredictTiming
from trackers.utils.state_representations import XYXYStateEstimator

from analytics.kalman_rows import predict_rows, update_rows

__all__ = ["KalmanPool", "PooledByteTrackTracker", "PooledTracklet"]

class KalmanPool:
    """Constant-velocity XYXY box filters (state ``[x1, y1, x2, y2, vx1, vy1, vx2, vy2]``) as rows of arrays.

    Noise and motion come from a reference ``ByteTrackTracklet`` so they follow the library's tuning.
    Updates are queued by ``observe`` and applied together by ``flush``.
    """

    def __init__(self, capacity: int = 64) -> None:
        ref = ByteTrackTracklet(np.array([0.0, 0.0, 1.0, 1.0]), XYXYStateEstimator)
        est = ref.state_estimator
        self._noise = est.motion.process_noise  # the library's Q for any step (ScalableProcessNoise)
        self.R = est.kf.measurement_noise.copy()
        self.P0 = est.kf.state_covariance.copy()
        self.dim_x, self.dim_z = est.kf.dim_x, est.kf.dim_z
        self.x = np.zeros((capacity, self.dim_x))
        self.P = np.zeros((capacity, self.dim_x, self.dim_x))
        self.used = np.zeros(capacity, bool)
        self._free: list[int] = list(range(capacity - 1, -1, -1))
        self._pending_slots: list[int] = []
        self._pending_z: list[np.ndarray] = []
        self._step: tuple[float, float | None] | None = None
        self._Q = np.eye(self.dim_x)
        pos, vel = est.motion.pos_idx, est.motion.vel_idx
        if list(pos) != [0, 1, 2, 3] or list(vel) != [4, 5, 6, 7]:  # what analytics.kalman_rows assumes
            raise ValueError("KalmanPool needs the XYXY constant-velocity layout")

    def allocate(self, bbox: np.ndarray) -> int:
        """A new filter seeded with ``bbox`` (zero velocity, the library's initial covariance)."""
        if not self._free:
            self._grow()
        slot = self._free.pop()
        self.used[slot] = True
        self.x[slot] = 0.0
        self.x[slot, : self.dim_z] = bbox
        self.P[slot] = self.P0
        return slot

    def allocate_many(self, bboxes: np.ndarray) -> np.ndarray:
        """``allocate`` for each row of ``bboxes`` (n, 4), in order; returns the slots."""
        taken: list[int] = []
        while len(taken) < len(bboxes):
            if not self._free:
                self._grow()
            k = min(len(bboxes) - len(taken), len(self._free))
            taken += self._free[len(self._free) - k :][::-1]
            del self._free[len(self._free) - k :]
        slots = np.array(taken, dtype=np.int64)
        self.used[slots] = True
        self.x[slots] = 0.0
        self.x[slots, : self.dim_z] = bboxes
        self.P[slots] = self.P0
        return slots

    def release(self, slots: np.ndarray) -> None:
        """Return filters of tracklets the tracker dropped."""
        slots = np.asarray(slots, dtype=int)
        self.used[slots] = False
        self._free.extend(int(s) for s in slots[::-1])

    def observe(self, slot: int, bbox: np.ndarray) -> None:
        """Queue a measurement for ``slot``; ``flush`` applies it."""
        self._pending_slots.append(slot)
        self._pending_z.append(bbox)

    def flush(self) -> None:
        """Apply every queued measurement: one batched Kalman update (Joseph form, as the library)."""
        if not self._pending_slots:
            return
        s = np.asarray(self._pending_slots, dtype=np.int64)
        z = np.asarray(self._pending_z, dtype=float).reshape(len(s), self.dim_z)
        self._pending_slots, self._pending_z = [], []
        update_rows(self.x, self.P, s, z, self.R)

    def process_noise(self, frame_step: float, frame_rate: float | None = None) -> np.ndarray:
        """The library's Q for one predict step of ``frame_step`` frames (its near-nominal band included),
        from ``build_Q`` itself: a function of the step and rate only (the library's per-filter cache keys
        on the step alone, which gives the same Q as long as a filter's frame rate does not change)."""
        if (frame_step, frame_rate) != self._step:
            self._Q = self._noise.build_Q(frame_step, frame_rate)
            self._step = (frame_step, frame_rate)
        return self._Q

    def predict(self, slots: np.ndarray, frame_step: float, frame_rate: float | None = None) -> None:
        """One predict step of ``frame_step`` frames for ``slots``, with the library's F and scaled Q."""
        Q = self.process_noise(frame_step, frame_rate)
        s = np.asarray(slots, dtype=np.int64).reshape(-1)
        if not len(s):
            return
        steps = np.full(len(s), float(frame_step))
        predict_rows(self.x, self.P, s, steps, Q[None], np.zeros(len(s), np.int64))

    def boxes(self, slots: np.ndarray) -> np.ndarray:
        """``[x1, y1, x2, y2]`` of each slot's current state."""
        return self.x[np.asarray(slots, dtype=int), : self.dim_z]

    def _grow(self) -> None:
        n = len(self.used)
        self.x = np.concatenate([self.x, np.zeros_like(self.x)])
        self.P = np.concatenate([self.P, np.zeros_like(self.P)])
        self.used = np.concatenate([self.used, np.zeros(n, bool)])
        self._free.extend(range(2 * n - 1, n - 1, -1))


class PooledTracklet(BaseTracklet):
    """A ByteTrack tracklet whose filter is one row of a ``KalmanPool`` (same counters as the library's)."""

    def __init__(self, pool: KalmanPool, bbox: np.ndarray) -> None:  # noqa: D107 (no per-track filter)
        self.age = 0
        self.tracker_id = -1
        self.time_since_update = 0
        self.time_since_update_seconds = 0.0
        self.number_of_successful_consecutive_updates = 1  # the first box counts, as in ByteTrackTracklet
        self.pool = pool
        self.slot = pool.allocate(bbox)

    def update(self, bbox: np.ndarray) -> None:
        self.pool.observe(self.slot, bbox)
        self.time_since_update = 0
        self.time_since_update_seconds = 0.0
        self.number_of_successful_consecutive_updates += 1

    def advance(self, timing: PredictTiming) -> None:
        """The bookkeeping half of ``ByteTrackTracklet.predict`` (the filter half is batched)."""
        if self.time_since_update > 0:
            self.number_of_successful_consecutive_updates = 0
        self._advance_miss_clocks(timing)

    def predict(self, timing: PredictTiming = FIXED_RATE_TIMING) -> np.ndarray:
        self.pool.flush()
        self.pool.predict([self.slot], timing.frame_step, timing.frame_rate)
        self.advance(timing)
        return self.get_state_bbox()

    def get_state_bbox(self) -> np.ndarray:
        return self.pool.x[self.slot, : self.pool.dim_z].copy()


class PooledByteTrackTracker(ByteTrackTracker):
    """``ByteTrackTracker`` whose tracklets share one ``KalmanPool`` (XYXY state, as the library default).

    Not registered in the library's tracker registry (no ``tracker_id``) and not tunable by its tuner.
    """

    tracker_id = None  # type: ignore[assignment]
    search_space: ClassVar[dict[str, dict]] = {}

    def __init__(self, **kwargs: Any) -> None:
        if kwargs.get("state_estimator_class", XYXYStateEstimator) is not XYXYStateEstimator:
            raise ValueError("PooledByteTrackTracker supports the XYXY state only")
        super().__init__(**kwargs)
        self.pool = KalmanPool()

    def update(
        self, detections: sv.Detections, frame: np.ndarray | None = None, timestamp: float | None = None
    ) -> sv.Detections:
        out = super().update(detections, frame=frame, timestamp=timestamp)
        self.pool.flush()
        stale = self.pool.used.copy()  # filters of tracklets the tracker dropped this frame
        stale[[t.slot for t in self.tracks]] = False
        if stale.any():
            self.pool.release(np.flatnonzero(stale))
        return out

    def _predict_tracklets(self, tracklets: list, timing: PredictTiming) -> None:
        if timing.skip_predict or not tracklets:
            return
        self.pool.flush()
        self.pool.predict([t.slot for t in tracklets], timing.frame_step, timing.frame_rate)
        for t in tracklets:
            t.advance(timing)

    def _spawn_new_tracks(
        self,
        detection_boxes: np.ndarray,
        confidences: np.ndarray,
        unmatched_high_local: list[int],
        high_indices: np.ndarray,
        out_det_indices: list[int],
        out_tracker_ids: list[int],
    ) -> None:
        # The library's rule (every unmatched high box is returned with id -1; those above the activation
        # threshold start a tracklet), with a pooled tracklet in place of ByteTrackTracklet.
        for local in unmatched_high_local:
            i = int(high_indices[local])
            out_det_indices.append(i)
            out_tracker_ids.append(-1)
            if float(confidences[i]) >= self.track_activation_threshold:
                self.tracks.append(PooledTracklet(self.pool, detection_boxes[i]))

    def reset(self) -> None:
        super().reset()
        self.pool = KalmanPool()
