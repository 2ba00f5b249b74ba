"""Benchmark sweeps: runs per minute of a 16-run sweep on 1 and 2 worker processes.

The sweep is the Senate Square brute-force scenario (``detect-cyber_bruteforce.yaml``: one camera, the video
network, no crowd) over ``crowd.population`` = 0, 100, 200, 400 times 4 seeds, each run shortened to
``--duration`` simulated seconds (default 60), into a fresh folder each time (nothing is resumed). The wall
time is the whole sweep as a user sees it: the worker processes' start-up (each imports the simulation),
the runs, and the table, plots and sensitivity. Prints one row per worker count: runs, wall s, runs per
minute, the mean wall s of one run inside its worker, the speed-up over 1 worker, and the machine's
1-minute load average before the sweep (other work on the cores takes from the speed-up).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scenarios.sweep import SweepParams, run_sweep  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "scenarios" / "library" / "helsinki" / "detect-cyber_bruteforce.yaml"
PARAMS = ["crowd.population=0,100,200,400"]
SEEDS = 4


def one(workers: int, duration_s: float) -> dict:
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as d:
        t0 = time.perf_counter()
        res = run_sweep(SCENARIO, PARAMS, out=Path(d) / "sweep",
                        p=SweepParams(seeds=SEEDS, workers=workers, duration_s=duration_s, keep="none",
                                      progress=False))
        wall = time.perf_counter() - t0
    runs = [r["wall_s"] for r in res.records if r.get("wall_s") is not None]
    return {"workers": workers, "runs": len(res.records), "failed": res.failed, "wall_s": wall,
            "runs_per_min": 60.0 * len(res.records) / wall, "run_s": statistics.fmean(runs) if runs else 0.0,
            "load": load}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration", type=float, default=60.0, help="simulated seconds per run (default 60)")
    args = ap.parse_args()
    rows = [one(w, args.duration) for w in (1, 2)]
    cols = ("workers", "runs", "failed", "wall_s", "runs_per_min", "run_s", "speedup", "load")
    print(f"16-run sweep of {SCENARIO.name}, {args.duration:g} simulated s per run, {os.cpu_count()} cores")
    print("  ".join(f"{c:>12}" for c in cols))
    for r in rows:
        r["speedup"] = r["runs_per_min"] / rows[0]["runs_per_min"]
        print("  ".join(f"{r[c]:>12.2f}" if isinstance(r[c], float) else f"{r[c]!s:>12}" for c in cols))


if __name__ == "__main__":
    main()
