"""Score a run against its ground truth: detection per attack and per kind (strict rules,
``scenarios.detection``), false alarms, tracking MOTA/IDF1/ID switches per camera, crowd density error.

Pure functions over a run folder (``ground_truth.jsonl``, ``alerts.jsonl``, ``crowd_zones.geojson``,
``sensors/cameras/<id>/{gt,det,track}``, ``crowd_density.csv``; cameras written as ``.gz`` text or as the
Parquet frame tables are scored by ``scenarios.tracking_tables``); the only knowledge of the simulation they
use is each kind's own scoring declarations (``rules()``: which alert kinds detect it, its window, its acts)
and which look-alikes explain which alert kinds. False alarms per hour divide by the run's duration
(``duration_s`` from ``scenario.yaml`` if present, else the span of ground truth and alerts).
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
import shapely

from agents.lookalikes import LOOKALIKE_KINDS
from analytics.base import AnalyticsInputError
from analytics.crowd import read_density_csv
from analytics.events import iter_jsonl
from analytics.files import atomic_write_lines
from analytics.frames import events_path
from analytics.mot import load_mot
from analytics.motscore import mot_metrics
from analytics.tracking import TRACK_FILE, track_mot
from scenarios.detection import MAX_GRACE_S, RADIUS_M, Rule, score_detection
from scenarios.incident_scoring import score_incidents
from scenarios.schema import attack_kinds, cyber_kinds
from scenarios.tracking_tables import tracking_tables

__all__ = ["detects", "explains", "read_zones", "rules", "score_run", "write_metrics"]



def rules() -> dict[str, Rule]:
    """Attack kind -> its scoring rule, as each kind declares it (see ``scenarios.detection``)."""
    cyber = set(cyber_kinds())
    return {kind: Rule(frozenset(cls.detected_by), cls.observable_from,
                       getattr(cls, "observable_until", None), float(cls.grace_s),
                       tuple(getattr(cls, "act_records", ())), kind in cyber)
            for kind, cls in attack_kinds().items()}


def detects() -> dict[str, frozenset[str]]:
    """Attack kind -> the alert kinds that count as detecting it (each kind's ``detected_by``)."""
    return {kind: rule.detected_by for kind, rule in rules().items()}


def explains() -> dict[str, frozenset[str]]:
    """Look-alike key -> the alert kinds it may honestly raise (each look-alike's ``explains``)."""
    return {key: frozenset(getattr(cls, "explains", ())) for key, cls in LOOKALIKE_KINDS.items()}


def read_zones(run: Path) -> dict[str, Any]:
    """Zone name -> lon/lat polygon, from the run's ``crowd_zones.geojson`` (none without it)."""
    path = run / "crowd_zones.geojson"
    if not path.is_file():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    return {f["properties"]["zone"]: shapely.Polygon(f["geometry"]["coordinates"][0])
            for f in data.get("features", []) if f.get("geometry", {}).get("type") == "Polygon"}


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
        est = read_density_csv(est_path)
        source = "density_estimates.csv"
    else:
        source = "counter/area messages in events.jsonl"
        events = events_path(run)
        if events is not None:
            for m in iter_jsonl(events):
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


def _records(run: Path) -> list[dict]:
    path = run / "ground_truth.jsonl"
    if path.is_file() and path.stat().st_size == 0:
        return []  # nothing happened (no crowd, no attack): a quiet run is scored, not an input error
    return list(iter_jsonl(path))


def score_run(run_dir: str | os.PathLike, *, fps: float = 5.0,
              rules_: dict[str, Rule] | None = None) -> dict[str, Any]:
    """Score one run folder (see the module docstring and ``scenarios.detection`` for the rules).

    Tracking is scored on each camera's online tracker output (``sensors/cameras/<id>/track/track.txt``)
    when the run wrote it, else on its det.txt tracked here at the ``frameRate`` of its ``seqinfo.ini``
    (else ``fps``); ``tracking[<id>]["tracks"]`` says which (``online`` / ``retracked``).

    Raises
    ------
    AnalyticsInputError
        If ``ground_truth.jsonl`` is missing or not JSON lines.
    """
    run = Path(run_dir)
    rule_set = rules() if rules_ is None else rules_
    records = _records(run)
    path = run / "alerts.jsonl"
    alerts = list(iter_jsonl(path)) if path.is_file() and path.stat().st_size else []
    times = [float(al["t"]) for al in alerts]
    times += [float(r["t"]) for r in records if r.get("kind") == "attack_phase"]
    duration = _duration_s(run, times)
    seen = run / "alerts_truth.jsonl"
    witnesses = list(iter_jsonl(seen)) if seen.is_file() and seen.stat().st_size else None
    zones = read_zones(run)
    out = score_detection(records, alerts, rule_set, zones=zones, duration_s=duration,
                          explains=explains(), witnesses=witnesses)
    out["incidents"] = score_incidents(run, records, alerts, rule_set, zones=zones, duration_s=duration)
    out["tracking"] = {**_tracking(run, fps), **tracking_tables(run, fps)}
    out["density"] = _density(run)
    out["rules"] = {
        "detects": {k: sorted(r.detected_by) for k, r in rule_set.items()},
        "windows": {k: {"from": r.observable_from, "until": r.observable_until, "grace_s": r.grace_s,
                        "acts": list(r.act_records)} for k, r in rule_set.items()},
        "radius_m": RADIUS_M, "max_grace_s": MAX_GRACE_S,
    }
    return out


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
    data["incidents"] = data["detection"].pop("incidents")   # its own section: incident-level figures
    pipeline = run / "analytics.json"   # the pipeline's own figures (scenarios.alerting): errors per detector
    if pipeline.is_file():
        rep = json.loads(pipeline.read_text(encoding="utf-8"))
        data["analytics"] = {k: rep[k] for k in ("messages", "errors", "errors_by_detector", "first_errors")
                             if k in rep}
    return atomic_write_lines(path, [json.dumps(_finite(data), indent=2, sort_keys=True, allow_nan=False)])


def _finite(obj: Any) -> Any:
    """``obj`` with every non-finite number made null: a figure with nothing to compute from (MOTP of a
    camera with no match, a precision over no hypothesis) is absent, never NaN, in ``metrics.json``."""
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_finite(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj
