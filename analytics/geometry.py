"""Ground-plane geometry: homography projection of bbox foot points (undistorted first when the camera's
calibration has lens coefficients), zone polygons, lon/lat projection."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import shapely

__all__ = ["Carriageways", "GroundProjector", "LonLatProjector", "Zones", "apply_homography",
           "boxes_and_shifted_many", "camera_position", "foot_points", "undistort_points"]


def apply_homography(h: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Map (N, 2) points through a 3x3 homography; points mapping to infinity come back as NaN.

    >>> apply_homography(np.diag([2.0, 2.0, 1.0]), np.array([[1.0, 3.0]])).tolist()
    [[2.0, 6.0]]
    """
    h = np.asarray(h, dtype=float)
    pts = np.asarray(pts, dtype=float).reshape(-1, 2)
    hom = pts @ h[:, :2].T + h[:, 2]
    w = hom[:, 2:3]
    with np.errstate(divide="ignore", invalid="ignore"):
        out = hom[:, :2] / w
    out[np.abs(w[:, 0]) < 1e-12] = np.nan
    return out


def undistort_points(pts: np.ndarray, camera_matrix: np.ndarray, dist_coeffs,
                     iterations: int = 20) -> np.ndarray:
    """Pinhole pixels (N, 2) of pixels ``pts`` seen through a lens with OpenCV's radial coefficients
    ``dist_coeffs = [k1, k2]`` (further terms, if given, must be 0) and intrinsics ``camera_matrix``: what
    ``cv2.undistortPoints(pts, K, dist, P=K)`` computes, solved exactly. A distorted radius ``r_d`` comes from
    the pinhole radius ``r`` as ``r_d = r (1 + k1 r^2 + k2 r^4)`` in normalised coordinates; ``r`` is found by
    Newton's method from ``r_d``; points with no root before the model folds (distorted radius stops
    growing) come back as NaN.

    >>> K = np.array([[1000.0, 0, 960], [0, 1000.0, 540], [0, 0, 1]])
    >>> undistort_points(np.array([[960.0, 540.0], [1460.0, 540.0]]), K, [-0.2, 0.0]).round(2).tolist()
    [[960.0, 540.0], [1489.73, 540.0]]
    """
    p = np.asarray(pts, dtype=float).reshape(-1, 2)
    d = np.zeros(2) if dist_coeffs is None else np.asarray(dist_coeffs, dtype=float).ravel()
    if len(d) > 2 and np.any(d[2:] != 0):
        raise ValueError("undistort_points: only the radial k1, k2 terms are supported")
    k1, k2 = (float(d[0]) if len(d) else 0.0), (float(d[1]) if len(d) > 1 else 0.0)
    if not (k1 or k2) or not len(p):
        return p.copy()
    K = np.asarray(camera_matrix, dtype=float)
    return _undistort(p, (K[0, 2], K[1, 2], K[0, 0], K[1, 1], k1, k2), iterations)


def _undistort(p: np.ndarray, lens: tuple, iterations: int = 20) -> np.ndarray:
    """``undistort_points``' Newton solve for points ``p`` (N, 2) with ``lens`` = (cx, cy, fx, fy, k1, k2),
    each a number or one value per point (the same arithmetic either way). All points step together until
    none changes any more: a point at its fixed point stays there, so each gets the value its own call
    would give."""
    cx, cy, fx, fy, k1, k2 = lens
    x, y = (p[:, 0] - cx) / fx, (p[:, 1] - cy) / fy
    rd = np.hypot(x, y)
    r = rd.copy()
    for _ in range(iterations):
        r2 = r * r
        g = r * (1 + k1 * r2 + k2 * r2 * r2) - rd
        dg = 1 + 3 * k1 * r2 + 5 * k2 * r2 * r2
        r_next = r - g / np.where(np.abs(dg) > 1e-9, dg, 1e-9)
        if np.array_equal(r_next, r, equal_nan=True):  # a fixed point: no step changes r any more
            break
        r = r_next
    r2 = r * r
    ok = (np.abs(r * (1 + k1 * r2 + k2 * r2 * r2) - rd) < 1e-9 * np.maximum(rd, 1.0)) & (r >= 0)
    ok &= 1 + 3 * k1 * r2 + 5 * k2 * r2 * r2 > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.where(ok, np.where(rd > 0, r / rd, 1.0), np.nan)
    return np.column_stack([cx + fx * x * s, cy + fy * y * s])


