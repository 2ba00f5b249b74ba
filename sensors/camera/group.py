"""Many cameras, one numpy pass: every camera of a ``CameraGroup`` sampled at the same instant is observed
together, so the fixed numpy cost of a frame is paid once per instant instead of once per camera.

The engine still runs each ``Camera`` as its own sensor. The first member whose ``measure`` runs at time
``t`` triggers ``observe_batch`` for every member that is not offline; the others' ``measure`` calls at the
same ``t`` (same ``Targets`` object) take their precomputed slice. Candidate (camera, target) pairs of all
cameras come from one grid lookup (``sensors.camera.index``) and are projected, clipped, occlusion-tested
(a lookup in per-camera shadow rasters, exact polygon tests only in boundary cells), detected, noised and
cluttered in flat arrays, then split per camera.

Status rule: a batch takes each member's status, conditions and pose when the first member measures at
``t``. The engine applies scheduled faults and cyber effects at urgent priority, before any sensor runs at
``t``, so they are always seen. A member whose status or conditions changed after the batch (or that was
offline at batch time, or asks twice at the same ``t``) triggers a fresh batch, so nothing stale is served.

Randomness: a group draws from the Generator of its first member (the other members' Generators are not
used while they are in a group), in a fixed order per batch, so a run is deterministic for its seed.
"""

from __future__ import annotations

import time
from typing import NamedTuple, Protocol

import numpy as np
import shapely

from agents.world import CLASS_NAMES, Targets, WorldView
from sensors.camera.config import CameraConfig
from sensors.camera.detections import FrameArrays
from sensors.camera.geometry import Pose, project_offsets
from sensors.camera.index import grid_for
from sensors.camera.occlusion import Shadow

__all__ = ["MOT_CLASS", "CameraGroup", "CameraTruth", "GroupMember", "ShadowAtlas", "detection_probability",
           "observe_batch"]

#: MOTChallenge (MOT17) class of each target class: pedestrian 1, car 3; left objects get 13 (not in MOT17).
MOT_CLASS = np.array([1, 3, 13])
_CLUTTER_CLS_P = np.array([0.80, 0.15, 0.05])
_CLUTTER_H = np.array([1.7, 1.5, 0.5])
_CLUTTER_W = np.array([0.5, 1.8, 0.4])


def detection_probability(h_px: np.ndarray, *, h50_px: float | np.ndarray, h_scale_px: float | np.ndarray,
                          miss_rate: float | np.ndarray) -> np.ndarray:
    """Probability of detecting a visible target ``h_px`` pixels tall (logistic, see ``sensors.camera``)."""
    z = np.clip((np.asarray(h_px, float) - h50_px) / h_scale_px, -60, 60)
    return (1.0 - miss_rate) / (1.0 + np.exp(-z))


class CameraTruth(NamedTuple):
    """True targets in one frame's view (for gt.txt): ids, boxes [x, y, w, h] px, MOT class, visibility."""

    ids: np.ndarray
    boxes: np.ndarray
    mot_cls: np.ndarray
    visibility: np.ndarray


class GroupMember(Protocol):
    """What a group reads of its cameras (``sensors.camera.camera.Camera`` is one): the state a batch
    takes (status, conditions, pose, effective detector parameters) and the camera's static lookups."""

    config: CameraConfig
    rng: np.random.Generator
    status: str

    @property
    def pose(self) -> Pose: ...

    @property
    def conditions(self) -> tuple[str, ...]: ...

    def params(self) -> dict[str, float]: ...

    def view_cells(self, pose: Pose) -> np.ndarray: ...

    def shadow(self, level: int) -> Shadow | None: ...


