"""``luggage``: somebody walks to a spot, sets a bag down, stays by it for minutes (sometimes stepping a
few metres away and back) and walks off with it.

What it imitates: a ``bag_leaver`` (an object set down in a public place), with the owner near it all the
time but for a short step away.

Where: on squares (by area), at stations (the twin's ``station`` assets) and at transit stops
(``agents.lookalikes.sites.transit_stops``), each group drawn with its share of ``site_shares`` among the
groups the twin has. When: a Poisson process of ``per_km2_h`` episodes per km² of the twin and hour.
The bag stays ~ lognormal(median ``hold_s``, log-sd ``hold_log_sd``) s; with probability
``step_away_share`` the owner walks ``step_away_m`` away for ``step_away_s`` in the middle of it (to a
ticket machine, a kiosk, a photo) and comes back. The bag is the model's left object (``place_object``);
the owner stands 0.6 m from it.

Defaults, assumptions: 12 episodes per km² and hour, bags held for about 3 minutes (median; log-sd 0.6,
so 80 % between about 1.4 and 6.5 minutes), a quarter stepping 3-10 m away for 20-90 s; squares, stations
and stops 50/25/25 %; 40-150 m walks at 1.3 m/s.

Records (``lookalike: luggage``): ``spawned`` (``cls: person``, ``what: traveller``) and ``left`` of the
owner, ``object_placed`` / ``object_removed`` (``by`` the owner, ``reason: picked_up``), ``stepped_away`` and
``came_back``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from agents.lookalikes.base import Lookalike, LookalikeParams, pair, pairs_rule
from agents.lookalikes.paths import Agenda, TimedPaths, WalkRoutes, visit
from agents.lookalikes.sites import Site, area_km2, spots_in, squares, transit_stops
from agents.world import PERSON, Targets

__all__ = ["Luggage"]

_PERSON_H, _PERSON_SD, _PERSON_W = 1.7, 0.07, 0.5
_BESIDE_M = 0.6


def _shares_rule(data, path, report) -> None:
    v = data.get("site_shares")
    if not isinstance(v, list) or not all(isinstance(x, int | float) for x in v):
        return
    if len(v) != 3:
        report.error(f"{path}.site_shares", f"must be [squares, stations, stops], got {v!r}")
    elif sum(v) <= 0:
        report.error(f"{path}.site_shares", "at least one share must be positive")


class Luggage(Lookalike):
    """A bag set down by its owner, who stays by it for minutes and takes it away again."""

    key = "luggage"
    #: a bag set down for minutes
    explains = frozenset({"abandoned_object"})
    rank = 60

    @dataclass(frozen=True)
    class Params(LookalikeParams):
        RULES = (_shares_rule, pairs_rule("step_away_m", "approach_m"))

        per_km2_h: float = field(default=12.0, metadata={
            "ge": 0, "le": 10_000, "doc": "episodes per km² of the twin and hour"})
        hold_s: float = field(default=180.0, metadata={"gt": 0, "doc": "median time the bag is down (s)"})
        hold_log_sd: float = field(default=0.6, metadata={"ge": 0, "le": 3, "doc": "its log-sd"})
        step_away_share: float = field(default=0.25, metadata={
            "ge": 0, "le": 1, "doc": "share of owners who step away from the bag for a while"})
        step_away_m: tuple[float, ...] = pair((3.0, 10.0), "how far they step away (m)")
        step_away_s: tuple[float, float] = field(default=(20.0, 90.0), metadata={
            "kind": "range2", "doc": "for how long they stay away (s)"})
        site_shares: tuple[float, ...] = field(default=(0.5, 0.25, 0.25), metadata={
            "doc": "shares of [squares, stations, transit stops]", "item": {"ge": 0}, "min_len": 3})
        approach_m: tuple[float, ...] = pair((40.0, 150.0), "walking distance to and from the spot (m)")
        walk_speed_mps: float = field(default=1.3, metadata={"gt": 0, "le": 3, "doc": "walking speed"})

    def start(self, t0: float) -> None:
        s, rng, twin = self.params, self.rng, self.model.twin
        self.people = TimedPaths(PERSON)
        self.routes = WalkRoutes(self.model.walk, rng)
        self.agenda = Agenda(self)
        self.squares = squares(twin)
        self.stations = sorted((a for a in twin.assets if a.type == "station"), key=lambda a: a.id)
        self.stops = transit_stops(twin)[0]
        groups = [self.squares, self.stations, self.stops]
        share = np.array([sh if g else 0.0 for sh, g in zip(s.site_shares, groups, strict=True)], float)
        self.share = share / share.sum() if share.sum() > 0 else share
        self.sq_w = np.cumsum([float(a.polygon.area) for a in self.squares])
        self.rate = s.per_km2_h * area_km2(twin) / 3600.0 if share.sum() > 0 else 0.0
        self.next_t = t0 + (float(rng.exponential(1.0 / self.rate)) if self.rate > 0 else np.inf)

    def _site(self) -> tuple[Site, np.ndarray]:
        """A place for the next episode and the spot (m) where the bag goes down."""
        rng = self.rng
        g = int(np.searchsorted(np.cumsum(self.share), rng.random(), side="right"))
        g = min(g, 2)
        if g == 0:
            a = self.squares[min(int(np.searchsorted(self.sq_w / self.sq_w[-1], rng.random(), side="right")),
                                 len(self.squares) - 1)]
            spot = spots_in(a.polygon, 1, rng)[0]
            return Site(a.node, a.xy, a.name, a.id), spot
        pool = self.stations if g == 1 else self.stops
        a = pool[int(rng.integers(len(pool)))]
        site = Site(a.node, tuple(a.xy), a.name, a.id)
        if g == 1 and a.polygon is not None:
            return site, spots_in(a.polygon, 1, rng)[0]
        r, ang = 5.0 * np.sqrt(rng.random()), rng.uniform(0.0, 2 * np.pi)
        return site, np.asarray(a.xy, float) + r * np.array([np.cos(ang), np.sin(ang)])

    def _episode(self, now: float) -> None:
        s, rng, model = self.params, self.rng, self.model
        site, bag = self._site()
        node = site.node if site.node is not None else model.walk.nearest(bag)
        ang = rng.uniform(0.0, 2 * np.pi)
        spot = bag + _BESIDE_M * np.array([np.cos(ang), np.sin(ang)])
        route = self.routes.pick(node, spot, s.approach_m)
        walk_m = float(np.hypot(*np.diff(np.vstack([route[:-1], spot]), axis=0).T).sum())
        t_down = now + walk_m / s.walk_speed_mps
        hold = s.hold_s * float(np.exp(rng.normal(0.0, s.hold_log_sd)))
        xy, times = visit(route, spot, t_down, t_down + hold, route[::-1], s.walk_speed_mps)
        tid = model.new_target_id()
        if rng.random() < s.step_away_share:
            xy, times = self._step_away(xy, times, spot, t_down, hold, tid)
        self.people.add(tid, xy, times, height=float(np.clip(rng.normal(_PERSON_H, _PERSON_SD), 1.4, 2.05)),
                        width=_PERSON_W)
        self.agenda.record(float(times[0]), "spawned", tid, xy[0], cls="person", what="traveller",
                           place=site.id, place_name=site.name)
        self.agenda.call(t_down, self._put_down, tid, bag, t_down, t_down + hold)
        self.agenda.record(float(times[-1]), "left", tid, xy[-1])

    def _step_away(self, xy, times, spot, t_down: float, hold: float, tid: int):
        """The owner's path with a walk ``step_away_m`` away and back inserted in the middle of the hold."""
        s, rng = self.params, self.rng
        d = rng.uniform(*s.step_away_m)
        stay = rng.uniform(*s.step_away_s)
        ang = rng.uniform(0.0, 2 * np.pi)
        there = spot + d * np.array([np.cos(ang), np.sin(ang)])
        walk = d / s.walk_speed_mps
        room = hold - 2 * walk - stay
        if room <= 2.0:
            return xy, times
        t_go = t_down + float(rng.uniform(0.2, 0.8)) * room
        k = int(np.searchsorted(times, t_down, side="right"))      # after the arrival vertex
        ins = np.vstack([spot, there, there, spot])
        tins = np.array([t_go, t_go + walk, t_go + walk + stay, t_go + 2 * walk + stay])
        self.agenda.record(t_go, "stepped_away", tid, spot, distance_m=round(d, 2))
        self.agenda.record(float(tins[-1]), "came_back", tid, spot)
        return np.vstack([xy[:k], ins, xy[k:]]), np.concatenate([times[:k], tins, times[k:]])

    def _put_down(self, tid: int, bag: np.ndarray, t: float, t_up: float) -> None:
        oid = self.model.place_object(bag, t, by=tid, lookalike=self.key)
        self.agenda.call(t_up, self._pick_up, oid, t_up)

    def _pick_up(self, oid: int, t: float) -> None:
        if oid in self.model.objects:
            self.model.remove_object(oid, t, reason="picked_up")

    def step(self, t: float, dt: float) -> None:
        t1 = t + dt
        while self.next_t <= t1:
            self._episode(self.next_t)
            self.next_t += float(self.rng.exponential(1.0 / self.rate))
        self.agenda.run(t1)
        if len(self.people) > 64:
            self.people.prune(t1)

    def targets(self) -> Targets | None:
        return self.people.targets(self.model.t)

