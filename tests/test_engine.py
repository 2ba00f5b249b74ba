"""The engine: a run folder with every output, byte-identical for a seed, nothing left behind on failure."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from analytics.frames import iter_run
from scenarios.engine import DENSITY_PERIOD_S, SEED_STREAMS, run_scenario
from scenarios.schema import ScenarioError, parse_scenario

SCENARIO = """\
name: syn
city: {synthetic: {kind: corridor, length_m: 60, width_m: 4}}
duration_s: 60
crowd:
  flows:
    - {from: start, to: end, people: 30, depart_s: [0, 10]}
    - {from: end, to: start, people: 15, depart_s: [0, 10]}
sensors:
  cameras:
    list: [{id: c1, at: start, yaw_deg: 90, height_m: 5, fps: 5}]
  acoustic: [{id: m1, at: end}, {id: m2, at: start}]
  counters: [{id: line1, kind: line, at: end, width_m: 4, period_s: 10}]
attacks:
  - {kind: active_assailant, at: end, start_s: 5, approach_m: 1, duration_s: 25, shot_interval_s: 3}
  - {kind: bag_leaver, at: start, start_s: 1, approach_m: 1, place_s: 2, remove_after_s: 5}
  - {kind: cyber_dos, target: vms, start_s: 20, duration_s: 10}
response:
  dispatch: [{unit: ambulance, to: end, at_s: 2}]
events:
  - {at_s: 35, sensor: c1, status: offline}
