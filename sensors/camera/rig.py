"""The cameras of one batch as arrays (``Rig``), and the lens applied to projected boxes.

``sensors.camera.group`` and ``sensors.camera.false_dets`` read a batch's cameras through this: poses,
configs, the effective detector parameters after conditions and status, the lens, the detector profile and
confusion matrix, each as an array over the cameras.
"""

from __future__ import annotations

import operator
from typing import NamedTuple, Protocol

import numpy as np

from sensors.camera.config import CameraConfig
from sensors.camera.detector import near_rate, profile_index
from sensors.camera.geometry import Pose, distort_pixels, fold_r2
from sensors.camera.occlusion import Shadow
from sensors.camera.persistent import FalseSources

__all__ = ["GroupMember", "Rig", "lens_boxes", "make_rig"]


class GroupMember(Protocol):
    """What a group reads of its cameras (``sensors.camera.camera.Camera`` is one): the state a batch
    takes (status, conditions, pose, effective detector parameters), the camera's persistent false sources
    and its static lookups."""

    config: CameraConfig
    rng: np.random.Generator
    status: str
    false_sources: FalseSources

    @property
    def pose(self) -> Pose: ...

    @property
    def conditions(self) -> tuple[str, ...]: ...

    def params(self) -> dict[str, float]: ...

    def view_cells(self, pose: Pose) -> np.ndarray: ...

    def shadow(self, level: int) -> Shadow | None: ...


class Rig(NamedTuple):
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
    k1: np.ndarray              # true lens: radial coefficients and the folding radius (squared)
    k2: np.ndarray
    fold: np.ndarray
    prof: np.ndarray            # detector profile row (sensors.camera.detector)
    near: np.ndarray            # part-box false detections per true detection
    confusion: np.ndarray       # (nc, 5, 4) P(reported | true)
    occlude: np.ndarray         # bool: nearer targets hide farther ones
    pdet: np.ndarray            # share of frames a persistent false source is detected in


def _static(cfgs: list[CameraConfig]) -> dict[str, np.ndarray]:
    """The config-only arrays of a batch (they change only when the batch's cameras do)."""
    prof = np.array([profile_index(c.detector) for c in cfgs], np.int64)
    return {
        "rmin": np.array([c.min_range_m for c in cfgs]), "hsc": np.array([c.h_scale_px for c in cfgs]),
        "minvis": np.array([c.min_visible for c in cfgs]), "prof": prof,
        "near": near_rate(prof) * np.array([c.near_fp_scale for c in cfgs]),
        "confusion": np.array([c.confusion for c in cfgs], float).reshape(len(cfgs), 5, 4),
        "occlude": np.array([c.target_occlusion for c in cfgs], bool),
        "pdet": np.array([c.persistent_fp_detect for c in cfgs]),
    }


def make_rig(cams: list[GroupMember], cache: dict | None = None) -> Rig:
    """Each camera's pose, config and detector parameters now, as arrays over the cameras. ``cache`` (a
    group's dict) keeps the config-only arrays while the batch has the same cameras."""
    poses = [c.pose for c in cams]
    prms = [c.params() for c in cams]
    cfgs = [c.config for c in cams]
    k1 = np.array([p.k1 for p in poses])
    k2 = np.array([p.k2 for p in poses])
    hit = None if cache is None else cache.get("rig")
    if hit is not None and len(hit[0]) == len(cfgs) and all(map(operator.is_, hit[0], cfgs)):
        static = hit[1]
    else:
        static = _static(cfgs)
        if cache is not None:
            cache["rig"] = (cfgs, static)
    return Rig(
        poses, cfgs,
        cx=np.array([p.x for p in poses]),
        cy=np.array([p.y for p in poses]),
        ch=np.array([p.height_m for p in poses]),
        f=np.array([p.focal_px for p in poses]),
        W=np.array([p.width_px for p in poses], float),
        H=np.array([p.height_px for p in poses], float),
        Rs=np.stack([p.R for p in poses]),
        rmax=np.array([p["max_range_m"] for p in prms]),
        h50=np.array([p["h50_px"] for p in prms]),
        miss=np.array([p["miss_rate"] for p in prms]),
        noise=np.array([p["bbox_noise"] for p in prms]),
        fp=np.array([p["fp_per_frame"] for p in prms]),
        k1=k1, k2=k2, fold=fold_r2(k1, k2), **static,
    )


def lens_boxes(rig: Rig, cam: np.ndarray, uf: np.ndarray, vf: np.ndarray, vh: np.ndarray,
               wpx: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Upright boxes given by their pinhole foot pixel ``(uf, vf)``, head row ``vh`` and width, as each
    camera ``cam``'s lens shows them: the foot and head points distorted, the box kept upright on the
    distorted foot and its width scaled like its height (NaN where the lens model folds)."""
    if len(cam) == 0 or not (rig.k1[cam].any() or rig.k2[cam].any()):
        return uf, vf, vh, wpx
    f, W, H, k1, k2, fold = rig.f[cam], rig.W[cam], rig.H[cam], rig.k1[cam], rig.k2[cam], rig.fold[cam]
    ud, vd = distort_pixels(uf, vf, f, W, H, k1, k2, fold)
    _, vhd = distort_pixels(uf, vh, f, W, H, k1, k2, fold)
    h0 = vf - vh
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(h0 != 0, (vd - vhd) / h0, 1.0)
    return ud, vd, vhd, wpx * scale
