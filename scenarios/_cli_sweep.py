"""``run_sim.py sweep SCENARIO --param PATH=V1,V2|LO:HI ... [--seeds N] [--sample grid|lhs|sobol --n N]
[--workers N] [--dask ADDRESS|local] [--out DIR] [--keep none|failed|all] [--duration S] [--quiet]``:
run a scenario over a grid or a sample of parameter values (``scenarios.sweep``)."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from scenarios._cli_types import seconds, whole

__all__ = ["register"]


def register(sub) -> None:
    """Add the ``sweep`` subcommand."""
    p = sub.add_parser("sweep", help="run a scenario over a grid or a sample of parameter values",
                       description="What-if sweep: every point of a grid (or a Latin-hypercube / Sobol "
                                   "sample over ranges) times N seeds; writes sweep.csv, plots/ and "
                                   "sensitivity.csv. Resumable: finished runs in --out are not redone.")
    p.add_argument("scenario", help="scenario YAML file")
    p.add_argument("--param", action="append", default=[], metavar="PATH=V1,V2|LO:HI",
                   help="a dotted path into the scenario (list items by index, e.g. attacks.0.start_s) and "
                        "its values (a comma list for a grid) or a range LO:HI (for --sample lhs|sobol; "
                        "whole numbers when both ends are: 0:1 draws 0 or 1, 0.0:1.0 a fraction); repeat for "
                        "more parameters")
    p.add_argument("--seeds", default="1", help="seeds per point: the scenario's seed and the next ones "
                                                "(default 1)")
    p.add_argument("--sample", default="grid", help="grid (default), lhs or sobol")
    p.add_argument("--n", default=None, help="points of an lhs or sobol sample")
    p.add_argument("--workers", default="1", help="worker processes (default 1)")
    p.add_argument("--dask", default=None, metavar="ADDRESS",
                   help="run on a Dask scheduler at ADDRESS, or 'local' for a LocalCluster of --workers")
    p.add_argument("--out", default=None, help="sweep folder (default runs/sweep-<name>)")
    p.add_argument("--keep", default="all", help="what to keep of each run folder: none, failed, all "
                                                 "(default)")
    p.add_argument("--duration", default=None, help="simulated seconds of every run (default the scenario's)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_sweep)


def _whole(text: str | None, flag: str, *, low: int = 1) -> int | None:
    return None if text is None else _checked(whole(low), text, flag)


def _seconds(text: str | None) -> float | None:
    return None if text is None else _checked(seconds, text, "--duration")


def _checked(parse, text: str, flag: str):
    """``parse(text)``, its complaint as the sweep's one-line input error naming ``flag``."""
    import argparse

    from scenarios.sweep_params import SweepError

    try:
        return parse(text)
    except argparse.ArgumentTypeError as exc:
        raise SweepError(f"{flag}: {exc}") from None


def _sweep(args: argparse.Namespace) -> int:
    from scenarios.schema import load_scenario
    from scenarios.sweep import SweepParams, run_sweep

    p = SweepParams(sample=args.sample, n=_whole(args.n, "--n"), seeds=_whole(args.seeds, "--seeds"),
                    workers=_whole(args.workers, "--workers"), dask=args.dask, keep=args.keep,
                    duration_s=_seconds(args.duration), progress=not args.quiet)
    sc = load_scenario(args.scenario)
    out = Path(args.out) if args.out else Path("runs") / f"sweep-{sc.name}"
    t0 = time.perf_counter()
    res = run_sweep(sc, args.param, out=out, p=p)
    n = len(res.records)
    print(f"sweep of {sc.name}: {n} runs ({res.ran} run now, {res.skipped} finished before), "
          f"{res.failed} failed, in {time.perf_counter() - t0:.1f} s")
    errors = sorted({r["error"] for r in res.records if r.get("error")})
    for e in errors[:3]:
        print(f"  error: {e}")
    if res.failed:
        raised = sum(r.get("status") == "error" for r in res.records)
        print(f"  {res.failed} failed run(s): {res.failed - raised} failed a criterion (criteria.* columns), "
              f"{raised} raised (error column) in sweep.csv")
    print(f"wrote {out}/sweep.csv ({n} rows, {len(res.columns)} columns), {out}/sensitivity.csv, "
          f"{len(res.plots)} plot(s) in {out}/plots/")
    if res.summary:
        print("what moves the headline metrics (eta2: share of the variance; rho: Spearman):")
        for line in res.summary:
            print(line)
    return 0
