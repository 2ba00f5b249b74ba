"""The per-frame loop of ``analytics.motscore.mot_metrics`` as a numba kernel: the same events, bit for bit.

Why: scoring a city run (221 cameras, 28,000 frames, 3.9 M ground-truth rows) spent most of its time in the
Python frame loop (``docs/performance.md``). The kernel runs motmetrics' ``MOTAccumulator.update`` rules over
all frames: IoU distances with the float operations of ``motscore.iou_distance`` (kept as a row-major list
of the finite ones), carry-forward of each object's last match (the first unused column holding that
hypothesis id, paired only if its distance is finite), then the remaining finite pairs; where they are
disjoint it takes them all in row order itself. Any other frame goes to motmetrics' LAP solver as the Python
loop sends it: the kernel stops with the frame's matrix built, Python solves it, and the kernel applies the
pairs and resumes at the next frame. With motmetrics' default scipy solver the matrix is the one that solver
builds (``lap.add_expensive_edges``) and goes to scipy directly; with any other, it is the masked distance
matrix, for ``motmetrics.lap.linear_sum_assignment``. Ids are compacted to ``0..G-1`` / ``0..H-1`` (``m`` is
an int array, -1 for no match yet).

Every object row yields one event (MATCH / SWITCH from the carry-forward, then from the assignment in its
pair order, then MISS in row order), so frame ``k``'s events fill rows ``g0[k]:g0[k+1]`` of the event arrays
in the Python loop's order; MOTP sums their distances in that order with numpy, so it is bit-identical too.
The per-object counts (tracked share, fragmentations) and the distinct (id, frame) counts of IDF1 are
integers, counted here in one pass instead of ``motscore._summarise``'s sorts.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

__all__ = ["MATCH", "MISS", "SWITCH", "FrameEvents", "frame_events"]

#: Event codes of the object-side events (motscore's _MATCH, _SWITCH, _MISS).
MATCH, SWITCH, MISS = 0, 1, 2
# Kernel stops: all frames done, a frame needs the LAP solver, the RAW pair buffers are full.
_DONE, _LAP, _GROW = 0, 1, 2
# Slots of the kernel's int64 state vector: frame to (re)start, next event row, RAW pairs, FPs, and whether
# the frame _K waits for its LAP pairs.
_K, _POS, _NRAW, _NFP, _RESUME = 0, 1, 2, 3, 4


@njit(cache=True, nogil=True)
def _max(x, y):
    """``np.maximum`` of two floats: NaN if either is."""
    if x != x or y != y:
        return np.nan
    return x if x >= y else y


@njit(cache=True, nogil=True)
def _min(x, y):
    """``np.minimum`` of two floats: NaN if either is."""
    if x != x or y != y:
        return np.nan
    return x if x <= y else y


@njit(cache=True, nogil=True, error_model="numpy")
def _distance(gbox, hbox, r, c, max_dist):
    """``iou_distance`` of gt row ``r`` and hypothesis row ``c``: the same float operations, in its order."""
    ax, ay, aw, ah = gbox[r, 0], gbox[r, 1], gbox[r, 2], gbox[r, 3]
    bx, by, bw, bh = hbox[c, 0], hbox[c, 1], hbox[c, 2], hbox[c, 3]
    iw = _max(_min(ax + aw, bx + bw) - _max(ax, bx), 0.0)
    ih = _max(_min(ay + ah, by + bh) - _max(ay, by), 0.0)
    inter = iw * ih
    iou = inter / (aw * ah + bw * bh - inter) if inter > 0 else 0.0
    dist = 1.0 - iou
    return np.nan if dist > max_dist else dist


@njit(cache=True, nogil=True, error_model="numpy")
def _finite_pairs(gbox, hbox, a0, no, b0, nh, max_dist, fr):
    """List the frame's finite distances row-major in ``fi``, ``fj``, ``fd`` (row ``i``'s from ``ptr[i]``);
    return their number.

    Boxes whose x extents do not overlap (``ax + aw > bx`` and ``bx + bw > ax`` fail, or are NaN) have a
    non-positive or NaN x overlap, so intersection 0 or NaN, IoU 0 and distance 1: NaN unless ``max_dist``
    admits 1, and then every pair is computed."""
    fi, fj, fd, ptr, hx, cand = fr
    every = not (1.0 > max_dist)
    for j in range(nh):
        hx[0, j] = hbox[b0 + j, 0]
        hx[1, j] = hbox[b0 + j, 0] + hbox[b0 + j, 2]
    nf = 0
    for i in range(no):
        ptr[i] = nf
        ax = gbox[a0 + i, 0]
        ax2 = ax + gbox[a0 + i, 2]
        nc = 0
        for j in range(nh):  # branch-free: the columns that may overlap, in order
            cand[nc] = j
            nc += every | ((ax2 > hx[0, j]) & (hx[1, j] > ax))
        for c in range(nc):
            dist = _distance(gbox, hbox, a0 + i, b0 + cand[c], max_dist)
            if np.isfinite(dist):
                fi[nf], fj[nf], fd[nf] = i, cand[c], dist
                nf += 1
    ptr[no] = nf
    return nf


@njit(cache=True, nogil=True)
def _lookup(fr, i, j):
    """Distance of pair (i, j): its listed value (NaN once masked), NaN if not listed."""
    _, fj, fd, ptr, _, _ = fr
    for t in range(ptr[i], ptr[i + 1]):
        if fj[t] == j:
            return fd[t]
    return np.nan


@njit(cache=True, nogil=True)
def _carry_forward(fr, no, a0, gc, m, first, nxt, masks, g_ids, ev, pos):
    """Step 1: each object keeps its last hypothesis id where that id's first unused column is finite."""
    o_mask, h_mask = masks
    for i in range(no):
        hp = m[gc[a0 + i]]
        if hp < 0:
            continue
        j = first[hp]
        while j >= 0 and h_mask[j]:
            j = nxt[j]
        if j >= 0:
            dist = _lookup(fr, i, j)
            if np.isfinite(dist):
                o_mask[i] = h_mask[j] = True
                ev[0][pos], ev[1][pos], ev[2][pos], ev[3][pos] = MATCH, g_ids[a0 + i], gc[a0 + i], dist
                pos += 1
    return pos


