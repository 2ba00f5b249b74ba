"""One evaluator per criterion kind (``scenarios.criteria_kinds.CRITERIA``), registered in
``scenarios.criteria_base.EVALUATORS``; each reads the scored run and returns a ``Measurement``.

What each measures, and when its limit counts as first crossed (``crossed_t``, simulated s):

- ``detect``: the worst time to detect over the attacks of the kind, from each attack's first observable
  act (``act_t``, as ``metrics.json`` measures ``time_to_detect_s``); limit ``within_s``, else the scorer's
  window. Crossed at ``act_t + limit`` of the first late or missed attack.
- ``false_alarms_per_hour_max``: alerts detecting no attack / the run's duration in hours. Crossed at the
  false alarm that took the count over ``limit * hours``.
- ``exposed_max``: the most people in the act's crowd zones at the act; crossed at that act.
- ``injured_max``: the truth's ``injured`` records (of one attack: those with its ``attack_id``, or in runs
  written before injuries named their attack, those at the time of one of its act records); crossed at the
  injury that took the count over the limit.
- ``evacuation_s_max``, ``on_scene_s_max``: the worst time to clear the zone / for a responder to arrive after
  the act; crossed at ``act_t + limit``. A run with no physical attack but evacuation orders (scenario
  ``evacuate`` events): from the first order to the last person out.
- ``mota_min``, ``idf1_min``, ``density_mae_max``: figures over the whole run, known at its end: crossed at
  the run's end.
- ``incident``: time from the first attack's act (else its start, else t = 0) to the first incident of the
  kind (or hybrid-flagged) carrying evidence from then on; crossed at ``start + limit``.
- ``cap_within_s``: the worst time from an attack's first detecting alert to its incident's first CAP
  message; crossed at ``first alert + limit``.
- ``resilience_loss_h_max``: the worst asset's outage hours (integral of 1 - Q); crossed when the integral of
  its ``resilience.csv`` samples (trapezoids) passes the limit.

A limit whose time falls after the run's end is not known to be crossed (``crossed_t`` None).
"""

from __future__ import annotations

import gzip
import math
from pathlib import Path

from scenarios.criteria_base import Measurement, RunData, evaluator, finite

__all__: list[str] = []   # evaluators register themselves; nothing to import by name

#: A camera's tracking figures count for the "worst camera" only from this many ground-truth boxes.
MIN_GT_BOXES = 100


def _aid(i: int) -> str:
    return f"A{i + 1}"


def _within_run(t: float | None, run: RunData) -> float | None:
    return t if t is not None and t <= run.duration_s + 1e-9 else None


def _worst(items: list[tuple[str, float | None, float | None, str | None]], limit: float,
           run: RunData) -> tuple[float | None, float | None, str | None]:
    """Worst value of per-attack times ``(label, t0, value, why_missing)``: (actual, crossed_t, why).
    The actual is None when any value is missing; crossed at ``t0 + limit`` of the first late one."""
    whys = [why or f"{label}: not measured" for label, _, v, why in items if v is None]
    late = [t0 + limit for _, t0, v, _ in items if t0 is not None and (v is None or v > limit)]
    crossed = _within_run(min(late), run) if late else None
    values = [v for _, _, v, _ in items if v is not None]
    actual = max(values) if values and not whys else None
    return actual, crossed, "; ".join(whys) or None


def _first_alert(run: RunData, attack_id: str) -> int | None:
    hits = run.matches.get(attack_id) or []
    return min(hits, key=lambda i: float(run.alerts[i]["t"])) if hits else None


@evaluator("detect")
def _detect(c: dict, run: RunData) -> Measurement:
    kind, within = str(c["detect"]), finite(c.get("within_s"))
    rows = [r for r in run.attack_rows() if r.get("attack") == kind]
    subject = f"{kind} attacks"
    if not rows:
        return Measurement(subject, within or 0.0, None, why=f"no {kind} attack in the run")
    windows = [finite(r.get("window_end_t")) - finite(r.get("act_t")) for r in rows
               if finite(r.get("window_end_t")) is not None and finite(r.get("act_t")) is not None]
    limit = within if within is not None else max(windows, default=0.0)
    items, evidence = [], []
    for r in rows:
        aid, t0 = str(r["id"]), finite(r.get("act_t"))
        why = (f"attack {aid} never acted" if t0 is None else
               None if r.get("detected") else f"attack {aid} not detected")
        items.append((aid, t0, finite(r.get("time_to_detect_s")) if r.get("detected") else None, why))
        first = _first_alert(run, aid)
        evidence += [aid] + ([_aid(first)] if first is not None else [])
    actual, crossed, why = _worst(items, limit, run)
    return Measurement(subject, limit, actual, crossed, evidence, why)


