"""The pooled ByteTrack (batched Kalman filters) gives the library tracker's ids and states."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import supervision as sv
from trackers import ByteTrackTracker

from analytics.bytetrack_pool import KalmanPool, PooledByteTrackTracker

KW = dict(
    lost_track_buffer=60,
    frame_rate=5.0,
    track_activation_threshold=0.5,
    minimum_consecutive_frames=2,
    minimum_iou_threshold=0.1,
    high_conf_det_threshold=0.6,
)


def _walkers(seed: int, n: int, frames: int):
    """People walking with box jitter, 5 % missed boxes and every 37th frame empty (tracks go lost)."""
    rng = np.random.default_rng(seed)
    pos = rng.uniform([0, 100], [1800, 900], (n, 2))
    vel = rng.normal(0, 4, (n, 2))
    for f in range(frames):
        pos += vel
        vel[(pos[:, 0] < 0) | (pos[:, 0] > 1800), 0] *= -1
        vel[(pos[:, 1] < 100) | (pos[:, 1] > 900), 1] *= -1
        keep = (rng.random(n) > 0.05) & (f % 37 != 5)
        if f > frames // 2:
            keep[: n // 4] = False  # a quarter leave: their tracks expire and their filters are recycled
        top_left = pos[keep] + rng.normal(0, 1.5, (keep.sum(), 2))
        size = np.array([40.0, 100.0]) + rng.normal(0, 1.5, (keep.sum(), 2))
        conf = rng.uniform(0.4, 1.0, len(size))
        yield (
            f,
            sv.Detections(
                xyxy=np.hstack([top_left, top_left + size]),
                confidence=conf,
                class_id=np.zeros(len(size), int),
            ),
        )


@pytest.mark.parametrize("mode", ["fixed_rate", "timestamps", "timestamps_with_gap"])
def test_pooled_tracker_matches_library(mode: str) -> None:
    lib, pooled = ByteTrackTracker(**KW), PooledByteTrackTracker(**KW)
    ids_seen = set()
    for f, det in _walkers(3, 30, 300):
        t = None if mode == "fixed_rate" else f / 5 + (0.0009 if f % 3 == 0 else 0.0)
        if mode == "timestamps_with_gap" and f >= 150:
            t += 1.4  # a 1.4 s outage: F and Q are rescaled for a 8-frame step
        a, b = lib.update(det, timestamp=t), pooled.update(det, timestamp=t)
        np.testing.assert_array_equal(a.tracker_id, b.tracker_id)
        np.testing.assert_array_equal(a.xyxy, b.xyxy)
        sa = np.array([tr.get_state_bbox() for tr in lib.tracks]).reshape(-1, 4)
        sb = np.array([tr.get_state_bbox() for tr in pooled.tracks]).reshape(-1, 4)
        assert sa.shape == sb.shape
        np.testing.assert_allclose(sb, sa, rtol=0, atol=1e-8)
        # one filter per live tracklet: dropped tracklets give their rows back
        assert pooled.pool.used.sum() == len(pooled.tracks)
        ids_seen.update(b.tracker_id[b.tracker_id >= 0].tolist())
    assert len(ids_seen) >= 30  # the scene really was tracked, ids were handed out


def test_pool_grows_and_reuses_rows() -> None:
    pool = KalmanPool(capacity=2)
    slots = [pool.allocate(np.array([i, 0.0, i + 1, 2.0])) for i in range(5)]
    assert len(set(slots)) == 5 and len(pool.used) >= 5
    np.testing.assert_array_equal(pool.boxes([slots[3]]), [[3.0, 0.0, 4.0, 2.0]])
    pool.release(np.array([slots[1]]))
    assert pool.allocate(np.array([9.0, 9, 10, 10])) == slots[1]
    np.testing.assert_array_equal(pool.P[slots[1]], pool.P0)


def test_pool_update_pulls_state_to_measurement() -> None:
    pool = KalmanPool()
    s = pool.allocate(np.array([0.0, 0, 10, 20]))
    for k in range(1, 20):
        pool.predict([s], 1.0)
        pool.observe(s, np.array([2.0 * k, 0, 10 + 2.0 * k, 20]))
        pool.flush()
    # a box moving 2 px/frame right: the filter learns the velocity of both x corners
    np.testing.assert_allclose(pool.x[s, 4:], [2.0, 0.0, 2.0, 0.0], atol=0.05)


def test_non_xyxy_state_is_refused() -> None:
    from trackers.utils.state_representations import XCYCSRStateEstimator

    with pytest.raises(ValueError, match="XYXY"):
        PooledByteTrackTracker(state_estimator_class=XCYCSRStateEstimator)


def test_out_of_order_frame_is_skipped_like_the_library() -> None:
    lib, pooled = ByteTrackTracker(**KW), PooledByteTrackTracker(**KW)
    frames = list(_walkers(5, 10, 6))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        for t, (_, det) in zip([0.0, 0.2, 0.4, 0.3, 0.6, 0.8], frames, strict=True):
            a, b = lib.update(det, timestamp=t), pooled.update(det, timestamp=t)
            np.testing.assert_array_equal(a.tracker_id, b.tracker_id)


def test_allocate_many_takes_rows_like_allocate() -> None:
    a, b = KalmanPool(capacity=3), KalmanPool(capacity=3)
    boxes = np.arange(20.0).reshape(5, 4)
    many = a.allocate_many(boxes)
    one = [b.allocate(bx) for bx in boxes]
    np.testing.assert_array_equal(many, one)
    np.testing.assert_array_equal(a.x, b.x)
    np.testing.assert_array_equal(a.P, b.P)
    assert a.used.sum() == 5
