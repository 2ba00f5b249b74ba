"""A CCTV camera with a detector behind it: pinhole projection, occlusion, misses, noise and clutter.

Each call of ``Camera.measure`` is one frame (the engine calls it every ``1 / fps`` s). Every person,
vehicle and left object (``WorldView.targets``) is projected as an upright box (foot at the ground, head
at ``height_m``, ``width_m`` wide) in one numpy pass. A target is *in view* when it is in front of the
camera, within ``max_range_m`` and at least ``min_visible`` (default 0.3) of its box lies inside the
image; it is *hidden* when a building blocks the sight line from the lens to its mid-height
(``sensors.camera_occlusion``: per camera, the buildings' shadows are built once and every target is a
point-in-polygon test; they agree with exact sight-line tests on 99.5 % of points around Helsinki's
cameras).

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
passes it to ``truth_sink(camera_id, frame, t, truth)`` if set (``sensors.mot.MotExporter.truth``); true
ids never reach the bus."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import NamedTuple

import numpy as np

from agents.world import CLASS_NAMES, WorldView
from sensors.base import Sensor, SensorError
from sensors.camera_geometry import Pose, apply_homography, default_pitch_deg
from sensors.camera_index import cells_near, grid_for
from sensors.camera_occlusion import Shadow, shadow

__all__ = ["CONDITIONS", "MOT_CLASS", "Camera", "CameraConfig", "CameraTruth", "detection_probability",
           "foot_points", "to_ground"]

#: Multipliers on (h50_px, miss_rate, bbox_noise, fp_per_frame, max_range_m) per condition / degraded status.
CONDITIONS = {
    "dusk": (1.2, 1.3, 1.2, 1.3, 0.8),
    "night": (1.6, 2.0, 1.5, 2.0, 0.6),
    "rain": (1.3, 1.5, 1.3, 1.5, 0.8),
    "snow": (1.4, 1.5, 1.3, 1.5, 0.6),
    "fog": (1.5, 1.5, 1.2, 1.2, 0.4),
    "degraded": (2.0, 3.0, 2.0, 2.0, 1.0),
}
#: MOTChallenge (MOT17) class of each target class: pedestrian 1, car 3; left objects get 13 (not in MOT17).
MOT_CLASS = np.array([1, 3, 13])
_COND_NAMES = "dusk, night, rain, snow or fog"
_CLUTTER_CLS_P = np.array([0.80, 0.15, 0.05])


def detection_probability(h_px: np.ndarray, *, h50_px: float, h_scale_px: float,
                          miss_rate: float) -> np.ndarray:
    """Probability of detecting a visible target ``h_px`` pixels tall (logistic, see the module doc)."""
    z = np.clip((np.asarray(h_px, float) - h50_px) / h_scale_px, -60, 60)
    return (1.0 - miss_rate) / (1.0 + np.exp(-z))


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


class CameraTruth(NamedTuple):
    """True targets in one frame's view (for gt.txt): ids, boxes [x, y, w, h] px, MOT class, visibility."""

    ids: np.ndarray
    boxes: np.ndarray
    mot_cls: np.ndarray
    visibility: np.ndarray


_NO_TRUTH = CameraTruth(np.zeros(0, np.int64), np.zeros((0, 4)), np.zeros(0, int), np.zeros(0))


