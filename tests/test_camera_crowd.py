"""People hide people: box-overlap visibility in depth order, its effect on the miss rate, and gt.txt."""

from __future__ import annotations

import numpy as np
import pytest
from _physical_sensors import X0, Y0, people
from hypothesis import given, settings
from hypothesis import strategies as st

from agents.world import WorldView
from sensors.camera import Camera, CameraConfig
from sensors.camera.config import PERFECT_DETECTOR, PERFECT_OPTICS
from sensors.camera.crowd import target_visibility


def _reference(cam, x0, y0, w, h, depth):
    """The rule written pair by pair: visible = prod over nearer overlapping boxes of (1 - covered)."""
    n = len(cam)
    vis = np.ones(n)
    for i in range(n):
        for j in range(n):
            nearer = depth[j] < depth[i] or (depth[j] == depth[i] and j < i)
            if i == j or cam[i] != cam[j] or not nearer:
                continue
            ox = min(x0[i] + w[i], x0[j] + w[j]) - max(x0[i], x0[j])
            oy = min(y0[i] + h[i], y0[j] + h[j]) - max(y0[i], y0[j])
            if ox > 0 and oy > 0:
                vis[i] *= 1 - min(ox * oy / (w[i] * h[i]), 1.0)
    return vis


def test_one_and_two_occluders_and_depth_order():
    """A nearer box covering half hides half; two covering different halves leave 1/4 (independence); a
    farther box hides nothing; boxes of another camera do not interact."""
    x0 = np.array([0.0, 5.0, -5.0, 10.0, 0.0])
    y0 = np.zeros(5)
    w = h = np.full(5, 10.0)
    depth = np.array([10.0, 5.0, 5.0, 50.0, 3.0])
    cam = np.array([0, 0, 0, 0, 1])
    assert target_visibility(cam, x0, y0, w, h, depth).tolist() == [0.25, 1.0, 1.0, 0.5, 1.0]


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(0, 60), ncam=st.integers(1, 4))
def test_vectorised_visibility_equals_the_pairwise_rule(seed, n, ncam):
    rng = np.random.default_rng(seed)
    cam = rng.integers(0, ncam, n)
    x0, y0 = rng.uniform(-50, 300, n), rng.uniform(0, 200, n)
    w, h = rng.uniform(1, 60, n), rng.uniform(1, 150, n)
    depth = rng.choice([5.0, 10.0, 20.0, 40.0], n) + rng.integers(0, 2, n) * rng.uniform(0, 1, n)
    got = target_visibility(cam, x0, y0, w, h, depth)
    assert np.allclose(got, _reference(cam, x0, y0, w, h, depth), atol=1e-9)


def _crowd_rate(density: float, seed: int = 0, frames: int = 30, **kw) -> tuple[float, float]:
    """Person detections per person in view and mean gt visibility, for people at ``density`` per m^2
    in a 20 x 20 m square 15-35 m in front of a 6 m camera."""
    rng = np.random.default_rng(seed)
    n = int(density * 400)
    xy = np.column_stack([X0 + rng.uniform(-10, 10, n), Y0 + rng.uniform(15, 35, n)])
    cfg = dict(xy=(X0, Y0), height_m=6.0, yaw_deg=0.0, pitch_deg=15.0, hfov_deg=60.0, **PERFECT_DETECTOR,
               **PERFECT_OPTICS)
    cfg.update(kw)
    c = Camera("c", CameraConfig(**cfg), rng=np.random.default_rng(seed))
    dets = seen = 0
    vis = []
    for k in range(frames):
        msgs = dict(c.measure(WorldView(k * 0.2, people(xy))))
        dets += len(msgs["camera/frame"]["detections"])
        seen += len(c.last_truth.ids)
        vis.append(c.last_truth.visibility)
    return dets / seen, float(np.concatenate(vis).mean())


def test_miss_rate_rises_with_crowd_density():
    """Measured on a 6 m camera looking 15-35 m ahead (depression 10-22 deg): 0.05 people/m^2 -> 99 % of
    the people in view detected, 0.5 -> 50 %, 2 -> 6 % (only heads show over the people in front); mean gt
    visibility 0.92 -> 0.41 -> 0.07. Without target occlusion the rate stays at the curve's ~99.9 %."""
    rates = {d: _crowd_rate(d) for d in (0.05, 0.5, 2.0)}
    (r1, v1), (r2, v2), (r3, v3) = rates.values()
    assert r1 > r2 > r3 and v1 > v2 > v3
    assert r1 > 0.95 and 0.4 < r2 < 0.6 and r3 < 0.12
    assert v1 > 0.88 and 0.3 < v2 < 0.5 and v3 < 0.12
    flat, vis = _crowd_rate(2.0, target_occlusion=False)
    assert flat > 0.97 and vis > 0.99


def test_a_person_right_behind_another_is_hidden_in_gt():
    """Two people on one sight line: the farther one's gt visibility drops (and it is missed when less than
    ``min_visible`` shows); the nearer one is untouched."""
    c = Camera("c", CameraConfig(xy=(X0, Y0), height_m=6.0, yaw_deg=0.0, pitch_deg=15.0, **PERFECT_DETECTOR,
                                 **PERFECT_OPTICS), rng=np.random.default_rng(0))
    msgs = dict(c.measure(WorldView(0.0, people([[X0, Y0 + 15.0], [X0, Y0 + 15.6]], ids=[1, 2]))))
    vis = dict(zip(c.last_truth.ids.tolist(), c.last_truth.visibility.tolist(), strict=True))
    assert vis[1] == pytest.approx(1.0) and vis[2] < 0.3
    assert len(msgs["camera/frame"]["detections"]) == 1
