"""Fast movers on the walk graph (cyclists, joggers): the shared part of their two look-alike kinds.

``FastWalkers`` keeps ``per_km`` movers per km of walkway (the walk graph's edge length halved: both
directions of a way are one walkway) on ``agents.lookalikes.movers.GraphMovers``, each at its own speed
~ N(``speed_mps``, ``speed_sd``) clipped to ``speed_range``, in a lane across the way (a fixed share of its
width, drawn once). At the end of a way each turns into one of the next ways with probability proportional
to the kind's preference for its OSM ``highway`` class. One who reaches a way cut by the twin's bbox leaves
the world and another enters at such a way. Records: ``spawned`` (``cls``, ``what``) and ``left``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from agents.lookalikes.base import Lookalike, LookalikeParams, pair, pairs_rule
from agents.lookalikes.movers import GraphMovers, edge_net
from agents.world import CLASS_NAMES, Targets

__all__ = ["FastWalkers", "WalkerParams"]


@dataclass(frozen=True)
class WalkerParams(LookalikeParams):
    """What every fast-walker kind declares (each kind gives its own defaults)."""

    RULES = (pairs_rule("speed_range"),)

    per_km: float = field(default=1.0, metadata={"ge": 0, "le": 100, "doc": "movers per km of walkway"})
    speed_mps: float = field(default=3.0, metadata={"gt": 0, "le": 15, "doc": "mean speed (m/s)"})
    speed_sd: float = field(default=0.5, metadata={"ge": 0, "le": 5, "doc": "spread of speeds (sd, m/s)"})
    speed_range: tuple[float, ...] = pair((2.0, 4.0), "speeds are clipped to [low, high] m/s")


class FastWalkers(Lookalike):
    """Movers of one class on the walk graph; subclasses name the class, sizes and way preferences."""

    Params = WalkerParams
    #: target class code (``agents.world``) and the ``what`` of their records
    cls: ClassVar[int] = 0
    what: ClassVar[str] = ""
    #: body height mean and sd (m), width (m)
    height_m: ClassVar[tuple[float, float]] = (1.72, 0.07)
    width_m: ClassVar[float] = 0.5
    #: preference by OSM ``highway`` class of the way (default for others: ``other_pref``)
    pref: ClassVar[dict[str, float]] = {}
    other_pref: ClassVar[float] = 1.0

    def start(self, t0: float) -> None:
        s, rng = self.params, self.rng
        net = edge_net(self.model.twin.walk)
        self.net = net
        pref = np.array([self._pref(d.get("highway")) for d in net.data])
        n = int(round(s.per_km * net.length.sum() / 2000.0)) if (pref > 0).any() else 0
        self.mv = GraphMovers(net, pref, np.zeros(n, np.int64), rng=rng, lateral_of=self._lateral)
        n = self.mv.n
        lo, hi = s.speed_range
        self.v = np.clip(rng.normal(s.speed_mps, s.speed_sd, n), lo, hi)
        self.h = np.clip(rng.normal(self.height_m[0], self.height_m[1], n), 1.3, 2.1)
        self.lane = rng.uniform(-0.35, 0.35, n)
        self.width = np.array([float(d.get("width_m") or 2.0) for d in net.data])
        self.ids = np.array([self.model.new_target_id() for _ in range(n)], np.int64)
        self.mv.speed[:] = self.v
        self.mv.lateral[:] = self._lateral(np.arange(n), self.mv.edge)
        xy = self.mv.positions()
        for i in range(n):
            self.record("spawned", int(self.ids[i]), xy[i], t0, cls=CLASS_NAMES[self.cls], what=self.what)

    def _pref(self, highway) -> float:
        """Preference of a way of OSM class ``highway``; a merged way lists several (in no meaningful
        order): the lowest counts (a way with steps is a way with steps)."""
        hs = [h for h in (highway if isinstance(highway, list) else [highway]) if h is not None]
        return float(min((self.pref.get(str(h), self.other_pref) for h in hs), default=self.other_pref))

    def _lateral(self, rows: np.ndarray, edges: np.ndarray) -> np.ndarray:
        """Lateral offsets of movers ``rows`` on ``edges``: their lane share of the way's free width."""
        return self.lane[rows] * np.maximum(self.width[edges] - self.width_m, 0.0)

    def step(self, t: float, dt: float) -> None:
        mv = self.mv
        if not mv.n:
            return
        _, gone = mv.advance(self.v, dt)
        if len(gone):
            t1 = t + dt
            xy = mv.positions(gone)
            for i, r in enumerate(gone.tolist()):
                self.record("left", int(self.ids[r]), xy[i], t1)
            mv.enter(gone)
            mv.speed[gone] = self.v[gone]
            xy = mv.positions(gone)
            for i, r in enumerate(gone.tolist()):
                self.ids[r] = self.model.new_target_id()
                self.record("spawned", int(self.ids[r]), xy[i], t1, cls=CLASS_NAMES[self.cls], what=self.what)

    def targets(self) -> Targets | None:
        mv = self.mv
        if not mv.n:
            return None
        return Targets(ids=self.ids.copy(), cls=np.full(mv.n, self.cls, np.int8), xy=mv.positions(),
                       height_m=self.h.copy(), width_m=np.full(mv.n, self.width_m), speed=mv.speed.copy())
