"""Crowd counters: line counters (in/out crossings of a segment) and area counters (people in a zone).

Line counter: samples target positions every ``sample_s`` (default 1 s, its ``period_s``) and counts a target
whose straight move between two samples crosses the segment ``a -> b``. ``in`` is a move from the right side
of ``a -> b`` to its left side (for a line drawn west -> east, walking north is ``in``), ``out`` the reverse.
Counts are published as ``counter/line`` ``{sensor_id, t, count_in, count_out}`` every ``report_s`` (default
60 s) and cover the crossings since the previous report.

Area counter: every ``period_s`` (default 60 s) counts targets inside a zone polygon (shapely ``contains_xy``)
and publishes ``counter/area`` ``{sensor_id, t, count, area_m2, capacity, zone}``.

Counting error (documented; ``error=False`` turns it off): a line counter misses each true crossing with
probability ``miss_rate`` (default 0.03) and counts it twice with probability ``double_rate`` (default 0.01),
typical of overhead people counters (95-98 % accuracy); an area counter reports
``round(true x (1 + N(0, rel_sigma)))`` with ``rel_sigma`` = 0.05, never below 0. Only persons are counted
unless ``classes`` says otherwise. Faults: ``offline`` publishes nothing, ``frozen`` repeats the last counts
with the new ``t``, ``degraded`` triples the error.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import shapely

from agents.world import PERSON, WorldView
from sensors.base import Sensor, SensorError

__all__ = ["AreaCounter", "LineCounter"]


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
