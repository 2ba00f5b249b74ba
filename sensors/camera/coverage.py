"""Greedy camera placement that maximises the visible area of chosen assets (a planner's what-if).

Coverage points: a grid (``spacing_m``, default 5 m, coarsened so an asset has at most 400 points) over each
asset's zone grown by ``apron_m`` (default 10 m; a point asset is a disc of radius ``apron_m + 10`` m), minus
building footprints (ground you can stand on). Each point stands for ``spacing_m**2`` of area.

Candidate mounts: walk-graph nodes and building-footprint corners within ``reach_m`` (default 60 m) of the
zones, thinned to one per 5 m cell and then evenly to at most ``max_candidates`` (default 300), each tried at
``n_yaws`` (default 12) compass bearings. A point is covered by a (mount, yaw) when it lies within the
camera's useful range (where a 1.7 m person is at least ``2 x h50_px`` tall, ~47 m for the defaults), its foot
projects inside the image, and no building blocks the sight line to 1 m above it
(``sensors.camera.occlusion``).

Greedy: repeatedly take the (mount, yaw) with the largest newly covered area (ties: lowest index), a
classic (1 - 1/e)-approximate maximum coverage; one (mount, yaw) matrix, vectorised with numpy.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import shapely

from sensors.camera.config import CameraConfig
from sensors.camera.geometry import Pose, project_offsets
from sensors.camera.occlusion import blocked

__all__ = ["CoverageProblem", "coverage_problem", "greedy_cover"]


@dataclass
class CoverageProblem:
    """Points to cover (with area weights), candidate mounts and yaws, and the coverage matrix."""

    points: np.ndarray         # (P, 2)
    weights: np.ndarray        # (P,) m2 per point
    mounts: np.ndarray         # (M, 2)
    yaws: np.ndarray           # (Y,)
    covers: np.ndarray         # bool (M * Y, P): option m * Y + y covers point p

    def area(self, options: Sequence[int]) -> float:
        """Covered area (m2) of a set of options (indices into ``covers`` rows)."""
        if len(options) == 0:
            return 0.0
        return float(self.weights[self.covers[list(options)].any(axis=0)].sum())

    def option(self, k: int) -> tuple[tuple[float, float], float]:
        m, y = divmod(int(k), len(self.yaws))
        return (float(self.mounts[m, 0]), float(self.mounts[m, 1])), float(self.yaws[y])


def _grid_points(zone, spacing: float, cap: int) -> tuple[np.ndarray, float]:
    """Grid points inside ``zone``, spacing grown by 1.5x until there are at most ``cap``."""
    s = max(spacing, math.sqrt(zone.area / cap))
    x0, y0, x1, y1 = zone.bounds
    while True:
        gx, gy = np.meshgrid(np.arange(x0 + s / 2, x1, s), np.arange(y0 + s / 2, y1, s))
        gx, gy = gx.ravel(), gy.ravel()
        inside = shapely.contains_xy(zone, gx, gy)
        if inside.sum() <= cap:
            return np.column_stack([gx[inside], gy[inside]]), s
        s *= 1.5


def coverage_problem(twin, assets: Sequence, config: CameraConfig, *, spacing_m: float = 5.0,
                     apron_m: float = 10.0, reach_m: float = 60.0, max_candidates: int = 300,
                     n_yaws: int = 12, walk_xy: np.ndarray | None = None) -> CoverageProblem:
    """Build the points, candidate mounts and the (mount x yaw, point) coverage matrix for ``assets``."""
    bld = twin.buildings
    zones = [a.polygon.buffer(apron_m) if a.polygon is not None
             else shapely.Point(a.xy).buffer(apron_m + 10) for a in assets]
    pts, wts = [], []
    for z in zones:
        if bld is not None and len(bld.polygons):
            near = bld.tree.query(z, predicate="intersects")
            if len(near):
                z = z.difference(shapely.union_all(bld.polygons[near]))
        if z.is_empty:
            continue
        p, s = _grid_points(z, spacing_m, 400)
        pts.append(p)
        wts.append(np.full(len(p), s * s))
    points = np.vstack(pts) if pts else np.zeros((0, 2))
    weights = np.concatenate(wts) if wts else np.zeros(0)
    region = shapely.union_all(zones).buffer(reach_m)
    cand = [] if walk_xy is None else [walk_xy[shapely.contains_xy(region, walk_xy[:, 0], walk_xy[:, 1])]]
    if bld is not None and len(bld.polygons):
        near = bld.tree.query(region, predicate="intersects")
        if len(near):
            corners = shapely.get_coordinates(shapely.get_exterior_ring(bld.polygons[near]))
            cand.append(corners[shapely.contains_xy(region, corners[:, 0], corners[:, 1])])
    mounts = np.vstack(cand) if cand else np.zeros((0, 2))
    if len(mounts):
        cells = np.round(mounts / 5.0).astype(np.int64)
        _, first = np.unique(cells, axis=0, return_index=True)
        mounts = mounts[np.sort(first)]
        if len(mounts) > max_candidates:
            mounts = mounts[np.linspace(0, len(mounts) - 1, max_candidates).round().astype(int)]
    yaws = np.arange(n_yaws) * (360.0 / n_yaws)
    covers = _cover_matrix(bld, points, mounts, yaws, config)
    return CoverageProblem(points, weights, mounts, yaws, covers)


def _cover_matrix(bld, points: np.ndarray, mounts: np.ndarray, yaws: np.ndarray,
                  config: CameraConfig) -> np.ndarray:
    """bool (M * Y, P): vectorised over all (mount, point) pairs in range, then per yaw over those pairs."""
    m, p, ny = len(mounts), len(points), len(yaws)
    out = np.zeros((m * ny, p), bool)
    if m == 0 or p == 0:
        return out
    w, h = config.resolution
    pose = Pose(0.0, 0.0, config.height_m, 0.0, config.pitch(), config.hfov_deg, int(w), int(h))
    f = pose.focal_px
    rng_m = min(config.max_range_m, f * 1.7 / (2.0 * config.h50_px))
    dx = points[None, :, 0] - mounts[:, None, 0]
    dy = points[None, :, 1] - mounts[:, None, 1]
    mi, pi = np.nonzero(dx * dx + dy * dy <= rng_m * rng_m)
    vis = ~blocked(bld, mounts[mi], config.height_m, points[pi], 1.0, clearance_m=config.mount_clearance_m)
    mi, pi = mi[vis], pi[vis]
    rx, ry = dx[mi, pi], dy[mi, pi]
    for k, yaw in enumerate(yaws):
        R = replace(pose, yaw_deg=float(yaw)).R
        (u, v, zc), _ = project_offsets(R, rx, ry, config.height_m, f, w, h)
        ok = (zc > 0.5) & (u >= 0) & (u <= w) & (v >= 0) & (v <= h)
        out[mi[ok] * ny + k, pi[ok]] = True
    return out


def greedy_cover(problem: CoverageProblem, count: int) -> list[int]:
    """Indices of ``count`` options chosen greedily for the largest marginal covered area."""
    chosen: list[int] = []
    covered = np.zeros(len(problem.weights), bool)
    cov = problem.covers
    for _ in range(min(count, len(cov))):
        gain = cov[:, ~covered].astype(np.float32) @ problem.weights[~covered].astype(np.float32) \
            if (~covered).any() else np.zeros(len(cov), np.float32)
        if chosen:
            gain[chosen] = -1.0
        k = int(np.argmax(gain))
        chosen.append(k)
        covered |= cov[k]
    return chosen
