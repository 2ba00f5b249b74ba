"""Calibration of the simulated detector from real detector output: the numbers of
``sensors.camera.detector.PROFILES`` are what ``fit_profile`` returns for the MOTChallenge files in
``<data>/datasets/mot/<SEQ>/`` (``det_frcnn_sort.txt``: Faster R-CNN detections distributed with SORT;
``det.txt``: the MOT15 public ACF detections; ``gt.txt``: the ground truth; provenance in the folder's
``PROVENANCE.md``). ``tests/test_camera_detector.py`` recomputes them from the files.

Method (the one ``PROVENANCE.md`` documents): per frame, detections and true boxes are matched one to one by
Hungarian assignment maximising IoU (``scipy.optimize.linear_sum_assignment``); a pair counts only at IoU >=
0.5. A matched detection is a true positive (TP), an unmatched one a false positive (FP). FPs whose best IoU
with any true box is at least 0.1 are *near* FPs (part boxes and duplicates beside a person), the others
*background* FPs. Every sequence's rows are pooled.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from scipy.optimize import linear_sum_assignment

__all__ = ["LEVELS", "box_iou", "fit_profile", "load_rows", "match_frames", "platt_fit"]

#: Quantile levels of the confidence tables (0 and 1 are the smallest and largest values seen).
LEVELS = (0.0, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 1.0)
#: Least IoU of a matched (TP) pair, and least best-IoU of a *near* FP.
IOU_MATCH, IOU_NEAR = 0.5, 0.1


def load_rows(path: str | Path) -> np.ndarray:
    """MOTChallenge rows (N, >= 7) of a det or gt file (comma separated, no header)."""
    rows = np.loadtxt(path, delimiter=",", ndmin=2)
    if rows.shape[1] < 7:
        raise ValueError(f"{path}: expected at least 7 comma-separated fields per line")
    return rows


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU matrix (len(a), len(b)) of ``[x, y, w, h]`` boxes over [x, x + w] x [y, y + h]."""
    a, b = np.asarray(a, float).reshape(-1, 4), np.asarray(b, float).reshape(-1, 4)
    iw = np.minimum(a[:, None, 0] + a[:, None, 2], b[None, :, 0] + b[None, :, 2]) - np.maximum(
        a[:, None, 0], b[None, :, 0])
    ih = np.minimum(a[:, None, 1] + a[:, None, 3], b[None, :, 1] + b[None, :, 3]) - np.maximum(
        a[:, None, 1], b[None, :, 1])
    inter = np.clip(iw, 0, None) * np.clip(ih, 0, None)
    union = (a[:, 2] * a[:, 3])[:, None] + (b[:, 2] * b[:, 3])[None, :] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def match_frames(det: np.ndarray, gt: np.ndarray, iou_min: float = IOU_MATCH
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-frame Hungarian matching of det rows to gt rows (column 0 frame, 2:6 box).

    Returns
    -------
    tuple of ndarray
        ``is_tp`` (bool per det row), ``best_iou`` (each det's largest IoU with a true box of its frame, 0
        if none) and ``best_gt`` (the gt row of that largest IoU, -1 if none).
    """
    is_tp = np.zeros(len(det), bool)
    best_iou = np.zeros(len(det))
    best_gt = np.full(len(det), -1, np.int64)
    for f in np.unique(det[:, 0]):
        di = np.flatnonzero(det[:, 0] == f)
        gi = np.flatnonzero(gt[:, 0] == f)
        if not len(gi):
            continue
        m = box_iou(det[di, 2:6], gt[gi, 2:6])
        best_iou[di] = m.max(axis=1)
        best_gt[di] = gi[m.argmax(axis=1)]
        r, c = linear_sum_assignment(-m)
        ok = m[r, c] >= iou_min
        is_tp[di[r[ok]]] = True
    return is_tp, best_iou, best_gt


def platt_fit(score: np.ndarray, is_tp: np.ndarray, iterations: int = 50) -> tuple[float, float]:
    """Platt scaling: ``(a, b)`` of the logistic P(TP | score) = 1 / (1 + exp(-(a score + b))), fitted by
    maximum likelihood (Newton's method); maps an unbounded detector score to a confidence in (0, 1)."""
    x = np.column_stack([np.asarray(score, float), np.ones(len(score))])
    y = np.asarray(is_tp, float)
    w = np.zeros(2)
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-(x @ w)))
        hess = (x * (p * (1 - p))[:, None]).T @ x
        w = w + np.linalg.solve(hess, x.T @ (y - p))
    return float(w[0]), float(w[1])


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-4, 1 - 1e-4)
    return np.log(p / (1 - p))


