"""``loiterer``: scouts a target - walks in, circles it for ``dwell_s``, walks away.

Phases: approach, loiter, leave, gone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from agents.attackers.base import Attacker, AttackParams, Leg, gone
from agents.model_tracks import Track

__all__ = ["Loiterer"]


class Loiterer(Attacker):
    """Walks in, circles the target for ``dwell_s`` at ``radius_m``, walks away."""

    kind = "loiterer"
    detected_by = frozenset({"loitering"})
    observable_from = "loiter"
    observable_until = "leave"
    grace_s = 30.0
    act_records = ()

    @dataclass(frozen=True)
    class Params(AttackParams):
        dwell_s: float = field(default=180.0, metadata={"gt": 0, "doc": "time spent circling the target"})
        radius_m: float = field(default=8.0, metadata={"gt": 0, "le": 200, "doc": "radius of the circles"})
        speed_mps: float = field(default=1.0, metadata={"gt": 0, "le": 3, "doc": "walking speed"})
        approach_m: float = field(default=150.0, metadata={
            "gt": 0, "doc": "walking distance of the start from the target"})

    def plan(self, t0):
        s = self.params
        start = self.start_node(s.approach_m)
        pts = np.vstack([self.walk_points(start, self.at_node), self.at_xy])
        approach = Track.at_speed(pts, s.speed_mps, t0)
        r = s.radius_m
        laps = max(s.dwell_s * s.speed_mps / (2 * math.pi * r), 1e-9)
        ang = np.linspace(0.0, 2 * math.pi * laps, max(8, int(36 * laps)) + 1)
        circle = self.at_xy + r * np.column_stack([np.cos(ang), np.sin(ang)])
        to_circle = np.vstack([approach.xy[-1], circle])
        loiter = Track.timed(to_circle, np.r_[r / s.speed_mps, np.full(len(circle) - 1,
                                                                      s.dwell_s / (len(circle) - 1))],
                             approach.t1)
        away = self.start_node(s.approach_m)
        back = np.vstack([loiter.xy[-1], self.model.walk.node_xy(self.at_node),
                          self.walk_points(self.at_node, away)])
        leave = Track.at_speed(back, s.speed_mps, loiter.t1)
        return [Leg("approach", approach), Leg("loiter", loiter), Leg("leave", leave), gone(leave.t1)]
