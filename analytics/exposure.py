"""People exposed around a point, estimated from what the sensors sense (never from the ground truth).

Two inputs, both what the analytics already produce on a live feed or a recorded one:

- the crowd detector's density estimates per zone, its ``history`` rows ``(t, zone, people)``
  (``Exposure.observe``); the latest estimate of each zone counts while it is at most ``max_age_s`` old;
- optionally the ground positions of the persons a camera tracks in one frame (``Exposure.observe_points``),
  which cover the places outside every zone; the latest frame of each camera counts for ``points_max_age_s``.

``Exposure.exposed(xy, radius_m, t)`` is the expected number of people within ``radius_m`` of ``xy`` and its
1-sigma uncertainty. Assumptions (each a stated simplification, not a measurement):

1. **Uniform spread.** A zone's people are spread uniformly over its area: the estimate is a count per zone
   and says nothing about where in the zone they stand. The people of a zone in a circle are then its density
   times the area of the circle inside the zone (shapely intersections; the circle is a 128-gon whose radius
   is scaled so its area is exactly pi r^2, and the areas are cached per circle for each zone face).
2. **Overlapping zones.** The crowd detector counts a person in every zone that holds them, so where zones
   overlap (a point asset's 25 m disc on a square, a school inside a campus) adding the zones would count the
   overlap twice. The zones are cut into disjoint faces (``shapely.polygonize`` of their noded boundaries)
   and the faces' densities are fitted to every fresh zone count at once by iterative proportional fitting
   (Deming and Stephan 1940, in its simultaneous form, generalised iterative scaling of Darroch and Ratcliff
   1972) from a uniform start. Without overlaps each zone is one face and this is exactly its count over its
   area. A face in no fresh zone has no estimate and counts 0.
3. **Tracked points outside zones** are people seen there now. Inside a zone they are already in its count
   and are dropped. Points of different cameras closer than ``merge_m`` may be one person seen twice
   (overlapping views): such linked points count as many persons as the camera that sees most of them (a
   camera's own points are distinct people).
4. **Unsensed ground counts 0**: the estimate is a lower bound where the circle is poorly covered;
   ``Exposure.coverage`` says which share of the circle lies in zones with a fresh estimate.
5. **Uncertainty**: the placement of a face's people (each uniform and independent in its face: binomial
   variance ``n (1 - p)`` for ``n`` expected in the circle, ``p`` the face's share in it) plus a relative
   count error of the zone estimates (``count_rel_sigma``) and of the tracked points
   (``points_rel_sigma``), each taken as fully correlated (a detector's miss rate under occlusion
   undercounts every zone alike).
6. **The present.** Only each zone's latest estimate and each camera's latest frame are kept: a query at
   ``t`` uses those at most ``max_age_s`` (``points_max_age_s``) older than ``t``, and one newer than ``t``
   as it is (the engine asks about the present, not the past).

Every output is finite; inputs that are not raise ``ExposureError``.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from scipy import sparse
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

__all__ = ["Exposure", "ExposureError", "ExposureParams"]

#: Vertices of the polygon that stands for a circle, and the radius factor giving it the circle's area.
_CIRCLE_N = 128
_CIRCLE_SCALE = math.sqrt(2 * math.pi / (_CIRCLE_N * math.sin(2 * math.pi / _CIRCLE_N)))


class ExposureError(ValueError):
    """An exposure input that is not usable (a negative or non-finite count, time, radius or point)."""


@dataclass(frozen=True, slots=True)
class ExposureParams:
    """Exposure estimation.

    Parameters
    ----------
    max_age_s : a zone estimate counts while at most this old (default 60 s: six of the crowd detector's 10-s
        history samples; a crowd moves on in minutes).
    points_max_age_s : a camera's latest frame of tracked points counts while at most this old (default 2 s:
        tracked frames come at several per second; older positions are not where people are now).
    merge_m : points of different cameras closer than this are one person (default 1.0 m: the order of the
        ground-projection error of a foot point; assumed).
    count_rel_sigma : relative 1-sigma error of a zone estimate (default 0.15; assumed: occlusion makes
        track counts undercount dense crowds).
    points_rel_sigma : relative 1-sigma error of the tracked-point count (default 0.2; assumed: missed and
        split tracks).
    fit_iterations, fit_tol : iterative proportional fitting of overlapping zones stops after this many
        sweeps or when every fresh zone's fitted total is within ``fit_tol`` (relative) of its count.
    cache_size : circles whose face intersection areas are kept (least recently used dropped).
    """

    max_age_s: float = 60.0
    points_max_age_s: float = 2.0
    merge_m: float = 1.0
    count_rel_sigma: float = 0.15
    points_rel_sigma: float = 0.2
    fit_iterations: int = 200
    fit_tol: float = 1e-6
    cache_size: int = 4096


def _finite(name: str, value: Any, *, minimum: float | None = None) -> float:
    """``value`` as a float, checked finite (and ``>= minimum``), else ``ExposureError`` naming ``name``."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ExposureError(f"{name}: not a number: {value!r}") from None
    if not math.isfinite(v) or (minimum is not None and v < minimum):
        bound = "" if minimum is None else f" and >= {minimum:g}"
        raise ExposureError(f"{name}: must be finite{bound}, got {value!r}")
    return v


