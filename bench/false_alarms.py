"""False alarms the honest world and sensors give the detectors: the acoustic detector's alert rate per
impulse class and score threshold, and the cyber detectors' alerts on days of network background.

Run: ``.venv/bin/python bench/false_alarms.py [--impulses N] [--days N] [--cameras N]``. Prints two tables
(figures for ``docs/performance.md``):

1. Impulses of each class (``agents.world.IMPULSE_CLASSES``, levels from ``IMPULSE_LEVEL_DB``) at random
   places inside a 300 m square of four microphones: the share heard by any microphone and the share that
   raised a gunshot or explosion alert, at ``min_score`` 0.5, 0.7 and 0.9.
2. Days of background only (``sensors.cyber.background``, default ``TrafficParams``) on a network of N
   cameras, replayed through the analytics pipeline with the site's configuration (the authorised scanner
   in ``allowed_sources``, as the engine fills it) and without it: alerts per detector and per day.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from datetime import datetime
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agents.world import IMPULSE_CLASSES, IMPULSE_LEVEL_DB, Impulse  # noqa: E402
from analytics.acoustic import AcousticDetector, AcousticParams  # noqa: E402
from analytics.params import AnalyticsParams  # noqa: E402
from analytics.pipeline import AnalyticsPipeline  # noqa: E402
from sensors.acoustic import ImpulseSignatures, Microphone  # noqa: E402
from sensors.cyber import build_cyber  # noqa: E402
from twin.network import attach_cameras, core_network  # noqa: E402

EPOCH0 = 1780315200.0  # 2026-06-01T12:00:00Z
SCANNER = "10.10.0.50"


def acoustic_rates(min_score: float, n: int, seed: int = 1) -> dict[str, tuple[float, float, float]]:
    """Class -> (share heard, share alerted gunshot, share alerted explosion)."""
    rng = np.random.default_rng(seed)
    sig = ImpulseSignatures(np.random.default_rng(seed + 1))
    corners = [(0.0, 0.0), (300.0, 0.0), (0.0, 300.0), (300.0, 300.0)]
    out = {}
    for cls in IMPULSE_CLASSES:
        mics = [Microphone(f"m{i}", xy, rng=np.random.default_rng(10 * seed + i), signatures=sig)
                for i, xy in enumerate(corners)]
        det = AcousticDetector(AcousticParams(min_score=min_score))
        heard, kinds = 0, Counter()
        mean, sd = IMPULSE_LEVEL_DB[cls]
        for k in range(n):
            level = float(rng.normal(mean, sd))
            imp = Impulse(10.0 * k, tuple(rng.uniform(0, 300, 2)), cls, level, id=str(k))
            dets = sorted((d for m in mics for d in m.hear([imp])), key=lambda d: d["t_arrival"])
            heard += bool(dets)
            msgs = [{"t": d["t_arrival"], "topic": "acoustic/detection", **d} for d in dets]
            kinds.update(a["kind"] for m in msgs for a in det.update(m))
            kinds.update(a["kind"] for a in det.flush())
        out[cls] = (heard / n, kinds["gunshot"] / n, kinds["explosion"] / n)
    return out


def background_alerts(seed: int, cameras: int, site: bool) -> Counter:
    """(kind, src) of every alert on one day of background."""
    g = core_network()
    rng = np.random.default_rng(seed)
    attach_cameras(g, {f"cam-{i:03d}": tuple(rng.uniform(0.0, 2000.0, 2)) for i in range(cameras)})
    cr = build_cyber(g, [], rng=np.random.default_rng(seed), epoch0=EPOCH0, duration_s=86400.0)
    allow = {k: {"allowed_sources": [SCANNER] if site else []} for k in ("port_scan", "brute_force", "dos")}
    pipe = AnalyticsPipeline(params=AnalyticsParams.from_mapping(allow))
    out: Counter = Counter()
    for topic, p in cr.flush():
        if topic == "net/conn":
            t = p["ts"] - EPOCH0 + p.get("duration", 0.0)
        else:
            t = datetime.fromisoformat(p["line"].split(" ")[1].replace("Z", "+00:00")).timestamp() - EPOCH0
        out.update((a["kind"], _who(a)) for a in pipe.push({"t": t, "topic": topic, **p}))
    out.update((a["kind"], _who(a)) for a in pipe.flush())
    return out


def _who(alert: dict) -> str:
    src = str(alert["evidence"].get("src") or "")
    if src == SCANNER:
        return "scanner"
    if src.startswith("10."):
        return f"internal {src}"
    return "internet" if src else "-"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--impulses", type=int, default=1000, help="impulses per class (default 1000)")
    ap.add_argument("--days", type=int, default=5, help="days of cyber background (default 5)")
    ap.add_argument("--cameras", type=int, default=30, help="cameras in the network (default 30)")
    a = ap.parse_args()
    t0 = time.perf_counter()
    print(f"acoustic: share of {a.impulses} impulses per class heard / alerted gunshot / alerted explosion")
    print(f"{'class':<14}" + "".join(f"  min_score {s:<18}" for s in (0.5, 0.7, 0.9)))
    rates = {s: acoustic_rates(s, a.impulses) for s in (0.5, 0.7, 0.9)}
    for cls in IMPULSE_CLASSES:
        cells = "".join(f"  {h:5.3f} {g:5.3f} {e:5.3f}{'':10}" for h, g, e in (rates[s][cls] for s in rates))
        print(f"{cls:<14}{cells}")
    print(f"({time.perf_counter() - t0:.1f} s)\n")
    for site in (True, False):
        t0 = time.perf_counter()
        total: Counter = Counter()
        for seed in range(a.days):
            total += background_alerts(seed, a.cameras, site)
        label = "with the site's configuration" if site else "without it (no allowed_sources)"
        print(f"cyber background, {a.days} days, {a.cameras} cameras, {label}: alerts per day")
        for (kind, who), n in sorted(total.items()):
            print(f"  {kind:<12} {who:<22} {n / a.days:6.2f}")
        print(f"({time.perf_counter() - t0:.1f} s)\n")


if __name__ == "__main__":
    main()