@evaluator("false_alarms_per_hour_max")
def _false_alarms(c: dict, run: RunData) -> Measurement:
    limit, kind = float(c["false_alarms_per_hour_max"]), c.get("alert_kind")
    subject = f"{kind} alerts" if kind else "all alerts"
    hours = run.duration_s / 3600.0
    if hours <= 0:
        return Measurement(subject, limit, None, why="the run has no duration to divide by")
    false = [i for i in run.false_alarms if kind is None or run.alerts[i].get("kind") == kind]
    allowed = math.floor(limit * hours + 1e-9)
    crossed = float(run.alerts[false[allowed]]["t"]) if len(false) > allowed else None
    return Measurement(subject, limit, round(len(false) / hours, 3), crossed, [_aid(i) for i in false[:50]])


def _outcomes(c: dict, run: RunData) -> tuple[list[dict], str | None]:
    """The physical attacks' outcome rows (one attack's when ``attack`` is given), or why there are none."""
    figs = run.incident_figures
    if figs is None:
        return [], "the run has no incident-stage figures (metrics.json incidents)"
    rows = list(figs.get("outcomes") or [])
    if c.get("attack") is not None:
        rows = [r for r in rows if str(r.get("id")) == str(c["attack"])]
        return rows, None if rows else f"no physical attack {c['attack']!r} in the run"
    return rows, None if rows else "no physical attack in the run"


def _incident_of(run: RunData, attack_id: str) -> list[str]:
    figs = run.incident_figures or {}
    return [str(r["incident"]) for r in figs.get("attacks") or ()
            if str(r.get("id")) == attack_id and r.get("incident")]


def _subject(c: dict, every: str) -> str:
    return f"attack {c['attack']}" if c.get("attack") is not None else every


@evaluator("exposed_max")
def _exposed(c: dict, run: RunData) -> Measurement:
    limit = float(c["exposed_max"])
    subject = _subject(c, "worst attack")
    rows, why = _outcomes(c, run)
    if why:
        return Measurement(subject, limit, None, why=why)
    whys, values, over, evidence = [], [], [], []
    for r in rows:
        aid, t0, n = str(r["id"]), finite(r.get("act_t")), finite(r.get("people_at_act"))
        evidence += [aid, *_incident_of(run, aid)]
        if t0 is None or n is None:
            whys.append(f"attack {aid} never acted" if t0 is None else
                        f"attack {aid}: its act is in no crowd zone (no exposure measured)")
            continue
        values.append(n)
        if n > limit:
            over.append(t0)
    actual = max(values) if values and not whys else None
    return Measurement(subject, limit, actual, min(over) if over else None, evidence, "; ".join(whys) or None)


def _act_times(run: RunData, attack_id: str) -> set[float]:
    return {round(float(r["t"]), 3) for r in run.truth
            if str(r.get("attack_id")) == attack_id and r.get("kind") != "attack_phase"}


@evaluator("injured_max")
def _injured(c: dict, run: RunData) -> Measurement:
    limit, attack = float(c["injured_max"]), c.get("attack")
    subject = _subject(c, "all attacks")
    times = sorted(float(r["t"]) for r in run.truth if r.get("kind") == "injured")
    attacks = [str(r["id"]) for r in (run.incident_figures or {}).get("outcomes") or ()]   # physical ones
    if attack is not None:
        if str(attack) not in {str(r["id"]) for r in run.attack_rows()}:
            return Measurement(subject, limit, None, why=f"no attack {attack!r} in the run")
        hurt = [r for r in run.truth if r.get("kind") == "injured"]
        if any("attack_id" in r for r in hurt):     # the attackers name whom they hurt
            times = sorted(float(r["t"]) for r in hurt if str(r.get("attack_id")) == str(attack))
        else:                                        # older runs: by the time of its act records
            acts = _act_times(run, str(attack))
            times = [t for t in times if round(t, 3) in acts]
        attacks = [str(attack)]
    allowed = math.floor(limit + 1e-9)
    crossed = times[allowed] if len(times) > allowed else None
    evidence = [x for a in attacks for x in (a, *_incident_of(run, a))]
    return Measurement(subject, limit, float(len(times)), crossed, evidence)


