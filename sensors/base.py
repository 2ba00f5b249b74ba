"""One base class per role: a ``Sensor`` declares ``measure``, the one method the engine calls; a
``Deferred`` payload value declares ``materialize``, the one method the bus calls.

The engine runs every sensor as a simpy process that wakes each ``period_s`` seconds, hands it a
``WorldView`` and publishes what it returns. A new sensor kind is a new module with a short subclass.
A sensor may publish a payload value in a compact form (``Deferred``, e.g. a camera frame's detections as
arrays, ``sensors.camera.detections``); the bus (``sensors.export.bus``) turns it into its contract form
only for subscribers that need that.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from typing import Any

from agents.world import WorldView

__all__ = ["STATUSES", "Deferred", "Sensor", "SensorError"]

#: Internal states a sensor can be put in by scenario events (``ok``, ``offline``, ``frozen``, ``degraded``,
#: ``moved``) or attack effects (``replayed``: a camera whose stream an attacker replaces with a replay).
#: A camera publishes none of them, only what a video server sees of its stream (``camera/health``).
STATUSES = ("ok", "offline", "frozen", "degraded", "moved", "replayed")


class SensorError(ValueError):
    """Bad sensor configuration (one line naming the sensor, field and problem)."""

    exit_code = 2


class Sensor(ABC):
    """A sensor with an id, a sampling period and a fault status."""

    kind: str = "sensor"

    def __init__(self, sensor_id: str, *, period_s: float) -> None:
        if period_s <= 0:
            raise SensorError(f"sensor {sensor_id}: period_s must be > 0, got {period_s}")
        self.id = sensor_id
        self.period_s = float(period_s)
        self.status = "ok"

    def set_status(self, status: str) -> None:
        if status not in STATUSES:
            raise SensorError(f"sensor {self.id}: status must be one of {STATUSES}, got {status!r}")
        self.status = status

    @abstractmethod
    def measure(self, world: WorldView) -> Iterable[tuple[str, dict]]:
        """Return the ``(topic, payload)`` messages this sensor produces at ``world.t``."""


class Deferred(ABC):
    """A payload value published in a compact form (e.g. a camera frame's detections as arrays) whose
    contract form ``materialize()`` builds. The bus builds it, once, before the first subscriber that did
    not subscribe ``raw`` sees the message; raw subscribers (the file writers) read the compact form."""

    __slots__ = ()

    @abstractmethod
    def materialize(self) -> Any:
        """The value in its contract form (what subscribers that are not raw receive)."""