@njit(cache=True, nogil=True)
def _mask_rest(fr, nf, masks, row_n, col_n):
    """Step 2 set-up: matched rows and columns drop out (their distances become NaN); (live pairs, whether
    they are disjoint)."""
    fi, fj, fd, _, _, _ = fr
    o_mask, h_mask = masks
    for t in range(nf):
        row_n[fi[t]] = 0
        col_n[fj[t]] = 0
    live, disjoint = 0, True
    for t in range(nf):
        i, j = fi[t], fj[t]
        if o_mask[i] or h_mask[j]:
            fd[t] = np.nan
        else:
            live += 1
            row_n[i] += 1
            col_n[j] += 1
            disjoint = disjoint and row_n[i] <= 1 and col_n[j] <= 1
    return live, disjoint


@njit(cache=True, nogil=True)
def _assign(i, j, dist, a0, b0, gc, hc, m, masks, g_ids, ev, pos):
    """Step 2 for one pair: MATCH, or SWITCH when the object's last match was another hypothesis id."""
    o, h = gc[a0 + i], hc[b0 + j]
    kind = SWITCH if (m[o] >= 0 and m[o] != h) else MATCH
    ev[0][pos], ev[1][pos], ev[2][pos], ev[3][pos] = kind, g_ids[a0 + i], o, dist
    masks[0][i] = masks[1][j] = True
    m[o] = h
    return pos + 1


