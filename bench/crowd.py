"""Crowd throughput: agent-seconds simulated per wall second and peak RSS, against a plain Mesa 3 baseline.

Runs each configuration in its own process (so peak RSS is that run's own) and prints one table:

    .venv/bin/python bench/crowd.py                  # 10k and 100k for 3600 s, Mesa baseline at 10k
    .venv/bin/python bench/crowd.py --stretch        # also 1,000,000 for 3600 s
    .venv/bin/python bench/crowd.py --sizes 20000 --sim-s 600 --no-baseline

The baseline is the way most Mesa users would write it: one ``mesa.Agent`` per person holding a networkx
shortest path (``nx.shortest_path(weight="length")``), walking it edge by edge at its free speed, stepped by
``model.agents.shuffle_do("step")``; a new goal and path on arrival. Init (routing) and run are timed apart.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run_crowd(city: str, n: int, sim_s: float, dt: float, seed: int) -> dict:
    """Our crowd: ``n`` background pedestrians on ``city`` for ``sim_s`` seconds."""
    import numpy as np

    from agents.crowd import Crowd
    from twin import load_twin

    twin = load_twin(city)
    rss0 = _peak_rss_mb()
    t0 = time.perf_counter()
    crowd = Crowd(twin, rng=np.random.default_rng(seed))
    crowd.add_population(n)
    t1, c1 = time.perf_counter(), time.process_time()
    t, n_events, steps = 0.0, 0, 0
    while t < sim_s - 1e-9:
        n_events += len(crowd.step(t, dt))
        t += dt
        steps += 1
    t2, c2 = time.perf_counter(), time.process_time()
    walking = int((crowd.state == 1).sum())
    return {"model": "crowd (numpy)", "n": n, "sim_s": sim_s, "dt": dt, "init_s": t1 - t0, "run_s": t2 - t1,
            "rate": n * sim_s / (t2 - t1), "cpu_rate": n * sim_s / (c2 - c1), "peak_rss_mb": _peak_rss_mb(),
            "twin_rss_mb": rss0,
            "events": n_events, "trees": crowd.router.n_trees, "walking_end": walking, "steps": steps}


def run_mesa(city: str, n: int, sim_s: float, dt: float, seed: int) -> dict:
    """The baseline: one Mesa 3 agent per person walking networkx shortest paths."""
    import mesa
    import networkx as nx

    from twin import load_twin

    twin = load_twin(city)
    g = twin.walk
    core = max(nx.strongly_connected_components(g), key=len)
    nodes = sorted(core, key=str)

    class Walker(mesa.Agent):
        def __init__(self, model, start):
            super().__init__(model)
            self.node = start
            self.speed = min(max(model.random.gauss(1.34, 0.26), 0.5), 2.2)
            self.new_route()

        def new_route(self):
            goal = self.model.random.choice(nodes)
            while goal == self.node:
                goal = self.model.random.choice(nodes)
            self.path = nx.shortest_path(g, self.node, goal, weight="length")
            self.i = 0
            self.offset = 0.0

        def step(self):
            left = self.speed * dt
            while left > 0:
                u, v = self.path[self.i], self.path[self.i + 1]
                length = min(d["length"] for d in g[u][v].values())
                if self.offset + left < length:
                    self.offset += left
                    return
                left -= length - self.offset
                self.offset = 0.0
                self.i += 1
                if self.i == len(self.path) - 1:
                    self.node = v
                    self.new_route()
                    return

    class WalkModel(mesa.Model):
        def __init__(self):
            super().__init__(seed=seed)
            for _ in range(n):
                Walker(self, self.random.choice(nodes))

        def step(self):
            self.agents.shuffle_do("step")

    t0 = time.perf_counter()
    model = WalkModel()
    t1, c1 = time.perf_counter(), time.process_time()
    t, steps = 0.0, 0
    while t < sim_s - 1e-9:
        model.step()
        t += dt
        steps += 1
    t2, c2 = time.perf_counter(), time.process_time()
    return {"model": "mesa agents + nx paths", "n": n, "sim_s": sim_s, "dt": dt, "init_s": t1 - t0,
            "run_s": t2 - t1, "rate": n * sim_s / (t2 - t1), "cpu_rate": n * sim_s / (c2 - c1),
            "peak_rss_mb": _peak_rss_mb(), "steps": steps}


def _child(args: list[str]) -> dict:
    out = subprocess.run([sys.executable, __file__, "--one", *args], capture_output=True, text=True, cwd=ROOT)
    if out.returncode != 0:
        raise SystemExit(f"bench child {args} failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--city", default="helsinki")
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--sim-s", type=float, default=3600.0)
    ap.add_argument("--dt", type=float, default=0.5)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--stretch", action="store_true", help="also 1,000,000 pedestrians for --sim-s")
    ap.add_argument("--baseline-n", type=int, default=10_000)
    ap.add_argument("--baseline-sim-s", type=float, default=60.0,
                    help="shorter is fine: the rate is what counts")
    ap.add_argument("--no-baseline", action="store_true")
    ap.add_argument("--one", nargs=6, metavar=("KIND", "CITY", "N", "SIM_S", "DT", "SEED"),
                    help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.one:
        kind, city, n, sim_s, dt, seed = a.one
        fn = run_crowd if kind == "crowd" else run_mesa
        print(json.dumps(fn(city, int(n), float(sim_s), float(dt), int(seed))))
        return 0
    sizes = list(a.sizes) + ([1_000_000] if a.stretch else [])
    rows = []
    print(f"city={a.city} dt={a.dt}s seed={a.seed}; each row in its own process; init = build + routing "
          f"(Mesa: one nx.shortest_path per agent), run = the stepping", flush=True)
    hdr = (f"{'model':<24}{'people':>10}{'sim s':>8}{'init s':>9}{'run s':>9}{'agent-s/s':>13}"
           f"{'agent-s/cpu-s':>15}{'peak RSS MB':>13}")
    print(hdr, flush=True)

    def show(r):
        print(f"{r['model']:<24}{r['n']:>10,}{r['sim_s']:>8.0f}{r['init_s']:>9.2f}{r['run_s']:>9.2f}"
              f"{r['rate'] / 1e6:>11.2f} M{r['cpu_rate'] / 1e6:>13.2f} M{r['peak_rss_mb']:>13.0f}",
              flush=True)

    if not a.no_baseline:
        base = _child(["mesa", a.city, str(a.baseline_n), str(a.baseline_sim_s), str(a.dt), str(a.seed)])
        rows.append(base)
        show(base)
    for n in sizes:
        r = _child(["crowd", a.city, str(n), str(a.sim_s), str(a.dt), str(a.seed)])
        rows.append(r)
        show(r)
    if not a.no_baseline:
        for r in rows[1:]:
            print(f"{r['n']:,} people: {r['rate'] / rows[0]['rate']:.1f}x the Mesa baseline rate "
                  f"({r['cpu_rate'] / rows[0]['cpu_rate']:.1f}x per CPU second); "
                  f"{r['events']:,} events, {r['trees']} routing trees built", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
