"""CLEAR-MOT and IDF1 of tracker output against MOTChallenge ground truth, reproducing motmetrics 1.4.0.

``mot_metrics`` is a lean re-implementation of ``motmetrics.MOTAccumulator.update`` (carry forward last
frame's pairs, then a min-cost assignment with motmetrics' own LAP solver, so ties break the same way) that
records events in numpy arrays instead of a pandas frame, then computes the metrics from those arrays; IDF1
uses one global bipartite matching over (gt id, hyp id) overlap counts, whose optimum equals motmetrics'
(no+nh)-square cost assignment. Its frame loop runs in a numba kernel (``analytics.motscore_kernel``); the
same loop in Python, ``_mot_metrics_python``, is the reference the kernel is held to, event for event.
``mot_metrics_reference`` runs motmetrics itself: the tests hold the two equal. motmetrics' IoU helper
calls ``np.asfarray`` (removed in numpy 2), so ``iou_distance`` computes the distance matrix with the same
definition (1 - IoU, pairs above ``1 - iou_threshold`` not allowed).
"""

from __future__ import annotations

import numpy as np

__all__ = ["MOT_METRICS", "iou_distance", "mot_metrics", "mot_metrics_reference"]

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

# Event codes of the object-side events (MATCH, SWITCH, MISS); FP events only need counting.
_MATCH, _SWITCH, _MISS = 0, 1, 2


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


