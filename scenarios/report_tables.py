"""The report's text sections: the scenario summary, the metrics tables and the criteria table.

Each builder takes the run's ``RunData`` and returns the section's HTML; a file that is missing or lacks a
key gives a note saying so, never an exception.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from scenarios.report_data import RunData
from scenarios.report_html import esc, fmt, kv_table, note, table

__all__ = ["criteria_section", "metrics_section", "summary_section"]


#: ``(heading, key)`` of the tables' columns.
_DETECT_COLS = (("attack", "id"), ("kind", "attack"), ("start (s)", "start_t"), ("act (s)", "act_t"),
                ("detected", "detected"), ("time to detect (s)", "time_to_detect_s"),
                ("alert kinds", "alert_kinds"), ("localisation error (m)", "localisation_error_m"))
_ALERT_KIND_COLS = (("alerts", "alerts"), ("true", "true"), ("false", "false"),
                    ("false alarms per hour", "false_alarms_per_hour"), ("precision", "precision"))
_INCIDENT_COLS = (("attack", "id"), ("kind", "attack"), ("incident", "incident"),
                  ("time to incident (s)", "time_to_incident_s"), ("time to CAP (s)", "time_to_cap_s"),
                  ("evidence to CAP (s)", "evidence_to_cap_s"), ("hybrid", "hybrid"),
                  ("truly hybrid", "hybrid_true"))
_OUTCOME_COLS = (("attack", "id"), ("kind", "attack"), ("act (s)", "act_t"),
                 ("people at act", "people_at_act"), ("peak people", "peak_people"),
                 ("exposed person-s", "exposed_person_s"), ("injured", "injured"),
                 ("time to clear (s)", "time_to_clear_s"), ("responder on scene (s)", "responder_on_scene_s"))
_LOSS_COLS = (("loss (s)", "loss_s"), ("outage (h)", "outage_h"), ("min Q", "min_q"), ("at (s)", "t_min"))
_TRACK_COLS = (("MOTA", "mota"), ("IDF1", "idf1"), ("precision", "precision"), ("recall", "recall"),
               ("misses", "num_misses"), ("false positives", "num_false_positives"),
               ("switches", "num_switches"))


def _d(value: Any) -> dict:
    return value if isinstance(value, Mapping) else {}


def _l(value: Any) -> list:
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


def _columns(items: list[Mapping], cols: tuple[tuple[str, str], ...], *, key: str | None = None) -> str:
    """A table of ``items`` with one column per ``(heading, key)``; ``key`` names a first column that holds
    each item's own name (for ``{name: {...}}`` mappings turned into ``[{key: name, ...}]``)."""
    cols = (((key, key),) if key else ()) + cols
    return table([h for h, _ in cols], [[it.get(k) for _, k in cols] for it in items])


def _named(mapping: Any, key: str) -> list[dict]:
    """``{name: {...}}`` as ``[{key: name, ...}]`` sorted by name."""
    return [{key: k, **_d(v)} for k, v in sorted(_d(mapping).items())]


