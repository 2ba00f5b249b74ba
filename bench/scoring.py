"""Benchmark of run scoring: ``write_metrics`` seconds on a finished run folder, the tracks of all its cameras
scored (``_tracking``), and the numpy CLEAR-MOT/IDF1 scorer against motmetrics' accumulator on the same
cameras (equal metrics, time of each).

Run: ``.venv/bin/python bench/scoring.py [RUN_DIR] [--reference] [--tracks-only]`` (without a folder, the
default scenario is run first, unscored and with its MOT text (``outputs: {mot: all}``), into a temporary
one; a RUN_DIR must have MOT text). Works on a copy of the folder (the run is not
touched). Prints wall and CPU seconds of scoring with the run's cameras re-tracked from det.txt and, when
every camera also has the online tracker's ``track/track.txt`` (or after ``--make-tracks`` writes it from
det.txt), scoring that reads it; then the cameras' tracks alone (``_tracking``) three times (with
``--tracks-only`` the first run of the process also starts numba and loads the cached kernels) and once with
the previous code path (the Python frame loop ``_mot_metrics_python``, files read by pandas), whose results
must be equal. ``--tracks-only`` prints only those rows (a city run's re-tracking takes minutes);
``--reference`` adds the per-camera motmetrics comparison.
"""

from __future__ import annotations

import argparse
import math
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analytics.mot import load_mot  # noqa: E402
from analytics.motscore import MOT_METRICS, mot_metrics, mot_metrics_reference  # noqa: E402
from analytics.tracking import TRACK_FILE, track_mot  # noqa: E402
from scenarios.evaluation import _seqinfo_fps, write_metrics  # noqa: E402


def timed(fn, *args) -> tuple[float, float]:
    """(wall s, CPU s) of one call."""
    w, c = time.perf_counter(), time.process_time()
    fn(*args)
    return time.perf_counter() - w, time.process_time() - c


def _same(a: dict, b: dict) -> bool:
    """Equal per-camera metric dicts, NaN equal to NaN."""
    def eq(x, y) -> bool:
        return x == y or (isinstance(x, float) and isinstance(y, float) and math.isnan(x) and math.isnan(y))

    return a.keys() == b.keys() and all(
        a[c].keys() == b[c].keys() and all(eq(a[c][k], b[c][k]) for k in a[c]) for c in a
    )


def tracks_rows(run: Path, n_cams: int) -> None:
    """Seconds to score the cameras' tracks (``scenarios.evaluation._tracking``), three times, then once the
    previous way; the results must be equal."""
    import analytics.mot as mot
    import scenarios.evaluation as ev
    from analytics.motscore import _mot_metrics_python

    runs = []
    for _ in range(3):
        w, c = time.perf_counter(), time.process_time()
        out = ev._tracking(run, 5.0)
        runs.append(f"{time.perf_counter() - w:5.2f} s wall {time.process_time() - c:5.2f} s CPU")
    print(f"scoring the tracks of {n_cams} cameras (_tracking), 3 runs: {' | '.join(runs)}")
    saved = ev.mot_metrics, mot.parse_plain
    ev.mot_metrics, mot.parse_plain = _mot_metrics_python, lambda path: None
    try:
        w, c = time.perf_counter(), time.process_time()
        before = ev._tracking(run, 5.0)
        w, c = time.perf_counter() - w, time.process_time() - c
    finally:
        ev.mot_metrics, mot.parse_plain = saved
    print(f"  the previous path (Python frame loop, pandas reads): {w:5.2f} s wall {c:5.2f} s CPU, "
          f"{'equal' if _same(out, before) else 'DIFFERENT'} results")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run_dir", nargs="?", help="a finished run folder (default: run the default scenario)")
    ap.add_argument("--make-tracks", action="store_true", help="write track/track.txt from det.txt first")
    ap.add_argument("--reference", action="store_true", help="also time motmetrics per camera")
    ap.add_argument("--tracks-only", action="store_true", help="only the rows scoring the cameras' tracks")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp) / "run"
        if a.run_dir is None:
            from scenarios.engine import run_scenario
            from scenarios.schema import parse_scenario

            scen = Path(__file__).resolve().parents[1] / "scenarios" / "library" / "helsinki" / "default.yaml"
            print(f"scoring a fresh run of {scen.name} (no RUN_DIR given), MOT text written")
            text = scen.read_text(encoding="utf-8") + "\noutputs: {mot: all, frames: none}\n"
            run_scenario(parse_scenario(text, filename=str(scen)), out=run, quiet=True, metrics=False)
        else:
            shutil.copytree(a.run_dir, run)
        cams = sorted(p for p in (run / "sensors" / "cameras").iterdir() if (p / "gt" / "gt.txt").is_file())
        if a.tracks_only:
            tracks_rows(run, len(cams))
            return
        tracks = [c / TRACK_FILE for c in cams]
        saved = {t: t.read_bytes() for t in tracks if t.is_file()}
        for t in saved:
            t.unlink()
        w, c = timed(write_metrics, run)
        print(f"write_metrics, re-tracking det.txt ({len(cams)} cameras): {w:6.2f} s wall {c:6.2f} s CPU")
        if a.make_tracks:
            from analytics.mot import write_mot

            for cam in cams:
                fps = _seqinfo_fps(cam / "seqinfo.ini") or 5.0
                (cam / TRACK_FILE).parent.mkdir(exist_ok=True)
                write_mot(cam / TRACK_FILE, track_mot(str(cam / "det" / "det.txt"), fps=fps))
        else:
            for t, data in saved.items():
                t.write_bytes(data)
        if all(t.is_file() for t in tracks) and tracks:
            w, c = timed(write_metrics, run)
            print(f"write_metrics, reading track/track.txt:            {w:6.2f} s wall {c:6.2f} s CPU")
            tracks_rows(run, len(cams))
        if a.reference:
            tf = tr = 0.0
            for cam in cams:
                gt = load_mot(cam / "gt" / "gt.txt")
                hyp = load_mot(cam / TRACK_FILE) if (cam / TRACK_FILE).is_file() else track_mot(
                    str(cam / "det" / "det.txt"), fps=_seqinfo_fps(cam / "seqinfo.ini") or 5.0
                )
                c0 = time.process_time()
                fast = mot_metrics(gt, hyp)
                c1 = time.process_time()
                ref = mot_metrics_reference(gt, hyp)
                c2 = time.process_time()
                tf, tr = tf + c1 - c0, tr + c2 - c1
                diff = [k for k in MOT_METRICS if abs(fast[k] - ref[k]) > 1e-12 * max(1.0, abs(ref[k]))]
                print(f"  {cam.name:<18} {len(gt):>7} gt {len(hyp):>7} hyp  numpy {c1 - c0:5.2f} s  "
                      f"motmetrics {c2 - c1:5.2f} s  {'DIFFER: ' + ','.join(diff) if diff else 'equal'}")
            print(f"scoring CPU s, all cameras: numpy {tf:.2f}, motmetrics {tr:.2f}")


if __name__ == "__main__":
    main()
