"""People hide people: the share of each target's box that nearer targets' boxes leave visible, per camera.

For every pair of boxes of one camera that overlap in the image, the farther target (depth along the
optical axis) loses the overlap's share of its box. Several occluders combine as if their covers were
independent, ``visible = prod_j (1 - covered_j)``: exact for one occluder; with several it is pessimistic
where they cover the same part of the box and optimistic where they cover different parts. The overlapping
pairs come from one sort of all boxes by (camera, left edge) and one ``searchsorted``: a box pairs with the
boxes after it in that order whose left edge lies inside it, which lists every overlapping pair once, with
no loop over targets.
"""

from __future__ import annotations

import numpy as np

__all__ = ["target_visibility"]


def target_visibility(cam: np.ndarray, x0: np.ndarray, y0: np.ndarray, w: np.ndarray, h: np.ndarray,
                      depth: np.ndarray, active: np.ndarray | None = None) -> np.ndarray:
    """Share (0-1) of each box ``[x0, y0, w, h]`` (px) not covered by the boxes of nearer targets of the same
    camera ``cam``; ``depth`` (m) orders them. Only ``active`` boxes (default all) hide others or are hidden;
    the others get 1.

    >>> target_visibility(np.array([0, 0, 1]), np.array([0.0, 5.0, 5.0]), np.zeros(3), np.full(3, 10.0),
    ...                   np.full(3, 10.0), np.array([5.0, 9.0, 9.0])).tolist()
    [1.0, 0.5, 1.0]
    """
    n = len(cam)
    vis = np.ones(n)
    ok = (w > 0) & (h > 0) & np.isfinite(x0) & np.isfinite(y0) & np.isfinite(depth)
    if active is not None:
        ok &= active
    idx = np.flatnonzero(ok)
    if len(idx) < 2:
        return vis
    base = x0[idx].min()
    span = float((x0[idx] + w[idx]).max() - base) + 1.0
    key = cam[idx] * span + (x0[idx] - base)      # sorts by camera, then left edge
    srt = np.argsort(key, kind="stable")
    order, key = idx[srt], key[srt]
    hi = np.searchsorted(key, key + w[order], side="left")
    lo = np.arange(1, len(order) + 1)
    cnt = np.maximum(hi - lo, 0)
    tot = int(cnt.sum())
    if tot == 0:
        return vis
    first = np.repeat(np.arange(len(order)), cnt)
    second = np.repeat(lo, cnt) + np.arange(tot) - np.repeat(np.cumsum(cnt) - cnt, cnt)
    i, j = order[first], order[second]
    ox = np.minimum(x0[i] + w[i], x0[j] + w[j]) - x0[j]
    oy = np.minimum(y0[i] + h[i], y0[j] + h[j]) - np.maximum(y0[i], y0[j])
    hit = (ox > 0) & (oy > 0)
    i, j, ox, oy = i[hit], j[hit], ox[hit], oy[hit]
    j_nearer = (depth[j] < depth[i]) | ((depth[j] == depth[i]) & (j < i))
    far = np.where(j_nearer, i, j)
    cover = np.minimum(ox * oy / (w[far] * h[far]), 1.0)
    logv = np.bincount(far, weights=np.log(np.maximum(1.0 - cover, 1e-12)), minlength=n)
    vis = np.exp(logv)
    vis[vis < 1e-9] = 0.0
    return vis
