"""What-if sweeps for planners: one scenario run over a grid or a sample of parameter values and seeds.

``run_sweep(scenario, ["crowd.population=0,5000", ...], out=DIR, p=SweepParams(...))``:

1. reads the parameters and draws the points (``scenarios.sweep_params``: grid, Latin hypercube or Sobol),
   and checks every variant with the scenario schema before anything runs (bad input: ``SweepError``);
2. runs every (point, seed) not finished before (seeds: the scenario's seed .. seed + seeds - 1) with
   ``scenarios.sweep_runs.run_one`` into ``DIR/runs/<key>/``, on a process pool (``spawn``, ``workers``
   processes) or on a Dask cluster (``dask``: a scheduler address, or ``"local"`` for a ``LocalCluster`` of
   ``workers`` single-threaded processes; a remote cluster needs the project importable on its workers and
   ``DIR`` on a file system they share). At most as many runs as there are workers are handed out at once,
   so the progress bar's "running" is true, and an interrupted sweep loses only the runs in flight;
3. writes ``DIR/sweep.csv`` (``scenarios.sweep_table``), ``DIR/plots/*.png`` (``scenarios.sweep_plots``) and
   ``DIR/sensitivity.csv`` (``scenarios.sweep_sensitivity``), from the records of every run of this sweep.

Resuming: ``DIR/records/<key>.json`` marks a finished run (passed, failed or raised); those are not redone.
``DIR/sweep.json`` names the scenario (and its content hash) and the duration; a sweep of another scenario
into the same folder is refused, as its runs' keys would mix with these.
"""

from __future__ import annotations

import concurrent.futures as cf
import hashlib
import json
import multiprocessing
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from scenarios.schema import Scenario, load_scenario
from scenarios.sweep_params import Param, SweepError, parse_param, sample_points, variant
from scenarios.sweep_plots import plot_metrics
from scenarios.sweep_runs import KEEP, RunTask, read_records, run_key, run_one
from scenarios.sweep_sensitivity import format_summary, sensitivity, write_sensitivity
from scenarios.sweep_table import headline_metrics, row_of, write_csv

__all__ = ["SweepParams", "SweepResult", "plan_sweep", "run_sweep"]

MANIFEST = "sweep.json"


@dataclass(frozen=True)
class SweepParams:
    """How to sweep.

    Attributes
    ----------
    sample : str
        ``grid`` (default), ``lhs`` or ``sobol``.
    n : int or None
        Points of an ``lhs``/``sobol`` sample (required there, refused for a grid).
    seeds : int
        Seeds per point (default 1).
    workers : int
        Worker processes (default 1); also the size of ``dask="local"``.
    dask : str or None
        A Dask scheduler address, ``"local"``, or None for the process pool (default).
    keep : str
        What to keep of each run folder: ``none``, ``failed`` or ``all`` (default).
    duration_s : float or None
        Simulated seconds of every run (default: the scenario's).
    progress : bool
        Show a progress bar on stderr (default True).
    """

    sample: str = "grid"
    n: int | None = None
    seeds: int = 1
    workers: int = 1
    dask: str | None = None
    keep: str = "all"
    duration_s: float | None = None
    progress: bool = True


@dataclass
class SweepResult:
    """What a sweep did and wrote."""

    out: Path
    records: list[dict]
    ran: int
    skipped: int
    failed: int
    columns: list[str] = field(default_factory=list)
    plots: list[Path] = field(default_factory=list)
    summary: list[str] = field(default_factory=list)


def _check_options(p: SweepParams) -> None:
    if p.keep not in KEEP:
        raise SweepError(f"--keep: must be one of {', '.join(KEEP)}, got {p.keep!r}")
    if isinstance(p.seeds, bool) or not isinstance(p.seeds, int) or p.seeds < 1:
        raise SweepError(f"--seeds: must be a whole number >= 1, got {p.seeds!r}")
    if isinstance(p.workers, bool) or not isinstance(p.workers, int) or p.workers < 1:
        raise SweepError(f"--workers: must be a whole number >= 1, got {p.workers!r}")
    if p.duration_s is not None and not (isinstance(p.duration_s, int | float) and p.duration_s > 0):
        raise SweepError(f"--duration: must be a number of seconds > 0, got {p.duration_s!r}")


