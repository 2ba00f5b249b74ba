"""The shared contracts of analytics: the alert record, the detector base class and its registry, the input
error, read stats.

Every stage takes plain message dicts ``{"t": seconds, "topic": ..., **payload}`` (one events.jsonl line) so
the same code runs on a simulator's bus and on a real feed. Detectors share one small base class with the
one method a pipeline calls (``update``) plus ``flush`` at end of stream, in the spirit of Stone Soup's
``Detector``/``Tracker`` but without its metaclass. A detector class declares its name, the alert kinds it
emits and its parameters dataclass, and registers itself when it is defined: the pipeline's default
detector set, its parameters (``analytics.params.AnalyticsParams``) and the known alert kinds all come from
the registry, so a new detector is one module (or one class anywhere) plus its test.
"""

from __future__ import annotations

import dataclasses
import importlib
import math
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

__all__ = [
    "BUILTIN_MODULES",
    "AnalyticsInputError",
    "Detector",
    "DetectorContext",
    "DetectorRegistryError",
    "EpisodeFilter",
    "Polygon",
    "ReadStats",
    "UnknownDetectorError",
    "alert_kinds",
    "make_alert",
]

#: A polygon in projected metres: a sequence of (x, y) vertices.
Polygon = Sequence[Sequence[float]]

#: Registered detector classes by name (``Detector.__init_subclass__``): the built-ins first, in the order of
#: ``BUILTIN_MODULES``, then every other detector in registration order.
_REGISTRY: dict[str, type[Detector]] = {}

#: The modules (or packages) of the built-in detectors, in pipeline order (alerts.jsonl's line order follows
#: it); within one, the order its classes are defined in. They are imported the first time the registry is
#: read or any detector registers, not when ``analytics`` is imported (the CLI's parser needs none of them).
#: A new built-in detector module is added here.
BUILTIN_MODULES = (
    "analytics.loitering",
    "analytics.ground_loitering",
    "analytics.behaviour",
    "analytics.vehicles",
    "analytics.crowd",
    "analytics.acoustic",
    "analytics.cyber",
    "analytics.video",
    "analytics.tamper",
)
_BUILTINS: list[str] = []  # "loading", then "loaded"


def _load_builtins() -> None:
    """Import the built-in detector modules once (their classes register as they are defined)."""
    if _BUILTINS:
        return
    _BUILTINS.append("loading")
    try:
        for name in BUILTIN_MODULES:
            importlib.import_module(name)
    except BaseException:
        _BUILTINS.clear()
        raise
    _BUILTINS[:] = ["loaded"]


def _rank(cls: type) -> int:
    """Where a detector class goes in the registry: its built-in module's index, else after every built-in."""
    mod = cls.__module__
    return next((i for i, m in enumerate(BUILTIN_MODULES) if mod == m or mod.startswith(m + ".")),
                len(BUILTIN_MODULES))


def alert_kinds() -> tuple[str, ...]:
    """Every alert kind the registered detectors emit, each once, in registration order.

    >>> alert_kinds()[:3]
    ('loitering', 'abandoned_object', 'running')
    """
    _load_builtins()
    return tuple(dict.fromkeys(kind for cls in _REGISTRY.values() for kind in cls.alert_kinds))


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
    zone: str | None = None,
) -> dict[str, Any]:
    """Build one alert dict ``{t, kind, conf, lonlat, xy, zone, source, evidence}`` with plain JSON types.

    Every alert says where: a point (``xy``, metres; ``lonlat``), a zone (``zone``: the name of one of the
    pipeline's zones; taken from ``evidence["zone"]`` when not given), or, for network alerts, the hosts in
    ``source`` and the evidence. ``lonlat`` stays ``None`` here; the pipeline fills it when it was given a
    CRS.
    """
    if kind not in alert_kinds():
        raise ValueError(f"unknown alert kind {kind!r}: no registered detector declares it")
    evidence = dict(evidence or {})
    zone = zone if zone is not None else evidence.get("zone")
    return {
        "t": round(float(t), 3),
        "kind": kind,
        "conf": round(min(1.0, max(0.0, float(conf))), 3),
        "lonlat": None if lonlat is None else [float(lonlat[0]), float(lonlat[1])],
        "xy": None if xy is None or not all(map(math.isfinite, xy)) else [round(float(v), 2) for v in xy],
        "zone": None if zone is None else str(zone),
        "source": sorted({str(s) for s in source}),
        "evidence": evidence,
    }


class DetectorRegistryError(ValueError):
    """A detector class with invalid declarations, or a name another detector class is registered under."""


class UnknownDetectorError(LookupError):
    """A detector name under which no detector is registered (or, in a pipeline, built yet)."""


@dataclass(frozen=True, slots=True)
class DetectorContext:
    """What a pipeline gives the detectors it builds (``Detector.from_context``).

    Parameters
    ----------
    zones, restricted, roads
        The pipeline's crowd zones, restricted polygons and carriageways (see
        ``analytics.pipeline.AnalyticsPipeline``).
    built
        The detectors built so far, by name, in build order; the pipeline adds each one as it is built.
    """

    zones: Mapping[str, Polygon] | None = None
    restricted: Sequence[Polygon] | None = None
    roads: Sequence[Polygon] | None = None
    built: dict[str, Detector] = field(default_factory=dict)

    def detector(self, name: str) -> Detector:
        """The detector built under ``name`` before the one being built (a detector that reads another's
        state, as the crowd anomalies read the density estimates).

        Raises
        ------
        UnknownDetectorError
            If no detector of that name was built before.
        """
        try:
            return self.built[name]
        except KeyError:
            have = ", ".join(self.built) or "none"
            msg = f"no detector {name!r} was built before this one (built: {have})"
            raise UnknownDetectorError(msg) from None


