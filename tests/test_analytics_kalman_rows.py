"""The compiled Kalman row kernels: the library filter's numbers, row by row, whatever rows share a call."""

from __future__ import annotations

import numpy as np
from trackers.utils.kalman_filter import KalmanFilter
from trackers.utils.motion_models import constant_velocity_transition_matrix

from analytics.bytetrack_pool import KalmanPool
from analytics.kalman_rows import predict_rows, update_rows


def test_row_kernels_do_not_depend_on_the_other_rows() -> None:
    """A filter's predict and update give the same bits whether it runs alone or among 40 others (what lets
    the multi-camera tracker batch every camera's filters), and equal the library's matrix products."""
    rng = np.random.default_rng(7)
    pool = KalmanPool()
    x0 = rng.normal(0, 50, (40, 8))
    L = rng.normal(0, 1, (40, 8, 8))
    P0 = L @ L.transpose(0, 2, 1) + np.eye(8)
    steps = rng.uniform(0.5, 3.0, 40)
    Q = np.stack([pool.process_noise(2.5, 5.0), pool.process_noise(1.0, 5.0)])
    q_of = np.arange(40) % 2
    z = x0[:, :4] + rng.normal(0, 2, (40, 4))
    x, P = x0.copy(), P0.copy()
    every = np.arange(40)
    predict_rows(x, P, every, steps, Q, q_of)
    update_rows(x, P, every[::-1].copy(), z[::-1].copy(), pool.R)  # any row order
    for i in (0, 13, 39):
        xi, Pi = x0[i : i + 1].copy(), P0[i : i + 1].copy()
        one = np.zeros(1, np.int64)
        predict_rows(xi, Pi, one, steps[i : i + 1], Q, q_of[i : i + 1])
        kf = KalmanFilter(8, 4)  # the library's filter, one step
        kf.state, kf.state_covariance = x0[i].reshape(8, 1), P0[i].copy()
        kf.transition_mtx = constant_velocity_transition_matrix(8, np.arange(4), np.arange(4, 8), steps[i])
        kf.process_noise, kf.measurement_noise = Q[q_of[i]], pool.R
        kf.observation_mtx = np.eye(4, 8)
        kf.predict()
        np.testing.assert_allclose(xi[0], kf.state[:, 0], rtol=1e-12, atol=1e-9)
        np.testing.assert_allclose(Pi[0], kf.state_covariance, rtol=1e-12, atol=1e-9)
        update_rows(xi, Pi, one, z[i : i + 1], pool.R)
        kf.update(z[i])
        np.testing.assert_array_equal(xi[0], x[i])
        np.testing.assert_array_equal(Pi[0], P[i])
        np.testing.assert_allclose(xi[0], kf.state[:, 0], rtol=1e-10, atol=1e-9)
        np.testing.assert_allclose(Pi[0], kf.state_covariance, rtol=1e-10, atol=1e-9)
    assert np.abs(x - x0).max() > 1.0  # the steps really moved the boxes
