"""Benchmark of the analytics hot paths: ByteTrack throughput (detections/s) and conn.log parse + port-scan
throughput (lines/s), on this machine. Targets: >= 50,000 detections/s and >= 500,000 conn.log lines/s.

Run: ``.venv/bin/python bench/analytics.py [--lines 1000000] [--frames 300] [--reps 3]``. Prints a table.
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


def track_camera(args: tuple[int, int, int]) -> tuple[int, float]:
    """Track one synthetic camera: ``n`` people walking with box jitter and 5 % missed detections."""
    seed, n, frames = args
    rng = np.random.default_rng(seed)
    pos = rng.uniform([0, 100], [1800, 900], (n, 2))
    vel = rng.normal(0, 4, (n, 2))
    tracker = CameraTracker(f"c{seed}", fps=5)
    dets = 0
    t0 = time.perf_counter()
    for f in range(frames):
        pos += vel
        vel[(pos[:, 0] < 0) | (pos[:, 0] > 1800), 0] *= -1
        vel[(pos[:, 1] < 100) | (pos[:, 1] > 900), 1] *= -1
        keep = rng.random(n) > 0.05
        b = np.column_stack([pos, np.full(n, 40.0), np.full(n, 100.0)])[keep] + rng.normal(0, 1.5, (keep.sum(), 4))
        tracker.update(b, rng.uniform(0.4, 1.0, len(b)), np.zeros(len(b), int), t=f / 5)
        dets += len(b)
    return dets, time.perf_counter() - t0


def bench_tracker(people: int, frames: int, cameras: int, workers: int) -> float:
    jobs = [(s, people, frames) for s in range(cameras)]
    t0 = time.perf_counter()
    if workers == 1:
        res = [track_camera(j) for j in jobs]
    else:
        with ProcessPoolExecutor(workers) as ex:
            res = list(ex.map(track_camera, jobs))
    wall = time.perf_counter() - t0
    return sum(d for d, _ in res) / wall


def make_conn_log(lines: int, folder: str) -> Path:
    """The real exploit-kit conn.log's rows repeated, each copy shifted 300 s later, to ``lines`` rows."""
    src = (data_dir() / "datasets" / "zeek" / "zat-exploitkit-2013" / "conn.log").read_text().splitlines()
    header = [s for s in src if s.startswith("#") and not s.startswith("#close")]
    rows = [s.split("\t", 1) for s in src if not s.startswith("#")]
    out = Path(folder) / "conn.log"
    with open(out, "w") as fh:
        fh.write("\n".join(header) + "\n")
        k = 0
        while k * len(rows) < lines:
            shift = 300.0 * k
            fh.write("".join(f"{float(ts) + shift:.6f}\t{rest}\n" for ts, rest in rows[: lines - k * len(rows)]))
            k += 1
    return out


def bench_conn(path: Path) -> tuple[float, int, int]:
    st = ReadStats(str(path))
    det = PortScanDetector()
    t0 = time.perf_counter()
    alerts = 0
    for df in iter_conn_chunks(path, st):
        alerts += len(det.update_batch(df))
    wall = time.perf_counter() - t0
    return st.records / wall, st.records, alerts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--frames", type=int, default=300)
    ap.add_argument("--reps", type=int, default=3)
    a = ap.parse_args()
    print(f"cpus: {os.cpu_count()}")
    print(f"{'what':<46}{'median':>14}{'min':>14}{'max':>14}")
    for people, cams, workers in ((20, 2, 1), (50, 2, 1), (20, 4, 2), (50, 4, 2)):
        r = [bench_tracker(people, a.frames, cams, workers) for _ in range(a.reps)]
        label = f"ByteTrack det/s, {people}/frame, {cams} cams, {workers} proc"
        print(f"{label:<46}{np.median(r):>14,.0f}{min(r):>14,.0f}{max(r):>14,.0f}")
    with tempfile.TemporaryDirectory() as tmp:
        path = make_conn_log(a.lines, tmp)
        res = [bench_conn(path) for _ in range(a.reps)]
        r = [x[0] for x in res]
        label = f"conn.log lines/s parse+scan ({res[0][1]:,} lines)"
        print(f"{label:<46}{np.median(r):>14,.0f}{min(r):>14,.0f}{max(r):>14,.0f}")
        print(f"port_scan alerts per pass: {res[0][2]} (one per copy of the capture: {res[0][1] // 360:,} copies)")


if __name__ == "__main__":
    main()