class CameraGroup:
    """Cameras observed together at each shared sampling instant (rules in the module docstring)."""

    def __init__(self) -> None:
        self.cameras: list[GroupMember] = []
        self.rng: np.random.Generator | None = None
        self.batches = 0
        self.atlas = ShadowAtlas()
        self.timings: dict[str, float] | None = None     # set to {} to collect per-phase wall times
        self._t: float | None = None
        self._targets: Targets | None = None
        self._res: dict[int, tuple[FrameArrays | list, CameraTruth]] = {}
        self._state: dict[int, tuple] = {}
        self._taken: set[int] = set()

    def add(self, camera: GroupMember) -> None:
        """Make ``camera`` a member; the first member's Generator becomes the group's."""
        if self.rng is None:
            self.rng = camera.rng
        self.cameras.append(camera)

    def observe(self, camera: GroupMember, world: WorldView) -> tuple[FrameArrays | list, CameraTruth]:
        """Detections (``FrameArrays``, or [] for none) and truth of ``camera`` at ``world.t`` (one batch for
        the whole group per instant)."""
        key = id(camera)
        if (self._t != world.t or self._targets is not world.targets or key in self._taken
                or key not in self._res or self._state[key] != _state(camera)):
            self._run(world)
        self._taken.add(key)
        return self._res[key]

    def _run(self, world: WorldView) -> None:
        live = [c for c in self.cameras if c.status != "offline"]
        out = observe_batch(live, world.targets, self.rng, self.timings, self.atlas)
        self._t, self._targets = world.t, world.targets
        self._res = {id(c): r for c, r in zip(live, out, strict=True)}
        self._state = {id(c): _state(c) for c in live}
        self._taken = set()
        self.batches += 1


def _state(c: GroupMember) -> tuple:
    return (c.status, c.conditions)


_EMPTY_TRUTH = CameraTruth(np.zeros(0, np.int64), np.zeros((0, 4)), np.zeros(0, int), np.zeros(0))


def observe_batch(cams: list[GroupMember], tg: Targets, rng: np.random.Generator,
                  timings: dict[str, float] | None = None,
                  atlas: ShadowAtlas | None = None) -> list[tuple[FrameArrays | list, CameraTruth]]:
    """Detections (``FrameArrays``, or [] for none) and truth for each camera in ``cams`` seeing ``tg``, in
    one numpy pass.

    Phases: the cameras as arrays (``_rig``), candidate (camera, target) pairs from the target grid
    (``_candidates``), their projection and clipping to the image (``_project``), building occlusion
    (``_hidden``), the detection draw and box noise (``_detect``), clutter (``_clutter``), the split into
    per-camera frames (``_split_dets``) and the truth per camera (``_truths``). Random draws come in that
    order, from ``rng``.

    ``atlas`` keeps the cameras' shadow rasters between calls (a group passes its own).
    ``timings``, if given, accumulates CPU seconds per phase (setup, candidates, project, occlusion,
    detect, clutter, messages, truth) for benchmarks.
    """
    clock = _Clock(timings)
    if not cams:
        return []
    rig = _rig(cams)
    clock("setup")
    pc, pt, dx, dy = _candidates(cams, rig, tg)
    clock("candidates")
    pairs = _project(rig, tg, pc, pt, dx, dy)
    clock("project")
    hidden = _hidden(cams, pairs.ic, tg.xy[pairs.it], 0.5 * tg.height_m[pairs.it],
                     atlas if atlas is not None else ShadowAtlas())
    clock("occlusion")
    boxes, conf, cls, dcam = _detect(rig, tg, pairs, hidden, rng)
    clock("detect")
    cb, cconf, ccls, ccam = _clutter(rig, rng)
    clock("clutter")
    dets = _split_dets(np.vstack([boxes, cb]), np.concatenate([conf, cconf]), np.concatenate([cls, ccls]),
                       np.concatenate([dcam, ccam]), rig.W, rig.H, len(cams))
    clock("messages")
    truths = _truths(tg, pairs, hidden, len(cams))
    clock("truth")
    return list(zip(dets, truths, strict=True))


