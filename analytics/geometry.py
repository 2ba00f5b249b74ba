"""Ground-plane geometry: homography projection of bbox foot points, zone polygons, lon/lat projection."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import shapely

__all__ = ["LonLatProjector", "Zones", "foot_points", "apply_homography"]


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


def foot_points(bboxes: np.ndarray) -> np.ndarray:
    """Foot point (x + w/2, y + h) of each ``[x, y, w, h]`` box: where the target touches the ground."""
    b = np.asarray(bboxes, dtype=float).reshape(-1, 4)
    return np.column_stack([b[:, 0] + b[:, 2] / 2.0, b[:, 1] + b[:, 3]])


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
