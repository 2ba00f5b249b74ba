"""Incident-level figures of a run (``metrics.json`` ``incidents``), scored against the ground truth.

- **Matching.** An incident matches an attack when one of its contributing alerts matches it by the strict
  detection rules (``scenarios.detection.matches``: kind, window, place or host). Alert ``A<n>`` of an
  incident is line n of ``alerts.jsonl`` (the stage numbers alerts as they arrive).
- **Precision** = incidents matching an attack / incidents; **recall** per attack kind = attacks matched by an
  incident / attacks. **Alerts per incident** = alerts fused / incidents: how much fusion cuts the operators'
  load.
- **Times**, from the attack's first observable act (as time to detect): to the first matching incident's
  creation, and to the first CAP message (Alert or Update) of its matching incidents sent at or after its
  first matching alert (``fusion.json`` ``cap_t``); and from that first matching alert (the first sensor
  evidence published) to that CAP message. An attack whose alerts join an incident another attack opened is
  not credited with that incident's earlier Alert. An incident whose risk stays under the CAP threshold has no
  CAP message (None).
- **Hybrid label.** A physical attack is truly hybrid when a cyber attack that blinds the video system
  (``cyber_dos``, ``stream_hijack``) was on from ``HYBRID_BEFORE_S`` before its act to ``HYBRID_AFTER_S``
  after; the label is correct when the matching incident's ``hybrid`` says the same.
- **Exposure.** Each located incident's estimate of the people exposed (``risk.exposed``, from what sensors
  sensed) against the people truly within the same radius when it was created (``incidents_truth.jsonl``):
  the relative error per incident and its median.
- **Outcomes** per physical attack (what ``response.policy`` changes): the true people in the crowd zones
  holding the act (``crowd_density.csv``) at the act, at their peak after it and integrated over the rest of
  the run (person-seconds exposed); the time until they fall to a tenth of the count at the act (the zone
  cleared; None if never); the people it injured (truth ``injured`` records with its ``attack_id``); and the
  first responder's arrival on
  scene after the act.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import shapely

from analytics.crowd import read_density_csv
from analytics.events import iter_jsonl
from scenarios.detection import Attack, Rule, attacks_from_truth, matches

__all__ = ["HYBRID_AFTER_S", "HYBRID_BEFORE_S", "score_incidents"]

#: A blinding cyber attack this long before a physical act (s) makes the act's incident truly hybrid ...
HYBRID_BEFORE_S = 1800.0
#: ... or starting up to this long after it (s).
HYBRID_AFTER_S = 60.0
#: Cyber attack kinds that blind cameras.
BLINDING = ("cyber_dos", "stream_hijack")


def _lines(path: Path) -> list[dict]:
    return list(iter_jsonl(path)) if path.is_file() and path.stat().st_size else []


def _final_incidents(run: Path) -> list[dict]:
    last: dict[str, dict] = {}
    for rec in _lines(run / "incidents.jsonl"):
        last[rec["id"]] = rec
    return [last[k] for k in sorted(last)]


def _matched(incidents: list[dict], alerts: list[dict], attacks: list[Attack], rules: dict[str, Rule],
             zones: dict[str, Any]) -> tuple[dict[str, list[str]], dict[str, float]]:
    """Attack id -> ids of the incidents matching it, and -> the time of its first matching alert (the
    first sensor evidence the analytics published)."""
    out: dict[str, list[str]] = defaultdict(list)
    first: dict[str, float] = {}
    for inc in incidents:
        idx = [int(a["id"][1:]) - 1 for a in inc.get("alerts") or () if str(a.get("id", "")).startswith("A")]
        mine = [alerts[i] for i in idx if 0 <= i < len(alerts)]
        for atk in attacks:
            rule = rules.get(atk.kind)
            hits = [float(al["t"]) for al in mine if rule is not None and matches(atk, al, rule, zones)]
            if hits:
                out[atk.id].append(inc["id"])
                first[atk.id] = min(first.get(atk.id, math.inf), min(hits))
    return out, first


def _truly_hybrid(atk: Attack, attacks: list[Attack]) -> bool:
    if atk.t_act is None or not atk.acts and not atk.track:
        return False
    return any(c.kind in BLINDING and c.start <= atk.t_act + HYBRID_AFTER_S
               and c.end >= atk.t_act - HYBRID_BEFORE_S for c in attacks)


def _density(run: Path) -> dict[str, list[tuple[float, float]]]:
    path = run / "crowd_density.csv"
    return read_density_csv(path) if path.is_file() else {}


def _outcome(atk: Attack, records: list[dict], zones: dict[str, Any], density, end: float) -> dict:
    """The outcome figures of one physical attack (module docstring); the act's place is where the attacker
    was (lon/lat) at the act, which the zones (lon/lat) are tested against."""
    t0 = atk.t_act
    pos = min(atk.lonlat, key=lambda q: abs(q[0] - t0))[1:] if atk.lonlat and t0 is not None else None
    out: dict[str, Any] = {"id": atk.id, "attack": atk.kind, "act_t": t0, "zones": [], "people_at_act": None,
                           "peak_people": None, "exposed_person_s": None, "time_to_clear_s": None,
                           "injured": sum(r.get("kind") == "injured" and str(r.get("attack_id")) == atk.id
                                          for r in records),
                           "responder_on_scene_s": None}
    on = [float(r["t"]) for r in records if r.get("kind") == "on_scene" and t0 is not None and r["t"] >= t0]
    if on:
        out["responder_on_scene_s"] = round(min(on) - t0, 1)
    if pos is None or t0 is None:
        return out
    p = shapely.Point(*pos)
    names = sorted(z for z, g in zones.items() if g.covers(p))
    if not names:
        return out
    times = sorted({t for z in names for t, _ in density.get(z, ())})
    counts = {t: 0.0 for t in times}
    for z in names:
        for t, n in density.get(z, ()):
            counts[t] += n
    ts = np.array([t for t in times if t >= t0 - 1e-9])
    if ts.size == 0:
        return out
    ns = np.array([counts[t] for t in ts])
    out.update(zones=names, people_at_act=float(ns[0]), peak_people=float(ns.max()))
    span = np.diff(np.append(ts, max(end, ts[-1])))
    out["exposed_person_s"] = round(float(np.sum(ns * span)), 1)
    clear = np.nonzero(ns <= 0.1 * ns[0])[0] if ns[0] > 0 else np.array([0])
    out["time_to_clear_s"] = round(float(ts[clear[0]] - t0), 1) if clear.size else None
    return out


def _exposure(run: Path, incidents: dict[str, dict]) -> dict[str, Any]:
    rows = []
    for w in _lines(run / "incidents_truth.jsonl"):
        est = w.get("exposed_estimate")
        if est is None or not math.isfinite(float(est)):
            continue
        true = int(w["people"])
        rel = (float(est) - true) / true if true > 0 else None
        rows.append({"id": w["id"], "t": w["t"], "radius_m": w["radius_m"], "estimate": round(float(est), 2),
                     "true": true, "relative_error": None if rel is None else round(rel, 4),
                     "attack": bool(w.get("attacks"))})
    errs = [abs(r["relative_error"]) for r in rows if r["relative_error"] is not None]
    return {"per_incident": rows,
            "median_abs_relative_error": round(float(np.median(errs)), 4) if errs else None}


def score_incidents(run: Path, records: list[dict], alerts: list[dict], rules: dict[str, Rule], *,
                    zones: dict[str, Any], duration_s: float) -> dict[str, Any] | None:
    """The incident figures of the run folder ``run`` (module docstring); None when the run has no incident
    stage output."""
    if not (run / "incidents.jsonl").is_file():
        return None
    incidents = _final_incidents(run)
    path = run / "fusion.json"
    fusion = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    cap_t = fusion.get("cap_t") or {k: [v] for k, v in fusion.get("cap_first_t", {}).items()}
    attacks = attacks_from_truth(records, rules, duration_s)
    hit, evidence = _matched(incidents, alerts, attacks, rules, zones)
    by_id = {i["id"]: i for i in incidents}
    rows = []
    for atk in attacks:
        ids = hit.get(atk.id, [])
        first = min((by_id[i] for i in ids), key=lambda i: i["t_first"], default=None)
        row = {"id": atk.id, "attack": atk.kind, "incident": None if first is None else first["id"],
               "time_to_incident_s": None, "time_to_cap_s": None, "evidence_to_cap_s": None, "hybrid": None,
               "hybrid_true": _truly_hybrid(atk, attacks) if not rules[atk.kind].cyber else None}
        if first is not None and atk.t_act is not None:
            row["time_to_incident_s"] = round(first["t_first"] - atk.t_act, 3)
            # the first CAP message (Alert or Update) of its incidents sent once its evidence was in: an
            # incident another attack opened may have had its Alert before this attack began
            cap = [c for i in ids for c in cap_t.get(i, ()) if c >= evidence[atk.id] - 1e-9]
            row["time_to_cap_s"] = round(min(cap) - atk.t_act, 3) if cap else None
            row["evidence_to_cap_s"] = round(min(cap) - evidence[atk.id], 3) if cap else None
            row["hybrid"] = bool(first["hybrid"])
        rows.append(row)
    true_incidents = {i for ids in hit.values() for i in ids}
    labelled = [r for r in rows if r["hybrid"] is not None and r["hybrid_true"] is not None]
    kinds = sorted({r["attack"] for r in rows})
    physical = [a for a in attacks if a.kind in rules and not rules[a.kind].cyber]
    density = _density(run)
    return {
        "incidents": len(incidents), "true_incidents": len(true_incidents),
        "precision": round(len(true_incidents) / len(incidents), 4) if incidents else None,
        "per_kind": {k: {"n": sum(r["attack"] == k for r in rows),
                         "recall": round(sum(r["attack"] == k and r["incident"] is not None for r in rows)
                                         / max(sum(r["attack"] == k for r in rows), 1), 4)} for k in kinds},
        "alerts_per_incident": round(len(alerts) / len(incidents), 3) if incidents else None,
        "attacks": rows,
        "hybrid_correct": sum(r["hybrid"] == r["hybrid_true"] for r in labelled),
        "hybrid_labelled": len(labelled),
        "exposure": _exposure(run, by_id),
        "outcomes": [_outcome(a, records, zones, density, duration_s) for a in physical],
        "cap_messages": int(fusion.get("cap", 0)),
        "errors": int(fusion.get("errors", 0)), "errors_by_part": fusion.get("errors_by_part", {}),
        "first_errors": fusion.get("first_errors", {}),
        "resilience_loss": fusion.get("resilience_loss", {}),
    }
