"""Crowd density per zone with the Fruin level of service, over-capacity, and crowd anomalies (density
jump, counter-flow), from camera tracks (``track/frame``) and area counters (``counter/area``)."""

from __future__ import annotations

import csv
import math
import os
from bisect import bisect_left
from collections import defaultdict, deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from analytics.base import Detector, DetectorContext, EpisodeFilter, make_alert
from analytics.files import atomic_write_lines
from analytics.geometry import Zones
from analytics.tracks import TrackHistory

__all__ = [
    "FRUIN_BOUNDS",
    "FRUIN_LEVELS",
    "CrowdAnomalyDetector",
    "CrowdAnomalyParams",
    "CrowdDensityDetector",
    "DensityParams",
    "fruin_level",
    "read_density_csv",
    "write_density_csv",
]

#: Fruin walkway level of service, upper density bound (persons/m²) of levels A..E; F is above 2.17.
FRUIN_BOUNDS = (0.31, 0.43, 0.72, 1.08, 2.17)
FRUIN_LEVELS = ("A", "B", "C", "D", "E", "F")


def fruin_level(density: float | np.ndarray) -> str | np.ndarray:
    """Fruin walkway level of service for densities in persons/m² (A <= 0.31 ... F > 2.17).

    >>> fruin_level(0.2), fruin_level(1.5), fruin_level(3.0)
    ('A', 'E', 'F')
    """
    idx = np.searchsorted(FRUIN_BOUNDS, np.asarray(density, dtype=float), side="left")
    levels = np.asarray(FRUIN_LEVELS)[idx]
    return str(levels) if levels.ndim == 0 else levels


def write_density_csv(path: str | os.PathLike, history: Sequence[tuple[float, str, float]]) -> None:
    """Write density estimates as ``t,zone,people`` CSV (the run's ``density_estimates.csv``), atomically."""
    atomic_write_lines(path, ["t,zone,people", *(f"{t:g},{z},{p:.2f}" for t, z, p in history)])


