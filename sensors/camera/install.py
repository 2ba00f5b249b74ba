"""A camera as installed: its true lens, the calibration published for it (the true pose plus a survey
error, the lens coefficients plus an estimation error) and its persistent false-detection sources, all
drawn once, when the camera is built, from the camera's Generator (sigmas, ranges and their sources in the
docstring of ``sensors.camera.config``)."""

from __future__ import annotations

from dataclasses import replace
from typing import NamedTuple

import numpy as np

from sensors.camera.config import CameraConfig
from sensors.camera.geometry import Pose, fold_r2, undistort_pixels
from sensors.camera.persistent import FalseSources

__all__ = ["Installation", "install"]


class Installation(NamedTuple):
    """The true pose (with its lens), the published (estimated) pose and the false sources."""

    true: Pose
    published: Pose
    false_sources: FalseSources


def install(camera_id: str, config: CameraConfig, nominal: Pose, rng: np.random.Generator) -> Installation:
    """Draw, in this order from ``rng``: the lens (k1, k2 uniform in their ranges), the calibration error
    (x, y, height, yaw, pitch, roll, then k1 and k2 estimates) and the false sources.

    The radial model is a polynomial: a pair drawn too strong for a wide field of view would fold back
    before the image's corner (``sensors.camera.geometry.fold_r2``). Such a pair is scaled by 0.8 until
    the corner is imaged well inside the fold: wide lenses get milder coefficients than drawn (how often, at
    the default ranges, is in ``docs/performance.md``).
    """
    c = config
    k1 = float(rng.uniform(*c.lens_k1_range))
    k2 = float(rng.uniform(*c.lens_k2_range))
    while not _images_corners(nominal, k1, k2):
        k1, k2 = 0.8 * k1, 0.8 * k2
    true = replace(nominal, k1=k1, k2=k2)
    e = rng.normal(0.0, 1.0, 8)
    published = replace(
        true, x=true.x + e[0] * c.calib_xy_sigma_m, y=true.y + e[1] * c.calib_xy_sigma_m,
        height_m=max(true.height_m + e[2] * c.calib_height_sigma_m, 0.1),
        yaw_deg=(true.yaw_deg + e[3] * c.calib_yaw_sigma_deg) % 360.0,
        pitch_deg=true.pitch_deg + e[4] * c.calib_pitch_sigma_deg,
        roll_deg=true.roll_deg + e[5] * c.calib_roll_sigma_deg,
        k1=k1 + e[6] * c.lens_k_sigma, k2=k2 + e[7] * c.lens_k_sigma)
    half = true.max_bearing_offset_deg()
    r_min = max(c.min_range_m, 3.0)
    sources = FalseSources.draw(rng, (true.x, true.y), true.yaw_deg, min(half, 90.0), r_min,
                                max(min(c.max_range_m, 60.0), r_min + 1.0), static=c.persistent_fp_static,
                                per_hour=c.persistent_fp_per_hour, life_s=c.persistent_fp_life_s)
    return Installation(true, published, sources)


def _images_corners(p: Pose, k1: float, k2: float) -> bool:
    """True if the lens (k1, k2) shows the image's corner from a ray inside 0.9 of its folding radius."""
    if abs(k1) < 1e-6 and abs(k2) < 1e-6:
        return True
    u, v = undistort_pixels(np.array([0.0]), np.array([0.0]), p.focal_px, p.width_px, p.height_px, k1, k2)
    if not (np.isfinite(u[0]) and np.isfinite(v[0])):
        return False
    r2 = ((u[0] - p.width_px / 2) ** 2 + (v[0] - p.height_px / 2) ** 2) / p.focal_px ** 2
    return bool(r2 < 0.9 * float(fold_r2(k1, k2)))
