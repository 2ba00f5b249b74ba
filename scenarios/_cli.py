"""``run_sim.py run SCENARIO.yaml [--seed N] [--out DIR] [--duration S] [--quiet]``: run one scenario;
``run_sim.py fuse ALERTS.jsonl --city CITY [--out DIR]``: the incident stage on an alert feed."""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict

from scenarios._cli_types import bbox, seconds, whole

__all__ = ["register"]


def register(sub) -> None:
    """Add the ``run`` subcommand."""
    p = sub.add_parser("run", help="run a scenario and write its run folder",
                       description="Run a scenario: twin, crowd, attackers, responders, sensors, analytics.")
    p.add_argument("scenario", help="scenario YAML file")
    p.add_argument("--seed", type=whole(0), default=None, help="master seed (overrides the scenario's seed)")
    p.add_argument("--out", default=None, help="output folder (default runs/<name>-<seed>)")
    p.add_argument("--duration", type=seconds, default=None, help="simulated seconds (overrides duration_s)")
    p.add_argument("--quiet", action="store_true", help="no progress bar; print only the output folder")
    p.set_defaults(func=_run)
    f = sub.add_parser("fuse", help="fuse an alert feed into incidents, CAP alerts and the picture",
                       description="Fusion, risk, recommended actions, CAP 1.2 and the COP on an alert feed "
                                   "(alerts.jsonl lines, or a run's events.jsonl) with the city's twin.")
    f.add_argument("feed", help="alerts JSON lines (or a run's events.jsonl)")
    f.add_argument("--city", required=True, help="the city's twin (a known name or an OSM file)")
    f.add_argument("--out", default="fused", help="output folder (default ./fused)")
    f.add_argument("--density", default=None, help="sensed people per zone, density_estimates.csv")
    f.add_argument("--bbox", type=bbox, default=None, metavar="W,S,E,N",
                   help="cut the city to this lon/lat box, as the run's bbox did")
    f.add_argument("--network", default=None, help="the site's network plan (a run's network.json)")
    f.add_argument("--start-time", default="2026-06-01T14:00:00+00:00",
                   help="wall time of t = 0, with its offset (CAP 'sent' times)")
    f.add_argument("--exercise", action="store_true", help="CAP status Exercise instead of Actual")
    f.set_defaults(func=_fuse)


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
          f"{s.get('alerts', 0)} alerts, {s.get('incidents', 0)} incidents")
    cast = s.get("individuals") or {}
    if cast:
        print("individuals: " + ", ".join(f"{n} {k}" for k, n in cast.items()))
    print(f"files in {res.out_dir}/:")
    for f in _listing(res.files):
        print(f"  {f}")
    _print_criteria(res.out_dir)
    return 0


def _print_criteria(run_dir) -> None:
    """The run's criteria table (``criteria.json``), if it has criteria; ``run`` never gates on them."""
    from scenarios.criteria import CRITERIA_FILE, criteria_table, read_criteria

    if not (run_dir / CRITERIA_FILE).is_file():
        return
    doc = read_criteria(run_dir)
    if not doc["results"]:
        print("criteria: none declared")
        return
    c = doc["counts"]
    print(f"criteria: {c['pass']} pass, {c['acceptable']} acceptable, {c['fail']} fail, "
          f"{c['known_failure']} known failure")
    for line in criteria_table(doc["results"]):
        print(f"  {line}")


def _fuse(args: argparse.Namespace) -> int:
    from scenarios.fuse import fuse_feed

    fig = fuse_feed(args.feed, city=args.city, out=args.out, density=args.density, network=args.network,
                    bbox=args.bbox, start_time=args.start_time, exercise=args.exercise)
    print(f"fused {fig['alerts']} alerts into {fig['incidents']} incidents ({fig['changes']} state changes, "
          f"{fig['actions']} recommended actions, {fig['cap']} CAP messages) in {args.out}/")
    return 0
