"""Crowd counters: line counters (in/out crossings of a segment) and area counters (people in a zone).

Line counter: samples target positions every ``sample_s`` (default 1 s, its ``period_s``) and counts a target
whose straight move between two samples crosses the segment ``a -> b``. ``in`` is a move from the right side
of ``a -> b`` to its left side (for a line drawn west -> east, walking north is ``in``), ``out`` the reverse.
Counts are published as ``counter/line`` ``{sensor_id, t, count_in, count_out}`` every ``report_s`` (default
60 s) and cover the crossings since the previous report.

Area counter: every ``period_s`` (default 60 s) counts targets inside a zone polygon (shapely ``contains_xy``)
and publishes ``counter/area`` ``{sensor_id, t, count, area_m2, capacity, zone}``; ``zone`` is the asset's id
when the counter counts an asset's zone (the name ``crowd_zones.geojson`` and the analytics give that zone),
the counter's id for a drawn polygon, else the place it was put at.

Counting error (documented; ``error=False`` turns it off): a line counter misses each true crossing with
probability ``miss_rate`` (default 0.03) and counts it twice with probability ``double_rate`` (default 0.01),
typical of overhead people counters (95-98 % accuracy); an area counter reports
``round(true x (1 + N(0, rel_sigma)))`` with ``rel_sigma`` = 0.05, never below 0. Only persons are counted
unless ``classes`` says otherwise. Faults: ``offline`` publishes nothing, ``frozen`` repeats the last counts
with the new ``t``, ``degraded`` triples the error.

In a scenario (``sensors.counters``): ``{id, kind: line, at | lonlat, width_m}`` is a ``width_m`` (default
6 m) line across the walk edge nearest to the place (perpendicular to it, centred on the place); ``a``/``b``
(``[x, y]`` metres or PLACEs) or ``edge`` (a street name: across its edge nearest the street's centre) give
the line directly. ``{id, kind: area, zone: [[lon, lat], ...] | at}`` counts people in the polygon, or in the
zone of the asset named by / containing ``at`` (else a ``radius_m`` disc, default 25 m). ``period_s``
(default 60 s) is the report period.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import shapely

from agents.world import PERSON, WorldView
from sensors.base import Sensor, SensorError
from sensors.kinds import PlacementContext, Planned, SensorKind
from twin.model import TwinError

__all__ = ["AreaCounter", "AreaCounterSpec", "Counters", "LineCounter", "LineCounterSpec"]


def _cross(ax: np.ndarray, ay: np.ndarray, bx: np.ndarray, by: np.ndarray) -> np.ndarray:
    return ax * by - ay * bx


class LineCounter(Sensor):
    """In/out counts of targets crossing the segment ``a -> b`` (see the module docstring)."""

    kind = "counter_line"

    def __init__(self, sensor_id: str, a: Sequence[float], b: Sequence[float], *, rng: np.random.Generator,
                 sample_s: float = 1.0, report_s: float = 60.0, error: bool = True, miss_rate: float = 0.03,
                 double_rate: float = 0.01, classes: Sequence[int] = (PERSON,),
                 max_step_m: float = 30.0) -> None:
        super().__init__(sensor_id, period_s=sample_s)
        self.a = np.array(a, float).reshape(2)
        self.b = np.array(b, float).reshape(2)
        if not np.isfinite(np.r_[self.a, self.b]).all() or np.hypot(*(self.b - self.a)) < 0.1:
            raise SensorError(f"counter {sensor_id}: line a={list(a)} b={list(b)} needs two distinct points")
        if report_s < sample_s:
            raise SensorError(f"counter {sensor_id}: report_s {report_s} must be >= sample_s {sample_s}")
        if not (0 <= miss_rate <= 1 and 0 <= double_rate <= 1):
            raise SensorError(f"counter {sensor_id}: miss_rate and double_rate must be in [0, 1]")
        self.rng = rng
        self.report_s = float(report_s)
        self.miss_rate = float(miss_rate) if error else 0.0
        self.double_rate = float(double_rate) if error else 0.0
        self.classes = np.array(list(classes), np.int8)
        lo, hi = np.minimum(self.a, self.b) - max_step_m, np.maximum(self.a, self.b) + max_step_m
        self._box = (lo, hi)
        self._prev_ids = np.zeros(0, np.int64)
        self._prev_xy = np.zeros((0, 2))
        self._next_report: float | None = None
        self._in = self._out = 0
        self._last = (0, 0)
        self.true_in = self.true_out = 0

    def crossings(self, ids: np.ndarray, xy: np.ndarray) -> tuple[int, int]:
        """True (in, out) crossings between the previous call's positions and these; remembers these."""
        order = np.argsort(ids, kind="stable")
        ids, xy = ids[order], xy[order]
        _, ip, inew = np.intersect1d(self._prev_ids, ids, assume_unique=True, return_indices=True)
        p0, p1 = self._prev_xy[ip], xy[inew]
        self._prev_ids, self._prev_xy = ids, xy
        if len(p0) == 0:
            return 0, 0
        ab = self.b - self.a
        s0 = _cross(ab[0], ab[1], p0[:, 0] - self.a[0], p0[:, 1] - self.a[1])
        s1 = _cross(ab[0], ab[1], p1[:, 0] - self.a[0], p1[:, 1] - self.a[1])
        mv = p1 - p0
        o0 = _cross(mv[:, 0], mv[:, 1], self.a[0] - p0[:, 0], self.a[1] - p0[:, 1])
        o1 = _cross(mv[:, 0], mv[:, 1], self.b[0] - p0[:, 0], self.b[1] - p0[:, 1])
        left0, left1 = s0 >= 0, s1 >= 0          # a point exactly on the line counts as left
        cross = (left0 != left1) & (o0 * o1 <= 0)
        n_in = int(np.count_nonzero(cross & ~left0))
        n_out = int(np.count_nonzero(cross & left0))
        return n_in, n_out

    def _counted(self, n: int, miss: float, double: float) -> int:
        if n == 0 or (miss == 0 and double == 0):
            return n
        kept = int(self.rng.binomial(n, 1.0 - miss))
        return kept + int(self.rng.binomial(kept, double)) if double > 0 else kept

    def measure(self, world: WorldView) -> Iterable[tuple[str, dict]]:
        t = float(world.t)
        tg = world.targets
        lo, hi = self._box
        sel = np.isin(tg.cls, self.classes)
        if len(tg):
            x, y = tg.xy[:, 0], tg.xy[:, 1]
            sel &= (x >= lo[0]) & (x <= hi[0]) & (y >= lo[1]) & (y <= hi[1])
        n_in, n_out = self.crossings(tg.ids[sel].astype(np.int64), tg.xy[sel])
        self.true_in += n_in
        self.true_out += n_out
        f = 3.0 if self.status == "degraded" else 1.0
        miss, double = min(self.miss_rate * f, 1.0), min(self.double_rate * f, 1.0)
        self._in += self._counted(n_in, miss, double)
        self._out += self._counted(n_out, miss, double)
        if self._next_report is None:
            self._next_report = t + self.report_s
        if t < self._next_report - 1e-9:
            return []
        while self._next_report <= t + 1e-9:
            self._next_report += self.report_s
        counts, self._in, self._out = (self._in, self._out), 0, 0
        if self.status == "offline":
            return []
        if self.status == "frozen":
            counts = self._last
        self._last = counts
        return [("counter/line", {"sensor_id": self.id, "t": t, "count_in": counts[0],
                                  "count_out": counts[1]})]


