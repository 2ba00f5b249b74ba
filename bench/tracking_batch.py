"""Benchmark of camera tracking per frame vs batched per instant, on recorded city frames (issue #12).

"per-frame tracking": one ``CameraTracker`` per camera, ``track`` on every frame in time order (what
``TrackStage.update`` does); "batched tracking": one ``MultiCameraTracker`` taking all cameras' frames of an
instant at once (what ``TrackStage.update_batch`` does). The "stage" rows are the whole ``TrackStage``
(ground projection and ``track/frame`` messages included), ``update`` per message vs ``update_batch`` per
instant. Every run checks that both give the same ids, boxes and classes. CPU seconds (``process_time``)
per run, runs alternated, so a shared, loaded machine hits both alike.

Run: ``.venv/bin/python bench/tracking_batch.py [--rec /tmp/rec.pkl] [--reps 3]``. The recording is a
pickle ``{"kw": pipeline kwargs, "msgs": [bus message dicts]}`` of a city run (``camera/calibration`` and
``camera/frame`` messages are used); without it, a synthetic stream of 221 cameras (people walking, 5 fps)
stands in.
"""

from __future__ import annotations

import argparse
import itertools
import os
import pickle
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analytics.kalman_rows import warm_kernels  # noqa: E402
from analytics.tracking import CameraTracker, MultiCameraTracker, TrackerParams, TrackStage  # noqa: E402


def synthetic_messages(cameras: int = 221, seconds: float = 10.0, fps: float = 5.0) -> list[dict[str, Any]]:
    """``camera/frame`` messages of ``cameras`` cameras each watching 5-40 people walk, in time order."""
    rng = np.random.default_rng(12)
    scenes = []
    for _ in range(cameras):
        n = int(rng.integers(5, 40))
        scenes.append((rng.uniform([0, 200], [1800, 900], (n, 2)), rng.normal(0, 6, (n, 2))))
    msgs = []
    for f in range(int(seconds * fps)):
        for c, (pos, vel) in enumerate(scenes):
            pos += vel
            keep = rng.random(len(pos)) > 0.1
            dets = [
                {"bbox": [float(x), float(y), 40.0, 100.0], "conf": float(cf), "cls": "person"}
                for (x, y), cf in zip(pos[keep] + rng.normal(0, 2, (keep.sum(), 2)),
                                      rng.uniform(0.3, 1.0, keep.sum()), strict=True)
            ]
            msgs.append({"t": f / fps, "topic": "camera/frame", "camera_id": f"cam-{c}", "frame": f + 1,
                         "detections": dets})
    return msgs


def load(path: str) -> tuple[TrackerParams, list[dict[str, Any]], str]:
    if not os.path.exists(path):
        return TrackerParams(), synthetic_messages(), "synthetic: 221 cameras, 10 s at 5 fps"
    with open(path, "rb") as fh:
        rec = pickle.load(fh)
    params = rec["kw"].get("params")
    msgs = [m for m in rec["msgs"] if m.get("topic") in ("camera/frame", "camera/calibration")]
    return (TrackerParams() if params is None else params.tracker), msgs, path


def per_frame(frames: list[tuple], params: TrackerParams) -> tuple[float, list]:
    trackers: dict[str, CameraTracker] = {}
    out = []
    t0 = time.process_time()
    for cam, b, conf, cls, t in frames:
        tr = trackers.get(cam)
        if tr is None:
            tr = trackers[cam] = CameraTracker(cam, fps=5.0, params=params)
        out.append(tr.track(b, conf, cls, t=t))
    return time.process_time() - t0, out


def batched(instants: list[list[tuple]], params: TrackerParams) -> tuple[float, list]:
    multi = MultiCameraTracker(params)
    out = []
    t0 = time.process_time()
    for frames in instants:
        for cam, *_ in frames:
            if cam not in multi.cameras:
                multi.add_camera(cam, 5.0)
        out += multi.track(frames)
    return time.process_time() - t0, out


def stage_runs(msgs: list[dict[str, Any]], params: TrackerParams) -> tuple[float, float, bool]:
    """CPU seconds of ``TrackStage.update`` per message and ``update_batch`` per instant; equal output?"""
    groups = [list(g) for _, g in itertools.groupby(msgs, key=lambda m: (m["topic"], m.get("t")))]
    one, many = TrackStage(params), TrackStage(params)
    t0 = time.process_time()
    a = [one.update(m) for m in msgs]
    t1 = time.process_time()
    b = [r for g in groups for r in many.update_batch(g)]
    t2 = time.process_time()
    same = all(
        x == [] and y == [] or (x[0]["ids"] == y[0]["ids"] and x[0]["cls"] == y[0]["cls"]
                                and np.array_equal(x[0]["bbox"], y[0]["bbox"]))
        for x, y in zip(a, b, strict=True)
    )
    return t1 - t0, t2 - t1, same


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rec", default="/tmp/rec.pkl")
    ap.add_argument("--reps", type=int, default=3)
    a = ap.parse_args()
    params, msgs, source = load(a.rec)
    conv = TrackStage(params)  # the frames as TrackStage hands them to the tracker
    frames = [(str(m["camera_id"]), *conv._frame_arrays(m)) for m in msgs if m["topic"] == "camera/frame"]
    instants = [list(g) for _, g in itertools.groupby(frames, key=lambda f: f[4])]
    dets = sum(len(f[1]) for f in frames)
    print(f"cpus: {os.cpu_count()}, load average: {os.getloadavg()[0]:.2f}")
    print(f"{source}: {len(frames):,} frames of {len({f[0] for f in frames})} cameras at {len(instants)} "
          f"instants, {dets:,} detections")
    warm_kernels()
    per_frame(frames[:500], params)  # warm-up: imports, first trackers
    names = ("per-frame tracking", "batched tracking", "per-frame stage (update)",
             "batched stage (update_batch)")
    rows: dict[str, list[float]] = {k: [] for k in names}
    for _ in range(a.reps):
        ta, out_a = per_frame(frames, params)
        tb, out_b = batched(instants, params)
        same = all(np.array_equal(x[0], y[0]) and np.array_equal(x[1], y[1]) and np.array_equal(x[2], y[2])
                   for x, y in zip(out_a, out_b, strict=True))
        sa, sb, same_stage = stage_runs(msgs, params)
        if not (same and same_stage):
            raise SystemExit("batched output differs from per-frame output")
        for k, v in zip(names, (ta, tb, sa, sb), strict=True):
            rows[k].append(v)
    print(f"{'what (CPU seconds per run)':<34}{'median':>9}{'min':>9}{'max':>9}{'ms/frame':>10}"
          f"{'frames/s':>10}")
    for k, v in rows.items():
        med = float(np.median(v))
        print(f"{k:<34}{med:>9.2f}{min(v):>9.2f}{max(v):>9.2f}{1e3 * med / len(frames):>10.3f}"
              f"{len(frames) / med:>10,.0f}")
    med = {k: float(np.median(v)) for k, v in rows.items()}
    print(f"speedup (median): tracking {med[names[0]] / med[names[1]]:.1f}x, "
          f"stage {med[names[2]] / med[names[3]]:.1f}x; outputs identical in every run")

if __name__ == "__main__":
    main()
