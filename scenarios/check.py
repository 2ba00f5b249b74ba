"""``check``: run scenarios for several seeds and gate on their criteria (and golden runs), for CI.

Each scenario runs for seeds ``seed .. seed + N - 1`` (its own ``seed`` first), one run folder each under the
output folder (``<name>-<seed>``), in this process or on a process pool (``spawn``: every worker imports the
testbed afresh, so the pool behaves the same on every platform). Every scenario is loaded and checked before
any runs: bad input is reported all at once, one line per problem (``ScenarioError``, exit 2).

A run's record (the ``--json`` file is the list of them): scenario path and the SHA-256 of its content, name,
seed, code version (``git rev-parse HEAD`` of the testbed's checkout, null outside one), simulated and wall
seconds and their ratio (simulated s per wall s), the run folder, the criteria counts and every result
(``scenarios.criteria``), and the golden comparison (``scenarios.golden``) when asked for. The check fails
(exit 1) when a criterion fails (a known failure does not) or a golden run differs.
"""

from __future__ import annotations

import concurrent.futures as cf
import hashlib
import json
import multiprocessing
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scenarios.criteria import criteria_table, read_criteria
from scenarios.golden import compare_golden, golden_dir, short_diff, update_golden

__all__ = ["CheckJob", "CheckReport", "check", "check_table", "code_version", "run_job", "scenario_files",
           "write_records"]


@dataclass(frozen=True)
class CheckJob:
    """One run of a check: the scenario file, the seed, where to write, and what to do with golden runs."""

    path: str
    name: str
    seed: int
    out: str
    code_version: str | None = None
    golden: str | None = None
    update_golden: bool = False


@dataclass
class CheckReport:
    """What a check found: one record per run, and the exit code (0 passed, 1 a criterion or a golden
    run failed)."""

    records: list[dict]
    exit_code: int


def code_version() -> str | None:
    """The commit of the testbed's git checkout (``git rev-parse HEAD``), None outside one."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).resolve().parents[1],
                             capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    head = out.stdout.strip()
    return head if out.returncode == 0 and head else None


def scenario_files(args: list[str]) -> tuple[list[Path], list[str]]:
    """The scenario files the arguments name (a folder: every ``*.yaml`` under it), and the problems."""
    files, problems = [], []
    for a in args:
        p = Path(a)
        if p.is_dir():
            found = sorted(p.rglob("*.yaml"))
            if not found:
                problems.append(f"{a}: no *.yaml scenario under this folder")
            files += found
        elif p.is_file():
            files.append(p)
        else:
            problems.append(f"{a}: no such file or folder")
    return list(dict.fromkeys(files)), problems


def _load(files: list[Path]) -> tuple[list[tuple[Path, dict]], list[str]]:
    """Each file's resolved scenario data, and every problem of every file (``file:line: ...``)."""
    from scenarios.schema import ScenarioError, load_scenario

    out, problems, names = [], [], {}
    for f in files:
        try:
            sc = load_scenario(f)
        except ScenarioError as exc:
            problems += exc.problems
            continue
        name = str(sc.data["name"])
        if name in names:
            problems.append(f"{f}: name {name!r} is also the name of {names[name]} (run folders would clash)")
        names[name] = f
        out.append((f, sc.data))
    return out, problems


def run_job(job: CheckJob) -> dict[str, Any]:
    """Run one scenario and seed; its record (module docstring). Top level, so a spawned worker can run it.

    Input errors (``exit_code`` 2) come back as ``{"error": [lines], ...}`` rather than raised: the
    scenario's own exception type does not survive the trip between processes.
    """
    from scenarios.engine import run_scenario

    t0 = time.perf_counter()
    try:
        res = run_scenario(job.path, seed=job.seed, out=Path(job.out) / f"{job.name}-{job.seed}", quiet=True)
    except Exception as exc:
        if getattr(exc, "exit_code", None) != 2:
            raise
        lines = list(getattr(exc, "problems", None) or [str(exc)])
        return {"scenario": job.path, "name": job.name, "seed": job.seed, "error": lines}
    wall = time.perf_counter() - t0
    doc = read_criteria(res.out_dir)
    rec: dict[str, Any] = {
        "scenario": job.path, "name": job.name,
        "sha256": hashlib.sha256(Path(job.path).read_bytes()).hexdigest(), "seed": job.seed,
        "code_version": job.code_version, "sim_s": res.sim_s, "wall_s": round(wall, 3),
        "sim_per_wall": round(res.sim_s / wall, 3) if wall > 0 else None, "run_dir": str(res.out_dir),
        "passed": doc["passed"], "counts": doc["counts"], "results": doc["results"], "golden": None}
    if job.golden is not None:
        gold = golden_dir(job.golden, job.name, job.seed)
        if job.update_golden:
            update_golden(res.out_dir, gold)
        diff = compare_golden(res.out_dir, gold)
        rec["golden"] = {"dir": str(gold), "updated": job.update_golden, "diff": short_diff(diff)}
        rec["passed"] = rec["passed"] and not diff
    return rec


