"""``run_sim.py run SCENARIO.yaml [--seed N] [--out DIR] [--duration S] [--quiet]``: run one scenario."""

from __future__ import annotations

import argparse
import sys

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
    p.add_argument("--quiet", action="store_true", help="no progress bar and no summary")
    p.set_defaults(func=_run)


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
    s = res.stats
    print(f"run {res.out_dir.name}: {res.sim_s:g} simulated s in {res.wall_s:.1f} s wall "
          f"({res.sim_s / max(res.wall_s, 1e-9):.0f}x real time); {s.get('people', 0)} people, "
          f"{s.get('sensors', 0)} sensors, {s.get('bus_messages', 0)} bus messages, "
          f"{s.get('truth_lines', 0)} truth records, {s.get('alerts', 0)} alerts")
    for m in res.missing:
        print(f"note: not available in this checkout: {m}", file=sys.stderr)
    print(f"files in {res.out_dir}/:")
    for f in res.files:
        print(f"  {f}")
    return 0
