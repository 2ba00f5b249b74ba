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
    on, an L-shaped block around it) cast one shadow per wall piece instead (runs of pieces whose shadows
    form one convex polygon give that polygon), with the walls and the footprint cut by the ``clearance_m``
    disc. Agrees with ``blocked`` except in concave corners and courtyards (which the hull hides) and along
    the far edge. The shadows are kept apart, not merged (see ``Shadow``).
    """
    if buildings is None or len(buildings.polygons) == 0:
        return None
    cam = shapely.Point(xy)
    # buildings whose box meets the range's box (that of ``cam.buffer(range_m)``, without building the disc)
    extent = (xy[0] - range_m, xy[1] - range_m, xy[0] + range_m, xy[1] + range_m)
    idx = buildings.tree.query(shapely.box(*extent))
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
        # each building's corners then their projections, as one line per building (its hull is theirs)
        first = np.searchsorted(owner, owner)
        count = np.searchsorted(owner, owner, side="right") - first
        pts = np.empty((2 * len(coords), 2))
        pos = np.arange(len(coords)) + first
        pts[pos], pts[pos + count] = coords, proj
        parts.append(shapely.convex_hull(shapely.linestrings(pts, indices=np.repeat(owner, 2))))
    near_idx = np.flatnonzero(close)
    if len(near_idx):
        disc = cam.buffer(clearance_m)
        dx0, dy0, dx1, dy1 = disc.bounds
    for k in near_idx:
        ring = shapely.get_coordinates(shapely.segmentize(shapely.get_exterior_ring(polys[k]), _SEG_M))
        a, b = ring[:-1], ring[1:]
        # only wall pieces whose box meets the disc's are cut (the others would come back unchanged)
        cut = ((np.maximum(a[:, 0], b[:, 0]) >= dx0) & (np.minimum(a[:, 0], b[:, 0]) <= dx1)
               & (np.maximum(a[:, 1], b[:, 1]) >= dy0) & (np.minimum(a[:, 1], b[:, 1]) <= dy1))
        if cut.any():
            walls = shapely.get_parts(shapely.difference(shapely.linestrings(np.stack([a[cut], b[cut]], 1)),
                                                         disc))
            walls = walls[~shapely.is_empty(walls)]
            a = np.concatenate([a[~cut], shapely.get_coordinates(shapely.get_point(walls, 0))])
            b = np.concatenate([b[~cut], shapely.get_coordinates(shapely.get_point(walls, -1))])
        body = polys[k].difference(disc)
        if not body.is_empty:
            parts.append(np.array([body]))
        if len(a) == 0:
            continue
        h = np.full(len(a), hb[k])
        pa = _project(a, np.asarray(xy, float), h, src_z, dst_z, range_m)
        pb = _project(b, np.asarray(xy, float), h, src_z, dst_z, range_m)
        parts.append(_wall_shadows(np.stack([a, b, pb, pa], axis=1), np.asarray(xy, float)))
    if not parts:
        return None
    return Shadow(np.concatenate(parts), source=xy, extent=extent)


def _wall_shadows(quads: np.ndarray, src: np.ndarray) -> np.ndarray:
    """Shadows of wall pieces (quads ``a, b, pb, pa``, in wall order): each the convex hull of its corners,
    except that a run of consecutive pieces whose quads together form one convex polygon (along a straight
    wall, round a convex corner) gives that polygon instead: the same ground, far fewer parts to test."""
    q = quads - src                                    # local coordinates: well-conditioned turns
    a, b, pb, pa = q[:, 0], q[:, 1], q[:, 2], q[:, 3]

    def turn_ok(p0: np.ndarray, p1: np.ndarray, p2: np.ndarray, o: np.ndarray) -> np.ndarray:
        """Does the path p0 -> p1 -> p2 turn the way ``o`` says (or go straight, to rounding)?"""
        e1, e2 = p1 - p0, p2 - p1
        t = (e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]) * o
        return t >= -1e-9 * np.hypot(e1[:, 0], e1[:, 1]) * np.hypot(e2[:, 0], e2[:, 1])

    x, y = q[..., 0], q[..., 1]
    o = np.sign((x * np.roll(y, -1, axis=1) - np.roll(x, -1, axis=1) * y).sum(axis=1))    # orientation
    good = ((o != 0) & turn_ok(pa, a, b, o) & turn_ok(a, b, pb, o) & turn_ok(b, pb, pa, o)
            & turn_ok(pb, pa, a, o))                   # a convex quad
    join = (good[:-1] & good[1:] & (o[:-1] == o[1:]) & (b[:-1] == a[1:]).all(1) & (pb[:-1] == pa[1:]).all(1)
            & turn_ok(a[:-1], b[:-1], b[1:], o[:-1]) & turn_ok(pb[1:], pb[:-1], pa[:-1], o[:-1]))
    run = np.cumsum(np.concatenate([[True], ~join])) - 1
    length = np.bincount(run)
    single = length[run] == 1
    out = [shapely.convex_hull(shapely.linestrings(quads[single]))]
    rings, owner = [], []
    for r in np.flatnonzero(length > 1):
        i = np.flatnonzero(run == r)
        s, e = i[0], i[-1]
        near, far = quads[s:e + 1, 0], quads[s:e + 1, 2][::-1]
        rings.append(np.concatenate([near, quads[e, 1:2], far, quads[s, 3:4]]))
        owner.append(np.full(len(rings[-1]), len(owner)))
    if rings:
        merged = shapely.polygons(shapely.linearrings(np.concatenate(rings), indices=np.concatenate(owner)))
        ok = shapely.is_valid(merged)
        out.append(merged[ok])
        for r in np.flatnonzero(length > 1)[~ok]:      # not one simple polygon after all: piece by piece
            out.append(shapely.convex_hull(shapely.linestrings(quads[run == r])))
    return np.concatenate(out)


#: Walls are cut into pieces this long (far buildings: half their distance) before their shadows are cast,
#: so each piece spans a small angle and the straight far edge of its shadow (1.5 x range) stays out of range.
_SEG_M = 2.0


class Shadow:
    """The shadow of one source as its parts (``parts``: convex polygons, possibly overlapping, plus the
    cut-off footprint of a building the source is mounted on); ``hides(xy)`` tests many points at once.

    The parts are not merged (their union costs more than everything else here): ``geometry`` is them as
    one prepared GeometryCollection, which shapely predicates treat as the union of its members (GEOS >=
    3.13; empty members are dropped, GEOS can crash on them); given the ``source`` the shadows are cast
    from, parts in disjoint sectors share a member (``_collection``). Tests go through a ``RASTER_CELL_M``
    raster of the parts built on first use (``raster``): cells away from the union's boundary answer from
    the raster, only points in boundary cells are tested against ``geometry``, so the answer is exact and
    most points cost an array lookup. ``extent`` (xmin, ymin, xmax, ymax) limits the raster to where points
    will be asked (a camera's range); points off it are exact tests.
    """

    def __init__(self, parts, *, extent: tuple[float, float, float, float] | None = None,
                 source: tuple[float, float] | None = None) -> None:
        parts = np.asarray(parts, dtype=object).reshape(-1)
        self.parts = parts[~shapely.is_empty(parts)]
        self.geometry = _collection(self.parts, source)
        self.extent = extent
        shapely.prepare(self.geometry)
        self._raster: ShadowRaster | None = None

    @classmethod
    def restore(cls, parts, geometry, *, extent: tuple[float, float, float, float] | None,
                raster: ShadowRaster | None) -> Shadow:
        """A shadow from stored pieces (``sensors.camera.shadow_cache``): its parts, its point-test geometry
        and raster as ``__init__`` and ``raster`` made them."""
        sh = cls.__new__(cls)
        sh.parts, sh.geometry = np.asarray(parts, dtype=object), geometry
        sh.extent, sh._raster = extent, raster
        shapely.prepare(sh.geometry)
        return sh

    def raster(self) -> ShadowRaster:
        if self._raster is None:
            self._raster = ShadowRaster.of(self.parts, RASTER_CELL_M, extent=self.extent)
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


def _collection(parts: np.ndarray, source: tuple[float, float] | None):
    """The parts as one GeometryCollection for point tests. GEOS tests a point against each member in turn,
    so members are few: polygons within disjoint sectors seen from ``source`` (apart by more than rounding)
    cannot overlap and share a MultiPolygon (greedy colouring, sectors by start angle); the rest (a
    polygon round the source, lines, points) are members of their own."""
    poly = np.flatnonzero(shapely.get_type_id(parts) == 3)
    if source is None or len(poly) < 2:
        return shapely.geometrycollections(parts)
    src = np.asarray(source, float)
    xy, owner = shapely.get_coordinates(shapely.get_exterior_ring(parts[poly]), return_index=True)
    mid = shapely.get_coordinates(shapely.centroid(parts[poly])) - src
    mid = np.arctan2(mid[:, 1], mid[:, 0])
    d = xy - src
    rel = (np.arctan2(d[:, 1], d[:, 0]) - mid[owner] + np.pi) % (2 * np.pi) - np.pi    # in [-pi, pi)
    lo = np.full(len(poly), np.inf)
    hi = np.full(len(poly), -np.inf)
    np.minimum.at(lo, owner, rel)
    np.maximum.at(hi, owner, rel)
    half = (hi - lo) / 2
    mid += (hi + lo) / 2
    ok = np.flatnonzero(hi - lo < np.pi - 1e-6)
    ok = ok[np.argsort(mid[ok] - half[ok], kind="stable")]
    gap = np.abs((mid[ok, None] - mid[None, ok] + np.pi) % (2 * np.pi) - np.pi)
    clash = gap < half[ok, None] + half[None, ok] + 1e-9
    colours: list[int] = []
    for i, row in enumerate(clash.tolist()):
        used = {colours[k] for k in range(i) if row[k]}
        colours.append(min(set(range(len(used) + 1)) - used))                      # lowest free colour
    colour = np.array(colours, dtype=np.int64)
    members = [shapely.multipolygons(parts[poly[ok[colour == c]]]) for c in range(colour.max() + 1)]
    alone = np.ones(len(parts), bool)
    alone[poly[ok]] = False
    return shapely.geometrycollections(np.concatenate([np.array(members, dtype=object), parts[alone]]))


#: Cell size (m) of shadow rasters.
RASTER_CELL_M = 1.0

#: Safety margin (in cells) of the rasterisation, far above the rounding error of its arithmetic: a cell is
#: hidden only if it (grown by this) lies inside a part, clear only if no edge comes within 3 times this.
_MARGIN = 1e-4


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
        """Rasterise a geometry or an array of parts (their union) in one scan over rows of cells (``_scan``):
        boundary (2) where an edge of a part passes, unless the cell lies inside one convex piece (a convex
        part, or a triangle of a concave one) or only seams between two pieces pass. No merging, no flood
        fill, no polygon tests."""
        parts = np.asarray(geometry, dtype=object).reshape(-1)
        parts = parts[~shapely.is_empty(parts)]
        if len(parts) == 0:                          # nothing hides anything
            return ShadowRaster(0.0, 0.0, float(cell_m), np.zeros((1, 1), np.uint8), 0)
        xmin, ymin, xmax, ymax = shapely.total_bounds(parts)
        off = 0
        if extent is not None and (extent[0] > xmin or extent[1] > ymin or extent[2] < xmax
                                   or extent[3] < ymax):
            off = 2
            xmin, ymin = max(xmin, extent[0]), max(ymin, extent[1])
            xmax, ymax = max(min(xmax, extent[2]), xmin), max(min(ymax, extent[3]), ymin)
        x0, y0 = xmin - cell_m, ymin - cell_m
        nx = int(np.ceil((xmax - x0) / cell_m)) + 2
        ny = int(np.ceil((ymax - y0) / cell_m)) + 2
        coords, piece, cover = _pieces(parts)
        uv = (coords - (x0, y0)) / cell_m           # cell units: cell (ix, iy) is [ix, ix + 1) x [iy, iy + 1)
        codes = _scan(uv, piece, cover, nx, ny)
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


def _pieces(parts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The parts as closed vertex cycles: ``coords`` (V, 2) grouped by piece, ``piece`` (V,) and ``cover``
    (P,): 1 for a convex polygon (it covers the cells inside it), 0 for a cycle that only has edges (each
    ring of a concave polygon, whose constrained Delaunay triangles are added to cover its inside; each
    segment of a line; a point), 2 for the hull of a polygon that failed to triangulate (its cells are
    all boundary cells: exact, just slower)."""
    g = parts[~shapely.is_empty(parts)]
    while len(g) and (shapely.get_type_id(g) >= 4).any():       # multi-part geometries and collections
        g = shapely.get_parts(g)
    g = g[~shapely.is_empty(g)]
    kind = shapely.get_type_id(g)
    chunks, pieces, covers = [], [], []

    def add(xy: np.ndarray, owner: np.ndarray, cover: np.ndarray) -> None:
        chunks.append(xy)
        pieces.append(owner + sum(len(c) for c in covers))
        covers.append(cover)

    def open_rings(rings: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        xy, ring = shapely.get_coordinates(rings, return_index=True)
        keep = np.ones(len(xy), bool)
        keep[np.flatnonzero(np.diff(ring))] = False              # each ring's closing vertex
        keep[-1] = False
        return xy[keep], ring[keep]

    polys = g[kind == 3]
    if len(polys):
        rings, ring_poly = shapely.get_rings(polys, return_index=True)
        xy, ring = open_rings(rings)
        shell = np.searchsorted(ring_poly, np.arange(len(polys)))   # each polygon's exterior ring
        convex = _is_convex(xy, ring, len(rings))[shell] & (shapely.get_num_interior_rings(polys) == 0)
        add(xy, ring, convex[ring_poly].astype(np.int8))
        concave = polys[~convex]
        if len(concave):                           # their triangles cover the inside
            tri, owner = shapely.get_parts(shapely.constrained_delaunay_triangles(concave), return_index=True)
            ok = shapely.get_type_id(tri) == 3
            tri, owner = tri[ok], owner[ok]
            area = np.bincount(owner, weights=shapely.area(tri), minlength=len(concave))
            good = np.abs(area - shapely.area(concave)) <= 1e-9 * np.maximum(shapely.area(concave), 1.0)
            tri = tri[good[owner]]
            if len(tri):
                txy, towner = open_rings(shapely.get_exterior_ring(tri))
                add(txy, towner, np.ones(len(tri), np.int8))
            if not good.all():
                hxy, howner = open_rings(shapely.get_exterior_ring(shapely.convex_hull(concave[~good])))
                add(hxy, howner, np.full(int((~good).sum()), 2, np.int8))
    lines = g[(kind == 1) | (kind == 2)]
    if len(lines):
        xy, line = shapely.get_coordinates(lines, return_index=True)
        seg = np.flatnonzero(line[1:] == line[:-1])
        add(np.stack([xy[seg], xy[seg + 1]], 1).reshape(-1, 2), np.repeat(np.arange(len(seg)), 2),
            np.zeros(len(seg), np.int8))
    points = g[kind == 0]
    if len(points):
        add(shapely.get_coordinates(points), np.arange(len(points)), np.zeros(len(points), np.int8))
    if not chunks:
        return np.zeros((0, 2)), np.zeros(0, np.int64), np.zeros(0, np.int8)
    return np.concatenate(chunks), np.concatenate(pieces), np.concatenate(covers)


def _is_convex(xy: np.ndarray, owner: np.ndarray, n: int) -> np.ndarray:
    """Per polygon (vertex cycles grouped by ``owner``, n polygons): do all its turns go the same way? Turns
    within rounding of straight (relative 1e-9: dents far below ``_MARGIN``) count either way."""
    start = np.searchsorted(owner, owner, side="left")
    stop = np.searchsorted(owner, owner, side="right")
    j = np.arange(len(xy))
    nxt = np.where(j + 1 < stop, j + 1, start)
    prv = np.where(j > start, j - 1, stop - 1)
    xy = xy - xy.mean(axis=0)
    a, b = xy[j] - xy[prv], xy[nxt] - xy[j]
    turn = a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0]
    tol = 1e-9 * np.hypot(a[:, 0], a[:, 1]) * np.hypot(b[:, 0], b[:, 1])
    left = np.zeros(n, bool)
    right = np.zeros(n, bool)
    left[owner[turn > tol]] = True
    right[owner[turn < -tol]] = True
    return ~(left & right)


def _seams(u: np.ndarray, v: np.ndarray, piece: np.ndarray, cover: np.ndarray, nxt: np.ndarray,
           prv: np.ndarray) -> np.ndarray:
    """Per edge (vertex -> ``nxt``): is it a seam, an edge exactly two covering pieces share, lying on either
    side of it? Its inside is inside the union: adjacent wall shadows and the triangles of a footprint meet
    along seams."""
    j = np.flatnonzero((cover[piece] == 1) & (nxt != prv))
    out = np.zeros(len(u), bool)
    if len(j) < 6:
        return out
    pj, nj = piece[j], nxt[j]
    orient = np.sign(np.bincount(pj, weights=u[j] * v[nj] - u[nj] * v[j], minlength=len(cover)))
    # the edge with its ends in (u, v) order, and on which side of it (run that way) its piece lies
    fwd = (u[j] < u[nj]) | ((u[j] == u[nj]) & (v[j] < v[nj]))
    x1, y1 = np.where(fwd, u[j], u[nj]), np.where(fwd, v[j], v[nj])
    x2, y2 = np.where(fwd, u[nj], u[j]), np.where(fwd, v[nj], v[j])
    side = orient[pj] * np.where(fwd, 1, -1)
    order = np.lexsort((y2, x2, y1, x1))
    x1, y1, x2, y2, side, pj = x1[order], y1[order], x2[order], y2[order], side[order], pj[order]
    same = (x1[1:] == x1[:-1]) & (y1[1:] == y1[:-1]) & (x2[1:] == x2[:-1]) & (y2[1:] == y2[:-1])
    pair = np.concatenate([same, [False]]) & np.concatenate([[True], ~same])   # first of a run of equal keys
    pair[:-1] &= ~np.concatenate([same[1:], [False]])                        # ... of exactly two
    i = np.flatnonzero(pair)
    i = i[(pj[i] != pj[i + 1]) & (side[i] == -side[i + 1]) & (side[i] != 0)]
    out[j[order[i]]] = True
    out[j[order[i + 1]]] = True
    return out


def _scan(uv: np.ndarray, piece: np.ndarray, cover: np.ndarray, nx: int, ny: int) -> np.ndarray:
    """Codes (ny, nx) of the union of pieces given as vertex cycles in cell units (see ``_pieces``).

    Row ``iy`` is scanned between the lines ``iy - e`` and ``iy + 1 + e`` (e = ``_MARGIN``). Each edge marks
    the cells its stretch inside that strip comes within 3e of; a covering piece marks the cells its chords
    on both lines span (the cell grown by e inside it). Then a cell is hidden (1) if a piece covers it, or
    if only seams (``_seams``) pass and no other edge: the union's boundary runs along edges but never
    inside a seam, so such a cell is all inside; boundary (2) if another edge passes; else clear (0): no
    edge near and no piece covering it means it is outside every piece. Counts go in one difference array
    per row, a bit field per kind, summed up once; arrays are updated in place and indices are 32-bit
    where they fit (fresh memory costs as much as the arithmetic here).
    """
    e = _MARGIN
    w = nx + 1                   # one spare column per row: the row's running count ends back at 0
    npc = len(cover)
    if npc == 0:
        return np.zeros((ny, nx), np.uint8)
    it = np.int32 if ny * w < 2**31 and len(uv) < 2**31 else np.int64
    u, v = uv[:, 0], uv[:, 1]
    j = np.arange(len(uv), dtype=it)
    first = np.searchsorted(piece, piece, side="left").astype(it)
    size = np.searchsorted(piece, piece, side="right").astype(it) - first
    nxt = first + (j - first + 1) % size
    prv = first + (j - first - 1) % size
    seam = _seams(u, v, piece, cover, nxt, prv)
    du, dv = u[nxt] - u, v[nxt] - v
    # (edge, row) for every row whose strip the edge comes within e of
    k0 = np.clip(np.floor(np.minimum(v, v + dv) - 2 * e), 0, ny).astype(it)
    n = np.maximum(np.clip(np.floor(np.maximum(v, v + dv) + 2 * e), -1, ny - 1).astype(it) - k0 + 1, 0)
    ei = np.repeat(j, n)
    row = np.repeat(k0 - (np.cumsum(n, dtype=it) - n), n)
    row += np.arange(len(ei), dtype=it)
    # nearly horizontal edges (crossings ill-conditioned) count their whole length in each of their rows
    flat = (np.abs(dv) <= 1e-3) | (np.abs(dv) * 1e6 <= np.abs(du))
    inv = np.divide(1.0, dv, out=np.zeros(len(dv)), where=~flat)
    e_inv = inv[ei]
    t_lo = row - e                             # where the edge crosses the lines iy - e and iy + 1 + e
    t_lo -= v[ei]
    t_lo *= e_inv
    e_inv *= 1 + 2 * e
    t_hi = e_inv
    t_hi += t_lo
    e_flat = flat[ei]
    t_hi[e_flat] = 1.0                         # (and t_lo is 0 there)
    ep = piece[ei]
    e_cov = (cover == 1)[ep] & ~e_flat
    crossing = [np.flatnonzero(e_cov & (t >= 0.0) & (t <= 1.0)) for t in (t_lo, t_hi)]
    e_du, e_u = du[ei], u[ei]
    x_lo, x_hi = t_lo, t_hi
    for x in (x_lo, x_hi):
        np.clip(x, 0.0, 1.0, out=x)
        x *= e_du
        x += e_u
    del e_du, e_u
    # covering pieces: rows, and chords on the lines iy - e (lo) and iy + 1 + e (hi) per (piece, row)
    r0 = np.full(npc, ny, it)
    r1 = np.zeros(npc, it)
    np.minimum.at(r0, ep, row)
    np.maximum.at(r1, ep, row + 1)
    nrow = np.where(cover >= 1, np.maximum(r1 - r0, 0), 0).astype(it)
    offset = np.cumsum(nrow, dtype=it) - nrow - r0
    npair = int(nrow.sum())
    chords = []
    for x, sel in zip((x_lo, x_hi), crossing, strict=True):
        q = offset[ep[sel]] + row[sel]
        a = np.full(npair, np.inf)
        b = np.full(npair, -np.inf)
        np.minimum.at(a, q, x[sel])
        np.maximum.at(b, q, x[sel])
        chords.append((a, b))
    (alo, ahi), (blo, bhi) = chords
    pair_piece = np.repeat(np.arange(npc, dtype=it), nrow)
    pair_row = np.arange(npair, dtype=it) - offset[pair_piece]
    with np.errstate(invalid="ignore"):
        c_first = np.ceil(np.maximum(alo, blo, out=alo) + e)
        c_last = np.floor(np.minimum(ahi, bhi, out=ahi) - 1 - e)
    pc = cover[pair_piece]
    # edges' cells: first..last per (edge, row)
    lo = np.minimum(x_lo, x_hi)
    hi = np.maximum(x_lo, x_hi, out=x_hi)
    lo -= 3 * e
    hi += 3 * e
    np.floor(lo, out=lo)
    np.floor(hi, out=hi)
    e_seam = seam[ei]
    # bit fields (edges, seams, covering pieces), each wide enough for the most intervals a row has of it;
    # pieces that failed to triangulate (cover 2) mark their inside as edges
    def most(rows: np.ndarray, m: np.ndarray) -> int:
        return int(np.bincount(rows[m], minlength=1).max()) if m.any() else 0

    bits = [max(k.bit_length(), 1) for k in (most(row, ~e_seam) + most(pair_row, pc == 2),
                                             most(row, e_seam), most(pair_row, pc == 1))]
    ct = np.int32 if sum(bits) <= 31 and it is np.int32 else np.int64
    if ct is np.int64:
        bits = [20, 20, 20]
    w_edge, w_seam, w_in = ct(1), ct(1 << bits[0]), ct(1 << (bits[0] + bits[1]))
    counts = np.zeros(ny * w, ct)
    for rows, first, last, weight in ((row, lo, hi, np.where(e_seam, w_seam, w_edge)),
                                      (pair_row, c_first, c_last, np.where(pc == 1, w_in, w_edge))):
        ok = np.flatnonzero((first <= last) & (last >= 0) & (first <= nx - 1))
        at = rows[ok].astype(ct) * ct(w)
        np.add.at(counts, at + np.clip(first[ok], 0, nx - 1).astype(ct), weight[ok])
        np.add.at(counts, at + np.clip(last[ok], 0, nx - 1).astype(ct) + 1, -weight[ok])
    np.cumsum(counts, out=counts)
    c = counts.reshape(ny, w)[:, :nx]
    hidden = c >= w_in
    np.bitwise_and(counts, w_in - 1, out=counts)
    seam_only = c >= w_seam
    np.bitwise_and(counts, w_seam - 1, out=counts)
    edge = c > 0
    seam_only &= ~edge
    hidden |= seam_only
    codes = edge.view(np.uint8)
    codes <<= 1
    codes[hidden] = 1
    return codes


def _project(pts: np.ndarray, src: np.ndarray, hb: np.ndarray, src_z: float, dst_z: float,
             range_m: float) -> np.ndarray:
    """Push each point away from ``src`` to where the shadow behind it ends (see ``shadow``)."""
    d = pts - src
    dist = np.maximum(np.hypot(d[:, 0], d[:, 1]), 1e-6)
    with np.errstate(divide="ignore", invalid="ignore"):
        reach = np.where(hb >= src_z, np.inf, dist * (src_z - dst_z) / (src_z - hb))
    far = np.clip(reach, dist, range_m * 1.5)
    return src + d * (far / dist)[:, None]

