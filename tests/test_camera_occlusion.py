"""Camera shadows: unmerged parts and their one-scan raster hide exactly what the merged shadow hid."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from _physical_sensors import X0, Y0, buildings

from sensors.camera.occlusion import _SEG_M, Shadow, _project, _wall_shadows, shadow
from sensors.camera.raster import ShadowRaster

# ---- reference: shadow() / Shadow / ShadowRaster as they were before the parts stopped being merged ------


def _reference_parts(bld, xy, src_z, dst_z, *, range_m, clearance_m=2.0):
    """The per-building shadow parts, built exactly as the old ``shadow`` built them (one quad per wall
    piece, walls cut by ``shapely.difference`` with the clearance disc), or None."""
    cam = shapely.Point(xy)
    idx = bld.tree.query(cam.buffer(range_m))
    hb = np.asarray(bld.heights_m, float)[idx]
    keep = hb > min(src_z, dst_z)
    idx, hb = idx[keep], hb[keep]
    if len(idx) == 0:
        return None
    polys = bld.polygons[idx]
    hulls = shapely.convex_hull(polys)
    close = shapely.dwithin(hulls, cam, clearance_m)
    src = np.asarray(xy, float)
    parts = []
    far_idx = np.flatnonzero(~close)
    if len(far_idx):
        dist = shapely.distance(hulls[far_idx], cam)
        rings = shapely.segmentize(shapely.get_exterior_ring(hulls[far_idx]), np.maximum(_SEG_M, 0.5 * dist))
        coords, owner = shapely.get_coordinates(rings, return_index=True)
        proj = _project(coords, src, hb[far_idx][owner], src_z, dst_z, range_m)
        order = np.argsort(np.concatenate([owner, owner]), kind="stable")
        pts = np.vstack([coords, proj])[order]
        own = np.concatenate([owner, owner])[order]
        parts.append(shapely.convex_hull(shapely.multipoints(pts, indices=own)))
    disc = cam.buffer(clearance_m)
    for k in np.flatnonzero(close):
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
        pa, pb = _project(a, src, h, src_z, dst_z, range_m), _project(b, src, h, src_z, dst_z, range_m)
        quads = np.stack([a, b, pb, pa], axis=1)
        parts.append(shapely.convex_hull(shapely.multipoints(quads.reshape(-1, 2),
                                                             indices=np.repeat(np.arange(len(a)), 4))))
    return np.concatenate(parts) if parts else None


def _reference_hides(union, extent, xy: np.ndarray) -> np.ndarray:
    """The old ``Shadow.hides``: a 1 m raster of the merged polygon (boundary samples dilated by a cell,
    regions labelled and classified by one polygon test each), exact ``contains_xy`` in boundary cells."""
    from scipy import ndimage

    shapely.prepare(union)
    cell_m = 1.0
    xmin, ymin, xmax, ymax = shapely.bounds(union)
    off = 0
    if extent[0] > xmin or extent[1] > ymin or extent[2] < xmax or extent[3] < ymax:
        off = 2
        xmin, ymin = max(xmin, extent[0]), max(ymin, extent[1])
        xmax, ymax = max(min(xmax, extent[2]), xmin), max(min(ymax, extent[3]), ymin)
    x0, y0 = xmin - cell_m, ymin - cell_m
    nx = int(np.ceil((xmax - x0) / cell_m)) + 2
    ny = int(np.ceil((ymax - y0) / cell_m)) + 2
    line = shapely.boundary(union)
    if off:
        line = shapely.clip_by_rect(line, x0 - cell_m, y0 - cell_m, x0 + (nx + 1) * cell_m,
                                    y0 + (ny + 1) * cell_m)
    pts = shapely.get_coordinates(shapely.segmentize(line, cell_m / 2))
    edge = np.zeros((ny, nx), bool)
    edge[np.clip(((pts[:, 1] - y0) // cell_m).astype(np.int64), 0, ny - 1),
         np.clip(((pts[:, 0] - x0) // cell_m).astype(np.int64), 0, nx - 1)] = True
    edge = ndimage.binary_dilation(edge, structure=np.ones((3, 3), bool))
    labels, n = ndimage.label(~edge)
    ids, first = np.unique(labels.ravel(), return_index=True)
    cy, cx = np.divmod(first, nx)
    code_of = np.zeros(n + 1, np.uint8)
    code_of[ids] = shapely.contains_xy(union, x0 + (cx + 0.5) * cell_m, y0 + (cy + 0.5) * cell_m)
    codes = code_of[labels]
    codes[edge] = 2
    ix = np.floor((xy[:, 0] - x0) / cell_m).astype(np.int64)
    iy = np.floor((xy[:, 1] - y0) / cell_m).astype(np.int64)
    on = (ix >= 0) & (ix < nx) & (iy >= 0) & (iy < ny)
    code = np.full(len(xy), off, np.uint8)
    code[on] = codes[iy[on], ix[on]]
    out = code == 1
    mixed = np.flatnonzero(code == 2)
    out[mixed] = shapely.contains_xy(union, xy[mixed, 0], xy[mixed, 1])
    return out


def _near_boundary(geom, rng: np.random.Generator, n: int, spread_m: float) -> np.ndarray:
    """``n`` points within ``spread_m`` of the edges of ``geom`` (one geometry or an array of parts): where a
    raster can get it wrong."""
    g = shapely.get_parts(np.asarray(geom, dtype=object).reshape(-1))
    g = np.where(shapely.get_dimensions(g) == 2, shapely.boundary(g), g)
    pts = shapely.get_coordinates(shapely.segmentize(g, 0.25))
    pick = pts[rng.integers(0, len(pts), n)]
    return pick + rng.uniform(-spread_m, spread_m, (n, 2))


# ---- tests ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dst_z", [0.75, 1.5])
def test_helsinki_shadows_hide_exactly_what_the_merged_reference_hid(helsinki, dst_z):
    """10 real cameras, 20k random points each (out to 1.2 x range, past the raster) plus 5k near the shadow's
    edge: the new ``Shadow.hides`` and ``contains_xy(geometry)`` equal the old merged-polygon answers."""
    rng = np.random.default_rng(7)
    bld = helsinki.buildings
    cams = sorted(helsinki.cameras, key=lambda c: c.id)[:10]
    range_m, hidden, total = 150.0, 0, 0
    for cam in cams:
        xy, src_z = tuple(map(float, cam.xy)), float(cam.height_m or 6.0)
        ref_parts = _reference_parts(bld, xy, src_z, dst_z, range_m=range_m)
        sh = shadow(bld, xy, src_z, dst_z, range_m=range_m)
        assert (sh is None) == (ref_parts is None)
        if sh is None:
            continue
        union = shapely.union_all(ref_parts)
        pts = np.vstack([np.asarray(xy) + rng.uniform(-1.2 * range_m, 1.2 * range_m, (20_000, 2)),
                         _near_boundary(union, rng, 5_000, 1.5)])
        ref = _reference_hides(union, sh.extent, pts)
        assert (sh.hides(pts) == ref).all()
        assert (shapely.contains_xy(sh.geometry, pts[:, 0], pts[:, 1]) == ref).all()
        assert len(sh.parts) < len(ref_parts)              # wall pieces merged into runs
        hidden, total = hidden + int(ref.sum()), total + len(ref)
    assert 0.2 < hidden / total < 0.9


def test_raster_of_overlapping_concave_and_degenerate_parts_is_exact():
    """Overlapping squares, a concave polygon with a hole, exactly adjacent quads (seams), a line and a
    point, at UTM-sized coordinates: every cell code agrees with the union, near every edge and grid line."""
    rng = np.random.default_rng(3)
    sq = [shapely.box(X0 + x, Y0 + y, X0 + x + s, Y0 + y + s) for x, y, s in rng.uniform(0, 40, (12, 3))]
    ring = [(0, 0), (30, 0), (30, 30), (15, 12.5), (0, 30)]
    concave = shapely.Polygon([(X0 + 60 + x, Y0 + y) for x, y in ring],
                              [[(X0 + 65, Y0 + 3), (X0 + 70, Y0 + 3), (X0 + 70, Y0 + 8), (X0 + 65, Y0 + 8)]])
    fan = [shapely.Polygon([(X0 + 3.3 * i, Y0 + 60), (X0 + 3.3 * (i + 1), Y0 + 60),
                            (X0 + 0.9 + 3.3 * (i + 1), Y0 + 90), (X0 + 0.9 + 3.3 * i, Y0 + 90)])
           for i in range(9)]
    other = [shapely.LineString([(X0 + 100, Y0), (X0 + 110, Y0 + 7.3)]), shapely.Point(X0 + 120.5, Y0 + 3.25)]
    parts = np.array(sq + [concave] + fan + other, dtype=object)
    union = shapely.union_all(parts)
    sh = Shadow(parts, source=(X0 + 50, Y0 + 50))       # parts in disjoint sectors share a member
    assert shapely.get_num_geometries(sh.geometry) < len(parts)
    pts = np.vstack([np.array([X0 - 5, Y0 - 5]) + rng.uniform(0, 140, (40_000, 2)),
                     _near_boundary(union, rng, 20_000, 0.3),
                     _near_boundary(parts, rng, 20_000, 0.05)])
    grid = np.floor(pts) + rng.choice([1e-7, 1 - 1e-7, 0.5], pts.shape)      # hugging cell edges
    pts = np.vstack([pts, grid])
    exact = shapely.contains_xy(union, pts[:, 0], pts[:, 1])
    assert (sh.hides(pts) == exact).all() and exact.mean() > 0.1
    assert (shapely.contains_xy(sh.geometry, pts[:, 0], pts[:, 1]) == exact).all()
    codes = sh.raster().codes_at(pts)
    assert (exact[codes == 1]).all() and not exact[codes == 0].any()
    r = sh.raster()
    seam_cells = r.codes[int(Y0 + 65 - r.y0):int(Y0 + 85 - r.y0), int(X0 + 5 - r.x0):int(X0 + 25 - r.x0)]
    assert (seam_cells == 1).all()                           # seams between the fan's quads stay hidden


def test_raster_of_one_polygon_matches_the_polygon():
    """``ShadowRaster.of`` also takes one geometry (a concave, holed polygon), cut to an extent."""
    rng = np.random.default_rng(4)
    shell = [(X0, Y0), (X0 + 50, Y0 + 5), (X0 + 20, Y0 + 20), (X0 + 45, Y0 + 45), (X0, Y0 + 40)]
    poly = shapely.Polygon(shell, [[(X0 + 5, Y0 + 5), (X0 + 10, Y0 + 8), (X0 + 6, Y0 + 15)]])
    r = ShadowRaster.of(poly, 1.0, extent=(X0 - 10, Y0 - 10, X0 + 30, Y0 + 60))
    assert r.off == 2
    pts = np.vstack([np.array([X0 - 5, Y0 - 5]) + rng.uniform(0, 60, (30_000, 2)),
                     _near_boundary(poly, rng, 10_000, 0.3)])
    exact = shapely.contains_xy(poly, pts[:, 0], pts[:, 1])
    codes = r.codes_at(pts)
    assert exact[codes == 1].all() and not exact[codes == 0].any()
    assert (codes[pts[:, 0] > X0 + 33] == 2).all()            # off the raster: test the polygon
    assert (r.codes == 2).mean() < 0.2


def test_wall_runs_cover_the_same_ground_as_their_pieces():
    """Merged runs of wall shadows: fewer parts, the union of the pieces' hulls (to rounding)."""
    src = np.array([X0, Y0])
    wall = np.column_stack([np.linspace(X0 - 20, X0 + 20, 21), np.full(21, Y0 + 10)])
    corner = np.column_stack([np.full(10, X0 + 20), np.linspace(Y0 + 10, Y0 + 30, 11)[1:]])
    ring = np.vstack([wall, corner])
    a, b = ring[:-1], ring[1:]
    h = np.full(len(a), 8.0)
    pa, pb = _project(a, src, h, 6.0, 0.85, 150.0), _project(b, src, h, 6.0, 0.85, 150.0)
    quads = np.stack([a, b, pb, pa], axis=1)
    merged = _wall_shadows(quads, src)
    pieces = shapely.convex_hull(shapely.linestrings(quads))
    assert len(merged) < len(pieces) // 5
    sym = shapely.symmetric_difference(shapely.union_all(merged), shapely.union_all(pieces))
    assert sym.area < 1e-6 * shapely.union_all(pieces).area


