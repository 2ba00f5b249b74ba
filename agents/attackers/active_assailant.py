"""``active_assailant``: walks to ``at``, then moves through the crowd attacking for ``duration_s``.

Phases: approach, attack, stopped. With ``weapon: firearm`` (the default) the truth has ``shot`` and
``injured`` records and every shot is also a gunshot impulse that microphones hear; with ``weapon: knife``
it has ``stab`` and ``injured`` records and makes no sound a microphone would take for a shot.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from agents.attackers.base import Attacker, AttackParams, Leg
from agents.model_tracks import Track

__all__ = ["ActiveAssailant"]


class ActiveAssailant(Attacker):
    """Walks to ``at``, then wanders along walk-graph neighbours attacking for ``duration_s``.

    Attack times are a Poisson process with mean gap ``shot_interval_s``. Each shot: a ``shot`` truth record,
    a gunshot ``Impulse`` (150 dB at 1 m), people within ``hazard_radius_m`` flee, people within
    ``injure_radius_m`` are injured. With a knife each attack is a ``stab`` record instead, with no impulse:
    the one person nearest the attacker within ``injure_radius_m`` (the reach of a lunge) who is not yet hurt
    is injured, and those within ``hazard_radius_m`` (who see it) flee.

    Scoring is the kind's, but a knife attack makes no impulse: its phase records say
    ``not_detected_by: [gunshot]``, so only the crowd's reaction (``running``, ``crowd_anomaly``) can detect
    it and a gunshot alert near it (a misclassified look-alike sound) is a false alarm.
    """

    kind = "active_assailant"
    detected_by = frozenset({"gunshot", "running", "crowd_anomaly"})
    observable_from = ("shot", "stab")
    observable_until = "stopped"
    grace_s = 60.0
    act_records = ("shot", "stab")

    @dataclass(frozen=True)
    class Params(AttackParams):
        duration_s: float = field(default=120.0, metadata={
            "gt": 0, "doc": "time from the first shot until the assailant stops"})
        speed_mps: float = field(default=1.5, metadata={"gt": 0, "le": 6, "doc": "walking speed"})
        approach_m: float = field(default=60.0, metadata={
            "gt": 0, "doc": "walking distance of the start from the target"})
        shot_interval_s: float = field(default=6.0, metadata={
            "gt": 0, "doc": "mean time between shots (or stabs)"})
        hazard_radius_m: float = field(default=80.0, metadata={
            "gt": 0, "doc": "people within this radius of a shot flee"})
        injure_radius_m: float = field(default=3.0, metadata={
            "ge": 0, "doc": "people within this radius of a shot are injured (a stab: the nearest one)"})
        weapon: str = field(default="firearm", metadata={
            "choices": ("firearm", "knife"),
            "doc": "firearm: shots that microphones hear; knife: silent stabs"})

    def not_detected_by(self) -> frozenset[str]:
        """A knife makes no sound: no gunshot alert can be this attack's."""
        return frozenset({"gunshot"}) if self.params.weapon == "knife" else frozenset()

    def plan(self, t0):
        s = self.params
        rng = self.model.rng
        start = self.start_node(s.approach_m)
        approach = Track.at_speed(np.vstack([self.walk_points(start, self.at_node), self.at_xy]),
                                  s.speed_mps, t0)
        attack = Track.at_speed(self._wander(s.duration_s * s.speed_mps), s.speed_mps, approach.t1)
        t_end = approach.t1 + s.duration_s
        if attack.t1 < t_end:
            attack = attack.then(Track.still(attack.xy[-1], attack.t1, t_end))
        gaps = rng.exponential(s.shot_interval_s, size=int(3 * s.duration_s / s.shot_interval_s) + 4)
        times = approach.t1 + np.concatenate([[0.0], np.cumsum(gaps)])
        self.shot_times = times[times < t_end]
        self.shots_fired = 0
        self.victims: set[int] = set()
        stop_xy = attack.pos(t_end)
        return [Leg("approach", approach), Leg("attack", attack, during=self._fire),
                Leg("stopped", Track.still(stop_xy, t_end, t_end + 1e9))]

    def _wander(self, need: float) -> np.ndarray:
        """A random walk along walk-graph neighbours from ``at``, at least ``need`` metres long."""
        rng, walk = self.model.rng, self.model.walk
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
        return np.vstack(pts)

    def _fire(self, t_a: float, t_b: float) -> None:
        s = self.params
        leg = self.legs[1]
        due = self.shot_times[(self.shot_times >= t_a) & (self.shot_times < t_b)]
        knife = s.weapon == "knife"
        for ts in due:
            xy = leg.track.pos(ts)
            self.shots_fired += 1
            if knife:
                self.model.record("stab", self.tid, xy, float(ts), attack_id=self.attack_id,
                                  stab=f"{self.attack_id}-stab{self.shots_fired}")
            else:
                sid = f"{self.attack_id}-shot{self.shots_fired}"
                self.model.record("shot", self.tid, xy, float(ts), attack_id=self.attack_id, shot=sid)
                self.model.add_impulse(float(ts), xy, "gunshot", 150.0, sid)
            crowd = self.model.crowd
            if crowd is not None:
                crowd.hazard(xy, s.hazard_radius_m, t=float(ts), duration_s=120.0)
                if s.injure_radius_m > 0:
                    hurt = (self._stab(xy, float(ts)) if knife
                            else crowd.injure_near(xy, s.injure_radius_m, t=float(ts)))
                    self.model.truth.extend({**ev, "attack_id": self.attack_id} for ev in hurt)

    def _stab(self, xy: np.ndarray, t: float) -> list[dict]:
        """The person nearest ``xy`` within reach and not yet hurt is injured (people standing on the very
        same spot, within a millimetre, with them); returns the ``injured`` events."""
        crowd = self.model.crowd
        people = crowd.targets()
        if not len(people):
            return []
        d = np.hypot(*(people.xy - xy).T)
        d[np.isin(people.ids, np.fromiter(self.victims, np.int64, len(self.victims)))] = np.inf
        i = int(np.argmin(d))
        if not d[i] <= self.params.injure_radius_m:
            return []
        hurt = crowd.injure_near(people.xy[i], 1e-3, t=t)
        self.victims.update(int(ev["id"]) for ev in hurt)
        return hurt
