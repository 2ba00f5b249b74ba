"""Which alerts detect which attacks, by strict rules, and the detection figures per attack and per kind.

Rules (each attack kind declares its own part: ``detected_by``, ``observable_from``, ``observable_until``,
``grace_s``, ``act_records``; see ``agents.attackers.base`` and ``sensors.cyber.campaigns.base``):

- **Window.** An attack can be detected from its first observable act (the drop, the first shot, the ram,
  the first packet or camera cut...: the first truth record of a kind ``observable_from`` names, or the
  start of such a phase) until
  ``observable_until`` begins (else while it lasts: its last phase, or the run's end for an attacker still
  there), plus ``grace_s`` (at most 60 s). An alert counts at the time it was published on the bus (its
  ``t``; a detector's estimate of when the event happened stays in ``evidence.t_event``).
- **Kind.** The alert's kind is one of the attack kind's ``detected_by``.
- **Place.** A point alert (``xy``) must lie within ``RADIUS_M`` of where the attack was at the alert's
  time (for an attack with act records: of the nearest act); a zone alert (``zone``, a zone of
  ``crowd_zones.geojson``) must contain that position; a cyber alert must name the targeted host (its
  address or node id) or a camera the attack took down, among its ``source`` and ``evidence.src/dst``. An
  alert with neither a point, nor a known zone, nor a host matches nothing.
- **Figures.** Time to detect: first matching alert's ``t`` minus the first observable act. Localisation
  error: that alert's distance to the act's position (``act_records``; else the attacker's position at the
  alert). Every alert matching no attack is a false alarm; one that a look-alike explains is counted by
  look-alike too: a look-alike whose ``explains`` holds the alert kind was truly where the alert points
  when it was raised (the run's ``alerts_truth.jsonl``), or left a record there (tagged ``lookalike``,
  within ``RADIUS_M``) up to ``EXPLAIN_S`` before it.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely

__all__ = ["EXPLAIN_S", "MAX_GRACE_S", "RADIUS_M", "Attack", "Rule", "attacks_from_truth", "score_detection"]

#: Metres between a point alert and the attack's position (or act) beyond which they do not match.
RADIUS_M = 50.0
#: No kind's grace may exceed this (s).
MAX_GRACE_S = 60.0
#: A look-alike record explains an alert raised up to this long after it (s).
EXPLAIN_S = 600.0


@dataclass(frozen=True)
class Rule:
    """One attack kind's scoring declarations."""

    detected_by: frozenset[str]
    observable_from: str | tuple[str, ...]
    observable_until: str | None
    grace_s: float
    act_records: tuple[str, ...] = ()
    cyber: bool = False


@dataclass
class Attack:
    """One attack as the ground truth shows it."""

    id: str
    kind: str
    start: float                    # first phase record
    end: float                      # end of its last phase (or the run's end while it lasts)
    t_act: float | None = None      # first observable act
    t_until: float | None = None    # window's end, grace included
    track: list[tuple[float, float, float]] = field(default_factory=list)   # (t, x, y)
    lonlat: list[tuple[float, float, float]] = field(default_factory=list)  # (t, lon, lat)
    acts: list[tuple[float, float, float]] = field(default_factory=list)    # (t, x, y)
    hosts: set[str] = field(default_factory=set)
    technique: set[str] = field(default_factory=set)
    excluded: set[str] = field(default_factory=set)   # alert kinds this attack's variant cannot cause
    phases: list[tuple[str, float, float | None]] = field(default_factory=list)   # (phase, t, t_end)
    tid: Any = None


def _group(records: list[dict]) -> dict[str, Attack]:
    """Attacks from their ``attack_phase`` records (grouped by ``attack_id``, else ``id``)."""
    out: dict[str, Attack] = {}
    for r in records:
        if r.get("kind") != "attack_phase":
            continue
        key = str(r.get("attack_id", r.get("id")))
        a = out.get(key)
        t = float(r["t"])
        if a is None:
            a = out[key] = Attack(key, str(r.get("attack")), t, t, tid=r.get("id"))
        a.start = min(a.start, t)
        a.end = max(a.end, t, float(r.get("t_end") or t))
        a.phases.append((str(r.get("phase")), t, r.get("t_end")))
        if r.get("xy") is not None:
            a.track.append((t, float(r["xy"][0]), float(r["xy"][1])))
            if r.get("lonlat") is not None:
                a.lonlat.append((t, float(r["lonlat"][0]), float(r["lonlat"][1])))
        for k in ("dst", "target", "cameras"):
            v = r.get(k)
            a.hosts.update(str(x) for x in (v if isinstance(v, list) else [v] if v else []))
        if r.get("technique"):
            a.technique.add(r["technique"])
        a.excluded.update(str(k) for k in r.get("not_detected_by") or ())
    return out


