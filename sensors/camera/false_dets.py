"""False detections of a camera batch, each with a confidence from its camera's false-positive distribution
(``sensors.camera.detector``): Poisson clutter at random ground points, persistent sources
(``sensors.camera.persistent``) and part boxes beside detected targets. Each function returns flat arrays:
boxes ``[x, y, w, h]`` px, confidence, class code and camera index of each false detection."""

from __future__ import annotations

import operator

import numpy as np

from sensors.camera.detector import near_box_params, sample_quantiles
from sensors.camera.geometry import project_offsets
from sensors.camera.rig import GroupMember, Rig, lens_boxes

__all__ = ["clutter", "near_boxes", "persistent", "sigmoid"]

_CLUTTER_CLS_P = np.array([0.80, 0.15, 0.05])
_CLUTTER_H = np.array([1.7, 1.5, 0.5])
_CLUTTER_W = np.array([0.5, 1.8, 0.4])
#: SD of the per-frame change of a persistent source's confidence quantile level.
LEVEL_JITTER = 0.05


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Logistic function (logit -> confidence)."""
    return 1.0 / (1.0 + np.exp(-np.clip(x, -60, 60)))


def _none():
    return np.zeros((0, 4)), np.zeros(0), np.zeros(0, np.int64), np.zeros(0, np.int64)


def _standing_boxes(rig: Rig, cam: np.ndarray, dx: np.ndarray, dy: np.ndarray, height_m: np.ndarray,
                    width_m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Boxes (n, 4) of upright things standing ``dx``, ``dy`` from their camera, seen through its lens, and
    which of them are in front of the camera with finite pixels."""
    f = rig.f[cam]
    (uf, vf, zf), (_, vh, zh) = project_offsets(rig.Rs[cam], dx, dy, rig.ch[cam], f, rig.W[cam], rig.H[cam],
                                                rise_m=height_m)
    ok = (zf > 0.1) & (zh > 0.1)
    w = f * width_m / np.where(ok, zf, 1.0)
    uf, vf, vh, w = lens_boxes(rig, cam, uf, vf, vh, w)
    ok &= np.isfinite(uf) & np.isfinite(vf) & np.isfinite(vh) & np.isfinite(w)
    return np.column_stack([uf - w / 2, vh, w, vf - vh]), ok


def clutter(rig: Rig, rng: np.random.Generator):
    """Poisson (``fp``) clutter for every camera at random ground points in its field of view (3 m to
    ``min(range, 80)`` m): person-sized boxes (vehicle 15 %, object 5 %)."""
    kk = rng.poisson(rig.fp)
    tot = int(kk.sum())
    if tot == 0:
        return _none()
    cam = np.repeat(np.arange(len(rig.poses)), kk)
    lo = np.array([max(c.min_range_m, 3.0) for c in rig.cfgs])[cam]
    hi = np.maximum(np.minimum(rig.rmax, 80.0), 4.0)[cam]
    d = rng.uniform(lo, hi)
    yaw = np.array([p.yaw_deg for p in rig.poses])[cam]
    half = np.array([p.hfov_deg / 2 for p in rig.poses])[cam]
    b = np.radians(yaw + rng.uniform(-half, half))
    cls = rng.choice(3, size=tot, p=_CLUTTER_CLS_P)
    size_h = _CLUTTER_H[cls] * rng.uniform(0.8, 1.2, tot)
    conf = sigmoid(sample_quantiles(rig.prof[cam], rng.random(tot), false=True))
    boxes, ok = _standing_boxes(rig, cam, d * np.sin(b), d * np.cos(b), size_h, _CLUTTER_W[cls])
    return boxes[ok], conf[ok], cls[ok].astype(np.int64), cam[ok]


def _windows(cams: list[GroupMember], t: float, cache: dict | None):
    """Every camera's source window at ``t`` (``FalseSources.window``) in one set of flat arrays (camera
    index, t0, t1, xy, height, width, class, level), kept in ``cache`` while the windows are the same."""
    win = [c.false_sources.window(t) for c in cams]
    hit = None if cache is None else cache.get("false_sources")
    if hit is not None and len(hit[0]) == len(win) and all(map(operator.is_, hit[0], win)):
        return hit[1]
    n = np.array([len(w.t0) for w in win], np.int64)
    flat = (np.repeat(np.arange(len(cams)), n), np.concatenate([w.t0 for w in win]),
            np.concatenate([w.t1 for w in win]), np.vstack([w.src.xy for w in win]).reshape(-1, 2),
            *(np.concatenate([getattr(w.src, k) for w in win])
              for k in ("height_m", "width_m", "cls", "level")))
    if cache is not None:
        cache["false_sources"] = (win, flat)
    return flat


def persistent(rig: Rig, cams: list[GroupMember], t: float, rng: np.random.Generator,
               cache: dict | None = None):
    """Detections of the persistent false sources present at ``t`` (each detected with probability
    ``pdet``; confidence level jittered by N(0, ``LEVEL_JITTER``); box noise as a true detection's)."""
    cam, t0, t1, xy, hm, wm, cls, level = _windows(cams, t, cache)
    on = (t0 <= t) & (t < t1)
    tot = int(on.sum())
    if tot == 0:
        return _none()
    cam, xy, hm, wm, cls, level = cam[on], xy[on], hm[on], wm[on], cls[on], level[on]
    seen = rng.random(tot) < rig.pdet[cam]
    z = rng.normal(0.0, 1.0, (5, tot))
    conf = sigmoid(sample_quantiles(rig.prof[cam], level + LEVEL_JITTER * z[4], false=True))
    boxes, ok = _standing_boxes(rig, cam, xy[:, 0] - rig.cx[cam], xy[:, 1] - rig.cy[cam], hm, wm)
    nz, h = rig.noise[cam], boxes[:, 3]
    bw, bh = boxes[:, 2] * np.exp(z[2] * nz), h * np.exp(z[3] * nz)
    cu = boxes[:, 0] + boxes[:, 2] / 2 + z[0] * nz * h
    fv = boxes[:, 1] + h + z[1] * nz * h
    keep = seen & ok
    out = np.column_stack([cu - bw / 2, fv - bh, bw, bh])
    return out[keep], conf[keep], cls[keep], cam[keep]


def near_boxes(rig: Rig, cam: np.ndarray, boxes: np.ndarray, cls: np.ndarray, rng: np.random.Generator):
    """Part boxes and duplicates beside true detections (``boxes`` [x, y, w, h] of the targets, ``cls`` the
    reported class, ``cam`` the camera): each with probability ``near`` of its camera, the box shifted and
    scaled by the profile's measured ``near_box`` (``sensors.camera.detector``)."""
    m = np.flatnonzero(rng.random(len(cam)) < rig.near[cam])
    if len(m) == 0:
        return _none()
    c = cam[m]
    prm = near_box_params(rig.prof[c])
    z = rng.normal(0.0, 1.0, (4, len(m)))
    x, y, w, h = boxes[m].T
    cu = x + w / 2 + (prm[:, 0] + prm[:, 1] * z[0]) * w
    fv = y + h + (prm[:, 2] + prm[:, 3] * z[1]) * h
    bw = w * np.exp(prm[:, 4] + prm[:, 5] * z[2])
    bh = h * np.exp(prm[:, 6] + prm[:, 7] * z[3])
    conf = sigmoid(sample_quantiles(rig.prof[c], rng.random(len(m)), false=True))
    return np.column_stack([cu - bw / 2, fv - bh, bw, bh]), conf, cls[m], c
