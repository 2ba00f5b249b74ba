"""``sounds``: loud harmless impulse sounds: fireworks, slammed doors, construction work, vehicle backfires.

What they imitate: an ``active_assailant``'s gunshots (impulses that microphones hear and classify); a
fireworks burst or a run of hammer blows even has a gunfire-like cadence.

Each sound is ``model.add_impulse(t, xy, cls, level_db, id)`` with ``cls`` one of ``fireworks``,
``door_slam``, ``construction``, ``backfire``, and a ``sound`` record. Rates are per km² of the twin
(``agents.lookalikes.sites.area_km2``) and hour; every level is the source level at 1 m, dB SPL, drawn
~ N(mean, sd) per sound.

==============  =====================  ==========  =========================================================
cls             events per km² and h   level (sd)  where, how, why these numbers
==============  =====================  ==========  =========================================================
door_slam       60 slams               100 (4)     a kerb beside a street (a car or a building door). About
                                                   95 dB(A) at 1 m from the sound power of a car door slam
                                                   (about 100 dB(A), Bavarian Environment Agency's parking
                                                   noise study), the unweighted peak a few dB higher
construction    1 site, 4 bursts an    118 (5)     a building's wall; a burst is 5-30 blows 1-2 s apart (a
                hour at each                       breaker or a pile driver). FHWA's Roadway Construction
                                                   Noise Model lists 90-101 dB(A) Lmax at 15 m for hoe rams
                                                   and impact pile drivers: 114-125 dB at 1 m
fireworks       0.3 displays           138 (4)     a square; 3-20 bangs within 10-120 s. Category F2
                                                   fireworks may reach 120 dB(AI) at 8 m (EN 15947,
                                                   Directive 2013/29/EU): 138 dB at 1 m
backfire        0.5 backfires          132 (4)     a point of a street; one bang, sometimes two (30 %)
==============  =====================  ==========  =========================================================

The rates are assumptions for an ordinary evening (fireworks are rare outside New Year's Eve in Finland);
set them per scenario. Sounds happen where their kind of place exists (streets for slams and backfires,
buildings for construction, squares for fireworks, else any walk node).

Records (``lookalike: sounds``): ``sound`` with ``id`` the impulse id (``<cls>-<n>``), ``cls`` and
``level_db``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import shapely

from agents.lookalikes.base import Lookalike, LookalikeParams
from agents.lookalikes.movers import edge_net
from agents.lookalikes.paths import Agenda
from agents.lookalikes.sites import area_km2, spots_in, squares

__all__ = ["SOUND_CLASSES", "Sounds"]

#: cls -> (mean level at 1 m, sd), dB SPL; see the module docstring.
SOUND_CLASSES = {"fireworks": (138.0, 4.0), "door_slam": (100.0, 4.0), "construction": (118.0, 5.0),
                 "backfire": (132.0, 4.0)}


class Sounds(Lookalike):
    """Fireworks, slammed doors, construction work and backfires at documented rates."""

    key = "sounds"
    #: fireworks and backfires sound like shots
    explains = frozenset({"gunshot", "explosion"})
    rank = 80

    @dataclass(frozen=True)
    class Params(LookalikeParams):
        door_slam_per_km2_h: float = field(default=60.0, metadata={
            "ge": 0, "le": 100_000, "doc": "slammed doors per km² and hour"})
        construction_sites_per_km2: float = field(default=1.0, metadata={
            "ge": 0, "le": 100, "doc": "construction sites at work per km²"})
        construction_bursts_per_h: float = field(default=4.0, metadata={
            "ge": 0, "le": 3600, "doc": "bursts of blows per site and hour"})
        fireworks_per_km2_h: float = field(default=0.3, metadata={
            "ge": 0, "le": 1000, "doc": "fireworks displays per km² and hour"})
        backfire_per_km2_h: float = field(default=0.5, metadata={
            "ge": 0, "le": 1000, "doc": "vehicle backfires per km² and hour"})

    def start(self, t0: float) -> None:
        s, rng, twin = self.params, self.rng, self.model.twin
        self.agenda = Agenda(self)
        self.area = area_km2(twin)
        self.count = 0
        self.drive = edge_net(twin.drive)
        self.squares = squares(twin)
        self.walk_xy = self.model.walk.xy
        n_sites = int(rng.poisson(s.construction_sites_per_km2 * self.area))
        self.sites = self._building_points(n_sites)
        self.rates = {
            "door_slam": s.door_slam_per_km2_h * self.area,
            "construction": s.construction_bursts_per_h * len(self.sites),
            "fireworks": s.fireworks_per_km2_h * self.area,
            "backfire": s.backfire_per_km2_h * self.area,
        }
        self.next_t = {c: t0 + self._gap(c) for c in self.rates}

    def _gap(self, cls: str) -> float:
        r = self.rates[cls] / 3600.0
        return float(self.rng.exponential(1.0 / r)) if r > 0 and len(self.walk_xy) else np.inf

    def _building_points(self, k: int) -> np.ndarray:
        """``k`` points on the outline of random buildings (a wall under work), else walk nodes."""
        b = self.model.twin.buildings
        polys = getattr(b, "polygons", None)
        if k == 0:
            return np.zeros((0, 2))
        if polys is None or not len(polys):
            return self._anywhere(k)
        pick = self.rng.integers(len(polys), size=k)
        rings = shapely.boundary(np.asarray(polys)[pick])
        return shapely.get_coordinates(shapely.line_interpolate_point(rings, self.rng.random(k),
                                                                      normalized=True))

    def _anywhere(self, k: int) -> np.ndarray:
        return self.walk_xy[self.rng.integers(len(self.walk_xy), size=k)]

    def _street_point(self, kerb: bool) -> np.ndarray:
        """A random point of a street (at its kerb: 3-5 m off its centre line), else a walk node."""
        net = self.drive
        if not net.n_edges:
            return self._anywhere(1)[0]
        c = np.cumsum(net.length)
        e = int(min(np.searchsorted(c / c[-1], self.rng.random(), side="right"), net.n_edges - 1))
        off = self.rng.random() * net.length[e]
        lat = self.rng.uniform(3.0, 5.0) if kerb else 0.0
        return net.at(np.array([e]), np.array([off]), np.array([lat]))[0][0]

    def _square_point(self) -> np.ndarray:
        if not self.squares:
            return self._anywhere(1)[0]
        a = self.squares[int(self.rng.integers(len(self.squares)))]
        return spots_in(a.polygon, 1, self.rng)[0]

    def _event(self, cls: str, t: float) -> None:
        """One event of ``cls`` starting at ``t``: its impulses planned at their times."""
        rng = self.rng
        if cls == "door_slam":
            times, xy = [t], self._street_point(kerb=True)
        elif cls == "backfire":
            times = [t] if rng.random() >= 0.3 else [t, t + float(rng.uniform(0.2, 1.5))]
            xy = self._street_point(kerb=False)
        elif cls == "construction":
            n = int(rng.integers(5, 31))
            times = t + np.concatenate([[0.0], np.cumsum(rng.uniform(1.0, 2.0, n - 1))])
            xy = self.sites[int(rng.integers(len(self.sites)))]
        else:
            n = int(rng.integers(3, 21))
            times = t + np.sort(rng.uniform(0.0, rng.uniform(10.0, 120.0), n))
            xy = self._square_point()
        mean, sd = SOUND_CLASSES[cls]
        for ti in np.asarray(times, float).tolist():
            self.agenda.call(ti, self._bang, cls, np.asarray(xy, float), float(rng.normal(mean, sd)), ti)

    def _bang(self, cls: str, xy: np.ndarray, level: float, t: float) -> None:
        self.count += 1
        iid = f"{cls}-{self.count}"
        self.model.add_impulse(t, xy, cls, level, iid)
        self.record("sound", iid, xy, t, cls=cls, level_db=round(level, 1))

    def step(self, t: float, dt: float) -> None:
        t1 = t + dt
        for cls in self.rates:
            while self.next_t[cls] <= t1:
                self._event(cls, self.next_t[cls])
                self.next_t[cls] += self._gap(cls)
        self.agenda.run(t1)
