"""``bomber``: carries a bag to a place, leaves it, walks away; the bag detonates ``fuse_s`` after it is down.

Phases: approach, place, leave, gone and detonation (in time order: with a short fuse the detonation comes
while the bomber is still walking away). Truth: ``object_placed`` at the end of ``place`` (the bag is a
target of class object that cameras see until it goes off), ``detonation`` and ``object_removed`` (reason
``detonated``) at the blast, ``injured`` for everybody within ``injure_radius_m``; the blast is also an
``explosion`` impulse that microphones hear, and the crowd within ``hazard_radius_m`` flees.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from agents.attackers.bag_leaver import drop_tracks
from agents.attackers.base import Attacker, AttackParams, Leg, gone

__all__ = ["Bomber"]


class Bomber(Attacker):
    """Walks in, sets a bag down at ``at``, walks ``leave_m`` away; the bag explodes ``fuse_s`` after that.

    The blast: a ``detonation`` record, an ``explosion`` impulse of ``level_db`` at 1 m, people within
    ``injure_radius_m`` injured (``crowd.injure_near``), people within ``hazard_radius_m`` flee
    (``crowd.hazard``, streets avoided for ``hazard_s``). Scoring: the act opens when the bag is set down (an
    unattended bag is what a camera can see); an ``abandoned_object`` alert before the blast or an
    ``explosion`` alert after it detects the attack (an explosion is loud and unmistakable: no crowd alert is
    needed to score it).
    """

    kind = "bomber"
    detected_by = frozenset({"abandoned_object", "explosion"})
    observable_from = "object_placed"
    observable_until = "detonation"
    grace_s = 60.0
    act_records = ("object_placed", "detonation")

    @dataclass(frozen=True)
    class Params(AttackParams):
        fuse_s: float = field(default=120.0, metadata={
            "gt": 0, "doc": "time from setting the bag down to the blast (s)"})
        place_s: float = field(default=10.0, metadata={"ge": 0, "doc": "time spent putting the bag down"})
        speed_mps: float = field(default=1.3, metadata={"gt": 0, "le": 3, "doc": "walking speed"})
        approach_m: float = field(default=120.0, metadata={
            "gt": 0, "doc": "walking distance of the start from the target"})
        leave_m: float = field(default=200.0, metadata={
            "gt": 0, "doc": "walking distance away after placing"})
        level_db: float = field(default=180.0, metadata={
            "gt": 0, "le": 250, "doc": "peak level at 1 m, dB SPL (as agents.world.IMPULSE_LEVEL_DB)"})
        injure_radius_m: float = field(default=10.0, metadata={
            "ge": 0, "doc": "people within this radius of the blast are injured (assumption: a bag-sized "
                            "device)"})
        hazard_radius_m: float = field(default=100.0, metadata={
            "gt": 0, "doc": "people within this radius flee (the 100 m cordon for a briefcase-sized item)"})
        hazard_s: float = field(default=600.0, metadata={
            "gt": 0, "doc": "routing avoids the blast's streets this long (s)"})

    def plan(self, t0):
        s = self.params
        approach, place, leave = drop_tracks(self, t0)
        self.object_id: int | None = None
        self.victims: list[int] = []
        t_blast = place.t1 + s.fuse_s
        legs = [Leg("approach", approach), Leg("place", place)]
        if t_blast < leave.t1:          # a short fuse: the blast comes while the bomber walks away
            head, tail = leave.split(t_blast)
            return legs + [Leg("leave", head, on_enter=self._drop),
                           Leg("detonation", tail, on_enter=self._blast), gone(leave.t1)]
        return legs + [Leg("leave", leave, on_enter=self._drop), gone(leave.t1),
                       Leg("detonation", None, on_enter=self._blast, _t0=t_blast)]

    def _drop(self, t: float) -> None:
        self.object_id = self.model.place_object(self.at_xy, t, by=self.tid)

    def _blast(self, t: float) -> None:
        s = self.params
        xy = self.at_xy
        crowd = self.model.crowd
        hurt: list[dict] = []
        if crowd is not None:
            if s.injure_radius_m > 0:
                hurt = crowd.injure_near(xy, s.injure_radius_m, t=t)
            crowd.hazard(xy, s.hazard_radius_m, t=t, duration_s=s.hazard_s)
        self.victims = [int(ev["id"]) for ev in hurt]
        self.model.record("detonation", self.tid, xy, t, attack_id=self.attack_id, object=self.object_id,
                          injured=len(hurt))
        self.model.truth.extend({**ev, "attack_id": self.attack_id} for ev in hurt)
        self.model.add_impulse(t, xy, "explosion", s.level_db, f"{self.attack_id}-blast")
        if self.object_id is not None and self.object_id in self.model.objects:
            self.model.remove_object(self.object_id, t, reason="detonated")
