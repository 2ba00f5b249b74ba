"""Sweep parameters: ``--param path=v1,v2`` or ``--param path=lo:hi``, the sample of points, the variants.

A parameter is a dotted path into the resolved scenario mapping (list items by index: attacks.0.start_s).
Its values are a comma list (each item read as a YAML scalar, so 5, 2.5, true, night keep their types) or a
numeric range lo:hi. ``grid`` runs every combination of the lists; ``lhs`` and ``sobol`` draw ``n`` points of
the unit cube with ``scipy.stats.qmc`` (LatinHypercube / scrambled Sobol, seeded with the scenario's seed) and
map each coordinate onto its range (a whole-number range stays whole numbers, each value equally likely) or
onto a list's items. Every variant is checked with the scenario schema (``scenarios.schema.parse_scenario``)
before anything runs, so a bad value stops the sweep with the schema's own message naming the parameter.
"""

from __future__ import annotations

import copy
import itertools
import math
import re
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import yaml

from scenarios.schema import Scenario, ScenarioError, parse_scenario

__all__ = ["SAMPLES", "Param", "SweepError", "get_path", "parse_param", "sample_points", "set_path",
           "variant"]

#: The sample kinds ``--sample`` takes.
SAMPLES = ("grid", "lhs", "sobol")


class SweepError(ValueError):
    """Bad sweep input (a parameter, a value, an option); one line naming what is wrong. Exit code 2."""

    exit_code = 2


@dataclass(frozen=True)
class Param:
    """One swept parameter.

    Attributes
    ----------
    path : str
        Dotted path into the resolved scenario (list items by index).
    values : tuple
        The listed values (``()`` for a range).
    lo, hi : float or int or None
        The range ends (``None`` for a list); whole numbers when both ends are written as whole numbers.
    """

    path: str
    values: tuple = ()
    lo: float | int | None = None
    hi: float | int | None = None

    @property
    def is_range(self) -> bool:
        return self.lo is not None

    @property
    def integer(self) -> bool:
        return isinstance(self.lo, int) and isinstance(self.hi, int)


def _scalar(text: str, where: str) -> Any:
    try:
        v = yaml.safe_load(text)
    except yaml.YAMLError:
        raise SweepError(f"{where}: cannot read value {text!r}") from None
    if isinstance(v, dict | list) or v is None:
        raise SweepError(f"{where}: value {text!r} is not a single number, word or true/false")
    if isinstance(v, float) and not math.isfinite(v):
        raise SweepError(f"{where}: value {text!r} is not a finite number")
    return v


def _number(text: str, where: str) -> int | float:
    v = _scalar(text, where)
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise SweepError(f"{where}: range end {text!r} is not a number")
    return v


def parse_param(text: str) -> Param:
    """Read one ``--param path=v1,v2,...`` or ``--param path=lo:hi``.

    Raises
    ------
    SweepError
        No ``=``, an empty path or value, a duplicate value, or a range whose ends are not numbers lo < hi.
    """
    path, eq, rhs = text.partition("=")
    path, rhs = path.strip(), rhs.strip()
    where = f"--param {path or text}"
    if not eq or not path or not rhs:
        raise SweepError(f"--param {text!r}: must be PATH=V1,V2,... or PATH=LO:HI")
    if any(not part for part in path.split(".")):
        raise SweepError(f"{where}: empty key in the path")
    if ":" in rhs and "," not in rhs:
        lo_t, _, hi_t = rhs.partition(":")
        lo, hi = _number(lo_t.strip(), where), _number(hi_t.strip(), where)
        if not lo < hi:
            raise SweepError(f"{where}: range {rhs!r} must have lo < hi")
        if not (isinstance(lo, int) and isinstance(hi, int)):
            lo, hi = float(lo), float(hi)
        return Param(path=path, lo=lo, hi=hi)
    values = tuple(_scalar(x.strip(), where) for x in rhs.split(","))
    if len(set(map(repr, values))) != len(values):
        raise SweepError(f"{where}: a value is listed twice")
    return Param(path=path, values=values)


def _keys(path: str) -> list[str]:
    return path.split(".")


def get_path(data: Any, path: str) -> Any:
    """The value at ``path`` in ``data``. Raises ``SweepError`` if the path does not exist there."""
    node = data
    for i, k in enumerate(_keys(path)):
        here = ".".join(_keys(path)[:i + 1])
        if isinstance(node, dict) and k in node:
            node = node[k]
        elif isinstance(node, list) and k.isdigit() and int(k) < len(node):
            node = node[int(k)]
        else:
            raise SweepError(f"--param {path}: the scenario has no {here!r}")
    return node


