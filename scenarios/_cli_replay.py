"""``run_sim.py replay RUN_DIR [--out anim.gif|anim.mp4] [--from T] [--to T] [--fps F] [--speed S]``:
re-render a run from its recorded files (``scenarios.replay``)."""

from __future__ import annotations

import argparse

from scenarios._cli_types import finite

__all__ = ["register"]


def register(sub) -> None:
    """Add the ``replay`` subcommand."""
    p = sub.add_parser("replay", help="re-render a run folder as an animation (GIF or MP4)",
                       description="Re-render a run from its recorded files, without re-simulating: people "
                                   "as dots by role, cameras' views, alerts and incidents as they arise. "
                                   "Frames are SPEED/FPS simulated seconds apart: "
                                   "ceil((TO - FROM) * FPS / SPEED) + 1 frames, the last at TO.")
    p.add_argument("run_dir", metavar="RUN_DIR", help="a run folder with positions.parquet")
    p.add_argument("--out", default=None, help="anim.gif or anim.mp4 (default RUN_DIR/replay.gif)")
    p.add_argument("--from", dest="t_from", type=finite, default=None, metavar="T",
                   help="first simulated second shown (default 0; clipped to the run)")
    p.add_argument("--to", dest="t_to", type=finite, default=None, metavar="T",
                   help="last simulated second shown (default the run's end; clipped to the run)")
    p.add_argument("--fps", type=finite, default=4.0, help="output frames per second (default 4)")
    p.add_argument("--speed", type=finite, default=10.0,
                   help="simulated seconds per output second (default 10)")
    p.set_defaults(func=_replay)


def _replay(args: argparse.Namespace) -> int:
    from scenarios.replay import ReplayParams, replay

    res = replay(args.run_dir, out=args.out, params=ReplayParams(fps=args.fps, speed=args.speed,
                                                                 t_from=args.t_from, t_to=args.t_to))
    for note in res.notes:
        print(f"note: {note}")
    print(f"{res.path}: {res.frames} frames, t = {res.t_from:g} .. {res.t_to:g} s")
    return 0
