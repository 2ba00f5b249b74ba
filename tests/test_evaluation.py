"""Scoring a run folder: detections per attack, time to detect, localisation, false alarms, MOT, density."""

from __future__ import annotations

import json

import pytest

from analytics.base import AnalyticsInputError
from scenarios.evaluation import score_run, write_metrics


def _jsonl(path, recs):
    path.write_text("".join(json.dumps(r) + "\n" for r in recs))


def alert(t, kind, xy=None, zone=None, **ev):
    return {"t": t, "kind": kind, "conf": 0.8, "lonlat": None, "xy": xy, "zone": zone, "source": ["s"],
            "evidence": ev}


def phase(t, attack, ph, aid, xy=None, **kw):
    return {"t": t, "kind": "attack_phase", "attack": attack, "phase": ph, "xy": xy, "lonlat": None,
            "attack_id": aid, "id": kw.pop("id", aid), **kw}


SQUARE = [[24.94, 60.16], [24.96, 60.16], [24.96, 60.18], [24.94, 60.18], [24.94, 60.16]]
GATE = [[25.00, 60.16], [25.01, 60.16], [25.01, 60.17], [25.00, 60.16]]


@pytest.fixture()
def run_dir(tmp_path):
    dos = {"technique": "T1498", "src": "10.9.9.9", "dst": "10.0.0.5"}
    surge = phase(1200.0, "crowd_surge", "trigger", "a4", [0.0, 0.0])
    surge["lonlat"] = [24.95, 60.17]
    _jsonl(
        tmp_path / "ground_truth.jsonl",
        [
            {"t": 0.0, "kind": "person_spawn", "id": "p1", "xy": [0, 0], "lonlat": None},
            # agents record the attacker's target id in id and the attack in attack_id
            phase(600.0, "bag_leaver", "approach", "a1", [100.0, 50.0], id=17),
            {"t": 610.0, "kind": "object_placed", "id": 9001, "by": 17, "xy": [100.0, 50.0], "lonlat": None},
            phase(640.0, "bag_leaver", "gone", "a1", [110.0, 50.0], id=17),
            # the flood phase lasts beyond the later "stop" record's t; its first packet is at 551 s
            phase(550.0, "cyber_dos", "flood", "a2", t_end=1000.0, **dos),
            {"t": 551.0, "kind": "attack_flow", "attack": "cyber_dos", "id": "a2", "phase": "flood",
             "xy": None, "lonlat": None, "src": "10.9.9.9", "dst": "10.0.0.5"},
            phase(850.0, "cyber_dos", "stop", "a2", **dos),
            phase(1000.0, "loiterer", "loiter", "a3", [500.0, 500.0]),
            surge,
        ],
    )
    _jsonl(
        tmp_path / "alerts.jsonl",
        [
            alert(565.0, "dos", src=["10.9.9.9"], dst="10.0.0.5"),
            alert(570.0, "dos", src=["10.1.1.1"], dst="10.0.0.77"),  # other host: false alarm
            alert(605.0, "abandoned_object", xy=[100.0, 50.0]),  # before the bag is down: false alarm
            alert(705.0, "abandoned_object", xy=[113.0, 54.0]),  # 13.6 m from the drop, 95 s after it
            alert(706.0, "abandoned_object", xy=[900.0, 900.0]),  # far away: false alarm
            alert(1100.0, "running", xy=[500.0, 500.0]),  # wrong kind for a loiterer: false alarm
            alert(1100.0, "dos", src=["10.9.9.9"], dst="10.0.0.5"),  # after the flood + grace: false alarm
            alert(1220.0, "crowd_density", zone="square"),  # the zone holds the surge: detects it
            alert(1221.0, "crowd_density", zone="gate"),  # another zone: false alarm
        ],
    )
    zones = [{"type": "Feature", "properties": {"zone": name},
              "geometry": {"type": "Polygon", "coordinates": [c]}}
             for name, c in (("square", SQUARE), ("gate", GATE))]
    geojson = {"type": "FeatureCollection", "features": zones}
    (tmp_path / "crowd_zones.geojson").write_text(json.dumps(geojson))
    (tmp_path / "scenario.yaml").write_text("name: t\nduration_s: 1800\n")
    cam = tmp_path / "sensors" / "cameras" / "cam1"
    (cam / "gt").mkdir(parents=True)
    (cam / "det").mkdir(parents=True)
    gt, det = [], []
    for f in range(1, 21):
        gt += [f"{f},1,{10 + 5 * f},50,40,100,1,-1,-1,-1", f"{f},2,{400 - 5 * f},80,40,100,1,-1,-1,-1"]
        det += [f"{f},-1,{10 + 5 * f},50,40,100,0.9,-1,-1,-1"]
        if f != 10:  # one missed detection of target 2
            det += [f"{f},-1,{400 - 5 * f},80,40,100,0.9,-1,-1,-1"]
    (cam / "gt" / "gt.txt").write_text("\n".join(gt) + "\n")
    (cam / "det" / "det.txt").write_text("\n".join(det) + "\n")
    (tmp_path / "crowd_density.csv").write_text("t,zone,people\n10,square,100\n20,square,120\n30,gate,5\n")
    _jsonl(
        tmp_path / "events.jsonl",
        [
            {
                "t": 9.0,
                "topic": "counter/area",
                "sensor_id": "c1",
                "count": 90,
                "area_m2": 100,
                "capacity": 500,
                "zone": "square",
            },
            {
                "t": 19.0,
                "topic": "counter/area",
                "sensor_id": "c1",
                "count": 126,
                "area_m2": 100,
                "capacity": 500,
                "zone": "square",
            },
        ],
    )
    return tmp_path


