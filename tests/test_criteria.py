"""Each criterion kind on small hand-made run folders: pass, acceptable, fail, known failure, the removal
flag, the first violation time and a missing measurement."""

from __future__ import annotations

import json
import math

import pytest
import yaml

from scenarios.criteria import FLAG_REMOVE, CriteriaError, evaluate, read_criteria, write_criteria
from scenarios.criteria_base import EVALUATORS
from scenarios.criteria_kinds import CRITERIA

DST = "10.10.0.10"
ATTACKER = "194.8.118.10"


def _alert(t: float, kind: str = "brute_force", src: str = ATTACKER, dst=("vms", DST)) -> dict:
    return {"t": t, "kind": kind, "conf": 0.8, "lonlat": None, "xy": None, "zone": None, "source": [src],
            "evidence": {"src": src, "dst": list(dst)}}


def _truth() -> list[dict]:
    """A brute force on the VMS from t = 20 (first flow 20.5), and a shooter with three victims at 58.065
    and one more injured at 70 by nobody's act."""
    return [
        {"t": 20.0, "kind": "attack_phase", "attack_id": "vms-ssh", "attack": "cyber_bruteforce",
         "phase": "guess", "t_end": 80.0, "dst": DST},
        {"t": 20.5, "kind": "attack_flow", "id": "vms-ssh", "dst": DST},
        {"t": 58.065, "kind": "shot", "attack_id": "shooter", "xy": [0.0, 0.0]},
        *({"t": 58.065, "kind": "injured", "id": i, "xy": [1.0, 1.0]} for i in range(3)),
        {"t": 70.0, "kind": "injured", "id": 9, "xy": [500.0, 1.0]},
    ]


def _metrics(duration: float = 1800.0) -> dict:
    attacks = [{"id": "vms-ssh", "attack": "cyber_bruteforce", "start_t": 20.0, "act_t": 20.5,
                "end_t": 80.0, "window_end_t": 140.0, "detected": True, "time_to_detect_s": 9.5,
                "alert_kinds": ["brute_force"]},
               {"id": "shooter", "attack": "active_assailant", "start_t": 10.0, "act_t": 58.065,
                "end_t": 58.065, "window_end_t": 150.0, "detected": False, "time_to_detect_s": None,
                "alert_kinds": []}]
    outcome = {"id": "shooter", "attack": "active_assailant", "act_t": 58.065, "zones": ["r1"],
               "people_at_act": 78.0, "peak_people": 78.0, "exposed_person_s": 1670.0,
               "time_to_clear_s": 40.0, "injured": 4, "responder_on_scene_s": 68.1}
    no_cap = {"attack": "active_assailant", "incident": None, "time_to_incident_s": None,
              "time_to_cap_s": None, "evidence_to_cap_s": None}
    return {
        "detection": {"attacks": attacks, "duration_s": duration,
                      "tracking": {"cam-a": {"mota": 0.62, "idf1": 0.7}, "cam-b": {"mota": 0.1, "idf1": 0.2},
                                   "cam-c": {"mota": -0.5, "idf1": 0.0}},
                      "density": {"mae_people": 0.917, "n_compared": 12, "mae_by_zone": {"r1": 0.917}}},
        "incidents": {"attacks": [{"id": "vms-ssh", "attack": "cyber_bruteforce", "incident": "INC-0001",
                                   "time_to_incident_s": 9.5, "time_to_cap_s": 11.5,
                                   "evidence_to_cap_s": 2.0},
                                  {"id": "shooter", **no_cap}],
                      "outcomes": [outcome],
                      "resilience_loss": {"r1": {"loss_s": 30.0, "outage_h": 30.0 / 3600, "min_q": 0.0,
                                                 "t_min": 60.0}}},
    }


def _incidents() -> list[dict]:
    return [{"id": "INC-0001", "kind": "cyber_attack", "t_first": 30.0, "t_last": 30.0, "t_updated": 30.0,
             "hybrid": False, "assets": []},
            {"id": "INC-0002", "kind": "armed_attack", "t_first": 5.0, "t_last": 5.0, "t_updated": 5.0,
             "hybrid": False, "assets": ["r1"]},
            {"id": "INC-0002", "kind": "armed_attack", "t_first": 5.0, "t_last": 61.0, "t_updated": 61.0,
             "hybrid": True, "assets": ["r1"]}]


