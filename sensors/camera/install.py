"""A camera as installed: its true lens, the calibration published for it (the true pose plus a survey
error, the lens coefficients plus an estimation error) and its persistent false-detection sources, all
drawn once, when the camera is built, from the camera's Generator (sigmas, ranges and their sources in the
docstring of ``sensors.camera.config``)."""

from __future__ import annotations

from dataclasses import replace
from typing import NamedTuple

import numpy as np

from sensors.base import SensorError
from sensors.camera.config import CameraConfig
from sensors.camera.geometry import Pose, fold_r2
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

    Raises
    ------
    SensorError
        The drawn lens folds back inside the image (the distortion ranges are too strong for this field of
        view).
    """
    c = config
    k1 = float(rng.uniform(*c.lens_k1_range))
    k2 = float(rng.uniform(*c.lens_k2_range))
    true = replace(nominal, k1=k1, k2=k2)
    corner_r2 = ((true.width_px / 2) ** 2 + (true.height_px / 2) ** 2) / true.focal_px ** 2
    if not corner_r2 < 0.95 * float(fold_r2(k1, k2)):
        raise SensorError(f"camera {camera_id}: lens_k1_range {c.lens_k1_range!r} with lens_k2_range "
                          f"{c.lens_k2_range!r} folds the image at hfov {true.hfov_deg} deg "
                          f"(k1={k1:.3f}, k2={k2:.3f})")
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