def read_density_csv(path: str | os.PathLike) -> dict[str, list[tuple[float, float]]]:
    """A ``t,zone,people`` CSV (``density_estimates.csv``, or the simulator's ``crowd_density.csv``) as
    ``{zone: [(t, people), ...]}`` in file order."""
    out: dict[str, list[tuple[float, float]]] = defaultdict(list)
    with open(path, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            out[row["zone"]].append((float(row["t"]), float(row["people"])))
    return out


class _CamCounts:
    """One camera's zone counts over its recent frames (pruned to the smoothing window), and the frame from
    which each zone is counted: the first in which the camera saw someone there. The window's sums and
    frame counts since each zone's first sighting are kept running (a zone counts 0 before it)."""

    __slots__ = ("col", "first", "frames", "n", "seq", "sums")

    def __init__(self, n_zones: int, col: int) -> None:
        self.col = col
        self.seq = 0
        self.first = np.full(n_zones, np.iinfo(np.int64).max, dtype=np.int64)
        self.frames: deque[tuple[int, float, np.ndarray]] = deque()
        self.sums = np.zeros(n_zones, np.int64)  # counts summed over the window's frames
        self.n = np.zeros(n_zones, np.int64)     # the window's frames since each zone's first sighting

    def add(self, t: float, counts: np.ndarray, smooth_s: float) -> np.ndarray:
        """Take one frame's counts; return which zones this camera counts (has seen someone in)."""
        counts = np.asarray(counts, dtype=np.int64)
        self.first[(counts > 0) & (self.first > self.seq)] = self.seq
        self.frames.append((self.seq, t, counts))
        self.sums += counts
        self.n += self.first <= self.seq
        self.seq += 1
        while t - self.frames[0][1] > smooth_s:
            seq, _, old = self.frames.popleft()
            self.sums -= old
            self.n -= self.first <= seq
        return self.first < self.seq

    def means(self, zones: np.ndarray) -> np.ndarray:
        """Mean count of each selected zone over the window's frames since its first sighting."""
        return self.sums[zones] / self.n[zones]


class _WindowExtreme:
    """Minimum (or maximum) of a time series over a sliding window of ``window_s``: a monotonic deque."""

    __slots__ = ("is_max", "q", "window_s")

    def __init__(self, window_s: float, *, is_max: bool) -> None:
        self.window_s = window_s
        self.is_max = is_max
        self.q: deque[tuple[float, float]] = deque()

    def push(self, t: float, v: float) -> float:
        """Add ``v`` at ``t`` (times non-decreasing); return the extreme over ``(t - window_s, t]``."""
        q = self.q
        if self.is_max:
            while q and q[-1][1] <= v:
                q.pop()
        else:
            while q and q[-1][1] >= v:
                q.pop()
        q.append((t, v))
        while t - q[0][0] > self.window_s:
            q.popleft()
        return q[0][1]


@dataclass(frozen=True, slots=True)
class DensityParams:
    """Zone density alerts.

    Parameters
    ----------
    alert_level : Fruin level at or above which a zone alerts (default "E", over 1.08 P/m²).
    min_duration_s : the level must hold this long (default 10 s), so one noisy frame does not alert.
    smooth_s : camera counts are averaged over this window (default 5 s).
    rearm_s : a zone alerts again only after this long back below the level (default 120 s).
    counter_hold_s : an area counter's count of a zone stands for this long (default 60 s, its usual
        period): camera estimates of that zone are then at least the count, since the counter sees the whole
        zone and the cameras part of it.
    history_s : one estimate per zone per this many seconds is kept in ``history`` (default 10 s, the
        sampling of the simulator's ``crowd_density.csv``).
    conf : confidence of a density alert; over-capacity from a counter gets ``capacity_conf``.
    """

    alert_level: str = "E"
    min_duration_s: float = 10.0
    smooth_s: float = 5.0
    rearm_s: float = 120.0
    counter_hold_s: float = 60.0
    history_s: float = 10.0
    conf: float = 0.7
    capacity_conf: float = 0.9


class CrowdDensityDetector(Detector):
    """People per zone from camera tracks (max over cameras, which see the same people) and area counters
    (a counter's count of its whole zone is a floor for the camera estimates while it holds).

    ``estimates`` keeps the latest ``(t, people, density)`` per zone; ``history`` keeps one estimate per zone
    every ``history_s`` as ``(t, zone, people)`` rows, which ``write_density_csv`` saves for scoring.
    """

    name = "density"
    alert_kinds = ("crowd_density",)
    Params = DensityParams
    topics = ("track/frame", "counter/area")

    @classmethod
    def from_context(cls, ctx: DetectorContext, params: DensityParams) -> CrowdDensityDetector:
        """Count people in the pipeline's zones."""
        return cls(ctx.zones, params)

    def __init__(
        self, zones: dict[str, Sequence[Sequence[float]]] | None, params: DensityParams = DensityParams()
    ) -> None:
        self.p = params
        self.zones = Zones(zones)
        # per camera: its recent frames' zone counts; zone z's smoothing window for the camera holds the
        # frames since the camera first saw someone in z (``_first``), so one camera-wide buffer serves all
        self._cams: dict[str, _CamCounts] = {}
        self._means = np.full((len(self.zones), 0), -np.inf)  # (zone, camera) smoothed count, -inf: none
        self._above_since: dict[str, float] = {}
        self._episodes = EpisodeFilter(params.rearm_s)
        self._level_idx = FRUIN_LEVELS.index(params.alert_level)
        self.estimates: dict[str, tuple[float, float, float]] = {}
        self.history: list[tuple[float, str, float]] = []
        self._recorded: dict[str, float] = {}
        self._counted: dict[str, tuple[float, float]] = {}   # zone -> (t, count) of its area counter

    def update(self, msg: dict[str, Any]) -> list[dict[str, Any]]:
        t = float(msg["t"])
        if msg.get("topic") == "counter/area":
            zone = str(msg.get("zone") or msg["sensor_id"])
            area = float(msg["area_m2"])
            count = float(msg["count"])
            self._counted[zone] = (t, count)
            return self._assess(
                t, zone, count, count / area, source=[msg["sensor_id"]], capacity=msg.get("capacity")
            )
        xy = msg.get("xy")
        if xy is None or not len(self.zones):
            return []
        xy = np.asarray(xy, dtype=float).reshape(-1, 2)
        persons = np.asarray(msg["cls"]) == "person"
        counts = (self.zones.contains(xy) & persons).sum(axis=1)
        cam = msg["camera_id"]
        cc = self._cams.get(cam)
        if cc is None:
            cc = self._cams[cam] = _CamCounts(len(self.zones), self._means.shape[1])
            self._means = np.hstack([self._means, np.full((len(self.zones), 1), -np.inf)])
        # a zone this camera never saw anyone in is skipped: the camera may not even look at it
        active = cc.add(t, counts, self.p.smooth_s)
        col = self._means[:, cc.col]
        col[active] = cc.means(active)
        people = self._means[active].max(axis=1)
        out = []
        for z, pz in zip(np.flatnonzero(active).tolist(), people.tolist(), strict=True):
            held = self._counted.get(self.zones.names[z])
            if held is not None and t - held[0] <= self.p.counter_hold_s:
                pz = max(pz, held[1])
            out += self._assess(t, self.zones.names[z], pz, pz / self.zones.areas[z], source=[cam])
        return out

    def _assess(
        self,
        t: float,
        zone: str,
        people: float,
        density: float,
        *,
        source: list[str],
        capacity: float | None = None,
    ) -> list[dict[str, Any]]:
        self.estimates[zone] = (t, people, density)
        if t - self._recorded.get(zone, -math.inf) >= self.p.history_s:
            self._recorded[zone] = t
            self.history.append((t, zone, people))
        idx = bisect_left(FRUIN_BOUNDS, density) if density == density else len(FRUIN_BOUNDS)  # NaN: F
        level = FRUIN_LEVELS[idx]
        over = capacity is not None and people > float(capacity)
        if idx < self._level_idx and not over:
            self._above_since.pop(zone, None)
            return []
        since = self._above_since.setdefault(zone, t)
        if t - since < self.p.min_duration_s and not over:
            return []
        if not self._episodes.admit(t, zone):
            return []
        return [
            make_alert(
                t,
                "crowd_density",
                self.p.capacity_conf if over else self.p.conf,
                source=source,
                evidence={
                    "zone": zone,
                    "people": round(people, 1),
                    "density_p_m2": round(density, 3),
                    "fruin_level": level,
                    "capacity": capacity,
                    "over_capacity": over,
                },
            )
        ]


@dataclass(frozen=True, slots=True)
class CrowdAnomalyParams:
    """Crowd anomalies per zone.

    Parameters
    ----------
    jump_p_m2 : a density rise of at least this many persons/m² ... (default 0.5)
    jump_window_s : ... within this window is a density jump (default 30 s).
    min_moving : counter-flow needs at least this many moving persons in the zone (default 15; with fewer,
        two-way walking is normal).
    moving_mps : a person moving faster than this has a heading (default 0.5 m/s).
    counterflow_frac : fraction of movers heading against the zone's main direction (cos < -0.5) that is
        counter-flow (default 0.3).
    counterflow_s : the counter-flow must hold this long (default 5 s): crossing groups pass in seconds.
    drop_frac, drop_min_people : a sudden dispersal is the people in a zone falling by at least this fraction
        of their peak and at least this many people ... (default 0.5 and 15)
    drop_window_s : ... within this window (default 15 s; a gathering that breaks up normally takes minutes,
        a panic empties the place in seconds).
    hold_s : further anomalies of one zone within this time are one episode (default 120 s).
    conf : confidence given to the alert.
    """

    jump_p_m2: float = 0.5
    jump_window_s: float = 30.0
    drop_frac: float = 0.5
    drop_min_people: float = 15.0
    drop_window_s: float = 15.0
    min_moving: int = 15
    moving_mps: float = 0.5
    counterflow_frac: float = 0.3
    counterflow_s: float = 5.0
    hold_s: float = 120.0
    conf: float = 0.6


class CrowdAnomalyDetector(Detector):
    """Density jumps and sudden dispersals (read from the density detector's estimates) and counter-flow
    among person tracks."""

    name = "crowd_anomaly"
    alert_kinds = ("crowd_anomaly",)
    Params = CrowdAnomalyParams
    topics = ("track/frame", "counter/area")

    @classmethod
    def from_context(cls, ctx: DetectorContext, params: CrowdAnomalyParams) -> CrowdAnomalyDetector:
        """Watch the pipeline's zones, reading the density detector built before this one."""
        return cls(ctx.zones, ctx.detector(CrowdDensityDetector.name), params)

    def __init__(
        self,
        zones: dict[str, Sequence[Sequence[float]]] | None,
        density: CrowdDensityDetector,
        params: CrowdAnomalyParams = CrowdAnomalyParams(),
    ) -> None:
        self.p = params
        # the density detector's zones when they are the same ones: one point-in-zone test per frame for both
        self.zones = density.zones if density is not None and list(density.zones.names) == list(zones or {}) \
            else Zones(zones)
        self.density = density
        self._hist = TrackHistory(window_s=1.0)
        self._series: dict[str, _WindowExtreme] = {}  # sliding minimum of each zone's density
        self._people: dict[str, _WindowExtreme] = {}  # sliding maximum of each zone's people
        self._zone_idx = {n: i for i, n in enumerate(self.zones.names)}
        self._centre = {n: tuple(p.centroid.coords[0]) for n, p in zip(self.zones.names, self.zones.polygons,
                                                                        strict=True)}
        self._against_since: dict[str, float] = {}
        self._episodes = EpisodeFilter(params.hold_s)
        self._taken: dict[str, tuple[float, float, float]] = {}  # per zone, the estimate last taken
        self._vel: dict[int, np.ndarray] = {}  # per prepared message (by id), its tracks' velocities

    def prepare(self, msgs: list[dict[str, Any]]) -> None:
        """Every frame's track velocities (for counter-flow) in one history update."""
        frames = [m for m in msgs if m.get("topic") == "track/frame" and m.get("xy") is not None]
        if not len(self.zones):
            return
        vel = self._hist.update_many([float(m["t"]) for m in frames], [m["ids"] for m in frames],
                                     [np.asarray(m["xy"], dtype=float).reshape(-1, 2) for m in frames])
        self._vel = {id(m): v for m, v in zip(frames, vel, strict=True)}

    def update(self, msg: dict[str, Any]) -> list[dict[str, Any]]:
        t = float(msg["t"])
        out = []
        src = [msg.get("camera_id") or msg.get("sensor_id")]
        for zone, est in self.density.estimates.items():
            te, people, dens = est
            # an estimate already taken at this instant (another camera's frame of the same instant left it
            # unchanged) would push the same value again: the windows and episodes would not change
            if te != t or self._taken.get(zone) == est:
                continue
            self._taken[zone] = est
            out += self._dispersal(t, zone, people, src)
            series = self._series.get(zone)
            if series is None:
                series = self._series[zone] = _WindowExtreme(self.p.jump_window_s, is_max=False)
            low = series.push(t, dens)
            if dens - low >= self.p.jump_p_m2 and self._episodes.admit(t, ("jump", zone)):
                out.append(
                    make_alert(
                        t,
                        "crowd_anomaly",
                        self.p.conf,
                        source=src,
                        evidence={
                            "zone": zone,
                            "reason": "density_jump",
                            "from_p_m2": round(low, 3),
                            "to_p_m2": round(dens, 3),
                            "window_s": self.p.jump_window_s,
                        },
                    )
                )
        xy = msg.get("xy")
        if msg.get("topic") != "track/frame" or xy is None or not len(self.zones):
            return out
        out += self._counterflow(t, msg, np.asarray(xy, dtype=float).reshape(-1, 2), src)
        return out

    def _dispersal(self, t: float, zone: str, people: float, src: list) -> list[dict[str, Any]]:
        """A sudden fall of the people in ``zone`` from their peak within ``drop_window_s``."""
        series = self._people.get(zone)
        if series is None:
            series = self._people[zone] = _WindowExtreme(self.p.drop_window_s, is_max=True)
        peak = series.push(t, people)
        drop = peak - people
        if drop < self.p.drop_min_people or drop < self.p.drop_frac * peak:
            return []
        if not self._episodes.admit(t, ("dispersal", zone)):
            return []
        return [
            make_alert(
                t,
                "crowd_anomaly",
                self.p.conf,
                xy=self._centre.get(zone),
                source=src,
                evidence={
                    "zone": zone,
                    "reason": "dispersal",
                    "from_people": round(peak, 1),
                    "to_people": round(people, 1),
                    "window_s": self.p.drop_window_s,
                },
            )
        ]

    def _counterflow(self, t: float, msg: dict[str, Any], xy: np.ndarray, src: list) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        vel = self._vel.pop(id(msg), None)
        if vel is None:
            vel = self._hist.update(t, msg["ids"], xy)
        speed = np.hypot(*vel.T)
        moving = (np.asarray(msg["cls"]) == "person") & (speed > self.p.moving_mps)
        inside = self.zones.contains(xy) & moving
        busy = inside.sum(axis=1) >= self.p.min_moving
        # only zones with enough movers, or with a counter-flow clock running, can change anything
        zs = set(np.flatnonzero(busy | (self.p.counterflow_frac <= 0)).tolist())
        zs.update(self._zone_idx[n] for n in self._against_since if n in self._zone_idx)
        for z in sorted(zs):
            name = self.zones.names[z]
            m = inside[z]
            against = 0.0
            if busy[z]:
                u = vel[m] / speed[m, None]
                main = u.sum(axis=0)
                norm = np.hypot(*main)
                against = float(((u @ (main / norm)) < -0.5).mean()) if norm > 0 else 0.0
            if against < self.p.counterflow_frac:
                self._against_since.pop(name, None)
                continue
            since = self._against_since.setdefault(name, t)
            if t - since >= self.p.counterflow_s and self._episodes.admit(t, ("counterflow", name)):
                c = xy[m].mean(axis=0)
                out.append(
                    make_alert(
                        t,
                        "crowd_anomaly",
                        self.p.conf,
                        xy=c,
                        source=src,
                        evidence={
                            "zone": name,
                            "reason": "counter_flow",
                            "moving": int(m.sum()),
                            "against_frac": round(against, 2),
                        },
                    )
                )
        return out
