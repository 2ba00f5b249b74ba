"""CLEAR-MOT and IDF1 of tracker output against MOTChallenge ground truth, with motmetrics.

motmetrics 1.4.0's own IoU helper calls ``np.asfarray`` (removed in numpy 2), so this module computes the
IoU distance matrix itself, with the same definition (1 - IoU, pairs above ``1 - iou_threshold`` not
allowed) and feeds it to ``MOTAccumulator``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["MOT_METRICS", "iou_distance", "mot_metrics"]

#: Metrics reported: motmetrics' ``motchallenge_metrics`` less the transfer/ascend/migrate counts.
MOT_METRICS = (
    "idf1",
    "idp",
    "idr",
    "recall",
    "precision",
    "num_unique_objects",
    "mostly_tracked",
    "partially_tracked",
    "mostly_lost",
    "num_false_positives",
    "num_misses",
    "num_switches",
    "num_fragmentations",
    "mota",
    "motp",
)


def iou_distance(objs: np.ndarray, hyps: np.ndarray, *, max_dist: float = 0.5) -> np.ndarray:
    """(N, K) matrix of 1 - IoU between ``[x, y, w, h]`` boxes; NaN where above ``max_dist`` (do not pair).

    >>> iou_distance(np.array([[0, 0, 2, 2]]), np.array([[1, 0, 2, 2], [0, 0, 2, 2]])).round(3).tolist()
    [[nan, 0.0]]
    """
    a = np.asarray(objs, dtype=float).reshape(-1, 4)[:, None, :]
    b = np.asarray(hyps, dtype=float).reshape(-1, 4)[None, :, :]
    lo = np.maximum(a[..., :2], b[..., :2])
    hi = np.minimum(a[..., :2] + a[..., 2:], b[..., :2] + b[..., 2:])
    inter = np.prod(np.maximum(hi - lo, 0.0), axis=-1)
    union = np.prod(a[..., 2:], axis=-1) + np.prod(b[..., 2:], axis=-1) - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        iou = np.where(inter > 0, inter / union, 0.0)
    dist = 1.0 - iou
    return np.where(dist > max_dist, np.nan, dist)


def mot_metrics(gt: np.ndarray, hyp: np.ndarray, *, iou_threshold: float = 0.5) -> dict[str, float]:
    """MOTA, MOTP (motmetrics' 1 - IoU), IDF1, ID switches ... of ``hyp`` against ``gt``.

    Both are MOTChallenge row arrays (frame, id, x, y, w, h, ...); every frame in either counts.
    """
    import motmetrics as mm

    gt, hyp = (
        np.atleast_2d(np.asarray(a, dtype=float)) if np.size(a) else np.empty((0, 6)) for a in (gt, hyp)
    )
    acc = mm.MOTAccumulator(auto_id=False)
    frames = np.union1d(gt[:, 0], hyp[:, 0]).astype(int)
    g_order, h_order = np.argsort(gt[:, 0], kind="stable"), np.argsort(hyp[:, 0], kind="stable")
    gt, hyp = gt[g_order], hyp[h_order]
    g_start = np.searchsorted(gt[:, 0], frames, "left"), np.searchsorted(gt[:, 0], frames, "right")
    h_start = np.searchsorted(hyp[:, 0], frames, "left"), np.searchsorted(hyp[:, 0], frames, "right")
    for i, f in enumerate(frames):
        g = gt[g_start[0][i] : g_start[1][i]]
        h = hyp[h_start[0][i] : h_start[1][i]]
        dists = (
            iou_distance(g[:, 2:6], h[:, 2:6], max_dist=1.0 - iou_threshold)
            if len(g) and len(h)
            else np.empty((len(g), len(h)))
        )
        acc.update(g[:, 1].astype(int).tolist(), h[:, 1].astype(int).tolist(), dists, frameid=int(f))
    mh = mm.metrics.create()
    summary = mh.compute(acc, metrics=list(MOT_METRICS), name="seq")
    return {k: float(summary.loc["seq", k]) for k in MOT_METRICS}
