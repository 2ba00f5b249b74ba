"""The analytics' work cut into units that share no detector state, so worker processes can share it out.

A unit is one *bundle* of detectors (a detector with every detector it reads the state of: the crowd
anomalies read the density detector's estimates) over one *group* of cameras, or over the whole stream:

- camera detectors (those reading ``camera/frame``, ``camera/calibration``, ``track/frame``; the crowd ones
  also ``counter/area`` of their zones) run once per camera group. Cameras are in one group when they could
  feed one detector state: their views (a disc of ``reach_m`` about each camera) come within the largest
  episode radius of any camera detector (``couple_m``; alerts that near are one episode across cameras), or
  both reach one crowd zone (a zone's density is the largest count over the cameras that see it). The groups
  are the connected components of that relation.
- every other detector (acoustic, which needs all microphones; the cyber detectors) is one unit over the
  whole stream. The cyber detectors keep clocks over all hosts (DoS bins, port-scan windows, stream-loss
  silence checks, forgetting), so a cut by host would change when their alerts come; they are cut by
  detector instead.

The units depend on the cameras, zones and detectors only, never on the number of workers: the workers
only decide which process hosts which unit (``Placement``), so the alerts are the same for any number.
A camera first met after the start (no record given to ``Partition.start``) joins the group its view
touches (the lowest-numbered one if several: then that group and the others are no longer apart, which
``Partition.merged`` counts), or a group of its own.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from scipy.spatial import cKDTree

from analytics.base import Detector, DetectorContext, EpisodeFilter, Polygon
from analytics.params import AnalyticsParams

__all__ = ["CAMERA_TOPICS", "COUNTER_TOPIC", "Bundle", "Partition", "PartitionError", "PartitionParams",
           "Placement", "Unit", "bundles", "camera_groups"]

log = logging.getLogger("analytics.partition")

#: Topics of one camera's messages: they go to the units of the camera's group.
CAMERA_TOPICS = frozenset({"camera/frame", "camera/calibration", "track/frame"})
#: Area-counter messages go to the group of their zone (camera detectors may read them).
COUNTER_TOPIC = "counter/area"
#: Relative cost per camera frame of each built-in camera detector, the tracker counting 1 (for placement).
_WEIGHT = {"loitering": 0.7, "density": 0.35, "crowd_anomaly": 0.3, "vehicle": 0.35, "running": 0.3,
           "video_content": 0.2, "abandoned": 0.1, "camera_tamper": 0.05, "zone_intrusion": 0.02}
_DEFAULT_WEIGHT = 0.2
_GLOBAL_WEIGHT = 0.05


class PartitionError(ValueError):
    """A detector set that cannot be partitioned (one line naming the detector)."""


@dataclass(frozen=True, slots=True)
class PartitionParams:
    """How cameras are grouped.

    Parameters
    ----------
    reach_m : how far from its camera a track's ground position may lie (default 150 m, the simulated
        cameras' detection range): the radius of a camera's view.
    couple_m : alerts of different cameras this close share an episode (default None: the largest radius of
        any episode filter of a camera detector, 50 m for the built-in vehicle detector).
    """

    reach_m: float = 150.0
    couple_m: float | None = None


@dataclass(frozen=True, slots=True)
class Bundle:
    """Detectors that must run together (registration order), the topics they read, whether they are camera
    detectors (cut by camera group) and whether one reads every topic (``*``)."""

    names: tuple[str, ...]
    topics: frozenset[str]
    camera: bool
    star: bool


@dataclass(frozen=True, slots=True)
class Unit:
    """One bundle over one camera group (``group``; None: over the whole stream). ``index`` orders units."""

    index: int
    group: int | None
    detectors: tuple[str, ...]


@dataclass
class _Group:
    cameras: list[str] = field(default_factory=list)
    zones: list[str] = field(default_factory=list)
    units: list[int] = field(default_factory=list)


class _ReadLog(dict):
    """The detectors built so far (``DetectorContext.built``), noting which detector reads which."""

    def __init__(self) -> None:
        super().__init__()
        self.current = ""
        self.reads: dict[str, set[str]] = {}

    def __getitem__(self, name: str) -> Detector:
        self.reads.setdefault(self.current, set()).add(name)
        return super().__getitem__(name)


def bundles(params: AnalyticsParams, *, zones: Mapping[str, Polygon] | None = None,
            restricted: Sequence[Polygon] | None = None, roads: Sequence[Polygon] | None = None,
            ) -> tuple[list[Bundle], float]:
    """The bundles of the registered detectors (each built once, to see which reads which) and the largest
    episode radius of a camera detector (m).

    Raises
    ------
    PartitionError
        For a detector that reads camera topics and topics of the whole stream.
    """
    log_ = _ReadLog()
    ctx = DetectorContext(zones=zones, restricted=restricted, roads=roads, built=log_)
    for name, cls in Detector.registered().items():
        log_.current = name
        log_[name] = cls.from_context(ctx, params.of(name))
    names = list(log_)
    root = {n: n for n in names}

    def find(n: str) -> str:
        while root[n] != n:
            n = root[n]
        return n

    for reader, read in log_.reads.items():
        for r in read:
            root[find(reader)] = find(r)
    out: list[Bundle] = []
    for key in dict.fromkeys(find(n) for n in names):
        members = tuple(n for n in names if find(n) == key)
        topics = frozenset(t for n in members for t in dict.__getitem__(log_, n).topics)
        camera = bool(topics & CAMERA_TOPICS)
        if camera and not topics <= CAMERA_TOPICS | {COUNTER_TOPIC}:
            other = sorted(topics - CAMERA_TOPICS - {COUNTER_TOPIC})
            raise PartitionError(f"analytics workers: detector(s) {', '.join(members)} read camera topics "
                                 f"and {', '.join(other)}: they cannot be cut by camera group (workers: 0)")
        out.append(Bundle(members, topics, camera, "*" in topics))
    radius = max([_episode_radius(dict.__getitem__(log_, n)) for b in out if b.camera for n in b.names]
                 or [0.0])
    return out, radius


def _episode_radius(det: Detector) -> float:
    """The largest ``radius_m`` of the episode filters a detector holds (directly or in a dict)."""
    found = []
    for v in getattr(det, "__dict__", {}).values():
        for f in v.values() if isinstance(v, dict) else (v,):
            if isinstance(f, EpisodeFilter) and f.radius_m is not None:
                found.append(float(f.radius_m))
    return max(found or [0.0])


def _position(rec: Mapping[str, Any]) -> tuple[float, float] | None:
    xy = rec.get("xy")
    try:
        x, y = float(xy[0]), float(xy[1])  # type: ignore[index]
    except (TypeError, ValueError, IndexError):
        return None
    return (x, y) if np.isfinite(x) and np.isfinite(y) else None


def camera_groups(cameras: Sequence[Mapping[str, Any]], zones: Mapping[str, Polygon] | None, *,
                  reach_m: float, couple_m: float) -> tuple[list[list[str]], list[list[str]]]:
    """Camera groups and the zones each reaches, from calibration records (``camera_id``, ``xy``).

    Two cameras are linked when their positions are at most ``2 reach_m + couple_m`` apart; a zone links
    every camera within ``reach_m`` of it. Groups are the connected components, each camera's ids sorted,
    groups in order of their first id; a camera without a position is a group of its own.
    """
    ids = list(dict.fromkeys(str(r["camera_id"]) for r in cameras))
    pos = {str(r["camera_id"]): _position(r) for r in cameras}
    root = list(range(len(ids)))

    def find(i: int) -> int:
        while root[i] != i:
            root[i] = root[root[i]]
            i = root[i]
        return i

    def link(i: int, j: int) -> None:
        a, b = find(i), find(j)
        root[max(a, b)] = min(a, b)

    placed = [i for i, c in enumerate(ids) if pos[c] is not None]
    xy = np.array([pos[ids[i]] for i in placed], dtype=float).reshape(-1, 2)
    if len(placed) > 1:
        for a, b in cKDTree(xy).query_pairs(2 * reach_m + couple_m):
            link(placed[a], placed[b])
    reached: dict[str, list[int]] = {}
    points = shapely.points(xy) if len(placed) else None
    for name, poly in (zones or {}).items():
        near = np.flatnonzero(shapely.dwithin(points, shapely.Polygon(poly), reach_m)) if len(placed) else []
        reached[name] = [placed[k] for k in near]
        for k in reached[name][1:]:
            link(reached[name][0], k)
    comps: dict[int, list[str]] = {}
    for i, c in enumerate(ids):
        comps.setdefault(find(i), []).append(c)
    groups = sorted((sorted(g) for g in comps.values()), key=lambda g: g[0])
    where = {c: k for k, g in enumerate(groups) for c in g}
    zone_of = [[] for _ in groups]  # type: list[list[str]]
    for name, cams in reached.items():
        if cams:
            zone_of[where[ids[cams[0]]]].append(name)
    return groups, zone_of


class Partition:
    """The units of a detector set over the cameras and zones met so far (see the module docstring).

    ``start`` makes the groups of the cameras known at the start; ``camera`` and ``zone`` give the group
    of a camera or zone, making a new group (and its units) for one not met before. Each call returns the
    units it made, for ``Placement``.
    """

    def __init__(self, bundles_: Sequence[Bundle], *, zones: Mapping[str, Polygon] | None = None,
                 reach_m: float = 150.0, couple_m: float = 0.0) -> None:
        self.bundles = list(bundles_)
        self.zone_polygons = {k: shapely.Polygon(v) for k, v in (zones or {}).items()}
        self.reach_m, self.couple_m = float(reach_m), float(couple_m)
        self.groups: list[_Group] = []
        self.units: list[Unit] = []
        self.camera_group: dict[str, int] = {}
        self.zone_group: dict[str, int] = {}
        self._xy: dict[str, tuple[float, float]] = {}
        #: cameras met late whose view touched more than one group (the groups are then no longer apart)
        self.merged = 0
        whole = [b for b in self.bundles if not b.camera]
        self.global_units = [self._unit(None, b) for b in whole]
        self._whole = list(zip(self.global_units, whole, strict=True))
        self._for_topic: dict[str, list[Unit]] = {}

    def _unit(self, group: int | None, bundle: Bundle) -> Unit:
        u = Unit(len(self.units), group, bundle.names)
        self.units.append(u)
        if group is not None:
            self.groups[group].units.append(u.index)
        return u

    def _new_group(self, cameras: Iterable[str], zones: Iterable[str]) -> list[Unit]:
        self.groups.append(_Group(list(cameras), list(zones)))
        g = len(self.groups) - 1
        for c in self.groups[g].cameras:
            self.camera_group[c] = g
        for z in self.groups[g].zones:
            self.zone_group[z] = g
        cams = [b for b in self.bundles if b.camera]
        return [self._unit(g, b) for b in cams] or [self._unit(g, Bundle((), frozenset(), True, False))]

    def start(self, cameras: Sequence[Mapping[str, Any]]) -> list[Unit]:
        """The groups of the cameras known at the start (calibration records) and the units over them."""
        if self.groups:
            raise PartitionError("analytics workers: the partition was already started")
        recs = [r for r in cameras if r.get("camera_id") is not None]
        for r in recs:
            if (p := _position(r)) is not None:
                self._xy.setdefault(str(r["camera_id"]), p)
        polys = {k: list(p.exterior.coords) for k, p in self.zone_polygons.items()}
        groups, zones = camera_groups(recs, polys, reach_m=self.reach_m, couple_m=self.couple_m)
        return [u for cams, zs in zip(groups, zones, strict=True) for u in self._new_group(cams, zs)]

    def camera(self, camera_id: str, record: Mapping[str, Any] | None = None) -> tuple[int, list[Unit]]:
        """The group of a camera, placed now (by ``record``'s position, if any) when first met."""
        g = self.camera_group.get(camera_id)
        if g is not None:
            return g, []
        p = _position(record or {})
        touched = set()
        if p is not None:
            far = 2 * self.reach_m + self.couple_m
            touched = {self.camera_group[c] for c, q in self._xy.items() if np.hypot(p[0] - q[0], p[1] - q[1])
                       <= far}
            pt = shapely.Point(p)
            touched |= {self.zone_group[z] for z, poly in self.zone_polygons.items()
                        if z in self.zone_group and shapely.dwithin(pt, poly, self.reach_m)}
            self._xy[camera_id] = p
        if not touched:
            zones = [z for z, poly in self.zone_polygons.items() if z not in self.zone_group and p is not None
                     and shapely.dwithin(shapely.Point(p), poly, self.reach_m)]
            units = self._new_group([camera_id], zones)
            return self.camera_group[camera_id], units
        g = min(touched)
        if len(touched) > 1:
            self.merged += 1
            log.warning("analytics workers: camera %s, met late, sees groups %s: it joins group %d, whose "
                        "alerts may now differ from the in-process pipeline's", camera_id, sorted(touched), g)
        self.groups[g].cameras.append(camera_id)
        self.camera_group[camera_id] = g
        return g, []

    def zone(self, name: str) -> tuple[int, list[Unit]]:
        """The group of a crowd zone (a counter's), a new group without cameras when no camera reaches it."""
        g = self.zone_group.get(name)
        if g is not None:
            return g, []
        units = self._new_group([], [name])
        return self.zone_group[name], units

    def global_for(self, topic: str) -> list[Unit]:
        """The units over the whole stream that read ``topic`` (or every topic)."""
        units = self._for_topic.get(topic)
        if units is None:
            units = self._for_topic[topic] = [u for u, b in self._whole if topic in b.topics or b.star]
        return units


class Placement:
    """Which worker hosts which unit: balanced by estimated cost (tracking each camera a worker needs,
    plus each unit's detectors per camera), never by anything that changes the alerts.

    A big group's units are spread over workers (each then tracks the group's cameras itself); a small
    group's stay together, as do the units made later (a camera or zone met late).
    """

    def __init__(self, workers: int) -> None:
        self.workers = int(workers)
        self.load = [0.0] * self.workers
        self.host: dict[int, int] = {}                       # unit index -> worker
        self.tracks: list[set[int]] = [set() for _ in range(self.workers)]  # groups each worker tracks
        #: per group, the worker that reports its cameras' tracker rows (the first to host one of its units)
        self.home: dict[int, int] = {}

    @staticmethod
    def cost(unit: Unit, cameras: int) -> float:
        if unit.group is None:
            return _GLOBAL_WEIGHT
        return max(1, cameras) * sum(_WEIGHT.get(n, _DEFAULT_WEIGHT) for n in unit.detectors)

    def place(self, partition: Partition, units: Sequence[Unit], *, spread: bool = False) -> None:
        """Host ``units`` (new ones), greedily: the costliest first, each on the worker it loads least.
        With ``spread``, a group whose cost exceeds half a worker's share is split unit by unit."""
        by_group: dict[int | None, list[Unit]] = {}
        for u in units:
            by_group.setdefault(u.group, []).append(u)
        size = {g: max(1, len(partition.groups[g].cameras)) if g is not None else 0 for g in by_group}
        total = sum(self.cost(u, size[u.group]) + (size[u.group] if u.group is not None else 0)
                    for u in units) / max(1, self.workers)
        items: list[tuple[float, int | None, list[Unit]]] = []
        for g, us in by_group.items():
            cost = sum(self.cost(u, size[g]) for u in us)
            split = g is None or (spread and cost + size[g] > total / 2)
            items += [(self.cost(u, size[g]), g, [u]) for u in us] if split else [(cost, g, us)]
        items.sort(key=lambda it: -it[0])  # stable: equal costs keep the units' order
        for cost, g, us in items:
            track = size.get(g, 0)
            w = min(range(self.workers),
                    key=lambda k: (self.load[k] + cost + (track if g is not None and g not in self.tracks[k]
                                                         else 0), k))
            self.load[w] += cost + (track if g is not None and g not in self.tracks[w] else 0)
            if g is not None:
                self.tracks[w].add(g)
                self.home.setdefault(g, w)
            for u in us:
                self.host[u.index] = w

    def hosts(self, group: int) -> list[int]:
        """The workers hosting a unit of ``group`` (each tracks the group's cameras)."""
        return [w for w in range(self.workers) if group in self.tracks[w]]
