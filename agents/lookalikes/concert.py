"""``concert_exit``: a concert ends and hundreds of people pour out of a venue's entrances at once and walk
off to stops, stations and home; nothing is wrong.

What it imitates: a ``crowd_surge`` (a sudden rise in density and flow, many people moving the same way)
and, to a counter, a crowd forming from nothing.

The venue: the asset at ``lonlat`` (the one whose polygon holds it, else the nearest), or by default the
biggest asset (by capacity) of the first of ``VENUE_TYPES`` the twin has: a stadium, else a church
(concerts are held in churches; in Helsinki this is the Cathedral by the Senate Square), else a school.
Its entrances are the ``entrances`` walk nodes within 40 m of its outline spread farthest apart (the first
is the node nearest the venue). At ``at_s`` the audience of ``people`` starts to leave: each leaves at a
time uniform within ``egress_s``, through an entrance drawn at random, and walks (as a member of the crowd:
the crowd's speeds, densities and queues at narrow streets apply) to one of ``destinations`` nodes: the
twin's transit stops and stations nearest the venue first, else walk nodes 300-1000 m away.

Defaults: 600 people (a church or small-hall concert), once per run 5 minutes in (``at_s`` = 300 s; a run
shorter than that has no concert: set ``at_s`` to move it), leaving within 8 minutes (``egress_s`` = 480 s,
the normal egress time of the UK Guide to Safety at Sports Grounds, the "Green Guide"), 3 entrances,
4 destinations.

Records (``lookalike: concert_exit``): ``concert_exit`` at ``at_s`` (the venue's position, ``venue``,
``people``, ``entrances``), and the crowd's ``spawned`` and ``arrived`` of every concert-goer
(``CityModel.tag_crowd``). Without a crowd in the run, or a venue in the twin, nothing happens.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import networkx as nx
import numpy as np
import shapely

from agents.crowd_params import CrowdError
from agents.lookalikes.base import Lookalike, LookalikeParams
from agents.lookalikes.sites import transit_stops

__all__ = ["VENUE_TYPES", "ConcertExit"]

#: Asset types a concert may be held in, in order of preference.
VENUE_TYPES = ("stadium", "place_of_worship", "school")
_ENTRANCE_M = 40.0


class ConcertExit(Lookalike):
    """An audience leaving a venue through its entrances, all at once, at a set time."""

    key = "concert_exit"
    #: hundreds leaving at once look like a surge
    explains = frozenset({"running", "crowd_anomaly", "crowd_density"})
    rank = 90

    @dataclass(frozen=True)
    class Params(LookalikeParams):
        at_s: float = field(default=300.0, metadata={"ge": 0, "doc": "when the audience starts leaving (s)"})
        people: int = field(default=600, metadata={"ge": 0, "le": 100_000, "doc": "the audience"})
        egress_s: float = field(default=480.0, metadata={
            "gt": 0, "le": 7200, "doc": "everybody has left within this time (s)"})
        entrances: int = field(default=3, metadata={"ge": 1, "le": 50, "doc": "entrances used"})
        destinations: int = field(default=4, metadata={"ge": 1, "le": 50, "doc": "where they walk to"})
        lonlat: tuple[float, float] | None = field(default=None, metadata={
            "kind": "lonlat", "doc": "the venue; default the biggest stadium, church or school"})

    def start(self, t0: float) -> None:
        s, model = self.params, self.model
        self.rows = np.zeros(0, np.int64)
        self.venue = self._venue()
        if self.venue is None or model.crowd is None or s.people == 0:
            self.venue = None
            return
        ents = self._entrances()
        dests = self._destinations()
        if not ents or not dests:
            self.venue = None
            return
        k = self.rng.multinomial(s.people, np.full(len(ents) * len(dests), 1.0 / (len(ents) * len(dests))))
        rows = []
        for j, n in enumerate(k.tolist()):
            a, b = ents[j // len(dests)], dests[j % len(dests)]
            if n == 0 or a == b:
                continue
            try:
                rows.append(model.crowd.add_flow(a, b, n, depart_s=(t0 + s.at_s, t0 + s.at_s + s.egress_s)))
            except CrowdError:
                continue
        self.rows = np.concatenate(rows) if rows else self.rows
        model.tag_crowd(self.rows, lookalike=self.key)
        self.entrances = ents
        self.done = False

    def _venue(self):
        """The venue asset (see the module docstring), or None."""
        twin = self.model.twin
        if self.params.lonlat is not None:
            xy = twin.to_xy(np.array([self.params.lonlat]))[0]
            pt = shapely.Point(*xy)
            cand = [a for a in twin.assets if a.polygon is not None and a.polygon.contains(pt)]
            if cand:
                return min(cand, key=lambda a: (a.polygon.area, a.id))
            return min(twin.assets, key=lambda a: (np.hypot(*(np.asarray(a.xy) - xy)), a.id), default=None)
        for kind in VENUE_TYPES:
            cand = [a for a in twin.assets if a.type == kind]
            if cand:
                return max(cand, key=lambda a: (a.capacity, a.polygon is not None, a.id))
        return None

    def _entrances(self) -> list:
        """Walk nodes near the venue's outline, spread apart (farthest-point order from the nearest)."""
        walk, v = self.model.walk, self.venue
        shape = v.polygon if v.polygon is not None else shapely.Point(*v.xy)
        d = shapely.distance(shape.boundary if v.polygon is not None else shape,
                             shapely.points(walk.xy))
        near = np.flatnonzero(d <= _ENTRANCE_M)
        core = self._core()
        near = np.array([i for i in near.tolist() if walk.nodes[i] in core], np.int64)
        if not len(near):
            return [walk.nearest(v.xy)] if walk.nearest(v.xy) in core else []
        first = int(near[np.argmin(np.hypot(*(walk.xy[near] - np.asarray(v.xy)).T))])
        pick = [first]
        dist = np.hypot(*(walk.xy[near] - walk.xy[first]).T)
        while len(pick) < self.params.entrances and dist.max() > 10.0:
            j = int(near[np.argmax(dist)])
            pick.append(j)
            dist = np.minimum(dist, np.hypot(*(walk.xy[near] - walk.xy[j]).T))
        return [walk.nodes[i] for i in pick]

    def _core(self) -> set:
        crowd = self.model.crowd
        return {crowd.net.nodes[i] for i in np.flatnonzero(crowd.net.core)}

    def _destinations(self) -> list:
        """Transit stops and stations nearest the venue, else walk nodes 300-1000 m away."""
        twin, walk, v = self.model.twin, self.model.walk, self.venue
        core = self._core()
        places = [(st.node, st.xy) for st in transit_stops(twin)[0]]
        places += [(a.node, a.xy) for a in twin.assets if a.type == "station" and a.node is not None]
        places = [(n, xy) for n, xy in places if n in core]
        places.sort(key=lambda p: (np.hypot(*(np.asarray(p[1]) - np.asarray(v.xy))), str(p[0])))
        out: list = []
        for n, _ in places:
            if n not in out:
                out.append(n)
        out = out[: self.params.destinations]
        home = walk.nearest(v.xy)
        tries = 0
        while len(out) < self.params.destinations and tries < 4 * self.params.destinations:
            tries += 1
            try:
                n = walk.node_at_distance(home, float(self.rng.uniform(300.0, 1000.0)), self.rng)
            except nx.NetworkXException:
                break
            if n in core and n not in out:
                out.append(n)
        return out

    def step(self, t: float, dt: float) -> None:
        s = self.params
        if self.venue is None or self.done or t + dt < s.at_s:
            return
        self.done = True
        self.record("concert_exit", self.venue.id, self.venue.xy, s.at_s, venue=self.venue.name,
                    people=int(len(self.rows)), entrances=[str(e) for e in self.entrances])