def test_score_run(run_dir) -> None:
    m = score_run(run_dir)
    by = {a["attack"]: a for a in m["attacks"]}
    assert len(m["attacks"]) == 4 and by["bag_leaver"]["id"] == "a1"  # grouped by attack_id
    # the bag: from the drop (610 s) on; localisation to the drop
    assert by["bag_leaver"]["act_t"] == 610.0 and by["bag_leaver"]["time_to_detect_s"] == 95.0
    assert by["bag_leaver"]["localisation_error_m"] == 13.6
    assert by["bag_leaver"]["window_end_t"] == 1860.0  # still lying there at the end of the run, + 60 s
    # the flood: from its first packet; the alert names the targeted host
    assert by["cyber_dos"]["detected"] and by["cyber_dos"]["time_to_detect_s"] == 14.0
    assert by["cyber_dos"]["end_t"] == 1000.0 and by["cyber_dos"]["window_end_t"] == 1060.0
    assert by["cyber_dos"]["localisation_error_m"] is None and by["cyber_dos"]["technique"] == ["T1498"]
    assert not by["loiterer"]["detected"]
    assert by["crowd_surge"]["detected"] and by["crowd_surge"]["alert_kinds"] == ["crowd_density"]
    assert m["false_alarms"] == 6 and m["false_alarms_per_hour"] == 12.0 and m["duration_s"] == 1800
    assert m["false_alarms_by_kind"] == {"abandoned_object": 2, "crowd_density": 1, "dos": 2, "running": 1}
    assert m["per_kind"]["bag_leaver"] == {"n": 1, "detected": 1, "recall": 1.0,
                                           "median_time_to_detect_s": 95.0, "p90_time_to_detect_s": 95.0,
                                           "median_localisation_error_m": 13.6}
    assert m["per_kind"]["loiterer"]["recall"] == 0.0
    assert m["per_alert_kind"]["dos"] == {"alerts": 3, "true": 1, "false": 2, "precision": 0.3333,
                                          "false_alarms_per_hour": 4.0}
    assert m["rules"]["windows"]["bag_leaver"] == {"from": "object_placed", "until": "object_removed",
                                                   "grace_s": 60.0, "acts": ["object_placed"]}
    cam = m["tracking"]["cam1"]
    # 40 gt boxes; the first frame has no ids yet (2 consecutive frames), 1 missed detection
    assert cam["num_misses"] == 3 and cam["num_switches"] == 0 and cam["num_false_positives"] == 0
    assert cam["mota"] == pytest.approx(37 / 40)
    d = m["density"]
    assert d["n_truth"] == 3 and d["n_compared"] == 2 and d["mae_people"] == 8.0 and d["bias_people"] == -2.0


def test_write_metrics_keeps_other_keys(run_dir) -> None:
    (run_dir / "metrics.json").write_text(json.dumps({"exposed": 12}))
    path = write_metrics(run_dir)
    data = json.loads(path.read_text())
    assert data["exposed"] == 12 and data["detection"]["false_alarms"] == 6
    assert not list(run_dir.glob(".metrics.json.*"))


