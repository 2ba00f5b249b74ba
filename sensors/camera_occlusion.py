"""Line of sight through the city's buildings: one vectorised STRtree query for many sight lines at once.

A sight line runs from a source (camera or microphone, at height ``src_z``) to a target point (at ``dst_z``).
A building blocks it when the line passes through the building's footprint below the building's roof height.
The line's height is linear along it, so its lowest point inside a footprint is at one end of the chord;
we compute both chord ends exactly (``shapely.intersection`` then the distances from both end points).

Mounting clearance: the first ``clearance_m`` (default 2 m) of every line is ignored, so a camera mapped on
(or just inside) the facade it is fixed to is not blocked by its own building; the last ``end_clearance_m``
(default 0.3 m) is ignored so a person standing against a wall stays visible.
"""

from __future__ import annotations

import numpy as np
import shapely

__all__ = ["blocked"]


def blocked(buildings, src_xy: np.ndarray, src_z: np.ndarray | float, dst_xy: np.ndarray,
            dst_z: np.ndarray | float, *, clearance_m: float = 2.0,
            end_clearance_m: float = 0.3) -> np.ndarray:
    """Boolean mask (M,): is sight line ``m`` from ``src_xy[m]`` to ``dst_xy[m]`` blocked by a building?

    ``buildings`` is a ``twin.model.Buildings`` (polygons, heights_m, tree) or None (nothing blocks).
    ``src_xy`` may be one point (2,) shared by all lines.
    """
    dst = np.asarray(dst_xy, float).reshape(-1, 2)
    m = len(dst)
    out = np.zeros(m, bool)
    if buildings is None or m == 0 or len(buildings.polygons) == 0:
        return out
    src = np.broadcast_to(np.asarray(src_xy, float), dst.shape)
    zs = np.broadcast_to(np.asarray(src_z, float), (m,))
    zd = np.broadcast_to(np.asarray(dst_z, float), (m,))
    d = dst - src
    length = np.hypot(d[:, 0], d[:, 1])
    live = np.flatnonzero(length > clearance_m + end_clearance_m)
    if len(live) == 0:
        return out
    unit = d[live] / length[live, None]
    a = src[live] + unit * clearance_m
    b = dst[live] - unit * end_clearance_m
    segs = shapely.linestrings(np.stack([a, b], axis=1))
    si, bi = buildings.tree.query(segs, predicate="intersects")
    if len(si) == 0:
        return out
    line = live[si]
    hb = np.asarray(buildings.heights_m, float)[bi]
    # the line's height along the kept part of the segment lies between its values at the two ends
    za = zs[line] + (zd[line] - zs[line]) * (clearance_m / length[line])
    zb = zs[line] + (zd[line] - zs[line]) * (1.0 - end_clearance_m / length[line])
    z_min, z_max = np.minimum(za, zb), np.maximum(za, zb)
    hit = hb > z_max                                   # above the whole line: blocks, no geometry needed
    maybe = np.flatnonzero(~hit & (hb > z_min))        # only these need the exact chord
    if len(maybe):
        chord = shapely.intersection(segs[si[maybe]], buildings.polygons[bi[maybe]])
        lm = line[maybe]
        d_near = shapely.distance(shapely.points(src[lm]), chord)
        d_far = length[lm] - shapely.distance(shapely.points(dst[lm]), chord)
        z_near = zs[lm] + (zd[lm] - zs[lm]) * d_near / length[lm]
        z_far = zs[lm] + (zd[lm] - zs[lm]) * d_far / length[lm]
        hit[maybe] = hb[maybe] > np.fmin(z_near, z_far)   # NaN (empty chord) compares False
    out[line[hit]] = True
    return out