def _manifest(out: Path, sc: Scenario, p: SweepParams) -> None:
    """Write ``sweep.json``, or check that the one there is of this scenario and duration."""
    digest = hashlib.sha1(sc.to_yaml().encode("utf-8")).hexdigest()
    mine = {"scenario": str(sc.path), "scenario_sha1": digest, "duration_s": p.duration_s}
    path = out / MANIFEST
    if path.exists():
        try:
            old = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            old = {}
        for k in ("scenario_sha1", "duration_s"):
            if old.get(k) != mine[k]:
                raise SweepError(f"--out {out}: holds a sweep of another scenario or duration ({k} differs); "
                                 "choose another --out")
    out.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(mine, indent=1) + "\n", encoding="utf-8")


def plan_sweep(scenario: str | os.PathLike | Scenario, params: list[str], *, out: str | os.PathLike,
               p: SweepParams = SweepParams()) -> tuple[Scenario, list[Param], list[RunTask]]:
    """The scenario, the parameters and every run of the sweep, each variant checked (nothing is run or
    written).

    Raises
    ------
    SweepError, ScenarioError
        Bad options, parameters or values; an unreadable or invalid scenario.
    """
    _check_options(p)
    sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    parsed = [parse_param(t) for t in params]
    if not parsed:
        raise SweepError("--param: give at least one PATH=VALUES")
    if any(q.path == "seed" for q in parsed):
        raise SweepError("--param seed: seeds are set by --seeds (the scenario's seed and the next ones)")
    seed0 = int(sc.data["seed"])
    points = sample_points(parsed, sample=p.sample, n=p.n, seed=seed0)
    base = str(Path(out).resolve())
    tasks = []
    for point in points:
        v = variant(sc, point)
        for seed in range(seed0, seed0 + p.seeds):
            tasks.append(RunTask(key=run_key(point, seed), seed=seed, point=point, scenario=v, out=base,
                                 duration_s=p.duration_s, keep=p.keep))
    return sc, parsed, tasks


def _error_record(task: RunTask, exc: BaseException) -> dict:
    """A run whose worker itself failed (not written: a resumed sweep tries it again)."""
    msg = str(exc).strip().splitlines()
    return {"key": task.key, "seed": task.seed, "params": task.point, "status": "error",
            "error": f"{type(exc).__name__}: {msg[0]}" if msg else type(exc).__name__, "wall_s": None,
            "metrics": {}, "criteria": None}


class _Progress:
    """The tqdm bar: runs done, running, failed."""

    def __init__(self, total: int, skipped: int, show: bool) -> None:
        from tqdm import tqdm

        self.failed = 0
        self.bar = tqdm(total=total, desc=f"sweep ({skipped} done before)" if skipped else "sweep",
                        unit="run", file=sys.stderr, disable=not show, dynamic_ncols=True)

    def update(self, rec: dict | None, running: int) -> None:
        if rec is not None:
            self.failed += rec.get("status") != "passed"
            self.bar.update(1)
        self.bar.set_postfix_str(f"running={running} failed={self.failed}")

    def close(self) -> None:
        self.bar.close()


def _run_pool(tasks: list[RunTask], workers: int, progress: _Progress) -> list[dict]:
    done: list[dict] = []
    todo = iter(tasks)
    pool = cf.ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))
    pending: dict = {}
    try:
        while True:
            while len(pending) < workers and (t := next(todo, None)) is not None:
                pending[pool.submit(run_one, t)] = t
            progress.update(None, len(pending))
            if not pending:
                return done
            finished, _ = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
            for f in finished:
                t = pending.pop(f)
                try:
                    rec = f.result()
                except cf.process.BrokenProcessPool:
                    raise
                except Exception as exc:    # the run's worker could not return (e.g. unpicklable): go on
                    rec = _error_record(t, exc)
                done.append(rec)
                progress.update(rec, len(pending))
    finally:   # on an interrupt: no new run starts; the finished ones are recorded already
        pool.shutdown(wait=not pending, cancel_futures=True)