def test_missing_ground_truth_is_input_error(tmp_path) -> None:
    with pytest.raises(AnalyticsInputError, match="ground_truth.jsonl: no such file"):
        score_run(tmp_path)


def test_empty_ground_truth_is_a_quiet_run(tmp_path) -> None:
    """A run where nothing happened (no crowd, no attack) writes an empty ground truth: no attacks, and
    every alert is a false alarm."""
    (tmp_path / "ground_truth.jsonl").write_text("")
    alert = {"t": 5.0, "kind": "port_scan", "conf": 0.8, "xy": None, "lonlat": None, "source": ["10.0.0.9"],
             "evidence": {"src": "10.0.0.9"}}
    (tmp_path / "alerts.jsonl").write_text(json.dumps(alert) + "\n")
    d = score_run(tmp_path)
    assert d["attacks"] == [] and d["false_alarms_by_kind"] == {"port_scan": 1}


def test_density_from_estimates_file(run_dir) -> None:
    """An estimator's history written with ``write_density_csv`` is preferred over counter messages."""
    from analytics.crowd import CrowdDensityDetector, write_density_csv

    det = CrowdDensityDetector(None)
    for t, count in ((5.0, 95), (8.0, 99), (15.0, 118), (28.0, 7)):
        det.update(
            {
                "t": t,
                "topic": "counter/area",
                "sensor_id": "c",
                "zone": "square" if t < 20 else "gate",
                "count": count,
                "area_m2": 100.0,
                "capacity": 500,
            }
        )
    assert det.history == [(5.0, "square", 95.0), (15.0, "square", 118.0), (28.0, "gate", 7.0)]  # 10 s apart
    write_density_csv(run_dir / "density_estimates.csv", det.history)
    d = score_run(run_dir)["density"]
    assert d["source"] == "density_estimates.csv" and d["n_compared"] == 3
    assert d["mae_by_zone"] == {"gate": 2.0, "square": 3.5} and d["bias_people"] == pytest.approx(
        (-5 - 2 + 2) / 3, abs=1e-3
    )


def test_seqinfo_frame_rate(tmp_path) -> None:
    from scenarios.evaluation import _seqinfo_fps

    (tmp_path / "seqinfo.ini").write_text("[Sequence]\nname=cam\nframeRate=2\nseqLength=241\n")
    assert _seqinfo_fps(tmp_path / "seqinfo.ini") == 2.0
    (tmp_path / "bad.ini").write_text("not an ini\n")
    assert _seqinfo_fps(tmp_path / "bad.ini") is None and _seqinfo_fps(tmp_path / "none.ini") is None


def test_online_tracks_are_scored_when_present(run_dir) -> None:
    """A run that wrote the online tracker's output is scored on it, not on det.txt re-tracked."""
    from analytics.mot import write_mot

    assert score_run(run_dir)["tracking"]["cam1"]["tracks"] == "retracked"
    rows = []
    for f in range(1, 21):  # both targets tracked every frame, ids swapped from frame 11: 2 switches
        a, b = (1, 2) if f <= 10 else (2, 1)
        rows += [[f, a, 10 + 5 * f, 50, 40, 100, 1, -1, -1, -1]]
        rows += [[f, b, 400 - 5 * f, 80, 40, 100, 1, -1, -1, -1]]
    (run_dir / "sensors" / "cameras" / "cam1" / "track").mkdir()
    write_mot(run_dir / "sensors" / "cameras" / "cam1" / "track" / "track.txt", rows)
    cam = score_run(run_dir)["tracking"]["cam1"]
    assert cam["tracks"] == "online" and cam["num_switches"] == 2 and cam["num_misses"] == 0
    assert cam["mota"] == pytest.approx(38 / 40) and cam["idf1"] == pytest.approx(0.5)


def test_metrics_json_never_holds_nan():
    from scenarios.evaluation import _finite

    got = _finite({"tracking": {"cam": {"motp": float("nan"), "mota": 0.5, "x": [float("inf"), 1]}}})
    assert got == {"tracking": {"cam": {"motp": None, "mota": 0.5, "x": [None, 1]}}}
