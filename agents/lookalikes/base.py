"""Harmless look-alikes: the ordinary city that detectors must not mistake for an attack.

Road traffic, cyclists and joggers, people waiting at stops, street vendors, luggage set down for a while,
benches and bins, fireworks and slammed doors, a crowd leaving a concert: each is a kind of its own, on by
default in every run and settable per scenario (``lookalikes: {<key>: {enabled: false, ...}}``), so a
detection figure is measured in a world that holds them.

A kind is one module: a ``Lookalike`` subclass that names its ``key``, declares its scenario block
(``Params``, a frozen dataclass extending ``LookalikeParams``; field metadata as in ``scenarios.specs``) and
implements what it does:

- ``start(t0)``: called once before the first tick (add crowd rows, place static objects, plan trips);
- ``step(t, dt)``: called every tick after the crowd and the individuals moved;
- ``targets()``: the physical targets it holds now (``Targets``, ids from ``model.new_target_id``), if any.

It acts on the world through the model (``model.crowd``, ``model.walk``/``model.drive``, ``model.record``,
``model.place_object``, ``model.add_impulse``) and draws only from its own Generator. Every record it makes
carries ``lookalike: <key>``, so scoring can tell which alerts a look-alike explains. Defining the subclass
registers it (``LOOKALIKE_KINDS``); kinds run and draw their generators in registry order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from agents.world import Targets
from twin.registry import DEFAULT_RANK, Registry

__all__ = ["LOOKALIKE_KINDS", "Lookalike", "LookalikeParams", "pair", "pairs_rule"]


def pair(default: tuple[float, float], doc: str) -> Any:
    """A ``[low, high]`` field (non-negative numbers; ``pairs_rule`` checks low <= high) with its default."""
    return field(default=default, metadata={"doc": doc, "min_len": 2, "item": {"ge": 0}})


def pairs_rule(*names: str):
    """A ``RULES`` entry: each of the fields ``names`` is ``[low, high]`` with low <= high."""
    def rule(data, path, report) -> None:
        for name in names:
            v = data.get(name)
            if not isinstance(v, list):
                continue
            if len(v) != 2:
                report.error(f"{path}.{name}", f"must be [low, high], got {v!r}")
            elif all(isinstance(x, int | float) for x in v) and v[0] > v[1]:
                report.error(f"{path}.{name}", f"must be [low, high] with low <= high, got {v!r}")
    return rule


@dataclass(frozen=True)
class LookalikeParams:
    """The field every look-alike block has; a kind's ``Params`` adds its own after it."""

    enabled: bool = field(default=True, metadata={"doc": "false leaves this look-alike out of the run"})


class Lookalike:
    """One kind of harmless look-alike in one run (see the module docstring)."""

    #: The scenario key under ``lookalikes:`` and the registry name (empty: not a kind).
    key: ClassVar[str] = ""
    #: Place in the registry: lower ranks run (and draw their generators) first.
    rank: ClassVar[int] = DEFAULT_RANK
    #: The scenario block this kind reads.
    Params: ClassVar[type[LookalikeParams]] = LookalikeParams
    #: Alert kinds it may honestly raise (a jogger looks like running): scoring counts such false alarms
    #: near one of its records as explained by it (``scenarios.detection``), still as false alarms.
    explains: ClassVar[frozenset[str]] = frozenset()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("key"):
            LOOKALIKE_KINDS.add(cls.key, cls)

    def __init__(self, model, params: LookalikeParams, *, rng: np.random.Generator) -> None:
        self.model = model
        self.params = params
        self.rng = rng

    def start(self, t0: float) -> None:
        """Set up before the first tick (default: nothing)."""
        return None

    def step(self, t: float, dt: float) -> None:
        """Advance from ``t`` to ``t + dt`` (default: nothing moves)."""
        return None

    def targets(self) -> Targets | None:
        """The physical targets this look-alike holds now (default: none)."""
        return None

    def record(self, kind: str, tid: int | str, xy, t: float, **extra) -> dict:
        """A ground-truth record tagged with this look-alike's key."""
        return self.model.record(kind, tid, xy, t, lookalike=self.key, **extra)


#: Every look-alike kind: scenario key -> ``Lookalike`` subclass, in registry order.
LOOKALIKE_KINDS: Registry[type[Lookalike]] = Registry("look-alike kind")
