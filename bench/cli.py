"""CLI start-up benchmark: wall time of ``run_sim.py --help`` and of ``run_sim.py twin info CITY`` with the
twin already cached, each in a fresh interpreter, median (min-max) of ``--runs`` runs; the bare interpreter's
start-up (``python -c pass``) for scale.

Targets on 2 cores (issue #12): ``--help`` <= 0.5 s, cached ``twin info helsinki`` <= 1.5 s.
The twin cache is a temporary folder that one untimed ``twin info`` fills first. ``--root DIR`` times the
``run_sim.py`` of another checkout instead (``git archive COMMIT | tar -x -C DIR``), to compare before/after.
Usage: python bench/cli.py [--runs 5] [--city helsinki] [--root DIR]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _wall(argv: list[str], root: Path, env: dict) -> float:
    """Seconds one fresh interpreter takes to run ``argv`` in ``root`` (it must exit 0)."""
    t0 = time.perf_counter()
    res = subprocess.run([sys.executable, *argv], cwd=root, env=env, capture_output=True, text=True,
                         check=False)
    wall = time.perf_counter() - t0
    if res.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({res.returncode}):\n{res.stderr}")
    return wall


def _row(name: str, walls: list[float]) -> str:
    return f"{name:40s} {statistics.median(walls):7.3f} {min(walls):7.3f} {max(walls):7.3f}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--city", default="helsinki")
    ap.add_argument("--root", type=Path, default=ROOT, help="checkout whose run_sim.py is timed")
    a = ap.parse_args(argv)
    root = a.root.resolve()
    cases = [("python -c pass", ["-c", "pass"]), ("run_sim.py --help", ["run_sim.py", "--help"]),
             (f"run_sim.py twin info {a.city} (cached)", ["run_sim.py", "twin", "info", a.city])]
    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        env["TWIN_CACHE"] = tmp
        _wall(cases[2][1], root, env)  # builds the twin into the cache
        walls: dict[str, list[float]] = {name: [] for name, _ in cases}
        for _ in range(max(1, a.runs)):  # the cases alternate, so a load change hits them alike
            for name, args in cases:
                walls[name].append(_wall(args, root, env))
    print(f"{root} ({a.runs} runs each, wall s)")
    print(f"{'':40s} {'median':>7s} {'min':>7s} {'max':>7s}")
    for name, _ in cases:
        print(_row(name, walls[name]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