class AreaCounter(Sensor):
    """People inside a zone polygon, every ``period_s`` (see the module docstring)."""

    kind = "counter_area"

    def __init__(self, sensor_id: str, zone, *, rng: np.random.Generator, zone_name: str = "",
                 capacity: int | None = None, period_s: float = 60.0, error: bool = True,
                 rel_sigma: float = 0.05, classes: Sequence[int] = (PERSON,)) -> None:
        super().__init__(sensor_id, period_s=period_s)
        if zone is None or zone.is_empty or zone.area <= 0:
            raise SensorError(f"counter {sensor_id}: zone {zone_name!r} has no area")
        self.zone = zone
        shapely.prepare(self.zone)
        self.zone_name = zone_name
        self.capacity = capacity
        self.rng = rng
        self.rel_sigma = float(rel_sigma) if error else 0.0
        self.classes = np.array(list(classes), np.int8)
        self._bounds = zone.bounds
        self._last = 0

    def true_count(self, world: WorldView) -> int:
        tg = world.targets
        if not len(tg):
            return 0
        x0, y0, x1, y1 = self._bounds
        x, y = tg.xy[:, 0], tg.xy[:, 1]
        k = np.flatnonzero(np.isin(tg.cls, self.classes) & (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1))
        return int(np.count_nonzero(shapely.contains_xy(self.zone, x[k], y[k])))

    def measure(self, world: WorldView) -> Iterable[tuple[str, dict]]:
        if self.status == "offline":
            return []
        n = self.true_count(world)
        sigma = self.rel_sigma * (3.0 if self.status == "degraded" else 1.0)
        if sigma > 0 and n > 0:
            n = max(0, int(round(n * (1.0 + self.rng.normal(0.0, sigma)))))
        if self.status == "frozen":
            n = self._last
        self._last = n
        return [("counter/area", {"sensor_id": self.id, "t": float(world.t), "count": n,
                                  "area_m2": round(float(self.zone.area), 1), "capacity": self.capacity,
                                  "zone": self.zone_name})]