def foot_points(bboxes: np.ndarray) -> np.ndarray:
    """Foot point (x + w/2, y + h) of each ``[x, y, w, h]`` box: where the target touches the ground."""
    b = np.asarray(bboxes, dtype=float).reshape(-1, 4)
    return np.column_stack([b[:, 0] + b[:, 2] / 2.0, b[:, 1] + b[:, 3]])


class GroundProjector:
    """Image pixels -> ground (projected metres) for one camera: undistort (``undistort_points``, when the
    calibration gives ``camera_matrix`` and non-zero ``dist_coeffs``) then the ``image_to_ground`` homography.

    A calibration record without lens fields (older records, or a real feed that publishes none) is read as
    a distortion-free lens.
    """

    def __init__(self, image_to_ground: np.ndarray, camera_matrix: np.ndarray | None = None,
                 dist_coeffs: Sequence[float] | None = None) -> None:
        self.image_to_ground = np.asarray(image_to_ground, dtype=float)
        k = np.zeros(2) if dist_coeffs is None else np.asarray(dist_coeffs, dtype=float).ravel()
        self.dist_coeffs = k if camera_matrix is not None and np.any(k != 0) else None
        self.camera_matrix = None if self.dist_coeffs is None else np.asarray(camera_matrix, dtype=float)

    @classmethod
    def from_record(cls, rec: Mapping) -> GroundProjector | None:
        """The projector of a ``camera/calibration`` record (None if it has no ``image_to_ground``)."""
        h = rec.get("image_to_ground")
        if h is None:
            return None
        return cls(h, rec.get("camera_matrix"), rec.get("dist_coeffs"))

    def pixels(self, pts: np.ndarray) -> np.ndarray:
        """Ground points (N, 2) of image pixels (N, 2); NaN where the ray misses the ground."""
        p = np.asarray(pts, dtype=float).reshape(-1, 2)
        if self.dist_coeffs is not None:
            p = undistort_points(p, self.camera_matrix, self.dist_coeffs)
        return apply_homography(self.image_to_ground, p)

    def boxes(self, xywh: np.ndarray) -> np.ndarray:
        """Ground points (N, 2) of the foot points of ``[x, y, w, h]`` boxes."""
        return self.pixels(foot_points(xywh))

    def boxes_and_shifted(self, xywh: np.ndarray, shift: float) -> tuple[np.ndarray, np.ndarray]:
        """Ground points of the foot points and of the foot points moved down by ``shift`` x box height,
        in one projection (the same numbers as two ``pixels`` calls)."""
        b = np.asarray(xywh, dtype=float).reshape(-1, 4)
        feet = foot_points(b)
        shifted = feet + np.column_stack([np.zeros(len(b)), shift * b[:, 3]])
        both = self.pixels(np.vstack([feet, shifted]))
        return both[: len(b)], both[len(b):]


def boxes_and_shifted_many(
    projectors: Sequence[GroundProjector], boxes: Sequence[np.ndarray], shift: float
) -> list[tuple[np.ndarray, np.ndarray] | Exception]:
    """``projectors[i].boxes_and_shifted(boxes[i], shift)`` for every ``i`` (many cameras' frames), the same
    numbers, with the lens undistortion of all of them done in one pass (``_undistort`` with each point's
    own lens); an exception that call would raise comes back in its place."""
    b = [np.asarray(x, dtype=float).reshape(-1, 4) for x in boxes]
    cut = np.cumsum([0, *(len(x) for x in b)])
    every = np.concatenate([np.empty((0, 4)), *b])
    feet = foot_points(every)
    shifted = feet + np.column_stack([np.zeros(len(every)), shift * every[:, 3]])
    pts = [np.vstack([feet[cut[i] : cut[i + 1]], shifted[cut[i] : cut[i + 1]]]) for i in range(len(b))]
    out: list[tuple[np.ndarray, np.ndarray] | Exception | None] = [None] * len(b)
    lens, lensed = [], []
    for i, proj in enumerate(projectors):
        d = proj.dist_coeffs
        if d is not None and len(d) > 2 and np.any(d[2:] != 0):
            try:  # undistort_points refuses the lens: the error as the call raises it
                out[i] = proj.boxes_and_shifted(b[i], shift)
            except Exception as exc:  # noqa: BLE001 - returned in the frame's place
                out[i] = exc
        elif d is not None and len(pts[i]):
            K = proj.camera_matrix
            lensed.append(i)
            lens.append((K[0, 2], K[1, 2], K[0, 0], K[1, 1], float(d[0]) if len(d) else 0.0,
                         float(d[1]) if len(d) > 1 else 0.0))
    if lensed:
        counts = [len(pts[i]) for i in lensed]
        rows = np.repeat(np.array(lens), counts, axis=0)
        flat = _undistort(np.concatenate([pts[i] for i in lensed]), tuple(rows.T))
        for i, part in zip(lensed, np.split(flat, np.cumsum(counts)[:-1]), strict=True):
            pts[i] = part.copy()
    for i, proj in enumerate(projectors):
        if out[i] is None:
            both = apply_homography(proj.image_to_ground, pts[i])
            out[i] = both[: len(b[i])], both[len(b[i]) :]
    return out  # type: ignore[return-value]


