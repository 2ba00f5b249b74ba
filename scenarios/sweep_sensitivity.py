"""Which parameters move each metric most (``sensitivity.csv`` and a printed summary).

Method, the same for every sample kind (grid, Latin hypercube, Sobol), over every run (all seeds):

* **eta²** (the correlation ratio, a first-order variance share): the runs are grouped by the parameter's
  value, then eta² = between-group sum of squares / total sum of squares of the metric, in [0, 1]. A listed
  parameter (grid, or a list in a sample) is grouped by its distinct values (at most ``bins``; more are
  quantile-binned). A sampled range gives every point its own value, and grouping by value would only
  group by point (every parameter would get the same eta²), so it is cut into k equal-count quantile bins,
  k = floor(sqrt(distinct values)) between 2 and ``bins``. On a full grid eta² is the main-effect share
  of the variance (what a one-way ANOVA attributes to the parameter); with few runs per group it reads
  high, as the seeds' noise is split too.
* **Spearman's rho** (``scipy.stats.spearmanr``) of the metric against a numeric parameter: the sign and
  monotonicity of the effect (empty for a parameter that is text).

Parameters are ranked by eta² (then by |rho|). Metrics that do not vary over the runs are left out. Runs that
raised, or lack the metric, do not count for it. No Saltelli estimate is made: a Sobol sample is treated as a
well-spread sample like any other, which keeps the method simple and correct.
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["Effect", "SensitivityParams", "eta_squared", "format_summary", "sensitivity", "write_sensitivity"]


@dataclass(frozen=True)
class SensitivityParams:
    """Options.

    Attributes
    ----------
    bins : int
        Most groups a parameter's values are split into (default 8; more distinct values are quantile-binned).
    min_runs : int
        Fewest runs with a value for a metric to rank it (default 3).
    """

    bins: int = 8
    min_runs: int = 3


@dataclass(frozen=True)
class Effect:
    """How much one parameter moves one metric."""

    metric: str
    param: str
    rank: int
    eta2: float
    spearman: float | None
    n: int


def _numeric(values: list) -> np.ndarray | None:
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return np.asarray(values, float)
    if all(isinstance(v, bool) for v in values):
        return np.asarray(values, float)
    return None


def _groups(x: list, bins: int, *, sampled: bool) -> np.ndarray:
    """A group label per run: the distinct value, or the quantile bin of a numeric parameter."""
    num = _numeric(x)
    distinct = sorted({repr(v) for v in x})
    k = max(2, min(bins, math.isqrt(len(distinct)))) if sampled else bins
    if num is None or len(distinct) <= k:
        index = {v: i for i, v in enumerate(distinct)}
        return np.asarray([index[repr(v)] for v in x])
    edges = np.quantile(num, np.linspace(0, 1, k + 1)[1:-1])
    return np.searchsorted(edges, num, side="right")


def eta_squared(y: np.ndarray, groups: np.ndarray) -> float:
    """Between-group over total sum of squares of ``y`` (0 when ``y`` is constant)."""
    total = float(((y - y.mean()) ** 2).sum())
    if total <= 0:
        return 0.0
    between = sum(float((groups == g).sum()) * (float(y[groups == g].mean()) - float(y.mean())) ** 2
                  for g in np.unique(groups))
    return min(1.0, max(0.0, between / total))


def _spearman(x: list, y: np.ndarray) -> float | None:
    from scipy.stats import spearmanr

    num = _numeric(x)
    if num is None or np.ptp(num) == 0 or np.ptp(y) == 0:
        return None
    rho = float(spearmanr(num, y).statistic)
    return rho if math.isfinite(rho) else None


def sensitivity(rows: list[dict], params: list[str], metrics: list[str], *, sampled: Collection[str] = (),
                p: SensitivityParams = SensitivityParams()) -> list[Effect]:
    """Every (metric, parameter) effect, by metric in ``metrics`` order, parameters ranked within each;
    ``sampled`` names the parameters drawn from a range (binned, see the module docstring)."""
    out: list[Effect] = []
    for m in metrics:
        have = [r for r in rows if isinstance(r.get(m), int | float) and math.isfinite(r[m])
                and r.get("status") != "error"]
        if len(have) < p.min_runs:
            continue
        y = np.asarray([r[m] for r in have], float)
        if np.ptp(y) == 0:
            continue
        effects = []
        for name in params:
            x = [r.get(name) for r in have]
            groups = _groups(x, p.bins, sampled=name in sampled)
            effects.append((eta_squared(y, groups), _spearman(x, y), name))
        effects.sort(key=lambda e: (-e[0], -abs(e[1] or 0.0), e[2]))
        out.extend(Effect(metric=m, param=name, rank=i + 1, eta2=round(eta, 4),
                          spearman=None if rho is None else round(rho, 4), n=len(have))
                   for i, (eta, rho, name) in enumerate(effects))
    return out


def write_sensitivity(path: str | os.PathLike, effects: list[Effect]) -> None:
    """Write ``sensitivity.csv``: metric, rank, param, eta2, spearman, n."""
    with open(Path(path), "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["metric", "rank", "param", "eta2", "spearman", "n"])
        for e in effects:
            rho = "" if e.spearman is None else repr(e.spearman)
            w.writerow([e.metric, e.rank, e.param, repr(e.eta2), rho, e.n])


def format_summary(effects: list[Effect], metrics: list[str]) -> list[str]:
    """One line per metric of ``metrics`` that varies: its parameters, most influential first."""
    lines = []
    for m in metrics:
        mine = [e for e in effects if e.metric == m]
        if mine:
            parts = [f"{e.param} (eta2 {e.eta2:.2f}"
                     + ("" if e.spearman is None else f", rho {e.spearman:+.2f}") + ")" for e in mine]
            lines.append(f"  {m}: " + ", ".join(parts))
    return lines
