"""A CCTV camera with a detector behind it: pinhole projection, occlusion, misses, noise and clutter.

Each call of ``Camera.measure`` is one frame (the engine calls it every ``1 / fps`` s). Every person,
vehicle and left object (``WorldView.targets``) is projected as an upright box (foot at the ground, head
at ``height_m``, ``width_m`` wide). Cameras sampled at the same instants share a ``CameraGroup``
(``sensors.camera.group``; placement groups cameras by ``fps``): the first member measuring at ``t``
computes every member's frame in one numpy pass and the others take their slice (a camera built without
a group is a group of one). A target is *in view* when it is in front of the
camera, within ``max_range_m`` and at least ``min_visible`` (default 0.3) of its box lies inside the
image; it is *hidden* when a building blocks the sight line from the lens to its mid-height
(``sensors.camera.occlusion``: per camera, the buildings' shadows are built once, rasterised at 1 m, and
every target is a raster lookup, with an exact point-in-polygon test in boundary cells; the shadows agree
with exact sight-line tests on 99.5 % of points around Helsinki's cameras).

Detection model (documented curve): a visible target of pixel height ``h`` is detected with probability::

    p(h) = (1 - miss_rate) / (1 + exp(-(h - h50_px) / h_scale_px))

defaults ``miss_rate = 0.02``, ``h50_px = 30``, ``h_scale_px = 6`` (a 1080p detector finds people taller
than ~50 px almost always and loses them below ~20 px). Reported ``conf`` is ``p(h)`` plus N(0, 0.05),
clipped to [0.05, 0.99]. Box noise: centre and foot row move by N(0, ``bbox_noise`` * h) px, width and
height are scaled by exp(N(0, ``bbox_noise``)) (default 0.03: matched-box IoU about 0.9, typical of a
modern detector; independent per frame, so far targets jitter on the ground: at 60 m from a 6 m camera
the foot point moves ~0.5 m per frame); boxes are clipped to the image. False
positives: Poisson (``fp_per_frame``, default 0.1) clutter boxes per frame, each a person-sized box
(vehicle 15 %, object 5 %) at a random ground point in the field of view, ``conf`` ~ U(0.05, 0.5).

Conditions (per camera ``conditions`` or ``set_conditions``) and the ``degraded`` status multiply
parameters::

    condition   h50_px  miss_rate  bbox_noise  fp_per_frame  max_range_m
    dusk        x1.2    x1.3       x1.2        x1.3          x0.8
    night       x1.6    x2         x1.5        x2            x0.6
    rain        x1.3    x1.5       x1.3        x1.5          x0.8
    snow        x1.4    x1.5       x1.3        x1.5          x0.6
    fog         x1.5    x1.5       x1.2        x1.2          x0.4
    degraded    x2      x3         x2          x2            x1

Faults (``Sensor.set_status``): ``offline`` sends no frames; ``frozen`` repeats the last delivered
detections with the new ``t``/``frame``; ``degraded`` uses the table above; ``moved`` (tampering) turns
the real camera by ``tamper_yaw_deg`` (default 30) while the published calibration stays the same, so
detections no longer match it; back to ``ok`` restores the nominal pose. A status change emits one
``camera/health`` message; the first frame also emits the ``camera/calibration`` record (so the engine
need not publish it).

Ground truth: ``frame`` counts every call from 1 (offline frames too, so frame k is at t0 + (k - 1)/fps).
For each delivered frame the camera stores ``last_truth`` (true ids, boxes, MOT class, visibility) and
passes it to ``truth_sink(camera_id, frame, t, truth)`` if set (``sensors.export.mot.MotExporter.truth``);
true ids never reach the bus."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

import numpy as np

from agents.world import WorldView
from sensors.base import Sensor, SensorError
from sensors.camera.detections import Detections, FrameArrays
from sensors.camera.geometry import Pose, apply_homography, default_pitch_deg
from sensors.camera.group import MOT_CLASS, CameraGroup, CameraTruth, detection_probability
from sensors.camera.index import cells_near
from sensors.camera.occlusion import Shadow
from sensors.camera.shadow_cache import cached_shadow

__all__ = ["CONDITIONS", "MOT_CLASS", "Camera", "CameraConfig", "CameraGroup", "CameraTruth",
           "detection_probability", "foot_points", "to_ground"]

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
    """One camera's mounting, optics and detector quality (defaults documented in the module docstring)."""

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
        for c in self.conditions:
            if c not in CONDITIONS or c == "degraded":
                raise SensorError(f"camera {cid}: condition {c!r} unknown; use {_COND_NAMES}")