def _polygon(name: str, poly: Any) -> Any:
    """A valid shapely geometry of a zone given as a shapely polygon or a ring of (x, y) vertices."""
    try:
        geom = poly if isinstance(poly, shapely.Geometry) else shapely.Polygon(np.asarray(poly, dtype=float))
    except (TypeError, ValueError) as exc:
        raise ExposureError(f"zones[{name!r}]: not a polygon ({exc})") from None
    return geom if geom.is_valid else shapely.make_valid(geom)


def _faces(polys: list[Any]) -> tuple[np.ndarray, sparse.csr_matrix]:
    """Disjoint faces of the zones' overlay and the (zones x faces) membership matrix.

    >>> sq = lambda x0: [[x0, 0], [x0 + 10, 0], [x0 + 10, 10], [x0, 10]]
    >>> faces, member = _faces([shapely.Polygon(sq(0)), shapely.Polygon(sq(5))])
    >>> zones_per_face = member.toarray().sum(axis=0).astype(int)
    >>> sorted(shapely.area(faces).round(6).tolist()), sorted(zones_per_face.tolist())
    ([50.0, 50.0, 50.0], [1, 1, 2])
    """
    if not polys:
        return np.empty(0, dtype=object), sparse.csr_matrix((0, 0))
    lines = shapely.union_all(shapely.boundary(np.array(polys, dtype=object)))
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(lines)))
    faces = faces[shapely.area(faces) > 0]
    pts = shapely.point_on_surface(faces)
    zi, fi = shapely.STRtree(pts).query(np.array(polys, dtype=object), predicate="contains")
    keep = np.zeros(len(faces), dtype=bool)
    keep[fi] = True
    new = np.cumsum(keep) - 1  # faces in no zone (the holes a ring of zones encloses) are dropped
    member = sparse.csr_matrix((np.ones(len(zi)), (zi, new[fi])), shape=(len(polys), int(keep.sum())))
    return faces[keep], member


