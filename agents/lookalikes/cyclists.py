"""``cyclists``: people riding bicycles on the walk graph (class ``bicycle``) at 4-6 m/s.

What they imitate: a person moving fast (``running``), several at once (a dispersal), and, to a detector
that calls a bicycle a person, a runner.

Defaults (see ``agents.lookalikes.walkers`` for how they move):

- ``per_km`` = 1 cyclist per km of walkway at any time, an assumption: at 5 m/s that is about 18 cyclists an
  hour past a point, between a side street's few and a main cycle route's hundreds (Helsinki's busiest
  counting points see thousands a summer day).
- ``speed_mps`` = 5.0 (sd 0.6, clipped to 4-6 m/s): everyday urban cycling; Copenhagen's Bicycle Account
  reports an average of about 16 km/h (4.4 m/s).
- Rider on a bicycle 1.75 m high (sd 0.07) and 0.6 m wide (handlebars).
- Ways: cycleways and streets first (``PREF``), footways and paths (shared in Helsinki) less, never steps.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from agents.lookalikes.base import pair
from agents.lookalikes.walkers import FastWalkers, WalkerParams
from agents.world import BICYCLE

__all__ = ["Cyclists"]


class Cyclists(FastWalkers):
    """People on bicycles riding the walk graph's ways."""

    key = "cyclists"
    #: fast riders look like runners; a bicycle taken for a car
    explains = frozenset({"running", "vehicle_intrusion"})
    rank = 20
    cls = BICYCLE
    what = "cyclist"
    height_m = (1.75, 0.07)
    width_m = 0.6
    #: preference by way class (assumption: cycleways and streets first, footways shared, never steps)
    PREF = {"cycleway": 4.0, "primary": 2.0, "secondary": 2.0, "tertiary": 2.0, "unclassified": 2.0,
            "residential": 2.0, "living_street": 1.5, "service": 1.5, "path": 1.5, "track": 1.5,
            "pedestrian": 1.0, "footway": 1.0, "steps": 0.0, "corridor": 0.0, "elevator": 0.0}
    pref = PREF

    @dataclass(frozen=True)
    class Params(WalkerParams):
        per_km: float = field(default=1.0, metadata={"ge": 0, "le": 100, "doc": "cyclists per km of walkway"})
        speed_mps: float = field(default=5.0, metadata={"gt": 0, "le": 15, "doc": "mean speed (m/s)"})
        speed_sd: float = field(default=0.6, metadata={"ge": 0, "le": 5, "doc": "spread of speeds (sd, m/s)"})
        speed_range: tuple[float, ...] = pair((4.0, 6.0), "speeds are clipped to [low, high] m/s")