class Camera(Sensor):
    """A camera + detector; ``measure`` returns ``camera/frame`` (and calibration/health) messages."""

    kind = "camera"

    def __init__(self, camera_id: str, config: CameraConfig, *, rng: np.random.Generator,
                 buildings=None,
                 truth_sink: Callable[[str, int, float, CameraTruth], None] | None = None) -> None:
        config.validate(camera_id)
        super().__init__(camera_id, period_s=1.0 / float(config.fps))
        self.config = config
        self.rng = rng
        self.buildings = buildings
        self.truth_sink = truth_sink
        self.frame = 0
        self.last_truth: CameraTruth | None = None
        self._last_dets: list[dict] = []
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
        dets, truth = self.observe(world)
        if self.status == "frozen":
            dets = [dict(d) for d in self._last_dets]
        else:
            self._last_dets = dets
        self.last_truth = truth
        if self.truth_sink is not None:
            self.truth_sink(self.id, self.frame, t, truth)
        out.append(("camera/frame", {"camera_id": self.id, "t": t, "frame": self.frame, "detections": dets}))
        return out

    def observe(self, world: WorldView) -> tuple[list[dict], CameraTruth]:
        """Detections and truth for the real pose now (no status handling)."""
        prm = self.params()
        pose = self.pose
        tg = world.targets
        near = grid_for(tg).indices(self._cells(pose))
        if len(near):
            rel = tg.xy[near] - (pose.x, pose.y)
            d2 = rel[:, 0] * rel[:, 0] + rel[:, 1] * rel[:, 1]
            near = near[(d2 <= prm["max_range_m"] ** 2) & (d2 >= self.config.min_range_m ** 2)]
        rng = self.rng
        if len(near):
            truth, boxes, conf, cls = self._seen(pose, prm, tg, near, rng)
        else:
            truth, boxes, conf, cls = _NO_TRUTH, np.zeros((0, 4)), np.zeros(0), np.zeros(0, int)
        if prm["fp_per_frame"] > 0:
            cb = self._clutter(pose, prm, rng)
            if len(cb[0]):
                boxes = np.vstack([boxes, cb[0]])
                conf = np.concatenate([conf, cb[1]])
                cls = np.concatenate([cls, cb[2]])
        dets = _to_dets(boxes, conf, cls, pose.width_px, pose.height_px) if len(boxes) else []
        return dets, truth

    def _seen(self, pose: Pose, prm: dict, tg, near: np.ndarray, rng: np.random.Generator):
        """Project, clip, occlude and detect the targets ``near`` (indices into ``tg``)."""
        W, H = pose.width_px, pose.height_px
        xy = tg.xy[near]
        hgt = tg.height_m[near]
        R, f = pose.R, pose.focal_px
        # camera coordinates of the foot (ground) and head points in one pass
        foot = (xy[:, 0:1] - pose.x) * R[:, 0] + (xy[:, 1:2] - pose.y) * R[:, 1] - pose.height_m * R[:, 2]
        head = foot + hgt[:, None] * R[:, 2]
        zf, zh = foot[:, 2], head[:, 2]
        front = (zf > 0.1) & (zh > 0.1)
        zf_s = np.where(front, zf, 1.0)
        uf = f * foot[:, 0] / zf_s + W / 2.0
        vf = f * foot[:, 1] / zf_s + H / 2.0
        vh = f * head[:, 1] / np.where(front, zh, 1.0) + H / 2.0
        hpx = np.where(front, vf - vh, 0.0)
        wpx = np.where(front, f * tg.width_m[near] / zf_s, 0.0)
        x0, y0 = uf - wpx / 2, vh
        cw = np.minimum(x0 + wpx, W) - np.maximum(x0, 0)
        ch = np.minimum(y0 + hpx, H) - np.maximum(y0, 0)
        area = wpx * hpx
        good = front & (area > 0) & (cw > 0) & (ch > 0)
        inimg = np.flatnonzero(good)
        frac = np.zeros(len(near))
        frac[inimg] = cw[inimg] * ch[inimg] / area[inimg]
        hidden = self._hidden(xy[inimg], 0.5 * hgt[inimg])
        fin = frac[inimg]
        truth = CameraTruth(
            ids=tg.ids[near[inimg]].astype(np.int64),
            boxes=np.column_stack([x0[inimg], y0[inimg], wpx[inimg], hpx[inimg]]),
            mot_cls=MOT_CLASS[tg.cls[near[inimg]].astype(int)], visibility=fin * ~hidden)
        ok = inimg[(~hidden) & (fin >= self.config.min_visible)]
        p = detection_probability(hpx[ok], h50_px=prm["h50_px"], h_scale_px=self.config.h_scale_px,
                                  miss_rate=prm["miss_rate"])
        hit = rng.random(len(ok)) < p
        k = ok[hit]
        m = len(k)
        if m == 0:
            return truth, np.zeros((0, 4)), np.zeros(0), np.zeros(0, int)
        noise = prm["bbox_noise"]
        z = rng.normal(0.0, 1.0, (5, m))
        cu = uf[k] + z[0] * noise * hpx[k]
        fv = vf[k] + z[1] * noise * hpx[k]
        bw = wpx[k] * np.exp(z[2] * noise)
        bh = hpx[k] * np.exp(z[3] * noise)
        conf = np.clip(p[hit] + z[4] * 0.05, 0.05, 0.99)
        cls = tg.cls[near[k]].astype(int)
        return truth, np.column_stack([cu - bw / 2, fv - bh, bw, bh]), conf, cls

    def _cells(self, pose: Pose) -> np.ndarray:
        """Grid cells under the view wedge at the configured range (cached per yaw)."""
        key = pose.yaw_deg
        if self._cells_key != key:
            self._cells_key = key
            self._cells_val = cells_near(pose.x, pose.y, self.config.max_range_m, yaw_deg=pose.yaw_deg,
                                         half_fov_deg=pose.max_bearing_offset_deg())
        return self._cells_val

    def _hidden(self, xy: np.ndarray, z: np.ndarray) -> np.ndarray:
        """Building occlusion of targets at ``xy`` whose mid-height is ``z`` (sensors.camera_occlusion).

        The camera and the buildings do not move, so each camera builds its shadow polygons once per
        0.25 m step of target mid-height (on first use) and then tests every target with one vectorised
        point-in-polygon call.
        """
        out = np.zeros(len(xy), bool)
        if self.buildings is None or len(xy) == 0:
            return out
        iz = np.clip(np.round(np.asarray(z) * 4), 0, 63).astype(np.int64)
        for level in np.unique(iz).tolist():
            if level not in self._shadows:
                self._shadows[level] = shadow(
                    self.buildings, (self.nominal.x, self.nominal.y), self.nominal.height_m, level / 4.0,
                    range_m=self.config.max_range_m, clearance_m=self.config.mount_clearance_m)
            sh = self._shadows[level]
            if sh is not None:
                sel = iz == level
                out[sel] = sh.hides(xy[sel])
        return out

    def _clutter(self, pose: Pose, prm: dict, rng: np.random.Generator):
        """Poisson clutter: person-sized boxes at random ground points in the field of view."""
        k = int(rng.poisson(prm["fp_per_frame"]))
        if k == 0:
            return np.zeros((0, 4)), np.zeros(0), np.zeros(0, int)
        r_hi = min(prm["max_range_m"], 80.0)
        d = rng.uniform(max(self.config.min_range_m, 3.0), max(r_hi, 4.0), k)
        b = np.radians(pose.yaw_deg + rng.uniform(-pose.hfov_deg / 2, pose.hfov_deg / 2, k))
        gx, gy = pose.x + d * np.sin(b), pose.y + d * np.cos(b)
        cls = rng.choice(3, size=k, p=_CLUTTER_CLS_P)
        size_h = np.array([1.7, 1.5, 0.5])[cls] * rng.uniform(0.8, 1.2, k)
        size_w = np.array([0.5, 1.8, 0.4])[cls]
        uf, vf, zf = pose.project(np.column_stack([gx, gy, np.zeros(k)]))
        _, vh, _ = pose.project(np.column_stack([gx, gy, size_h]))
        ok = (zf > 0.1) & np.isfinite(uf) & np.isfinite(vh)
        h = (vf - vh)[ok]
        w = pose.focal_px * size_w[ok] / zf[ok]
        boxes = np.column_stack([uf[ok] - w / 2, vh[ok], w, h])
        return boxes, rng.uniform(0.05, 0.5, int(ok.sum())), cls[ok]


