"""Shadows as rasters: a cell grid coded clear (0), hidden (1) or boundary (2), so that testing a point
against a shadow is an array lookup, with an exact polygon test only in boundary cells.

``ShadowRaster.of`` rasterises a shadow's parts (``sensors.camera.occlusion.Shadow``: convex polygons,
possibly overlapping, plus concave footprints) in one scan over rows of cells (``_scan``), without merging
the parts, flood fills or polygon tests: a cell is boundary where an edge of a part passes, unless it lies
inside one convex piece (a convex part, or a triangle of a concave one) or only seams between two pieces
pass. The margin ``_MARGIN`` keeps the codes exact: a cell is hidden only if it lies inside, clear only if
no edge comes near.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import shapely

__all__ = ["RASTER_CELL_M", "ShadowRaster"]

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

    Phases: the edges' (edge, row) pairs and line crossings (``_edge_rows``), the covering pieces' chords
    per row (``_chords``), the cells each edge passes (``_edge_cells``), the counts and codes (``_codes``).
    """
    if len(cover) == 0:
        return np.zeros((ny, nx), np.uint8)
    it = np.int32 if ny * (nx + 1) < 2**31 and len(uv) < 2**31 else np.int64
    edges = _edge_rows(uv, piece, cover, ny, it)
    chords = _chords(edges, cover, ny, it)
    lo, hi = _edge_cells(edges)
    return _codes(edges.row, lo, hi, edges.seam, chords, nx, ny, it)


class _EdgeRows(NamedTuple):
    """Every (edge, row) whose strip the edge comes within ``_MARGIN`` of: edge (its first vertex), row,
    piece, whether the edge is a seam, and where it crosses the row's lines (``x_lo`` on ``iy - e``,
    ``x_hi`` on ``iy + 1 + e``, cell units, clipped to the edge); ``crossing`` lists the (edge, row)s of
    covering pieces that really cross each line."""

    edge: np.ndarray
    row: np.ndarray
    piece: np.ndarray
    seam: np.ndarray
    x_lo: np.ndarray
    x_hi: np.ndarray
    crossing: list[np.ndarray]


def _edge_rows(uv: np.ndarray, piece: np.ndarray, cover: np.ndarray, ny: int, it: type) -> _EdgeRows:
    """The pieces' edges (vertex -> next vertex of its cycle) and the rows each one meets."""
    e = _MARGIN
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
    ep = piece[ei]
    x_lo, x_hi, crossing = _crossings(u, v, du, dv, ei, row, (cover == 1)[ep])
    return _EdgeRows(ei, row, ep, seam[ei], x_lo, x_hi, crossing)


def _crossings(u: np.ndarray, v: np.ndarray, du: np.ndarray, dv: np.ndarray, ei: np.ndarray, row: np.ndarray,
               covering: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """Where each (edge ``ei``, ``row``) crosses the lines ``iy - e`` and ``iy + 1 + e``, as x clipped to
    the edge, and which (edge, row)s of covering pieces cross each line within the edge."""
    e = _MARGIN
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
    e_cov = covering & ~e_flat
    crossing = [np.flatnonzero(e_cov & (t >= 0.0) & (t <= 1.0)) for t in (t_lo, t_hi)]
    e_du, e_u = du[ei], u[ei]
    x_lo, x_hi = t_lo, t_hi
    for x in (x_lo, x_hi):
        np.clip(x, 0.0, 1.0, out=x)
        x *= e_du
        x += e_u
    return x_lo, x_hi, crossing


class _Chords(NamedTuple):
    """Per (covering piece, row): the row, the first and last cell its chords on both lines span, and the
    piece's cover kind (1 covers, 2 failed to triangulate: marks its cells as boundary)."""

    row: np.ndarray
    first: np.ndarray
    last: np.ndarray
    cover: np.ndarray


def _chords(edges: _EdgeRows, cover: np.ndarray, ny: int, it: type) -> _Chords:
    """The chords of the covering pieces on the lines ``iy - e`` (lo) and ``iy + 1 + e`` (hi) of each row
    they meet: the x range of their edges' crossings there."""
    e = _MARGIN
    npc = len(cover)
    ep, row = edges.piece, edges.row
    r0 = np.full(npc, ny, it)
    r1 = np.zeros(npc, it)
    np.minimum.at(r0, ep, row)
    np.maximum.at(r1, ep, row + 1)
    nrow = np.where(cover >= 1, np.maximum(r1 - r0, 0), 0).astype(it)
    offset = np.cumsum(nrow, dtype=it) - nrow - r0
    npair = int(nrow.sum())
    chords = []
    for x, sel in zip((edges.x_lo, edges.x_hi), edges.crossing, strict=True):
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
    return _Chords(pair_row, c_first, c_last, cover[pair_piece])


def _edge_cells(edges: _EdgeRows) -> tuple[np.ndarray, np.ndarray]:
    """First and last cell (as floats) each (edge, row) comes within 3e of; reuses ``edges.x_hi``'s memory
    (call it after ``_chords``)."""
    e = _MARGIN
    lo = np.minimum(edges.x_lo, edges.x_hi)
    hi = np.maximum(edges.x_lo, edges.x_hi, out=edges.x_hi)
    lo -= 3 * e
    hi += 3 * e
    np.floor(lo, out=lo)
    np.floor(hi, out=hi)
    return lo, hi


def _codes(row: np.ndarray, lo: np.ndarray, hi: np.ndarray, e_seam: np.ndarray, chords: _Chords, nx: int,
           ny: int, it: type) -> np.ndarray:
    """Count the edges, seams and covering pieces over each cell (difference arrays per row, one bit field
    per kind) and turn the counts into codes (rules in ``_scan``)."""
    w = nx + 1                   # one spare column per row: the row's running count ends back at 0
    pair_row, pc = chords.row, chords.cover

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
                                      (pair_row, chords.first, chords.last, np.where(pc == 1, w_in, w_edge))):
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