class Exposure:
    """People exposed around a point, from zone density estimates and tracked points (module docstring).

    Parameters
    ----------
    zones : zone name -> polygon (a ring of ``[x, y]`` metres, or a shapely polygon), the crowd detector's
        zones.
    params : the estimation parameters.

    Examples
    --------
    100 people in a 100 m x 100 m zone, a 10 m circle inside it, and one on its edge:

    >>> ex = Exposure({"sq": [[0, 0], [100, 0], [100, 100], [0, 100]]})
    >>> ex.observe(0.0, "sq", 100.0)
    >>> round(ex.exposed((50, 50), 10.0, t=5.0)[0], 3), round(ex.exposed((0, 50), 10.0, t=5.0)[0], 3)
    (3.142, 1.571)
    """

    def __init__(self, zones: Mapping[str, Any] | None, *, params: ExposureParams = ExposureParams()) -> None:
        self.p = params
        self.names: list[str] = list(zones or {})
        self._index = {n: i for i, n in enumerate(self.names)}
        polys = [_polygon(n, zones[n]) for n in self.names] if zones else []
        # a degenerate zone (no area) has no people to spread: it becomes empty and holds no face
        polys = [g if g.area > 0 else shapely.Polygon() for g in polys]
        self.areas = np.array([g.area for g in polys], dtype=float)
        self._faces, self._member = _faces(polys)
        self._face_area = shapely.area(self._faces).astype(float) if len(self._faces) else np.zeros(0)
        self._face_tree = shapely.STRtree(self._faces) if len(self._faces) else None
        union = shapely.union_all(np.array(polys, dtype=object)) if polys else None
        self._union = None if union is None or union.is_empty else union
        if self._union is not None:
            shapely.prepare(self._union)
        self._t = np.full(len(self.names), -np.inf)  # time of each zone's latest estimate
        self._n = np.zeros(len(self.names))          # its people
        self._version = 0
        self._fit_key: tuple[int, bytes] | None = None
        self._density = np.zeros(len(self._faces))
        self._circles: OrderedDict[tuple[float, float, float], tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self._cams: dict[str, tuple[float, np.ndarray]] = {}
        #: Observations of zones not among ``zones`` (name -> how many): they have no area to spread over.
        self.unknown_zones: dict[str, int] = {}

    # -- inputs -------------------------------------------------------------------------------------------

    def observe(self, t: float, zone: str, people: float) -> None:
        """Take one density estimate (a crowd detector ``history`` row); an older one than held is ignored.

        Raises
        ------
        ExposureError
            If ``t`` is not finite or ``people`` is negative or not finite.
        """
        t = _finite("t", t)
        people = _finite("people", people, minimum=0.0)
        i = self._index.get(zone)
        if i is None:
            self.unknown_zones[zone] = self.unknown_zones.get(zone, 0) + 1
            return
        if t >= self._t[i]:
            self._t[i], self._n[i] = t, people
            self._version += 1

    def observe_points(self, t: float, xy: Sequence[Sequence[float]] | np.ndarray, *,
                       camera: str = "") -> None:
        """Take the ground positions (N, 2) of the persons one camera tracks in a frame at ``t``.

        The frame replaces the camera's previous one. Points inside a zone (counted by its estimate) and
        points that are not finite (a ray that missed the ground) are dropped.

        Raises
        ------
        ExposureError
            If ``t`` is not finite or ``xy`` is not (N, 2).
        """
        t = _finite("t", t)
        try:
            pts = np.asarray(xy, dtype=float).reshape(-1, 2)
        except ValueError:
            raise ExposureError(f"xy: not an (N, 2) array of points (camera {camera!r})") from None
        pts = pts[np.isfinite(pts).all(axis=1)]
        if self._union is not None and len(pts):
            pts = pts[~shapely.contains_xy(self._union, pts[:, 0], pts[:, 1])]
        held = self._cams.get(camera)
        if held is None or t >= held[0]:
            self._cams[camera] = (t, pts)

    # -- estimates ----------------------------------------------------------------------------------------

    def exposed(self, xy: Sequence[float], radius_m: float, t: float) -> tuple[float, float]:
        """Expected people within ``radius_m`` of ``xy`` at ``t`` and the 1-sigma uncertainty of that.

        Raises
        ------
        ExposureError
            If ``xy``, ``radius_m`` or ``t`` is not finite, or the radius is negative.
        """
        x, y, r, t = self._query(xy, radius_m, t)
        faces, inter = self._circle(x, y, r)
        d = self._fit(t)[faces]
        n = d * inter
        p = inter / self._face_area[faces] if len(faces) else inter
        zone_people = float(n.sum())
        placement = float((n * np.clip(1.0 - p, 0.0, 1.0)).sum())
        pts = self._points_in(x, y, r, t)
        var = placement + (self.p.count_rel_sigma * zone_people) ** 2 + (self.p.points_rel_sigma * pts) ** 2
        return zone_people + pts, math.sqrt(max(var, 0.0))

    def coverage(self, xy: Sequence[float], radius_m: float, t: float) -> float:
        """Share (0..1) of the circle's area inside zones with a fresh estimate at ``t`` (1.0 for radius 0
        inside one, 0.0 outside)."""
        x, y, r, t = self._query(xy, radius_m, t)
        if r == 0:
            if self._face_tree is None:
                return 0.0
            faces = self._face_tree.query(shapely.Point(x, y), predicate="intersects")
            return 1.0 if self._fresh_faces(t)[faces].any() else 0.0
        faces, inter = self._circle(x, y, r)
        fresh = self._fresh_faces(t)[faces]
        return float(min(1.0, inter[fresh].sum() / (math.pi * r * r)))

    def zone_people(self, zone: str, t: float) -> tuple[float, float] | None:
        """The latest estimate of ``zone`` and its 1-sigma count error, or None if it has none fresh at
        ``t`` (or is not a known zone)."""
        i = self._index.get(zone)
        if i is None or t - self._t[i] > self.p.max_age_s:
            return None
        n = float(self._n[i])
        return n, self.p.count_rel_sigma * n

    # -- internals ----------------------------------------------------------------------------------------

    def _query(self, xy: Sequence[float], radius_m: float, t: float) -> tuple[float, float, float, float]:
        try:
            x, y = (float(v) for v in xy)
        except (TypeError, ValueError):
            raise ExposureError(f"xy: not a point [x, y]: {xy!r}") from None
        return (_finite("xy[0]", x), _finite("xy[1]", y), _finite("radius_m", radius_m, minimum=0.0),
                _finite("t", t))

    def _circle(self, x: float, y: float, r: float) -> tuple[np.ndarray, np.ndarray]:
        """Faces the circle meets and the area of each inside it (cached per circle)."""
        key = (round(x, 2), round(y, 2), round(r, 2))
        hit = self._circles.get(key)
        if hit is not None:
            self._circles.move_to_end(key)
            return hit
        if self._face_tree is None or r == 0:
            out = (np.zeros(0, dtype=np.intp), np.zeros(0))
        else:
            disc = shapely.Point(x, y).buffer(r * _CIRCLE_SCALE, quad_segs=_CIRCLE_N // 4)
            faces = self._face_tree.query(disc, predicate="intersects")
            out = (faces, shapely.area(shapely.intersection(self._faces[faces], disc)).astype(float))
        self._circles[key] = out
        if len(self._circles) > self.p.cache_size:
            self._circles.popitem(last=False)
        return out

    def _fresh(self, t: float) -> np.ndarray:
        return (t - self._t) <= self.p.max_age_s

    def _fresh_faces(self, t: float) -> np.ndarray:
        fresh = self._fresh(t)
        if not len(self._face_area):
            return np.zeros(0, dtype=bool)
        return np.asarray(self._member[np.flatnonzero(fresh)].sum(axis=0)).ravel() > 0

    def _fit(self, t: float) -> np.ndarray:
        """Face densities (persons/m²) fitted to the fresh zone counts (module docstring, assumption 2)."""
        fresh = self._fresh(t)
        key = (self._version, fresh.tobytes())
        if key == self._fit_key:
            return self._density
        rows = np.flatnonzero(fresh & (self.areas > 0))
        m = self._member[rows]
        n = self._n[rows]
        a = self._face_area
        covered = np.asarray(m.sum(axis=0)).ravel()
        zero = np.asarray(m[n == 0].sum(axis=0)).ravel() > 0
        d = np.where((covered > 0) & ~zero, 1.0, 0.0)
        k = np.maximum(covered, 1.0)
        mt = m.T.tocsr()
        for _ in range(self.p.fit_iterations):
            total = m @ (d * a)
            ok = (total > 0) & (n > 0)
            logr = np.zeros(len(n))
            logr[ok] = np.log(n[ok] / total[ok])
            if not ok.any() or np.abs(np.expm1(logr[ok])).max() <= self.p.fit_tol:
                break
            d = d * np.exp((mt @ logr) / k)
        self._density = np.where(np.isfinite(d), d, 0.0)
        self._fit_key = key
        return self._density

    def _points_in(self, x: float, y: float, r: float, t: float) -> float:
        """Distinct tracked persons outside zones within ``r`` of (x, y).

        Points of different cameras within ``merge_m`` of each other are linked; a linked group holds as many
        persons as the camera that sees most of them there (each camera's own points are distinct people).
        """
        live = [pts for tc, pts in self._cams.values() if t - tc <= self.p.points_max_age_s and len(pts)]
        if not live:
            return 0.0
        pts = np.concatenate(live)
        cam = np.repeat(np.arange(len(live)), [len(p) for p in live])
        pairs = cKDTree(pts).query_pairs(self.p.merge_m, output_type="ndarray")
        pairs = pairs[cam[pairs[:, 0]] != cam[pairs[:, 1]]]
        g = sparse.coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(len(pts), len(pts)))
        ncomp, label = connected_components(g, directed=False)
        inside = ((pts[:, 0] - x) ** 2 + (pts[:, 1] - y) ** 2 <= r * r).astype(float)
        per_cam = np.zeros((ncomp, len(live)))
        np.add.at(per_cam, (label, cam), inside)
        return float(per_cam.max(axis=1).sum())