def _after_act(c: dict, run: RunData, measure: str, key: str, never: str) -> Measurement:
    """A time after each attack's act (``key`` of its outcome row), worst over the attacks."""
    limit = float(c[measure])
    subject = _subject(c, "worst attack")
    rows, why = _outcomes(c, run)
    if why:
        return Measurement(subject, limit, None, why=why)
    items, evidence = [], []
    for r in rows:
        aid, t0, v = str(r["id"]), finite(r.get("act_t")), finite(r.get(key))
        evidence += [aid, *_incident_of(run, aid)]
        reason = f"attack {aid} never acted" if t0 is None else None
        if reason is None and v is None:
            unzoned = key == "time_to_clear_s" and r.get("people_at_act") is None
            what = "its act is in no crowd zone (nothing to clear)" if unzoned else never
            reason = f"attack {aid}: {what}"
        items.append((aid, t0, v, reason))
    actual, crossed, why = _worst(items, limit, run)
    return Measurement(subject, limit, actual, crossed, evidence, why)


@evaluator("evacuation_s_max")
def _evacuation(c: dict, run: RunData) -> Measurement:
    rows, _ = _outcomes(c, run)
    if not rows and c.get("attack") is None:
        orders = [r for r in run.truth if r.get("kind") == "evacuate_order"]
        if orders:
            return _ordered_evacuation(c, run, orders)
    return _after_act(c, run, "evacuation_s_max", "time_to_clear_s",
                      "the zone never fell to a tenth of the people at the act")


def _ordered_evacuation(c: dict, run: RunData, orders: list[dict]) -> Measurement:
    """No attack, but evacuation orders (scenario events): from the first order to the last person out
    (the last ``evacuated`` record), or never if someone ordered out was not out by the run's end."""
    limit = float(c["evacuation_s_max"])
    t0 = min(float(r["t"]) for r in orders)
    ordered = sum(int(r.get("people") or 0) for r in orders)
    out = sorted(float(r["t"]) for r in run.truth if r.get("kind") == "evacuated" and float(r["t"]) >= t0)
    ids = [str(r["id"]) for r in orders]
    subject = _subject(c, "evacuation order")
    if len(out) < ordered or not out:
        crossed = t0 + limit if t0 + limit <= run.duration_s else None
        return Measurement(subject, limit, None, crossed, ids,
                           why=f"{ordered - len(out)} of {ordered} ordered out were still in at the end")
    took = out[-1] - t0
    return Measurement(subject, limit, round(took, 3), t0 + limit if took > limit else None, ids)


@evaluator("on_scene_s_max")
def _on_scene(c: dict, run: RunData) -> Measurement:
    return _after_act(c, run, "on_scene_s_max", "responder_on_scene_s", "no responder reached the scene")


def _gt_boxes(run: RunData, camera: str) -> int:
    """Ground-truth boxes of ``camera`` in the run (text, gzipped text or the frame tables)."""
    folder = run.dir / "sensors" / "cameras" / camera / "gt"
    for name, opener in (("gt.txt", open), ("gt.txt.gz", gzip.open)):
        path: Path = folder / name
        if path.is_file():
            with opener(path, "rt", encoding="utf-8") as fh:
                return sum(1 for line in fh if line.strip())
    from analytics.frames import mot_rows

    rows = mot_rows(run.dir, "gt", camera)
    return 0 if rows is None else len(rows)


def _tracking(c: dict, run: RunData, key: str) -> Measurement:
    limit, figure = float(c[key]), key.removesuffix("_min")
    tracking = run.detection.get("tracking") or {}
    camera = c.get("camera")
    if camera is not None:
        value = finite((tracking.get(camera) or {}).get(figure))
        if value is None:
            return Measurement(f"camera {camera}", limit, None,
                               why=f"camera {camera} has no tracking figures")
        cams = [camera]
    else:
        boxes = {cam: _gt_boxes(run, cam) for cam in tracking}
        cams = [cam for cam in sorted(tracking) if boxes[cam] >= MIN_GT_BOXES
                and finite(tracking[cam].get(figure)) is not None]
        if not cams:
            most = max(boxes.values(), default=0)
            return Measurement("worst camera", limit, None,
                               why=f"no camera saw {MIN_GT_BOXES} ground-truth boxes (most: {most})")
        cams = [min(cams, key=lambda cam: tracking[cam][figure])]
        value = float(tracking[cams[0]][figure])
    crossed = run.duration_s if value < limit else None
    return Measurement(f"camera {cams[0]}", limit, value, crossed, cams)


@evaluator("mota_min")
def _mota(c: dict, run: RunData) -> Measurement:
    return _tracking(c, run, "mota_min")


@evaluator("idf1_min")
def _idf1(c: dict, run: RunData) -> Measurement:
    return _tracking(c, run, "idf1_min")


