"""``bag_leaver``: walks in, puts an object down (it stays: a target of class object), walks away.

Phases: approach, place, leave, gone. Truth: ``object_placed`` at the end of ``place``, ``object_removed``
``remove_after_s`` later if given.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from agents.attackers.base import Attacker, AttackParams, Leg, gone
from agents.model_tracks import Track

__all__ = ["BagLeaver", "drop_tracks"]


def drop_tracks(atk: Attacker, t0: float) -> tuple[Track, Track, Track]:
    """Walking in from ``approach_m`` away, standing ``place_s`` at the place, walking ``leave_m`` away, at
    ``speed_mps`` (the attacker's params): the tracks of anyone who leaves something at ``at``."""
    s = atk.params
    start = atk.start_node(s.approach_m)
    approach = Track.at_speed(np.vstack([atk.walk_points(start, atk.at_node), atk.at_xy]), s.speed_mps, t0)
    place = Track.still(atk.at_xy, approach.t1, approach.t1 + s.place_s)
    away = atk.start_node(s.leave_m)
    leave = Track.at_speed(np.vstack([atk.at_xy, atk.walk_points(atk.at_node, away)]), s.speed_mps, place.t1)
    return approach, place, leave


class BagLeaver(Attacker):
    """Walks in, puts an object down at the place, walks ``leave_m`` away."""

    kind = "bag_leaver"
    detected_by = frozenset({"abandoned_object"})
    observable_from = "object_placed"
    observable_until = "object_removed"
    grace_s = 60.0
    act_records = ("object_placed",)

    @dataclass(frozen=True)
    class Params(AttackParams):
        place_s: float = field(default=10.0, metadata={"ge": 0, "doc": "time spent putting the bag down"})
        speed_mps: float = field(default=1.3, metadata={"gt": 0, "le": 3, "doc": "walking speed"})
        approach_m: float = field(default=120.0, metadata={
            "gt": 0, "doc": "walking distance of the start from the target"})
        leave_m: float = field(default=150.0, metadata={
            "gt": 0, "doc": "walking distance away after placing"})
        remove_after_s: float | None = field(default=None, metadata={
            "gt": 0, "doc": "the object is removed this long after placing"})

    def plan(self, t0):
        s = self.params
        approach, place, leave = drop_tracks(self, t0)
        self.object_id: int | None = None

        def drop(t: float) -> None:
            self.object_id = self.model.place_object(self.at_xy, t, by=self.tid,
                                                     remove_after_s=s.remove_after_s)

        return [Leg("approach", approach), Leg("place", place), Leg("leave", leave, on_enter=drop),
                gone(leave.t1)]
