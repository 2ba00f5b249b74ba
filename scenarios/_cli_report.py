"""``run_sim.py report RUN_DIR``: write (again) the ``report.html`` of an existing run folder."""

from __future__ import annotations

__all__ = ["register"]


def register(sub) -> None:
    """Add the ``report`` subcommand."""
    p = sub.add_parser("report", help="write a run folder's report.html (offline, self-contained)",
                       description="Rewrite RUN_DIR/report.html from the run's files: summary, timeline, "
                                   "map, metrics and criteria, density and resilience curves. The twin's "
                                   "streets come from the scenario's city and bbox (the twin cache).")
    p.add_argument("run_dir", help="a run folder (the output of `run_sim.py run`)")
    p.set_defaults(func=_report)


def _report(args) -> int:
    from scenarios.report import write_report

    print(write_report(args.run_dir))
    return 0
