"""``run_sim.py analyze``: run the analytics on real-format files and print alerts as JSON lines."""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from analytics.base import AnalyticsInputError, ReadStats

if TYPE_CHECKING:
    from analytics.pipeline import AnalyticsPipeline

# The readers and the pipeline (numpy, pandas, the detectors) are imported in the command, not here:
# run_sim.py builds its whole parser from register() and should start in a fraction of a second.

__all__ = ["register", "analyze"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``analyze`` subcommand."""
    p = subparsers.add_parser("analyze", help="run detection analytics on real-format files, print alerts")
    p.add_argument("run_dir", nargs="?", metavar="RUN_DIR",
                   help="replay a run folder: its events.jsonl(.gz), with the camera frames from its "
                        "sensors/frames/ tables when events.jsonl was written without them")
    p.add_argument("--mot", metavar="DET_TXT", help="MOTChallenge detections (det.txt) of one camera")
    p.add_argument("--calib", metavar="JSON", help="camera/calibration record, or a list of them")
    p.add_argument(
        "--camera-id", default=None, help="camera id of --mot (default: the calibration's, else 'cam')"
    )
    p.add_argument(
        "--fps", type=float, default=None, help="frame rate of --mot (default: calibration's, else 5)"
    )
    p.add_argument(
        "--tracks-out", metavar="FILE", help="write the tracker output of --mot in MOTChallenge format"
    )
    p.add_argument("--gt", metavar="GT_TXT", help="score the --mot tracks against this gt.txt (stderr)")
    p.add_argument("--zeek", metavar="CONN_LOG", help="Zeek conn.log (TSV or JSON lines)")
    p.add_argument("--syslog", metavar="LOG", help="syslog file (BSD auth.log style or RFC 5424)")
    p.add_argument("--year", type=int, default=None, help="year of BSD syslog lines (default: this year)")
    p.add_argument("--events", metavar="JSONL", help="replay a recorded run's events.jsonl")
    p.add_argument("--zones", metavar="JSON", help="{name: polygon} density / pedestrian zones in metres")
    p.add_argument("--restricted", metavar="JSON", help="list of restricted polygons in metres")
    p.add_argument("--roads", metavar="JSON",
                   help="list of carriageway polygons in metres (a vehicle on a street is traffic)")
    p.add_argument("--crs", default=None, help="CRS of the metres (e.g. EPSG:32635) to give alerts lon/lat")
    p.add_argument("--out", metavar="FILE", help="also write the alerts here (JSON lines, atomically)")
    p.add_argument("--workers", type=int, default=0, metavar="N",
                   help="replay RUN_DIR or --events in N worker processes (the same alerts; default 0: none)")
    p.set_defaults(func=analyze)


def _load_json(path: str) -> Any:
    from analytics.files import open_text

    with open_text(path) as fh:
        text = fh.read()
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise AnalyticsInputError(f"{path}: line {exc.lineno}: not valid JSON ({exc.msg})") from None


def _polygons(path: str) -> list[list[list[float]]]:
    """A JSON list of polygons, each a list of at least 3 finite [x, y] points, or a one-line error."""
    data = _load_json(path)
    if not isinstance(data, list):
        raise AnalyticsInputError(f"{path}: line 1: expected a list of polygons, got {type(data).__name__}")
    for i, poly in enumerate(data):
        if not (isinstance(poly, list) and len(poly) >= 3 and all(_numbers(pt, 2) for pt in poly)):
            raise AnalyticsInputError(f"{path}: line 1: polygon {i}: not a list of >= 3 finite [x, y] points")
    return data


def _calibrations(path: str) -> list[dict[str, Any]]:
    data = _load_json(path)
    recs = data if isinstance(data, list) else [data]
    for i, r in enumerate(recs):
        h = r.get("image_to_ground") if isinstance(r, dict) else None
        if not (
            isinstance(h, list) and len(h) == 3 and all(isinstance(row, list) and len(row) == 3 for row in h)
        ):
            raise AnalyticsInputError(f"{path}: line 1: record {i} has no 3x3 'image_to_ground'")
        _check_lens(path, i, r)
    return recs


def _numbers(v: Any, n: int | None = None) -> bool:
    ok = isinstance(v, list) and all(
        isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x) for x in v)
    return ok and (n is None or len(v) == n)


def _check_lens(path: str, i: int, r: dict[str, Any]) -> None:
    """Optional lens fields: ``dist_coeffs`` ([k1, k2], OpenCV radial terms; more terms must be 0) needs a 3x3
    ``camera_matrix``; a record without them is read as a distortion-free lens."""
    d = r.get("dist_coeffs")
    if d is None:
        return
    if not (_numbers(d) and 1 <= len(d) <= 5 and all(x == 0 for x in d[2:])):
        raise AnalyticsInputError(f"{path}: line 1: record {i}: 'dist_coeffs' must be [k1, k2] (finite)")
    k = r.get("camera_matrix")
    if not (isinstance(k, list) and len(k) == 3 and all(_numbers(row, 3) for row in k)):
        raise AnalyticsInputError(f"{path}: line 1: record {i}: 'dist_coeffs' needs a 3x3 'camera_matrix'")


def _pipeline(args: argparse.Namespace) -> Any:
    """The pipeline ``args`` ask for: in process, or over ``--workers`` processes (replays only)."""
    zones = _load_json(args.zones) if args.zones else None
    restricted = _polygons(args.restricted) if args.restricted else None
    roads = _polygons(args.roads) if args.roads else None
    area = {"zones": zones, "restricted": restricted, "roads": roads, "crs": args.crs}
    if not args.workers:
        from analytics.pipeline import AnalyticsPipeline

        return AnalyticsPipeline(**area)
    if args.workers < 0 or args.mot or args.zeek or args.syslog:
        raise AnalyticsInputError("analyze: --workers takes a whole number >= 0, for RUN_DIR and --events "
                                  "replays only (not with --mot, --zeek or --syslog)")
    from analytics.workers import WorkerPipeline

    return WorkerPipeline(workers=args.workers, **area)


def analyze(args: argparse.Namespace) -> int:
    """Run every given input through one pipeline; print alerts; exit 0 (input errors raise, exit 2)."""
    if not any([args.mot, args.zeek, args.syslog, args.events, args.run_dir]):
        raise AnalyticsInputError("analyze: give at least one of RUN_DIR, --mot, --zeek, --syslog, --events")
    from analytics.events import iter_jsonl
    from analytics.files import atomic_write_lines
    from analytics.syslog import iter_syslog
    from analytics.zeek import iter_conn_chunks

    pipe = _pipeline(args)
    alerts: list[dict[str, Any]] = []
    stats: list[ReadStats] = []

    def emit(batch: list[dict[str, Any]]) -> None:
        for a in batch:
            line = json.dumps(a, sort_keys=True, separators=(",", ":"))
            print(line)
            alerts.append(line)

    if args.mot:
        emit(_run_mot(args, pipe, stats))
    if args.zeek:
        st = ReadStats(args.zeek)
        stats.append(st)
        for df in iter_conn_chunks(args.zeek, st):
            emit(pipe.push_conn_chunk(df))
    if args.syslog:
        st = ReadStats(args.syslog)
        stats.append(st)
        for msg in iter_syslog(args.syslog, st, year=args.year):
            emit(pipe.push(msg))
    if args.events:
        st = ReadStats(args.events)
        stats.append(st)
        pipe.batch_frames = True  # a recorded run's frames by instant, as the run analysed them
        for msg in iter_jsonl(args.events, st):
            emit(pipe.push(msg))
        emit(pipe.drain())
        pipe.batch_frames = False
    if args.run_dir:
        from analytics.frames import iter_run

        st = ReadStats(args.run_dir)
        stats.append(st)
        pipe.batch_frames = True
        for msg in iter_run(args.run_dir, st):
            emit(pipe.push(msg))
        emit(pipe.drain())
        pipe.batch_frames = False
    emit(pipe.flush())
    if args.workers:
        pipe.close()
    for st in stats:
        print(st.summary(), file=sys.stderr)
    report = pipe.error_report()
    if report["errors"]:
        failed = ", ".join(f"{k} {v}" for k, v in report["errors_by_detector"].items() if v)
        print(f"analytics: {report['errors']} messages a detector failed on ({failed})", file=sys.stderr)
    if args.out:
        atomic_write_lines(Path(args.out), alerts)
    return 0


def _run_mot(
    args: argparse.Namespace, pipe: AnalyticsPipeline, stats: list[ReadStats]
) -> list[dict[str, Any]]:
    from analytics.mot import iter_mot_frames, load_mot, write_mot

    cals = _calibrations(args.calib) if args.calib else []
    cam = args.camera_id or (str(cals[0]["camera_id"]) if cals and "camera_id" in cals[0] else "cam")
    cal = next((c for c in cals if str(c.get("camera_id", cam)) == cam), None)
    if cals and cal is None:
        raise AnalyticsInputError(f"{args.calib}: line 1: no calibration record for camera {cam!r}")
    fps = args.fps or float((cal or {}).get("fps") or 5.0)
    out: list[dict[str, Any]] = []
    out += pipe.push({"t": 0.0, "topic": "camera/calibration", **(cal or {}), "camera_id": cam, "fps": fps})
    st = ReadStats(args.mot)
    stats.append(st)
    rows_out: list[list[float]] = []
    for frame, rows in iter_mot_frames(args.mot, st):
        dets = [
            {"bbox": r[2:6].tolist(), "cls": "person", "conf": float(r[6]) if r[6] >= 0 else 1.0}
            for r in rows
        ]
        out += pipe.push(
            {
                "t": (frame - 1) / fps,
                "topic": "camera/frame",
                "camera_id": cam,
                "frame": frame,
                "detections": dets,
            }
        )
        for tr in pipe.last_tracks:
            for tid, box in zip(tr["ids"], tr["bbox"], strict=True):
                rows_out.append([frame, int(tid.rsplit(":", 1)[1]) + 1, *box, 1, -1, -1, -1])
    if args.tracks_out:
        write_mot(args.tracks_out, rows_out)
    if args.gt:
        from analytics.motscore import mot_metrics

        m = mot_metrics(load_mot(args.gt), rows_out)
        print(
            f"{args.mot}: MOTA {m['mota']:.3f} IDF1 {m['idf1']:.3f} ID switches {int(m['num_switches'])} "
            f"vs {args.gt}",
            file=sys.stderr,
        )
    return out