# ---------------------------------------------------------------------------------- the scenario's counters
def _line_where(d: dict, path: str, rep) -> None:
    ways = ("at" in d or "lonlat" in d) + ("a" in d or "b" in d) + ("edge" in d)
    if ways != 1:
        rep.error(path, "a line counter needs exactly one of at|lonlat, a+b, edge")
    elif ("a" in d) != ("b" in d):
        rep.error(path, "a line counter given by its ends needs both a and b")
    if isinstance(d.get("sample_s"), int | float) and isinstance(d.get("period_s"), int | float) \
            and d["period_s"] < d["sample_s"]:
        rep.error(f"{path}.period_s", f"must be >= sample_s ({d['period_s']} < {d['sample_s']})")


def _area_where(d: dict, path: str, rep) -> None:
    if ("zone" in d) + ("at" in d or "lonlat" in d) != 1 or ("at" in d and "lonlat" in d):
        rep.error(path, "an area counter needs exactly one of zone, at, lonlat")


@dataclass(frozen=True)
class _CounterSpec:
    id: str = field(metadata={"doc": "sensor id"})
    at: str | tuple[float, float] | None = field(default=None, metadata={"kind": "place"})
    lonlat: tuple[float, float] | None = field(default=None, metadata={"kind": "lonlat"})
    period_s: float = field(default=60.0, metadata={"gt": 0, "doc": "report period"})
    error: bool = field(default=True, metadata={"doc": "apply the documented counting error"})


@dataclass(frozen=True)
class LineCounterSpec(_CounterSpec):
    """A line counter (``kind: line``)."""

    TAG = "line"
    RULES = (_line_where,)

    a: str | tuple[float, float] | None = field(default=None, metadata={"kind": "xy_or_place"})
    b: str | tuple[float, float] | None = field(default=None, metadata={"kind": "xy_or_place"})
    edge: str | None = field(default=None, metadata={"doc": "a street name: across its middle edge"})
    width_m: float = field(default=6.0, metadata={"gt": 0, "doc": "length of the counting line"})
    sample_s: float | None = field(default=None, metadata={"gt": 0, "doc": "sampling period; default 1 s"})
    miss_rate: float | None = field(default=None, metadata={"ge": 0, "le": 1})


@dataclass(frozen=True)
class AreaCounterSpec(_CounterSpec):
    """An area counter (``kind: area``)."""

    TAG = "area"
    RULES = (_area_where,)

    zone: tuple[tuple[float, float], ...] | None = field(default=None, metadata={
        "kind": "polygon", "doc": "lon/lat polygon"})
    radius_m: float | None = field(default=None, metadata={
        "gt": 0, "doc": "disc radius when `at` is no asset zone; default 25 m"})


def _walk_segments(twin) -> tuple[list, np.ndarray, np.ndarray]:
    w = twin.walk
    edges = sorted({(u, v) if str(u) <= str(v) else (v, u) for u, v in w.edges()},
                   key=lambda e: (str(e[0]), str(e[1])))
    a = np.array([(w.nodes[u]["x"], w.nodes[u]["y"]) for u, _ in edges], float).reshape(-1, 2)
    b = np.array([(w.nodes[v]["x"], w.nodes[v]["y"]) for _, v in edges], float).reshape(-1, 2)
    return edges, a, b


def _line_across(twin, xy: tuple[float, float], width_m: float) -> tuple[np.ndarray, np.ndarray] | None:
    """A ``width_m`` segment centred on ``xy``, perpendicular to the nearest walk edge (None: no edge)."""
    _, a, b = _walk_segments(twin)
    if len(a) == 0:
        return None
    p = np.asarray(xy, float)
    ab = b - a
    L2 = np.maximum((ab ** 2).sum(axis=1), 1e-12)
    s = np.clip(((p - a) * ab).sum(axis=1) / L2, 0, 1)
    foot = a + s[:, None] * ab
    k = int(np.argmin(np.hypot(*(foot - p).T)))
    direction = ab[k] / math.sqrt(L2[k])
    normal = np.array([-direction[1], direction[0]])
    return p - normal * width_m / 2, p + normal * width_m / 2