def _split_frames(rows: np.ndarray, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if not (np.diff(rows[:, 0]) >= 0).all():  # files in frame order (the usual case) are kept, not copied
        rows = rows[np.argsort(rows[:, 0], kind="stable")]
    return rows, np.searchsorted(rows[:, 0], frames, "left")


def _prepare(gt: np.ndarray, hyp: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Both row arrays sorted by frame (stable), their starts in the union of frames, row count appended."""
    gt, hyp = (
        np.atleast_2d(np.asarray(a, dtype=float)) if np.size(a) else np.empty((0, 6)) for a in (gt, hyp)
    )
    frames = np.union1d(gt[:, 0], hyp[:, 0])
    gt, g0 = _split_frames(gt, frames)
    hyp, h0 = _split_frames(hyp, frames)
    return gt, hyp, np.append(g0, len(gt)), np.append(h0, len(hyp))


def mot_metrics(gt: np.ndarray, hyp: np.ndarray, *, iou_threshold: float = 0.5) -> dict[str, float]:
    """MOTA, MOTP (motmetrics' 1 - IoU), IDF1, ID switches ... of ``hyp`` against ``gt``, equal to motmetrics.

    Both are MOTChallenge row arrays (frame, id, x, y, w, h, ...); every frame in either counts. The frame
    loop runs in ``analytics.motscore_kernel`` (the same events as ``_mot_metrics_python``, bit for bit).
    """
    from analytics.motscore_kernel import frame_events

    gt, hyp, g0, h0 = _prepare(gt, hyp)
    if not (np.isfinite(gt[:, :2]).all() and np.isfinite(hyp[:, :2]).all()):
        return _mot_metrics_python(gt, hyp, iou_threshold=iou_threshold)  # NaN/inf frames or ids: as before
    ev = frame_events(gt, hyp, g0, h0, 1.0 - iou_threshold)
    return _report(ev.counts, float(ev.d[ev.types != _MISS].sum()), (ev.raw_o, ev.raw_h))


def _mot_metrics_python(gt: np.ndarray, hyp: np.ndarray, *, iou_threshold: float = 0.5) -> dict[str, float]:
    """``mot_metrics`` with the frame loop in Python: the reference the kernel is tested against."""
    from motmetrics.lap import linear_sum_assignment

    gt, hyp, g0, h0 = _prepare(gt, hyp)
    g_ids, h_ids = gt[:, 1].astype(np.int64), hyp[:, 1].astype(np.int64)
    max_dist = 1.0 - iou_threshold
    m: dict[int, int] = {}  # object id -> hypothesis id of its last match (motmetrics' ``m``)
    ev_type: list[np.ndarray] = []  # object-side events, in motmetrics' order
    ev_oid: list[np.ndarray] = []
    ev_d: list[np.ndarray] = []
    raw_o: list[np.ndarray] = []  # finite-distance pairs (motmetrics' RAW events) for IDF1
    raw_h: list[np.ndarray] = []
    n_fp = 0
    for k in range(len(g0) - 1):
        o_ids, h = g_ids[g0[k] : g0[k + 1]], h_ids[h0[k] : h0[k + 1]]
        no, nh = len(o_ids), len(h)
        o_mask, h_mask = np.zeros(no, bool), np.zeros(nh, bool)
        types, oids, ds = [], [], []
        if no and nh:
            dists = iou_distance(gt[g0[k] : g0[k + 1], 2:6], hyp[h0[k] : h0[k + 1], 2:6], max_dist=max_dist)
            fi, fj = np.nonzero(np.isfinite(dists))
            if len(fi):
                raw_o.append(o_ids[fi])
                raw_h.append(h[fj])
                cols: dict[int, list[int]] = {}
                for j, x in enumerate(h.tolist()):
                    cols.setdefault(x, []).append(j)
                for i, o in enumerate(o_ids.tolist()):  # 1. carry forward last matches
                    hp = m.get(o)
                    if hp is None or hp not in cols:
                        continue
                    j = next((j for j in cols[hp] if not h_mask[j]), None)  # motmetrics: first unused
                    if j is not None and np.isfinite(dists[i, j]):
                        o_mask[i] = h_mask[j] = True
                        types.append(_MATCH)
                        oids.append(o)
                        ds.append(dists[i, j])
                dists[o_mask, :] = np.nan  # 2. min-cost assignment of the rest
                dists[:, h_mask] = np.nan
                fin = np.isfinite(dists)
                if fin.any():
                    if fin.sum(0).max() <= 1 and fin.sum(1).max() <= 1:
                        pairs = np.nonzero(fin)  # disjoint pairs: every optimum takes all, in row order
                    else:
                        pairs = linear_sum_assignment(dists)
                    for i, j in zip(*pairs, strict=True):
                        if not np.isfinite(dists[i, j]):
                            continue
                        o, hj = int(o_ids[i]), int(h[j])
                        types.append(_SWITCH if o in m and m[o] != hj else _MATCH)
                        oids.append(o)
                        ds.append(dists[i, j])
                        o_mask[i] = h_mask[j] = True
                        m[o] = hj
        miss = o_ids[~o_mask]
        ev_type.append(np.array(types + [_MISS] * len(miss), dtype=np.int8))
        ev_oid.append(np.concatenate([np.array(oids, dtype=np.int64), miss]))
        ev_d.append(np.array(ds + [0.0] * len(miss)))
        n_fp += int((~h_mask).sum())
    return _summarise(
        np.concatenate(ev_type) if ev_type else np.empty(0, np.int8),
        np.concatenate(ev_oid) if ev_oid else np.empty(0, np.int64),
        np.concatenate(ev_d) if ev_d else np.empty(0),
        n_fp,
        (g_ids, gt[:, 0], h_ids, hyp[:, 0]),
        tuple(np.concatenate(r) if r else np.empty(0, np.int64) for r in (raw_o, raw_h)),
    )


def _per_id_frames(ids: np.ndarray, frames: np.ndarray) -> np.ndarray:
    """Frames each id appears in (distinct frames), summed over ids: motmetrics' ``ocs``/``hcs`` total."""
    if not len(ids):
        return 0
    f = frames.astype(np.int64)
    f -= f.min()
    return len(np.unique((ids - ids.min()) * (int(f.max()) + 1) + f))


def _div(a: float, b: float) -> float:
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.true_divide(a, b))


def _summarise(
    types: np.ndarray,
    oids: np.ndarray,
    d: np.ndarray,
    n_fp: int,
    rows: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    raw: tuple[np.ndarray, np.ndarray],
) -> dict[str, float]:
    g_ids, g_frames, h_ids, h_frames = rows
    # Per object: appearances, tracked appearances, fragmentations (tracked -> missed inside the track span).
    order = np.argsort(oids, kind="stable")
    o, missed = oids[order], types[order] == _MISS
    uo, start, count = np.unique(o, return_index=True, return_counts=True)
    tracked = np.add.reduceat((~missed).astype(np.int64), start) if len(o) else np.empty(0, np.int64)
    ratio = tracked / np.maximum(count, 1)
    pos = np.arange(len(o))
    group = np.repeat(np.arange(len(uo)), count)
    last_tracked = np.full(len(uo), -1)
    np.maximum.at(last_tracked, group[~missed], pos[~missed])
    same = np.zeros(len(o), bool)
    same[1:] = o[1:] == o[:-1]
    prev_tracked = np.zeros(len(o), bool)
    prev_tracked[1:] = ~missed[:-1]
    counts = {
        "n_obj": len(types), "n_pred": len(h_ids), "n_fp": n_fp,
        "n_match": int((types == _MATCH).sum()), "n_switch": int((types == _SWITCH).sum()),
        "n_miss": int((types == _MISS).sum()), "n_unique": len(uo),
        "mostly_tracked": int((ratio >= 0.8).sum()),
        "partially_tracked": int(((ratio >= 0.2) & (ratio < 0.8)).sum()),
        "mostly_lost": int((ratio < 0.2).sum()),
        "frag": int((same & prev_tracked & missed & (pos < last_tracked[group])).sum()),
        "gt_id_frames": _per_id_frames(g_ids, g_frames), "hyp_id_frames": _per_id_frames(h_ids, h_frames),
    }
    return _report(counts, float(d[types != _MISS].sum()), raw)


def _report(c: dict[str, int], d_sum: float, raw: tuple[np.ndarray, np.ndarray]) -> dict[str, float]:
    """The metrics from the event counts (``_summarise``), the sum of matched distances and the RAW pairs."""
    from scipy.optimize import linear_sum_assignment

    n_obj, n_pred, n_fp, n_miss, n_switch = c["n_obj"], c["n_pred"], c["n_fp"], c["n_miss"], c["n_switch"]
    n_det = c["n_match"] + n_switch
    # IDF1: one bipartite matching maximising frames where (gt id, hyp id) overlap at the threshold.
    ro, rh = raw
    idtp_match = 0
    if len(ro):
        uo2, oi = np.unique(ro, return_inverse=True)
        uh2, hi = np.unique(rh, return_inverse=True)
        tp = np.zeros((len(uo2), len(uh2)))
        np.add.at(tp, (oi, hi), 1.0)
        r, cc = linear_sum_assignment(tp, maximize=True)
        idtp_match = int(tp[r, cc].sum())
    idfn = c["gt_id_frames"] - idtp_match
    idfp = c["hyp_id_frames"] - idtp_match
    idtp = n_obj - idfn
    return {
        "idf1": _div(2 * idtp, n_obj + n_pred),
        "idp": _div(idtp, idtp + idfp),
        "idr": _div(idtp, idtp + idfn),
        "recall": _div(n_det, n_obj),
        "precision": _div(n_det, n_fp + n_det),
        "num_unique_objects": float(c["n_unique"]),
        "mostly_tracked": float(c["mostly_tracked"]),
        "partially_tracked": float(c["partially_tracked"]),
        "mostly_lost": float(c["mostly_lost"]),
        "num_false_positives": float(n_fp),
        "num_misses": float(n_miss),
        "num_switches": float(n_switch),
        "num_fragmentations": float(c["frag"]),
        "mota": 1.0 - _div(n_miss + n_switch + n_fp, n_obj),
        "motp": _div(d_sum, n_det),
    }


def mot_metrics_reference(
    gt: np.ndarray, hyp: np.ndarray, *, iou_threshold: float = 0.5
) -> dict[str, float]:
    """The same metrics through motmetrics' ``MOTAccumulator`` and ``metrics.create()`` (slow: pandas per
    frame); the yardstick ``mot_metrics`` is tested against."""
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
