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
from typing import NamedTuple

import numpy as np
import shapely

from agents.world import CLASS_NAMES, FURNITURE, Targets, WorldView
from sensors.camera.crowd import target_visibility
from sensors.camera.detections import FrameArrays
from sensors.camera.detector import confuse, sample_quantiles, tp_logit_shift
from sensors.camera.false_dets import clutter, near_boxes, persistent, sigmoid
from sensors.camera.geometry import project_offsets
from sensors.camera.index import grid_for
from sensors.camera.rig import GroupMember, Rig, lens_boxes, make_rig

__all__ = ["MOT_CLASS", "CameraGroup", "CameraTruth", "GroupMember", "ShadowAtlas", "detection_probability",
           "observe_batch"]

#: MOTChallenge class of each target class (``agents.world.CLASS_NAMES`` order), MOT17's numbering:
#: person -> pedestrian 1, vehicle -> car 3, bicycle (a person riding one) -> bicycle 4, furniture (bench,
#: bin, bollard) -> 10 "occluder on the ground"; left objects (bags) get 13, which MOT17 does not use.
MOT_CLASS = np.array([1, 3, 13, 4, 10])


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


class CameraGroup:
    """Cameras observed together at each shared sampling instant (rules in the module docstring)."""

    def __init__(self) -> None:
        self.cameras: list[GroupMember] = []
        self.rng: np.random.Generator | None = None
        self.batches = 0
        self.atlas = ShadowAtlas()
        self._cache: dict = {}
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
        out = observe_batch(live, world.targets, self.rng, self.timings, self.atlas, t=float(world.t),
                            cache=self._cache)
        self._t, self._targets = world.t, world.targets
        self._res = {id(c): r for c, r in zip(live, out, strict=True)}
        self._state = {id(c): _state(c) for c in live}
        self._taken = set()
        self.batches += 1


def _state(c: GroupMember) -> tuple:
    return (c.status, c.conditions)


_EMPTY_TRUTH = CameraTruth(np.zeros(0, np.int64), np.zeros((0, 4)), np.zeros(0, int), np.zeros(0))


def observe_batch(cams: list[GroupMember], tg: Targets, rng: np.random.Generator,
                  timings: dict[str, float] | None = None, atlas: ShadowAtlas | None = None, *,
                  t: float = 0.0, cache: dict | None = None) -> list[tuple[FrameArrays | list, CameraTruth]]:
    """Detections (``FrameArrays``, or [] for none) and truth for each camera in ``cams`` seeing ``tg`` at
    time ``t``, in one numpy pass.

    Phases: the cameras as arrays (``sensors.camera.rig.make_rig``), candidate (camera, target) pairs from
    the target grid (``_candidates``), their projection through each lens and clipping to the image
    (``_project``), building occlusion (``_hidden``), occlusion by nearer targets (``_crowd``), the detection
    draw, class, confidence and box noise (``_detect``, with the part boxes of ``false_dets.near_boxes``),
    clutter and persistent false sources (``sensors.camera.false_dets``), the split into per-camera frames
    (``_split_dets``) and the truth per camera (``_truths``). Random draws come in that order, from ``rng``.

    ``atlas`` keeps the cameras' shadow rasters between calls, ``cache`` the config-only arrays and the
    persistent sources' flat arrays (a group passes its own of both).
    ``timings``, if given, accumulates CPU seconds per phase (setup, candidates, project, occlusion, crowd,
    detect, clutter, messages, truth) for benchmarks.
    """
    clock = _Clock(timings)
    if not cams:
        return []
    rig = make_rig(cams, cache)
    clock("setup")
    pc, pt, dx, dy = _candidates(cams, rig, tg)
    clock("candidates")
    pairs = _project(rig, tg, pc, pt, dx, dy)
    clock("project")
    hidden = _hidden(cams, pairs.ic, tg.xy[pairs.it], 0.5 * tg.height_m[pairs.it],
                     atlas if atlas is not None else ShadowAtlas())
    clock("occlusion")
    cvis = _crowd(rig, pairs, hidden)
    clock("crowd")
    parts = _detect(rig, tg, pairs, hidden, cvis, rng)
    clock("detect")
    parts += [clutter(rig, rng), persistent(rig, cams, t, rng, cache)]
    clock("clutter")
    boxes, conf, cls, cam = (np.concatenate(a) for a in zip(*parts, strict=True))
    dets = _split_dets(boxes, conf, cls, cam, rig.W, rig.H, len(cams))
    clock("messages")
    truths = _truths(tg, pairs, hidden, cvis, len(cams))
    clock("truth")
    return list(zip(dets, truths, strict=True))