def _to_dets(boxes: np.ndarray, conf: np.ndarray, cls: np.ndarray, W: int, H: int) -> list[dict]:
    """Clip boxes to the image, drop empty ones, sort by x (order carries no identity) and make dicts."""
    x0 = np.clip(boxes[:, 0], 0, W)
    y0 = np.clip(boxes[:, 1], 0, H)
    x1 = np.clip(boxes[:, 0] + boxes[:, 2], 0, W)
    y1 = np.clip(boxes[:, 1] + boxes[:, 3], 0, H)
    keep = (x1 - x0 >= 1) & (y1 - y0 >= 1) & np.isfinite(x0 + y0 + x1 + y1)
    order = np.flatnonzero(keep)[np.lexsort((y0[keep], x0[keep]))]
    bb = np.round(np.column_stack([x0, y0, x1 - x0, y1 - y0])[order], 2).tolist()
    cf = np.round(conf[order], 3).tolist()
    names = [CLASS_NAMES[c] for c in cls[order].tolist()]
    return [{"bbox": b, "cls": n, "conf": c} for b, n, c in zip(bb, names, cf, strict=True)]


def foot_points(dets: list[dict]) -> np.ndarray:
    """Bottom-centre pixel ``(x + w/2, y + h)`` of each detection (what the calibration maps to ground)."""
    if not dets:
        return np.zeros((0, 2))
    b = np.array([d["bbox"] for d in dets], float)
    return np.column_stack([b[:, 0] + b[:, 2] / 2, b[:, 1] + b[:, 3]])


def to_ground(calibration: dict, dets: list[dict]) -> np.ndarray:
    """Ground positions (N, 2) of detections through a published calibration record."""
    return apply_homography(np.array(calibration["image_to_ground"]), foot_points(dets))