def _count(value: Any) -> int:
    """How many of a sensor kind a scenario asks for (a number, a list, or a spec with ``count``/``list``)."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, list):
        return len(value)
    if isinstance(value, Mapping):
        n = len(value.get("list") or [])
        auto = value.get("auto")
        n += int(_d(auto).get("count") or 0) if auto else 0
        return n
    return 0


def summary_section(data: RunData) -> str:
    """Name, city, box, duration, start, crowd, sensors, attacks and response policy (``scenario.yaml``)."""
    sc = data.yaml("scenario.yaml")
    if sc is None:
        return note(f"No scenario summary: {data.why('scenario.yaml')}.")
    crowd, resp = _d(sc.get("crowd")), _d(sc.get("response"))
    sensors = _d(sc.get("sensors"))
    cams = _d(sensors.get("cameras"))
    cam_text = f"{_count(cams)} listed/auto" + (" + mapped (from OSM)" if cams.get("from_osm") else "")
    calib = data.calibrations()
    if calib:
        cam_text += f"; {len({e.get('camera_id') for e in calib})} in the run"
    sensor_rows = [(f"sensors: {k}", cam_text if k == "cameras" else _count(v))
                   for k, v in sensors.items() if k != "conditions"]
    city, bbox = sc.get("city"), sc.get("bbox")
    pairs = [("name", sc.get("name")), ("city", city if isinstance(city, str) else fmt(city)),
             ("bbox (W, S, E, N)", ", ".join(map(str, bbox)) if isinstance(bbox, list) else None),
             ("seed", sc.get("seed")),
             ("duration (s)", sc.get("duration_s")), ("time step (s)", sc.get("dt_s")),
             ("start time", sc.get("start_time")), ("crowd population", crowd.get("population")),
             ("crowd flows", sum(int(_d(f).get("people") or 0) for f in crowd.get("flows") or [])),
             ("crowd gatherings", sum(int(_d(g).get("people") or 0) for g in crowd.get("gatherings") or [])),
             *sensor_rows, ("conditions", _d(sensors.get("conditions")) or None),
             ("response policy", resp.get("policy")), ("decision delay (s)", resp.get("decision_delay_s")),
             ("ordered dispatches", len(resp.get("dispatch") or [])),
             ("scheduled events", len(sc.get("events") or []))]
    attacks = _l(sc.get("attacks"))
    rows = [(a.get("id"), a.get("kind"), a.get("start_s"),
             a.get("at") if a.get("at") is not None else a.get("target"),
             fmt({k: v for k, v in a.items() if k not in ("id", "kind", "start_s", "at", "target")}))
            for a in attacks]
    out = kv_table(pairs) + "<h3>Attacks</h3>"
    out += (table(("id", "kind", "start (s)", "at / target", "parameters"), rows) if rows
            else note("No attacks."))
    crit = sc.get("criteria") or []
    out += f"<p>{esc(len(crit))} criteria declared.</p>"
    return out


def _detection(m: Mapping) -> str:
    det = _d(m.get("detection"))
    if not det:
        return note("metrics.json has no detection part.")
    rows = _l(det.get("attacks"))
    out = "<h3>Detection per attack</h3>"
    out += _columns(rows, _DETECT_COLS) if rows else note("No attack in this run.")
    out += "<h3>False alarms</h3>" + kv_table([
        ("alerts", det.get("alerts")), ("false alarms", det.get("false_alarms")),
        ("false alarms per hour", det.get("false_alarms_per_hour")), ("duration (s)", det.get("duration_s"))])
    per = _d(det.get("per_alert_kind"))
    if per:
        out += _columns(_named(per, "alert kind"), _ALERT_KIND_COLS, key="alert kind")
    return out


def _incidents(m: Mapping) -> str:
    inc = _d(m.get("incidents"))
    if not inc:
        return note("metrics.json has no incidents part (the run had no incident stage).")
    out = "<h3>Incidents</h3>" + kv_table([
        ("incidents", inc.get("incidents")), ("true incidents", inc.get("true_incidents")),
        ("precision", inc.get("precision")), ("alerts per incident", inc.get("alerts_per_incident")),
        ("CAP messages", inc.get("cap_messages")),
        ("recall by attack kind", {k: _d(v).get("recall") for k, v in _d(inc.get("per_kind")).items()}),
        ("exposure median |relative error|", _d(inc.get("exposure")).get("median_abs_relative_error"))])
    rows = _l(inc.get("attacks"))
    if rows:
        out += "<h3>Time to incident and CAP</h3>" + _columns(rows, _INCIDENT_COLS)
    rows = _l(inc.get("outcomes"))
    if rows:
        out += "<h3>Outcomes</h3>" + _columns(rows, _OUTCOME_COLS)
    res = _d(inc.get("resilience_loss"))
    if res:
        out += "<h3>Resilience loss</h3>" + _columns(_named(res, "asset"), _LOSS_COLS, key="asset")
    return out


def _tracking(m: Mapping) -> str:
    det = _d(m.get("detection"))
    trk = _d(det.get("tracking"))
    out = "<h3>Tracking per camera</h3>"
    if trk:
        out += _columns(_named(trk, "camera"), _TRACK_COLS, key="camera")
    else:
        out += note("No tracking scores (no camera frames in this run).")
    den = det.get("density")
    out += "<h3>Density error</h3>"
    if isinstance(den, Mapping):
        out += kv_table([("MAE (people)", den.get("mae_people")), ("RMSE (people)", den.get("rmse_people")),
                         ("bias (people)", den.get("bias_people")), ("compared", den.get("n_compared"))])
    else:
        out += note("No density error (no sensed density in this run).")
    return out


def metrics_section(data: RunData) -> str:
    """The key figures of ``metrics.json``."""
    m = data.json("metrics.json")
    if not isinstance(m, Mapping):
        return note(f"No metrics: {data.why('metrics.json')} (the run was not scored).")
    return _detection(m) + _incidents(m) + _tracking(m)


def criteria_section(data: RunData) -> str:
    """The criteria results (``criteria.json``), coloured by status."""
    c = data.json("criteria.json")
    if not isinstance(c, Mapping):
        return note(f"No criteria evaluated ({data.why('criteria.json')}).")
    res = _l(c.get("results"))
    counts = _d(c.get("counts"))
    verdict = "passed" if c.get("passed") else "failed"
    head = (f"<p>Criteria {esc(verdict)}: " + esc(", ".join(f"{k} {v}" for k, v in counts.items())) + "</p>")
    if not res:
        return head + note("No criteria evaluated (criteria.json lists none).")
    rows = [(r.get("name"), r.get("subject"), r.get("status"), r.get("actual"), r.get("expected"),
             r.get("acceptable"), r.get("units"), r.get("first_violation_t"), r.get("evidence"),
             r.get("message") or r.get("known_issue")) for r in res]
    return head + table(("criterion", "subject", "status", "actual", "expected", "acceptable", "units",
                         "first violation (s)", "evidence", "message"), rows,
                        row_class=[str(r.get("status") or "") for r in res])
