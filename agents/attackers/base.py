"""The attacker base: a Mesa agent that follows a short script of phases (``Leg``\\ s), one subclass per kind.

An attacker plans its whole script when it appears (at ``start_s``): a list of ``Leg``\\ s, each a phase
name, a timed track and optional effects. ``act(t, dt)`` - the one method the model calls every tick - walks
the script forward to ``t + dt``, writing an ``attack_phase`` truth record at the exact time each phase
begins and firing the legs' effects (placing a bag, shots, hitting people). Randomness: only the model's
generator.

A kind is one module: a subclass that names its ``kind``, declares its scenario entry as a frozen
``Params`` dataclass (a subclass of ``AttackParams``; field metadata as in ``scenarios.specs``) and the
alert kinds that count as detecting it (``detected_by``), and implements ``plan``. Defining the subclass
registers it (``ATTACKER_KINDS``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import mesa
import numpy as np

from agents.model_tracks import Track
from agents.world import PERSON
from twin.registry import Registry

__all__ = ["ATTACKER_KINDS", "AttackParams", "Attacker", "Leg", "gone", "make_attacker"]

#: Every physical attack kind: name -> ``Attacker`` subclass, in definition order.
ATTACKER_KINDS: Registry[type[Attacker]] = Registry("attacker kind")


@dataclass(frozen=True)
class AttackParams:
    """The fields of every physical attack entry; a kind's ``Params`` adds its own after them."""

    at: str | tuple[float, float] = field(metadata={"kind": "place", "doc": "the target place"})
    id: str | None = field(default=None, metadata={
        "doc": "label in the ground truth; default <kind>-<index>"})
    start_s: float = field(default=0.0, metadata={"ge": 0, "doc": "when the attacker appears (s)"})


@dataclass
class Leg:
    """One phase: its track (absolute times), an effect when it begins and one over each tick it spans."""

    phase: str
    track: Track | None                                   # None: the attacker is no longer in the world
    on_enter: Callable[[float], None] | None = None       # on_enter(t_begin)
    during: Callable[[float, float], None] | None = None  # during(t_a, t_b) for the part of a tick inside

    @property
    def t0(self) -> float:
        return self.track.t0 if self.track is not None else self._t0

    _t0: float = 0.0


def gone(t: float) -> Leg:
    """The last leg of an attacker who has left the world at ``t``."""
    return Leg("gone", None, _t0=t)


