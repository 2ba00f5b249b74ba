"""Benchmark the cyber range: build and measure()+export time for 1 h runs, by network size and attack mix.

Prints one table row per (cameras, attacks, seed): flows, syslog lines, build s, measure s (3600 calls at
the 1 s period, records turned into dicts), conn.log+syslog.log write s, and the speed-up over real time.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agents.world import Targets, WorldView  # noqa: E402
from scenarios.schema import attack_specs  # noqa: E402
from sensors.cyber import ConnLogWriter, SyslogWriter, build_cyber  # noqa: E402
from twin.network import attach_cameras, core_network  # noqa: E402

EPOCH0 = 1780315200.0
ATTACK_SETS = {
    "none": [],
    "dos": [{"kind": "cyber_dos", "target": "vms", "start_s": 1200, "duration_s": 300}],
    "all5": [{"kind": "cyber_scan", "target": "agg-001", "start_s": 100, "duration_s": 600},
             {"kind": "cyber_bruteforce", "target": "vms", "start_s": 800, "duration_s": 600},
             {"kind": "cyber_dos", "target": "vms", "start_s": 1500, "duration_s": 300},
             {"kind": "cyber_beacon", "target": "soc", "start_s": 0, "duration_s": 3600},
             {"kind": "stream_hijack", "target": "sw-0001", "start_s": 2500, "duration_s": 300}],
}


def network(n: int, seed: int = 0):
    g = core_network()
    rng = np.random.default_rng(seed)
    attach_cameras(g, {f"cam-{i:05d}": tuple(rng.uniform(0, 8000, 2)) for i in range(n)})
    return g


def one(n_cams: int, attacks: str, seed: int, duration: float = 3600.0) -> dict:
    g = network(n_cams)
    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    cr = build_cyber(g, attack_specs(ATTACK_SETS[attacks]), rng=rng, epoch0=EPOCH0, duration_s=duration)
    t1 = time.perf_counter()
    msgs = []
    for t in np.arange(1.0, duration + 1.0):
        msgs += cr.measure(WorldView(float(t), Targets.empty()))
    t2 = time.perf_counter()
    with tempfile.TemporaryDirectory() as d:
        conn = ConnLogWriter(Path(d) / "conn.log", open_epoch=EPOCH0)
        sysl = SyslogWriter(Path(d) / "syslog.log")
        for topic, p in msgs:
            (conn if topic == "net/conn" else sysl).write(p)
        conn.close(EPOCH0 + duration)
        sysl.close()
        size = (Path(d) / "conn.log").stat().st_size
    t3 = time.perf_counter()
    return {"cams": n_cams, "attacks": attacks, "seed": seed, "flows": len(cr.flows),
            "syslog": len(cr.all_syslog()), "build_s": t1 - t0, "measure_s": t2 - t1, "write_s": t3 - t2,
            "conn_mb": size / 1e6, "x_realtime": duration / (t3 - t0)}


def main() -> None:
    rows = [one(n, a, s) for n in (50, 221, 1000) for a in ("none", "dos", "all5") for s in (1, 2)]
    cols = ("cams", "attacks", "seed", "flows", "syslog", "build_s", "measure_s", "write_s", "conn_mb",
            "x_realtime")
    print("  ".join(f"{c:>10}" for c in cols))
    for r in rows:
        print("  ".join(f"{r[c]:>10.3f}" if isinstance(r[c], float) else f"{r[c]!s:>10}" for c in cols))


if __name__ == "__main__":
    main()