"""


def _run(tmp_path: Path, text: str = SCENARIO, *, seed: int | None = None, name: str = "run"):
    f = tmp_path / "syn.yaml"
    f.write_text(text)
    return run_scenario(f, seed=seed, out=tmp_path / name, quiet=True)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return _run(tmp_path_factory.mktemp("engine"))


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_every_output_file(run):
    """The default outputs: the camera data as frame tables, no MOT text (tests/test_outputs.py)."""
    out = run.out_dir
    for f in ("scenario.yaml", "ground_truth.jsonl", "events.jsonl", "crowd_density.csv",
              "crowd_zones.geojson", "alerts.jsonl", "density_estimates.csv", "sensors/conn.log",
              "sensors/syslog.log", "sensors/frames/frames.parquet", "sensors/frames/det.parquet",
              "sensors/frames/gt.parquet", "sensors/frames/track.parquet"):
        assert (out / f).is_file(), f
    assert not (out / "sensors" / "cameras").exists()
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")], "temporary folder left behind"
    again = parse_scenario((out / "scenario.yaml").read_text(), filename="scenario.yaml")
    assert again.data["attacks"][0]["shot_interval_s"] == 3 and again.data["dt_s"] == 0.5


def test_ground_truth_records(run):
    """Time-ordered; every record has t, kind, id, xy, lonlat; the kinds the run caused are all there."""
    recs = _lines(run.out_dir / "ground_truth.jsonl")
    ts = [r["t"] for r in recs]
    assert ts == sorted(ts)
    assert all({"t", "kind", "id", "xy", "lonlat"} <= set(r) for r in recs)
    kinds = {r["kind"] for r in recs}
    assert {"spawned", "arrived", "attack_phase", "shot", "injured", "object_placed", "object_removed",
            "dispatched", "on_scene", "sensor_fault"} <= kinds
    # physical records carry a position in the twin's CRS and WGS84 near the synthetic origin (Helsinki)
    shot = next(r for r in recs if r["kind"] == "shot")
    assert 385000 <= shot["xy"][0] <= 385060 and shot["xy"][1] == pytest.approx(6672000, abs=5)
    assert shot["lonlat"] == pytest.approx([24.93, 60.169], abs=0.01)
    # the cyber range's truth is merged in order, with its technique
    dos = [r for r in recs if r["kind"] == "attack_phase" and r.get("attack") == "cyber_dos"]
    assert dos and dos[0]["t"] == 20.0 and dos[0]["technique"].startswith("T")
    obj = [r for r in recs if r["kind"] in ("object_placed", "object_removed")]
    assert [r["kind"] for r in obj] == ["object_placed", "object_removed"]
    assert obj[1]["t"] - obj[0]["t"] == pytest.approx(5.0, abs=1e-3)


def test_sensors_and_faults_on_the_bus(run):
    ev = list(iter_run(run.out_dir))            # events.jsonl with the camera frames of sensors/frames
    ts = [e["t"] for e in ev]
    assert ts == sorted(ts)                     # every line in bus time, alerts included
    # an alert keeps its own time (when what it reports happened) as t_event: never after it was published
    alerts = [e for e in ev if e["topic"] == "analytics/alert"]
    assert all(e.get("t_event", e["t"]) <= e["t"] + 1e-9 for e in alerts)
    topics = {e["topic"] for e in ev}
    assert {"camera/calibration", "camera/frame", "acoustic/detection", "counter/line", "net/conn"} <= topics
    frames = [e for e in ev if e["topic"] == "camera/frame"]
    # 5 fps from t=0; the DoS on the vms (20-30 s) takes c1 offline until its stream is back, then the
    # scheduled fault takes it offline for good at 35 s. Health is what the video server sees: the stream
    # and its received rate, never the camera's state.
    health = [e for e in ev if e["topic"] == "camera/health"]
    assert all(set(h) == {"t", "topic", "camera_id", "stream", "fps", "bitrate_kbps", "reconnects"}
               for h in health)
    changes = [h for i, h in enumerate(health) if i == 0 or h["stream"] != health[i - 1]["stream"]]
    assert [(h["stream"], h["reconnects"]) for h in changes] == [("up", 0), ("down", 0), ("up", 1),
                                                                   ("down", 1)]
    t_up = changes[2]["t"]
    # the session breaks 0.5-3 s into the flood (seen at the next 1 s state tick); it is back at the video
    # server's next retry after the flood; the dead camera's stream stalls 5 s after its last frame (34.8 s)
    assert changes[0]["t"] == 0.0 and 21.0 <= changes[1]["t"] <= 23.0 and 30.0 <= t_up <= 33.0
    assert changes[3]["t"] == pytest.approx(39.8)
    assert [h["t"] for h in health if h not in changes] == [10.0, 20.0, 30.0, 40.0, 50.0, 60.0]
    assert [h["fps"] for h in health if h["t"] in (10.0, 20.0, 30.0)] == [5.0, 4.9, 0.0]
    assert all(h["bitrate_kbps"] == 0.0 for h in health if h["stream"] == "down")
    ts = [f["t"] for f in frames]
    assert len([t for t in ts if t < 20.0]) == 100
    assert not [t for t in ts if 20.0 <= t < t_up or t >= 35.0]
    assert len(ts) == 100 + round((35.0 - t_up) * 5)
    shots = sum(1 for r in _lines(run.out_dir / "ground_truth.jsonl") if r["kind"] == "shot")
    heard = {e["t_arrival"] for e in ev if e["topic"] == "acoustic/detection"}
    assert shots >= 3 and len(heard) >= shots     # both microphones hear every shot (60 m corridor)


def test_alerts_are_published_and_written(run):
    alerts = _lines(run.out_dir / "alerts.jsonl")
    on_bus = [e for e in _lines(run.out_dir / "events.jsonl") if e["topic"] == "analytics/alert"]
    assert len(alerts) == len(on_bus) == run.stats["alerts"]
    assert any(a["kind"] in ("gunshot", "dos", "stream_loss") for a in alerts), {a["kind"] for a in alerts}


def test_crowd_density_every_10_s_for_every_zone(run):
    rows = list(csv.DictReader((run.out_dir / "crowd_density.csv").open()))
    zones = {f["properties"]["zone"] for f in
             json.loads((run.out_dir / "crowd_zones.geojson").read_text())["features"]}
    assert zones == {"node:start", "node:end", "edge:end-start"}
    times = sorted({float(r["t"]) for r in rows})
    assert times == [k * DENSITY_PERIOD_S for k in range(7)]   # 0 .. 60 s, both ends
    assert len(rows) == 7 * 3
    assert max(int(r["people"]) for r in rows if r["zone"] == "edge:end-start") > 0


def test_same_seed_same_bytes_other_seed_differs(tmp_path, run):
    again = _run(tmp_path, name="again")
    for f in ("ground_truth.jsonl", "events.jsonl", "crowd_density.csv", "alerts.jsonl",
              *(f"sensors/frames/{t}.parquet" for t in ("frames", "det", "gt", "track"))):
        assert (again.out_dir / f).read_bytes() == (run.out_dir / f).read_bytes(), f
    other = _run(tmp_path, seed=99, name="other")
    assert other.out_dir.name == "other"
    for f in ("ground_truth.jsonl", "events.jsonl"):
        assert (other.out_dir / f).read_bytes() != (run.out_dir / f).read_bytes(), f
    assert SEED_STREAMS[:2] == ("crowd", "individuals")


def test_default_folder_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "s.yaml").write_text(
        "name: tiny\ncity: {synthetic: {kind: corridor, length_m: 20, width_m: 2}}\nduration_s: 3\n"
        "crowd: {flows: [{from: start, to: end, people: 2, depart_s: [0, 1]}]}\n")
    res = run_scenario(tmp_path / "s.yaml", seed=4, quiet=True)
    assert res.out_dir == Path("runs") / "tiny-4" and (tmp_path / "runs/tiny-4/ground_truth.jsonl").is_file()


def test_unknown_places_all_reported_and_nothing_written(tmp_path):
    bad = SCENARIO.replace("from: start, to: end", "from: start, to: nowhere").replace(
        "{unit: ambulance, to: end", "{unit: ambulance, to: elsewhere")
    with pytest.raises(ScenarioError) as ei:
        _run(tmp_path, bad)
    probs = ei.value.problems
    assert len(probs) == 2
    assert probs[0].startswith(f"{tmp_path / 'syn.yaml'}:6: crowd.flows[0].to: place 'nowhere'")
    assert probs[1].startswith(f"{tmp_path / 'syn.yaml'}:18: response.dispatch[0].to: place 'elsewhere'")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["syn.yaml"]


def test_subsystem_errors_get_the_file_line(tmp_path):
    """A cyber target the network lacks is reported at the attack's line."""
    bad = SCENARIO.replace("target: vms", "target: toaster")
    with pytest.raises(ScenarioError) as ei:
        _run(tmp_path, bad)
    assert ei.value.problems[0].startswith(f"{tmp_path / 'syn.yaml'}:16: attacks[2].target:")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["syn.yaml"]


