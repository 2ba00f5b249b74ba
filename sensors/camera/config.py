"""A camera's configuration: mounting, optics and detector quality, and the condition multipliers.

The detection model these parameters feed, their defaults and the meaning of each condition are in the
docstring of ``sensors.camera.camera``; the detector's confidences, near and confused detections in
``sensors.camera.detector``; persistent false detections in ``sensors.camera.persistent``.

Calibration and lens (drawn per camera when it is built, from its Generator; ``sensors.camera.camera``):
the published calibration (``camera/calibration``) is the true pose plus an error, N(0, sigma) per
quantity: ``calib_xy_sigma_m`` 0.05 m per axis and ``calib_height_sigma_m`` 0.05 m (a camera position
surveyed with RTK GNSS or a total station: receivers are specified at about 1-2 cm horizontal and 2-3 cm
vertical, plus the offset from the antenna or prism to the lens's centre of projection, which is estimated);
``calib_yaw_sigma_deg`` 0.3, ``calib_pitch_sigma_deg`` 0.2 and ``calib_roll_sigma_deg`` 0.2 deg (orientation
solved from a handful of surveyed ground points (PnP) on a 1080p image: a few pixels of point picking at
f ~ 1,660 px are 0.1-0.3 deg; yaw is the worst constrained). These sigmas are engineering estimates, not
measurements of a deployment. At 30 m from a 6 m mast, 0.2 deg of pitch moves a ground point by ~0.5 m.
The true lens has radial distortion k1 ~ U(``lens_k1_range``) = U(-0.30, -0.05) and k2 ~
U(``lens_k2_range``) = U(0, 0.10) (barrel, mild to moderate: the OpenCV calibration tutorial's low-cost
640x480 webcam has k1 = -0.418, k2 = 0.507 with k3 = -0.578; surveillance lenses of 60-90 deg are
usually milder); the calibration publishes them with an estimation error N(0, ``lens_k_sigma`` = 0.01) each
(the size of the standard errors a checkerboard calibration reports for k1, k2; an assumption).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sensors.base import SensorError
from sensors.camera.detector import CONFUSION, PROFILES
from sensors.camera.geometry import default_pitch_deg

__all__ = ["CONDITIONS", "IDENTITY_CONFUSION", "PERFECT_DETECTOR", "PERFECT_OPTICS", "CameraConfig",
           "check_conditions"]

#: Multipliers on (h50_px, miss_rate, bbox_noise, fp_per_frame, max_range_m) per condition / degraded status.
CONDITIONS = {
    "dusk": (1.2, 1.3, 1.2, 1.3, 0.8),
    "night": (1.6, 2.0, 1.5, 2.0, 0.6),
    "rain": (1.3, 1.5, 1.3, 1.5, 0.8),
    "snow": (1.4, 1.5, 1.3, 1.5, 0.6),
    "fog": (1.5, 1.5, 1.2, 1.2, 0.4),
    "degraded": (2.0, 3.0, 2.0, 2.0, 1.0),
}
_COND_NAMES = "dusk, night, rain, snow or fog"

#: A detector that never confuses classes and never reports furniture.
IDENTITY_CONFUSION = ((1.0, 0.0, 0.0, 0.0), (0.0, 1.0, 0.0, 0.0), (0.0, 0.0, 1.0, 0.0), (0.0, 0.0, 0.0, 1.0),
                      (0.0, 0.0, 0.0, 0.0))
#: ``CameraConfig`` fields of an ideal detector (no miss, noise, false detection or confusion), for tests
#: and benchmarks that isolate one effect; it still has the detection curve and its confidences.
PERFECT_DETECTOR = {"miss_rate": 0.0, "bbox_noise": 0.0, "fp_per_frame": 0.0, "near_fp_scale": 0.0,
                    "persistent_fp_static": 0.0, "persistent_fp_per_hour": 0.0,
                    "confusion": IDENTITY_CONFUSION}
#: ``CameraConfig`` fields of a distortion-free lens and an exact published calibration.
PERFECT_OPTICS = {"calib_xy_sigma_m": 0.0, "calib_height_sigma_m": 0.0, "calib_yaw_sigma_deg": 0.0,
                  "calib_pitch_sigma_deg": 0.0, "calib_roll_sigma_deg": 0.0, "lens_k1_range": (0.0, 0.0),
                  "lens_k2_range": (0.0, 0.0), "lens_k_sigma": 0.0}


@dataclass(frozen=True)
class CameraConfig:
    """One camera's mounting, optics and detector quality (defaults in the docstring of
    ``sensors.camera.camera``)."""

    xy: tuple[float, float]
    height_m: float = 6.0
    yaw_deg: float = 0.0
    pitch_deg: float | None = None          # None: aim the image centre ``aim_distance_m`` away on the ground
    aim_distance_m: float = 20.0
    hfov_deg: float = 60.0
    resolution: tuple[int, int] = (1920, 1080)
    fps: float = 5.0
    max_range_m: float = 150.0
    min_range_m: float = 1.0
    min_visible: float = 0.3
    h50_px: float = 30.0
    h_scale_px: float = 6.0
    miss_rate: float = 0.02
    bbox_noise: float = 0.03
    fp_per_frame: float = 0.1
    conditions: tuple[str, ...] = ()
    tamper_yaw_deg: float = 30.0
    mount_clearance_m: float = 2.0
    #: Confidence profile (``sensors.camera.detector.PROFILES``): ``frcnn`` (strong, default), ``acf`` (weak).
    detector: str = "frcnn"
    #: Multiplier on the profile's measured rate of part-box / duplicate false detections beside a target.
    near_fp_scale: float = 1.0
    #: P(reported class | true class) (``sensors.camera.detector.CONFUSION``, an assumption documented there).
    confusion: tuple[tuple[float, ...], ...] = CONFUSION
    #: Nearer targets hide the parts of farther ones their boxes cover (people hide people).
    target_occlusion: bool = True
    #: Persistent false sources (``sensors.camera.persistent``): mean static ones per camera, transient ones
    #: per camera-hour, their mean lifetime beyond 2 s, the share of frames a source is detected in.
    persistent_fp_static: float = 0.3
    persistent_fp_per_hour: float = 12.0
    persistent_fp_life_s: float = 15.0
    persistent_fp_detect: float = 0.8
    #: Published-calibration error sigmas and lens distortion (module docstring: values and sources).
    calib_xy_sigma_m: float = 0.05
    calib_height_sigma_m: float = 0.05
    calib_yaw_sigma_deg: float = 0.3
    calib_pitch_sigma_deg: float = 0.2
    calib_roll_sigma_deg: float = 0.2
    lens_k1_range: tuple[float, float] = (-0.30, -0.05)
    lens_k2_range: tuple[float, float] = (0.0, 0.10)
    lens_k_sigma: float = 0.01

    def pitch(self) -> float:
        if self.pitch_deg is not None:
            return float(self.pitch_deg)
        return default_pitch_deg(self.height_m, self.aim_distance_m)

    def validate(self, cid: str) -> None:
        """Raise ``SensorError`` naming the first bad field."""
        w, h = self.resolution
        checks = [
            ("xy", all(math.isfinite(float(v)) for v in self.xy), "must be finite"),
            ("height_m", 0 < self.height_m < 500, "must be in (0, 500)"),
            ("pitch_deg", self.pitch_deg is None or -30 <= self.pitch_deg <= 90, "must be in [-30, 90]"),
            ("hfov_deg", 1 <= self.hfov_deg <= 170, "must be in [1, 170]"),
            ("resolution", int(w) >= 16 and int(h) >= 16, "must be [w, h] >= 16 px"),
            ("fps", 0 < self.fps <= 120, "must be in (0, 120]"),
            ("max_range_m", self.max_range_m > self.min_range_m >= 0, "must exceed min_range_m >= 0"),
            ("min_visible", 0 < self.min_visible <= 1, "must be in (0, 1]"),
            ("h_scale_px", self.h_scale_px > 0, "must be > 0"),
            ("miss_rate", 0 <= self.miss_rate <= 1, "must be in [0, 1]"),
            ("bbox_noise", self.bbox_noise >= 0, "must be >= 0"),
            ("fp_per_frame", self.fp_per_frame >= 0, "must be >= 0"),
            ("detector", self.detector in PROFILES, f"unknown; use {' or '.join(PROFILES)}"),
            ("near_fp_scale", self.near_fp_scale >= 0, "must be >= 0"),
            ("confusion", _confusion_ok(self.confusion), "must be 5 rows of 4 shares >= 0 summing to <= 1"),
            ("persistent_fp_static", self.persistent_fp_static >= 0, "must be >= 0"),
            ("persistent_fp_per_hour", self.persistent_fp_per_hour >= 0, "must be >= 0"),
            ("persistent_fp_life_s", self.persistent_fp_life_s >= 0, "must be >= 0"),
            ("persistent_fp_detect", 0 <= self.persistent_fp_detect <= 1, "must be in [0, 1]"),
            *((k, 0 <= getattr(self, k) < 10, "must be in [0, 10)") for k in _SIGMAS),
            ("lens_k1_range", _range_ok(self.lens_k1_range, -1.0, 1.0), "must be [lo, hi] within [-1, 1]"),
            ("lens_k2_range", _range_ok(self.lens_k2_range, -1.0, 1.0), "must be [lo, hi] within [-1, 1]"),
            ("lens_k_sigma", 0 <= self.lens_k_sigma <= 0.2, "must be in [0, 0.2]"),
        ]
        for name, ok, what in checks:
            if not ok:
                raise SensorError(f"camera {cid}: {name} {getattr(self, name)!r} {what}")
        check_conditions(cid, self.conditions)


_SIGMAS = ("calib_xy_sigma_m", "calib_height_sigma_m", "calib_yaw_sigma_deg", "calib_pitch_sigma_deg",
           "calib_roll_sigma_deg")


def _finite(v) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _range_ok(r, lo: float, hi: float) -> bool:
    return len(r) == 2 and all(_finite(v) for v in r) and lo <= r[0] <= r[1] <= hi


def _confusion_ok(m) -> bool:
    rows = [list(r) for r in m]
    return len(rows) == 5 and all(
        len(r) == 4 and all(_finite(v) and v >= 0 for v in r) and sum(r) <= 1 + 1e-9 for r in rows)


def check_conditions(camera_id: str, names) -> tuple[str, ...]:
    """``names`` as a tuple, or ``SensorError`` naming the first that is not a weather/light condition
    (a key of ``CONDITIONS`` other than ``degraded``, which is a status)."""
    for c in names:
        if c not in CONDITIONS or c == "degraded":
            raise SensorError(f"camera {camera_id}: condition {c!r} unknown; use {_COND_NAMES}")
    return tuple(names)
