"""Scenario fields derived from the frozen dataclasses that kinds declare, and typed specs from checked data.

An attacker kind, a cyber campaign, a sensor kind or a detector declares the scenario entry it reads as a
frozen dataclass. The schema is derived from it (``map_of``) and, once the file is checked, the entry is
handed to the kind as an instance of that dataclass (``spec_of``): the builders never check input again.
Each field's annotation gives its type (``float``, ``int``, ``bool``, ``str``, ``X | None``,
``tuple[X, ...]``, a nested dataclass, ``A | B`` of dataclasses with a ``TAG``, or ``int | tuple[...]``),
its default the default (a field without one is required; ``None`` means "may be absent"), and its
``metadata`` the rest:

============  ==================================================================================
key           meaning
============  ==================================================================================
``doc``       one line for ``scenarios.schema.reference()``
``gt``        number bounds: greater than; ``ge`` at least; ``le`` at most
``choices``   the texts allowed
``min_len``   fewest items of a list
``item``      metadata of a list's items (e.g. ``{"ge": 1}``)
``kind``      a value of special form: ``place``, ``polygon``, ``lonlat``, ``time``, ``range2``, ``port``,
              ``resolution``, ``xy_or_place``
``what``      how to name the value in an error (for ``int | tuple[...]`` unions)
============  ==================================================================================

A dataclass may also declare ``RULES``: cross-field checks ``rule(data, path, report)`` run on its checked
mapping (``report.error(path, message)`` records a problem), and, as a member of a tagged union, ``TAG``:
the value of the entry's ``kind`` key that selects it.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import operator
import types
import typing
from collections.abc import Mapping
from typing import Any, get_args, get_origin

from scenarios._fields import (
    MISSING,
    Bool,
    Field,
    Free,
    Int,
    ListOf,
    LonLat,
    Map,
    Num,
    OneOf,
    Place,
    Polygon,
    Range2,
    Str,
    Tagged,
    Time,
)

__all__ = ["field_of", "map_of", "spec_of", "typed"]


def _port_ok(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 65535


def _pair_pos(v) -> bool:
    return isinstance(v, list) and len(v) == 2 and all(
        isinstance(x, int) and not isinstance(x, bool) and x > 0 for x in v)


def _xy_or_place(v) -> bool:
    nums = isinstance(v, list) and len(v) == 2 and all(
        isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x) for x in v)
    return (isinstance(v, str) and bool(v.strip())) or nums


#: Fields of special form, by ``metadata["kind"]``.
_SPECIAL: dict[str, Any] = {
    "place": lambda kw: Place(**kw),
    "polygon": lambda kw: Polygon(**kw),
    "lonlat": lambda kw: LonLat(**kw),
    "time": lambda kw: Time(**kw),
    "range2": lambda kw: Range2(**kw),
    "port": lambda kw: Free(test=_port_ok, what="a port number 1..65535", **kw),
    "resolution": lambda kw: Free(test=_pair_pos, what="[width, height] in pixels", **kw),
    "xy_or_place": lambda kw: Free(test=_xy_or_place, what="a place, [lon, lat] or [x, y] metres", **kw),
}


def _strip_none(tp) -> tuple[Any, bool]:
    """``X | None`` -> (X, True); anything else -> (tp, False)."""
    if get_origin(tp) in (typing.Union, types.UnionType):
        args = [a for a in get_args(tp) if a is not type(None)]
        if len(args) < len(get_args(tp)):
            return (args[0] if len(args) == 1 else functools.reduce(operator.or_, args)), True
    return tp, False


def _data_default(v: Any) -> Any:
    """A declared default as the checked data holds it (YAML form: lists, not tuples)."""
    if isinstance(v, tuple):
        return [_data_default(x) for x in v]
    return v


def _is_variadic_tuple(tp) -> bool:
    return get_origin(tp) is tuple and len(get_args(tp)) == 2 and get_args(tp)[1] is Ellipsis


def _union_field(args: tuple, meta: Mapping, kw: dict) -> Field:
    if all(dataclasses.is_dataclass(a) and hasattr(a, "TAG") for a in args):
        return Tagged(variants={a.TAG: map_of(a) for a in args}, **kw)
    options = []
    for a in args:
        shape = (lambda v: isinstance(v, list)) if get_origin(a) is tuple else (
            lambda v, a=a: isinstance(v, a) and not (a is not bool and isinstance(v, bool)))
        options.append((shape, field_of(a, meta)))
    return OneOf(options=tuple(options), what=meta.get("what", "a value"), **kw)


def field_of(tp: Any, meta: Mapping | None = None, default: Any = MISSING) -> Field:
    """The schema ``Field`` of one declared field: annotation ``tp``, ``metadata`` ``meta``, ``default``.

    >>> field_of(float, {"gt": 0}, 1.5).check(-2, "speed", _Probe())
    speed: must be > 0, got -2
    -2
    """
    meta = dict(meta or {})
    if dataclasses.is_dataclass(default):
        default = MISSING              # a nested block: filled from its own defaults
    tp, nullable = _strip_none(tp)
    kw: dict[str, Any] = {"doc": meta.get("doc", "")}
    if default is None or (nullable and default is MISSING):
        kw["optional"] = True
    elif default is not MISSING:
        kw["default"] = _data_default(default)
    special = meta.get("kind")
    if special is not None:
        return _SPECIAL[special](kw)
    bounds = {k: meta[k] for k in ("gt", "ge", "le") if k in meta}
    if tp is bool:
        return Bool(**kw)
    if tp is int:
        return Int(**kw, **bounds)
    if tp is float:
        return Num(**kw, **bounds)
    if tp is str:
        return Str(choices=tuple(meta["choices"]) if "choices" in meta else None, **kw)
    if _is_variadic_tuple(tp):
        item = field_of(get_args(tp)[0], meta.get("item"))
        return ListOf(item=item, min_len=int(meta.get("min_len", 0)), **kw)
    if dataclasses.is_dataclass(tp):
        m = map_of(tp)
        return Map(keys=m.keys, rules=m.rules, **kw)
    if get_origin(tp) in (typing.Union, types.UnionType):
        return _union_field(get_args(tp), meta, kw)
    raise TypeError(f"no scenario field for the annotation {tp!r}")


def map_of(cls: type) -> Map:
    """The ``Map`` of a declared frozen dataclass: one key per field, in field order, plus its ``RULES``."""
    hints = typing.get_type_hints(cls)
    keys = {}
    for f in dataclasses.fields(cls):
        default = f.default if f.default is not dataclasses.MISSING else (
            f.default_factory() if f.default_factory is not dataclasses.MISSING else MISSING)
        keys[f.name] = field_of(hints[f.name], f.metadata, default)
    return Map(keys=keys, rules=tuple(getattr(cls, "RULES", ())))


def typed(tp: Any, v: Any) -> Any:
    """A checked YAML value as the declared type ``tp`` holds it (lists become tuples, mappings dataclasses).

    >>> typed(tuple[int, ...], [1, 2])
    (1, 2)
    """
    tp, _ = _strip_none(tp)
    if v is None:
        return None
    if dataclasses.is_dataclass(tp) and isinstance(v, Mapping):
        return spec_of(tp, v)
    if get_origin(tp) in (typing.Union, types.UnionType):
        for a in get_args(tp):
            tag = getattr(a, "TAG", None)
            if dataclasses.is_dataclass(a) and isinstance(v, Mapping) and v.get("kind", 0) == tag:
                return spec_of(a, {k: x for k, x in v.items() if k != "kind"})
            if get_origin(a) is tuple and isinstance(v, list):
                return typed(a, v)
        return v
    if get_origin(tp) is tuple and isinstance(v, list):
        args = get_args(tp)
        if _is_variadic_tuple(tp):
            return tuple(typed(args[0], x) for x in v)
        return tuple(typed(a, x) for a, x in zip(args, v, strict=False))
    return v


def spec_of(cls: type, data: Mapping) -> Any:
    """An instance of the declared dataclass ``cls`` from its checked mapping (absent keys: defaults).

    >>> @dataclasses.dataclass(frozen=True)
    ... class Mic:
    ...     at: tuple[float, float]
    ...     threshold_db: float = 60.0
    >>> spec_of(Mic, {"at": [24.9, 60.1]})
    Mic(at=(24.9, 60.1), threshold_db=60.0)
    """
    hints = typing.get_type_hints(cls)
    kw = {f.name: typed(hints[f.name], data[f.name]) for f in dataclasses.fields(cls) if f.name in data}
    return cls(**kw)


class _Probe:
    """A report that prints its problems (for the doctests)."""

    def error(self, path: str, msg: str) -> None:
        print(f"{path}: {msg}")