@pytest.fixture
def run(tmp_path):
    """A run folder: one false alarm (A1, a scan from elsewhere), the detecting alert (A2), two more false
    alarms (A3, A4), a CAP message for INC-0001, 120 ground-truth boxes for cam-a and 50 for cam-b."""
    d = tmp_path / "run"
    (d / "alerts").mkdir(parents=True)
    alerts = [_alert(15.0, "port_scan", "10.9.9.9", ("10.1.1.1",)), _alert(30.0),
              _alert(200.0, "port_scan", "10.9.9.9", ("10.1.1.1",)), _alert(300.0, "dos", "10.9.9.8", ("x",))]
    (d / "alerts.jsonl").write_text("".join(json.dumps(a) + "\n" for a in alerts))
    (d / "ground_truth.jsonl").write_text("".join(json.dumps(r) + "\n" for r in _truth()))
    (d / "incidents.jsonl").write_text("".join(json.dumps(r) + "\n" for r in _incidents()))
    (d / "metrics.json").write_text(json.dumps(_metrics()))
    (d / "scenario.yaml").write_text(yaml.safe_dump({"name": "hand", "seed": 7, "duration_s": 1800.0,
                                                     "criteria": [{"detect": "cyber_bruteforce"}]}))
    (d / "alerts" / "twin-20260601T060000-INC-0001-1.xml").write_text("<alert/>")
    rows = [(50, 1.0), (60, 0.0), (70, 0.0), (80, 0.5), (90, 1.0)]
    (d / "resilience.csv").write_text("t,asset,name,type,q\n" + "".join(f"{t},r1,Square,square,{q}\n"
                                                                        for t, q in rows))
    for cam, n in (("cam-a", 120), ("cam-b", 50), ("cam-c", 99)):
        gt = d / "sensors" / "cameras" / cam / "gt"
        gt.mkdir(parents=True)
        (gt / "gt.txt").write_text("".join(f"{i + 1},1,10,10,20,40,1,1,1\n" for i in range(n)))
    return d


def _one(run, **c) -> dict:
    return evaluate(run, [c])["results"][0]


def test_every_kind_has_an_evaluator():
    assert set(EVALUATORS) == set(CRITERIA)


def test_detect_pass_acceptable_fail_known_and_flag(run):
    r = _one(run, detect="cyber_bruteforce", within_s=60)
    assert (r["status"], r["actual"], r["expected"], r["first_violation_t"]) == ("pass", 9.5, 60.0, None)
    assert r["evidence"] == ["vms-ssh", "A2"] and r["units"] == "s"
    assert r["subject"] == "cyber_bruteforce attacks"
    assert r["message"] == "actual 9.5 s vs expected <= 60"
    r = _one(run, detect="cyber_bruteforce", within_s=5, acceptable=10)
    assert (r["status"], r["first_violation_t"]) == ("acceptable", 25.5)
    r = _one(run, detect="cyber_bruteforce", within_s=5)
    assert (r["status"], r["first_violation_t"], r["flag"]) == ("fail", 25.5, None)
    r = _one(run, detect="cyber_bruteforce", within_s=5, known_issue="slow syslog")
    assert (r["status"], r["known_issue"], r["flag"]) == ("known_failure", "slow syslog", None)
    r = _one(run, detect="cyber_bruteforce", within_s=60, known_issue="slow syslog", name="ssh")
    assert (r["status"], r["flag"], r["name"]) == ("pass", FLAG_REMOVE, "ssh")


def test_detect_missed_and_missing(run):
    r = _one(run, detect="active_assailant", within_s=20)
    assert (r["status"], r["actual"]) == ("fail", None)
    assert r["first_violation_t"] == pytest.approx(78.065)
    assert "attack shooter not detected" in r["message"]
    r = _one(run, detect="loiterer", within_s=20)
    assert (r["status"], r["actual"], r["first_violation_t"]) == ("fail", None, None)
    assert "no loiterer attack in the run" in r["message"]
    r = _one(run, detect="cyber_bruteforce")       # no within_s: the scorer's window, 140 - 20.5
    assert (r["status"], r["expected"]) == ("pass", 119.5)


