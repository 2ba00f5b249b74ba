"""Homography ground projection of bbox foot points (exact, and a hypothesis round trip)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics.geometry import LonLatProjector, Zones, apply_homography, foot_points


def camera_homography(height=6.0, pitch_deg=30.0, f=800.0, cx=640.0, cy=360.0, x0=100.0, y0=200.0):
    """Ground (x, y, 1) -> image for a pinhole at (x0, y0, height) looking along +y, pitched down."""
    p = np.radians(pitch_deg)
    R = np.array([[1, 0, 0], [0, -np.sin(p), -np.cos(p)], [0, np.cos(p), -np.sin(p)]])
    K = np.array([[f, 0, cx], [0, f, cy], [0, 0, 1]])
    C = np.array([x0, y0, height])
    P = K @ np.column_stack([R, -R @ C])
    return P[:, [0, 1, 3]]  # z = 0 plane


def test_foot_point_projects_to_ground_position() -> None:
    g2i = camera_homography()
    i2g = np.linalg.inv(g2i)
    ground = np.array([[100.0, 215.0], [104.0, 230.0]])
    feet = apply_homography(g2i, ground)
    boxes = np.column_stack([feet[:, 0] - 20, feet[:, 1] - 90, np.full(2, 40), np.full(2, 90)])
    assert np.allclose(foot_points(boxes), feet)
    assert np.allclose(apply_homography(i2g, foot_points(boxes)), ground, atol=1e-9)
    # 15 m ahead of a 6 m high camera is 21.8° below the horizon, 8.2° above the 30° optical axis
    assert np.allclose(feet[0], [640.0, 360.0 - 800 * np.tan(np.radians(30) - np.arctan2(6, 15))], atol=1e-6)


@settings(max_examples=50, deadline=None)
@given(st.floats(-30, 30), st.floats(8, 80), st.floats(2, 20), st.floats(10, 60))
def test_homography_round_trip(dx: float, dy: float, h: float, pitch: float) -> None:
    g2i = camera_homography(height=h, pitch_deg=pitch)
    pt = np.array([[100.0 + dx, 200.0 + dy]])
    img = apply_homography(g2i, pt)
    back = apply_homography(np.linalg.inv(g2i), img)
    assert np.allclose(back, pt, atol=1e-6 * (1 + abs(dy)))


def test_point_at_horizon_is_nan_and_zones_and_lonlat() -> None:
    assert np.isnan(
        apply_homography(np.array([[1, 0, 0], [0, 1, 0], [0, 0, 0.0]]), np.array([[1.0, 1.0]]))
    ).all()
    z = Zones({"a": [[0, 0], [2, 0], [2, 2], [0, 2]]})
    assert z.contains(np.array([[1, 1], [3, 3], [np.nan, 1]])).tolist() == [[True, False, False]]
    assert z.areas.tolist() == [4.0]
    lonlat = LonLatProjector("EPSG:32635")([385000.0, 6672000.0])  # Helsinki, UTM 35N
    assert 24.9 < lonlat[0] < 25.0 and 60.1 < lonlat[1] < 60.2
    assert LonLatProjector(None)([1.0, 2.0]) is None


def test_ground_sigma_grows_with_distance() -> None:
    """A 5 % foot-point jitter (10 px of a 200 px box 10 m away, 1.25 px of a 25 px box 60 m away)."""
    from analytics.tracking import ground_sigma

    g2i = camera_homography()
    i2g = np.linalg.inv(g2i)
    near, far = apply_homography(g2i, np.array([[100.0, 210.0], [100.0, 260.0]]))
    boxes = np.array([[near[0] - 20, near[1] - 200, 40, 200], [far[0] - 3, far[1] - 25, 6, 25]])
    sig = ground_sigma(i2g, boxes)
    assert sig[0] == pytest.approx(0.277, abs=0.002) and sig[1] == pytest.approx(0.777, abs=0.002)


def _distort(pts: np.ndarray, K: np.ndarray, k1: float, k2: float) -> np.ndarray:
    """OpenCV's radial model written out (the forward map ``undistort_points`` inverts)."""
    x, y = (pts[:, 0] - K[0, 2]) / K[0, 0], (pts[:, 1] - K[1, 2]) / K[1, 1]
    r2 = x * x + y * y
    s = 1 + k1 * r2 + k2 * r2 * r2
    return np.column_stack([K[0, 2] + K[0, 0] * x * s, K[1, 2] + K[1, 1] * y * s])