class _Rig(NamedTuple):
    """The batch's cameras as they are when it starts: poses, configs and per-camera arrays (effective
    detector parameters after conditions and status)."""

    poses: list[Pose]
    cfgs: list[CameraConfig]
    cx: np.ndarray              # camera x, y, height (m)
    cy: np.ndarray
    ch: np.ndarray
    f: np.ndarray               # focal length, image width and height (px)
    W: np.ndarray
    H: np.ndarray
    Rs: np.ndarray              # (nc, 3, 3) world -> camera rotations
    rmax: np.ndarray            # range limits (m)
    rmin: np.ndarray
    h50: np.ndarray             # detector: logistic midpoint, miss rate, box noise, clutter rate, scale
    miss: np.ndarray
    noise: np.ndarray
    fp: np.ndarray
    hsc: np.ndarray
    minvis: np.ndarray          # least visible part of a box that can be detected


def _rig(cams: list[GroupMember]) -> _Rig:
    """Each camera's pose, config and detector parameters now, as arrays over the cameras."""
    poses = [c.pose for c in cams]
    prms = [c.params() for c in cams]
    cfgs = [c.config for c in cams]
    return _Rig(
        poses, cfgs,
        cx=np.array([p.x for p in poses]),
        cy=np.array([p.y for p in poses]),
        ch=np.array([p.height_m for p in poses]),
        f=np.array([p.focal_px for p in poses]),
        W=np.array([p.width_px for p in poses], float),
        H=np.array([p.height_px for p in poses], float),
        Rs=np.stack([p.R for p in poses]),
        rmax=np.array([p["max_range_m"] for p in prms]),
        rmin=np.array([c.min_range_m for c in cfgs]),
        h50=np.array([p["h50_px"] for p in prms]),
        miss=np.array([p["miss_rate"] for p in prms]),
        noise=np.array([p["bbox_noise"] for p in prms]),
        fp=np.array([p["fp_per_frame"] for p in prms]),
        hsc=np.array([c.h_scale_px for c in cfgs]),
        minvis=np.array([c.min_visible for c in cfgs]),
    )


def _candidates(cams: list[GroupMember], rig: _Rig,
                tg: Targets) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Candidate pairs, grouped by camera: camera and target index and the target's offset (dx, dy) from
    the camera, for every target within range in the cells under each camera's view (one grid lookup for
    every camera's view cells)."""
    nc = len(cams)
    cells = [c.view_cells(p) for c, p in zip(cams, rig.poses, strict=True)]
    ncell = np.array([len(k) for k in cells])
    pc = np.zeros(0, np.int64)
    pt = np.zeros(0, np.int64)
    dx = dy = np.zeros(0)
    if len(tg):
        grid = grid_for(tg)
        keys = np.concatenate(cells) if ncell.sum() else np.zeros(0, np.int64)
        if len(keys) and len(grid.keys):
            lo = np.searchsorted(grid.keys, keys, side="left")
            n = np.searchsorted(grid.keys, keys, side="right") - lo
            tot = int(n.sum())
            if tot:
                starts = np.repeat(lo - (np.cumsum(n) - n), n)
                pt = grid.order[starts + np.arange(tot)]
                pc = np.repeat(np.repeat(np.arange(nc), ncell), n)
    if len(pt):
        dx = tg.xy[pt, 0] - rig.cx[pc]
        dy = tg.xy[pt, 1] - rig.cy[pc]
        d2 = dx * dx + dy * dy
        keep = (d2 <= rig.rmax[pc] ** 2) & (d2 >= rig.rmin[pc] ** 2)
        pc, pt, dx, dy = pc[keep], pt[keep], dx[keep], dy[keep]
    return pc, pt, dx, dy


class _Pairs(NamedTuple):
    """Candidate pairs projected: per pair its camera and target, foot pixel (``uf``, ``vf``), head row
    ``vh``, box width and height (px, 0 behind the camera) and left edge ``x0``; ``inimg`` the pairs
    whose box meets the image, with their camera ``ic``, target ``it`` and visible part ``frac``."""

    cam: np.ndarray
    target: np.ndarray
    uf: np.ndarray
    vf: np.ndarray
    vh: np.ndarray
    wpx: np.ndarray
    hpx: np.ndarray
    x0: np.ndarray
    inimg: np.ndarray
    ic: np.ndarray
    it: np.ndarray
    frac: np.ndarray