def _acts(records: list[dict], attacks: dict[str, Attack]) -> dict[str, dict[str, list]]:
    """Truth records that belong to an attack, by attack id and record kind: ``(t, x, y)`` each."""
    by_tid = {a.tid: a.id for a in attacks.values()}
    placed_by: dict[Any, str] = {}
    out: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for r in records:
        kind = r.get("kind")
        aid = r.get("attack_id")
        if kind == "object_placed" and r.get("by") in by_tid:
            aid = by_tid[r["by"]]
            placed_by[r.get("id")] = aid
        elif kind == "object_removed" and r.get("id") in placed_by:
            aid = placed_by[r["id"]]
        elif kind in ("attack_flow", "camera_status"):
            aid = r.get("id")
        if aid is None or str(aid) not in attacks:
            continue
        xy = r.get("xy")
        out[str(aid)][kind].append((float(r["t"]), *(map(float, xy) if xy is not None else (math.nan,) * 2)))
    return out


def _window(a: Attack, rule: Rule, acts: dict[str, list], run_end: float) -> None:
    """Set ``t_act`` and ``t_until`` of ``a`` by its kind's rule (see the module docstring)."""
    first: dict[str, float] = {}
    for ph, t, _ in a.phases:
        first[ph] = min(t, first.get(ph, t))
    marks = (rule.observable_from,) if isinstance(rule.observable_from, str) else rule.observable_from
    times = [t for m in marks for t, _, _ in acts.get(m, [])] + [first[m] for m in marks if m in first]
    a.t_act = min(times) if times else None
    if a.t_act is None:
        return
    if rule.observable_until is not None:
        later = [t for t, _, _ in acts.get(rule.observable_until, []) if t >= a.t_act]
        until = min(later) if later else first.get(rule.observable_until)
        if until is None:               # its end never came: the act lasts to the end of the run
            until = a.end if rule.cyber else max(a.end, run_end)
    else:                               # while the attacker is there
        until = a.end if rule.cyber or "gone" in first else max(a.end, run_end)
    a.t_until = max(until, a.t_act) + min(rule.grace_s, MAX_GRACE_S)
    a.acts = sorted(p for k in rule.act_records for p in acts.get(k, []) if math.isfinite(p[1]))


def attacks_from_truth(records: list[dict], rules: dict[str, Rule], run_end: float) -> list[Attack]:
    """Every attack of the ground truth with its scoring window, acts and hosts, by start time."""
    attacks = _group(records)
    acts = _acts(records, attacks)
    for a in attacks.values():
        rule = rules.get(a.kind)
        if rule is not None:
            _window(a, rule, acts.get(a.id, {}), run_end)
    return sorted(attacks.values(), key=lambda a: a.start)


def _nearest(points: list[tuple[float, float, float]], t: float) -> tuple[float, float] | None:
    if not points:
        return None
    p = min(points, key=lambda q: abs(q[0] - t))
    return p[1], p[2]


def _alert_hosts(alert: dict) -> set[str]:
    ev = alert.get("evidence") or {}
    out: set[str] = {str(s) for s in alert.get("source") or []}
    for k in ("src", "dst"):
        v = ev.get(k)
        out.update(str(x) for x in (v if isinstance(v, list) else [v] if v else []))
    return out


def _alert_zone(alert: dict, zones: dict[str, Any]):
    name = alert.get("zone") or (alert.get("evidence") or {}).get("zone")
    return zones.get(str(name)) if name is not None else None


def matches(a: Attack, alert: dict, rule: Rule, zones: dict[str, Any]) -> bool:
    """True when ``alert`` detects ``a`` by the rules of the module docstring."""
    if alert.get("kind") not in rule.detected_by or alert.get("kind") in a.excluded or a.t_act is None:
        return False
    t = float(alert["t"])
    if not a.t_act <= t <= a.t_until:
        return False
    if rule.cyber:
        return bool(a.hosts & _alert_hosts(alert))
    xy = alert.get("xy")
    if xy is not None:
        pos = _nearest(a.acts, t) or _nearest(a.track, t)
        return pos is not None and math.dist(pos, xy) <= RADIUS_M
    zone = _alert_zone(alert, zones)
    ll = _nearest(a.lonlat, t)
    return zone is not None and ll is not None and bool(zone.covers(shapely.Point(ll)))