def test_false_alarms_rate_and_the_alarm_that_crossed(run):
    # 3 false alarms (A1, A3, A4) in half an hour: 6 per hour; at most 4/h allows 2, the third crosses
    r = _one(run, false_alarms_per_hour_max=4)
    assert (r["status"], r["actual"], r["first_violation_t"]) == ("fail", 6.0, 300.0)
    assert r["evidence"] == ["A1", "A3", "A4"]
    assert _one(run, false_alarms_per_hour_max=6)["status"] == "pass"
    r = _one(run, false_alarms_per_hour_max=2, alert_kind="port_scan")   # allows 1 in half an hour
    assert (r["actual"], r["first_violation_t"], r["subject"]) == (4.0, 200.0, "port_scan alerts")
    assert _one(run, false_alarms_per_hour_max=0, alert_kind="gunshot")["status"] == "pass"


def test_exposed_injured_evacuation_on_scene(run):
    r = _one(run, exposed_max=50)
    assert (r["status"], r["actual"], r["first_violation_t"]) == ("fail", 78.0, 58.065)
    assert _one(run, exposed_max=100, acceptable=120)["status"] == "pass"
    r = _one(run, injured_max=2)                    # 4 injured; the third (t = 58.065) crossed
    assert (r["status"], r["actual"], r["first_violation_t"]) == ("fail", 4.0, 58.065)
    assert r["evidence"] == ["shooter"]              # the physical attacks, not the brute force
    r = _one(run, injured_max=3, attack="shooter")  # the three at its shot; not the one at 70
    assert (r["status"], r["actual"]) == ("pass", 3.0)
    r = _one(run, evacuation_s_max=30)
    assert (r["status"], r["actual"], r["first_violation_t"]) == ("fail", 40.0, pytest.approx(88.065))
    r = _one(run, on_scene_s_max=60, acceptable=90)
    assert (r["status"], r["actual"], r["units"]) == ("acceptable", 68.1, "s")
    r = _one(run, on_scene_s_max=60, attack="nobody")
    assert r["status"] == "fail" and "no physical attack 'nobody'" in r["message"]


def test_tracking_worst_camera_with_enough_boxes(run):
    r = _one(run, mota_min=0.5)                     # cam-b (50 boxes), cam-c (99) do not count
    assert (r["status"], r["actual"], r["subject"]) == ("pass", 0.62, "camera cam-a")
    r = _one(run, idf1_min=0.8)
    assert (r["status"], r["actual"], r["first_violation_t"]) == ("fail", 0.7, 1800.0)
    assert r["message"] == "actual 0.7 ratio vs expected >= 0.8"
    r = _one(run, mota_min=0.5, camera="cam-b", acceptable=0.05)
    assert (r["status"], r["actual"]) == ("acceptable", 0.1)
    r = _one(run, mota_min=0.5, camera="cam-z")
    assert r["status"] == "fail" and "camera cam-z has no tracking figures" in r["message"]


def test_tracking_without_enough_boxes_is_a_missing_measurement(run):
    (run / "sensors" / "cameras" / "cam-a" / "gt" / "gt.txt").write_text("1,1,10,10,20,40,1,1,1\n")
    r = _one(run, mota_min=0.5)
    assert (r["status"], r["actual"]) == ("fail", None)
    assert "no camera saw 100 ground-truth boxes (most: 99)" in r["message"]


def test_density_incident_cap_resilience(run):
    assert _one(run, density_mae_max=1.0)["actual"] == 0.917
    r = _one(run, density_mae_max=0.5)
    assert (r["status"], r["first_violation_t"], r["evidence"]) == ("fail", 1800.0, ["r1"])
    r = _one(run, incident="cyber_attack", within_s=60)   # first attack acts at 20.5, incident at 30
    assert (r["status"], r["actual"], r["evidence"]) == ("pass", 9.5, ["INC-0001"])
    r = _one(run, incident="hybrid", within_s=30)          # flagged at 61 (an earlier record predates 20.5)
    assert (r["status"], r["actual"], r["first_violation_t"]) == ("fail", 40.5, 50.5)
    r = _one(run, incident="explosion", within_s=30)
    assert (r["status"], r["first_violation_t"]) == ("fail", 50.5)
    assert "no explosion incident after t = 20.5 s" in r["message"]
    r = _one(run, cap_within_s=5, attack="vms-ssh")
    assert (r["status"], r["actual"]) == ("pass", 2.0)
    assert r["evidence"] == ["vms-ssh", "INC-0001", "twin-20260601T060000-INC-0001-1"]
    r = _one(run, cap_within_s=1, attack="vms-ssh")
    assert (r["status"], r["first_violation_t"]) == ("fail", 31.0)
    r = _one(run, cap_within_s=5)                          # the shooter has no alert, no incident, no CAP
    assert r["status"] == "fail" and "attack shooter: no alert detected it" in r["message"]
    r = _one(run, resilience_loss_h_max=0.004)             # 14.4 s: passed on the samples at t = 70
    assert (r["status"], r["actual"], r["first_violation_t"]) == ("fail", round(30 / 3600, 6), 70.0)
    assert r["subject"] == "asset r1" and r["evidence"] == ["INC-0002"]
    assert _one(run, resilience_loss_h_max=0.01)["status"] == "pass"
    assert _one(run, resilience_loss_h_max=0.0, asset="w9")["actual"] == 0.0


