"""Score a run's alerts against its ground truth: detection per attack, time to detect, localisation error,
false alarms per hour, tracking MOTA/IDF1/ID switches per camera, crowd density estimate error.

Pure functions over a run folder (``ground_truth.jsonl``, ``alerts.jsonl``,
``sensors/cameras/<id>/{gt,det,track}``, ``crowd_density.csv``); the only knowledge of the simulation they
use is which alert kinds detect which attack kind, as each kind declares it (``detects``).

Rules
-----
- ``detects()`` maps each attack kind to the alert kinds that count as detecting it (each attacker kind's
  and cyber campaign's ``detected_by``). The crowd's reaction counts too: people fleeing a rammer or shots
  empty the place in seconds (a ``crowd_anomaly`` dispersal) or run.
- Attacks are the ``attack_phase`` records grouped by ``attack_id`` (else ``id``). An attack spans from its
  first phase record to the last one's ``t_end`` (if the records carry one) or ``t``. An attack whose
  records carry no ``t_end`` (physical attackers log only when each phase begins) and whose last phase is
  not ``gone`` (the attacker left) is still under way when the run ends: it spans to the run's
  ``duration_s`` (a scout still circling, a vehicle stopped in the crowd).
- An alert detects an attack when its kind is in ``detects()[attack]``, its time lies in
  ``[start - EARLY_S, end + WINDOW_S]``, and, where both carry the information, it is within ``RADIUS_M``
  of the attack (physical) or names one of the attack's ``src``/``dst`` addresses or of the ``cameras`` it
  took down (cyber: a camera-health stream-loss alert names the camera id, not an address).
- Time to detect is the first such alert's ``t`` minus the attack's start (0 if the alert came earlier);
  localisation error is that alert's distance to the attack's position nearest in time.
- A false alarm is an alert that detects no attack by these rules. False alarms per hour divide by the
  run's duration (``duration_s`` from ``scenario.yaml`` if present, else the span of ground truth and alerts).
"""

from __future__ import annotations

import csv
import json
import math
import os
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from analytics.base import AnalyticsInputError
from analytics.events import iter_jsonl
from analytics.files import atomic_write_lines
from analytics.mot import load_mot
from analytics.motscore import mot_metrics
from analytics.tracking import TRACK_FILE, track_mot
from scenarios.schema import attack_kinds

__all__ = ["EARLY_S", "RADIUS_M", "WINDOW_S", "detects", "score_run", "write_metrics"]



def detects() -> dict[str, frozenset[str]]:
    """Attack kind -> the alert kinds that count as detecting it (each kind's ``detected_by``)."""
    return {kind: frozenset(cls.detected_by) for kind, cls in attack_kinds().items()}


#: Seconds after an attack's last phase in which an alert still detects it.
WINDOW_S = 300.0
#: Seconds before an attack's first phase an alert may come (sensor clocks, phases logged at their end).
EARLY_S = 5.0
#: Metres between an alert and a physical attack beyond which they do not match.
RADIUS_M = 150.0


def _attacks(run: Path) -> list[dict[str, Any]]:
    by_id: dict[str, dict[str, Any]] = {}
    path = run / "ground_truth.jsonl"
    if path.is_file() and path.stat().st_size == 0:
        return []  # nothing happened (no crowd, no attack): a quiet run is scored, not an input error
    for rec in iter_jsonl(path):
        if rec.get("kind") != "attack_phase":
            continue
        key = str(rec.get("attack_id", rec.get("id")))
        a = by_id.setdefault(
            key,
            {
                "id": key,
                "attack": rec.get("attack"),
                "start": math.inf,
                "end": -math.inf,
                "track": [],
                "addrs": set(),
                "technique": set(),
            },
        )
        t = float(rec["t"])
        a["start"], a["end"] = min(a["start"], t), max(a["end"], t, float(rec.get("t_end") or t))
        a["timed"] = a.get("timed", False) or rec.get("t_end") is not None
        a["open"] = not a["timed"] and rec.get("phase") != "gone"
        if rec.get("xy") is not None:
            a["track"].append((t, float(rec["xy"][0]), float(rec["xy"][1])))
        for k in ("src", "dst", "cameras"):
            v = rec.get(k)
            a["addrs"].update(str(x) for x in (v if isinstance(v, list) else [v] if v else []))
        if rec.get("technique"):
            a["technique"].add(rec["technique"])
    return sorted(by_id.values(), key=lambda a: a["start"])


def _alert_addrs(alert: dict[str, Any]) -> set[str]:
    ev = alert.get("evidence") or {}
    out: set[str] = set(alert.get("source") or [])
    for k in ("src", "dst"):
        v = ev.get(k)
        out.update(v if isinstance(v, list) else [v] if v else [])
    return {str(x) for x in out}


def _position(attack: dict[str, Any], t: float) -> tuple[float, float] | None:
    if not attack["track"]:
        return None
    tr = min(attack["track"], key=lambda p: abs(p[0] - t))
    return tr[1], tr[2]


