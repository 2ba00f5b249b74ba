#!/usr/bin/env python
"""Wall time per simulated second of a Helsinki run: crowd, 50 cameras at 5 fps, 10 microphones, network.

The run goes through the real engine (``scenarios.engine.run_scenario``): 10,000 pedestrians, 50 cameras
(the first 50 OSM cameras of the Helsinki twin by id, at their OSM positions, aimed by the placement
rules), 10 microphones, the city network with one attack (SSH brute force on the video server), every
look-alike at its defaults (``agents.lookalikes``: traffic, cyclists, furniture, ...), bus and recorder,
MOT/Zeek/syslog exports. Timed: the simulation alone (analytics and scoring off) with the cameras'
building shadows cast (a city's first run) and then loaded from their cache (every later run); a short run
whose time, taken from the full one's, gives the steady state; then the run with the analytics pipeline on
the bus. Each row: build time, run time, wall seconds per simulated second and the real-time factor
(target: >= 20x faster than real time on 2 cores). Last, a profiled run (analytics on) shows where the time
goes per component (cProfile, cumulative).

Usage: ``python bench/sensors.py [--sim-s 60] [--people 10000] [--cameras 50] [--fps 5] [--mics 10]``
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import os
import pstats
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import yaml  # noqa: E402

from scenarios.engine import run_scenario  # noqa: E402
from scenarios.schema import parse_scenario  # noqa: E402
from sensors.export.setup import exports_mode  # noqa: E402
from twin import load_twin  # noqa: E402

#: Components to attribute run time to: label -> (file suffix, function name) in the profile.
COMPONENTS = {
    "crowd step (agents.crowd)": ("agents/crowd.py", "step"),
    "individuals (Mesa agents)": ("mesa/agent.py", "shuffle_do"),
    "look-alikes: road traffic": ("agents/lookalikes/road_traffic.py", "step"),
    "look-alikes: cyclists, joggers": ("agents/lookalikes/walkers.py", "step"),
    "targets for sensors": ("agents/model.py", "targets"),
    "cameras (sensors.camera)": ("sensors/camera/camera.py", "measure"),
    "microphones (sensors.acoustic)": ("sensors/acoustic.py", "measure"),
    "network (sensors.cyber)": ("sensors/cyber/range.py", "measure"),
    "bus publish (all subscribers)": ("sensors/export/bus.py", "publish"),
    "recorder events.jsonl": ("sensors/export/recorder.py", "write"),
    "export pipe (pickle + wait for writer)": ("sensors/export/process.py", "_flush"),
    "  camera occlusion": ("sensors/camera/occlusion.py", "shadow"),
    "MOT export det.txt": ("sensors/export/mot.py", "on_message"),
    "MOT export gt.txt": ("sensors/export/mot.py", "truth"),
    "frame tables: frames, det": ("sensors/export/parquet.py", "frame"),
    "frame tables: gt": ("sensors/export/parquet.py", "truth"),
    "analytics pipeline": ("analytics/pipeline.py", "push"),
    "  tracking (ByteTrack)": ("analytics/tracking.py", "update"),
    "crowd_density.csv": ("agents/crowd.py", "counts_in"),
}


def scenario(*, people: int, cameras: int, fps: float, mics: int, sim_s: float) -> dict:
    tw = load_twin("helsinki")
    cams = sorted(tw.cameras, key=lambda c: c.id)[:cameras]
    items = []
    for c in cams:
        lonlat = [round(float(c.lonlat[0]), 7), round(float(c.lonlat[1]), 7)]
        item = {"id": c.id, "lonlat": lonlat, "fps": fps}
        if c.direction_deg is not None:
            item["yaw_deg"] = float(c.direction_deg)
        if c.height_m is not None:
            item["height_m"] = float(c.height_m)
        items.append(item)
    return {
        "name": "bench-sensors", "city": "helsinki", "seed": 1, "duration_s": sim_s, "dt_s": 0.5,
        "crowd": {"population": people},
        "sensors": {"cameras": {"list": items, "fps": fps}, "acoustic": mics},
        "attacks": [{"kind": "cyber_bruteforce", "target": "vms", "start_s": 0.0, "duration_s": sim_s}],
    }


def _profile_table(prof: cProfile.Profile, run_s: float) -> list[str]:
    st = pstats.Stats(prof)
    out = []
    for label, (suffix, fn) in COMPONENTS.items():
        cum = sum(v[3] for (f, _, name), v in st.stats.items() if f.endswith(suffix) and name == fn)
        if cum > 0:
            out.append(f"    {label:<34s} {cum:8.2f} s  {100 * cum / run_s:5.1f} %")
    return out


def bench(spec: dict, *, analytics: bool, profile: bool) -> dict:
    sc = parse_scenario(yaml.safe_dump(spec), filename="bench-sensors.yaml")
    with tempfile.TemporaryDirectory() as tmp:
        prof = cProfile.Profile() if profile else None
        t0 = time.perf_counter()
        if prof is not None:
            prof.enable()
        res = run_scenario(sc, out=Path(tmp) / "run", quiet=True, analytics=analytics, metrics=False)
        if prof is not None:
            prof.disable()
        wall = time.perf_counter() - t0
    s = res.stats
    return {"stats": s, "wall": wall, "prof": prof}


def _row(label: str, s: dict, sim_s: float) -> None:
    run_s = s["wall_run_s"] + s["finish_s"]
    print(f"{label:<40s} {s['build_s']:8.2f} {run_s:8.2f} {run_s / sim_s:11.3f} {sim_s / run_s:12.1f}"
          f" {s['bus_messages']:9d}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sim-s", type=float, default=60.0)
    ap.add_argument("--people", type=int, default=10_000)
    ap.add_argument("--cameras", type=int, default=50)
    ap.add_argument("--fps", type=float, default=5.0)
    ap.add_argument("--mics", type=int, default=10)
    ap.add_argument("--no-profile", action="store_true", help="skip the per-component profile (faster)")
    args = ap.parse_args(argv)
    load_twin("helsinki")  # the twin itself comes from its cache in every run below
    spec = scenario(people=args.people, cameras=args.cameras, fps=args.fps, mics=args.mics, sim_s=args.sim_s)
    short = scenario(people=args.people, cameras=args.cameras, fps=args.fps, mics=args.mics, sim_s=WARM_S)
    n_cams = len(spec["sensors"]["cameras"]["list"])
    print(f"bench/sensors.py: Helsinki, {args.people} pedestrians, {n_cams} cameras at {args.fps:g} fps, "
          f"{args.mics} microphones, network with 1 attack, {args.sim_s:g} simulated s (dt 0.5 s)")
    print(f"exports (events.jsonl, frame tables) written: {exports_mode(n_cams * args.fps * args.sim_s)}"
          f" (TWIN_EXPORTS=process|inline forces it); cpus: {os.cpu_count()}")
    print(f"{'configuration':<40s} {'build s':>8s} {'run s':>8s} {'wall/sim s':>11s} {'x real time':>12s}"
          f" {'bus msgs':>9s}")
    with _twin_cache_without_shadows():
        cold = bench(spec, analytics=False, profile=False)["stats"]
        _row("simulation, camera shadows cast", cold, args.sim_s)
        warm = bench(spec, analytics=False, profile=False)["stats"]
        _row("simulation, camera shadows from cache", warm, args.sim_s)
        first = bench(short, analytics=False, profile=False)["stats"]
        _row(f"  the first {WARM_S:g} simulated s alone", first, WARM_S)
        steady = ((warm["wall_run_s"] + warm["finish_s"]) - (first["wall_run_s"] + first["finish_s"])) / (
            args.sim_s - WARM_S)
        print(f"{'  after them (steady state)':<40s} {'':8s} {'':8s} {steady:11.3f} {1 / steady:12.1f}")
        with_analytics = bench(spec, analytics=True, profile=False)["stats"]
        _row("simulation + analytics pipeline", with_analytics, args.sim_s)
    print("target: >= 20x faster than real time (wall/sim s <= 0.05). run s = stepping + closing the files;"
          " build s (twin from its cache, agents, sensors) apart")
    if not args.no_profile:
        r = bench(spec, analytics=True, profile=True)
        run_s = r["stats"]["wall_run_s"] + r["stats"]["finish_s"]
        print(f"where the run time goes (with analytics, profiled run: {run_s:.2f} s; cProfile cumulative, "
              "nested calls overlap; the exports run in their own process when it is used):")
        print("\n".join(_profile_table(r["prof"], run_s)))
    return 0


#: Simulated seconds of the short run whose time, taken from the full run's, leaves the steady state.
WARM_S = 10.0


@contextlib.contextmanager
def _twin_cache_without_shadows():
    """A private ``TWIN_CACHE`` holding the built twins but no camera shadows
    (``sensors.camera.shadow_cache``)."""
    from twin.cache import cache_dir

    src, old = cache_dir(), os.environ.get("TWIN_CACHE")
    with tempfile.TemporaryDirectory() as tmp:
        for f in src.glob("*.pkl"):
            shutil.copy2(f, tmp)
        os.environ["TWIN_CACHE"] = tmp
        try:
            yield
        finally:
            if old is None:
                os.environ.pop("TWIN_CACHE", None)
            else:
                os.environ["TWIN_CACHE"] = old


if __name__ == "__main__":
    sys.exit(main())
