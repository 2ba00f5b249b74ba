"""Evaluate a scenario's ``criteria:`` against its scored run folder and write ``criteria.json``.

Every criterion kind of ``scenarios.criteria_kinds.CRITERIA`` has one evaluator
(``scenarios.criteria_measures``, what each measures and when its limit is first crossed); this module
turns a measurement into a result.

Statuses. For a ``max`` kind (a ``min`` kind mirrors it):

- ``pass``: actual <= expected;
- ``acceptable``: expected < actual <= acceptable (the criterion's optional band edge);
- ``fail``: beyond the band, or no measurement (``actual`` null; the message says why: no such attack, the
  attack never acted, nothing detected...);
- ``known_failure``: a failing criterion that carries ``known_issue``. A criterion with ``known_issue`` that
  no longer fails keeps its status and gets ``flag`` = ``"known issue passes: remove known_issue"``.

``first_violation_t`` is the simulated time the limit (``expected``) was first crossed, null when the result
is ``pass``. Every number written is finite (``allow_nan=False``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import scenarios.criteria_measures  # noqa: F401 - registers the evaluators
from analytics.files import atomic_write_lines
from scenarios.criteria_base import EVALUATORS, CriteriaError, Measurement, RunData, finite
from scenarios.criteria_kinds import CRITERIA

__all__ = ["CRITERIA_FILE", "FLAG_REMOVE", "STATUSES", "CriteriaError", "criteria_table", "evaluate",
           "evaluate_criterion", "read_criteria", "write_criteria"]

CRITERIA_FILE = "criteria.json"
STATUSES = ("pass", "acceptable", "fail", "known_failure")
FLAG_REMOVE = "known issue passes: remove known_issue"


def _measure_key(c: dict) -> str:
    keys = [k for k in CRITERIA if k in c]
    if len(keys) != 1:
        raise CriteriaError(f"criterion {c!r}: needs exactly one of {', '.join(CRITERIA)}")
    if keys[0] not in EVALUATORS:
        raise CriteriaError(f"criterion kind {keys[0]!r} has no evaluator")
    return keys[0]


def _fmt(v: float | None) -> str:
    return "none" if v is None else f"{v:.4g}"


def default_name(c: dict, key: str) -> str:
    """A label for a criterion without ``name``: the measure and its qualifiers."""
    head = f"{key} {c[key]}" if key in ("detect", "incident") else f"{key} {_fmt(finite(c[key]))}"
    quals = [f"{q} {c[q]}" for q in CRITERIA[key].qualifiers if c.get(q) is not None]
    return " ".join([head, *quals])


def _status(actual: float | None, expected: float, band: float | None, bound: str) -> str:
    if actual is None:
        return "fail"
    sign = 1.0 if bound == "max" else -1.0
    if sign * actual <= sign * expected + 1e-12:
        return "pass"
    if band is not None and sign * actual <= sign * band + 1e-12:
        return "acceptable"
    return "fail"


def _message(m: Measurement, units: str, bound: str, band: float | None) -> str:
    op = "<=" if bound == "max" else ">="
    want = f"expected {op} {_fmt(m.expected)}"
    if band is not None:
        want += f" (acceptable {op} {_fmt(band)})"
    if m.actual is None:
        return f"no measurement: {m.why or 'nothing measured'}; {want} {units}"
    note = f"; {m.why}" if m.why else ""
    return f"actual {_fmt(m.actual)} {units} vs {want}{note}"


def evaluate_criterion(c: dict, run: RunData) -> dict[str, Any]:
    """One criterion's result (the ``results`` item of ``criteria.json``)."""
    key = _measure_key(c)
    kind = CRITERIA[key]
    m = EVALUATORS[key](c, run)
    actual = finite(m.actual)
    if actual is None and m.actual is not None:
        m = Measurement(m.subject, m.expected, None, m.crossed_t, m.evidence, "the figure is not finite")
    band = finite(c.get("acceptable"))
    status = _status(actual, m.expected, band, kind.bound)
    known = c.get("known_issue")
    flag = None
    if known is not None:
        if status == "fail":
            status = "known_failure"
        else:
            flag = FLAG_REMOVE
    return {"name": str(c.get("name") or default_name(c, key)), "kind": key, "subject": m.subject,
            "units": kind.units, "expected": m.expected, "acceptable": band,
            "actual": None if actual is None else round(actual, 6), "status": status,
            "first_violation_t": None if status == "pass" else finite(m.crossed_t),
            "evidence": [str(e) for e in dict.fromkeys(m.evidence)], "known_issue": known, "flag": flag,
            "message": _message(m, kind.units, kind.bound, band)}


def evaluate(run_dir: str | os.PathLike, criteria: list[dict] | None = None) -> dict[str, Any]:
    """Evaluate ``criteria`` (default: the ``criteria`` of the run's ``scenario.yaml``) on a scored run
    folder; returns the ``criteria.json`` document.

    Raises
    ------
    CriteriaError
        When the run has no ``metrics.json``, or a criterion names no known measure.
    """
    run = RunData(run_dir)
    crit = list(run.scenario.get("criteria") or []) if criteria is None else list(criteria)
    results = [evaluate_criterion(c, run) for c in crit]
    counts = {s: sum(r["status"] == s for r in results) for s in STATUSES}
    seed = run.scenario.get("seed")
    return {"scenario": str(run.scenario.get("name", Path(run_dir).name)),
            "seed": int(seed) if isinstance(seed, int) else None,
            "passed": counts["fail"] == 0, "counts": counts, "results": results}


def write_criteria(run_dir: str | os.PathLike, criteria: dict[str, Any]) -> Path:
    """Write the ``criteria.json`` document ``criteria`` into ``run_dir`` atomically (no NaN or infinity)."""
    text = json.dumps(criteria, indent=2, sort_keys=True, allow_nan=False)
    return atomic_write_lines(Path(run_dir) / CRITERIA_FILE, [text])


def read_criteria(run_dir: str | os.PathLike) -> dict[str, Any]:
    """The run's ``criteria.json``."""
    path = Path(run_dir) / CRITERIA_FILE
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CriteriaError(f"{path}: cannot read ({exc})") from None


def criteria_table(results: list[dict], *, columns: tuple[str, ...] = (),
                   values: list[tuple] | None = None) -> list[str]:
    """Text table lines of results: name, actual, expected, status, after ``columns`` whose ``values``
    (one tuple per result) lead each row."""
    head = [*columns, "criterion", "actual", "expected", "status"]
    rows = [head]
    lead = values if values is not None else [()] * len(results)
    for r, first in zip(results, lead, strict=True):
        op = "<=" if CRITERIA[r["kind"]].bound == "max" else ">="
        actual = "none" if r["actual"] is None else f"{_fmt(r['actual'])} {r['units']}"
        status = r["status"] + (" (flag: remove known_issue)" if r.get("flag") else "")
        rows.append([*first, r["name"], actual, f"{op} {_fmt(r['expected'])}", status])
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(head))]
    return ["  ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=True)).rstrip() for row in rows]
