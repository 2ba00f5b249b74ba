"""The shared contracts of analytics: the alert record, the detector base class, the input error, read stats.

Every stage takes plain message dicts ``{"t": seconds, "topic": ..., **payload}`` (one events.jsonl line) so
the same code runs on a simulator's bus and on a real feed. Detectors share one small base class with the
one method a pipeline calls (``update``) plus ``flush`` at end of stream, in the spirit of Stone Soup's
``Detector``/``Tracker`` but without its metaclass.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "ALERT_KINDS",
    "AnalyticsInputError",
    "Detector",
    "EpisodeFilter",
    "ReadStats",
    "make_alert",
]

#: Every alert kind a detector in this package emits.
ALERT_KINDS = (
    "loitering",
    "abandoned_object",
    "running",
    "zone_intrusion",
    "vehicle_intrusion",
    "crowd_density",
    "crowd_anomaly",
    "gunshot",
    "explosion",
    "port_scan",
    "brute_force",
    "dos",
    "beaconing",
    "stream_loss",
)


class AnalyticsInputError(ValueError):
    """A file that is missing or not the expected format at all (one line naming file, line and problem)."""

    exit_code = 2


@dataclass
class ReadStats:
    """What a streaming reader saw: lines read, records yielded, malformed lines and where the first were."""

    path: str
    lines: int = 0
    records: int = 0
    malformed: int = 0
    first_bad: list[int] = field(default_factory=list)
    max_listed: int = 5

    def bad(self, lineno: int) -> None:
        """Count one malformed line (keeping the first few line numbers)."""
        self.malformed += 1
        if len(self.first_bad) < self.max_listed:
            self.first_bad.append(lineno)

    def summary(self) -> str:
        """One line for stderr, e.g. ``conn.log: 1000 lines, 998 records, 2 malformed (lines 5, 9)``."""
        text = f"{self.path}: {self.lines} lines, {self.records} records, {self.malformed} malformed"
        if self.first_bad:
            text += (
                " (lines " + ", ".join(map(str, self.first_bad)) + ("…" if self.malformed > 5 else "") + ")"
            )
        return text


def make_alert(
    t: float,
    kind: str,
    conf: float,
    *,
    xy: Sequence[float] | None = None,
    source: Iterable[str] = (),
    evidence: dict[str, Any] | None = None,
    lonlat: Sequence[float] | None = None,
) -> dict[str, Any]:
    """Build one alert dict ``{t, kind, conf, lonlat, xy, source, evidence}`` with plain JSON types.

    ``lonlat`` stays ``None`` here; the pipeline fills it when it was given a CRS.
    """
    if kind not in ALERT_KINDS:
        raise ValueError(f"unknown alert kind {kind!r}")
    return {
        "t": round(float(t), 3),
        "kind": kind,
        "conf": round(min(1.0, max(0.0, float(conf))), 3),
        "lonlat": None if lonlat is None else [float(lonlat[0]), float(lonlat[1])],
        "xy": None if xy is None or not all(map(math.isfinite, xy)) else [round(float(v), 2) for v in xy],
        "source": sorted({str(s) for s in source}),
        "evidence": dict(evidence or {}),
    }


class Detector(ABC):
    """One detector: it reads messages of the ``topics`` it names and returns alerts.

    ``update`` is called once per message in time order; ``flush`` once at end of stream, for detectors
    that hold state (an open window, a pending group of arrivals).
    """

    #: Topics this detector reads (exact names, or ``"*"`` for every message); the pipeline routes only
    #: those to it.
    topics: tuple[str, ...] = ()

    @abstractmethod
    def update(self, msg: dict[str, Any]) -> list[dict[str, Any]]:
        """Take one message and return the alerts it completes (usually none)."""

    def flush(self) -> list[dict[str, Any]]:
        """End of stream: return alerts still pending. Default: none pending."""
        return []


class EpisodeFilter:
    """One alert per incident episode: a new alert is admitted only if no alert with the same key (or, with
    ``radius_m``, none within that distance) was admitted in the last ``hold_s`` seconds.

    Every admitted or suppressed repeat refreshes the episode, so a condition that lasts keeps one alert.
    """

    def __init__(self, hold_s: float, radius_m: float | None = None) -> None:
        self.hold_s = float(hold_s)
        self.radius_m = radius_m
        self._last: dict[Any, tuple[float, tuple[float, float] | None]] = {}

    def admit(self, t: float, key: Any, xy: Sequence[float] | None = None) -> bool:
        """True if ``(t, key, xy)`` starts a new episode; either way it extends the matching episode."""
        hit = None
        if self.radius_m is not None and xy is not None:
            r2 = self.radius_m**2
            for k, (tl, pl) in self._last.items():
                if (
                    pl is not None
                    and t - tl <= self.hold_s
                    and (pl[0] - xy[0]) ** 2 + (pl[1] - xy[1]) ** 2 <= r2
                ):
                    hit = k
                    break
        elif key in self._last and t - self._last[key][0] <= self.hold_s:
            hit = key
        point = None if xy is None else (float(xy[0]), float(xy[1]))
        if hit is not None:
            self._last[hit] = (t, self._last[hit][1] if point is None else point)
            return False
        self._last = {k: v for k, v in self._last.items() if t - v[0] <= self.hold_s}
        self._last[key] = (t, point)
        return True
