"""Golden runs: a run's ``alerts.jsonl``, ``incidents.jsonl`` and ``metrics.json`` against stored copies.

A golden run of scenario ``name`` and seed ``s`` is the folder ``<golden dir>/<name>-<s>/`` holding the three
files as a run wrote them (``update_golden`` copies them there). ``compare_golden`` parses both sides and
compares them value by value:

- **Tolerance.** Two floats (or a float and an int) match when ``|a - b| <= ABS_TOL + REL_TOL * max(|a|,
  |b|)``, with ``REL_TOL = 1e-6`` and ``ABS_TOL = 1e-9``: a run's figures are rounded when written, so only
  the last printed digit of a platform's floating point may move. Two ints, strings, booleans and nulls
  match only when equal; lists must have the same length, objects the same keys; a JSON-lines file the
  same number of records. A NaN (``metrics.json`` may hold one, e.g. a camera's MOTP with no match)
  matches only a NaN.
- **Not compared.** Wall-clock figures: any object key containing ``wall`` (``WALL_CLOCK_MARK``), so that
  one added later is never compared. None of the three files holds one today: ``metrics.json``'s
  ``analytics`` section copies only message and error counts from ``analytics.json``, whose ``*_s``
  timings are wall time (``analytics.json`` is not a golden file); every other ``*_s`` is simulated time.

A difference is one line: ``file: json path: stored X vs now Y``; ``short_diff`` keeps the first
``MAX_DIFF_LINES`` of them.
"""

from __future__ import annotations

import json
import math
import os
import shutil
from pathlib import Path
from typing import Any

__all__ = ["ABS_TOL", "GOLDEN_FILES", "MAX_DIFF_LINES", "REL_TOL", "WALL_CLOCK_MARK", "compare_golden",
           "golden_dir", "short_diff", "update_golden"]

GOLDEN_FILES = ("alerts.jsonl", "incidents.jsonl", "metrics.json")
REL_TOL = 1e-6
ABS_TOL = 1e-9
WALL_CLOCK_MARK = "wall"
MAX_DIFF_LINES = 20


def golden_dir(root: str | os.PathLike, scenario: str, seed: int) -> Path:
    """The golden folder of one scenario name and seed."""
    return Path(root) / f"{scenario}-{seed}"


def update_golden(run_dir: str | os.PathLike, gold: str | os.PathLike) -> Path:
    """Copy the run's golden files into ``gold`` (replacing what was there); returns ``gold``."""
    src, dst = Path(run_dir), Path(gold)
    dst.mkdir(parents=True, exist_ok=True)
    for name in GOLDEN_FILES:
        if (src / name).is_file():
            shutil.copyfile(src / name, dst / name)
        elif (dst / name).exists():
            (dst / name).unlink()
    return dst


def _num(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _short(v: Any) -> str:
    text = json.dumps(v, sort_keys=True)
    return text if len(text) <= 60 else text[:57] + "..."


def _close(a: float, b: float) -> bool:
    """Within the tolerance; a non-finite value (a NaN some file still holds) only matches itself."""
    if not (math.isfinite(a) and math.isfinite(b)):
        return a == b or (math.isnan(a) and math.isnan(b))
    return abs(a - b) <= ABS_TOL + REL_TOL * max(abs(a), abs(b))


def _diff(a: Any, b: Any, path: str, out: list[str]) -> None:
    """Append ``path: stored a vs now b`` for every difference beyond the tolerance."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if WALL_CLOCK_MARK in str(k):
                continue
            if k not in a or k not in b:
                out.append(f"{path}.{k}: stored {_short(a.get(k, '<absent>'))} vs now "
                           f"{_short(b.get(k, '<absent>'))}")
            else:
                _diff(a[k], b[k], f"{path}.{k}", out)
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            out.append(f"{path}: stored {len(a)} items vs now {len(b)}")
        for i, (x, y) in enumerate(zip(a, b, strict=False)):
            _diff(x, y, f"{path}[{i}]", out)
    elif _num(a) and _num(b) and (isinstance(a, float) or isinstance(b, float)):
        if not _close(float(a), float(b)):
            out.append(f"{path}: stored {_short(a)} vs now {_short(b)}")
    elif a != b or type(a) is not type(b):
        out.append(f"{path}: stored {_short(a)} vs now {_short(b)}")


def _read(path: Path) -> list[Any]:
    """The file's JSON values: one per line for ``.jsonl``, else the one document."""
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".jsonl":
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    return [json.loads(text)]


def compare_golden(run_dir: str | os.PathLike, gold: str | os.PathLike) -> list[str]:
    """Every difference between the run's golden files and the stored ones (empty: they match)."""
    run, gold = Path(run_dir), Path(gold)
    if not gold.is_dir():
        return [f"{gold}: no golden run stored; run check with --update-golden to store it"]
    out: list[str] = []
    for name in GOLDEN_FILES:
        mine, stored = run / name, gold / name
        if not stored.is_file() or not mine.is_file():
            if stored.is_file() != mine.is_file():
                where = "the golden run" if not stored.is_file() else "this run"
                out.append(f"{name}: missing in {where}")
            continue
        try:
            a, b = _read(stored), _read(mine)
        except ValueError as exc:
            out.append(f"{name}: not JSON ({exc})")
            continue
        found: list[str] = []
        if name.endswith(".jsonl"):
            if len(a) != len(b):
                found.append(f"records: stored {len(a)} vs now {len(b)}")
            for i, (x, y) in enumerate(zip(a, b, strict=False)):
                _diff(x, y, f"line {i + 1}", found)
        else:
            _diff(a[0], b[0], "$", found)
        out += [f"{name}: {d}" for d in found]
    return out


def short_diff(lines: list[str], *, limit: int = MAX_DIFF_LINES) -> list[str]:
    """At most ``limit`` lines of a diff, the last saying how many more there were."""
    if len(lines) <= limit:
        return list(lines)
    return [*lines[: limit - 1], f"... and {len(lines) - limit + 1} more differences"]