def fit_profile(seq_dirs: Sequence[str | Path], det_name: str, *, platt: bool = False,
                levels: Sequence[float] = LEVELS) -> dict:
    """The detector-profile numbers of ``sensors.camera.detector.DetectorProfile`` from ``det_name`` and
    ``gt.txt`` in each of ``seq_dirs`` (pooled; method in the module docstring).

    ``platt``: the scores are not probabilities (ACF): map them through ``platt_fit`` first (``score_map``).
    Keys: ``tp_conf``, ``fp_conf`` (confidence quantiles at ``levels``), ``h_ref_px`` (10th percentile of
    TP box heights), ``small_slope`` (least-squares slope of logit(TP conf) on log(box height)),
    ``near_fp_per_tp``, ``near_box`` (mean and SD of a near FP's centre offset / true width, foot offset /
    true height, log width ratio, log height ratio, in that order), ``background_fp_per_frame`` and the counts
    ``tp``, ``fp``, ``frames``.
    """
    conf, tp, h, near_rel, frames, background = [], [], [], [], 0, 0
    for d in seq_dirs:
        det, gt = load_rows(Path(d) / det_name), load_rows(Path(d) / "gt.txt")
        is_tp, best_iou, best_gt = match_frames(det, gt)
        fp = ~is_tp
        near = fp & (best_iou >= IOU_NEAR)
        g, b = gt[best_gt[near], 2:6], det[near, 2:6]
        near_rel.append(np.column_stack([(b[:, 0] + b[:, 2] / 2 - g[:, 0] - g[:, 2] / 2) / g[:, 2],
                                         (b[:, 1] + b[:, 3] - g[:, 1] - g[:, 3]) / g[:, 3],
                                         np.log(b[:, 2] / g[:, 2]), np.log(b[:, 3] / g[:, 3])]))
        background += int((fp & ~near).sum())
        frames += len(np.unique(np.concatenate([det[:, 0], gt[:, 0]])))
        conf.append(det[:, 6])
        tp.append(is_tp)
        h.append(det[:, 5])
    c, t, hh, rel = np.concatenate(conf), np.concatenate(tp), np.concatenate(h), np.vstack(near_rel)
    score_map = None
    if platt:
        score_map = platt_fit(c, t)
        c = 1.0 / (1.0 + np.exp(-(score_map[0] * c + score_map[1])))
    lv = np.asarray(levels, float)
    x = np.log(hh[t])
    slope = float(np.polyfit(x, _logit(c[t]), 1)[0])
    return {
        "tp_conf": tuple(np.quantile(c[t], lv).tolist()), "fp_conf": tuple(np.quantile(c[~t], lv).tolist()),
        "h_ref_px": float(np.quantile(hh[t], 0.1)), "small_slope": slope,
        "near_fp_per_tp": float(len(rel) / t.sum()),
        "near_box": tuple(np.column_stack([rel.mean(axis=0), rel.std(axis=0)]).ravel().tolist()),
        "background_fp_per_frame": background / frames, "score_map": score_map,
        "tp": int(t.sum()), "fp": int((~t).sum()), "frames": frames,
    }
