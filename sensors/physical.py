"""The physical sensors of a run: every registered ``SensorKind``, built from the scenario's ``sensors:``.

The built-in kinds, in registry order: cameras (``sensors.placement``), microphones (``sensors.acoustic``),
counters (``sensors.counters``); a kind defined in another module registers after them (``sensors.kinds``).
"""
# ruff: noqa: I001 - the built-in kinds are imported in registry order

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from sensors.kinds import SENSOR_KINDS, PlacementContext, raise_first
from sensors.placement import Cameras
from sensors.acoustic import Acoustic
from sensors.counters import Counters
from sensors.base import Sensor
from twin.places import places_of

__all__ = ["BUILT_IN", "build_physical_sensors"]

#: The built-in kinds (imported above, so registered first).
BUILT_IN = (Cameras, Acoustic, Counters)


def build_physical_sensors(twin, specs: Mapping[str, Any], *, rng: np.random.Generator,
                           conditions: tuple[str, ...] = (), report: Any = None,
                           truth_sink: Callable | None = None) -> list[Sensor]:
    """Every physical sensor the checked ``sensors`` blocks ask for (``specs``: key -> spec), in kind order.

    Problems only the twin can show (an unknown place, no asset of a type, a sensor id used twice) go to
    ``report.error(path, message)``; then nothing is built and ``[]`` is returned. Without a report the
    first problem raises ``PlacementError``.
    """
    ctx = PlacementContext(twin, places_of(twin), tuple(conditions), report or raise_first(), truth_sink)
    before = len(getattr(report, "problems", ()))
    plans = []
    for key, cls in SENSOR_KINDS.items():
        kind = cls()
        plans.append((kind, kind.plan(specs.get(key, cls.default), ctx)))
    seen: set[str] = set()
    for _, planned in plans:
        for p in planned:
            if p.id in seen:
                ctx.error(p.path, f"sensor id {p.id!r} is used twice")
            seen.add(p.id)
    if len(getattr(report, "problems", ())) > before:
        return []
    out: list[Sensor] = []
    for kind, planned in plans:
        out += kind.make(planned, list(rng.spawn(len(planned))), ctx)
    return out