def _matches(attack: dict[str, Any], alert: dict[str, Any], rules: dict[str, frozenset[str]]) -> bool:
    if alert["kind"] not in rules.get(attack["attack"], ()):
        return False
    t = float(alert["t"])
    if not attack["start"] - EARLY_S <= t <= attack["end"] + WINDOW_S:
        return False
    pos, xy = _position(attack, t), alert.get("xy")
    if pos is not None and xy is not None and math.dist(pos, xy) > RADIUS_M:
        return False
    return not (attack["addrs"] and _alert_addrs(alert) and not attack["addrs"] & _alert_addrs(alert))


def _scenario_duration(run: Path) -> float:
    """``duration_s`` of the run's ``scenario.yaml``; 0 when there is none or it is unreadable."""
    scen = run / "scenario.yaml"
    if not scen.is_file():
        return 0.0
    import yaml

    try:
        d = yaml.safe_load(scen.read_text(encoding="utf-8"))
        duration = float(d.get("duration_s", 0)) if isinstance(d, dict) else 0.0
    except (yaml.YAMLError, TypeError, ValueError):
        duration = 0.0  # an unreadable scenario: fall back to the span of the records
    return duration if duration > 0 else 0.0


def _duration_s(run: Path, times: list[float]) -> float:
    duration = _scenario_duration(run)
    if duration > 0:
        return duration
    return max(times) - min(times) if len(times) > 1 else 0.0


def _seqinfo_fps(path: Path) -> float | None:
    """``frameRate`` of a MOTChallenge ``seqinfo.ini``, if the file is there and has one."""
    if not path.is_file():
        return None
    import configparser

    ini = configparser.ConfigParser()
    try:
        ini.read(path, encoding="utf-8")
        return float(ini["Sequence"]["frameRate"])
    except (configparser.Error, KeyError, ValueError):
        return None


def _hypotheses(cam: Path, fps: float) -> tuple[np.ndarray, str] | None:
    """The camera's tracker output: the online tracker's ``TRACK_FILE`` when the run wrote one, else
    det.txt re-tracked here at the camera's frame rate; None without either."""
    track, det = cam / TRACK_FILE, cam / "det" / "det.txt"
    if track.is_file():
        return (load_mot(track) if track.stat().st_size else np.empty((0, 10))), "online"
    if not det.is_file():
        return None
    cam_fps = _seqinfo_fps(cam / "seqinfo.ini") or fps
    return (track_mot(str(det), fps=cam_fps) if det.stat().st_size else np.empty((0, 10))), "retracked"


def _tracking(run: Path, fps: float) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    cams = run / "sensors" / "cameras"
    for cam in sorted(cams.iterdir()) if cams.is_dir() else []:
        gt = cam / "gt" / "gt.txt"
        if not gt.is_file() or gt.stat().st_size == 0:
            continue
        found = _hypotheses(cam, fps)
        if found is None:
            continue
        hyp, source = found
        m = mot_metrics(load_mot(gt), hyp)
        out[cam.name] = {"tracks": source} | {
            k: round(m[k], 4)
            for k in (
                "mota",
                "idf1",
                "num_switches",
                "motp",
                "recall",
                "precision",
                "num_false_positives",
                "num_misses",
            )
        }
    return out


