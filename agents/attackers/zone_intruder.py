"""``zone_intruder``: walks into a restricted zone, stays ``dwell_s``, walks out.

Phases: approach, enter, exit, gone; enter and exit are stamped where the path crosses the zone's boundary.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import shapely

from agents.attackers.base import Attacker, AttackParams, Leg, gone
from agents.model_tracks import Track

__all__ = ["ZoneIntruder"]


class ZoneIntruder(Attacker):
    """Walks into a restricted zone, stays ``dwell_s``, walks out; enter/exit are stamped at the boundary."""

    kind = "zone_intruder"
    detected_by = frozenset({"zone_intrusion"})
    observable_from = "enter"
    observable_until = "exit"
    grace_s = 30.0
    act_records = ()

    @dataclass(frozen=True)
    class Params(AttackParams):
        zone: tuple[tuple[float, float], ...] | None = field(default=None, metadata={
            "kind": "polygon", "doc": "restricted zone (lon/lat); default the asset polygon at `at`"})
        radius_m: float = field(default=20.0, metadata={
            "gt": 0, "doc": "zone radius around `at` when it has no polygon and no zone"})
        dwell_s: float = field(default=60.0, metadata={"ge": 0, "doc": "time inside the zone"})
        speed_mps: float = field(default=1.3, metadata={"gt": 0, "le": 3, "doc": "walking speed"})
        approach_m: float = field(default=100.0, metadata={
            "gt": 0, "doc": "walking distance of the start from the target"})

    def restricted_zone(self):
        """The zone: the scenario's ``zone`` (converted by the engine), the asset polygon, else a circle."""
        if self.zone is not None:
            return self.zone
        return shapely.Point(*self.at_xy).buffer(self.params.radius_m)

    def plan(self, t0):
        s = self.params
        zone = self.restricted_zone()
        centre = np.array(zone.representative_point().coords[0])
        start = self.start_node(s.approach_m)
        for _ in range(8):  # start outside the zone
            if not zone.contains(shapely.Point(*self.model.walk.node_xy(start))):
                break
            start = self.start_node(s.approach_m * 2)
        pts = np.vstack([self.walk_points(start, self.at_node), centre])
        seg = np.hypot(*np.diff(pts, axis=0).T)
        cum = np.concatenate([[0.0], np.cumsum(seg)])
        q = np.arange(0.0, cum[-1] + 0.25, 0.25)
        probe = np.column_stack([np.interp(q, cum, pts[:, 0]), np.interp(q, cum, pts[:, 1])])
        inside = shapely.contains_xy(zone, probe[:, 0], probe[:, 1])
        s_in = float(q[int(np.argmax(inside))]) if inside.any() else float(cum[-1])
        v = s.speed_mps
        cut = int(np.searchsorted(cum, s_in))
        p_in = np.array([np.interp(s_in, cum, pts[:, 0]), np.interp(s_in, cum, pts[:, 1])])
        approach = Track.at_speed(np.vstack([pts[:cut], p_in]), v, t0)
        inner = np.vstack([p_in, pts[cut:]])
        enter = Track.at_speed(inner, v, approach.t1)
        enter = enter.then(Track.still(centre, enter.t1, enter.t1 + s.dwell_s))
        enter = enter.then(Track.at_speed(inner[::-1], v, enter.t1))
        out = Track.at_speed(np.vstack([p_in, pts[:cut][::-1]]), v, enter.t1)
        return [Leg("approach", approach), Leg("enter", enter), Leg("exit", out), gone(out.t1)]
