"""``joggers``: people running for exercise on the walk graph (class ``person``) at 2.5-4 m/s.

What they imitate: a person running (``running``) and several runners at once (a dispersal, a
``crowd_surge`` or an ``active_assailant``'s fleeing crowd).

Defaults (see ``agents.lookalikes.walkers`` for how they move):

- ``per_km`` = 0.3 joggers per km of walkway at any time, an assumption: at 3 m/s about 3 an hour past a
  point, more along parks and the shore in reality, fewer in shopping streets.
- ``speed_mps`` = 3.1 (sd 0.4, clipped to 2.5-4.0 m/s): a recreational runner's pace of about 5:20 min/km;
  walking is 1.34 +- 0.26 m/s (Weidmann 1993), so every jogger is well above a walker.
- Body 1.72 m high (sd 0.07), 0.5 m wide, like the crowd's pedestrians.
- Ways: paths, tracks and footways first (``PREF``), pavements of streets next, rarely steps.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from agents.lookalikes.base import pair
from agents.lookalikes.walkers import FastWalkers, WalkerParams
from agents.world import PERSON

__all__ = ["Joggers"]


class Joggers(FastWalkers):
    """People running for exercise along the walk graph's ways."""

    key = "joggers"
    #: they run
    explains = frozenset({"running"})
    rank = 30
    cls = PERSON
    what = "jogger"
    height_m = (1.72, 0.07)
    width_m = 0.5
    #: preference by way class (assumption: paths and footways first, streets' pavements next, few steps)
    PREF = {"path": 3.0, "track": 3.0, "footway": 2.0, "pedestrian": 2.0, "cycleway": 1.5, "steps": 0.3,
            "corridor": 0.0, "elevator": 0.0}
    pref = PREF

    @dataclass(frozen=True)
    class Params(WalkerParams):
        per_km: float = field(default=0.3, metadata={"ge": 0, "le": 100, "doc": "joggers per km of walkway"})
        speed_mps: float = field(default=3.1, metadata={"gt": 0, "le": 10, "doc": "mean speed (m/s)"})
        speed_sd: float = field(default=0.4, metadata={"ge": 0, "le": 5, "doc": "spread of speeds (sd, m/s)"})
        speed_range: tuple[float, ...] = pair((2.5, 4.0), "speeds are clipped to [low, high] m/s")
