"""Benchmark of the analytics hot paths: ByteTrack throughput (detections/s) and conn.log parse + port-scan
throughput (lines/s), on this machine. The tracker rows use ``CameraTracker`` (ByteTrack with pooled Kalman
filters); the "library filters" row is the same tracker with the library's per-tracklet filters.
Targets: >= 50,000 detections/s and >= 500,000 conn.log lines/s.

Run: ``.venv/bin/python bench/analytics.py [--lines 1000000] [--frames 300] [--reps 3]``. Prints a table of
wall-clock rates and, beside them, rates per CPU-second of the working processes: on a shared, loaded
machine the wall rate shows the contention, the CPU rate what the code does with a core.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analytics.base import ReadStats  # noqa: E402
from analytics.cyber import PortScanDetector  # noqa: E402
from analytics.tracking import CameraTracker  # noqa: E402
from analytics.zeek import iter_conn_chunks  # noqa: E402
from twin.datapath import data_dir  # noqa: E402


def track_camera(args: tuple[int, int, int] | tuple[int, int, int, bool]) -> tuple[int, float]:
    """Track one synthetic camera: ``n`` people walking with box jitter and 5 % missed detections.

    Returns (detections, CPU seconds). A 4th item ``False`` uses the library's own per-tracklet Kalman
    filters instead of the pooled ones (the baseline the pool is measured against).
    """
    seed, n, frames = args[:3]
    pooled = args[3] if len(args) > 3 else True
    rng = np.random.default_rng(seed)
    pos = rng.uniform([0, 100], [1800, 900], (n, 2))
    vel = rng.normal(0, 4, (n, 2))
    tracker = CameraTracker(f"c{seed}", fps=5)
    if not pooled:
        from trackers import ByteTrackTracker

        lib = tracker._tracker
        tracker._tracker = ByteTrackTracker(
            lost_track_buffer=round(lib.maximum_time_without_update * 30),
            frame_rate=5.0,
            track_activation_threshold=lib.track_activation_threshold,
            minimum_consecutive_frames=lib.minimum_consecutive_frames,
            minimum_iou_threshold=lib.minimum_iou_threshold,
            high_conf_det_threshold=lib.high_conf_det_threshold,
        )
    dets = 0
    t0 = time.process_time()
    for f in range(frames):
        pos += vel
        vel[(pos[:, 0] < 0) | (pos[:, 0] > 1800), 0] *= -1
        vel[(pos[:, 1] < 100) | (pos[:, 1] > 900), 1] *= -1
        keep = rng.random(n) > 0.05
        b = np.column_stack([pos, np.full(n, 40.0), np.full(n, 100.0)])[keep] + rng.normal(
            0, 1.5, (keep.sum(), 4)
        )
        tracker.update(b, rng.uniform(0.4, 1.0, len(b)), np.zeros(len(b), int), t=f / 5)
        dets += len(b)
    return dets, time.process_time() - t0


def bench_tracker(
    people: int, frames: int, cameras: int, workers: int, pooled: bool = True
) -> tuple[float, float]:
    """(detections per wall second, detections per CPU second)."""
    jobs = [(s, people, frames, pooled) for s in range(cameras)]
    t0 = time.perf_counter()
    if workers == 1:
        res = [track_camera(j) for j in jobs]
    else:
        with ProcessPoolExecutor(workers) as ex:
            res = list(ex.map(track_camera, jobs))
    wall = time.perf_counter() - t0
    dets = sum(d for d, _ in res)
    return dets / wall, dets / sum(c for _, c in res)


def make_conn_log(lines: int, folder: str) -> Path:
    """The real exploit-kit conn.log's rows repeated, each copy shifted 600 s later, to ``lines`` rows
    (600 s apart, each copy's scan is an episode of its own)."""
    src = (data_dir() / "datasets" / "zeek" / "zat-exploitkit-2013" / "conn.log").read_text().splitlines()
    header = [s for s in src if s.startswith("#") and not s.startswith("#close")]
    rows = [s.split("\t", 1) for s in src if not s.startswith("#")]
    out = Path(folder) / "conn.log"
    with open(out, "w") as fh:
        fh.write("\n".join(header) + "\n")
        k = 0
        while k * len(rows) < lines:
            shift = 600.0 * k
            fh.write(
                "".join(f"{float(ts) + shift:.6f}\t{rest}\n" for ts, rest in rows[: lines - k * len(rows)])
            )
            k += 1
    return out


def bench_conn(path: Path) -> tuple[float, float, int, int]:
    """(lines per wall second, lines per CPU second, lines, port-scan alerts) of one parse + scan pass."""
    st = ReadStats(str(path))
    det = PortScanDetector()
    c0 = time.process_time()
    t0 = time.perf_counter()
    alerts = 0
    for df in iter_conn_chunks(path, st):
        alerts += len(det.update_batch(df))
    wall = time.perf_counter() - t0
    return st.records / wall, st.records / (time.process_time() - c0), st.records, alerts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--frames", type=int, default=300)
    ap.add_argument("--reps", type=int, default=3)
    a = ap.parse_args()
    print(f"cpus: {os.cpu_count()}, load average: {os.getloadavg()[0]:.2f}")
    track_camera((99, 5, 3))  # warm-up: imports and first tracker
    print(f"{'what':<52}{'wall median':>14}{'wall min':>12}{'wall max':>12}{'per CPU-s':>14}")

    def row(label: str, res: list[tuple[float, ...]]) -> None:
        w = [x[0] for x in res]
        print(
            f"{label:<52}{np.median(w):>14,.0f}{min(w):>12,.0f}{max(w):>12,.0f}"
            f"{np.median([x[1] for x in res]):>14,.0f}"
        )

    row(
        "ByteTrack det/s, library filters, 20/frame, 1 proc",
        [bench_tracker(20, a.frames, 2, 1, pooled=False) for _ in range(a.reps)],
    )
    for people, cams, workers in ((20, 2, 1), (50, 2, 1), (20, 4, 2), (50, 4, 2)):
        row(
            f"ByteTrack det/s, {people}/frame, {cams} cams, {workers} proc",
            [bench_tracker(people, a.frames, cams, workers) for _ in range(a.reps)],
        )
    with tempfile.TemporaryDirectory() as tmp:
        path = make_conn_log(a.lines, tmp)
        res = [bench_conn(path) for _ in range(a.reps)]
        row(f"conn.log lines/s parse+scan ({res[0][2]:,} lines)", res)
        print(
            f"port_scan alerts per pass: {res[0][3]} (the capture's scan, once per copy: "
            f"{-(-res[0][2] // 360):,} copies)"
        )


if __name__ == "__main__":
    main()