def _edge_line(twin, name: str, width: float) -> tuple[np.ndarray, np.ndarray] | None:
    """Across the edge of street ``name`` nearest the street's centre, at the edge's midpoint (None: no
    walk edge has that name)."""
    w = twin.walk
    key = str(name).lower()
    edges, a, b = _walk_segments(twin)

    def named(u, v) -> bool:
        for d in w.get_edge_data(u, v, default={}).values():
            n = d.get("name")
            if any(str(x).lower() == key for x in (n if isinstance(n, list) else [n]) if x):
                return True
        return False

    ok = np.flatnonzero([named(u, v) or named(v, u) for u, v in edges])
    if len(ok) == 0:
        return None
    mids = (a[ok] + b[ok]) / 2
    k = ok[int(np.argmin(np.hypot(*(mids - mids.mean(axis=0)).T)))]
    d = (b[k] - a[k]) / max(float(np.hypot(*(b[k] - a[k]))), 1e-9)
    normal = np.array([-d[1], d[0]])
    mid = (a[k] + b[k]) / 2
    return mid - normal * width / 2, mid + normal * width / 2


def _point(ctx: PlacementContext, v, path: str):
    """``[x, y]`` projected metres as they are; a PLACE or ``[lon, lat]`` resolved."""
    if isinstance(v, tuple | list) and abs(float(v[0])) > 360:     # projected metres, not lon/lat
        return np.array([float(v[0]), float(v[1])])
    xy = ctx.xy(v, path)
    return None if xy is None else np.array(xy)


class Counters(SensorKind):
    """Line and area crowd counters (``sensors.counters``: a list of ``{kind: line|area, id, ...}``)."""

    key = "counters"
    rank = 2
    Spec = tuple[LineCounterSpec | AreaCounterSpec, ...]
    default = ()

    def plan(self, spec, ctx: PlacementContext) -> list[Planned]:
        out = []
        for i, item in enumerate(spec):
            path = f"sensors.counters[{i}]"
            line = isinstance(item, LineCounterSpec)
            cfg = self._line(item, ctx, path) if line else self._area(item, ctx, path)
            if cfg is not None:
                out.append(Planned(item.id.strip(), path, cfg))
        return out

    def build(self, planned: Planned, rng, ctx):
        kind, kw = planned.config
        return (LineCounter if kind == "line" else AreaCounter)(planned.id, rng=rng, **kw)

    @staticmethod
    def _line(item: LineCounterSpec, ctx: PlacementContext, path: str):
        width = float(item.width_m)
        if item.a is not None:
            ends = (_point(ctx, item.a, f"{path}.a"), _point(ctx, item.b, f"{path}.b"))
            ends = None if ends[0] is None or ends[1] is None else ends
        elif item.edge is not None:
            ends = _edge_line(ctx.twin, item.edge, width)
            if ends is None:
                ctx.error(f"{path}.edge", f"no walk edge named {item.edge!r}")
        else:
            xy = ctx.where(item, path)
            ends = None if xy is None else _line_across(ctx.twin, xy, width)
            if xy is not None and ends is None:
                ctx.error(path, "no walk edge to put the counting line across")
        if ends is None:
            return None
        if np.hypot(*(np.asarray(ends[1]) - np.asarray(ends[0]))) < 0.1:
            ctx.error(path, "the line's two ends are the same point")
            return None
        kw = {"a": tuple(ends[0]), "b": tuple(ends[1]), "report_s": float(item.period_s),
              "error": bool(item.error), "sample_s": 1.0 if item.sample_s is None else float(item.sample_s)}
        if item.miss_rate is not None:
            kw["miss_rate"] = float(item.miss_rate)
        return "line", kw

    @staticmethod
    def _area(item: AreaCounterSpec, ctx: PlacementContext, path: str):
        base = {"period_s": float(item.period_s), "error": bool(item.error)}
        if item.zone is not None:
            try:
                poly = ctx.places.polygon(item.zone)
            except TwinError as exc:
                ctx.error(f"{path}.zone", str(exc))
                return None
            return "area", {"zone": poly, "zone_name": str(item.id), "capacity": None, **base}
        zones = [a for a in sorted(ctx.twin.assets, key=lambda a: a.id) if a.polygon is not None]
        hit = None
        if isinstance(item.at, str):
            key = item.at.strip().lower()
            hit = next((a for a in zones if key in (a.id.lower(), a.name.lower())), None)
        if hit is None:
            xy = ctx.where(item, path)
            if xy is None:
                return None
            hit = next((a for a in zones if a.polygon.contains(shapely.Point(xy))), None)
        if hit is not None:
            # the zone id the crowd zones (crowd_zones.geojson) and the analytics give the asset
            return "area", {"zone": hit.polygon, "zone_name": hit.id, "capacity": int(hit.capacity), **base}
        r = float(item.radius_m) if item.radius_m is not None else 25.0
        name = item.at if isinstance(item.at, str) else str(item.id)
        return "area", {"zone": shapely.Point(xy).buffer(r), "zone_name": name, "capacity": None, **base}