class Detector(ABC):
    """One detector: it reads messages of the ``topics`` it names and returns alerts.

    ``update`` is called once per message in time order; ``flush`` once at end of stream, for detectors
    that hold state (an open window, a pending group of arrivals).

    A concrete detector declares, as class attributes, ``name`` (the key of its parameters in
    ``AnalyticsParams`` and of the detector in a pipeline), ``alert_kinds`` (every kind it emits) and
    ``Params`` (its frozen parameters dataclass, every field with a default); it overrides ``from_context``
    if it needs more than its parameters to be built. A class that sets ``name`` registers itself when it
    is defined; a class without one (an abstract helper such as ``analytics.cyber.ConnDetector``, or a
    subclass that does not set its own) does not. The pipeline builds the registered detectors in
    registration order: the built-in ones first, in a fixed order (``BUILTIN_MODULES``).

    Examples
    --------
    A detector defined outside the package (``unregister`` removes it again):

    >>> @dataclass(frozen=True, slots=True)
    ... class DoorParams:
    ...     conf: float = 0.6
    >>> class DoorDetector(Detector):
    ...     name = "door"
    ...     alert_kinds = ("door_forced",)
    ...     Params = DoorParams
    ...     topics = ("access/door",)
    ...
    ...     def __init__(self, params: DoorParams = DoorParams()) -> None:
    ...         self.p = params
    ...
    ...     def update(self, msg):
    ...         forced = msg.get("state") == "forced"
    ...         return [make_alert(msg["t"], "door_forced", self.p.conf)] if forced else []
    >>> list(Detector.registered())[-1], alert_kinds()[-1]
    ('door', 'door_forced')
    >>> Detector.unregister("door").__name__
    'DoorDetector'
    """

    #: Registry name, also the key of the detector's parameters; None: not registered (a helper base).
    name: ClassVar[str | None] = None
    #: Every alert kind the detector emits.
    alert_kinds: ClassVar[tuple[str, ...]] = ()
    #: The frozen dataclass of the detector's parameters (every field with a default).
    Params: ClassVar[type]
    #: Topics this detector reads (exact names, or ``"*"`` for every message); the pipeline routes only
    #: those to it.
    topics: tuple[str, ...] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("name") is not None:
            _register(cls)

    @classmethod
    def from_context(cls, ctx: DetectorContext, params: Any) -> Detector:
        """Build this detector for a pipeline from its context and parameters. Default: ``cls(params)``."""
        return cls(params)

    @staticmethod
    def registered() -> dict[str, type[Detector]]:
        """The registered detector classes by name, in registration order (a copy)."""
        _load_builtins()
        return dict(_REGISTRY)

    @staticmethod
    def unregister(name: str) -> type[Detector]:
        """Remove the detector class registered under ``name`` and return it (tests clean up with it).

        Raises
        ------
        UnknownDetectorError
            If no class is registered under ``name``.
        """
        _load_builtins()
        try:
            return _REGISTRY.pop(name)
        except KeyError:
            raise UnknownDetectorError(f"no detector registered under {name!r}") from None

    @abstractmethod
    def update(self, msg: dict[str, Any]) -> list[dict[str, Any]]:
        """Take one message and return the alerts it completes (usually none)."""

    def flush(self) -> list[dict[str, Any]]:
        """End of stream: return alerts still pending. Default: none pending."""
        return []

    def prepare(self, msgs: list[dict[str, Any]]) -> None:
        """Before ``update`` is called on each of ``msgs`` (one instant's messages of this detector's topics,
        in order): a detector may compute per-message work for all of them at once here. ``update`` must then
        give what it gives without it. Default: nothing."""
        return None


def _register(cls: type[Detector]) -> None:
    """Check a detector class's declarations and register it under its ``name``."""
    where = f"{cls.__module__}.{cls.__qualname__}"
    name = cls.name
    if not isinstance(name, str) or not name.isidentifier() or name.startswith("_"):
        raise DetectorRegistryError(f"{where}: name must be an identifier not starting with _, got {name!r}")
    kinds = cls.alert_kinds
    if not isinstance(kinds, tuple) or not kinds or not all(isinstance(k, str) and k for k in kinds):
        raise DetectorRegistryError(f"{where}: alert_kinds must be a non-empty tuple of str, got {kinds!r}")
    params = getattr(cls, "Params", None)
    if not (isinstance(params, type) and dataclasses.is_dataclass(params)):
        raise DetectorRegistryError(f"{where}: Params must be a dataclass, got {params!r}")
    required = [
        f.name
        for f in dataclasses.fields(params)
        if f.init and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    ]
    if required:
        raise DetectorRegistryError(f"{where}: every field of {params.__name__} needs a default: {required}")
    _load_builtins()  # a built-in's name is taken even before its module is imported
    taken = _REGISTRY.get(name)
    if taken is not None and taken is not cls:
        raise DetectorRegistryError(
            f"{where}: detector name {name!r} is taken by {taken.__module__}.{taken.__qualname__}"
        )
    _REGISTRY[name] = cls
    ranked = sorted(_REGISTRY.items(), key=lambda kv: _rank(kv[1]))  # stable: registration order within
    _REGISTRY.clear()
    _REGISTRY.update(ranked)


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
