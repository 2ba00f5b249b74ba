"""Read-only views of the simulated world that sensors take: what physically exists at time ``t``.

Sensors never reach into the crowd or the Mesa agents; the engine hands them these plain arrays.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["BICYCLE", "CLASS_NAMES", "FURNITURE", "OBJECT", "PERSON", "VEHICLE", "Impulse", "Targets",
           "WorldView"]

#: Target classes (index = code in ``Targets.cls``); names are what cameras report as ``cls``. ``object`` is a
#: carried object set down (a bag); ``bicycle`` a person riding one; ``furniture`` a bench, bin or bollard
#: (no detector class of its own: a detector may call it something else, or nothing).
CLASS_NAMES = ("person", "vehicle", "object", "bicycle", "furniture")
PERSON, VEHICLE, OBJECT, BICYCLE, FURNITURE = 0, 1, 2, 3, 4


@dataclass(frozen=True)
class Targets:
    """Every physical target at one instant, as parallel arrays (length N)."""

    ids: np.ndarray        # int64, unique and stable over a run (one id space for people, vehicles, objects)
    cls: np.ndarray        # int8 code into CLASS_NAMES
    xy: np.ndarray         # float (N, 2), projected metres, ground position of the target's centre
    height_m: np.ndarray   # float (N,), physical height (person ~1.7, car ~1.5, bag ~0.5)
    width_m: np.ndarray    # float (N,), physical width seen from any side (person ~0.5, car ~1.8, bag ~0.4)
    speed: np.ndarray      # float (N,), m/s

    @staticmethod
    def empty() -> Targets:
        z = np.zeros(0)
        return Targets(np.zeros(0, np.int64), np.zeros(0, np.int8), np.zeros((0, 2)), z, z, z)

    @staticmethod
    def concat(parts: list[Targets]) -> Targets:
        parts = [p for p in parts if len(p.ids)]
        if not parts:
            return Targets.empty()
        return Targets(*(np.concatenate([getattr(p, f) for p in parts]) for f in
                         ("ids", "cls", "xy", "height_m", "width_m", "speed")))

    def __len__(self) -> int:
        return len(self.ids)


@dataclass(frozen=True)
class Impulse:
    """A loud impulsive sound at a place and time (shot, explosion, fireworks)."""

    t: float
    xy: tuple[float, float]
    cls: str               # "gunshot" | "explosion" | "fireworks"
    level_db: float        # source level at 1 m, dB SPL (gunshot ~ 150, explosion ~ 170, fireworks ~ 140)
    id: str = ""


@dataclass
class WorldView:
    """What sensors may read at time ``t``: targets plus sound impulses that happened since the last view."""

    t: float
    targets: Targets
    impulses: list[Impulse] = field(default_factory=list)
