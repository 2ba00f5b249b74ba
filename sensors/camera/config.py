"""A camera's configuration: mounting, optics and detector quality, and the condition multipliers.

The detection model these parameters feed, their defaults and the meaning of each condition are in the
docstring of ``sensors.camera.camera``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sensors.base import SensorError
from sensors.camera.geometry import default_pitch_deg

__all__ = ["CONDITIONS", "CameraConfig", "check_conditions"]

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
        ]
        for name, ok, what in checks:
            if not ok:
                raise SensorError(f"camera {cid}: {name} {getattr(self, name)!r} {what}")
        check_conditions(cid, self.conditions)


def check_conditions(camera_id: str, names) -> tuple[str, ...]:
    """``names`` as a tuple, or ``SensorError`` naming the first that is not a weather/light condition
    (a key of ``CONDITIONS`` other than ``degraded``, which is a status)."""
    for c in names:
        if c not in CONDITIONS or c == "degraded":
            raise SensorError(f"camera {camera_id}: condition {c!r} unknown; use {_COND_NAMES}")
    return tuple(names)
