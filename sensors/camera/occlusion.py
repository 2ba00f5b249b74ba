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

from sensors.camera.raster import RASTER_CELL_M, ShadowRaster

__all__ = ["Shadow", "blocked", "shadow"]


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


def _project(pts: np.ndarray, src: np.ndarray, hb: np.ndarray, src_z: float, dst_z: float,
             range_m: float) -> np.ndarray:
    """Push each point away from ``src`` to where the shadow behind it ends (see ``shadow``)."""
    d = pts - src
    dist = np.maximum(np.hypot(d[:, 0], d[:, 1]), 1e-6)
    with np.errstate(divide="ignore", invalid="ignore"):
        reach = np.where(hb >= src_z, np.inf, dist * (src_z - dst_z) / (src_z - hb))
    far = np.clip(reach, dist, range_m * 1.5)
    return src + d * (far / dist)[:, None]

