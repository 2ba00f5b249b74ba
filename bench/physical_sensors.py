"""Wall time per simulated second of the physical sensors on Helsinki: N pedestrians, C cameras at 5 fps,
M microphones and K counters (no crowd model: people random-walk on sampled walk-graph points).

Prints one table row per size: placement (init), the first simulated second (warm: every camera builds its
building shadows on first use) and the steady run apart, and the steady real-time factor.
Usage: ``python -m bench.physical_sensors [--people 1000 10000] [--cameras 50] [--seconds 10]``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from agents.world import Impulse, Targets, WorldView
from sensors.placement import build_physical_sensors, walk_samples
from twin import load_twin


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--people", type=int, nargs="+", default=[1000, 10000])
    ap.add_argument("--cameras", type=int, default=50)
    ap.add_argument("--mics", type=int, default=10)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    twin = load_twin("helsinki")
    print(f"{'people':>7} {'cameras':>7} {'mics':>5} {'init_s':>7} {'warm_s':>7} {'run_s':>7} {'s/sim_s':>8}"
          f" {'x_realtime':>10} {'frames':>7} {'dets':>8}")
    for n in a.people:
        rng = np.random.default_rng(a.seed)
        t0 = time.perf_counter()
        cams = sorted(twin.cameras, key=lambda c: c.id)[: a.cameras]
        spec = {"cameras": {"list": [{"id": c.id, "at": {"xy": list(c.xy)}} for c in cams]},
                "acoustic": a.mics,
                "counters": [{"id": f"sq{k}", "kind": "area", "at": x.name}
                             for k, x in enumerate(sorted((x for x in twin.assets if x.polygon is not None),
                                                          key=lambda x: x.id)[:10])]}
        sensors = build_physical_sensors(twin, spec, rng=rng)
        init = time.perf_counter() - t0
        pts = walk_samples(twin, 5.0)
        xy = pts[rng.integers(0, len(pts), n)] + rng.normal(0, 1.0, (n, 2))
        ids = np.arange(n, dtype=np.int64)
        ones = np.ones(n)
        next_t = {s.id: 0.0 for s in sensors}
        frames = dets = 0
        t0 = time.perf_counter()
        dt = 0.2
        warm = None
        for k in range(int(round((a.seconds + 1.0) / dt))):
            if k == int(round(1.0 / dt)):       # the first simulated second builds every camera's shadows
                warm = time.perf_counter() - t0
                t0 = time.perf_counter()
            t = k * dt
            xy = xy + rng.normal(0, 0.25, (n, 2))
            tg = Targets(ids, np.zeros(n, np.int8), xy, ones * 1.7, ones * 0.5, ones)
            imps = [Impulse(t, tuple(xy[0]), "gunshot", 150.0)] if k % 25 == 0 else []
            world = WorldView(t, tg, imps)
            for s in sensors:
                if next_t[s.id] <= t + 1e-9:
                    for topic, p in s.measure(world):
                        if topic == "camera/frame":
                            frames += 1
                            dets += len(p["detections"])
                    next_t[s.id] += s.period_s
        run = time.perf_counter() - t0
        per = run / a.seconds
        print(f"{n:>7} {a.cameras:>7} {a.mics:>5} {init:>7.2f} {warm:>7.2f} {run:>7.2f} {per:>8.3f}"
              f" {1 / per:>10.1f} {frames:>7} {dets:>8}")


if __name__ == "__main__":
    main()
