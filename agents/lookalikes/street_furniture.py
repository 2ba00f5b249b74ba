"""``street_furniture``: benches and litter bins that stand along pavements, on squares and at stops all
run long (class ``furniture``).

What they imitate: an object that appeared and stays (``bag_leaver``), to a detector that calls a bin or a
bench a bag, and things that hide people standing behind them.

The twin holds no benches or bins (OSM's ``amenity=bench``/``waste_basket`` are not read), so they are put
where they usually stand:

- bins every ``bin_spacing_m`` along footways, pedestrian streets, paths and living streets (each way once,
  the first at a random distance), at the way's edge (half its width plus 0.3 m, on a random side);
- benches on squares, ``benches_per_1000m2`` per 1,000 m² of square, at random spots inside it;
- one bench and one bin beside each transit stop (``agents.lookalikes.sites.transit_stops``), 2-3 m off.

Defaults, assumptions: a bin every 100 m of walkway, 1 bench per 1,000 m² of square. Sizes: a bench 0.85 m
high and 1.8 m wide (a three-seat park bench), a bin 1.0 m high and 0.5 m wide (a pole- or
ground-mounted street bin).

Records (``lookalike: street_furniture``): one ``furniture`` record per item at the start (``item``: bench or
bin).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from agents.lookalikes.base import Lookalike, LookalikeParams
from agents.lookalikes.movers import edge_net
from agents.lookalikes.sites import spots_in, squares, transit_stops
from agents.world import FURNITURE, Targets

__all__ = ["FURNITURE_SIZES", "WALKWAYS", "StreetFurniture"]

#: item -> (height, width) in metres
FURNITURE_SIZES = {"bench": (0.85, 1.8), "bin": (1.0, 0.5)}
#: OSM ``highway`` classes of the walk graph along which bins stand
WALKWAYS = ("footway", "pedestrian", "path", "living_street")


def _walkway(d: dict) -> bool:
    """Whether a walk edge is a walkway: one of its classes (a merged way lists several) in ``WALKWAYS``."""
    h = d.get("highway")
    return any(x in WALKWAYS for x in (h if isinstance(h, list) else [h]))


class StreetFurniture(Lookalike):
    """Benches and bins along pavements, on squares and at stops."""

    key = "street_furniture"
    #: benches and bins taken for bags
    explains = frozenset({"abandoned_object"})
    rank = 70

    @dataclass(frozen=True)
    class Params(LookalikeParams):
        bin_spacing_m: float = field(default=100.0, metadata={
            "gt": 5, "doc": "a bin every this many metres of walkway"})
        benches_per_1000m2: float = field(default=1.0, metadata={
            "ge": 0, "le": 100, "doc": "benches per 1,000 m² of square"})
        at_stops: bool = field(default=True, metadata={"doc": "a bench and a bin beside every transit stop"})

    def start(self, t0: float) -> None:
        s, rng, twin = self.params, self.rng, self.model.twin
        xy, item = [self._bins()], []
        item.append(np.full(len(xy[0]), "bin"))
        for a in squares(twin):
            k = int(rng.poisson(s.benches_per_1000m2 * float(a.polygon.area) / 1000.0))
            if k:
                xy.append(spots_in(a.polygon, k, rng))
                item.append(np.full(k, "bench"))
        if s.at_stops:
            for stop in transit_stops(twin)[0]:
                ang = rng.uniform(0.0, 2 * np.pi, 2)
                d = rng.uniform(2.0, 3.0, 2)
                xy.append(np.asarray(stop.xy, float) + d[:, None] * np.column_stack([np.cos(ang),
                                                                                     np.sin(ang)]))
                item.append(np.array(["bench", "bin"]))
        self.xy = np.vstack(xy) if xy else np.zeros((0, 2))
        self.item = np.concatenate(item) if item else np.zeros(0, str)
        n = len(self.xy)
        self.ids = np.array([self.model.new_target_id() for _ in range(n)], np.int64)
        sizes = np.array([FURNITURE_SIZES[str(i)] for i in self.item]).reshape(-1, 2)
        self._targets = Targets(ids=self.ids, cls=np.full(n, FURNITURE, np.int8), xy=self.xy,
                                height_m=sizes[:, 0], width_m=sizes[:, 1], speed=np.zeros(n))
        for i in range(n):
            self.record("furniture", int(self.ids[i]), self.xy[i], t0, item=str(self.item[i]))

    def _bins(self) -> np.ndarray:
        """Bin positions along the walkways (each way once, at its edge)."""
        s, rng = self.params, self.rng
        net = edge_net(self.model.twin.walk)
        idx = np.arange(net.n_edges)
        once = (net.rev < 0) | (idx < net.rev)
        way = np.array([_walkway(d) for d in net.data], bool)
        e = idx[once & way] if net.n_edges else idx
        if not len(e):
            return np.zeros((0, 2))
        first = rng.uniform(0.0, s.bin_spacing_m, len(e))
        k = np.maximum(np.ceil((net.length[e] - first) / s.bin_spacing_m), 0).astype(np.int64)
        rows = np.repeat(np.arange(len(e)), k)
        off = first[rows] + (np.arange(k.sum()) - np.repeat(np.cumsum(k) - k, k)) * s.bin_spacing_m
        width = np.array([float(net.data[i].get("width_m") or 2.0) for i in e])
        side = np.where(rng.random(len(rows)) < 0.5, -1.0, 1.0)
        return net.at(e[rows], off, side * (width[rows] / 2 + 0.3))[0]

    def targets(self) -> Targets | None:
        return self._targets
