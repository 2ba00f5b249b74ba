"""A per-instant grid index of the targets, shared by every camera that looks at the same ``Targets``.

The engine builds one ``Targets`` object per model tick and hands the same object to every sensor, so the
first camera to look sorts the targets into ``CELL_M`` (25 m) square cells once; each camera then reads only
the cells under its (static) view, found with ``searchsorted``. That keeps a frame's cost proportional to the
people near the camera instead of to the whole city.
"""

from __future__ import annotations

import math

import numpy as np

from agents.world import Targets

__all__ = ["CELL_M", "TargetGrid", "cells_near", "grid_for"]

CELL_M = 25.0
_last: tuple[object, TargetGrid] | None = None


def _keys(ix: np.ndarray, iy: np.ndarray) -> np.ndarray:
    return (ix.astype(np.int64) << 32) + (iy.astype(np.int64) & 0xFFFFFFFF)


class TargetGrid:
    """Target indices sorted by cell key, with the sorted keys for range lookups."""

    def __init__(self, targets: Targets) -> None:
        xy = targets.xy
        if len(xy):
            keys = _keys(np.floor(xy[:, 0] / CELL_M), np.floor(xy[:, 1] / CELL_M))
            self.order = np.argsort(keys, kind="stable")
            self.keys = keys[self.order]
        else:
            self.order = np.zeros(0, np.int64)
            self.keys = np.zeros(0, np.int64)

    def indices(self, cell_keys: np.ndarray) -> np.ndarray:
        """Indices (into the Targets arrays) of the targets in these cells, in ascending order."""
        if len(self.keys) == 0 or len(cell_keys) == 0:
            return np.zeros(0, np.int64)
        lo = np.searchsorted(self.keys, cell_keys, side="left")
        hi = np.searchsorted(self.keys, cell_keys, side="right")
        n = hi - lo
        if n.sum() == 0:
            return np.zeros(0, np.int64)
        starts = np.repeat(lo - np.concatenate([[0], np.cumsum(n)[:-1]]), n)
        return np.sort(self.order[starts + np.arange(n.sum())])


def grid_for(targets: Targets) -> TargetGrid:
    """The grid of this exact ``Targets`` object (built once, reused by the next cameras)."""
    global _last
    if _last is None or _last[0] is not targets:
        _last = (targets, TargetGrid(targets))
    return _last[1]


def cells_near(x: float, y: float, radius: float, *, yaw_deg: float | None = None,
               half_fov_deg: float = 180.0) -> np.ndarray:
    """Sorted keys of the cells that may hold points within ``radius`` of (x, y) inside the view wedge."""
    r = int(math.ceil(radius / CELL_M)) + 1
    cx, cy = math.floor(x / CELL_M), math.floor(y / CELL_M)
    ix, iy = np.meshgrid(np.arange(cx - r, cx + r + 1), np.arange(cy - r, cy + r + 1))
    ix, iy = ix.ravel(), iy.ravel()
    # nearest point of each cell to the camera, and the cell centre's bearing
    nx = np.clip(x, ix * CELL_M, (ix + 1) * CELL_M)
    ny = np.clip(y, iy * CELL_M, (iy + 1) * CELL_M)
    keep = np.hypot(nx - x, ny - y) <= radius
    if yaw_deg is not None and half_fov_deg < 180.0:
        # every point of a cell lies within asin(half diagonal / distance) of the bearing of its centre
        ccx, ccy = (ix + 0.5) * CELL_M - x, (iy + 0.5) * CELL_M - y
        dist = np.hypot(ccx, ccy)
        half_diag = CELL_M * math.sqrt(0.5)
        spread = np.degrees(np.arcsin(np.clip(half_diag / np.maximum(dist, 1e-9), 0.0, 1.0)))
        off = np.abs((np.degrees(np.arctan2(ccx, ccy)) - yaw_deg + 180.0) % 360.0 - 180.0)
        keep &= (dist <= half_diag * 1.01) | (off <= half_fov_deg + spread + 1.0)
    return np.sort(_keys(ix[keep], iy[keep]))