def set_path(data: Any, path: str, value: Any) -> None:
    """Set ``path`` in ``data`` to ``value`` (the path must exist, see ``get_path``)."""
    keys = _keys(path)
    get_path(data, path)
    parent = get_path(data, ".".join(keys[:-1])) if len(keys) > 1 else data
    parent[int(keys[-1]) if isinstance(parent, list) else keys[-1]] = value


def _unit_sample(kind: str, d: int, n: int, seed: int) -> np.ndarray:
    from scipy.stats import qmc

    if kind == "lhs":
        return qmc.LatinHypercube(d=d, seed=seed).random(n)
    sobol = qmc.Sobol(d=d, scramble=True, seed=seed)
    m = int(math.log2(n))
    if 2 ** m == n:
        return sobol.random_base2(m)
    with warnings.catch_warnings():   # a Sobol sample of other sizes loses balance; still within the cube
        warnings.simplefilter("ignore")
        return sobol.random(n)


def _map_unit(p: Param, u: np.ndarray) -> list:
    if not p.is_range:
        idx = np.minimum((u * len(p.values)).astype(int), len(p.values) - 1)
        return [p.values[i] for i in idx]
    if p.integer:
        span = p.hi - p.lo + 1
        return [int(v) for v in np.minimum(p.lo + np.floor(u * span).astype(int), p.hi)]
    return [float(f"{v:.6g}") for v in p.lo + u * (p.hi - p.lo)]   # 6 digits: readable, in range


def sample_points(params: list[Param], *, sample: str = "grid", n: int | None = None,
                  seed: int = 0) -> list[dict[str, Any]]:
    """The sweep's points, each a ``{path: value}`` dict, in a stable order (duplicates dropped).

    Raises
    ------
    SweepError
        A range in a grid, ``n`` missing or given for the wrong sample, an unknown sample, repeated paths.
    """
    if sample not in SAMPLES:
        raise SweepError(f"--sample: must be one of {', '.join(SAMPLES)}, got {sample!r}")
    paths = [p.path for p in params]
    if len(set(paths)) != len(paths):
        raise SweepError(f"--param {next(x for x in paths if paths.count(x) > 1)}: given twice")
    if sample == "grid":
        if n is not None:
            raise SweepError("--n: only with --sample lhs or sobol (a grid runs every combination)")
        rng = next((p for p in params if p.is_range), None)
        if rng is not None:
            raise SweepError(f"--param {rng.path}: a range {rng.lo}:{rng.hi} needs --sample lhs or sobol; "
                             "a grid takes a comma list")
        combos = itertools.product(*[p.values for p in params])
        return [dict(zip(paths, c, strict=True)) for c in combos]
    if n is None or n < 1:
        raise SweepError(f"--n: --sample {sample} needs the number of points, --n N >= 1")
    if not params:
        raise SweepError(f"--param: --sample {sample} needs at least one parameter")
    u = _unit_sample(sample, len(params), n, seed)
    cols = [_map_unit(p, u[:, j]) for j, p in enumerate(params)]
    points, seen = [], set()
    for row in zip(*cols, strict=True):
        key = repr(row)
        if key not in seen:
            seen.add(key)
            points.append(dict(zip(paths, row, strict=True)))
    return points


def _named(exc: ScenarioError, point: dict[str, Any]) -> str:
    """The schema's first problem without its file:line (lines of a generated text mean nothing), prefixed
    with the parameter it is about (else every parameter of the point)."""
    first = exc.problems[0] if exc.problems else str(exc)
    m = re.match(r"^.*?:\d+: (\S+): (.*)$", first)
    key, what = (m.group(1), m.group(2)) if m else ("", first)
    dotted = re.sub(r"\[(\d+)\]", r".\1", key)
    about = {k: v for k, v in point.items()
             if dotted == k or dotted.startswith(k + ".") or k.startswith(dotted + ".")}
    given = ", ".join(f"{k}={v!r}" for k, v in (about or point).items())
    return f"--param {given}: {key}: {what}" if key else f"--param {given}: {what}"


def variant(sc: Scenario, point: dict[str, Any]) -> Scenario:
    """The scenario with ``point``'s values set, checked again by the schema (defaults filled in).

    Raises
    ------
    SweepError
        A path the resolved scenario does not have, or a value the schema rejects (its message, naming the
        parameter and the value).
    """
    data = copy.deepcopy(sc.data)
    for path, value in point.items():
        set_path(data, path, value)
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    try:
        out = parse_scenario(text, filename=sc.path)
    except ScenarioError as exc:
        raise SweepError(_named(exc, point)) from None
    out.lines = dict(sc.lines)
    return out