@njit(cache=True, nogil=True, error_model="numpy")
def _lap_matrix(fr, nf, live, no, nh, boxes, a0, b0, max_dist, masks, expensive, out):
    """The frame's matrix for the LAP solver in ``out[:no*nh]``: the Python loop's masked distances, or
    (``expensive``) what motmetrics' scipy solver makes of them, ``lap.add_expensive_edges``: the finite
    entries, and every other one ``2 * min(no, nh) * (max |finite| + 1) + 1``."""
    fi, fj, fd, _, _, _ = fr
    o_mask, h_mask = masks
    if not expensive:
        for i in range(no):
            for j in range(nh):
                dist = _distance(boxes[0], boxes[1], a0 + i, b0 + j, max_dist)
                out[i * nh + j] = np.nan if (o_mask[i] or h_mask[j]) else dist
        return
    big = 0.0
    for t in range(nf):
        if np.isfinite(fd[t]):
            big = max(big, abs(fd[t]))
    large = 2 * min(no, nh) * (big + 1) + 1
    out[: no * nh] = large if 0 < live < no * nh else 0.0  # all finite: kept; none: zeros
    for t in range(nf):
        if np.isfinite(fd[t]):
            out[fi[t] * nh + fj[t]] = fd[t]


@njit(cache=True, nogil=True)
def _close_frame(no, nh, a0, gc, g_ids, masks, ev, pos, st):
    """Steps 3 and 4: unmatched objects are MISS events (row order), unmatched hypotheses count as FP."""
    o_mask, h_mask = masks
    for i in range(no):
        if not o_mask[i]:
            ev[0][pos], ev[1][pos], ev[2][pos], ev[3][pos] = MISS, g_ids[a0 + i], gc[a0 + i], 0.0
            pos += 1
    for j in range(nh):
        if not h_mask[j]:
            st[_NFP] += 1
    st[_POS] = pos


@njit(cache=True, nogil=True)
def _resume(rids, cids, st, g0, h0, ids, m, ev, fr, masks):
    """Finish the LAP frame ``st[_K]`` with the solver's pairs, those of finite distance, in their order."""
    gc, hc, g_ids, _ = ids
    k = st[_K]
    a0, b0 = g0[k], h0[k]
    pos = st[_POS]
    for t in range(len(rids)):
        dist = _lookup(fr, rids[t], cids[t])
        if np.isfinite(dist):
            pos = _assign(rids[t], cids[t], dist, a0, b0, gc, hc, m, masks, g_ids, ev, pos)
    _close_frame(g0[k + 1] - a0, h0[k + 1] - b0, a0, gc, g_ids, masks, ev, pos, st)
    st[_K] = k + 1


@njit(cache=True, nogil=True, error_model="numpy")
def _run(st, g0, h0, boxes, ids, max_dist, m, ev, raw, work, lap, expensive):
    """Frames from ``st[_K]`` on (first finishing a LAP frame with the pairs ``lap`` when ``st[_RESUME]``);
    returns _DONE, or _LAP (its matrix in ``work[0]``) / _GROW with ``st`` naming the frame to resume."""
    gc, hc, g_ids, h_ids = ids
    d, fr, masks, row_n, col_n, first, nxt = work
    if st[_RESUME]:
        st[_RESUME] = 0
        _resume(lap[0], lap[1], st, g0, h0, ids, m, ev, fr, masks)
    for k in range(st[_K], len(g0) - 1):
        a0, b0 = g0[k], h0[k]
        no, nh = g0[k + 1] - a0, h0[k + 1] - b0
        masks[0][:no] = False
        masks[1][:nh] = False
        pos = a0
        nf = _finite_pairs(boxes[0], boxes[1], a0, no, b0, nh, max_dist, fr) if no > 0 and nh > 0 else 0
        if nf > 0:
            if st[_NRAW] + nf > len(raw[0]):
                st[_K] = k
                return _GROW
            for t in range(nf):
                raw[0][st[_NRAW] + t] = g_ids[a0 + fr[0][t]]
                raw[1][st[_NRAW] + t] = h_ids[b0 + fr[1][t]]
            st[_NRAW] += nf
            for j in range(nh - 1, -1, -1):  # columns of each hypothesis id, first one first
                nxt[j] = first[hc[b0 + j]]
                first[hc[b0 + j]] = j
            pos = _carry_forward(fr, no, a0, gc, m, first, nxt, masks, g_ids, ev, pos)
            for j in range(nh):
                first[hc[b0 + j]] = -1
            live, disjoint = _mask_rest(fr, nf, masks, row_n, col_n)
            if not disjoint:
                _lap_matrix(fr, nf, live, no, nh, boxes, a0, b0, max_dist, masks, expensive, d)
                st[_K], st[_POS], st[_RESUME] = k, pos, 1
                return _LAP
            for t in range(nf):  # disjoint pairs: every optimum takes them all, in row order
                if np.isfinite(fr[2][t]):
                    pos = _assign(fr[0][t], fr[1][t], fr[2][t], a0, b0, gc, hc, m, masks, g_ids, ev, pos)
        _close_frame(no, nh, a0, gc, g_ids, masks, ev, pos, st)
    st[_K] = len(g0) - 1
    return _DONE


