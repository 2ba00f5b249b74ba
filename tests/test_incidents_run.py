"""The incident stage in runs: hybrid attacks, fuse replaying a run, CAP files, what policy auto changes."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
import yaml
from lxml import etree

from run_sim import main
from scenarios.engine import run_scenario
from scenarios.fuse import fuse_feed
from twin.datapath import data_dir

LIBRARY = Path(__file__).resolve().parent.parent / "scenarios" / "library" / "helsinki"
CAP_XSD = data_dir() / "standards" / "CAP-v1.2.xsd"
OUTPUTS = ("incidents.jsonl", "actions.jsonl", "cop.geojson", "cop.jsonl", "resilience.csv")


def _lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


def _final(run: Path) -> dict[str, dict]:
    return {i["id"]: i for i in _lines(run / "incidents.jsonl")}


def _variant(tmp: Path, base: Path, name: str, edit) -> Path:
    d = yaml.safe_load(base.read_text(encoding="utf-8"))
    edit(d)
    path = tmp / f"{name}.yaml"
    path.write_text(yaml.safe_dump(d, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def hybrid(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hybrid")
    base = LIBRARY / "hybrid-dos-assailant.yaml"
    plain = _variant(tmp, base, "plain", lambda d: d.update(
        attacks=[a for a in d["attacks"] if a["kind"] != "cyber_dos"],
        criteria=[c for c in d["criteria"] if c.get("detect") != "cyber_dos"]))
    return (run_scenario(base, out=tmp / "hybrid", quiet=True).out_dir,
            run_scenario(plain, out=tmp / "plain", quiet=True).out_dir)


def test_a_dos_on_the_video_server_then_an_assailant_in_the_blinded_area_is_a_hybrid_incident(hybrid):
    run, _ = hybrid
    armed = [i for i in _final(run).values() if i["kind"] == "armed_attack"]
    assert len(armed) == 1
    inc = armed[0]
    assert inc["hybrid"] is True and "cam-senate-sw" in inc["hybrid_reason"]
    assert inc["priority"] == 1 and inc["risk"]["exposure_basis"] in ("last_known", "prior")
    lost = [i for i in _final(run).values() if i["kind"] in ("video_tamper", "dos")]
    assert len(lost) == 1 and len(lost[0]["alerts"]) >= 5          # one outage, not one incident per stream
    m = json.loads((run / "metrics.json").read_text())["incidents"]
    row = next(r for r in m["attacks"] if r["attack"] == "active_assailant")
    assert row["hybrid"] is True and row["hybrid_true"] is True and row["time_to_incident_s"] < 10
    assert m["errors"] == 0 and m["precision"] == 1.0


def test_the_same_attack_with_the_cameras_up_is_seen_by_video_too_and_is_not_hybrid(hybrid):
    _, run = hybrid
    (inc,) = [i for i in _final(run).values() if i["kind"] == "armed_attack"]
    kinds = {a["kind"] for a in inc["alerts"]}
    assert inc["hybrid"] is False and inc["hybrid_reason"] is None
    assert "gunshot" in kinds and kinds & {"running", "crowd_anomaly"}, kinds   # the crowd seen fleeing
    assert inc["cameras"] == ["cam-senate-sw"]
    assert inc["risk"]["exposure_basis"] == "sensed"
    m = json.loads((run / "metrics.json").read_text())["incidents"]
    assert m["hybrid_correct"] == m["hybrid_labelled"] == 1


def test_every_cap_file_of_a_run_validates_and_an_update_references_its_alert(hybrid):
    schema = etree.XMLSchema(etree.parse(str(CAP_XSD)))
    ns = {"c": "urn:oasis:names:tc:emergency:cap:1.2"}
    files = sorted((hybrid[1] / "alerts").glob("*.xml"))
    assert len(files) >= 2
    sent = []
    for f in files:
        doc = etree.parse(str(f))
        assert schema.validate(doc), schema.error_log
        kind = doc.findtext("c:msgType", namespaces=ns)
        ref = doc.findtext("c:references", namespaces=ns)
        key = ",".join(doc.findtext(f"c:{k}", namespaces=ns) for k in ("sender", "identifier", "sent"))
        if kind == "Alert":
            assert ref is None
        else:
            assert ref is not None and set(ref.split()) == set(sent)
        sent.append(key)
        assert doc.findtext("c:status", namespaces=ns) == "Actual"
        assert len(doc.findtext("c:info/c:headline", namespaces=ns)) < 140


@pytest.fixture(scope="module")
def default_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("default")
    return run_scenario(LIBRARY / "default.yaml", out=tmp / "run", quiet=True).out_dir


def test_fuse_on_a_recorded_run_gives_the_same_incidents_actions_cap_and_picture(default_run, tmp_path):
    run = default_run
    scen = yaml.safe_load((run / "scenario.yaml").read_text(encoding="utf-8"))
    fig = fuse_feed(run / "events.jsonl", city=scen["city"], bbox=scen["bbox"], out=tmp_path / "fused",
                    density=str(run / "density_estimates.csv"), network=str(run / "network.json"),
                    start_time=scen["start_time"])
    assert fig["incidents"] >= 2 and fig["errors"] == 0
    for name in OUTPUTS:
        assert (tmp_path / "fused" / name).read_bytes() == (run / name).read_bytes(), name
    caps = sorted(p.name for p in (run / "alerts").glob("*.xml"))
    assert caps and caps == sorted(p.name for p in (tmp_path / "fused" / "alerts").glob("*.xml"))
    for name in caps:
        assert (tmp_path / "fused" / "alerts" / name).read_bytes() == (run / "alerts" / name).read_bytes()


def test_fuse_refuses_a_malformed_feed_with_one_line_and_writes_nothing(tmp_path, capsys):
    good = {"t": 1.0, "kind": "gunshot", "conf": 0.9, "source": ["mic-1"], "xy": [386400.0, 6672050.0]}
    feed = tmp_path / "alerts.jsonl"
    feed.write_text(json.dumps(good) + "\n" + json.dumps({**good, "conf": "high"}) + "\n", encoding="utf-8")
    assert main(["fuse", str(feed), "--city", "helsinki", "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "line 2" in err[0] and "'conf'" in err[0]
    assert not (tmp_path / "out").exists()
    feed.write_text(json.dumps(good) + "\n", encoding="utf-8")
    assert main(["fuse", str(feed), "--city", "helsinki", "--out", str(tmp_path / "out")]) == 0
    (inc,) = _lines(tmp_path / "out" / "incidents.jsonl")
    assert inc["kind"] == "armed_attack" and inc["alerts"][0]["id"] == "A1"


def test_policy_auto_exposes_fewer_people_than_advise(tmp_path):
    """The bag at the Senate Square gathering: under auto the recommended evacuation, inflow closure and
    dispatch are applied 10 s after the incident; the people in the square's zone over the rest of the run
    (person-seconds) fall, and a police unit reaches the scene."""
    base = LIBRARY / "default.yaml"
    runs = {}
    for policy in ("advise", "auto"):
        path = _variant(tmp_path, base, policy, lambda d, p=policy: d.update(
            duration_s=300, response={"policy": p, "decision_delay_s": 10}))
        runs[policy] = json.loads((run_scenario(path, out=tmp_path / policy, quiet=True).out_dir
                                   / "metrics.json").read_text())["incidents"]["outcomes"][0]
    assert runs["auto"]["exposed_person_s"] < 0.9 * runs["advise"]["exposed_person_s"], runs
    assert runs["auto"]["peak_people"] < runs["advise"]["peak_people"]
    assert runs["advise"]["responder_on_scene_s"] is None and runs["auto"]["responder_on_scene_s"] > 0


def test_policy_auto_isolates_the_beaconing_host_and_its_flows_stop(tmp_path):
    """The implant on the admin workstation beacons; its cyber incident recommends isolating the host. Under
    auto the cyber range cuts it off 5 s later: no flow of the admin starts after that, while under advise it
    goes on beaconing to the end."""
    base = LIBRARY / "detect-cyber_beacon.yaml"
    last = {}
    for policy in ("advise", "auto"):
        path = _variant(tmp_path, base, policy, lambda d, p=policy: d.update(
            response={"policy": p, "decision_delay_s": 5}))
        run = run_scenario(path, out=tmp_path / policy, quiet=True).out_dir
        epoch = datetime.fromisoformat(yaml.safe_load(path.read_text())["start_time"].replace("Z", "+00:00"))
        rows = [x.split("\t") for x in (run / "sensors" / "conn.log").read_text().splitlines()
                if not x.startswith("#")]
        last[policy] = max(float(r[0]) - epoch.timestamp() for r in rows if "10.10.0.40" in (r[2], r[4]))
        cut = [r for r in _lines(run / "ground_truth.jsonl") if r["kind"] == "network_isolated"]
        acts = [a for a in _lines(run / "actions.jsonl") if a["action"]["kind"] == "isolate_segment"]
        assert acts and acts[0]["action"]["target"] == "admin"
        if policy == "auto":
            assert len(cut) == 1 and cut[0]["hosts"] == ["10.10.0.40"]
            assert cut[0]["t"] == pytest.approx(acts[0]["t"] + 5.0) and last[policy] < cut[0]["t"]
        else:
            assert not cut and acts[0]["applied"] is None
    assert last["advise"] > last["auto"] + 60


def test_policy_auto_fails_the_blinded_cameras_over_to_the_backup_recorder(tmp_path):
    """The flood takes the video server down at 10 s; its incident recommends failing the cameras over.
    Under auto (5 s later) the square's camera streams to the backup recorder and sees the square again;
    under advise it stays blind until the flood ends."""
    base = LIBRARY / "hybrid-dos-assailant.yaml"
    frames = {}
    for policy in ("advise", "auto"):
        path = _variant(tmp_path, base, policy, lambda d, p=policy: d.update(
            response={"policy": p, "decision_delay_s": 5}, duration_s=60))
        run = run_scenario(path, out=tmp_path / policy, quiet=True).out_dir
        moved = [r for r in _lines(run / "ground_truth.jsonl") if r["kind"] == "video_failover"]
        acts = [a for a in _lines(run / "actions.jsonl") if a["action"]["kind"] == "failover"]
        assert acts
        health = [m for m in _lines(run / "events.jsonl")
                  if m.get("topic") == "camera/health" and m["camera_id"] == "cam-senate-sw"]
        frames[policy] = [m["stream"] for m in health if 30.0 <= m["t"] <= 60.0]
        if policy == "auto":
            senate = [r for r in moved if "cam-senate-sw" in r["cameras"]]
            assert senate and all(a["applied"] for a in acts)
            first = min(a["t"] for a in acts if "cam-senate-sw" in a["action"]["cameras"])
            assert senate[0]["t"] == pytest.approx(first + 5.0)
        else:
            assert not moved and all(a["applied"] is None for a in acts)
    assert frames["advise"] and set(frames["advise"]) == {"down"}
    assert frames["auto"] and set(frames["auto"]) == {"up"}
