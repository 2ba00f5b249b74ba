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

from typing import NamedTuple

import numpy as np
import shapely

__all__ = ["RASTER_CELL_M", "Shadow", "ShadowRaster", "blocked", "shadow"]


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


def shadow(buildings, xy: tuple[float, float], src_z: float, dst_z: float, *, range_m: float,
           clearance_m: float = 2.0):
    """The ground region where a target at height ``dst_z`` is hidden from a source at ``xy``, height
    ``src_z``: a ``Shadow`` holding every building's shadow within ``range_m``, or None.

    A building of height ``hb`` hides the points behind it up to ``range_m`` when ``hb >= src_z``, else up
    to ``d (src_z - dst_z) / (src_z - hb)`` for a vertex at distance ``d`` (where the sight line dips below
    its roof). The shadow of a building is the convex hull of its convex hull's corners and their
    projections; buildings whose hull comes within ``clearance_m`` of the source (the one it is mounted
    on, an L-shaped block around it) cast one shadow per wall instead, with the walls and the footprint
    cut by the ``clearance_m`` disc. Agrees with ``blocked`` except in concave corners and courtyards
    (which the hull hides) and along the far edge.
    """
    if buildings is None or len(buildings.polygons) == 0:
        return None
    cam = shapely.Point(xy)
    idx = buildings.tree.query(cam.buffer(range_m))
    if len(idx) == 0:
        return None
    hb = np.asarray(buildings.heights_m, float)[idx]
    keep = hb > min(src_z, dst_z)
    idx, hb = idx[keep], hb[keep]
    if len(idx) == 0:
        return None
    polys = buildings.polygons[idx]
    hulls = shapely.convex_hull(polys)
    close = shapely.dwithin(hulls, cam, clearance_m)
    parts = []
    far_idx = np.flatnonzero(~close)
    if len(far_idx):
        dist = shapely.distance(hulls[far_idx], cam)
        rings = shapely.segmentize(shapely.get_exterior_ring(hulls[far_idx]), np.maximum(_SEG_M, 0.5 * dist))
        coords, owner = shapely.get_coordinates(rings, return_index=True)
        proj = _project(coords, np.asarray(xy, float), hb[far_idx][owner], src_z, dst_z, range_m)
        order = np.argsort(np.concatenate([owner, owner]), kind="stable")
        pts = np.vstack([coords, proj])[order]
        own = np.concatenate([owner, owner])[order]
        parts.append(shapely.convex_hull(shapely.multipoints(pts, indices=own)))
    near_idx = np.flatnonzero(close)
    disc = cam.buffer(clearance_m)
    for k in near_idx:
        ring = shapely.get_coordinates(shapely.segmentize(shapely.get_exterior_ring(polys[k]), _SEG_M))
        walls = shapely.get_parts(shapely.difference(shapely.linestrings(np.stack([ring[:-1], ring[1:]], 1)),
                                                     disc))
        walls = walls[~shapely.is_empty(walls)]
        body = polys[k].difference(disc)
        if not body.is_empty:
            parts.append(np.array([body]))
        if len(walls) == 0:
            continue
        a = shapely.get_coordinates(shapely.get_point(walls, 0))
        b = shapely.get_coordinates(shapely.get_point(walls, -1))
        h = np.full(len(a), hb[k])
        pa = _project(a, np.asarray(xy, float), h, src_z, dst_z, range_m)
        pb = _project(b, np.asarray(xy, float), h, src_z, dst_z, range_m)
        quads = np.stack([a, b, pb, pa], axis=1)
        parts.append(shapely.convex_hull(shapely.multipoints(quads.reshape(-1, 2),
                                                             indices=np.repeat(np.arange(len(a)), 4))))
    if not parts:
        return None
    return Shadow(shapely.union_all(np.concatenate(parts)),
                  extent=(xy[0] - range_m, xy[1] - range_m, xy[0] + range_m, xy[1] + range_m))


#: Walls are cut into pieces this long (far buildings: half their distance) before their shadows are cast,
#: so each piece spans a small angle and the straight far edge of its shadow (1.5 x range) stays out of range.
_SEG_M = 2.0


class Shadow:
    """The merged shadow of one source, prepared; ``hides(xy)`` tests many points at once.

    Tests go through a ``RASTER_CELL_M`` raster of the shadow built on first use (``raster``): cells the
    boundary does not touch answer from the raster, only points in boundary cells are tested against the
    polygon, so the answer is exact and most points cost an array lookup. ``extent`` (xmin, ymin, xmax,
    ymax) limits the raster to where points will be asked (a camera's range); points off it are exact tests.
    """

    def __init__(self, geometry, *, extent: tuple[float, float, float, float] | None = None) -> None:
        self.geometry = geometry
        self.extent = extent
        shapely.prepare(geometry)
        self._raster: ShadowRaster | None = None

    def raster(self) -> ShadowRaster:
        if self._raster is None:
            self._raster = ShadowRaster.of(self.geometry, RASTER_CELL_M, extent=self.extent)
        return self._raster

    def hides(self, xy: np.ndarray) -> np.ndarray:
        """Boolean mask: which of the points (N, 2) lie in the shadow."""
        xy = np.asarray(xy, float).reshape(-1, 2)
        code = self.raster().codes_at(xy)
        out = code == 1
        mixed = np.flatnonzero(code == 2)
        if len(mixed):
            out[mixed] = shapely.contains_xy(self.geometry, xy[mixed, 0], xy[mixed, 1])
        return out