@njit(cache=True, nogil=True)
def _object_counts(ev_type, ev_oc, n_obj_ids):
    """(MATCH, SWITCH, MISS events, mostly tracked, partially tracked, mostly lost, fragmentations).

    Per object, in event order: a fragmentation is a tracked -> missed step followed later by a tracked
    event (``motscore._summarise``'s rule); the tracked share is ``tracked / count`` as there."""
    count = np.zeros(n_obj_ids, np.int64)
    tracked = np.zeros(n_obj_ids, np.int64)
    prev_tracked = np.zeros(n_obj_ids, np.bool_)
    pending = np.zeros(n_obj_ids, np.int64)
    n_type = np.zeros(3, np.int64)
    frag = 0
    for p in range(len(ev_type)):
        o, t = ev_oc[p], ev_type[p]
        n_type[t] += 1
        count[o] += 1
        if t == MISS:
            if prev_tracked[o]:
                pending[o] += 1
            prev_tracked[o] = False
        else:
            tracked[o] += 1
            frag += pending[o]
            pending[o] = 0
            prev_tracked[o] = True
    mt = pt = ml = 0
    for o in range(n_obj_ids):
        if count[o] == 0:
            continue
        ratio = tracked[o] / count[o]
        if ratio >= 0.8:
            mt += 1
        elif ratio >= 0.2:
            pt += 1
        else:
            ml += 1
    return n_type[MATCH], n_type[SWITCH], n_type[MISS], mt, pt, ml, frag


@njit(cache=True, nogil=True)
def _id_frames(c, frame_key, n_ids):
    """Distinct (id, frame) pairs of rows sorted by ``frame_key``: motscore's ``_per_id_frames``."""
    last = np.empty(n_ids, np.int64)
    seen = np.zeros(n_ids, np.bool_)
    n = 0
    for r in range(len(c)):
        if not seen[c[r]] or last[c[r]] != frame_key[r]:
            n += 1
            seen[c[r]] = True
            last[c[r]] = frame_key[r]
    return n


@njit(cache=True, nogil=True)
def _compact_lut(ids, lo, hi):
    """Ids -> 0..n-1 in order of first appearance, through a table over ``lo..hi``; (codes, n)."""
    lut = np.full(hi - lo + 1, -1, np.int64)
    out = np.empty(len(ids), np.int64)
    n = 0
    for r in range(len(ids)):
        v = ids[r] - lo
        if lut[v] < 0:
            lut[v] = n
            n += 1
        out[r] = lut[v]
    return out, n


class FrameEvents(NamedTuple):
    """The object-side events in the Python loop's order, the FP count, the RAW (finite) pairs, and the
    integer counts ``motscore._report`` takes."""

    types: np.ndarray
    oids: np.ndarray
    d: np.ndarray
    n_fp: int
    raw_o: np.ndarray
    raw_h: np.ndarray
    counts: dict[str, int]


def _compact(ids: np.ndarray) -> tuple[np.ndarray, int]:
    """(codes 0..n-1, n) of integer ids: a lookup table over their range, ``np.unique`` if it is wide."""
    if not len(ids):
        return np.empty(0, np.int64), 0
    lo, hi = int(ids.min()), int(ids.max())
    if hi - lo <= 4 * len(ids) + 4096:
        return _compact_lut(ids, lo, hi)
    u, inv = np.unique(ids, return_inverse=True)
    return inv.ravel().astype(np.int64), len(u)


