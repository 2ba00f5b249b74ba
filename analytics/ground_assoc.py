"""Array building blocks of cross-camera ground-track association (``analytics.ground_tracks``): which
cameras' views overlap, which ground points lie near each other (a coarse grid, no comparison of every pair),
and a gated one-to-one assignment.

- ``ViewOverlap``: the cameras' ground view polygons (``analytics.camera_views.view_polygon``) and the
  boolean matrix of which pairs overlap; cameras that do not overlap are never compared.
- ``near_pairs``: every pair of points within a radius, from a grid of cells of that size (each point is
  compared with the points of its own and the neighbouring cells only).
- ``one_per_camera``: of gated pairs of tracks of different cameras, the ones kept when each track may be
  paired with at most one track of each other camera; pairs with no rival are kept as they are, the
  contested ones go to ``assign`` per cluster.
- ``assign``: ``scipy.optimize.linear_sum_assignment`` on a gated cost matrix, where leaving a row or a
  column unassigned costs ``miss_cost`` (the matrix is padded with a dummy row and column per item, so
  every gated pair cheaper than two misses is worth taking and nothing is forced).
- ``ray_covariance``, ``mahalanobis2``: a camera's ground point is uncertain mostly along its viewing ray
  (a foot point a few pixels lower is a step farther away at the shallow angles of CCTV; a few pixels to
  the side are a short step), so each point's 2 x 2 covariance is elongated along the ray from its camera.
  Covariances are kept as rows ``[xx, xy, yy]``.
- ``PairOffsets``: the mean offset between the ground points two cameras give for one target, learnt from
  their linked tracks (a calibration error shifts one camera's ground plane by a metre or two; the gate
  then compares the points with the offset taken out).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import shapely
from scipy.optimize import linear_sum_assignment
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

__all__ = ["PairOffsets", "ViewOverlap", "assign", "mahalanobis2", "near_pairs", "one_per_camera",
           "ray_covariance"]

#: Half the 3 x 3 neighbourhood of a grid cell: with the cell itself, each pair of neighbouring cells once.
_HALF = ((0, 0), (0, 1), (1, -1), (1, 0), (1, 1))
#: A cost no gated pair reaches (forbidden entries of ``assign``'s padded matrix).
_FORBIDDEN = 1e18


class ViewOverlap:
    """Camera indices and which cameras' ground views overlap.

    A camera gets an index when first named (``index``), with or without a view; ``set_view`` gives it a
    view polygon (or None: it then overlaps no camera). Two cameras overlap when their views share at least
    ``min_area_m2``.
    """

    def __init__(self, *, min_area_m2: float = 1.0) -> None:
        self.min_area_m2 = float(min_area_m2)
        self.ids: list[str] = []
        self._index: dict[str, int] = {}
        self._views: list[shapely.Geometry | None] = []
        #: ``matrix[a, b]``: the views of cameras ``a`` and ``b`` overlap (False on the diagonal).
        self.matrix = np.zeros((0, 0), dtype=bool)
        #: Each camera's ground position (NaN when unknown).
        self.xy = np.zeros((0, 2))

    def index(self, camera_id: str) -> int:
        """The camera's index (a new camera is added with no view)."""
        k = self._index.get(camera_id)
        if k is None:
            k = self._index[camera_id] = len(self.ids)
            self.ids.append(camera_id)
            self._views.append(None)
            m = np.zeros((k + 1, k + 1), dtype=bool)
            m[:k, :k] = self.matrix
            self.matrix = m
            self.xy = np.vstack([self.xy, [np.nan, np.nan]])
        return k

    def set_view(self, camera_id: str, polygon: Sequence[Sequence[float]] | None,
                 xy: Sequence[float] | None = None) -> None:
        """Give a camera its ground view (a ring of ``[x, y]`` metres, or None) and position (metres, or
        None: unknown), and update its overlaps."""
        k = self.index(camera_id)
        self.xy[k] = [np.nan, np.nan] if xy is None else [float(xy[0]), float(xy[1])]
        view = None
        if polygon is not None and len(polygon) >= 3:
            view = shapely.make_valid(shapely.Polygon(polygon))
            view = view if not view.is_empty and view.area > 0 else None
        self._views[k] = view
        row = np.zeros(len(self.ids), dtype=bool)
        others = [i for i, v in enumerate(self._views) if v is not None and i != k]
        if view is not None and others:
            areas = shapely.area(shapely.intersection(view, np.array([self._views[i] for i in others])))
            row[others] = areas >= self.min_area_m2
        self.matrix[k, :] = row
        self.matrix[:, k] = row

    def view(self, camera_id: str) -> shapely.Geometry | None:
        """The camera's view polygon, None if it has none (or is unknown)."""
        k = self._index.get(camera_id)
        return None if k is None else self._views[k]