#: Cell size (m) of shadow rasters.
RASTER_CELL_M = 1.0


class ShadowRaster(NamedTuple):
    """A shadow as cells: ``codes[iy, ix]`` is 0 (clear), 1 (hidden) or 2 (boundary: test the polygon);
    cell ``(ix, iy)`` spans ``x0 + ix * cell_m`` ...; points off the raster have code ``off`` (0 when the
    raster covers the whole shadow, 2 when it was cut to an extent)."""

    x0: float
    y0: float
    cell_m: float
    codes: np.ndarray     # uint8 (ny, nx)
    off: int = 0

    @staticmethod
    def of(geometry, cell_m: float, *, extent: tuple[float, float, float, float] | None = None
           ) -> ShadowRaster:
        """Rasterise: cells within one cell of a boundary sample (every cell_m / 2) are boundary cells; the
        rest fall into connected regions the boundary does not cross, each classified by one polygon test."""
        from scipy import ndimage

        xmin, ymin, xmax, ymax = shapely.bounds(geometry)
        off = 0
        if extent is not None and (extent[0] > xmin or extent[1] > ymin or extent[2] < xmax
                                   or extent[3] < ymax):
            off = 2
            xmin, ymin = max(xmin, extent[0]), max(ymin, extent[1])
            xmax, ymax = max(min(xmax, extent[2]), xmin), max(min(ymax, extent[3]), ymin)
        x0, y0 = xmin - cell_m, ymin - cell_m
        nx = int(np.ceil((xmax - x0) / cell_m)) + 2
        ny = int(np.ceil((ymax - y0) / cell_m)) + 2
        line = shapely.boundary(geometry)
        if off:   # only the boundary near the raster matters (samples outside mark border cells: safe)
            line = shapely.clip_by_rect(line, x0 - cell_m, y0 - cell_m, x0 + (nx + 1) * cell_m,
                                        y0 + (ny + 1) * cell_m)
        pts = shapely.get_coordinates(shapely.segmentize(line, cell_m / 2))
        edge = np.zeros((ny, nx), bool)
        ix = np.clip(((pts[:, 0] - x0) // cell_m).astype(np.int64), 0, nx - 1)
        iy = np.clip(((pts[:, 1] - y0) // cell_m).astype(np.int64), 0, ny - 1)
        edge[iy, ix] = True
        edge = ndimage.binary_dilation(edge, structure=np.ones((3, 3), bool))
        labels, n = ndimage.label(~edge)
        flat = labels.ravel()
        ids, first = np.unique(flat, return_index=True)
        cy, cx = np.divmod(first, nx)
        inside = shapely.contains_xy(geometry, x0 + (cx + 0.5) * cell_m, y0 + (cy + 0.5) * cell_m)
        code_of = np.zeros(n + 1, np.uint8)
        code_of[ids] = inside.astype(np.uint8)
        codes = code_of[labels]
        codes[edge] = 2
        return ShadowRaster(float(x0), float(y0), float(cell_m), codes, off)

    def codes_at(self, xy: np.ndarray) -> np.ndarray:
        """Raster code (0, 1, 2) of each point (N, 2)."""
        ny, nx = self.codes.shape
        ix = np.floor((xy[:, 0] - self.x0) / self.cell_m).astype(np.int64)
        iy = np.floor((xy[:, 1] - self.y0) / self.cell_m).astype(np.int64)
        on = (ix >= 0) & (ix < nx) & (iy >= 0) & (iy < ny)
        out = np.full(len(xy), self.off, np.uint8)
        out[on] = self.codes[iy[on], ix[on]]
        return out


def _project(pts: np.ndarray, src: np.ndarray, hb: np.ndarray, src_z: float, dst_z: float,
             range_m: float) -> np.ndarray:
    """Push each point away from ``src`` to where the shadow behind it ends (see ``shadow``)."""
    d = pts - src
    dist = np.maximum(np.hypot(d[:, 0], d[:, 1]), 1e-6)
    with np.errstate(divide="ignore", invalid="ignore"):
        reach = np.where(hb >= src_z, np.inf, dist * (src_z - dst_z) / (src_z - hb))
    far = np.clip(reach, dist, range_m * 1.5)
    return src + d * (far / dist)[:, None]

