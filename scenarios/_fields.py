"""The small declarative field types the scenario schema is written in (``scenarios.schema.SCHEMA``).

Each field checks one value, reports every problem through a ``Report`` (path + message; the report adds
the file and line) and returns the value with defaults filled in. Nothing raises here: the loader raises
once, with every problem, after the whole document has been checked.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = ["MISSING", "Bool", "Field", "Free", "Int", "ListOf", "LonLat", "Map", "Num", "OneOf", "Place",
           "Polygon", "Range2", "Report", "Str", "Tagged", "Time", "join"]


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


#: Marks a field without a default (it is required, or simply absent when ``optional``).
MISSING: Any = _Missing()


def join(path: str, key: str | int) -> str:
    """``crowd`` + ``flows`` -> ``crowd.flows``; ``flows`` + 0 -> ``flows[0]``."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


class Report:
    """Collects ``(line, path, message)`` problems; ``lines`` maps a key path to its 1-based file line."""

    def __init__(self, filename: str, lines: Mapping[str, int]) -> None:
        self.filename = filename
        self.lines = dict(lines)
        self.problems: list[tuple[int, str, str]] = []

    def line_of(self, path: str) -> int:
        """The line of ``path``, else of its nearest ancestor that is in the file, else 1."""
        p = path
        while p:
            if p in self.lines:
                return self.lines[p]
            cut = max(p.rfind("."), p.rfind("["))
            p = p[:cut] if cut > 0 else ""
        return self.lines.get("", 1)

    def error(self, path: str, msg: str) -> None:
        self.problems.append((self.line_of(path), path or "(top)", msg))

    def formatted(self) -> list[str]:
        """One ``file:line: key.path: what is wrong`` line per problem, in file order."""
        return [f"{self.filename}:{ln}: {p}: {m}" for ln, p, m in sorted(self.problems, key=lambda x: x[0])]


def _is_num(v) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _tname(v) -> str:
    return {dict: "a mapping", list: "a list", str: "text", bool: "true/false", type(None): "empty"}.get(
        type(v), "a number" if _is_num(v) else type(v).__name__)


@dataclass
class Field(ABC):
    """Base: ``default`` (MISSING = required unless ``optional``), ``doc`` for the reference table."""

    default: Any = MISSING
    optional: bool = False
    doc: str = ""

    @abstractmethod
    def check(self, value: Any, path: str, rep: Report) -> Any:
        """Check ``value`` at ``path`` (problems go to ``rep``); return it with defaults filled in."""

    def fill(self) -> Any:
        """The default, copied so lists/dicts are never shared between resolved scenarios."""
        d = self.default
        return list(d) if isinstance(d, list) else dict(d) if isinstance(d, dict) else d


@dataclass
class Num(Field):
    """A finite number within optional bounds (``gt``/``ge``/``le``)."""

    gt: float | None = None
    ge: float | None = None
    le: float | None = None

    def check(self, value, path, rep):
        if not _is_num(value):
            rep.error(path, f"must be a number, got {_tname(value)} {value!r}")
            return value
        if self.gt is not None and not value > self.gt:
            rep.error(path, f"must be > {self.gt}, got {value}")
        if self.ge is not None and not value >= self.ge:
            rep.error(path, f"must be >= {self.ge}, got {value}")
        if self.le is not None and not value <= self.le:
            rep.error(path, f"must be <= {self.le}, got {value}")
        return value


@dataclass
class Int(Num):
    """A whole number within optional bounds."""

    def check(self, value, path, rep):
        if not (isinstance(value, int) and not isinstance(value, bool)):
            rep.error(path, f"must be a whole number, got {_tname(value)} {value!r}")
            return value
        return super().check(value, path, rep)


@dataclass
class Bool(Field):
    """true or false."""

    def check(self, value, path, rep):
        if not isinstance(value, bool):
            rep.error(path, f"must be true or false, got {_tname(value)} {value!r}")
        return value


@dataclass
class Str(Field):
    """Non-empty text, optionally one of ``choices``."""

    choices: tuple[str, ...] | None = None

    def check(self, value, path, rep):
        if not isinstance(value, str) or not value.strip():
            rep.error(path, f"must be non-empty text, got {_tname(value)} {value!r}")
        elif self.choices is not None and value not in self.choices:
            rep.error(path, f"must be one of {', '.join(self.choices)}; got {value!r}")
        return value


@dataclass
class Time(Field):
    """An ISO 8601 date-time with a time zone (``2026-06-01T12:00:00Z``)."""

    def check(self, value, path, rep):
        if isinstance(value, datetime):  # YAML may already have parsed it
            value = value.isoformat().replace("+00:00", "Z")
        if not isinstance(value, str):
            rep.error(path, f"must be an ISO 8601 time like 2026-06-01T12:00:00Z, got {_tname(value)}")
            return value
        try:
            ts = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            rep.error(path, f"must be an ISO 8601 time like 2026-06-01T12:00:00Z, got {value!r}")
            return value
        if ts.tzinfo is None:
            rep.error(path, f"needs a time zone (e.g. a trailing Z), got {value!r}")
        return value


