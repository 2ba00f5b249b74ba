#!/usr/bin/env python
"""The whole pipeline at city scale: wall time per simulated second, its shares, peak memory, output volume.

The scenario is ``scenarios/library/helsinki/city-pipeline.yaml``: the whole embedded Helsinki twin, 10,000
people with two gatherings, every OSM camera at 5 fps, 6 microphones, area counters on both squares, the
cyber range with its background traffic, an active assailant and a flood against the video server, the
analytics on, 600 simulated seconds. Target (issue #12): >= 10x real time end to end, peak RSS <= 2 GB, <= 300
MB of run folder per simulated hour.

Each configuration runs in a fresh process (so its peak RSS is its own) through the real engine. The run's
time is split by wrapping, never profiling:

- crowd: the model's tick (``CityModel.advance``: crowd, individuals, look-alikes);
- analytics: the pipeline on the bus (``AlertStream``: tracking, detectors, alerts);
- exports: the rest of what the bus does for a message (recorder, MOT text, the pipe to the export process);
- sensors: the rest of the run loop (cameras, microphones, counters, network, targets, truth, density);
- set-up (twin, placement) and finish (closing files, scoring) are reported apart.

The scaling table then runs ``--scale-sim-s`` simulated seconds for 1k, 10k and 50k people with every camera,
and 10, 50 and 221 cameras with 10k people. With ``--docs`` (the default for a full run) the results replace
the section between the markers in ``docs/performance.md``.

With ``--workers N`` the analytics run in N worker processes (``analytics.workers``); the CPU seconds of each
worker are reported beside the simulation process's.

Usage: ``python bench/pipeline.py [--sim-s 600] [--scale-sim-s 60] [--no-scaling] [--no-docs] [--workers N]``
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SCENARIO = ROOT / "scenarios" / "library" / "helsinki" / "city-pipeline.yaml"
DOCS = ROOT / "docs" / "performance.md"
BEGIN, END = "<!-- bench/pipeline.py: begin -->", "<!-- bench/pipeline.py: end -->"
SHARES = ("crowd", "sensors", "analytics", "exports")


class _Clock:
    """Wall seconds spent in wrapped calls, per share; nested calls count once (the outermost)."""

    def __init__(self) -> None:
        self.s = dict.fromkeys((*SHARES, "batches", "publish", "finish", "scoring"), 0.0)
        self.cpu = dict.fromkeys(self.s, 0.0)
        self.depth = dict.fromkeys(self.s, 0)
        self.workers_cpu: list[float | None] = []
        self.workers_rss: list[float | None] = []

    def wrap(self, owner: type, name: str, share: str) -> None:
        fn = getattr(owner, name)
        clock = self

        def timed(*args, **kwargs):
            clock.depth[share] += 1
            t0, c0 = time.perf_counter(), time.process_time()
            try:
                return fn(*args, **kwargs)
            finally:
                clock.depth[share] -= 1
                if clock.depth[share] == 0:
                    clock.s[share] += time.perf_counter() - t0
                    clock.cpu[share] += time.process_time() - c0

        setattr(owner, name, timed)


def _instrument() -> _Clock:
    from agents.model import CityModel
    from scenarios import engine
    from scenarios.alerting import AlertStream
    from sensors.export.bus import Bus

    clock = _Clock()
    clock.wrap(CityModel, "advance", "crowd")
    clock.wrap(AlertStream, "_on_message", "analytics")   # inside a publish
    for name in ("_drain", "flush"):                       # at an instant's end: outside any publish
        clock.wrap(AlertStream, name, "batches")
    clock.wrap(Bus, "publish", "publish")
    clock.wrap(engine._Run, "finish", "finish")
    clock.wrap(engine, "write_metrics", "scoring")
    from analytics.workers import WorkerPipeline

    close = WorkerPipeline.close

    def closed(self):  # the workers' CPU seconds, known once they stop
        close(self)
        clock.workers_cpu = list(self.worker_cpu_s)
        clock.workers_rss = list(self.worker_rss_mb)

    WorkerPipeline.close = closed
    return clock


def _folder_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e6


def child(config: dict) -> dict:
    """One run of ``config`` in this process: its figures."""
    import yaml

    from scenarios.engine import run_scenario

    clock = _instrument()
    d = yaml.safe_load(SCENARIO.read_text())
    d["crowd"]["population"] = int(config["people"])
    if config.get("cameras"):
        d["sensors"]["cameras"]["osm_max"] = int(config["cameras"])
    if config.get("workers"):
        d.setdefault("analytics", {})["workers"] = int(config["workers"])
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "scenario.yaml"
        path.write_text(yaml.safe_dump(d))
        t0, c0 = time.perf_counter(), time.process_time()
        res = run_scenario(path, duration_s=float(config["sim_s"]), out=Path(tmp) / "run", quiet=True)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        size = _folder_mb(res.out_dir)
        report = json.loads((res.out_dir / "analytics.json").read_text())
    run_s = float(res.stats.get("wall_run_s", wall))
    s = clock.s
    exports = max(0.0, s["publish"] - s["analytics"])
    sensors = max(0.0, run_s - s["crowd"] - s["publish"] - s["batches"])
    s["analytics"] += s["batches"]
    c = clock.cpu
    cpu_shares = {"crowd": c["crowd"], "analytics": c["analytics"] + c["batches"],
                  "exports": max(0.0, c["publish"] - c["analytics"])}
    secs = {"wall_s": wall, "run_s": run_s, "crowd_s": s["crowd"], "sensors_s": sensors,
            "analytics_s": s["analytics"], "exports_s": exports, "finish_s": s["finish"],
            "scoring_s": s["scoring"], "setup_s": wall - run_s - s["finish"] - s["scoring"]}
    return {
        **config, **{k: round(v, 2) for k, v in secs.items()}, "cameras_run": res.stats.get("cameras"),
        "cpu_s": round(cpu, 2), "cpu_shares_s": {k: round(v, 2) for k, v in cpu_shares.items()},
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "folder_mb": round(size, 1), "mb_per_sim_hour": round(size * 3600 / float(config["sim_s"]), 1),
        "detections": report.get("detections"), "alerts": res.stats.get("alerts"),
        "workers_cpu_s": [round(c, 2) for c in clock.workers_cpu if c is not None],
        "workers_rss_mb": [round(m) for m in clock.workers_rss if m is not None],
    }


def run_config(config: dict) -> dict:
    """``child(config)`` in a fresh interpreter."""
    out = subprocess.run([sys.executable, __file__, "--child", json.dumps(config)], capture_output=True,
                         text=True, check=False, cwd=ROOT)
    if out.returncode != 0:
        raise SystemExit(f"bench/pipeline.py: run {config} failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def headline(r: dict) -> str:
    rt = r["sim_s"] / r["wall_s"]
    return "\n".join([
        f"- {r['people']:,} people, {r['cameras_run']} cameras, {r['sim_s']:g} simulated s: "
        f"**{r['wall_s']:.1f} s wall** end to end ({rt:.2f}x real time; target >= 10x, <= 60 s); "
        f"loop {r['run_s']:.1f} s, set-up "
        f"{r['setup_s']:.1f} s, closing files {r['finish_s']:.1f} s, scoring {r['scoring_s']:.1f} s.",
        f"- Loop shares: crowd {r['crowd_s']:.1f} s, sensors {r['sensors_s']:.1f} s, analytics "
        f"{r['analytics_s']:.1f} s, exports {r['exports_s']:.1f} s. CPU time of the simulation process "
        f"{r['cpu_s']:.1f} s (crowd {r['cpu_shares_s']['crowd']:.1f}, analytics "
        f"{r['cpu_shares_s']['analytics']:.1f}, exports {r['cpu_shares_s']['exports']:.1f}): wall times "
        f"above CPU times are the machine's other load.",
        f"- Peak RSS {r['peak_rss_mb']:,.0f} MB (target <= 2,048); run folder {r['folder_mb']:,.1f} MB, "
        f"{r['mb_per_sim_hour']:,.0f} MB per simulated hour (target <= 300); {r['alerts']} alerts.",
        *([f"- Analytics in {r['workers']} worker process(es): their CPU seconds "
           f"{', '.join(f'{c:.1f}' for c in r['workers_cpu_s'])}, peak RSS "
           f"{', '.join(f'{m:,} MB' for m in r['workers_rss_mb'])}."] if r.get("workers") else []),
    ])


def table(rows: list[dict]) -> str:
    head = ["people", "cameras", "detections / sim s", "sim s", "wall s / sim s", "CPU s / sim s", *SHARES,
            "peak RSS MB", "MB / sim h"]
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        per, cpu = r["run_s"] / r["sim_s"], r["cpu_s"] / r["sim_s"]
        dets = (r["detections"] or 0) / r["sim_s"]
        share = {k: 100 * r[f"{k}_s"] / r["run_s"] if r["run_s"] else 0.0 for k in SHARES}
        out.append(f"| {r['people']:,} | {r['cameras_run']} | {dets:,.0f} | {r['sim_s']:g} | {per:.3f} | "
                   f"{cpu:.3f} | "
                   + " | ".join(f"{share[k]:.0f} %" for k in SHARES)
                   + f" | {r['peak_rss_mb']:,.0f} | {r['mb_per_sim_hour']:,.0f} |")
    return "\n".join(out)


def write_docs(text: str) -> None:
    """Replace the bench's section of ``docs/performance.md`` (appended the first time)."""
    doc = DOCS.read_text(encoding="utf-8")
    block = f"{BEGIN}\n{text}\n{END}"
    if BEGIN in doc and END in doc:
        head, rest = doc.split(BEGIN, 1)
        doc = head + block + rest.split(END, 1)[1]
    else:
        doc = doc.rstrip("\n") + "\n\n## The whole pipeline at city scale\n\n" + block + "\n"
    DOCS.write_text(doc, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sim-s", type=float, default=600.0, help="simulated seconds of the headline run")
    ap.add_argument("--scale-sim-s", type=float, default=60.0, help="simulated seconds of each scaling run")
    ap.add_argument("--no-scaling", action="store_true", help="only the headline run")
    ap.add_argument("--no-docs", action="store_true", help="do not rewrite docs/performance.md")
    ap.add_argument("--workers", type=int, default=0, help="run the analytics in N worker processes")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.child:
        print(json.dumps(child(json.loads(a.child))))
        return 0
    t0 = time.perf_counter()
    main_run = run_config({"people": 10000, "cameras": None, "sim_s": a.sim_s, "workers": a.workers})
    parts = [f"Measured by `bench/pipeline.py` on {os.cpu_count()} CPUs, {time.strftime('%Y-%m-%d')}.", "",
             headline(main_run)]
    print(parts[-1], flush=True)
    if not a.no_scaling:
        configs = [{"people": p, "cameras": None, "sim_s": a.scale_sim_s} for p in (1000, 10000, 50000)]
        configs += [{"people": 10000, "cameras": c, "sim_s": a.scale_sim_s} for c in (10, 50)]
        rows = [run_config(c) for c in configs]
        rows.sort(key=lambda r: (r["people"], r["cameras_run"] or 0))
        parts += ["", "Scaling (each row one run of the scenario above, shares of the loop's wall time):", "",
                  table(rows)]
        print("\n" + "\n".join(parts[-3:]), flush=True)
    if not a.no_docs:
        write_docs("\n".join(parts))
        print(f"\nwrote {DOCS.relative_to(ROOT)}")
    print(f"bench wall {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
