"""One sweep run: its key, the worker that runs it, and the record that marks it finished.

``run_one(task)`` is the function the process pool or the Dask workers call (top-level, so it pickles under
the ``spawn`` start method). It runs the variant with ``scenarios.engine.run_scenario`` into
``OUT/runs/<key>/``, reads the numbers the sweep table needs (every numeric leaf of ``metrics.json``, the
``counts`` of ``criteria.json`` when the run wrote one), then keeps of the folder only what ``keep`` asks, and
writes ``OUT/records/<key>.json``. That record is the run's "finished" mark: a resumed sweep skips every key
that has one. A run that raises is recorded too, with status ``error`` and its one-line message (the
traceback in ``error.txt`` in its folder when that is kept); the sweep goes on. In a daemonic worker (Dask's
default) the run writes its exports in-process (``TWIN_EXPORTS=inline``: the same files), as a daemon may not
start processes.

The key is a short hash of the point's parameter values and the seed, so the same run gets the same folder
whatever the order or the sample it comes from.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["KEEP", "RECORDS", "RUNS", "RunTask", "flatten_numbers", "read_records", "run_key", "run_one"]

#: What ``--keep`` takes: nothing, the folders of failed runs, or every folder.
KEEP = ("none", "failed", "all")
#: Sub-folders of the sweep's output folder.
RUNS, RECORDS = "runs", "records"


def run_key(point: dict[str, Any], seed: int) -> str:
    """A stable 12-hex-digit key of (parameter values, seed)."""
    text = json.dumps({"params": point, "seed": int(seed)}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:12]


@dataclass(frozen=True)
class RunTask:
    """One run to do.

    Attributes
    ----------
    key, seed : str, int
        Its key (``run_key``) and master seed.
    point : dict
        The swept parameters' values, by path.
    scenario : object
        The checked variant (``scenarios.schema.Scenario``).
    out : str
        The sweep's output folder (absolute).
    duration_s : float or None
        Simulated seconds, overriding the scenario's (None: the scenario's).
    keep : str
        One of ``KEEP``.
    """

    key: str
    seed: int
    point: dict = field(hash=False)
    scenario: Any = field(hash=False)
    out: str = ""
    duration_s: float | None = None
    keep: str = "all"


def flatten_numbers(obj: Any, prefix: str = "") -> dict[str, float]:
    """Every finite numeric leaf of a JSON value as ``{dotted.name: number}`` (list items by index; true/false
    as 1/0; text, null, NaN and infinities left out)."""
    out: dict[str, float] = {}
    if isinstance(obj, dict):
        for k, v in obj.items():
            out.update(flatten_numbers(v, f"{prefix}.{k}" if prefix else str(k)))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out.update(flatten_numbers(v, f"{prefix}.{i}" if prefix else str(i)))
    elif isinstance(obj, bool):
        out[prefix] = int(obj)
    elif isinstance(obj, int | float) and math.isfinite(obj):
        out[prefix] = obj
    return out


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _write_record(out: Path, rec: dict) -> None:
    folder = out / RECORDS
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{rec['key']}.json.tmp-{os.getpid()}"
    tmp.write_text(json.dumps(rec, allow_nan=False, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, folder / f"{rec['key']}.json")


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def run_one(task: RunTask) -> dict:
    """Run ``task``, keep what it asks of the folder, write and return its record (see the module docstring).

    The record: ``{"key", "seed", "params", "status": "passed"|"failed"|"error", "error": str|None,
    "wall_s", "metrics": {name: number}, "criteria": {"pass": n, ...}|None}``.
    """
    import multiprocessing

    from scenarios.engine import run_scenario

    if multiprocessing.current_process().daemon:   # e.g. a Dask worker: it may not start the export process
        os.environ.setdefault("TWIN_EXPORTS", "inline")
    out = Path(task.out)
    run_dir = out / RUNS / task.key
    t0 = time.perf_counter()
    rec: dict = {"key": task.key, "seed": int(task.seed), "params": task.point, "status": "passed",
                 "error": None, "metrics": {}, "criteria": None}
    try:
        run_scenario(task.scenario, seed=int(task.seed), out=run_dir, duration_s=task.duration_s, quiet=True)
    except Exception as exc:   # one failed variant must not stop the sweep: it is recorded and counted
        rec.update(status="error", error=_one_line(exc))
        if task.keep != "none":
            run_dir.mkdir(parents=True, exist_ok=True)
            (run_dir / "error.txt").write_text(traceback.format_exc(), encoding="utf-8")
    rec["wall_s"] = round(time.perf_counter() - t0, 3)
    if rec["status"] != "error":
        rec["metrics"] = flatten_numbers(_read_json(run_dir / "metrics.json") or {})
        crit = _read_json(run_dir / "criteria.json")
        if isinstance(crit, dict):
            counts = crit.get("counts")
            rec["criteria"] = {k: int(v) for k, v in counts.items()} if isinstance(counts, dict) else None
            if crit.get("passed") is False:
                rec["status"] = "failed"
    if task.keep == "none" or (task.keep == "failed" and rec["status"] == "passed"):
        shutil.rmtree(run_dir, ignore_errors=True)
    _write_record(out, rec)
    return rec


def read_records(out: str | os.PathLike) -> dict[str, dict]:
    """The records of the finished runs in a sweep folder, by key (unreadable ones ignored: redone)."""
    folder = Path(out) / RECORDS
    recs = {}
    for p in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        rec = _read_json(p)
        if isinstance(rec, dict) and rec.get("key") == p.stem:
            recs[p.stem] = rec
    return recs
