"""``run_sim.py check SCENARIO_OR_DIR... [--seeds N] [--junit FILE] [--json FILE] [--workers N] [--golden DIR]
[--update-golden] [--out DIR]``: run scenarios and gate on their criteria (exit 1 if one fails, 2 on bad
input)."""

from __future__ import annotations

import argparse
import sys

from scenarios._cli_types import whole

__all__ = ["register"]


def register(sub) -> None:
    """Add the ``check`` subcommand."""
    p = sub.add_parser("check", help="run scenarios for N seeds and gate on their criteria (CI)",
                       description="Run each scenario (a folder: every *.yaml under it) for N seeds, "
                                   "evaluate its criteria, print one table; exit 1 if a criterion fails "
                                   "(known failures do not) or a golden run differs, 2 on bad input.")
    p.add_argument("scenarios", nargs="+", metavar="SCENARIO_OR_DIR", help="scenario files or folders")
    p.add_argument("--seeds", type=whole(1), default=1,
                   help="seeds per scenario: seed .. seed+N-1 (default 1)")
    p.add_argument("--workers", type=whole(1), default=1,
                   help="worker processes (default 1: in this process)")
    p.add_argument("--junit", default=None, metavar="FILE", help="write JUnit XML here")
    p.add_argument("--json", default=None, metavar="FILE", help="write one JSON record per run here")
    p.add_argument("--golden", default=None, metavar="DIR",
                   help="compare alerts, incidents and metrics with the golden runs in DIR/<name>-<seed>/")
    p.add_argument("--update-golden", action="store_true", help="rewrite the golden runs (with --golden)")
    p.add_argument("--out", default="runs/check", help="folder of the run folders (default runs/check)")
    p.set_defaults(func=_check)


def _check(args: argparse.Namespace) -> int:
    from scenarios.check import check, check_table, write_records
    from scenarios.junit import write_junit
    from scenarios.schema import ScenarioError

    if args.update_golden and args.golden is None:
        print("error: --update-golden: needs --golden DIR", file=sys.stderr)
        return 2
    try:
        rep = check(args.scenarios, seeds=args.seeds, workers=args.workers, out=args.out, golden=args.golden,
                    update_golden=args.update_golden)
    except ScenarioError as exc:
        for line in exc.problems:
            print(f"error: {line}", file=sys.stderr)
        return exc.exit_code
    for line in check_table(rep.records):
        print(line)
    if args.junit:
        write_junit(args.junit, rep.records)
    if args.json:
        write_records(args.json, rep.records)
    failed = sum(not r["passed"] for r in rep.records)
    print(f"check: {len(rep.records)} runs, {failed} failed" + ("" if failed else ": passed"))
    return rep.exit_code