def test_duration_override_and_bad_overrides(tmp_path):
    f = tmp_path / "s.yaml"
    f.write_text(SCENARIO)
    res = run_scenario(f, out=tmp_path / "short", duration_s=10, quiet=True)
    recs = _lines(res.out_dir / "ground_truth.jsonl")
    assert max(r["t"] for r in recs) <= 10.0 and res.sim_s == 10.0
    assert any("cyber_dos-2 starts after the end" in m for m in res.missing)
    with pytest.raises(ScenarioError, match="--duration"):
        run_scenario(f, duration_s=0.1, quiet=True)
    with pytest.raises(ScenarioError, match="--seed"):
        run_scenario(f, seed=-1, quiet=True)


def test_a_run_that_fails_midway_leaves_no_files(tmp_path, monkeypatch):
    """A crash after some ticks (files already streaming) removes the temporary folder; no run folder."""
    from agents.model import CityModel

    real = CityModel.advance

    def advance(self, t, dt):
        if t >= 10.0:
            raise RuntimeError("boom")
        real(self, t, dt)

    monkeypatch.setattr(CityModel, "advance", advance)
    (tmp_path / "runs").mkdir()
    with pytest.raises(RuntimeError, match="boom"):
        _run(tmp_path / "runs", name="crashed")
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["syn.yaml"]


def test_policy_auto_applies_the_recommended_dispatch_after_the_decision_delay(tmp_path):
    """Under policy auto the armed-attack incident's recommended units (police and an ambulance) are sent
    decision_delay_s after the recommendation; under advise the same actions are only written."""
    auto = SCENARIO.replace("  dispatch: [{unit: ambulance, to: end, at_s: 2}]",
                            "  policy: auto\n  decision_delay_s: 4")
    res = _run(tmp_path, auto, name="auto")
    incidents = _lines(res.out_dir / "incidents.jsonl")
    armed = [i for i in incidents if i["kind"] == "armed_attack"]
    assert armed, {i["kind"] for i in incidents}
    acts = [a for a in _lines(res.out_dir / "actions.jsonl") if a["action"]["kind"] == "dispatch"]
    assert acts and all(a["applied"] and a["applied"]["applied"] for a in acts)
    sent = [r for r in _lines(res.out_dir / "ground_truth.jsonl") if r["kind"] == "dispatched"]
    assert sorted(r["unit"] for r in sent) == ["ambulance", "police"]
    t0 = min(a["t"] for a in acts)
    assert all(r["reason"].startswith("auto: INC-") and r["t"] == pytest.approx(t0 + 4.0) for r in sent)
    advise = _run(tmp_path, auto.replace("policy: auto", "policy: advise"), name="advise")
    assert not [r for r in _lines(advise.out_dir / "ground_truth.jsonl") if r["kind"] == "dispatched"]
    written = [a for a in _lines(advise.out_dir / "actions.jsonl") if a["action"]["kind"] == "dispatch"]
    assert written and all(a["applied"] is None for a in written)


def test_sensed_density_is_scored_against_the_true_density(run):
    """The pipeline's per-zone estimates are written and metrics.json compares them with crowd_density.csv."""
    est = (run.out_dir / "density_estimates.csv").read_text().splitlines()
    assert est[0] == "t,zone,people" and len(est) > 1
    dens = json.loads((run.out_dir / "metrics.json").read_text())["detection"]["density"]
    assert dens["source"] == "density_estimates.csv"
    assert dens["n_compared"] > 0


def test_scoring_reads_the_online_tracks(run):
    """Each camera's tracking metrics come from the pipeline's own tracks, not from tracking det.txt again."""
    tracking = json.loads((run.out_dir / "metrics.json").read_text())["detection"]["tracking"]
    assert tracking and all(v["tracks"] == "online" for v in tracking.values())
