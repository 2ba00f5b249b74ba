"""The sweep table: one row per run (``sweep.csv``), and the headline metrics the plots and summary show.

Columns, the same for every row: ``run_key``, ``seed``, each swept parameter (its path), ``status``
(passed/failed/error), ``error``, ``wall_s``, then the union over the runs of every numeric leaf of
``metrics.json`` (dotted names, sorted with numbers in order), then ``criteria.<status>`` counts when any run
wrote ``criteria.json``. A cell a run has no value for is empty; numbers are written in full (never NaN).
"""

from __future__ import annotations

import csv
import fnmatch
import os
import re
from pathlib import Path
from typing import Any

__all__ = ["HEADLINE", "columns", "headline_metrics", "row_of", "write_csv"]

#: Metrics worth a plot and a line of the summary (``fnmatch`` patterns, in this order), when they vary.
HEADLINE = (
    "detection.false_alarms_per_hour", "detection.per_kind.*.recall",
    "detection.per_kind.*.median_time_to_detect_s", "incidents.precision", "incidents.per_kind.*.recall",
    "incidents.attacks.*.time_to_incident_s", "incidents.attacks.*.time_to_cap_s",
    "incidents.outcomes.*.exposed_person_s", "incidents.outcomes.*.injured",
    "incidents.outcomes.*.time_to_clear_s", "incidents.outcomes.*.responder_on_scene_s",
    "incidents.exposure.median_abs_relative_error", "detection.density.mae_people", "criteria.fail", "wall_s",
)
_HEAD = ("run_key", "seed")
_STATUS = ("status", "error", "wall_s")
_CRITERIA = ("pass", "acceptable", "fail", "known_failure")


def _natural(name: str) -> list:
    return [(0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.split(r"\.", name)]


def columns(records: list[dict], params: list[str]) -> list[str]:
    """The table's columns for ``records`` (see the module docstring)."""
    metrics = sorted({k for r in records for k in r.get("metrics", {})}, key=_natural)
    crit_keys = {k for r in records for k in (r.get("criteria") or {})}
    crit = [f"criteria.{k}" for k in (*_CRITERIA, *sorted(crit_keys - set(_CRITERIA))) if k in crit_keys]
    return [*_HEAD, *params, *_STATUS, *metrics, *crit]


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return repr(v) if v == v and v not in (float("inf"), float("-inf")) else ""
    return str(v)


def row_of(rec: dict) -> dict[str, Any]:
    """A record as a flat ``{column: value}`` row."""
    row = {"run_key": rec["key"], "seed": rec["seed"], **rec.get("params", {}), "status": rec.get("status"),
           "error": rec.get("error"), "wall_s": rec.get("wall_s")}
    row.update(rec.get("metrics", {}))
    row.update({f"criteria.{k}": v for k, v in (rec.get("criteria") or {}).items()})
    return row


def write_csv(path: str | os.PathLike, records: list[dict], params: list[str]) -> list[str]:
    """Write ``sweep.csv`` (one row per record, in the given order); returns its columns."""
    cols = columns(records, params)
    p = Path(path)
    tmp = p.with_name(f".{p.name}.tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(cols)
        for rec in records:
            row = row_of(rec)
            w.writerow([_cell(row.get(c)) for c in cols])
    os.replace(tmp, p)
    return cols


def headline_metrics(names: list[str], *, limit: int = 16) -> list[str]:
    """The columns of ``names`` that match ``HEADLINE``, in its order, at most ``limit``."""
    out: list[str] = []
    for pat in HEADLINE:
        out.extend(n for n in sorted(names, key=_natural) if fnmatch.fnmatchcase(n, pat) and n not in out)
    return out[:limit]