def _lonlat_ok(v) -> bool:
    return (isinstance(v, list) and len(v) == 2 and all(_is_num(x) for x in v)
            and -180 <= v[0] <= 180 and -90 <= v[1] <= 90)


@dataclass
class LonLat(Field):
    """``[lon, lat]`` in WGS84 degrees."""

    def check(self, value, path, rep):
        if not _lonlat_ok(value):
            rep.error(path, f"must be [lon, lat] in degrees, got {value!r}")
        return value


@dataclass
class Place(Field):
    """A PLACE: a synthetic node name, an asset name/id or an OSM name (text), or ``[lon, lat]``.

    Only the form is checked here; whether the twin knows the name is checked after the twin is built.
    """

    def check(self, value, path, rep):
        if isinstance(value, list):
            if not _lonlat_ok(value):
                rep.error(path, f"a place as coordinates must be [lon, lat] in degrees, got {value!r}")
        elif not isinstance(value, str) or not value.strip():
            rep.error(path, f"must be a place name or [lon, lat], got {_tname(value)} {value!r}")
        return value


@dataclass
class Polygon(Field):
    """A lon/lat polygon: a list of at least three ``[lon, lat]`` corners."""

    def check(self, value, path, rep):
        if not isinstance(value, list) or len(value) < 3:
            rep.error(path, f"must be a list of at least 3 [lon, lat] corners, got {value!r}")
            return value
        for i, p in enumerate(value):
            if not _lonlat_ok(p):
                rep.error(join(path, i), f"must be [lon, lat] in degrees, got {p!r}")
        return value


@dataclass
class Range2(Field):
    """``[t0, t1]`` with 0 <= t0 <= t1 (seconds)."""

    def check(self, value, path, rep):
        if not isinstance(value, list) or len(value) != 2 or not all(_is_num(x) for x in value):
            rep.error(path, f"must be [start, end] in seconds, got {value!r}")
        elif not 0 <= value[0] <= value[1]:
            rep.error(path, f"must satisfy 0 <= start <= end, got {value!r}")
        return value


@dataclass
class Free(Field):
    """Any value that passes ``test`` (used for a few free-form values such as ``[w, h]`` pairs)."""

    test: Callable[[Any], bool] = lambda v: True
    what: str = "a value"

    def check(self, value, path, rep):
        if not self.test(value):
            rep.error(path, f"must be {self.what}, got {value!r}")
        return value


@dataclass
class ListOf(Field):
    """A list whose items are all ``item``."""

    item: Field = field(default_factory=Field)
    min_len: int = 0

    def check(self, value, path, rep):
        if not isinstance(value, list):
            rep.error(path, f"must be a list, got {_tname(value)}")
            return value
        if len(value) < self.min_len:
            rep.error(path, f"needs at least {self.min_len} item(s)")
        return [self.item.check(v, join(path, i), rep) for i, v in enumerate(value)]


@dataclass
class Map(Field):
    """A mapping with declared keys (unknown keys are errors); missing keys get their defaults.

    ``rules`` are cross-field checks ``rule(resolved, path, report)`` run after every key has been checked.
    """

    keys: dict[str, Field] = field(default_factory=dict)
    rules: tuple[Callable[[dict, str, Report], None], ...] = ()

    def fill(self):
        if self.default is not MISSING:
            return super().fill()
        return self.check({}, "", Report("", {}))

    def check(self, value, path, rep):
        if not isinstance(value, Mapping):
            rep.error(path, f"must be a mapping, got {_tname(value)}")
            return value
        out: dict[str, Any] = {}
        for k in value:
            if k not in self.keys:
                known = ", ".join(self.keys)
                rep.error(join(path, str(k)), f"unknown key; expected one of: {known}")
        for k, f in self.keys.items():
            if k in value:
                out[k] = f.check(value[k], join(path, k), rep)
            elif f.default is not MISSING or isinstance(f, Map) and not f.optional:
                out[k] = f.fill()
            elif not f.optional:
                rep.error(join(path, k), "is required")
        for rule in self.rules:
            rule(out, path, rep)
        return out


@dataclass
class Tagged(Field):
    """A mapping whose ``tag`` key picks its schema from ``variants`` (e.g. attacks by ``kind``)."""

    tag: str = "kind"
    variants: dict[str, Map] = field(default_factory=dict)
    tag_default: str | None = None

    def check(self, value, path, rep):
        if not isinstance(value, Mapping):
            rep.error(path, f"must be a mapping, got {_tname(value)}")
            return value
        kind = value.get(self.tag, self.tag_default)
        if kind not in self.variants:
            rep.error(join(path, self.tag), f"must be one of: {', '.join(self.variants)}; got {kind!r}")
            return dict(value)
        body = {k: v for k, v in value.items() if k != self.tag}
        out = {self.tag: kind}
        out.update(self.variants[kind].check(body, path, rep))
        return out


@dataclass
class OneOf(Field):
    """The first of ``options`` whose shape matches (``shape(value)`` is True) checks the value."""

    options: tuple[tuple[Callable[[Any], bool], Field], ...] = ()
    what: str = "a value"

    def check(self, value, path, rep):
        for shape, f in self.options:
            if shape(value):
                return f.check(value, path, rep)
        rep.error(path, f"must be {self.what}, got {_tname(value)} {value!r}")
        return value
