#!/usr/bin/env python
"""The incident stage's speed and latency (issue #13): alerts fused per second, and simulated seconds from an
attack's first observable act to its CAP alert.

- **Throughput.** A synthetic alert stream on the embedded Helsinki twin (its assets, dependencies, network,
  walk and drive graphs and crowd zones; the 221 OSM cameras): ``--alerts`` alerts over ``--events`` events
  at random places, each event 1-40 alerts of mixed kinds (video, acoustic, cyber, camera health) spread
  over a minute, in time order. Timed twice: fusion alone (``analytics.fusion.Fusion.push``) and the whole
  stage (``IncidentStage.push``: risk, recommended actions, CAP and the picture too). Target >= 10,000
  alerts/s.
- **Latency.** The physical detection scenarios of the library (``detect-<kind>.yaml``) and the hybrid one,
  each run once: ``metrics.json`` ``incidents.attacks[]``: from the first observable act (the drop, the shot,
  the ram) to the incident and to its first CAP Alert, and from the first matching alert (the first sensor
  evidence) to that CAP Alert, on the simulated clock. Target <= 10 s from the first evidence.

Usage: ``python bench/fusion.py [--alerts 20000] [--events 2000] [--no-latency]``
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

KINDS = ("gunshot", "running", "abandoned_object", "loitering", "zone_intrusion", "vehicle_intrusion",
         "crowd_anomaly", "stream_loss", "port_scan", "brute_force")
LATENCY_SCENARIOS = ("detect-active_assailant", "detect-bag_leaver", "detect-vehicle_rammer",
                     "detect-zone_intruder", "detect-crowd_surge", "detect-loiterer", "hybrid-dos-assailant")


def _stream(twin, cams: list[str], n_alerts: int, n_events: int, rng: np.random.Generator) -> list[dict]:
    """A time-ordered synthetic alert stream (module docstring)."""
    x0, y0 = np.min([a.xy for a in twin.assets], axis=0)
    x1, y1 = np.max([a.xy for a in twin.assets], axis=0)
    per = rng.multinomial(n_alerts, np.full(n_events, 1.0 / n_events))
    out = []
    for e, k in enumerate(per):
        t0 = rng.uniform(0, 3600.0)
        xy = [float(rng.uniform(x0, x1)), float(rng.uniform(y0, y1))]
        kinds = rng.choice(KINDS, size=2)
        for _ in range(k):
            kind = str(rng.choice(kinds))
            t = round(t0 + rng.uniform(0, 60.0), 2)
            p = [round(xy[0] + rng.normal(0, 8), 2), round(xy[1] + rng.normal(0, 8), 2)]
            cam = cams[e % len(cams)]
            if kind in ("port_scan", "brute_force"):
                out.append({"t": t, "kind": kind, "conf": 0.8, "xy": None, "lonlat": None, "zone": None,
                            "source": [f"198.51.100.{e % 250}"], "evidence": {"dst": ["10.10.0.10"]}})
            elif kind == "stream_loss":
                out.append({"t": t, "kind": kind, "conf": 0.8, "xy": None, "lonlat": None, "zone": None,
                            "source": [cam], "evidence": {"camera_id": cam, "via": "health"}})
            else:
                src = [f"mic-{e % 6}"] if kind == "gunshot" else [cam]
                out.append({"t": t, "kind": kind, "conf": round(float(rng.uniform(0.5, 0.95)), 2), "xy": p,
                            "lonlat": None, "zone": None, "source": src, "evidence": {}})
    out.sort(key=lambda a: a["t"])
    return out


def throughput(n_alerts: int, n_events: int) -> dict:
    from analytics.fusion import Fusion
    from analytics.incident_stage import IncidentStage
    from scenarios.site import site_of
    from twin import load_twin
    from twin.zones import density_zones

    twin = load_twin("helsinki")
    cams = {c.id: {"xy": [float(c.xy[0]), float(c.xy[1])], "ip": None, "view": None} for c in twin.cameras}
    alerts = _stream(twin, sorted(cams), n_alerts, n_events, np.random.default_rng(7))
    unit = {"id": "police-1", "kind": "police", "node": next(iter(twin.drive.nodes)), "available": True}
    site = site_of(twin, density_zones(twin), units=[unit])
    zones = site.zones
    fusion = Fusion(cameras=cams, network=twin.network, assets=site.assets, dependencies=twin.dependencies,
                    zones=zones)
    t0 = time.perf_counter()
    for a in alerts:
        fusion.push(a)
    fusion_s = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        stage = IncidentStage(site, tmp, epoch=datetime(2026, 6, 1, 14, tzinfo=UTC))
        stage.density([(0.0, z, 50.0) for z in zones])
        t0 = time.perf_counter()
        for a in alerts:
            stage.push(a)
        stage_s = time.perf_counter() - t0
        fig = stage.close(3700.0)
    return {"alerts": len(alerts), "incidents": len(fusion.tracks), "fusion_s": fusion_s,
            "fusion_alerts_per_s": len(alerts) / fusion_s, "stage_s": stage_s,
            "stage_alerts_per_s": len(alerts) / stage_s, "stage_actions": fig["actions"], "cap": fig["cap"],
            "errors": fig["errors"]}


def latency() -> list[dict]:
    from scenarios.engine import run_scenario

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in LATENCY_SCENARIOS:
            path = ROOT / "scenarios" / "library" / "helsinki" / f"{name}.yaml"
            res = run_scenario(path, out=Path(tmp) / name, quiet=True)
            m = json.loads((res.out_dir / "metrics.json").read_text())["incidents"]
            for r in m["attacks"]:
                if r["hybrid_true"] is not None:     # physical attacks
                    rows.append({"scenario": name, "attack": r["attack"], "incident": r["incident"],
                                 "time_to_incident_s": r["time_to_incident_s"],
                                 "time_to_cap_s": r["time_to_cap_s"],
                                 "evidence_to_cap_s": r["evidence_to_cap_s"], "hybrid": r["hybrid"],
                                 "hybrid_true": r["hybrid_true"]})
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--alerts", type=int, default=20000)
    ap.add_argument("--events", type=int, default=2000)
    ap.add_argument("--no-latency", action="store_true")
    a = ap.parse_args()
    r = throughput(a.alerts, a.events)
    print(f"throughput: {r['alerts']} alerts into {r['incidents']} incidents")
    print(f"  fusion alone: {r['fusion_alerts_per_s']:,.0f} alerts/s ({r['fusion_s']:.2f} s)")
    print(f"  whole stage (risk, actions, CAP, picture): {r['stage_alerts_per_s']:,.0f} alerts/s "
          f"({r['stage_s']:.2f} s; {r['stage_actions']} actions, {r['cap']} CAP messages, "
          f"{r['errors']} errors); target >= 10,000 alerts/s")
    if not a.no_latency:
        print("\n| scenario | attack | incident | act to incident s | act to CAP s | first alert to CAP s "
              "| hybrid (truth) |")
        print("|---|---|---|---|---|---|---|")
        for x in latency():
            print(f"| {x['scenario']} | {x['attack']} | {x['incident']} | {x['time_to_incident_s']} | "
                  f"{x['time_to_cap_s']} | {x['evidence_to_cap_s']} | {x['hybrid']} ({x['hybrid_true']}) |")
        print("target: first evidence to CAP <= 10 s (None: the incident's risk stayed under the threshold)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