def _candidates(cams: list[GroupMember], rig: Rig,
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
    """Candidate pairs projected through the lens: per pair its camera and target, foot pixel (``uf``,
    ``vf``), head row ``vh``, box width and height (px, 0 behind the camera) and left edge ``x0``; ``inimg``
    the pairs whose box meets the image, with their camera ``ic``, target ``it``, visible part ``frac`` and
    depth ``z`` (m along the optical axis)."""

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
    z: np.ndarray


def _project(rig: Rig, tg: Targets, pc: np.ndarray, pt: np.ndarray, dx: np.ndarray,
             dy: np.ndarray) -> _Pairs:
    """Projection of the pairs' foot and head points (``project_offsets``) through the lens
    (``sensors.camera.rig.lens_boxes``), boxes clipped to the image."""
    fp_ = rig.f[pc]
    Wp, Hp = rig.W[pc], rig.H[pc]
    (uf, vf, zf), (_, vh, zh) = project_offsets(rig.Rs[pc], dx, dy, rig.ch[pc], fp_, Wp, Hp,
                                                rise_m=tg.height_m[pt])
    front = (zf > 0.1) & (zh > 0.1)
    zf_s = np.where(front, zf, 1.0)
    uf, vf, vh, wpx = lens_boxes(rig, pc, uf, vf, vh, fp_ * tg.width_m[pt] / zf_s)
    front &= np.isfinite(uf) & np.isfinite(vf) & np.isfinite(vh) & np.isfinite(wpx)
    hpx = np.where(front, vf - vh, 0.0)
    wpx = np.where(front, wpx, 0.0)
    x0 = uf - wpx / 2
    cw = np.minimum(x0 + wpx, Wp) - np.maximum(x0, 0)
    chh = np.minimum(vh + hpx, Hp) - np.maximum(vh, 0)
    area = wpx * hpx
    inimg = np.flatnonzero(front & (area > 0) & (cw > 0) & (chh > 0))
    frac = cw[inimg] * chh[inimg] / area[inimg]
    return _Pairs(pc, pt, uf, vf, vh, wpx, hpx, x0, inimg, pc[inimg], pt[inimg], frac, zf[inimg])


def _crowd(rig: Rig, pairs: _Pairs, hidden: np.ndarray) -> np.ndarray:
    """Share of each in-image pair's box that nearer targets leave visible (``sensors.camera.crowd``; 1 for
    cameras with ``target_occlusion`` off; targets hidden by buildings hide nobody)."""
    k = pairs.inimg
    active = (~hidden) & rig.occlude[pairs.ic]
    if not active.any():
        return np.ones(len(k))
    return target_visibility(pairs.ic, pairs.x0[k], pairs.vh[k], pairs.wpx[k], pairs.hpx[k], pairs.z, active)


def _detect(rig: Rig, tg: Targets, pairs: _Pairs, hidden: np.ndarray, cvis: np.ndarray,
            rng: np.random.Generator) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """Detection draw (``p`` of the height left visible by nearer targets), reported class (confusion), box
    noise and confidence for the pairs in view and not hidden, then their part boxes: two lists of boxes
    (x, y, w, h px), conf, class and camera index."""
    pc, hpx = pairs.cam, pairs.hpx
    okm = (~hidden) & (pairs.frac * cvis >= rig.minvis[pairs.ic])
    ok = pairs.inimg[okm]
    oc = pc[ok]
    h_eff = hpx[ok] * cvis[okm]
    p = detection_probability(h_eff, h50_px=rig.h50[oc], h_scale_px=rig.hsc[oc], miss_rate=rig.miss[oc])
    hit = rng.random(len(ok)) < p
    true_cls = tg.cls[pairs.target[ok[hit]]].astype(np.int64)
    cls = confuse(rig.confusion[oc[hit], true_cls], rng.random(int(hit.sum())))
    rep = cls >= 0
    k, cls, true_cls, h_eff = ok[hit][rep], cls[rep], true_cls[rep], h_eff[hit][rep]
    kc = pc[k]
    z = rng.normal(0.0, 1.0, (4, len(k)))
    nz = rig.noise[kc]
    cu = pairs.uf[k] + z[0] * nz * hpx[k]
    fv = pairs.vf[k] + z[1] * nz * hpx[k]
    bw = pairs.wpx[k] * np.exp(z[2] * nz)
    bh = hpx[k] * np.exp(z[3] * nz)
    prof = rig.prof[kc]
    level = rng.random(len(k))
    false = true_cls == FURNITURE      # a thing with no detector class: whatever it is reported as is false
    logit = np.where(false, sample_quantiles(prof, level, false=True),
                     sample_quantiles(prof, level, false=False) - tp_logit_shift(prof, h_eff))
    conf = sigmoid(logit)
    true_boxes = np.column_stack([pairs.x0[k], pairs.vh[k], pairs.wpx[k], hpx[k]])
    near = near_boxes(rig, kc, true_boxes, cls, rng)
    return [(np.column_stack([cu - bw / 2, fv - bh, bw, bh]), conf, cls, kc), near]


def _truths(tg: Targets, pairs: _Pairs, hidden: np.ndarray, cvis: np.ndarray,
            nc: int) -> list[CameraTruth]:
    """The truth of each camera: targets in view (pairs are grouped by camera already), their boxes, MOT
    class and visibility (the share inside the image and not covered by nearer targets; 0 when hidden by a
    building)."""
    inimg, ic, it = pairs.inimg, pairs.ic, pairs.it
    vis = pairs.frac * cvis * ~hidden
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
