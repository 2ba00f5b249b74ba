"""The incident model: lifecycle, audit log, SOP checklists (late, skipped, overdue), SOP tables, priority
defaults and the contract's dict."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from analytics.incidents import (
    DEFAULT_PRIORITY,
    INCIDENT_KINDS,
    STATES,
    TRANSITIONS,
    Incident,
    IncidentError,
    SopError,
    default_priority,
    load_sop,
)

ROOT = Path(__file__).resolve().parents[1]
CONTRACT_KEYS = {"id", "kind", "state", "priority", "confidence", "t_first", "t_last", "t_updated", "xy",
                 "lonlat", "sigma_m", "zone", "hosts", "hybrid", "hybrid_reason", "alerts", "assets",
                 "cameras", "risk", "actions", "sop", "history"}


def entry(aid, t, kind="gunshot", rule="first"):
    return {"id": aid, "t": t, "kind": kind, "source": ["mic-1"], "conf": 0.9, "reason": {"rule": rule}}


def test_lifecycle_through_every_state_with_time_and_actor():
    inc = Incident("INC-0001", "armed_attack", 10.0)
    steps = [("acknowledged", 20.0), ("in_progress", 25.0), ("resolved", 400.0), ("closed", 500.0)]
    for state, t in steps:
        inc.transition(state, t, actor="operator:anna")
    changes = [h for h in inc.history if h["event"] == "state_changed"]
    assert [(h["from"], h["to"], h["t"], h["actor"]) for h in changes] == [
        ("new", "acknowledged", 20.0, "operator:anna"),
        ("acknowledged", "in_progress", 25.0, "operator:anna"),
        ("in_progress", "resolved", 400.0, "operator:anna"), ("resolved", "closed", 500.0, "operator:anna")]
    assert inc.state == "closed" and inc.t_updated == 500.0 and not inc.is_open


def test_false_alarm_path():
    inc = Incident("INC-0002", "suspicious_object", 0.0)
    inc.transition("acknowledged", 5.0, actor="operator:ben")
    inc.transition("false_alarm", 60.0, actor="operator:ben")
    inc.transition("closed", 61.0, actor="auto")
    assert inc.state == "closed"


@pytest.mark.parametrize("path, bad", [
    ([], "resolved"), ([], "closed"), ([], "in_progress"), ([], "false_alarm"), ([], "new"),
    (["acknowledged"], "resolved"), (["acknowledged", "in_progress", "resolved"], "in_progress"),
    (["acknowledged", "false_alarm", "closed"], "new"), (["acknowledged", "in_progress"], "acknowledged"),
    ([], "done"),
])
def test_bad_transitions_are_rejected_and_change_nothing(path, bad):
    inc = Incident("INC-0003", "intrusion", 0.0)
    for i, s in enumerate(path):
        inc.transition(s, float(i + 1), actor="operator:c")
    before = (inc.state, len(inc.history))
    with pytest.raises(IncidentError, match="INC-0003: state") as err:
        inc.transition(bad, 100.0, actor="operator:c")
    assert "\n" not in str(err.value)
    assert (inc.state, len(inc.history)) == before


def test_transition_table_covers_every_state():
    assert set(TRANSITIONS) == set(STATES)
    assert all(set(v) <= set(STATES) for v in TRANSITIONS.values())


@pytest.mark.parametrize("actor", ["anna", "operator:", "operator: x", "", None, "fusion2"])
def test_actors_must_be_fusion_auto_or_a_named_operator(actor):
    inc = Incident("INC-0004", "intrusion", 0.0)
    with pytest.raises(IncidentError, match="actor"):
        inc.transition("acknowledged", 1.0, actor=actor)
    assert inc.state == "new"


def test_audit_log_records_every_change():
    inc = Incident("INC-0005", "suspicious_behaviour", 10.0)
    inc.add_alert(entry("A1", 10.0, "running"))
    inc.set_confidence(0.64, 10.0)
    inc.set_confidence(0.64, 11.0)  # unchanged: not logged
    inc.set_location([5.0, 6.0], 4.0, [24.9, 60.1], 10.0)
    inc.set_context(10.0, zone="square", hosts=[], assets=["w1"], cameras=["cam-1"])
    inc.add_alert(entry("A2", 12.0, "gunshot", "space_time"))
    inc.set_kind("armed_attack", 12.0)
    inc.set_hybrid("cameras lost near it", 13.0)
    inc.set_risk({"T": 0.9, "V": 0.5, "C": 10.0, "R": 4.5, "exposed": 100.0, "criticality": 1.0,
                  "dependents": []}, 14.0)
    inc.set_priority(2, 14.0)
    inc.set_actions([{"kind": "dispatch", "why": "nearest unit"}], 15.0, actor="auto")
    events = [h["event"] for h in inc.history]
    assert events == ["created", "alert_added", "confidence_changed", "location_changed", "zone_changed",
                      "assets_changed", "cameras_changed", "alert_added", "kind_changed", "priority_changed",
                      "hybrid_changed", "risk_changed", "priority_changed", "actions_changed"]
    assert all(set(h) >= {"t", "actor", "event"} for h in inc.history)
    assert inc.history[9] == {"t": 12.0, "actor": "fusion", "event": "priority_changed", "from": 4, "to": 1}
    assert (inc.t_first, inc.t_last, inc.t_updated) == (10.0, 12.0, 15.0)


def test_priority_defaults_follow_kind_and_hybrid_until_risk_sets_one():
    assert DEFAULT_PRIORITY.keys() == set(INCIDENT_KINDS)
    inc = Incident("INC-0006", "intrusion", 0.0)
    assert inc.priority == 3
    inc.set_hybrid("a DoS blinded it", 1.0)
    assert inc.priority == 2 and default_priority("armed_attack", hybrid=True) == 1
    inc.set_priority(4, 2.0, actor="operator:dana")
    inc.set_kind("armed_attack", 3.0)
    assert inc.priority == 4  # set by someone: defaults no longer apply
    with pytest.raises(IncidentError, match="priority must be"):
        inc.set_priority(0, 4.0)


def test_sop_steps_done_in_time_late_and_skipped():
    inc = Incident("INC-0007", "armed_attack", 100.0)
    ids = [s["id"] for s in inc.sop]
    assert ids[:2] == ["call_up_cameras", "notify_police"]
    assert inc.sop[0]["limit_s"] == 30.0 and inc.sop[0]["due_t"] == 130.0
    inc.sop_done("call_up_cameras", 120.0, actor="operator:anna")
    inc.sop_done("notify_police", 175.0, actor="operator:anna")  # due at 160
    inc.sop_skip("lockdown_assets", 200.0, actor="operator:anna", note="no assets within 300 m")
    steps = {s["id"]: s for s in inc.to_dict()["sop"]}
    first = steps["call_up_cameras"]
    assert (first["status"], first["late"], first["t"]) == ("done", False, 120.0)
    assert first["actor"] == "operator:anna"
    assert steps["notify_police"]["status"] == "done" and steps["notify_police"]["late"] is True
    assert steps["lockdown_assets"]["status"] == "skipped" and steps["lockdown_assets"]["note"] == \
        "no assets within 300 m" and steps["lockdown_assets"]["late"] is False
    sop_events = [(h["event"], h["step"]) for h in inc.history if h["event"].startswith("sop_")]
    assert sop_events == [("sop_done", "call_up_cameras"), ("sop_late", "notify_police"),
                          ("sop_done", "notify_police"), ("sop_skipped", "lockdown_assets")]
    with pytest.raises(IncidentError, match="already done"):
        inc.sop_done("call_up_cameras", 300.0, actor="operator:anna")
    with pytest.raises(IncidentError, match="no SOP step 'make_tea'"):
        inc.sop_done("make_tea", 300.0, actor="operator:anna")


def test_overdue_lists_pending_steps_and_note_overdue_logs_each_once():
    inc = Incident("INC-0008", "armed_attack", 0.0)
    assert inc.overdue(30.0) == []
    assert inc.overdue(61.0) == ["call_up_cameras", "notify_police"]
    inc.sop_done("call_up_cameras", 20.0, actor="operator:e")
    assert inc.overdue(61.0) == ["notify_police"]
    assert inc.note_overdue(61.0) == ["notify_police"]
    assert inc.note_overdue(62.0) == []
    assert inc.note_overdue(121.0) == ["public_warning"]
    late = [h for h in inc.history if h["event"] == "sop_late"]
    assert [(h["step"], h["t"], h["actor"], h["due_t"]) for h in late] == [
        ("notify_police", 61.0, "auto", 60.0), ("public_warning", 121.0, "auto", 120.0)]
    inc.sop_done("notify_police", 70.0, actor="operator:e")  # late, already noted: no second sop_late
    assert sum(h["event"] == "sop_late" for h in inc.history) == 2


def test_closed_incident_steps_cannot_change():
    inc = Incident("INC-0009", "intrusion", 0.0)
    for s in ("acknowledged", "false_alarm", "closed"):
        inc.transition(s, 1.0, actor="operator:f")
    with pytest.raises(IncidentError, match="closed"):
        inc.sop_skip("verify", 2.0, actor="operator:f")


def test_kind_change_keeps_what_was_done():
    inc = Incident("INC-0010", "suspicious_behaviour", 0.0)
    inc.sop_done("call_up_cameras", 10.0, actor="operator:g")
    inc.sop_done("assess", 20.0, actor="operator:g")
    inc.set_kind("armed_attack", 25.0)
    steps = {s["id"]: s for s in inc.sop}
    assert steps["call_up_cameras"]["status"] == "done" and steps["notify_police"]["status"] == "pending"
    assert "assess" not in steps
    assert [s["id"] for s in inc.sop] == [s.id for s in load_sop("armed_attack").steps]


@pytest.mark.parametrize("kind", INCIDENT_KINDS)
def test_every_kind_has_a_realistic_sop(kind):
    sop = load_sop(kind)
    assert sop.kind == kind and sop.title and sop.reference
    assert len(sop.steps) >= 4 and all(s.limit_s > 0 and len(s.action) > 20 for s in sop.steps)
    assert [s.limit_s for s in sop.steps] == sorted(s.limit_s for s in sop.steps)


def test_sop_files_are_package_data():
    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "sop/*.yaml" in cfg["tool"]["setuptools"]["package-data"]["analytics"]
    assert sorted(p.stem for p in (ROOT / "analytics" / "sop").glob("*.yaml")) == sorted(INCIDENT_KINDS)


GOOD = "kind: intrusion\ntitle: Test\nsteps:\n  - {id: verify, action: look at it, limit_s: 30}\n"


@pytest.mark.parametrize("text, where", [
    (GOOD.replace("limit_s: 30", "limit_s: -5"), "steps[0].limit_s"),
    (GOOD.replace("limit_s: 30", "limit_s: soon"), "steps[0].limit_s"),
    (GOOD.replace("id: verify", "id: 'two words'"), "steps[0].id"),
    (GOOD.replace(", action: look at it", ""), "steps[0].action"),
    (GOOD.replace("kind: intrusion", "kind: dos"), "kind must be 'intrusion'"),
    (GOOD.replace("title: Test\n", ""), "title"),
    (GOOD + "  - {id: verify, action: again, limit_s: 60}\n", "steps[1].id"),
    ("kind: intrusion\ntitle: T\nsteps: []\n", "steps must be"),
    ("kind: intrusion\ntitle: [unclosed\n", "not valid YAML at line"),
    ("- just a list\n", "top level"),
])
def test_a_broken_sop_gives_one_line_naming_file_and_field(tmp_path, text, where):
    (tmp_path / "intrusion.yaml").write_text(text)
    with pytest.raises(SopError) as err:
        load_sop("intrusion", directory=tmp_path)
    msg = str(err.value)
    assert "\n" not in msg and msg.startswith(str(tmp_path / "intrusion.yaml")) and where in msg


def test_a_missing_sop_file_and_a_good_one_in_another_folder(tmp_path):
    with pytest.raises(SopError, match="cannot read"):
        load_sop("intrusion", directory=tmp_path)
    (tmp_path / "intrusion.yaml").write_text(GOOD)
    inc = Incident("INC-0011", "intrusion", 0.0, sop_dir=tmp_path)
    assert [s["id"] for s in inc.sop] == ["verify"]


def test_to_dict_is_the_contract_and_plain_json():
    inc = Incident("INC-0012", "dos", 5.0)
    inc.add_alert(entry("A1", 5.0, "dos"))
    inc.set_context(5.0, hosts=["10.10.0.10"])
    d = inc.to_dict()
    assert set(d) == CONTRACT_KEYS
    assert d["state"] == "new" and d["priority"] == 2 and d["xy"] is None and d["risk"] is None
    assert json.loads(json.dumps(d, allow_nan=False)) == d
    d["hosts"].append("x")
    assert inc.hosts == ["10.10.0.10"]  # the dict's lists are its own


def test_bad_values_are_refused():
    with pytest.raises(IncidentError, match="incident kind"):
        Incident("INC-0013", "riot", 0.0)
    with pytest.raises(IncidentError, match="t must be"):
        Incident("INC-0013", "dos", float("nan"))
    inc = Incident("INC-0013", "dos", 0.0)
    with pytest.raises(IncidentError, match="location must be finite"):
        inc.set_location([float("inf"), 0.0], 1.0, None, 1.0)
    with pytest.raises(IncidentError, match="set_context takes"):
        inc.set_context(1.0, colour="red")