def _project(rig: _Rig, tg: Targets, pc: np.ndarray, pt: np.ndarray, dx: np.ndarray,
             dy: np.ndarray) -> _Pairs:
    """Projection of the pairs' foot and head points (``project_offsets``), boxes clipped to the image."""
    fp_ = rig.f[pc]
    Wp, Hp = rig.W[pc], rig.H[pc]
    (uf, vf, zf), (_, vh, zh) = project_offsets(rig.Rs[pc], dx, dy, rig.ch[pc], fp_, Wp, Hp,
                                                rise_m=tg.height_m[pt])
    front = (zf > 0.1) & (zh > 0.1)
    zf_s = np.where(front, zf, 1.0)
    hpx = np.where(front, vf - vh, 0.0)
    wpx = np.where(front, fp_ * tg.width_m[pt] / zf_s, 0.0)
    x0 = uf - wpx / 2
    cw = np.minimum(x0 + wpx, Wp) - np.maximum(x0, 0)
    chh = np.minimum(vh + hpx, Hp) - np.maximum(vh, 0)
    area = wpx * hpx
    inimg = np.flatnonzero(front & (area > 0) & (cw > 0) & (chh > 0))
    frac = cw[inimg] * chh[inimg] / area[inimg]
    return _Pairs(pc, pt, uf, vf, vh, wpx, hpx, x0, inimg, pc[inimg], pt[inimg], frac)


