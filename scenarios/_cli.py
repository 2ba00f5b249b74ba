"""``run_sim.py run SCENARIO.yaml [--seed N] [--out DIR] [--duration S] [--quiet]``: run one scenario."""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict

__all__ = ["register"]


def _seed(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 0, got {text!r}") from None
    if v < 0:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 0, got {text!r}")
    return v


def _seconds(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number of seconds, got {text!r}") from None
    if not v > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text!r}")
    return v


def register(sub) -> None:
    """Add the ``run`` subcommand."""
    p = sub.add_parser("run", help="run a scenario and write its run folder",
                       description="Run a scenario: twin, crowd, attackers, responders, sensors, analytics.")
    p.add_argument("scenario", help="scenario YAML file")
    p.add_argument("--seed", type=_seed, default=None, help="master seed (overrides the scenario's seed)")
    p.add_argument("--out", default=None, help="output folder (default runs/<name>-<seed>)")
    p.add_argument("--duration", type=_seconds, default=None, help="simulated seconds (overrides duration_s)")
    p.add_argument("--quiet", action="store_true", help="no progress bar; print only the output folder")
    p.set_defaults(func=_run)


def _listing(files: list[str]) -> list[str]:
    """Files one a line, the per-camera MOT folders folded into one line."""
    cams: dict[str, list[str]] = defaultdict(list)
    out = []
    for f in files:
        parts = f.split("/")
        if len(parts) > 3 and parts[:2] == ["sensors", "cameras"]:
            cams["/".join(parts[3:])].append(parts[2])
        else:
            out.append(f)
    if cams:
        n = len({c for v in cams.values() for c in v})
        out.append(f"sensors/cameras/<camera>/{{{','.join(sorted(cams))}}} for {n} cameras")
    return out


def _run(args: argparse.Namespace) -> int:
    from scenarios.engine import run_scenario
    from scenarios.schema import ScenarioError

    try:
        res = run_scenario(args.scenario, seed=args.seed, out=args.out, duration_s=args.duration,
                           quiet=args.quiet)
    except ScenarioError as exc:
        for line in exc.problems:
            print(f"error: {line}", file=sys.stderr)
        return exc.exit_code
    for m in res.missing:
        print(f"note: {m}", file=sys.stderr)
    if args.quiet:
        print(res.out_dir)
        return 0
    s = res.stats
    print(f"run {res.out_dir.name}: {res.sim_s:g} simulated s in {res.wall_s:.1f} s wall; "
          f"{s.get('people', 0)} people, {s.get('sensors', 0)} sensors ({s.get('cameras', 0)} cameras), "
          f"{s.get('bus_messages', 0)} bus messages, {s.get('truth_lines', 0)} truth records, "
          f"{s.get('alerts', 0)} alerts")
    cast = s.get("individuals") or {}
    if cast:
        print("individuals: " + ", ".join(f"{n} {k}" for k, n in cast.items()))
    print(f"files in {res.out_dir}/:")
    for f in _listing(res.files):
        print(f"  {f}")
    return 0