def near_pairs(xy: np.ndarray, radius: float) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs ``(i, j)``, ``i < j``, of the points ``xy`` (N, 2) at most ``radius`` apart, sorted.

    The points are binned in square cells of side ``radius``; each is compared with the points of its own
    cell and of the neighbouring cells (half the neighbourhood each way, so every pair once).

    >>> near_pairs(np.array([[0.0, 0.0], [3.0, 0.0], [0.5, 0.5], [40.0, 1.0]]), 1.0)
    (array([0]), array([2]))
    """
    xy = np.asarray(xy, dtype=float).reshape(-1, 2)
    n = len(xy)
    none = (np.zeros(0, np.int64), np.zeros(0, np.int64))
    if n < 2 or not radius > 0:
        return none
    cell = np.floor(xy / radius).astype(np.int64)
    cell -= cell.min(axis=0) - 1
    rows = int(cell[:, 1].max()) + 2
    key = cell[:, 0] * rows + cell[:, 1]
    order = np.argsort(key, kind="stable")
    skey = key[order]
    parts_i, parts_j = [], []
    for dx, dy in _HALF:
        q = key + dx * rows + dy
        lo = np.searchsorted(skey, q, "left")
        cnt = np.searchsorted(skey, q, "right") - lo
        total = int(cnt.sum())
        if not total:
            continue
        i = np.repeat(np.arange(n), cnt)
        first = np.repeat(np.cumsum(cnt) - cnt, cnt)
        j = order[np.repeat(lo, cnt) + np.arange(total) - first]
        keep = i < j if (dx, dy) == (0, 0) else np.ones(total, bool)
        parts_i.append(i[keep])
        parts_j.append(j[keep])
    if not parts_i:
        return none
    i, j = np.concatenate(parts_i), np.concatenate(parts_j)
    i, j = np.minimum(i, j), np.maximum(i, j)
    d = xy[i] - xy[j]
    ok = np.einsum("ij,ij->i", d, d) <= radius * radius
    i, j = i[ok], j[ok]
    o = np.lexsort((j, i))
    return i[o], j[o]


def assign(cost: np.ndarray, miss_cost: float) -> tuple[np.ndarray, np.ndarray]:
    """Rows and columns of the cheapest one-to-one assignment on ``cost`` (R, C), where a non-finite entry is
    a forbidden pair and leaving a row or a column unassigned costs ``miss_cost``.

    >>> assign(np.array([[1.0, 4.0], [4.0, np.inf]]), 3.0)
    (array([0]), array([0]))
    """
    cost = np.asarray(cost, dtype=float)
    r, c = cost.shape
    if not r or not c:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    big = np.full((r + c, c + r), _FORBIDDEN)
    big[:r, :c] = np.where(np.isfinite(cost), cost, _FORBIDDEN)
    big[np.arange(r), c + np.arange(r)] = miss_cost   # row i left alone
    big[r + np.arange(c), np.arange(c)] = miss_cost   # column j left alone
    big[r:, c:] = 0.0
    rows, cols = linear_sum_assignment(big)
    ok = (rows < r) & (cols < c)
    ok[ok] &= big[rows[ok], cols[ok]] < _FORBIDDEN
    return rows[ok].astype(np.int64), cols[ok].astype(np.int64)


def one_per_camera(i: np.ndarray, j: np.ndarray, cam: np.ndarray, cost: np.ndarray, miss_cost: float,
                   ) -> np.ndarray:
    """Which gated pairs ``(i[k], j[k])`` (track indices; ``cam``: each track's camera) to keep so that a
    track is paired with at most one track of each other camera, at the least total ``cost``.

    A pair whose two tracks have no other candidate in each other's camera is kept outright; the contested
    pairs are split into clusters (connected through shared tracks, for one camera pair) and each cluster
    is solved by ``assign`` (leaving a track unpaired costs ``miss_cost``). Returns a boolean mask over the
    pairs.
    """
    i, j, cost = np.asarray(i, np.int64), np.asarray(j, np.int64), np.asarray(cost, float)
    keep = np.zeros(len(i), dtype=bool)
    if not len(i):
        return keep
    swap = cam[i] > cam[j]                       # the lower camera's track on the row side
    a, b = np.where(swap, j, i), np.where(swap, i, j)
    n_cam = int(cam.max()) + 1
    _, row, row_n = np.unique(a * n_cam + cam[b], return_inverse=True, return_counts=True)
    _, col, col_n = np.unique(b * n_cam + cam[a], return_inverse=True, return_counts=True)
    alone = (row_n[row] == 1) & (col_n[col] == 1)
    keep[alone] = True
    rest = np.flatnonzero(~alone)
    if not len(rest):
        return keep
    nr = len(row_n)
    graph = coo_matrix((np.ones(len(rest)), (row[rest], nr + col[rest])), shape=(nr + len(col_n),) * 2)
    _, label = connected_components(graph, directed=False)
    order = np.argsort(label[row[rest]], kind="stable")
    rest = rest[order]
    cluster = label[row[rest]]
    lr, nr_k = _local(cluster, row[rest])
    lc, nc_k = _local(cluster, col[rest])
    bounds = np.flatnonzero(np.diff(cluster)) + 1
    starts, ends = np.r_[0, bounds], np.r_[bounds, len(rest)]
    for a, b, r, c in zip(starts.tolist(), ends.tolist(), nr_k.tolist(), nc_k.tolist(), strict=True):
        m = np.full((r, c), np.inf)
        m[lr[a:b], lc[a:b]] = cost[rest[a:b]]
        chosen = np.full((r, c), -1, np.int64)
        chosen[lr[a:b], lc[a:b]] = rest[a:b]
        pick_r, pick_c = assign(m, miss_cost)
        keep[chosen[pick_r, pick_c]] = True
    return keep


def _local(cluster: np.ndarray, unit: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For items sorted by ``cluster``: each item's ``unit`` numbered within its cluster, and the number of
    units of each cluster (in cluster order)."""
    base = int(unit.max()) + 1
    u, inv = np.unique(cluster * base + unit, return_inverse=True)
    uc = u // base
    first = np.searchsorted(uc, uc)
    return inv - first[inv], np.unique(uc, return_counts=True)[1]


def ray_covariance(xy: np.ndarray, cam_xy: np.ndarray, sigma: np.ndarray, lateral: float) -> np.ndarray:
    """Covariance rows ``[xx, xy, yy]`` of ground points ``xy`` (N, 2) seen from ``cam_xy`` (N, 2): variance
    ``sigma**2`` along the ray from the camera, ``(lateral * sigma)**2`` across it; round (``sigma**2``
    both ways) where the camera's position is unknown or under the point.

    >>> ray_covariance(np.array([[10.0, 0.0]]), np.zeros((1, 2)), np.array([2.0]), 0.5).tolist()
    [[4.0, 0.0, 1.0]]
    """
    u = np.asarray(xy, float) - np.asarray(cam_xy, float)
    n = np.hypot(u[:, 0], u[:, 1])
    ok = np.isfinite(n) & (n > 1e-6)
    u = np.where(ok[:, None], u / np.where(ok, n, 1.0)[:, None], 0.0)
    along, across = sigma ** 2, np.where(ok, (lateral * sigma) ** 2, sigma ** 2)
    cov = np.empty((len(u), 3))
    cov[:, 0] = across + (along - across) * u[:, 0] ** 2
    cov[:, 1] = (along - across) * u[:, 0] * u[:, 1]
    cov[:, 2] = across + (along - across) * u[:, 1] ** 2
    return cov


def mahalanobis2(d: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """Squared Mahalanobis length of each difference ``d`` (N, 2) under covariance rows ``cov`` (N, 3).

    >>> mahalanobis2(np.array([[2.0, 1.0]]), np.array([[4.0, 0.0, 1.0]])).tolist()
    [2.0]
    """
    det = cov[:, 0] * cov[:, 2] - cov[:, 1] ** 2
    q = cov[:, 2] * d[:, 0] ** 2 - 2.0 * cov[:, 1] * d[:, 0] * d[:, 1] + cov[:, 0] * d[:, 1] ** 2
    return q / det


class PairOffsets:
    """Running mean of ``x_a - x_b`` for the linked tracks of each pair of cameras ``(a, b)`` (antisymmetric:
    the offset of ``(b, a)`` is minus that of ``(a, b)``), over about the last ``window`` linked points;
    ``of`` gives 0 until a pair has ``min_n`` of them."""

    def __init__(self, *, window: int = 200, min_n: int = 20) -> None:
        self.window, self.min_n = int(window), int(min_n)
        self.mean = np.zeros((0, 0, 2))
        self.n = np.zeros((0, 0))

    def _fit(self, cameras: int) -> None:
        k = len(self.n)
        if cameras > k:
            mean, n = np.zeros((cameras, cameras, 2)), np.zeros((cameras, cameras))
            mean[:k, :k], n[:k, :k] = self.mean, self.n
            self.mean, self.n = mean, n

    def of(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """The learnt offsets (N, 2) of camera pairs ``(a[k], b[k])``."""
        if self.window <= 0 or not len(a):
            return np.zeros((len(a), 2))
        self._fit(int(max(a.max(), b.max())) + 1)
        return np.where((self.n[a, b] >= self.min_n)[:, None], self.mean[a, b], 0.0)

    def learn(self, a: np.ndarray, b: np.ndarray, d: np.ndarray) -> None:
        """Take one instant's differences ``d`` (N, 2) = ``x_a - x_b`` of linked tracks of cameras ``a`` and
        ``b`` (a camera pair's differences now are one step of its running mean, weighted by their number).

        >>> po = PairOffsets(window=10, min_n=1)
        >>> po.learn(np.array([0, 0]), np.array([1, 1]), np.array([[1.0, 0.0], [3.0, 0.0]]))
        >>> po.of(np.array([1]), np.array([0])).tolist()
        [[-2.0, 0.0]]
        """
        if self.window <= 0 or not len(a):
            return
        a, b = np.r_[a, b], np.r_[b, a]
        d = np.vstack([d, -d])
        self._fit(int(a.max()) + 1)
        c = len(self.n)
        code = a * c + b
        u, inv, k = np.unique(code, return_inverse=True, return_counts=True)
        ua, ub = u // c, u % c
        mean_now = np.column_stack([np.bincount(inv, weights=d[:, q]) for q in (0, 1)]) / k[:, None]
        n = np.minimum(self.n[ua, ub] + k, self.window)
        self.mean[ua, ub] += (mean_now - self.mean[ua, ub]) * (k / n)[:, None]
        self.n[ua, ub] = n