def _jobs(loaded: list[tuple[Path, dict]], *, seeds: int, out: str, golden: str | None,
          update: bool) -> list[CheckJob]:
    version = code_version()
    return [CheckJob(str(path), str(d["name"]), int(d["seed"]) + k, out, version, golden, update)
            for path, d in loaded for k in range(seeds)]


def _execute(jobs: list[CheckJob], workers: int) -> list[dict]:
    """Every job's record, in job order; a pool of ``workers`` spawned processes when more than one."""
    if workers <= 1 or len(jobs) <= 1:
        return [_progress(run_job(j)) for j in jobs]
    ctx = multiprocessing.get_context("spawn")
    with cf.ProcessPoolExecutor(max_workers=min(workers, len(jobs)), mp_context=ctx) as pool:
        futures = [pool.submit(run_job, j) for j in jobs]
        for f in cf.as_completed(futures):
            _progress(f.result())
        return [f.result() for f in futures]


def _progress(rec: dict) -> dict:
    state = "error" if "error" in rec else "passed" if rec["passed"] else "FAILED"
    print(f"check: {rec['name']} seed {rec['seed']}: {state}", file=sys.stderr, flush=True)
    return rec


def check(paths: list[str], *, seeds: int = 1, workers: int = 1, out: str | os.PathLike = "runs/check",
          golden: str | os.PathLike | None = None, update_golden: bool = False) -> CheckReport:
    """Run every scenario of ``paths`` for ``seeds`` seeds and evaluate it (module docstring).

    Raises
    ------
    ScenarioError
        Bad input, every problem listed: missing files, schema errors, clashing names, and what a run's
        build finds wrong (places the twin does not know...).
    """
    from scenarios.schema import ScenarioError

    if seeds < 1 or workers < 1:
        raise ScenarioError([f"--seeds and --workers: must be at least 1, got {seeds} and {workers}"])
    files, problems = scenario_files([str(p) for p in paths])
    loaded, more = _load(files)
    if problems or more:
        raise ScenarioError(problems + more)
    jobs = _jobs(loaded, seeds=seeds, out=str(out), golden=None if golden is None else str(golden),
                 update=update_golden)
    records = _execute(jobs, workers)
    errors = [line for r in records for line in r.get("error", ())]
    if errors:
        raise ScenarioError(list(dict.fromkeys(errors)))
    return CheckReport(records, 0 if all(r["passed"] for r in records) else 1)


def check_table(records: list[dict]) -> list[str]:
    """One table of every run's criteria (scenario, seed, criterion, actual, expected, status), then one
    line per golden comparison with its short diff."""
    results = [r for rec in records for r in rec["results"]]
    lead = [(rec["name"], str(rec["seed"])) for rec in records for _ in rec["results"]]
    lines = criteria_table(results, columns=("scenario", "seed"), values=lead) if results else []
    for rec in records:
        if not rec["results"]:
            lines.append(f"{rec['name']} seed {rec['seed']}: no criteria declared")
        gold = rec.get("golden")
        if gold is not None:
            what = "stored" if gold["updated"] and not gold["diff"] else "matches" if not gold["diff"] else \
                "DIFFERS"
            lines.append(f"golden {rec['name']} seed {rec['seed']}: {what} ({gold['dir']})")
            lines += [f"  {d}" for d in gold["diff"]]
    return lines


def write_records(path: str | os.PathLike, records: list[dict]) -> Path:
    """Write the run records as one JSON list (no NaN or infinity), atomically."""
    from analytics.files import atomic_write_lines

    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write_lines(out, [json.dumps(records, indent=2, sort_keys=True, allow_nan=False)])
