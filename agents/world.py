"""Read-only views of the simulated world that sensors take: what physically exists at time ``t``.

Sensors never reach into the crowd or the Mesa agents; the engine hands them these plain arrays.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["BICYCLE", "CLASS_NAMES", "FURNITURE", "IMPULSE_CLASSES", "IMPULSE_LEVEL_DB", "OBJECT", "PERSON",
           "VEHICLE", "Impulse", "Targets", "WorldView"]

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


#: Kinds of loud impulsive sound in the world: the attackers' (``gunshot``, ``explosion``) and the benign ones
#: a city is full of, which a gunshot sensor must not take for shots.
IMPULSE_CLASSES = ("gunshot", "explosion", "fireworks", "door_slam", "construction", "backfire")

#: Typical source level of each class: (mean, standard deviation) of the peak level in dB SPL at 1 m.
#: - gunshot 160 +- 5: pistols and an AR-15 measure 159-163 dB at 1 m beside the muzzle (Dater, "Firearm
#:   sound suppression", 2014); a .22 rifle about 140 dB and large rifles over 175 dB (Murphy et al. 2012,
#:   as cited by a firearm-suppressor study, PMC8588962).
#: - explosion 180 +- 6: assumption (an improvised device or grenade, well above any firearm).
#: - fireworks 160 +- 6: consumer firecrackers peak at 171 dB SPL at 0.5 m and 142 dB at 8 m (Flamme, Liebe &
#:   Wong, Noise & Health 11:223, 2009), about 165 dB at 1 m; smaller items are quieter.
#: - door_slam 115 +- 5: assumption (a slammed car or building door).
#: - construction 125 +- 5: an impact pile driver is 101 dBA Lmax at 15 m (FHWA Roadway Construction Noise
#:   Model, 2006), about 125 dB at 1 m by spherical spreading; nail guns and hammers are quieter.
#: - backfire 140 +- 6: assumption (a car's exhaust backfire, as loud as a small-calibre shot).
IMPULSE_LEVEL_DB = {"gunshot": (160.0, 5.0), "explosion": (180.0, 6.0), "fireworks": (160.0, 6.0),
                    "door_slam": (115.0, 5.0), "construction": (125.0, 5.0), "backfire": (140.0, 6.0)}


@dataclass(frozen=True)
class Impulse:
    """A loud impulsive sound at a place and time: a shot, an explosion, or a benign look-alike.

    ``cls`` is one of ``IMPULSE_CLASSES`` (a microphone's classifier treats any other as a generic impulsive
    sound); ``level_db`` is the source level at 1 m in dB SPL, typically drawn from ``IMPULSE_LEVEL_DB``.
    """

    t: float
    xy: tuple[float, float]
    cls: str
    level_db: float
    id: str = ""


@dataclass
class WorldView:
    """What sensors may read at time ``t``: targets plus sound impulses that happened since the last view."""

    t: float
    targets: Targets
    impulses: list[Impulse] = field(default_factory=list)