@evaluator("density_mae_max")
def _density(c: dict, run: RunData) -> Measurement:
    limit = float(c["density_mae_max"])
    den = run.detection.get("density")
    if not den:
        return Measurement("all zones", limit, None, why="the run has no crowd density truth")
    mae = finite(den.get("mae_people"))
    if mae is None:
        return Measurement("all zones", limit, None, why="no sensed density to compare with the truth")
    return Measurement("all zones", limit, mae, run.duration_s if mae > limit else None,
                       sorted(den.get("mae_by_zone") or {}))


def _first_start(run: RunData) -> float:
    rows = run.attack_rows()
    acts = [t for r in rows if (t := finite(r.get("act_t"))) is not None]
    starts = [t for r in rows if (t := finite(r.get("start_t"))) is not None]
    return min(acts or starts or [0.0])


@evaluator("incident")
def _incident(c: dict, run: RunData) -> Measurement:
    kind, within = str(c["incident"]), finite(c.get("within_s"))
    ref = _first_start(run)
    limit = within if within is not None else max(run.duration_s - ref, 0.0)
    subject = "hybrid incident" if kind == "hybrid" else f"{kind} incident"
    for r in run.incident_records:
        hit = bool(r.get("hybrid")) if kind == "hybrid" else r.get("kind") == kind
        t = finite(r.get("t_updated"))
        if hit and t is not None and (finite(r.get("t_last")) or 0.0) >= ref:
            actual = round(t - ref, 3)
            crossed = ref + limit if actual > limit else None
            return Measurement(subject, limit, actual, crossed, [str(r["id"])])
    return Measurement(subject, limit, None, _within_run(ref + limit, run),
                       why=f"no {subject} after t = {ref:g} s")


@evaluator("cap_within_s")
def _cap(c: dict, run: RunData) -> Measurement:
    limit = float(c["cap_within_s"])
    subject = _subject(c, "every attack")
    figs = run.incident_figures
    if figs is None:
        return Measurement(subject, limit, None, why="the run has no incident-stage figures")
    one = c.get("attack")
    rows = [r for r in figs.get("attacks") or () if one is None or str(r["id"]) == str(one)]
    if not rows:
        return Measurement(subject, limit, None, why="no attack in the run" if c.get("attack") is None
                           else f"no attack {c['attack']!r} in the run")
    items, evidence = [], []
    for r in rows:
        aid, inc = str(r["id"]), r.get("incident")
        first = _first_alert(run, aid)
        t0 = float(run.alerts[first]["t"]) if first is not None else None
        why = (f"attack {aid}: no alert detected it" if first is None else
               f"attack {aid}: no incident matched it" if inc is None else f"{inc} ({aid}) got no CAP alert")
        items.append((aid, t0, finite(r.get("evidence_to_cap_s")), why))
        caps = [x for x in run.cap_ids if inc is not None and f"-{inc}-" in f"{x}-"]
        evidence += [aid] + ([str(inc)] if inc else []) + caps
    actual, crossed, why = _worst(items, limit, run)
    return Measurement(subject, limit, actual, crossed, evidence, why)


def _loss_crossed(series: list[tuple[float, float]], limit_s: float) -> float | None:
    """First sample time at which the trapezoid integral of 1 - q passes ``limit_s``."""
    total = 0.0
    for (t0, q0), (t1, q1) in zip(series, series[1:], strict=False):
        total += (t1 - t0) * (2.0 - q0 - q1) / 2.0
        if total > limit_s:
            return t1
    return None


@evaluator("resilience_loss_h_max")
def _resilience(c: dict, run: RunData) -> Measurement:
    limit, asset = float(c["resilience_loss_h_max"]), c.get("asset")
    figs = run.incident_figures
    subject = f"asset {asset}" if asset is not None else "worst asset"
    if figs is None:
        return Measurement(subject, limit, None, why="the run has no incident-stage figures")
    loss = {a: finite(v.get("outage_h")) or 0.0 for a, v in (figs.get("resilience_loss") or {}).items()}
    if asset is None and loss:
        asset = max(sorted(loss), key=lambda a: loss[a])
        subject = f"asset {asset}"
    value = loss.get(asset, 0.0) if asset is not None else 0.0
    crossed = None
    if value > limit:
        crossed = _loss_crossed(run.resilience_series(str(asset)), limit * 3600.0) or run.duration_s
    incidents = sorted({str(r["id"]) for r in run.incident_records if asset in (r.get("assets") or ())})
    return Measurement(subject, limit, round(value, 6), crossed, incidents)