class Attacker(mesa.Agent, ABC):
    """Base of every physical attacker. Subclasses implement ``plan(t0)``; the model calls ``act``.

    Parameters
    ----------
    model : agents.model.CityModel
    params : AttackParams
        The scenario's attack entry as the kind's ``Params`` (every default filled in).
    at_node, at_xy
        The resolved target place: a walk-graph node and its position (m).
    zone : shapely.Polygon | None
        The area the entry names, if any (its ``zone``, else the asset polygon at the place).
    """

    role = "attacker"
    #: Registry key and the ``kind`` of scenario entries this class plays (empty: not a kind).
    kind: ClassVar[str] = ""
    #: The scenario entry this kind reads.
    Params: ClassVar[type[AttackParams]] = AttackParams
    #: Alert kinds that count as detecting this kind of attack (scoring).
    detected_by: ClassVar[frozenset[str]] = frozenset()
    #: Scoring window (``scenarios.detection``): it opens at the attack's first observable act, the first
    #: truth record of this kind or, if it is a phase name, the start of that phase, ...
    observable_from: ClassVar[str | tuple[str, ...]] = ""
    #: ... and closes when this phase begins (None: while the attacker is there: its last phase, else the
    #: run's end), plus ``grace_s`` (at most 60 s: alerts raised from a short history of the act).
    observable_until: ClassVar[str | None] = None
    grace_s: ClassVar[float] = 30.0
    #: Truth record kinds whose positions are the act's (localisation error); none: the attacker's track.
    act_records: ClassVar[tuple[str, ...]] = ()
    cls = PERSON
    height_m, width_m = 1.75, 0.5

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("kind"):
            ATTACKER_KINDS.add(cls.kind, cls)

    def __init__(self, model, params: AttackParams, *, at_node, at_xy, zone=None) -> None:
        super().__init__(model)
        self.params = params
        self.attack_id = str(params.id or self.kind)
        self.start_s = float(params.start_s)
        self.at_node, self.at_xy, self.zone = at_node, np.asarray(at_xy, float), zone
        self.tid = model.new_target_id()
        self.legs: list[Leg] | None = None
        self.leg_i = -1
        self.xy: np.ndarray | None = None
        self.speed = 0.0
        self.log: list[tuple[str, float]] = []   # (phase, t) as they happened

    @property
    def phase(self) -> str:
        return "pending" if self.legs is None else self.legs[self.leg_i].phase

    @abstractmethod
    def plan(self, t0: float) -> list[Leg]:
        """The whole script from ``t0`` (the attacker's ``start_s``)."""

    def act(self, t: float, dt: float) -> None:
        """Advance the script over the tick ``(t, t + dt]`` (the one method the model calls)."""
        t1 = t + dt
        if self.legs is None:
            if t1 < self.start_s:
                return
            self.legs = self.plan(self.start_s)
        while self.leg_i + 1 < len(self.legs) and self.legs[self.leg_i + 1].t0 <= t1:
            self.leg_i += 1
            leg = self.legs[self.leg_i]
            prev = self.legs[self.leg_i - 1] if self.leg_i > 0 else None
            if prev is not None and prev.during is not None and prev.track is not None:
                a = max(t, prev.t0)
                if leg.t0 > a:
                    prev.during(a, leg.t0)
            self._begin(leg)
        leg = self.legs[self.leg_i] if self.leg_i >= 0 else None
        if leg is None or leg.track is None:
            self.xy, self.speed = None, 0.0
            if leg is not None and self.leg_i == len(self.legs) - 1:
                self.remove()
            return
        if leg.during is not None:
            a = max(t, leg.t0)
            if t1 > a:
                leg.during(a, t1)
        self.xy, self.speed = leg.track.pos(t1), leg.track.speed(t1)

    def _begin(self, leg: Leg) -> None:
        here = self.xy if self.xy is not None else self.at_xy
        xy = leg.track.pos(leg.t0) if leg.track is not None else here
        extra = {"not_detected_by": sorted(self.not_detected_by())} if self.not_detected_by() else {}
        self.model.record("attack_phase", self.tid, xy, leg.t0, attack=self.kind, attack_id=self.attack_id,
                          phase=leg.phase, **extra)
        self.log.append((leg.phase, leg.t0))
        if leg.on_enter is not None:
            leg.on_enter(leg.t0)

    def not_detected_by(self) -> frozenset[str]:
        """Alert kinds of ``detected_by`` this attack's variant cannot cause (its phase records carry them and
        scoring drops them for this attack): none by default."""
        return frozenset()

    def target_row(self):
        """``(id, cls, xy, height, width, speed)`` while physically in the world, else None."""
        if self.xy is None:
            return None
        return (self.tid, self.cls, self.xy, self.height_m, self.width_m, self.speed)

    # --- helpers for subclasses ---------------------------------------------------------------------------
    def walk_points(self, a, b) -> np.ndarray:
        """Polyline of the shortest walk from node ``a`` to node ``b``."""
        w = self.model.walk
        return w.polyline(w.path(a, b))[0]

    def start_node(self, dist_m: float):
        """A walk node about ``dist_m`` away from the target node."""
        return self.model.walk.node_at_distance(self.at_node, dist_m, self.model.rng)


def make_attacker(model, kind: str, params: AttackParams, *, at_node, at_xy, zone=None) -> Attacker:
    """The attacker of kind ``kind`` for one scenario attack entry (``params``: its kind's ``Params``)."""
    return ATTACKER_KINDS[kind](model, params, at_node=at_node, at_xy=at_xy, zone=zone)