class Camera(Sensor):
    """A camera + detector; ``measure`` returns ``camera/frame`` (and calibration/health) messages."""

    kind = "camera"

    def __init__(self, camera_id: str, config: CameraConfig, *, rng: np.random.Generator,
                 buildings=None,
                 truth_sink: Callable[[str, int, float, CameraTruth], None] | None = None,
                 group: CameraGroup | None = None) -> None:
        config.validate(camera_id)
        super().__init__(camera_id, period_s=1.0 / float(config.fps))
        self.config = config
        self.rng = rng
        self.buildings = buildings
        self.truth_sink = truth_sink
        self.frame = 0
        self.last_truth: CameraTruth | None = None
        self._last_dets: list[dict] | FrameArrays = []
        #: True: ``measure`` publishes detections as ``FrameArrays`` and the bus builds the dicts only for
        #: subscribers that need them (the engine sets it; direct callers get dicts).
        self.defer_detections = False
        self._calibrated = False
        self._reported = "ok"
        self._conditions: tuple[str, ...] = tuple(config.conditions)
        self._cells_key: float | None = None
        self._cells_val = np.zeros(0, np.int64)
        self._shadows: dict[int, Shadow | None] = {}
        self._moved: Pose | None = None
        w, h = config.resolution
        self.nominal = Pose(float(config.xy[0]), float(config.xy[1]), float(config.height_m),
                            float(config.yaw_deg) % 360.0, config.pitch(), float(config.hfov_deg),
                            int(w), int(h))
        self.group = group if group is not None else CameraGroup()
        self.group.add(self)

    # ---------------------------------------------------------------- state
    @property
    def pose(self) -> Pose:
        """The real pose now (differs from the published calibration when the camera was moved)."""
        if self.status == "moved":
            if self._moved is None:
                self._moved = replace(self.nominal,
                                      yaw_deg=(self.nominal.yaw_deg + self.config.tamper_yaw_deg) % 360.0)
            return self._moved
        return self.nominal

    @property
    def xy(self) -> tuple[float, float]:
        return (self.nominal.x, self.nominal.y)

    def set_conditions(self, *names: str) -> None:
        """Weather/light now (names in ``CONDITIONS`` but ``degraded``); replaces the previous set."""
        for c in names:
            if c not in CONDITIONS or c == "degraded":
                raise SensorError(f"camera {self.id}: condition {c!r} unknown; use {_COND_NAMES}")
        self._conditions = tuple(names)

    def params(self) -> dict[str, float]:
        """Effective detector parameters after conditions and the degraded status."""
        c = self.config
        h50, miss, noise, fp, rng_m = c.h50_px, c.miss_rate, c.bbox_noise, c.fp_per_frame, c.max_range_m
        mods = list(self._conditions) + (["degraded"] if self.status == "degraded" else [])
        for m in mods:
            a, b, n, f, r = CONDITIONS[m]
            h50, miss, noise, fp, rng_m = h50 * a, miss * b, noise * n, fp * f, rng_m * r
        return {"h50_px": h50, "miss_rate": min(miss, 1.0), "bbox_noise": noise, "fp_per_frame": fp,
                "max_range_m": max(rng_m, c.min_range_m + 1e-6)}

    def calibration(self) -> dict:
        """The published calibration record (``camera/calibration``), from the nominal (installed) pose."""
        p = self.nominal
        return {
            "camera_id": self.id, "image_to_ground": p.image_to_ground().tolist(),
            "ground_to_image": p.ground_to_image().tolist(), "resolution": [p.width_px, p.height_px],
            "fps": float(self.config.fps), "xy": [p.x, p.y], "height_m": p.height_m, "yaw_deg": p.yaw_deg,
            "pitch_deg": p.pitch_deg, "hfov_deg": p.hfov_deg,
        }

    # ---------------------------------------------------------------- measuring
    def measure(self, world: WorldView) -> Iterable[tuple[str, dict]]:
        t = float(world.t)
        self.frame += 1
        out: list[tuple[str, dict]] = []
        if not self._calibrated:
            out.append(("camera/calibration", self.calibration()))
            self._calibrated = True
        if self.status != self._reported:
            out.append(("camera/health", {"camera_id": self.id, "t": t, "status": self.status}))
            self._reported = self.status
        if self.status == "offline":
            return out
        dets, truth = self.group.observe(self, world)
        if not self.defer_detections and isinstance(dets, FrameArrays):
            dets = dets.materialize()
        if self.status == "frozen":
            last = self._last_dets
            dets = last.copy() if isinstance(last, Detections | FrameArrays) else [dict(d) for d in last]
        else:
            self._last_dets = dets
        self.last_truth = truth
        if self.truth_sink is not None:
            self.truth_sink(self.id, self.frame, t, truth)
        out.append(("camera/frame", {"camera_id": self.id, "t": t, "frame": self.frame, "detections": dets}))
        return out

    def observe(self, world: WorldView) -> tuple[list[dict], CameraTruth]:
        """Detections (message dicts) and truth for the real pose now (no status handling), computed with the
        rest of the camera's group (``sensors.camera.group``)."""
        dets, truth = self.group.observe(self, world)
        return (dets.materialize() if isinstance(dets, FrameArrays) else dets), truth

    def _cells(self, pose: Pose) -> np.ndarray:
        """Grid cells under the view wedge at the configured range (cached per yaw)."""
        key = pose.yaw_deg
        if self._cells_key != key:
            self._cells_key = key
            self._cells_val = cells_near(pose.x, pose.y, self.config.max_range_m, yaw_deg=pose.yaw_deg,
                                         half_fov_deg=pose.max_bearing_offset_deg())
        return self._cells_val

    def _shadow(self, level: int) -> Shadow | None:
        """Building shadow for targets whose mid-height is ``level / 4`` m (sensors.camera.occlusion).

        The camera and the buildings do not move, so each level's shadow is built once, on first use.
        """
        if self.buildings is None:
            return None
        if level not in self._shadows:
            self._shadows[level] = cached_shadow(
                self.buildings, (self.nominal.x, self.nominal.y), self.nominal.height_m, level / 4.0,
                range_m=self.config.max_range_m, clearance_m=self.config.mount_clearance_m)
        return self._shadows[level]


def foot_points(dets: list[dict]) -> np.ndarray:
    """Bottom-centre pixel ``(x + w/2, y + h)`` of each detection (what the calibration maps to ground)."""
    if not dets:
        return np.zeros((0, 2))
    b = np.array([d["bbox"] for d in dets], float)
    return np.column_stack([b[:, 0] + b[:, 2] / 2, b[:, 1] + b[:, 3]])


def to_ground(calibration: dict, dets: list[dict]) -> np.ndarray:
    """Ground positions (N, 2) of detections through a published calibration record."""
    return apply_homography(np.array(calibration["image_to_ground"]), foot_points(dets))