def _density(run: Path) -> dict[str, Any] | None:
    truth_path = run / "crowd_density.csv"
    if not truth_path.is_file():
        return None
    est: dict[str, list[tuple[float, float]]] = defaultdict(list)
    est_path = run / "density_estimates.csv"
    if est_path.is_file():
        with open(est_path, newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                est[row["zone"]].append((float(row["t"]), float(row["people"])))
        source = "density_estimates.csv"
    else:
        source = "counter/area messages in events.jsonl"
        if (run / "events.jsonl").is_file():
            for m in iter_jsonl(run / "events.jsonl"):
                if m.get("topic") == "counter/area":
                    est[str(m.get("zone") or m.get("sensor_id"))].append((float(m["t"]), float(m["count"])))
    errs: dict[str, list[float]] = defaultdict(list)
    n_truth = 0
    with open(truth_path, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            n_truth += 1
            series = est.get(row["zone"])
            if not series:
                continue
            t = float(row["t"])
            i = int(np.searchsorted([s[0] for s in series], t, side="right")) - 1
            if i >= 0 and t - series[i][0] <= 30.0:
                errs[row["zone"]].append(series[i][1] - float(row["people"]))
    allerr = np.array([e for v in errs.values() for e in v])
    if not len(allerr):
        return {"source": source, "n_truth": n_truth, "n_compared": 0}
    return {
        "source": source,
        "n_truth": n_truth,
        "n_compared": int(len(allerr)),
        "mae_people": round(float(np.abs(allerr).mean()), 3),
        "rmse_people": round(float(np.sqrt((allerr**2).mean())), 3),
        "bias_people": round(float(allerr.mean()), 3),
        "mae_by_zone": {z: round(float(np.abs(v).mean()), 3) for z, v in sorted(errs.items())},
    }


def _score_attacks(attacks: list[dict], alerts: list[dict], rules: dict) -> tuple[list[dict], list[bool]]:
    """One row per attack (detected, time to detect, localisation error) and which alerts matched one."""
    used = [False] * len(alerts)
    rows = []
    for a in attacks:
        hits = [i for i, al in enumerate(alerts) if _matches(a, al, rules)]
        for i in hits:
            used[i] = True
        first = min(hits, key=lambda i: float(alerts[i]["t"])) if hits else None
        row = {"id": a["id"], "attack": a["attack"], "start_t": a["start"], "end_t": a["end"],
               "detected": first is not None, "time_to_detect_s": None, "localisation_error_m": None,
               "alert_kinds": sorted({alerts[i]["kind"] for i in hits}), "technique": sorted(a["technique"])}
        if first is not None:
            al = alerts[first]
            row["time_to_detect_s"] = round(max(0.0, float(al["t"]) - a["start"]), 3)
            pos = _position(a, float(al["t"]))
            if pos is not None and al.get("xy") is not None:
                row["localisation_error_m"] = round(math.dist(pos, al["xy"]), 2)
        rows.append(row)
    return rows, used


def _per_kind(rows: list[dict]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for kind in sorted({r["attack"] for r in rows}):
        rs = [r for r in rows if r["attack"] == kind]
        ttd = [r["time_to_detect_s"] for r in rs if r["time_to_detect_s"] is not None]
        loc = [r["localisation_error_m"] for r in rs if r["localisation_error_m"] is not None]
        out[kind] = {
            "n": len(rs),
            "detected": sum(r["detected"] for r in rs),
            "mean_time_to_detect_s": round(float(np.mean(ttd)), 3) if ttd else None,
            "mean_localisation_error_m": round(float(np.mean(loc)), 2) if loc else None,
        }
    return out


def score_run(run_dir: str | os.PathLike, *, fps: float = 5.0,
              rules: dict[str, frozenset[str]] | None = None) -> dict[str, Any]:
    """Score one run folder; see the module docstring for the rules (``rules``: default ``detects()``).

    Tracking is scored on each camera's online tracker output (``sensors/cameras/<id>/track/track.txt``)
    when the run wrote it, else on its det.txt tracked here at the ``frameRate`` of its ``seqinfo.ini``
    (else ``fps``); ``tracking[<id>]["tracks"]`` says which (``online`` / ``retracked``).

    Raises
    ------
    AnalyticsInputError
        If ``ground_truth.jsonl`` is missing or not JSON lines.
    """
    run = Path(run_dir)
    rules = detects() if rules is None else rules
    attacks = _attacks(run)
    run_end = _scenario_duration(run)
    for a in attacks:
        a.pop("timed")
        if a.pop("open") and run_end > a["end"]:
            a["end"] = run_end
    path = run / "alerts.jsonl"
    alerts = list(iter_jsonl(path)) if path.is_file() and path.stat().st_size else []
    rows, used = _score_attacks(attacks, alerts, rules)
    times = [float(al["t"]) for al in alerts] + [t for a in attacks for t in (a["start"], a["end"])]
    duration = _duration_s(run, times)
    false = [al for al, u in zip(alerts, used, strict=True) if not u]
    return {
        "attacks": rows,
        "per_kind": _per_kind(rows),
        "alerts": len(alerts),
        "false_alarms": len(false),
        "false_alarms_by_kind": {
            k: sum(al["kind"] == k for al in false) for k in sorted({a["kind"] for a in false})
        },
        "duration_s": duration,
        "false_alarms_per_hour": round(len(false) / (duration / 3600.0), 3) if duration > 0 else None,
        "tracking": _tracking(run, fps),
        "density": _density(run),
        "rules": {"detects": {k: sorted(v) for k, v in rules.items()}, "window_s": WINDOW_S,
                  "early_s": EARLY_S, "radius_m": RADIUS_M},
    }


def write_metrics(run_dir: str | os.PathLike) -> Path:
    """Score the run and write ``metrics.json`` atomically, keeping keys others already wrote there."""
    run = Path(run_dir)
    path = run / "metrics.json"
    data: dict[str, Any] = {}
    if path.is_file():
        try:
            old = json.loads(path.read_text(encoding="utf-8"))
            data = old if isinstance(old, dict) else {}
        except ValueError as exc:
            raise AnalyticsInputError(f"{path}: line 1: not JSON ({exc})") from None
    data["detection"] = score_run(run)
    pipeline = run / "analytics.json"   # the pipeline's own figures (scenarios.alerting): errors per detector
    if pipeline.is_file():
        rep = json.loads(pipeline.read_text(encoding="utf-8"))
        data["analytics"] = {k: rep[k] for k in ("messages", "errors", "errors_by_detector", "first_errors")
                             if k in rep}
    return atomic_write_lines(path, [json.dumps(data, indent=2, sort_keys=True)])