def _run_dask(tasks: list[RunTask], address: str, workers: int, progress: _Progress) -> list[dict]:
    import dask
    from distributed import Client, LocalCluster, as_completed

    cluster = None
    if address == "local":
        # non-daemonic workers: a run may start its own export and analytics processes
        with dask.config.set({"distributed.worker.daemon": False}):
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                   dashboard_address=None, memory_limit=0)
    done: list[dict] = []
    try:
        try:
            client = Client(cluster if cluster is not None else address, timeout=20)
        except (OSError, TimeoutError, ValueError) as exc:
            raise SweepError(f"--dask {address}: cannot connect: {str(exc).splitlines()[0]}") from None
        with client:
            width = max(1, sum(w.get("nthreads", 1) for w in client.scheduler_info()["workers"].values()))
            todo = iter(tasks)
            pending: dict = {}

            def fill(ac) -> None:
                while len(pending) < width and (t := next(todo, None)) is not None:
                    f = client.submit(run_one, t, pure=False)   # a fresh key: never another sweep's result
                    pending[f.key] = t
                    ac.add(f)

            ac = as_completed()
            fill(ac)
            progress.update(None, len(pending))
            for f in ac:
                t = pending.pop(f.key)
                try:
                    rec = f.result()
                except Exception as exc:   # a worker lost, or the run's worker could not return: go on
                    rec = _error_record(t, exc)
                done.append(rec)
                fill(ac)
                progress.update(rec, len(pending))
    finally:
        if cluster is not None:
            cluster.close()
    return done


def _outputs(out: Path, records: list[dict], parsed: list[Param], grid: bool, res: SweepResult) -> None:
    params = [q.path for q in parsed]
    res.columns = write_csv(out / "sweep.csv", records, params)
    rows = [row_of(r) for r in records]
    metric_cols = res.columns[res.columns.index("wall_s"):]   # wall_s, every metric, the criteria counts
    effects = sensitivity(rows, params, metric_cols, sampled={q.path for q in parsed if q.is_range})
    write_sensitivity(out / "sensitivity.csv", effects)
    varying = sorted({e.metric for e in effects})
    head = headline_metrics(varying)
    res.plots = plot_metrics(out / "plots", rows, params, head, grid=grid)
    res.summary = format_summary(effects, head or varying[:10])


def run_sweep(scenario: str | os.PathLike | Scenario, params: list[str], *, out: str | os.PathLike,
              p: SweepParams = SweepParams()) -> SweepResult:
    """Plan, run what is not finished, write the table, plots and sensitivity (see the module docstring).

    Raises
    ------
    SweepError, ScenarioError
        Bad input (exit code 2), before any run starts.
    """
    sc, parsed, tasks = plan_sweep(scenario, params, out=out, p=p)
    out = Path(out)
    _manifest(out, sc, p)
    before = read_records(out)
    todo = [t for t in tasks if t.key not in before]
    progress = _Progress(len(todo), len(tasks) - len(todo), p.progress)
    try:
        if not todo:
            new = []
        elif p.dask:
            new = _run_dask(todo, p.dask, p.workers, progress)
        else:
            new = _run_pool(todo, p.workers, progress)
    finally:
        progress.close()
    by_key = {**before, **{r["key"]: r for r in new}}
    records = [by_key[t.key] for t in tasks if t.key in by_key]
    res = SweepResult(out=out, records=records, ran=len(new), skipped=len(tasks) - len(todo),
                      failed=sum(r.get("status") != "passed" for r in records))
    _outputs(out, records, parsed, p.sample == "grid", res)
    return res
