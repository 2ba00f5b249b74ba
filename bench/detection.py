"""The detection table: how well the analytics detect each attack kind, and how often each alert kind fires
falsely, in a world with its harmless look-alikes, scored by the strict rules (``scenarios.detection``).

- For every attack kind: ``--seeds`` (default 10) runs of its library scenario
  (``scenarios/library/helsinki/detect-<kind>.yaml``): recall, median and 90th-percentile time to detect,
  median localisation error.
- Per alert kind: the false alarms per hour of a control run without attacks
  (``scenarios/library/helsinki/control-city-hour.yaml``: the whole Helsinki twin, 5,000 people, two
  gatherings, every OSM camera, the cyber background, one hour; ``--control-s`` shortens it).

Writes ``detection_table.csv`` (``--out``) and prints it as Markdown. Targets: recall >= 0.9 per attack kind,
<= 2 false alarms per hour per alert kind. Runs use a process pool (``--workers``, default the CPU count).

Usage: ``python bench/detection.py [--seeds 10] [--control-s 3600] [--workers 2] [--out detection_table.csv]``
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scenarios.engine import run_scenario  # noqa: E402
from scenarios.schema import attack_kinds  # noqa: E402

LIBRARY = ROOT / "scenarios" / "library" / "helsinki"
CONTROL = LIBRARY / "control-city-hour.yaml"
TARGET_RECALL, TARGET_FA_PER_H = 0.9, 2.0


def _run(path: str, seed: int | None, duration: float | None) -> dict:
    """One run in a temporary folder: its detection metrics and its wall time (exports written in the
    worker itself: the pool already keeps both cores busy)."""
    os.environ["TWIN_EXPORTS"] = "inline"
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        res = run_scenario(path, seed=seed, duration_s=duration, out=Path(tmp) / "run", quiet=True)
        det = json.loads((res.out_dir / "metrics.json").read_text())["detection"]
        return {"detection": det, "wall_s": time.perf_counter() - t0, "seed": seed}


def _quantile(values: list[float], q: float) -> float | None:
    return round(float(np.quantile(values, q)), 2) if values else None


def attack_rows(results: dict[str, list[dict]]) -> list[dict]:
    """One row per attack kind from its runs."""
    rows = []
    for kind, runs in results.items():
        hits = [r for run in runs for r in run["detection"]["attacks"] if r["attack"] == kind]
        ttd = [r["time_to_detect_s"] for r in hits if r["time_to_detect_s"] is not None]
        loc = [r["localisation_error_m"] for r in hits if r["localisation_error_m"] is not None]
        recall = sum(r["detected"] for r in hits) / len(hits) if hits else 0.0
        rows.append({"table": "attack", "kind": kind, "runs": len(runs), "recall": round(recall, 3),
                     "median_ttd_s": _quantile(ttd, 0.5), "p90_ttd_s": _quantile(ttd, 0.9),
                     "median_loc_m": _quantile(loc, 0.5), "false_alarms_per_hour": None,
                     "meets_target": recall >= TARGET_RECALL})
    return rows


def alert_rows(control: dict, kinds: list[str]) -> list[dict]:
    """One row per alert kind from the control run (every alert there is a false alarm)."""
    det = control["detection"]
    hours = det["duration_s"] / 3600.0
    rows = []
    for kind in kinds:
        n = det["false_alarms_by_kind"].get(kind, 0)
        fa = round(n / hours, 2) if hours > 0 else None
        rows.append({"table": "alert", "kind": kind, "runs": 1, "recall": None, "median_ttd_s": None,
                     "p90_ttd_s": None, "median_loc_m": None, "false_alarms_per_hour": fa,
                     "meets_target": fa is not None and fa <= TARGET_FA_PER_H})
    return rows


def markdown(rows: list[dict]) -> str:
    """The two tables as Markdown."""
    out = ["| attack kind | runs | recall | median TTD s | p90 TTD s | median loc. m | target met |",
           "|---|---|---|---|---|---|---|"]
    for r in (r for r in rows if r["table"] == "attack"):
        met = "yes" if r["meets_target"] else "**no**"
        out.append(f"| {r['kind']} | {r['runs']} | {r['recall']:.2f} | {r['median_ttd_s']} | "
                   f"{r['p90_ttd_s']} | {r['median_loc_m']} | {met} |")
    out += ["", "| alert kind | false alarms / h | target met |", "|---|---|---|"]
    for r in (r for r in rows if r["table"] == "alert"):
        met = "yes" if r["meets_target"] else "**no**"
        out.append(f"| {r['kind']} | {r['false_alarms_per_hour']} | {met} |")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--control-s", type=float, default=None, help="control run length (default: its file's)")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--kinds", nargs="*", default=None, help="attack kinds (default: all)")
    ap.add_argument("--out", default="detection_table.csv")
    a = ap.parse_args(argv)
    kinds = a.kinds or list(attack_kinds())
    t0 = time.perf_counter()
    with ProcessPoolExecutor(max_workers=max(1, a.workers)) as pool:
        control = pool.submit(_run, str(CONTROL), None, a.control_s)
        jobs = {k: [pool.submit(_run, str(LIBRARY / f"detect-{k}.yaml"), s, None)
                    for s in range(1, a.seeds + 1)] for k in kinds}
        results = {k: [f.result() for f in fs] for k, fs in jobs.items()}
        ctrl = control.result()
    from analytics.base import alert_kinds

    rows = attack_rows(results) + alert_rows(ctrl, sorted(alert_kinds()))
    with open(a.out, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    print(markdown(rows))
    det = ctrl["detection"]
    print(f"\ncontrol: {det['duration_s']:g} simulated s, {det['alerts']} alerts, "
          f"{sum(det['false_alarms_explained'].values())} explained by look-alikes "
          f"({det['false_alarms_explained']}); wall {ctrl['wall_s']:.0f} s")
    print(f"attack runs: {sum(len(v) for v in results.values())} in total; bench wall "
          f"{time.perf_counter() - t0:.0f} s; table written to {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
