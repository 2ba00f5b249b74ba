"""Roboflow ``trackers``' ByteTrack with every tracklet's Kalman filter held in one set of arrays.

Why: the library gives each tracklet its own ``KalmanFilter`` object, so a frame costs one small-matrix
predict and one update per track in Python, most of the tracking time (``docs/performance.md``).
``PooledByteTrackTracker`` keeps the library's association, two-stage matching, lifecycle and id
allocation, and only swaps the per-tracklet filter for rows of a ``KalmanPool``: one batched predict and
one batched update per frame, with the same matrices (F, Q, R, initial P taken from a library tracklet)
and the same algebra (Joseph form), so it returns the same ids as the plain library tracker (tested).
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

__all__ = ["KalmanPool", "PooledByteTrackTracker", "PooledTracklet"]


class KalmanPool:
    """Constant-velocity XYXY box filters (state ``[x1, y1, x2, y2, vx1, vy1, vx2, vy2]``) as rows of arrays.

    Noise and motion come from a reference ``ByteTrackTracklet`` so they follow the library's tuning.
    Updates are queued by ``observe`` and applied together by ``flush``.
    """

    def __init__(self, capacity: int = 64) -> None:
        ref = ByteTrackTracklet(np.array([0.0, 0.0, 1.0, 1.0]), XYXYStateEstimator)
        est = ref.state_estimator
        self._ref_kf, self._ref_motion = est.kf, est.motion
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
        self._F = self._Q = self._eye = np.eye(self.dim_x)

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
        s = np.asarray(self._pending_slots, dtype=int)
        z = np.asarray(self._pending_z, dtype=float).reshape(len(s), self.dim_z)
        self._pending_slots, self._pending_z = [], []
        nz = self.dim_z
        x, P = self.x[s], self.P[s]
        innovation = z - x[:, :nz]
        pht = P[:, :, :nz]  # P @ H.T with H = [I 0]
        S = pht[:, :nz, :] + self.R
        K = pht @ np.linalg.inv(S)
        self.x[s] = x + (K @ innovation[:, :, None])[:, :, 0]
        i_kh = np.tile(self._eye, (len(s), 1, 1))
        i_kh[:, :, :nz] -= K
        kt = K.transpose(0, 2, 1)
        self.P[s] = i_kh @ P @ i_kh.transpose(0, 2, 1) + K @ self.R @ kt

    def predict(self, slots: np.ndarray, frame_step: float, frame_rate: float | None = None) -> None:
        """One predict step of ``frame_step`` frames for ``slots``, with the library's F and scaled Q."""
        if (frame_step, frame_rate) != self._step:
            self._ref_motion.apply(self._ref_kf, frame_step, frame_rate)
            self._F, self._Q = self._ref_kf.transition_mtx, self._ref_kf.process_noise
            self._step = (frame_step, frame_rate)
        s = np.asarray(slots, dtype=int)
        if not len(s):
            return
        F = self._F
        self.x[s] = self.x[s] @ F.T
        self.P[s] = F @ self.P[s] @ F.T + self._Q

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