def test_evaluate_and_write_criteria(run):
    doc = evaluate(run)                                      # the scenario's own criteria
    assert (doc["scenario"], doc["seed"], doc["passed"]) == ("hand", 7, True)
    assert doc["counts"] == {"pass": 1, "acceptable": 0, "fail": 0, "known_failure": 0}
    write_criteria(run, doc)
    assert read_criteria(run) == doc
    bad = dict(doc, results=[dict(doc["results"][0], actual=math.nan)])
    with pytest.raises(ValueError):
        write_criteria(run, bad)
    assert read_criteria(run) == doc                         # the file is untouched


def test_non_finite_figure_and_missing_metrics(run, tmp_path):
    m = json.loads((run / "metrics.json").read_text())
    m["detection"]["density"]["mae_people"] = math.nan
    (run / "metrics.json").write_text(json.dumps(m))
    r = _one(run, density_mae_max=1.0)
    assert (r["status"], r["actual"]) == ("fail", None)
    with pytest.raises(CriteriaError, match="metrics.json: missing"):
        evaluate(tmp_path / "empty")


def test_an_attack_that_never_acted_is_a_missing_measurement(run):
    m = json.loads((run / "metrics.json").read_text())
    m["detection"]["attacks"][1].update(act_t=None)
    m["incidents"]["outcomes"][0].update(act_t=None, people_at_act=None, time_to_clear_s=None)
    (run / "metrics.json").write_text(json.dumps(m))
    for c in ({"detect": "active_assailant", "within_s": 20}, {"exposed_max": 10}, {"evacuation_s_max": 60}):
        r = _one(run, **c)
        assert (r["status"], r["actual"], r["first_violation_t"]) == ("fail", None, None)
        assert "attack shooter never acted" in r["message"]


def test_evacuation_ordered_by_the_scenario_without_an_attack(tmp_path):
    d = tmp_path / "evac"
    d.mkdir()
    truth = [{"t": 5.0, "kind": "evacuate_order", "id": "events[0]", "people": 3}]
    truth += [{"t": t, "kind": "evacuated", "id": i} for i, t in enumerate((40.0, 90.0, 125.0))]
    (d / "ground_truth.jsonl").write_text("".join(json.dumps(r) + "\n" for r in truth))
    (d / "metrics.json").write_text(json.dumps({"detection": {"duration_s": 240.0, "attacks": []},
                                                "incidents": {"outcomes": [], "attacks": []}}))
    (d / "scenario.yaml").write_text(yaml.safe_dump({"name": "evac", "seed": 0, "duration_s": 240.0}))
    ok = evaluate(d, [{"evacuation_s_max": 150}])["results"][0]
    assert ok["status"] == "pass" and ok["actual"] == 120.0 and ok["evidence"] == ["events[0]"]
    late = evaluate(d, [{"evacuation_s_max": 100}])["results"][0]
    assert late["status"] == "fail" and late["first_violation_t"] == 105.0
    truth[0]["people"] = 4          # one ordered out never made it
    (d / "ground_truth.jsonl").write_text("".join(json.dumps(r) + "\n" for r in truth))
    miss = evaluate(d, [{"evacuation_s_max": 150}])["results"][0]
    assert miss["status"] == "fail" and miss["actual"] is None and "1 of 4" in miss["message"]
