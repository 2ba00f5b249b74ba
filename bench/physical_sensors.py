"""Wall time per simulated second of the physical sensors on Helsinki: N pedestrians, C cameras at F fps,
M microphones and K area counters (no crowd model: people random-walk on sampled walk-graph points).

Prints one row per size: placement (init), the first simulated second (warm: every camera builds its
building shadows on first use) and the steady run apart, the steady real-time factor, then the steady
CPU time per simulated second (``time.process_time``: honest on a shared machine) split by sensor kind and
by camera-batch phase (``sensors.camera.group.observe_batch``: "crowd" is the occlusion among people,
"clutter" the false detections; "measure" is the per-camera message and status overhead outside it).
Usage: ``python -m bench.physical_sensors [--people 10000] [--cameras 50] [--fps 5] [--mics 10]``
``[--seconds 10]``.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

# run as a script, bench/ is first on the path and bench/sensors.py would shadow the sensors package
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agents.world import Impulse, Targets, WorldView  # noqa: E402
from scenarios.schema import sensor_specs  # noqa: E402
from sensors.physical import build_physical_sensors  # noqa: E402
from sensors.placement import walk_samples  # noqa: E402
from twin import load_twin  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--people", type=int, nargs="+", default=[10000])
    ap.add_argument("--cameras", type=int, default=50)
    ap.add_argument("--fps", type=float, default=5.0)
    ap.add_argument("--mics", type=int, default=10)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    twin = load_twin("helsinki")
    print(f"{'people':>7} {'cameras':>7} {'fps':>4} {'mics':>5} {'init_s':>7} {'warm_s':>7} {'run_s':>7}"
          f" {'s/sim_s':>8} {'x_realtime':>10} {'cpu_s/sim_s':>11} {'frames':>7} {'dets':>8}")
    for n in a.people:
        rng = np.random.default_rng(a.seed)
        t0 = time.perf_counter()
        cams = sorted(twin.cameras, key=lambda c: c.id)[: a.cameras]
        spec = {"cameras": {"fps": a.fps, "list": [{"id": c.id, "lonlat": list(c.lonlat)} for c in cams]},
                "acoustic": a.mics,
                "counters": [{"id": f"sq{k}", "kind": "area", "at": x.name}
                             for k, x in enumerate(sorted((x for x in twin.assets if x.polygon is not None),
                                                          key=lambda x: x.id)[:10])]}
        specs = sensor_specs(spec)
        sensors = build_physical_sensors(twin, specs, rng=rng, conditions=specs.pop("conditions"))
        init = time.perf_counter() - t0
        groups = {id(s.group): s.group for s in sensors if getattr(s, "kind", "") == "camera"}
        pts = walk_samples(twin, 5.0)
        xy = pts[rng.integers(0, len(pts), n)] + rng.normal(0, 1.0, (n, 2))
        ids = np.arange(n, dtype=np.int64)
        ones = np.ones(n)
        next_t = {s.id: 0.0 for s in sensors}
        frames = dets = 0
        by_kind: dict[str, float] = defaultdict(float)
        t0, c0 = time.perf_counter(), time.process_time()
        dt = 0.2
        warm = None
        for k in range(int(round((a.seconds + 1.0) / dt))):
            if k == int(round(1.0 / dt)):       # the first simulated second builds every camera's shadows
                warm = time.perf_counter() - t0
                by_kind.clear()
                for g in groups.values():
                    g.timings = {}
                t0, c0 = time.perf_counter(), time.process_time()
            t = k * dt
            xy = xy + rng.normal(0, 0.25, (n, 2))
            tg = Targets(ids, np.zeros(n, np.int8), xy, ones * 1.7, ones * 0.5, ones)
            imps = [Impulse(t, tuple(xy[0]), "gunshot", 150.0)] if k % 25 == 0 else []
            world = WorldView(t, tg, imps)
            for s in sensors:
                if next_t[s.id] <= t + 1e-9:
                    ts = time.process_time()
                    for topic, p in s.measure(world):
                        if topic == "camera/frame":
                            frames += 1
                            dets += len(p["detections"])
                    by_kind[s.kind] += time.process_time() - ts
                    next_t[s.id] += s.period_s
        run, cpu = time.perf_counter() - t0, time.process_time() - c0
        per = run / a.seconds
        print(f"{n:>7} {a.cameras:>7} {a.fps:>4g} {a.mics:>5} {init:>7.2f} {warm:>7.2f} {run:>7.2f}"
              f" {per:>8.3f} {1 / per:>10.1f} {cpu / a.seconds:>11.3f} {frames:>7} {dets:>8}")
        phases: dict[str, float] = defaultdict(float)
        for g in groups.values():
            for name, v in (g.timings or {}).items():
                phases[name] += v
        phases["measure"] = by_kind.get("camera", 0.0) - sum(phases.values())
        ms = lambda v: f"{1000 * v / a.seconds:.1f}"   # noqa: E731
        print("  CPU ms per sim s by kind:  " + "  ".join(f"{k}={ms(v)}" for k, v in sorted(by_kind.items()))
              + f"  loop/other={ms(cpu - sum(by_kind.values()))}")
        print("  CPU ms per sim s, cameras: " + "  ".join(f"{k}={ms(v)}" for k, v in phases.items()))


if __name__ == "__main__":
    main()