def _detect(rig: _Rig, tg: Targets, pairs: _Pairs, hidden: np.ndarray,
            rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Detection draw and box noise for the pairs in view and not hidden: boxes (x, y, w, h px), conf,
    class and camera index of each detection."""
    pc, hpx = pairs.cam, pairs.hpx
    okm = (~hidden) & (pairs.frac >= rig.minvis[pairs.ic])
    ok = pairs.inimg[okm]
    oc = pc[ok]
    p = detection_probability(hpx[ok], h50_px=rig.h50[oc], h_scale_px=rig.hsc[oc], miss_rate=rig.miss[oc])
    hit = rng.random(len(ok)) < p
    k = ok[hit]
    kc = pc[k]
    z = rng.normal(0.0, 1.0, (5, len(k)))
    nz = rig.noise[kc]
    cu = pairs.uf[k] + z[0] * nz * hpx[k]
    fv = pairs.vf[k] + z[1] * nz * hpx[k]
    bw = pairs.wpx[k] * np.exp(z[2] * nz)
    bh = hpx[k] * np.exp(z[3] * nz)
    conf = np.clip(p[hit] + z[4] * 0.05, 0.05, 0.99)
    cls = tg.cls[pairs.target[k]].astype(np.int64)
    return np.column_stack([cu - bw / 2, fv - bh, bw, bh]), conf, cls, kc


def _truths(tg: Targets, pairs: _Pairs, hidden: np.ndarray, nc: int) -> list[CameraTruth]:
    """The truth of each camera: targets in view (pairs are grouped by camera already), their boxes, MOT
    class and visibility (0 when hidden by a building)."""
    inimg, ic, it = pairs.inimg, pairs.ic, pairs.it
    vis = pairs.frac * ~hidden
    bounds = np.searchsorted(ic, np.arange(nc + 1))
    tboxes = np.column_stack([pairs.x0[inimg], pairs.vh[inimg], pairs.wpx[inimg], pairs.hpx[inimg]])
    tids = tg.ids[it].astype(np.int64)
    tmot = MOT_CLASS[tg.cls[it].astype(np.int64)]
    out = []
    for j in range(nc):
        a, b = bounds[j], bounds[j + 1]
        out.append(_EMPTY_TRUTH if a == b else CameraTruth(tids[a:b], tboxes[a:b], tmot[a:b], vis[a:b]))
    return out


class _Clock:
    """Adds the CPU time since the previous call to ``timings[phase]`` (no-op without ``timings``)."""

    def __init__(self, timings: dict[str, float] | None) -> None:
        self.timings = timings
        self.t = time.process_time()

    def __call__(self, phase: str) -> None:
        if self.timings is not None:
            now = time.process_time()
            self.timings[phase] = self.timings.get(phase, 0.0) + now - self.t
            self.t = now


class ShadowAtlas:
    """Every shadow raster a group has used, packed in one flat array so a batch looks up all its pairs'
    raster cells at once (``sensors.camera.occlusion.ShadowRaster``)."""

    def __init__(self) -> None:
        self._slot: dict[int, int] = {}
        self._shadows: list = []
        self._meta = np.zeros((0, 7))          # x0, y0, cell_m, nx, ny, offset, off-raster code
        self._parts: list[np.ndarray] = []
        self._flat = np.zeros(0, np.uint8)
        self._size = 0

    def slot(self, sh) -> int:
        """Slot of shadow ``sh`` (added on first use; the flat array is rebuilt once per batch that adds)."""
        k = self._slot.get(id(sh))
        if k is None:
            r = sh.raster()
            ny, nx = r.codes.shape
            self._meta = np.vstack([self._meta, [r.x0, r.y0, r.cell_m, nx, ny, self._size, r.off]])
            self._parts.append(r.codes.ravel())
            self._size += nx * ny
            self._shadows.append(sh)
            k = self._slot[id(sh)] = len(self._shadows) - 1
        return k

    def codes(self, slots: np.ndarray, xy: np.ndarray) -> np.ndarray:
        """Raster code (0 clear, 1 hidden, 2 test the polygon) of point ``xy[i]`` in shadow ``slots[i]``."""
        if len(self._flat) != self._size:
            self._flat = np.concatenate(self._parts)
            self._parts = [self._flat]
        m = self._meta[slots]
        ix = np.floor((xy[:, 0] - m[:, 0]) / m[:, 2]).astype(np.int64)
        iy = np.floor((xy[:, 1] - m[:, 1]) / m[:, 2]).astype(np.int64)
        nx, ny = m[:, 3].astype(np.int64), m[:, 4].astype(np.int64)
        on = (ix >= 0) & (ix < nx) & (iy >= 0) & (iy < ny)
        out = m[:, 6].astype(np.uint8)
        out[on] = self._flat[m[on, 5].astype(np.int64) + iy[on] * nx[on] + ix[on]]
        return out


def _hidden(cams: list[GroupMember], ic: np.ndarray, xy: np.ndarray, z: np.ndarray,
            atlas: ShadowAtlas) -> np.ndarray:
    """Building occlusion of pair targets at ``xy`` (mid-height ``z``) for cameras ``ic``, against the shadow
    of each pair's camera at its 0.25 m mid-height level: one raster lookup for all pairs, then one
    ``contains_xy`` for the few pairs in boundary cells."""
    out = np.zeros(len(ic), bool)
    if len(ic) == 0:
        return out
    iz = np.clip(np.round(np.asarray(z) * 4), 0, 63).astype(np.int64)
    code = ic * 64 + iz
    uniq, inv = np.unique(code, return_inverse=True)
    slots = np.full(len(uniq), -1, np.int64)
    geoms = np.empty(len(uniq), object)
    for u, (cam_i, level) in enumerate(zip((uniq // 64).tolist(), (uniq % 64).tolist(), strict=True)):
        sh = cams[cam_i].shadow(level)
        if sh is not None:
            slots[u] = atlas.slot(sh)
            geoms[u] = sh.geometry
    sel = np.flatnonzero(slots[inv] >= 0)
    if len(sel) == 0:
        return out
    c = atlas.codes(slots[inv[sel]], xy[sel])
    out[sel[c == 1]] = True
    mixed = sel[c == 2]
    if len(mixed):
        out[mixed] = shapely.contains_xy(geoms[inv[mixed]], xy[mixed, 0], xy[mixed, 1])
    return out


def _clutter(rig: _Rig, rng: np.random.Generator):
    """Poisson clutter for every camera at random ground points in its field of view: boxes, conf, class
    and camera index (flat)."""
    kk = rng.poisson(rig.fp)
    tot = int(kk.sum())
    if tot == 0:
        return np.zeros((0, 4)), np.zeros(0), np.zeros(0, np.int64), np.zeros(0, np.int64)
    cam = np.repeat(np.arange(len(rig.poses)), kk)
    lo = np.array([max(c.min_range_m, 3.0) for c in rig.cfgs])[cam]
    hi = np.maximum(np.minimum(rig.rmax, 80.0), 4.0)[cam]
    d = rng.uniform(lo, hi)
    yaw = np.array([p.yaw_deg for p in rig.poses])[cam]
    half = np.array([p.hfov_deg / 2 for p in rig.poses])[cam]
    b = np.radians(yaw + rng.uniform(-half, half))
    cls = rng.choice(3, size=tot, p=_CLUTTER_CLS_P)
    size_h = _CLUTTER_H[cls] * rng.uniform(0.8, 1.2, tot)
    size_w = _CLUTTER_W[cls]
    conf = rng.uniform(0.05, 0.5, tot)
    dx, dy = d * np.sin(b), d * np.cos(b)
    f = rig.f[cam]
    (uf, vf, zf), (_, vh, zh) = project_offsets(rig.Rs[cam], dx, dy, rig.ch[cam], f, rig.W[cam], rig.H[cam],
                                                rise_m=size_h)
    ok = (zf > 0.1) & (np.abs(zh) > 1e-9)
    ok &= np.isfinite(uf) & np.isfinite(vh)
    w = f[ok] * size_w[ok] / zf[ok]
    boxes = np.column_stack([uf[ok] - w / 2, vh[ok], w, (vf - vh)[ok]])
    return boxes, conf[ok], cls[ok].astype(np.int64), cam[ok]


def _split_dets(boxes: np.ndarray, conf: np.ndarray, cls: np.ndarray, cam: np.ndarray, W: np.ndarray,
                H: np.ndarray, nc: int) -> list[FrameArrays | list]:
    """Clip boxes to their image, drop empty ones, sort by camera then x (order carries no identity) and
    split them per camera (``FrameArrays``: 0.01 px boxes, 0.001 confidences; [] for no detection)."""
    out: list[FrameArrays | list] = [[] for _ in range(nc)]
    if len(boxes) == 0:
        return out
    Wc, Hc = W[cam], H[cam]
    x0 = np.clip(boxes[:, 0], 0, Wc)
    y0 = np.clip(boxes[:, 1], 0, Hc)
    x1 = np.clip(boxes[:, 0] + boxes[:, 2], 0, Wc)
    y1 = np.clip(boxes[:, 1] + boxes[:, 3], 0, Hc)
    keep = np.flatnonzero((x1 - x0 >= 1) & (y1 - y0 >= 1) & np.isfinite(x0 + y0 + x1 + y1))
    order = keep[np.lexsort((y0[keep], x0[keep], cam[keep]))]
    boxes_r = np.round(np.column_stack([x0, y0, x1 - x0, y1 - y0])[order], 2)
    conf_r = np.round(conf[order], 3)
    codes = cls[order]
    bounds = np.searchsorted(cam[order], np.arange(nc + 1)).tolist()
    for j in range(nc):
        a, b = bounds[j], bounds[j + 1]
        if a != b:  # arrays; the bus dicts are made only if someone needs them (sensors.camera.detections)
            out[j] = FrameArrays(boxes_r[a:b], codes[a:b], conf_r[a:b], CLASS_NAMES)
    return out
