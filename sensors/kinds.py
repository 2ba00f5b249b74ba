"""Kinds of physical sensor as a scenario declares them under ``sensors:`` (``sensors.physical`` builds them).

A kind is one module: a ``SensorKind`` subclass that names its ``key`` (the scenario key under ``sensors:``),
declares the block it reads (``Spec``: a frozen dataclass or a union such as ``int | tuple[MicSpec, ...]``;
field metadata as in ``scenarios.specs``) with its ``default``, plans its sensors from a checked block
(``plan``: ids, places, configuration, reporting what the twin cannot satisfy) and makes them (``make``).
``exporters`` names the files it writes beside ``events.jsonl`` (classes built with the run folder that
``subscribe`` to the bus, ``attach`` to the sensors, ``close`` and ``abort``). Defining the subclass
registers it (``SENSOR_KINDS``), after the built-in cameras, microphones and counters.

Each sensor gets its own Generator from ``rng.spawn``, kind by kind in registry order, in the order its
kind planned them (cameras, then microphones, then counters): a kind added later leaves the earlier
sensors' random streams as they were.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from sensors.base import Sensor, SensorError
from twin.model import TwinError
from twin.places import Places
from twin.registry import DEFAULT_RANK, Registry

__all__ = ["SENSOR_KINDS", "PlacementContext", "PlacementError", "Planned", "SensorKind", "one_of_at_lonlat",
           "raise_first"]


class PlacementError(SensorError):
    """A ``sensors`` entry the twin cannot satisfy (names the field path and what is wrong)."""

    exit_code = 2


@dataclass(frozen=True)
class Planned:
    """One sensor to make: its id, the scenario path that declared it and what its kind builds it from."""

    id: str
    path: str
    config: Any


class raise_first:  # noqa: N801 - used like a function: the default report
    """The report used without the scenario's: the first problem raises ``PlacementError``."""

    def error(self, path: str, msg: str) -> None:
        raise PlacementError(f"{path}: {msg}")


@dataclass
class PlacementContext:
    """What every kind plans with: the twin, its places, the scene's conditions and the problem report."""

    twin: Any
    places: Places
    conditions: tuple[str, ...] = ()
    report: Any = field(default_factory=raise_first)
    truth_sink: Callable | None = None
    _memo: dict = field(default_factory=dict)

    def error(self, path: str, msg: str) -> None:
        """Report one problem at ``path`` (e.g. ``sensors.cameras.list[0].at``)."""
        self.report.error(path, msg)

    def xy(self, value: Any, path: str) -> tuple[float, float] | None:
        """The position a PLACE (name or ``[lon, lat]``) names; None (reported) if the twin has none."""
        try:
            p = self.places.resolve(list(value) if isinstance(value, tuple) else value)
        except TwinError as exc:
            self.error(path, str(exc).splitlines()[0])
            return None
        return float(p.xy[0]), float(p.xy[1])

    def where(self, item: Any, path: str) -> tuple[float, float] | None:
        """The position of an entry given by ``at`` (a PLACE) or ``lonlat``."""
        if getattr(item, "at", None) is not None:
            return self.xy(item.at, f"{path}.at")
        return self.xy(item.lonlat, f"{path}.lonlat")

    def memo(self, key: str, make: Callable[[], Any]) -> Any:
        """A value computed once per build (e.g. walk-graph samples shared by camera placements)."""
        if key not in self._memo:
            self._memo[key] = make()
        return self._memo[key]


def one_of_at_lonlat(d: dict, path: str, rep) -> None:
    """Schema rule of an entry placed by ``at`` (a PLACE) or ``lonlat``: exactly one of them."""
    if "at" in d and "lonlat" in d:
        rep.error(path, "give either at or lonlat, not both")
    elif "at" not in d and "lonlat" not in d:
        rep.error(path, "needs at (a place) or lonlat")


class SensorKind(ABC):
    """One kind of physical sensor under the scenario's ``sensors:`` (see the module docstring)."""

    #: The scenario key under ``sensors:`` and the registry name (empty: not a kind).
    key: ClassVar[str] = ""
    #: Place in the registry (``twin.registry``): the built-in kinds rank 0, 1, 2; others come after.
    rank: ClassVar[int] = DEFAULT_RANK
    #: The declared type of the block.
    Spec: ClassVar[Any] = None
    #: Field metadata of the block itself (doc, bounds of a count, ``what`` for unions).
    meta: ClassVar[Mapping[str, Any]] = {}
    #: The block's value when the scenario does not give it.
    default: ClassVar[Any] = None
    #: Exporters of this kind's files (see the module docstring).
    exporters: ClassVar[tuple[type, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("key"):
            SENSOR_KINDS.add(cls.key, cls)

    @abstractmethod
    def plan(self, spec: Any, ctx: PlacementContext) -> list[Planned]:
        """The sensors the checked block ``spec`` asks for (problems the twin finds go to ``ctx``)."""

    @abstractmethod
    def build(self, planned: Planned, rng: np.random.Generator, ctx: PlacementContext) -> Sensor:
        """One planned sensor, with its own Generator."""

    def make(self, planned: list[Planned], gens: list[np.random.Generator],
             ctx: PlacementContext) -> list[Sensor]:
        """Every planned sensor of this kind, in plan order."""
        return [self.build(p, g, ctx) for p, g in zip(planned, gens, strict=True)]


#: Every kind of physical sensor: scenario key -> ``SensorKind`` subclass, in definition order.
SENSOR_KINDS: Registry[type[SensorKind]] = Registry("sensor kind")
