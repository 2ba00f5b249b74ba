"""A CCTV camera with a detector behind it: projection through a real lens, occlusion, misses, noise,
confidences calibrated on real detector output, class confusion and clutter.

Each call of ``Camera.measure`` is one frame (the engine calls it every ``1 / fps`` s). Every person,
vehicle and left object (``WorldView.targets``) is projected as an upright box (foot at the ground, head
at ``height_m``, ``width_m`` wide). Cameras sampled at the same instants share a ``CameraGroup``
(``sensors.camera.group``; placement groups cameras by ``fps``): the first member measuring at ``t``
computes every member's frame in one numpy pass and the others take their slice (a camera built without
a group is a group of one). A target is *in view* when it is in front of the camera, within ``max_range_m``
and at least ``min_visible`` (default 0.3) of its box lies inside the image; it is *hidden* when a building
blocks the sight line from the lens to its mid-height (``sensors.camera.occlusion``: per camera, the
buildings' shadows are built once, rasterised at 1 m, and every target is a raster lookup, with an exact
point-in-polygon test in boundary cells; the shadows agree with exact sight-line tests except in concave
corners, courtyards and along their far edge, see ``docs/performance.md`` for how often).

Detection model (documented curve): a visible target of pixel height ``h`` is detected with probability::

    p(h) = (1 - miss_rate) / (1 + exp(-(h - h50_px) / h_scale_px))

defaults ``miss_rate = 0.02``, ``h50_px = 30``, ``h_scale_px = 6`` (a 1080p detector finds people taller
than ~50 px almost always and loses them below ~20 px). People hide people (``target_occlusion``): in each
camera, the part of a box covered by the boxes of nearer targets (depth along the optical axis) is hidden,
the covered shares of several occluders combining as if independent (visible = prod(1 - covered_j));
``sensors.camera.crowd``. The visible share (image border and nearer targets) must reach ``min_visible``,
and a partly hidden target is detected like one of its visible height: ``p(h * visible_by_targets)``. So the
miss rate rises with crowd density, and gt.txt's visibility reports it. The detector then reports a class
through the confusion matrix ``confusion`` and a confidence drawn from the calibrated profile ``detector``
(``sensors.camera.detector``: true detections from real Faster R-CNN or ACF true-positive scores, less
confident below ~130 px; false ones from their false-positive scores). Box noise: centre and foot row move
by N(0, ``bbox_noise`` * h) px, width and height are scaled by exp(N(0, ``bbox_noise``)) (default 0.03:
matched-box IoU about 0.9, typical of a modern detector; independent per frame, so far targets jitter on the
ground: at 60 m from a 6 m camera the foot point moves ~0.5 m per frame); boxes are clipped to the image.
False positives: part boxes beside detected targets (the profile's measured rate x ``near_fp_scale``);
Poisson (``fp_per_frame``, default 0.1, the FRCNN's measured background rate) clutter boxes per frame, each a
person-sized box (vehicle 15 %, object 5 %) at a random ground point in the field of view; persistent
sources (``sensors.camera.persistent``); furniture taken for a bag.

Lens and calibration (``sensors.camera.install``): the lens has radial distortion (k1, k2) that moves every
box where the image shows it; the published calibration is the true pose plus a survey error and the lens
coefficients plus an estimation error (sigmas in ``sensors.camera.config``), so ground projections of
detections carry a realistic error even with perfect boxes.

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
detections with the new ``t``/``frame``; ``degraded`` uses the table above and a congested uplink lets only
part of the frames through; ``replayed`` (a hijack, set by the cyber range) sends a loop of the camera's own
recent detections; ``moved`` (tampering) turns the real camera by ``tamper_yaw_deg`` (default 30) while the
published calibration stays the same, so detections no longer match it; back to ``ok`` restores the nominal
pose. What reaches the video server and its ``camera/health`` record (stream up/down, received fps and
bitrate, reconnects: never the internal state) are ``sensors.camera.stream``; the first frame also emits the
``camera/calibration`` record (so the engine need not publish it).

Ground truth: ``frame`` counts every call from 1 (offline frames too, so frame k is at t0 + (k - 1)/fps).
For each delivered frame the camera stores ``last_truth`` (true ids, boxes, MOT class, visibility) and
passes it to ``truth_sink(camera_id, frame, t, truth)`` if set (``sensors.export.mot.MotExporter.truth``);
true ids never reach the bus."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace

import numpy as np

from agents.world import WorldView
from sensors.base import Sensor
from sensors.camera.config import CONDITIONS, CameraConfig, check_conditions
from sensors.camera.detections import FrameArrays
from sensors.camera.geometry import Pose, apply_homography, undistort_pixels
from sensors.camera.group import CameraGroup, CameraTruth
from sensors.camera.index import cells_near
from sensors.camera.install import install
from sensors.camera.occlusion import Shadow
from sensors.camera.shadow_cache import cached_shadow
from sensors.camera.stream import StreamView

__all__ = ["Camera", "foot_points", "to_ground"]


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
        #: What the video server receives of this camera's stream (``sensors.camera.stream``).
        self.vms = StreamView(camera_id, float(config.fps))
        #: True: ``measure`` publishes detections as ``FrameArrays`` and the bus builds the dicts only for
        #: subscribers that need them (the engine sets it; direct callers get dicts).
        self.defer_detections = False
        self._calibrated = False
        self._conditions: tuple[str, ...] = tuple(config.conditions)
        self._cells_key: float | None = None
        self._cells_val = np.zeros(0, np.int64)
        self._shadows: dict[int, Shadow | None] = {}
        self._moved: Pose | None = None
        w, h = config.resolution
        pose = Pose(float(config.xy[0]), float(config.xy[1]), float(config.height_m),
                    float(config.yaw_deg) % 360.0, config.pitch(), float(config.hfov_deg), int(w), int(h))
        inst = install(camera_id, config, pose, rng)
        #: The true installed pose, with the true lens (``sensors.camera.install``).
        self.nominal = inst.true
        #: What the published calibration says the pose and lens are (true ones plus estimation errors).
        self.published = inst.published
        #: Persistent false-detection sources in this camera's view (``sensors.camera.persistent``).
        self.false_sources = inst.false_sources
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

    @property
    def conditions(self) -> tuple[str, ...]:
        """Weather/light now (names in ``CONDITIONS``; set with ``set_conditions``)."""
        return self._conditions

    def set_conditions(self, *names: str) -> None:
        """Weather/light now (names in ``CONDITIONS`` but ``degraded``); replaces the previous set."""
        self._conditions = check_conditions(self.id, names)

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
        """The published calibration record (``camera/calibration``): the surveyed pose and the estimated
        lens (``published``, not the true ones). ``image_to_ground``/``ground_to_image`` map *undistorted*
        pixels; ``camera_matrix`` (3x3) and ``dist_coeffs`` ([k1, k2], OpenCV's radial terms) undistort a
        detection's pixels first."""
        p = self.published
        return {
            "camera_id": self.id, "image_to_ground": p.image_to_ground().tolist(),
            "ground_to_image": p.ground_to_image().tolist(), "resolution": [p.width_px, p.height_px],
            "fps": float(self.config.fps), "xy": [p.x, p.y], "height_m": p.height_m, "yaw_deg": p.yaw_deg,
            "pitch_deg": p.pitch_deg, "roll_deg": p.roll_deg, "hfov_deg": p.hfov_deg,
            "camera_matrix": p.K.tolist(), "dist_coeffs": [p.k1, p.k2],
        }

    # ---------------------------------------------------------------- measuring
    def measure(self, world: WorldView) -> Iterable[tuple[str, dict]]:
        t = float(world.t)
        self.frame += 1
        out: list[tuple[str, dict]] = []
        if not self._calibrated:
            out.append(("camera/calibration", self.calibration()))
            self._calibrated = True
        delivered = self.vms.delivers(self.frame, self.status)
        if delivered:
            dets, truth = self.group.observe(self, world)
            if not self.defer_detections and isinstance(dets, FrameArrays):
                dets = dets.materialize()
            dets = self.vms.content(self.status, dets)
            self.last_truth = truth
            if self.truth_sink is not None:
                self.truth_sink(self.id, self.frame, t, truth)
        out += self.vms.health(t, delivered)
        if delivered:
            out.append(("camera/frame", {"camera_id": self.id, "t": t, "frame": self.frame,
                                         "detections": dets}))
        return out

    def observe(self, world: WorldView) -> tuple[list[dict], CameraTruth]:
        """Detections (message dicts) and truth for the real pose now (no status handling), computed with the
        rest of the camera's group (``sensors.camera.group``)."""
        dets, truth = self.group.observe(self, world)
        return (dets.materialize() if isinstance(dets, FrameArrays) else dets), truth

    def view_cells(self, pose: Pose) -> np.ndarray:
        """Keys of the target-grid cells (``sensors.camera.index``) under the view wedge of ``pose`` at the
        configured range (cached per yaw: the camera turns only when moved)."""
        key = pose.yaw_deg
        if self._cells_key != key:
            self._cells_key = key
            self._cells_val = cells_near(pose.x, pose.y, self.config.max_range_m, yaw_deg=pose.yaw_deg,
                                         half_fov_deg=pose.max_bearing_offset_deg())
        return self._cells_val

    def shadow(self, level: int) -> Shadow | None:
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
    """Ground positions (N, 2) of detections through a published calibration record: foot points undistorted
    with its ``camera_matrix`` and ``dist_coeffs`` (none: no distortion), then its homography."""
    feet = foot_points(dets)
    k = calibration.get("dist_coeffs") or [0.0, 0.0]
    if len(feet) and (k[0] or k[1]):
        K = np.asarray(calibration["camera_matrix"], float)
        feet = np.column_stack(undistort_pixels(feet[:, 0], feet[:, 1], K[0, 0], 2 * K[0, 2], 2 * K[1, 2],
                                                float(k[0]), float(k[1])))
    return apply_homography(np.array(calibration["image_to_ground"]), feet)