def test_shadow_is_deterministic_and_drops_empty_parts():
    """Same inputs, same parts and raster; empty parts are dropped (GEOS can crash on them in a
    collection)."""
    bld = buildings([(X0 + 10, Y0 - 5, X0 + 20, Y0 + 5), (X0 - 3, Y0 + 1, X0 + 3, Y0 + 12),
                     (X0 - 40, Y0 - 30, X0 - 25, Y0 - 10)], [12.0, 9.0, 4.0])
    one = shadow(bld, (X0, Y0), 6.0, 0.85, range_m=100.0)
    two = shadow(bld, (X0, Y0), 6.0, 0.85, range_m=100.0)
    assert (shapely.to_wkb(one.parts) == shapely.to_wkb(two.parts)).all()
    assert np.array_equal(one.raster().codes, two.raster().codes)
    sh = Shadow([shapely.box(X0, Y0, X0 + 1, Y0 + 1), shapely.Polygon(),
                 shapely.box(X0 + 1, Y0, X0 + 2, Y0 + 1)])
    assert len(sh.parts) == 2
    on_shared_edge, inside, outside = [X0 + 1, Y0 + 0.5], [X0 + 0.5, Y0 + 0.5], [X0 + 3, Y0]
    assert sh.hides(np.array([on_shared_edge, inside, outside])).tolist() == [True, True, False]
