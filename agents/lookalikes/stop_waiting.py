"""``stop_waiting``: people walk to a tram or bus stop, stand there for minutes and board; others alight
and walk away.

What they imitate: a ``loiterer`` (somebody standing at one spot for minutes), and a small crowd that
forms and vanishes at once.

Stops: ``agents.lookalikes.sites.transit_stops`` (the twin's tram and bus stop assets, else stops every
``spacing_m`` along its main streets). At each stop a tram or bus comes every ``headway_s`` (the first at a
random phase); passengers arrive as a Poisson process of ``arrivals_per_min``, so each waits until the next
vehicle: between nothing and ``headway_s``, ``headway_s / 2`` on average. Each walks in from a walk node
``approach_m`` away (along the walk graph, at ``walk_speed_mps``), stands within ``spread_m`` of the stop
and leaves the world when the vehicle comes (boarding takes up to ``board_s``); ~ Poisson(``alight_mean``)
passengers alight from each vehicle and walk away ``approach_m``. The vehicle itself is not a target here.

Defaults, assumptions: a tram or bus every 5 min (several HSL lines share the central stops, each running
every 5-10 min in the daytime), 1 passenger a minute per stop (about 60 boardings an hour), as many
alighting, 60-250 m walks at 1.3 m/s (Weidmann's 1.34 m/s mean free walking speed), standing within 4 m.

Records (``lookalike: stop_waiting``): ``spawned`` (``cls: person``, ``what: passenger``, ``stop``),
``waiting`` (at the stop), ``boarded`` (leaves the world) and, for those alighting, ``spawned`` and ``left``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from agents.lookalikes.base import Lookalike, LookalikeParams, pair, pairs_rule
from agents.lookalikes.paths import Agenda, TimedPaths, WalkRoutes, visit
from agents.lookalikes.sites import transit_stops
from agents.world import PERSON, Targets

__all__ = ["StopWaiting"]

_PERSON_H, _PERSON_SD, _PERSON_W = 1.7, 0.07, 0.5


class StopWaiting(Lookalike):
    """Passengers waiting at tram and bus stops, boarding and alighting."""

    key = "stop_waiting"
    #: people standing at a stop for minutes
    explains = frozenset({"loitering", "crowd_density"})
    rank = 40

    @dataclass(frozen=True)
    class Params(LookalikeParams):
        RULES = (pairs_rule("approach_m"),)

        arrivals_per_min: float = field(default=1.0, metadata={
            "ge": 0, "le": 60, "doc": "passengers arriving at each stop per minute"})
        headway_s: float = field(default=300.0, metadata={
            "gt": 30, "le": 7200, "doc": "a tram or bus comes this often (s)"})
        alight_mean: float = field(default=5.0, metadata={
            "ge": 0, "le": 200, "doc": "mean passengers alighting from each vehicle"})
        board_s: float = field(default=20.0, metadata={"ge": 0, "le": 300, "doc": "boarding takes up to (s)"})
        approach_m: tuple[float, ...] = pair((60.0, 250.0), "walking distance to and from the stop (m)")
        walk_speed_mps: float = field(default=1.3, metadata={"gt": 0, "le": 3, "doc": "walking speed"})
        spread_m: float = field(default=4.0, metadata={
            "ge": 0, "le": 50, "doc": "people stand within this distance of the stop"})
        spacing_m: float = field(default=350.0, metadata={
            "gt": 0, "doc": "spacing of the stops put on main streets when the twin has none"})

    def start(self, t0: float) -> None:
        s, rng = self.params, self.rng
        self.stops, self.stops_from = transit_stops(self.model.twin, spacing_m=s.spacing_m)
        self.people = TimedPaths(PERSON)
        self.routes = WalkRoutes(self.model.walk, rng)
        self.agenda = Agenda(self)
        k = len(self.stops)
        #: per stop: the time of the next vehicle whose passengers are not planned yet
        self.next_vehicle = t0 + rng.uniform(0.0, s.headway_s, k)
        self.lead_s = s.approach_m[1] / s.walk_speed_mps + s.board_s + 5.0
        for i in range(k):   # the passengers already on their way or waiting at the start
            self._plan_cycle(i, t0)

    def _plan_cycle(self, i: int, t: float) -> None:
        """Plan the passengers of stop ``i``'s next vehicle (arriving since the one before) and those who
        alight from it; ``t`` is now (nothing is recorded before it)."""
        s, rng = self.params, self.rng
        stop = self.stops[i]
        tv = float(self.next_vehicle[i])
        n = int(rng.poisson(s.arrivals_per_min * s.headway_s / 60.0))
        arrive = np.sort(rng.uniform(tv - s.headway_s, tv, n))
        for ta in arrive.tolist():
            self._passenger(stop, ta, tv + float(rng.uniform(0.0, s.board_s)), t)
        for _ in range(int(rng.poisson(s.alight_mean))):
            self._alighting(stop, tv + float(rng.uniform(0.0, s.board_s)), t)
        self.next_vehicle[i] = tv + s.headway_s

    def _spot(self, stop) -> np.ndarray:
        r = self.params.spread_m * np.sqrt(self.rng.random())
        a = self.rng.uniform(0.0, 2 * np.pi)
        return np.asarray(stop.xy, float) + r * np.array([np.cos(a), np.sin(a)])

    def _passenger(self, stop, t_arrive: float, t_board: float, now: float) -> None:
        s = self.params
        route = self.routes.pick(stop.node, stop.xy, s.approach_m, k=6)
        spot = self._spot(stop)
        xy, times = visit(route, spot, t_arrive, t_board, None, s.walk_speed_mps)
        tid = self.model.new_target_id()
        self.people.add(tid, xy, times, height=self._height(), width=_PERSON_W)
        t_in = max(float(times[0]), now)
        p_in = np.array([np.interp(t_in, times, xy[:, 0]), np.interp(t_in, times, xy[:, 1])])
        at = {"stop": stop.id, "stop_name": stop.name}
        self.agenda.record(t_in, "spawned", tid, p_in, cls="person", what="passenger", **at)
        self.agenda.record(max(t_arrive, now), "waiting", tid, spot, **at)
        self.agenda.record(max(t_board, now), "boarded", tid, spot, **at)

    def _alighting(self, stop, t_off: float, now: float) -> None:
        s = self.params
        route = self.routes.pick(stop.node, stop.xy, s.approach_m, k=6)[::-1]
        spot = self._spot(stop)
        xy, times = visit(None, spot, t_off, t_off, route, s.walk_speed_mps)
        tid = self.model.new_target_id()
        self.people.add(tid, xy, times, height=self._height(), width=_PERSON_W)
        self.agenda.record(max(t_off, now), "spawned", tid, spot, cls="person", what="passenger",
                           stop=stop.id, stop_name=stop.name,
                           alighted=True)
        self.agenda.record(max(float(times[-1]), now), "left", tid, xy[-1])

    def _height(self) -> float:
        return float(np.clip(self.rng.normal(_PERSON_H, _PERSON_SD), 1.4, 2.05))

    def step(self, t: float, dt: float) -> None:
        t1 = t + dt
        if len(self.stops):
            # plan a vehicle's passengers early enough that the first of them is still to set off
            due = np.flatnonzero(self.next_vehicle - self.params.headway_s - self.lead_s <= t1)
            while len(due):
                for i in due.tolist():
                    self._plan_cycle(i, t1)
                due = np.flatnonzero(self.next_vehicle - self.params.headway_s - self.lead_s <= t1)
        self.agenda.run(t1)
        if len(self.people) > 256:
            self.people.prune(t1)

    def targets(self) -> Targets | None:
        return self.people.targets(self.model.t)
