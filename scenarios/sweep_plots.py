"""Sweep plots: each headline metric against each swept parameter, mean and min-max over the seeds.

One PNG per metric (``plots/<metric>.png``), one panel per parameter, so a sweep writes at most a handful of
files. In a panel the runs are grouped by their point (all the parameters' values): each point is a marker
at its mean over the seeds with a bar from the min to the max. On a grid the points that share the other
parameters' values are joined by a line (one line per combination, up to ``max_lines``; beyond that the
runs are pooled by the panel's parameter alone, so the bar spans the seeds and the other parameters); in a
Latin-hypercube or Sobol sample every point has its own values and is one unjoined marker. A parameter
whose values are text is shown at evenly spaced positions labelled with the values. Only metrics that vary
over the runs are drawn (matplotlib's ``Agg`` back end: no display needed).
"""

from __future__ import annotations

import math
import os
import re
from collections import defaultdict
from pathlib import Path

import numpy as np

__all__ = ["plot_metrics"]


def _is_num(v) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _filename(metric: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", metric) + ".png"


def _positions(values: list) -> tuple[dict, list | None]:
    """x position of each distinct value; tick labels when the values are not all numbers."""
    distinct = sorted(set(map(repr, values)))
    if all(_is_num(v) for v in values):
        return {repr(v): float(v) for v in values}, None
    by = {repr(v): v for v in values}
    return {k: float(i) for i, k in enumerate(distinct)}, [str(by[k]) for k in distinct]


def _series(rows: list[dict], metric: str, param: str, others: list[str], max_lines: int) -> dict:
    """{label of the other parameters' values: {x key: [metric values]}}."""
    combos = {tuple(repr(r.get(o)) for o in others) for r in rows}
    pooled = len(combos) > max_lines
    out: dict = defaultdict(lambda: defaultdict(list))
    for r in rows:
        label = "" if pooled or not others else ", ".join(f"{o}={r.get(o)}" for o in others)
        out[label][repr(r.get(param))].append(float(r[metric]))
    return out


def _panel(ax, rows: list[dict], metric: str, param: str, params: list[str], *, join: bool,
           max_lines: int) -> None:
    pos, labels = _positions([r.get(param) for r in rows])
    others = [p for p in params if p != param]
    lines = max_lines if join else 0   # a sample: one series (its points have no lines to share)
    for label, groups in sorted(_series(rows, metric, param, others, lines).items()):
        keys = sorted(groups, key=lambda k: pos[k])
        x = np.asarray([pos[k] for k in keys])
        ys = [np.asarray(groups[k]) for k in keys]
        mean = np.asarray([y.mean() for y in ys])
        err = np.vstack([mean - [y.min() for y in ys], [y.max() for y in ys] - mean])
        ax.errorbar(x, mean, yerr=err, fmt="o-" if join else "o", ms=4, capsize=3, lw=1,
                    label=label or None)
    ax.set_xlabel(param)
    if labels is not None:
        ax.set_xticks(range(len(labels)), labels)
    if join and ax.get_legend_handles_labels()[1]:
        ax.legend(fontsize=6)


def plot_metrics(folder: str | os.PathLike, rows: list[dict], params: list[str], metrics: list[str], *,
                 grid: bool = True, max_lines: int = 6) -> list[Path]:
    """Draw every metric of ``metrics`` that varies over ``rows`` (runs that raised left out); returns the
    files written into ``folder``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder = Path(folder)
    written = []
    for m in metrics:
        have = [r for r in rows if r.get("status") != "error" and _is_num(r.get(m)) and math.isfinite(r[m])]
        if len({r[m] for r in have}) < 2 or not params:
            continue
        folder.mkdir(parents=True, exist_ok=True)
        fig, axes = plt.subplots(1, len(params), figsize=(4.2 * len(params), 3.4), squeeze=False)
        for ax, p in zip(axes[0], params, strict=True):
            _panel(ax, have, m, p, params, join=grid, max_lines=max_lines)
        axes[0][0].set_ylabel(m.rsplit(".", 1)[-1])   # the full name is the title
        fig.suptitle(f"{m}: mean and min-max over seeds", fontsize=9)
        fig.tight_layout()
        path = folder / _filename(m)
        fig.savefig(path, dpi=90)
        plt.close(fig)
        written.append(path)
    return written