def _row(a: Attack, alerts: list[dict], hits: list[int]) -> dict[str, Any]:
    first = min(hits, key=lambda i: float(alerts[i]["t"])) if hits else None
    row = {"id": a.id, "attack": a.kind, "start_t": a.start, "end_t": a.end, "act_t": a.t_act,
           "window_end_t": a.t_until, "detected": first is not None, "time_to_detect_s": None,
           "localisation_error_m": None, "alert_kinds": sorted({alerts[i]["kind"] for i in hits}),
           "technique": sorted(a.technique)}
    if first is not None:
        al = alerts[first]
        row["time_to_detect_s"] = round(float(al["t"]) - a.t_act, 3)
        pos = _nearest(a.acts, float(al["t"])) or _nearest(a.track, float(al["t"]))
        if pos is not None and al.get("xy") is not None:
            row["localisation_error_m"] = round(math.dist(pos, al["xy"]), 2)
    return row


def _quantile(values: list[float], q: float) -> float | None:
    return round(float(np.quantile(values, q)), 3) if values else None


def _per_attack_kind(rows: list[dict]) -> dict[str, dict[str, Any]]:
    out = {}
    for kind in sorted({r["attack"] for r in rows}):
        rs = [r for r in rows if r["attack"] == kind]
        ttd = [r["time_to_detect_s"] for r in rs if r["time_to_detect_s"] is not None]
        loc = [r["localisation_error_m"] for r in rs if r["localisation_error_m"] is not None]
        out[kind] = {"n": len(rs), "detected": sum(r["detected"] for r in rs),
                     "recall": round(sum(r["detected"] for r in rs) / len(rs), 4),
                     "median_time_to_detect_s": _quantile(ttd, 0.5),
                     "p90_time_to_detect_s": _quantile(ttd, 0.9),
                     "median_localisation_error_m": _quantile(loc, 0.5)}
    return out


def _explained(alert: dict, looks: list[dict], explains: dict[str, frozenset[str]],
               witness: dict | None = None) -> str | None:
    """The look-alike (key) that explains a false alarm, if one does (see the module docstring)."""
    for key in (witness or {}).get("lookalikes", ()):
        if alert["kind"] in explains.get(key, ()):
            return key
    t, xy = float(alert["t"]), alert.get("xy")
    for r in looks:
        key = r["lookalike"]
        if alert["kind"] not in explains.get(key, ()) or not t - EXPLAIN_S <= float(r["t"]) <= t:
            continue
        if xy is None or r.get("xy") is None or math.dist(xy, r["xy"]) <= RADIUS_M:
            return key
    return None


def _per_alert_kind(alerts: list[dict], used: list[bool], hours: float) -> dict[str, dict[str, Any]]:
    out = {}
    for kind in sorted({a["kind"] for a in alerts}):
        idx = [i for i, a in enumerate(alerts) if a["kind"] == kind]
        true = sum(used[i] for i in idx)
        out[kind] = {"alerts": len(idx), "true": true, "false": len(idx) - true,
                     "precision": round(true / len(idx), 4),
                     "false_alarms_per_hour": round((len(idx) - true) / hours, 3) if hours > 0 else None}
    return out


def score_detection(records: list[dict], alerts: list[dict], rules: dict[str, Rule], *, zones: dict[str, Any],
                    duration_s: float, explains: dict[str, frozenset[str]] | None = None,
                    witnesses: list[dict] | None = None) -> dict[str, Any]:
    """Match ``alerts`` to the attacks of the truth ``records``; the figures of the module docstring
    (``witnesses``: each alert's truth side, in the same order, when the run wrote it)."""
    attacks = attacks_from_truth(records, rules, duration_s)
    used = [False] * len(alerts)
    rows = []
    for a in attacks:
        rule = rules.get(a.kind)
        hits = [i for i, al in enumerate(alerts) if rule is not None and matches(a, al, rule, zones)]
        for i in hits:
            used[i] = True
        rows.append(_row(a, alerts, hits))
    seen = witnesses if witnesses is not None and len(witnesses) == len(alerts) else [None] * len(alerts)
    false = [al for al, u in zip(alerts, used, strict=True) if not u]
    false_seen = [w for w, u in zip(seen, used, strict=True) if not u]
    looks = [r for r in records if r.get("lookalike")]
    by_look: dict[str, int] = defaultdict(int)
    for al, w in zip(false, false_seen, strict=True):
        key = _explained(al, looks, explains or {}, w)
        if key is not None:
            by_look[key] += 1
    hours = duration_s / 3600.0
    return {
        "attacks": rows, "per_kind": _per_attack_kind(rows),
        "per_alert_kind": _per_alert_kind(alerts, used, hours),
        "alerts": len(alerts), "false_alarms": len(false),
        "false_alarms_by_kind": {k: sum(a["kind"] == k for a in false)
                                 for k in sorted({a["kind"] for a in false})},
        "false_alarms_explained": dict(sorted(by_look.items())),
        "duration_s": duration_s,
        "false_alarms_per_hour": round(len(false) / hours, 3) if hours > 0 else None,
    }
