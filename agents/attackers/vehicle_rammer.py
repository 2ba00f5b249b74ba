"""``vehicle_rammer``: drives the drive graph to the road nearest the target, then rams through it.

Phases: drive, ram, stopped. Truth: ``vehicle_impact`` per person hit, ``injured``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from agents.attackers.base import Attacker, AttackParams, Leg
from agents.model_tracks import Track
from agents.world import VEHICLE

__all__ = ["VehicleRammer"]


class VehicleRammer(Attacker):
    """Drives to the road nearest ``at``, then leaves it at ramming speed through ``at``.

    While ramming, people within ``hit_radius_m`` of the vehicle's path are injured (``crowd.injure_near``,
    sampled every ``hit_radius_m`` metres along the path) and a ``vehicle_impact`` is recorded per person hit;
    people within ``hazard_radius_m`` flee.
    """

    kind = "vehicle_rammer"
    # the car itself, and the crowd's reaction (people running from it, a dispersal), as for an assailant
    detected_by = frozenset({"vehicle_intrusion", "crowd_anomaly", "running"})
    observable_from = "ram"
    observable_until = None
    grace_s = 60.0
    act_records = ("vehicle_impact",)
    cls = VEHICLE
    height_m, width_m = 1.6, 1.9

    @dataclass(frozen=True)
    class Params(AttackParams):
        approach_m: float = field(default=600.0, metadata={
            "gt": 0, "doc": "driving distance of the start on the drive graph"})
        ram_speed_kph: float = field(default=40.0, metadata={"gt": 0, "le": 200, "doc": "ramming speed"})
        ram_m: float = field(default=60.0, metadata={
            "gt": 0, "le": 1000, "doc": "distance driven off the road, through `at`"})
        hit_radius_m: float = field(default=1.5, metadata={
            "gt": 0, "le": 10, "doc": "people this close to the vehicle's path are hit"})
        hazard_radius_m: float = field(default=30.0, metadata={
            "ge": 0, "doc": "people this close to the vehicle flee"})

    def plan(self, t0):
        s = self.params
        drive = self.model.drive
        road = drive.nearest(self.at_xy)
        start = drive.node_at_distance(road, s.approach_m, self.model.rng)
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
        ram_end = p0 + d * max(s.ram_m, np.hypot(*(self.at_xy - p0)))
        ram = Track.at_speed(np.vstack([p0, ram_end]), s.ram_speed_kph / 3.6, drive_track.t1)
        self.victims: set[int] = set()
        stopped = Track.still(ram_end, ram.t1, ram.t1 + 1e9)
        return [Leg("drive", drive_track), Leg("ram", ram, during=self._hit), Leg("stopped", stopped)]

    def _hit(self, t_a: float, t_b: float) -> None:
        crowd = self.model.crowd
        if crowd is None:
            return
        s = self.params
        leg = self.legs[1]
        pts, tms = leg.track.sample(t_a, t_b, s.hit_radius_m)
        if s.hazard_radius_m > 0:
            crowd.hazard(pts[-1], s.hazard_radius_m, t=t_b, duration_s=30.0)
        for p, tp in zip(pts, tms, strict=True):
            for ev in crowd.injure_near(p, s.hit_radius_m, t=float(tp)):
                self.model.truth.append({**ev, "attack_id": self.attack_id})
                if ev["id"] not in self.victims:
                    self.victims.add(ev["id"])
                    self.model.record("vehicle_impact", self.tid, p, float(tp), victim=int(ev["id"]),
                                      attack_id=self.attack_id, speed_kph=float(s.ram_speed_kph))