class Zones:
    """Named ground polygons (projected metres) with vectorised point-in-polygon tests."""

    def __init__(self, polygons: Mapping[str, Sequence[Sequence[float]]] | None) -> None:
        self.names: list[str] = list(polygons or {})
        self.polygons = [shapely.Polygon(polygons[n]) for n in self.names] if polygons else []
        for p in self.polygons:
            shapely.prepare(p)
        self.areas = np.array([p.area for p in self.polygons], dtype=float)
        # bounding-box index: a batch of points is tested only against the zones whose box holds it
        self._geoms = np.array(self.polygons, dtype=object)
        self._tree = shapely.STRtree(self._geoms) if self.polygons else None

    def __len__(self) -> int:
        return len(self.names)

    def contains(self, xy: np.ndarray) -> np.ndarray:
        """Boolean (n_zones, N): point j lies inside zone i (NaN points are outside).

        One STRtree box query of all points, then one ``contains_xy`` over the candidate pairs.
        """
        xy = np.asarray(xy, dtype=float).reshape(-1, 2)
        out = np.zeros((len(self.polygons), len(xy)), dtype=bool)
        if self._tree is None or not len(xy):
            return out
        ok = np.flatnonzero(np.isfinite(xy).all(axis=1))
        if not len(ok):
            return out
        pts, zs = self._tree.query(shapely.points(xy[ok]))
        if len(pts):
            j = ok[pts]
            out[zs, j] = shapely.contains_xy(self._geoms[zs], xy[j, 0], xy[j, 1])
        return out


class Carriageways:
    """The ground streets cover (polygons in projected metres): how far points lie off every street."""

    def __init__(self, polygons: Sequence[Sequence[Sequence[float]]] | None) -> None:
        polys = [shapely.Polygon(p) for p in polygons or []]
        self._union = shapely.union_all(polys) if polys else None
        if self._union is not None:
            shapely.prepare(self._union)

    def __len__(self) -> int:
        return 0 if self._union is None else 1

    def distance(self, xy: np.ndarray) -> np.ndarray:
        """Metres from each point to the nearest carriageway (0 on one; inf with none or a NaN point)."""
        xy = np.asarray(xy, dtype=float).reshape(-1, 2)
        out = np.full(len(xy), np.inf)
        ok = np.isfinite(xy).all(axis=1)
        if self._union is not None and ok.any():
            out[ok] = shapely.distance(self._union, shapely.points(xy[ok]))
        return out


class LonLatProjector:
    """Projected metres in ``crs`` to WGS84 lon/lat (pyproj); with no CRS every answer is ``None``."""

    def __init__(self, crs: str | int | None) -> None:
        self._tr = None
        if crs is not None:
            from pyproj import Transformer

            self._tr = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)

    def __call__(self, xy: Sequence[float] | None) -> list[float] | None:
        if self._tr is None or xy is None:
            return None
        lon, lat = self._tr.transform(float(xy[0]), float(xy[1]))
        return [round(float(lon), 7), round(float(lat), 7)]


def camera_position(record: dict) -> tuple[float, float] | None:
    """The ground position ``xy`` (metres) a ``camera/calibration`` record gives, if it is a finite pair.

    >>> camera_position({"xy": [385000.0, 6672000.0]}), camera_position({"xy": [1.0, float("nan")]})
    ((385000.0, 6672000.0), None)
    """
    xy = record.get("xy")
    if xy is None or len(xy) != 2 or not np.isfinite(np.asarray(xy, float)).all():
        return None
    return float(xy[0]), float(xy[1])