@settings(max_examples=50, deadline=None)
@given(st.floats(-0.35, 0.0), st.floats(0.0, 0.15), st.floats(500, 2000))
def test_undistort_inverts_radial_distortion(k1: float, k2: float, f: float) -> None:
    from analytics.geometry import undistort_points

    K = np.array([[f, 0, 640.0], [0, f, 360.0], [0, 0, 1]])
    pts = np.column_stack([np.linspace(0, 1280, 9), np.linspace(0, 720, 9)])
    if 1 + 3 * k1 * ((640 / f) ** 2 + (360 / f) ** 2) * 1.2 <= 0:
        return      # the model folds inside this image: no lens is like that
    back = undistort_points(_distort(pts, K, k1, k2), K, [k1, k2])
    assert np.allclose(back, pts, atol=1e-6)


def test_ground_projector_undistorts_foot_points_before_the_homography() -> None:
    """A lens with k1 = -0.2 moves a foot point 17 m ahead and 9 m aside by tens of pixels; projecting the
    distorted pixel without undistorting misses the ground point by ~0.9 m, the projector lands on it."""
    from analytics.geometry import GroundProjector

    g2i = camera_homography()
    K = np.array([[800.0, 0, 640], [0, 800.0, 360], [0, 0, 1]])
    ground = np.array([[100.0 + 9.0, 216.0]])
    pin = apply_homography(g2i, ground)
    seen = _distort(pin, K, -0.2, 0.0)
    proj = GroundProjector(np.linalg.inv(g2i), K, [-0.2, 0.0])
    assert np.hypot(*(seen - pin)[0]) > 20
    assert np.allclose(proj.pixels(seen), ground, atol=1e-6)
    assert np.hypot(*(apply_homography(np.linalg.inv(g2i), seen) - ground)[0]) > 0.8
    boxes = np.array([[seen[0, 0] - 10, seen[0, 1] - 100, 20, 100]])
    assert np.allclose(proj.boxes(boxes), ground, atol=1e-6)


def test_many_cameras_frames_project_as_each_alone() -> None:
    """``boxes_and_shifted_many`` gives each frame the bits of its own ``boxes_and_shifted``: lenses of
    different strength (one folding inside the image: NaN points), no lens, empty frames, and a lens the
    solver refuses (its error in its place)."""
    from analytics.geometry import GroundProjector, boxes_and_shifted_many

    rng = np.random.default_rng(5)
    projectors, boxes = [], []
    for i in range(12):
        g2i = camera_homography(height=4.0 + i, pitch_deg=20.0 + 2 * i, x0=10.0 * i)
        f = 600.0 + 100 * i
        K = np.array([[f, 0, 640], [0, f, 360], [0, 0, 1]])
        lens = [[-0.3 + 0.03 * i, 0.05], None, [-0.9, 0.0], [0.0, 0.1]][i % 4]
        projectors.append(GroundProjector(np.linalg.inv(g2i), K, lens))
        n = 0 if i == 5 else int(rng.integers(1, 30))
        xy = rng.uniform([0, 0], [1240, 620], (n, 2))
        boxes.append(np.column_stack([xy, rng.uniform(10, 60, n), rng.uniform(20, 120, n)]))
    projectors.append(GroundProjector(np.eye(3), np.eye(3), [0.1, 0.0, 0.01]))
    boxes.append(np.array([[1.0, 2.0, 3.0, 4.0]]))
    got = boxes_and_shifted_many(projectors, boxes, 0.05)
    for proj, b, res in zip(projectors, boxes, got, strict=True):
        if proj.dist_coeffs is not None and len(proj.dist_coeffs) > 2:
            with pytest.raises(ValueError) as err:
                proj.boxes_and_shifted(b, 0.05)
            assert isinstance(res, ValueError) and str(res) == str(err.value)
            continue
        ground, shifted = proj.boxes_and_shifted(b, 0.05)
        np.testing.assert_array_equal(res[0], ground)
        np.testing.assert_array_equal(res[1], shifted)
    nan = sum(int(np.isnan(r[0]).any()) for r in got[:-1])
    assert 0 < nan < 12 and sum(len(r[0]) for r in got[:-1]) > 150  # some points past the fold, most not
