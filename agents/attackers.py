"""Attackers: Mesa agents that each follow a short script of phases, one subclass per attack kind.

An attacker plans its whole script when it appears (at ``start_s``): a list of ``Leg``s, each a phase name, a
timed track and optional effects. ``act(t, dt)`` - the one method the model calls every tick - walks the
script forward to ``t + dt``, writing an ``attack_phase`` truth record at the exact time each phase begins and
firing the legs' effects (placing a bag, shots, hitting people). Randomness: only the model's generator.

Kinds and their phases (in order):

==================  ===========================================  =====================================
kind                phases                                       other truth records
==================  ===========================================  =====================================
loiterer            approach, loiter, leave, gone
bag_leaver          approach, place, leave, gone                 object_placed (end of place),
                                                                 object_removed (``remove_after_s``)
zone_intruder       approach, enter, exit, gone                  (enter/exit at the zone boundary)
vehicle_rammer      drive, ram, stopped                          vehicle_impact, injured
active_assailant    approach, attack, stopped                    shot, injured (+ gunshot impulses)
crowd_surge         trigger
==================  ===========================================  =====================================
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass

import mesa
import numpy as np
import shapely

from agents.model_tracks import Track
from agents.world import PERSON, VEHICLE

__all__ = ["ATTACKER_KINDS", "ActiveAssailant", "Attacker", "BagLeaver", "CrowdSurge", "Leg", "Loiterer",
           "VehicleRammer", "ZoneIntruder", "make_attacker"]


@dataclass
class Leg:
    """One phase: its track (absolute times), an effect when it begins and one over each tick it spans."""

    phase: str
    track: Track | None                                   # None: the attacker is no longer in the world
    on_enter: Callable[[float], None] | None = None       # on_enter(t_begin)
    during: Callable[[float, float], None] | None = None  # during(t_a, t_b) for the part of a tick inside

    @property
    def t0(self) -> float:
        return self.track.t0 if self.track is not None else self._t0

    _t0: float = 0.0


def _gone(t: float) -> Leg:
    return Leg("gone", None, _t0=t)


class Attacker(mesa.Agent, ABC):
    """Base of every physical attacker. Subclasses implement ``plan(t0)``; the model calls ``act``.

    Parameters
    ----------
    model : agents.model.CityModel
    spec : dict
        The scenario's attack entry (resolved: every parameter present), with ``id`` and ``kind``.
    at_node, at_xy
        The resolved target place: a walk-graph node and its position (m).
    zone : shapely.Polygon | None
        The asset polygon at the place, if any (zone intruders use it).
    """

    role = "attacker"
    kind = "attacker"
    cls = PERSON
    height_m, width_m = 1.75, 0.5

    def __init__(self, model, spec: dict, *, at_node, at_xy, zone=None) -> None:
        super().__init__(model)
        self.spec = spec
        self.attack_id = str(spec.get("id", self.kind))
        self.start_s = float(spec.get("start_s", 0.0))
        self.at_node, self.at_xy, self.zone = at_node, np.asarray(at_xy, float), zone
        self.tid = model.new_target_id()
        self.legs: list[Leg] | None = None
        self.leg_i = -1
        self.xy: np.ndarray | None = None
        self.speed = 0.0
        self.log: list[tuple[str, float]] = []   # (phase, t) as they happened

    @property
    def phase(self) -> str:
        return "pending" if self.legs is None else self.legs[self.leg_i].phase

    @abstractmethod
    def plan(self, t0: float) -> list[Leg]:
        """The whole script from ``t0`` (the attacker's ``start_s``)."""

    def act(self, t: float, dt: float) -> None:
        """Advance the script over the tick ``(t, t + dt]`` (the one method the model calls)."""
        t1 = t + dt
        if self.legs is None:
            if t1 < self.start_s:
                return
            self.legs = self.plan(self.start_s)
        while self.leg_i + 1 < len(self.legs) and self.legs[self.leg_i + 1].t0 <= t1:
            self.leg_i += 1
            leg = self.legs[self.leg_i]
            prev = self.legs[self.leg_i - 1] if self.leg_i > 0 else None
            if prev is not None and prev.during is not None and prev.track is not None:
                a = max(t, prev.t0)
                if leg.t0 > a:
                    prev.during(a, leg.t0)
            self._begin(leg)
        leg = self.legs[self.leg_i] if self.leg_i >= 0 else None
        if leg is None or leg.track is None:
            self.xy, self.speed = None, 0.0
            if leg is not None and self.leg_i == len(self.legs) - 1:
                self.remove()
            return
        if leg.during is not None:
            a = max(t, leg.t0)
            if t1 > a:
                leg.during(a, t1)
        self.xy, self.speed = leg.track.pos(t1), leg.track.speed(t1)

    def _begin(self, leg: Leg) -> None:
        here = self.xy if self.xy is not None else self.at_xy
        xy = leg.track.pos(leg.t0) if leg.track is not None else here
        self.model.record("attack_phase", self.tid, xy, leg.t0, attack=self.kind, attack_id=self.attack_id,
                          phase=leg.phase)
        self.log.append((leg.phase, leg.t0))
        if leg.on_enter is not None:
            leg.on_enter(leg.t0)

    def target_row(self):
        """``(id, cls, xy, height, width, speed)`` while physically in the world, else None."""
        if self.xy is None:
            return None
        return (self.tid, self.cls, self.xy, self.height_m, self.width_m, self.speed)

    # --- helpers for subclasses ---------------------------------------------------------------------------
    def walk_points(self, a, b) -> np.ndarray:
        """Polyline of the shortest walk from node ``a`` to node ``b``."""
        w = self.model.walk
        return w.polyline(w.path(a, b))[0]

    def start_node(self, dist_m: float):
        """A walk node about ``dist_m`` away from the target node."""
        return self.model.walk.node_at_distance(self.at_node, dist_m, self.model.rng)


class Loiterer(Attacker):
    """Scouts a target: walks in, circles it for ``dwell_s``, walks away."""

    kind = "loiterer"

    def plan(self, t0):
        s = self.spec
        start = self.start_node(s["approach_m"])
        pts = np.vstack([self.walk_points(start, self.at_node), self.at_xy])
        approach = Track.at_speed(pts, s["speed_mps"], t0)
        r = s["radius_m"]
        laps = max(s["dwell_s"] * s["speed_mps"] / (2 * math.pi * r), 1e-9)
        ang = np.linspace(0.0, 2 * math.pi * laps, max(8, int(36 * laps)) + 1)
        circle = self.at_xy + r * np.column_stack([np.cos(ang), np.sin(ang)])
        to_circle = np.vstack([approach.xy[-1], circle])
        loiter = Track.timed(to_circle, np.r_[r / s["speed_mps"], np.full(len(circle) - 1,
                                                                          s["dwell_s"] / (len(circle) - 1))],
                             approach.t1)
        away = self.start_node(s["approach_m"])
        back = np.vstack([loiter.xy[-1], self.model.walk.node_xy(self.at_node),
                          self.walk_points(self.at_node, away)])
        leave = Track.at_speed(back, s["speed_mps"], loiter.t1)
        return [Leg("approach", approach), Leg("loiter", loiter), Leg("leave", leave), _gone(leave.t1)]


class BagLeaver(Attacker):
    """Walks in, puts an object down (it stays: a target of class object), walks away."""

    kind = "bag_leaver"

    def plan(self, t0):
        s = self.spec
        start = self.start_node(s["approach_m"])
        approach = Track.at_speed(np.vstack([self.walk_points(start, self.at_node), self.at_xy]),
                                  s["speed_mps"], t0)
        place = Track.still(self.at_xy, approach.t1, approach.t1 + s["place_s"])
        away = self.start_node(s["leave_m"])
        leave = Track.at_speed(np.vstack([self.at_xy, self.walk_points(self.at_node, away)]), s["speed_mps"],
                               place.t1)
        self.object_id: int | None = None

        def drop(t: float) -> None:
            self.object_id = self.model.place_object(self.at_xy, t, by=self.tid,
                                                     remove_after_s=s.get("remove_after_s"))

        return [Leg("approach", approach), Leg("place", place), Leg("leave", leave, on_enter=drop),
                _gone(leave.t1)]


class ZoneIntruder(Attacker):
    """Walks into a restricted zone, stays ``dwell_s``, walks out; enter/exit are stamped at the boundary."""

    kind = "zone_intruder"

    def restricted_zone(self):
        """The zone: the scenario's ``zone`` (converted by the engine), the asset polygon, else a circle."""
        if self.zone is not None:
            return self.zone
        return shapely.Point(*self.at_xy).buffer(self.spec["radius_m"])

    def plan(self, t0):
        s = self.spec
        zone = self.restricted_zone()
        centre = np.array(zone.representative_point().coords[0])
        start = self.start_node(s["approach_m"])
        for _ in range(8):  # start outside the zone
            if not zone.contains(shapely.Point(*self.model.walk.node_xy(start))):
                break
            start = self.start_node(s["approach_m"] * 2)
        pts = np.vstack([self.walk_points(start, self.at_node), centre])
        seg = np.hypot(*np.diff(pts, axis=0).T)
        cum = np.concatenate([[0.0], np.cumsum(seg)])
        q = np.arange(0.0, cum[-1] + 0.25, 0.25)
        probe = np.column_stack([np.interp(q, cum, pts[:, 0]), np.interp(q, cum, pts[:, 1])])
        inside = shapely.contains_xy(zone, probe[:, 0], probe[:, 1])
        s_in = float(q[int(np.argmax(inside))]) if inside.any() else float(cum[-1])
        v = s["speed_mps"]
        cut = int(np.searchsorted(cum, s_in))
        p_in = np.array([np.interp(s_in, cum, pts[:, 0]), np.interp(s_in, cum, pts[:, 1])])
        approach = Track.at_speed(np.vstack([pts[:cut], p_in]), v, t0)
        inner = np.vstack([p_in, pts[cut:]])
        enter = Track.at_speed(inner, v, approach.t1)
        enter = enter.then(Track.still(centre, enter.t1, enter.t1 + s["dwell_s"]))
        enter = enter.then(Track.at_speed(inner[::-1], v, enter.t1))
        out = Track.at_speed(np.vstack([p_in, pts[:cut][::-1]]), v, enter.t1)
        return [Leg("approach", approach), Leg("enter", enter), Leg("exit", out), _gone(out.t1)]


class VehicleRammer(Attacker):
    """Drives the drive graph to the road nearest the target, then leaves it at ramming speed through ``at``.

    While ramming, people within ``hit_radius_m`` of the vehicle's path are injured (``crowd.injure_near``,
    sampled every ``hit_radius_m`` metres along the path) and a ``vehicle_impact`` is recorded per person hit;
    people within ``hazard_radius_m`` flee.
    """

    kind = "vehicle_rammer"
    cls = VEHICLE
    height_m, width_m = 1.6, 1.9

    def plan(self, t0):
        s = self.spec
        drive = self.model.drive
        road = drive.nearest(self.at_xy)
        start = drive.node_at_distance(road, s["approach_m"], self.model.rng)
        path = drive.path(start, road, weight="travel_time")
        self.drive_path = path
        drive_track = drive.drive_track(path, t0)
        p0 = drive_track.xy[-1]
        d = self.at_xy - p0
        if np.hypot(*d) < 1.0:  # the road passes through the target: keep the last driving direction
            d = drive_track.xy[-1] - drive_track.xy[max(0, len(drive_track.xy) - 2)]
            if np.hypot(*d) < 1e-6:
                d = np.array([1.0, 0.0])
        d = d / np.hypot(*d)
        ram_end = p0 + d * max(s["ram_m"], np.hypot(*(self.at_xy - p0)))
        ram = Track.at_speed(np.vstack([p0, ram_end]), s["ram_speed_kph"] / 3.6, drive_track.t1)
        self.victims: set[int] = set()
        stopped = Track.still(ram_end, ram.t1, ram.t1 + 1e9)
        return [Leg("drive", drive_track), Leg("ram", ram, during=self._hit), Leg("stopped", stopped)]

    def _hit(self, t_a: float, t_b: float) -> None:
        crowd = self.model.crowd
        if crowd is None:
            return
        s = self.spec
        leg = self.legs[1]
        pts, tms = leg.track.sample(t_a, t_b, s["hit_radius_m"])
        if s["hazard_radius_m"] > 0:
            crowd.hazard(pts[-1], s["hazard_radius_m"], t=t_b, duration_s=30.0)
        for p, tp in zip(pts, tms, strict=True):
            for ev in crowd.injure_near(p, s["hit_radius_m"], t=float(tp)):
                self.model.truth.append(ev)
                if ev["id"] not in self.victims:
                    self.victims.add(ev["id"])
                    self.model.record("vehicle_impact", self.tid, p, float(tp), victim=int(ev["id"]),
                                      attack_id=self.attack_id, speed_kph=float(s["ram_speed_kph"]))


class ActiveAssailant(Attacker):
    """Walks to ``at``, then moves through the crowd firing shots (heard as gunshots) for ``duration_s``.

    Shot times are a Poisson process with mean gap ``shot_interval_s``. Each shot: a ``shot`` truth record, a
    gunshot ``Impulse`` (150 dB at 1 m), people within ``hazard_radius_m`` flee, people within
    ``injure_radius_m`` are injured.
    """

    kind = "active_assailant"

    def plan(self, t0):
        s = self.spec
        rng = self.model.rng
        walk = self.model.walk
        start = self.start_node(s["approach_m"])
        approach = Track.at_speed(np.vstack([self.walk_points(start, self.at_node), self.at_xy]),
                                  s["speed_mps"], t0)
        # wander: a random walk along walk-graph neighbours long enough for the whole attack
        need = s["duration_s"] * s["speed_mps"]
        node, prev, pts, total = self.at_node, None, [self.at_xy], 0.0
        while total < need:
            nbrs = sorted(set(walk.g.successors(node)) - {node}, key=str)
            if not nbrs:
                break
            if prev in nbrs and len(nbrs) > 1:
                nbrs.remove(prev)
            nxt = nbrs[int(rng.integers(len(nbrs)))]
            p = walk.node_xy(nxt)
            total += float(np.hypot(*(p - pts[-1])))
            pts.append(p)
            node, prev = nxt, node
        attack = Track.at_speed(np.vstack(pts), s["speed_mps"], approach.t1)
        t_end = approach.t1 + s["duration_s"]
        if attack.t1 < t_end:
            attack = attack.then(Track.still(attack.xy[-1], attack.t1, t_end))
        gaps = rng.exponential(s["shot_interval_s"], size=int(3 * s["duration_s"] / s["shot_interval_s"]) + 4)
        times = approach.t1 + np.concatenate([[0.0], np.cumsum(gaps)])
        self.shot_times = times[times < t_end]
        self.shots_fired = 0
        stop_xy = attack.pos(t_end)
        return [Leg("approach", approach), Leg("attack", attack, during=self._fire),
                Leg("stopped", Track.still(stop_xy, t_end, t_end + 1e9))]

    def _fire(self, t_a: float, t_b: float) -> None:
        s = self.spec
        leg = self.legs[1]
        due = self.shot_times[(self.shot_times >= t_a) & (self.shot_times < t_b)]
        for ts in due:
            xy = leg.track.pos(ts)
            self.shots_fired += 1
            sid = f"{self.attack_id}-shot{self.shots_fired}"
            self.model.record("shot", self.tid, xy, float(ts), attack_id=self.attack_id, shot=sid)
            self.model.add_impulse(float(ts), xy, "gunshot", 150.0, sid)
            crowd = self.model.crowd
            if crowd is not None:
                crowd.hazard(xy, s["hazard_radius_m"], t=float(ts), duration_s=120.0)
                if s["injure_radius_m"] > 0:
                    self.model.truth.extend(crowd.injure_near(xy, s["injure_radius_m"], t=float(ts)))


class CrowdSurge(Attacker):
    """A panic trigger at ``at``: ``crowd.surge`` at ``start_s``. Not a visible target itself."""

    kind = "crowd_surge"

    def plan(self, t0):
        def trigger(t: float) -> None:
            if self.model.crowd is not None:
                self.model.crowd.surge(self.at_xy, self.spec["radius_m"], t=t)

        return [Leg("trigger", None, on_enter=trigger, _t0=t0)]

    def target_row(self):
        return None


#: Attack kind -> class (the engine builds one per physical entry under ``attacks:``).
ATTACKER_KINDS: dict[str, type[Attacker]] = {c.kind: c for c in (
    Loiterer, BagLeaver, ZoneIntruder, VehicleRammer, ActiveAssailant, CrowdSurge)}


def make_attacker(model, spec: dict, *, at_node, at_xy, zone=None) -> Attacker:
    """The attacker for one scenario attack entry (``spec["kind"]`` must be a physical kind)."""
    return ATTACKER_KINDS[spec["kind"]](model, spec, at_node=at_node, at_xy=at_xy, zone=zone)
