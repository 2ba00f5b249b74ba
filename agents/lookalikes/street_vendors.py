"""``street_vendors``: street vendors and buskers who walk onto a square, stand at one pitch for about an
hour and leave; a vendor sets up a stall, a busker puts an instrument case down in front of them.

What they imitate: a ``loiterer`` (somebody at one spot for an hour) and, with the case on the ground and
people around it, a ``bag_leaver``'s object (its owner stays by it).

Where and how many: on the twin's squares (square assets with a polygon), ``per_hectare`` of them at any
time per hectare of square, at pitches drawn uniformly inside each square; sessions last
~ N(``session_s``, ``session_sd_s``) clipped to ``session_range_s``. Those there at the start are part-way
through a session (their case or stall is recorded as placed at the start); the others arrive as a Poisson
process that keeps the number steady. Each walks ``approach_m`` from a walk node to the pitch at
``walk_speed_mps`` and back out afterwards. ``busker_share`` of them are buskers, the rest vendors.

Defaults, assumptions: 1 per hectare of square (the Senate Square's 0.67 ha has about one), sessions of
60 +- 15 min (20 min to 2 h), half buskers. A stall is a ``furniture`` target 1.0 m high and 1.5 m wide (a
market table with its goods); an instrument case is an ``object`` (the model's left-object target).

Records (``lookalike: street_vendors``): ``spawned`` (``cls: person``, ``what``: vendor or busker) and
``left``; ``pitch_set_up`` and ``pitch_packed_up``; ``object_placed`` / ``object_removed`` of a busker's
case (``by`` the busker); ``furniture_placed`` / ``furniture_removed`` of a stall.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from agents.lookalikes.base import Lookalike, LookalikeParams, pair, pairs_rule
from agents.lookalikes.paths import Agenda, TimedPaths, WalkRoutes, visit
from agents.lookalikes.sites import spots_in, squares
from agents.world import FURNITURE, PERSON, Targets

__all__ = ["StreetVendors"]

_PERSON_H, _PERSON_SD, _PERSON_W = 1.7, 0.07, 0.5
#: a stall: height, width (m)
STALL = (1.0, 1.5)


class StreetVendors(Lookalike):
    """Vendors and buskers standing at a pitch on a square for about an hour."""

    key = "street_vendors"
    #: standing at a pitch for an hour; a busker's case on the ground
    explains = frozenset({"loitering", "abandoned_object"})
    rank = 50

    @dataclass(frozen=True)
    class Params(LookalikeParams):
        RULES = (pairs_rule("approach_m"),)

        per_hectare: float = field(default=1.0, metadata={
            "ge": 0, "le": 100, "doc": "vendors and buskers at any time per hectare of square"})
        session_s: float = field(default=3600.0, metadata={"gt": 0, "doc": "mean time at the pitch (s)"})
        session_sd_s: float = field(default=900.0, metadata={"ge": 0, "doc": "its spread (sd, s)"})
        session_range_s: tuple[float, float] = field(default=(1200.0, 7200.0), metadata={
            "kind": "range2", "doc": "sessions are clipped to [shortest, longest] s"})
        busker_share: float = field(default=0.5, metadata={"ge": 0, "le": 1, "doc": "share of buskers"})
        approach_m: tuple[float, ...] = pair((50.0, 200.0), "walking distance to and from the pitch (m)")
        walk_speed_mps: float = field(default=1.3, metadata={"gt": 0, "le": 3, "doc": "walking speed"})

    def start(self, t0: float) -> None:
        s, rng = self.params, self.rng
        self.squares = squares(self.model.twin)
        self.people = TimedPaths(PERSON)
        self.stalls = TimedPaths(FURNITURE)
        self.routes = WalkRoutes(self.model.walk, rng)
        self.agenda = Agenda(self)
        area = np.array([float(a.polygon.area) for a in self.squares])
        self.expected = s.per_hectare * area / 1e4
        self.weights = area / area.sum() if len(area) else area
        mean = float(np.mean(self._sessions(4096))) if len(area) else s.session_s
        self.rate = float(self.expected.sum()) / mean if len(area) else 0.0
        for i, n in enumerate(rng.poisson(self.expected).tolist()):
            for dur in self._sessions(n).tolist():
                self._performer(i, t0 - dur * float(rng.random()), dur, t0)
        self.next_t = t0 + (float(rng.exponential(1.0 / self.rate)) if self.rate > 0 else np.inf)

    def _sessions(self, n: int) -> np.ndarray:
        s = self.params
        lo, hi = s.session_range_s
        return np.clip(self.rng.normal(s.session_s, s.session_sd_s, n), lo, hi)

    def _performer(self, i: int, t_set: float | None, dur: float, now: float) -> None:
        """Performer at square ``i`` setting up at ``t_set`` (None: setting off now) for ``dur`` s; nothing
        is recorded before ``now``."""
        s, rng, model = self.params, self.rng, self.model
        sq = self.squares[i]
        spot = spots_in(sq.polygon, 1, rng)[0]
        node = sq.node if sq.node is not None else model.walk.nearest(spot)
        route = self.routes.pick(node, spot, s.approach_m)
        if t_set is None:
            t_set = now + float(np.hypot(*np.diff(route, axis=0).T).sum()) / s.walk_speed_mps
        busker = bool(rng.random() < s.busker_share)
        what = "busker" if busker else "vendor"
        t_pack = t_set + dur
        xy, times = visit(route, spot, t_set, t_pack, route[::-1], s.walk_speed_mps)
        tid = model.new_target_id()
        self.people.add(tid, xy, times, height=float(np.clip(rng.normal(_PERSON_H, _PERSON_SD), 1.4, 2.05)),
                        width=_PERSON_W)
        ang = rng.uniform(0.0, 2 * np.pi)
        thing = spot + 1.0 * np.array([np.cos(ang), np.sin(ang)])
        t_in = max(float(times[0]), now)
        p_in = np.array([np.interp(t_in, times, xy[:, 0]), np.interp(t_in, times, xy[:, 1])])
        at = {"what": what, "place": sq.id, "place_name": sq.name}
        self.agenda.record(t_in, "spawned", tid, p_in, cls="person", **at)
        self.agenda.record(max(t_set, now), "pitch_set_up", tid, spot, **at,
                           session_s=round(dur, 1))
        if busker:
            self.agenda.call(max(t_set, now), self._case, tid, thing, max(t_set, now), t_pack)
        else:
            sid = model.new_target_id()
            self.stalls.add(sid, np.vstack([thing, thing]), [t_set, t_pack], height=STALL[0], width=STALL[1])
            self.agenda.record(max(t_set, now), "furniture_placed", sid, thing, item="stall", by=tid)
            self.agenda.record(t_pack, "furniture_removed", sid, thing, item="stall", by=tid)
        self.agenda.record(t_pack, "pitch_packed_up", tid, spot, **at)
        self.agenda.record(float(times[-1]), "left", tid, xy[-1])

    def _case(self, tid: int, xy: np.ndarray, t: float, t_pack: float) -> None:
        """The busker puts the case down at ``t`` and picks it up at ``t_pack``."""
        oid = self.model.place_object(xy, t, by=tid, lookalike=self.key)
        self.agenda.call(t_pack, self._pick_up, oid, t_pack)

    def _pick_up(self, oid: int, t: float) -> None:
        if oid in self.model.objects:
            self.model.remove_object(oid, t, reason="picked_up")

    def step(self, t: float, dt: float) -> None:
        t1 = t + dt
        while self.next_t <= t1:
            i = int(np.searchsorted(np.cumsum(self.weights), self.rng.random(), side="right"))
            self._performer(min(i, len(self.squares) - 1), None, float(self._sessions(1)[0]), self.next_t)
            self.next_t += float(self.rng.exponential(1.0 / self.rate))
        self.agenda.run(t1)
        if len(self.people) > 64:
            self.people.prune(t1)
            self.stalls.prune(t1)

    def targets(self) -> Targets | None:
        t = self.model.t
        return Targets.concat([self.people.targets(t), self.stalls.targets(t)])