def _work(g0: np.ndarray, h0: np.ndarray, n_h: int) -> tuple:
    """Scratch of one frame: LAP matrix, finite pairs (rows, columns, distances, row starts, hypothesis x
    extents, candidate columns), row / column masks and counts, columns by hypothesis id."""
    no, nh = (max(int(np.diff(a).max(initial=0)), 1) for a in (g0, h0))
    pairs = (np.empty(no * nh, np.int64), np.empty(no * nh, np.int64), np.empty(no * nh),
             np.empty(no + 1, np.int64), np.empty((2, nh)), np.empty(nh, np.int64))
    masks = (np.zeros(no, np.bool_), np.zeros(nh, np.bool_))
    return (np.empty(no * nh), pairs, masks, np.zeros(no, np.int64), np.zeros(nh, np.int64),
            np.full(max(n_h, 1), -1, np.int64), np.empty(nh, np.int64))


def frame_events(
    gt: np.ndarray, hyp: np.ndarray, g0: np.ndarray, h0: np.ndarray, max_dist: float
) -> FrameEvents:
    """Events and counts of ``hyp`` against ``gt``: row arrays sorted by frame (stable), ``g0`` / ``h0`` their
    frame starts over the union of both files' frames with the row count appended (``motscore._prepare``).

    Frames whose remaining pairs are not disjoint go to motmetrics' LAP solver as ``motscore``'s Python loop
    sends them (``motmetrics.lap.linear_sum_assignment`` of the masked distances). When that is its scipy
    solver (motmetrics' default here), the kernel builds the matrix that solver builds
    (``add_expensive_edges``) and scipy's ``linear_sum_assignment`` is called on it directly; the pairs
    whose distance is not finite are dropped as the solver and the loop drop them."""
    from motmetrics import lap as mm_lap
    from scipy.optimize import linear_sum_assignment

    g_ids, h_ids = gt[:, 1].astype(np.int64), hyp[:, 1].astype(np.int64)
    (gc, n_g), (hc, n_h) = _compact(g_ids), _compact(h_ids)
    ids = (gc, hc, g_ids, h_ids)
    boxes = tuple(np.ascontiguousarray(a[:, 2:6], dtype=np.float64) for a in (gt, hyp))
    g0, h0 = (np.ascontiguousarray(a, dtype=np.int64) for a in (g0, h0))
    n = len(g_ids)
    m = np.full(n_g, -1, np.int64)
    ev = (np.empty(n, np.int8), np.empty(n, np.int64), np.empty(n, np.int64), np.empty(n))
    raw = (np.empty(max(n, 16), np.int64), np.empty(max(n, 16), np.int64))
    work = _work(g0, h0, n_h)
    st = np.zeros(5, np.int64)
    lap = (np.empty(0, np.int64), np.empty(0, np.int64))
    expensive = mm_lap.default_solver == "scipy"
    while (code := _run(st, g0, h0, boxes, ids, float(max_dist), m, ev, raw, work, lap, expensive)) != _DONE:
        if code == _GROW:
            raw = tuple(np.concatenate([a, np.empty_like(a)]) for a in raw)
            continue
        k = int(st[_K])
        costs = work[0][: int(g0[k + 1] - g0[k]) * int(h0[k + 1] - h0[k])].reshape(-1, int(h0[k + 1] - h0[k]))
        pairs = linear_sum_assignment(costs) if expensive else mm_lap.linear_sum_assignment(costs.copy())
        lap = tuple(np.asarray(a, np.int64) for a in pairs)
    types, oids, ocs, d = ev
    n_match, n_switch, n_miss, mt, pt, ml, frag = _object_counts(types, ocs, n_g)
    counts = {
        "n_obj": n, "n_pred": len(h_ids), "n_fp": int(st[_NFP]), "n_match": n_match, "n_switch": n_switch,
        "n_miss": n_miss, "n_unique": n_g, "mostly_tracked": mt, "partially_tracked": pt, "mostly_lost": ml,
        "frag": frag, "gt_id_frames": _id_frames(gc, gt[:, 0].astype(np.int64), n_g),
        "hyp_id_frames": _id_frames(hc, hyp[:, 0].astype(np.int64), n_h),
    }
    n_raw = int(st[_NRAW])
    return FrameEvents(types, oids, d, int(st[_NFP]), raw[0][:n_raw].copy(), raw[1][:n_raw].copy(), counts)
