"""The parameters of an analytics pipeline: the tracker's, the default frame rate, and one frozen parameters
object per registered detector, also as a plain mapping ``{name: {field: value}}`` for configuration files.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from analytics.base import Detector
from analytics.tracking import TrackerParams

__all__ = ["AnalyticsParams", "AnalyticsParamsError"]

#: Mapping keys that are not detector names.
_OWN_KEYS = ("tracker", "default_fps")


class AnalyticsParamsError(ValueError):
    """Parameters naming no registered detector or no field, or a value of the wrong type."""


@dataclass(frozen=True, slots=True, init=False)
class AnalyticsParams:
    """Every stage's parameters: the tracker's, and one ``Params`` object per registered detector.

    Parameters
    ----------
    tracker
        ByteTrack settings (default: ``TrackerParams()``).
    default_fps
        Frame rate of a camera whose calibration gives none (default 5).
    detectors
        ``{name: params}`` (or pairs) to start from, e.g. another ``AnalyticsParams``' ``detectors``.
    **by_name
        One detector's parameters under its registered name, e.g. ``loitering=LoiteringParams(dwell_s=60)``.

    Every registered detector not given gets its ``Params()``, whose docstring documents the defaults; a
    detector registered after this object was made gets them too. A detector's parameters are read by
    its name, ``params.loitering`` or ``params.of("loitering")``.

    Raises
    ------
    AnalyticsParamsError
        For a name no detector is registered under, or parameters that are not the detector's ``Params``.

    Examples
    --------
    >>> p = AnalyticsParams.from_mapping({"loitering": {"dwell_s": 120}, "brute_force": {"ports": [22, 80]}})
    >>> p.loitering.dwell_s, p.brute_force.ports, p.tracker == TrackerParams()
    (120.0, (22, 80), True)
    """

    tracker: TrackerParams
    default_fps: float
    #: ``(name, params)`` of every detector registered when this object was made, in registration order.
    detectors: tuple[tuple[str, Any], ...]

    def __init__(
        self,
        *,
        tracker: TrackerParams | None = None,
        default_fps: float = 5.0,
        detectors: Mapping[str, Any] | Iterable[tuple[str, Any]] = (),
        **by_name: Any,
    ) -> None:
        registry = Detector.registered()
        given = {**dict(detectors), **by_name}
        for name, params in given.items():
            cls = registry.get(name)
            if cls is None:
                raise _unknown(name, registry)
            if not isinstance(params, cls.Params):
                raise AnalyticsParamsError(
                    f"analytics params: {name!r} takes {cls.Params.__name__}, got {type(params).__name__}"
                )
        tracker = TrackerParams() if tracker is None else tracker
        if not isinstance(tracker, TrackerParams):
            raise AnalyticsParamsError(f"analytics params: 'tracker' takes TrackerParams, got {tracker!r}")
        for name in registry:
            if hasattr(type(self), name):
                raise AnalyticsParamsError(f"analytics params: detector name {name!r} hides an attribute")
        object.__setattr__(self, "tracker", tracker)
        object.__setattr__(self, "default_fps", float(default_fps))
        pairs = ((name, given[name] if name in given else cls.Params()) for name, cls in registry.items())
        object.__setattr__(self, "detectors", tuple(pairs))

    def of(self, name: str) -> Any:
        """The parameters of the detector registered under ``name``.

        Raises
        ------
        AnalyticsParamsError
            If no detector is registered under ``name``.
        """
        for n, params in self.detectors:
            if n == name:
                return params
        registry = Detector.registered()
        if name not in registry:
            raise _unknown(name, registry)
        return registry[name].Params()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name in _OWN_KEYS or name == "detectors":
            raise AttributeError(name)  # a slot not yet set (unpickling), or a private name
        try:
            return self.of(name)
        except AnalyticsParamsError as exc:
            raise AttributeError(str(exc)) from None

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any]) -> AnalyticsParams:
        """Build from a plain mapping (a configuration file's): ``{"default_fps": 10, "tracker": {field:
        value}, detector name: {field: value}}``; absent names and fields keep their defaults.

        Values are checked against the type of each field's default: a number for a number (an int is
        taken for a float), a list or tuple (stored as a tuple) for a tuple, a bool for a bool, a string for
        a string.

        Raises
        ------
        AnalyticsParamsError
            Naming the key: a name that is neither ``tracker``, ``default_fps`` nor a registered detector, a
            field the parameters do not have, a value of the wrong type.
        """
        if not isinstance(mapping, Mapping):
            got = type(mapping).__name__
            raise AnalyticsParamsError(f"analytics params: expected a mapping of detector names, got {got}")
        registry = Detector.registered()
        kwargs: dict[str, Any] = {}
        for key, values in mapping.items():
            if key == "default_fps":
                kwargs[key] = _checked("default_fps", 5.0, values)
            elif key == "tracker":
                kwargs[key] = _section(key, TrackerParams, values)
            elif key in registry:
                kwargs[key] = _section(key, registry[key].Params, values)
            else:
                raise _unknown(key, registry)
        return cls(**kwargs)

    def to_mapping(self) -> dict[str, Any]:
        """The plain form ``from_mapping`` reads, every field filled in (tuples as lists)."""
        out: dict[str, Any] = {"default_fps": self.default_fps, "tracker": _plain(self.tracker)}
        out.update((name, _plain(params)) for name, params in self.detectors)
        return out


def _unknown(name: Any, registry: Mapping[str, type[Detector]]) -> AnalyticsParamsError:
    known = ", ".join((*_OWN_KEYS, *registry))
    return AnalyticsParamsError(f"analytics params: {name!r}: no such detector (known: {known})")


def _section(name: str, params_cls: type, values: Any) -> Any:
    """One parameters object from ``{field: value}``, on top of its defaults."""
    if not isinstance(values, Mapping):
        raise AnalyticsParamsError(
            f"analytics params: {name!r}: expected a mapping of {params_cls.__name__} fields, "
            f"got {type(values).__name__}"
        )
    defaults = params_cls()
    fields = [f.name for f in dataclasses.fields(params_cls) if f.init]
    kwargs = {}
    for key, value in values.items():
        if key not in fields:
            raise AnalyticsParamsError(
                f"analytics params: '{name}.{key}': no such field of {params_cls.__name__} "
                f"(fields: {', '.join(fields)})"
            )
        kwargs[key] = _checked(f"{name}.{key}", getattr(defaults, key), value)
    return params_cls(**kwargs)


def _checked(key: str, default: Any, value: Any) -> Any:
    """``value`` for a field whose default is ``default``, converted (int to float, list to tuple) or
    refused naming ``key``."""
    if isinstance(default, bool):
        ok, want = isinstance(value, bool), "true or false"
    elif isinstance(default, int | float):
        number = int if isinstance(default, int) else int | float
        ok = isinstance(value, number) and not isinstance(value, bool)
        want = "an integer" if isinstance(default, int) else "a number"
        value = type(default)(value) if ok else value
    elif isinstance(default, str):
        ok, want = isinstance(value, str), "a string"
    elif isinstance(default, tuple):
        ok, want = isinstance(value, list | tuple), "a list"
        if ok and default:
            value = tuple(_checked(f"{key}[{i}]", default[0], v) for i, v in enumerate(value))
        elif ok:
            value = tuple(value)
    else:  # no type to check against (a default of None): lists are kept as tuples
        ok, want = True, ""
        value = tuple(value) if isinstance(value, list) else value
    if not ok:
        raise AnalyticsParamsError(f"analytics params: '{key}': expected {want}, got {value!r}")
    return value


def _plain(params: Any) -> dict[str, Any]:
    return {
        f.name: list(v) if isinstance(v := getattr(params, f.name), tuple) else v
        for f in dataclasses.fields(params)
    }
