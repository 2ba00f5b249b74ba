"""The incident stage on plain data: alerts in; incidents, actions, CAP, the picture and resilience out."""

from __future__ import annotations

import csv
import json
from datetime import datetime, timedelta, timezone

import networkx as nx
import pytest
from lxml import etree

from analytics.cop import validate_geojson
from analytics.fusion import FusionInputError
from analytics.incident_stage import IncidentStage, Site
from tests._recgraphs import camera_network, drive_line, grid
from twin.datapath import data_dir

SQUARE = [[200.0, 200.0], [400.0, 200.0], [400.0, 400.0], [200.0, 400.0], [200.0, 200.0]]
EPOCH = datetime(2026, 6, 11, 22, 0, tzinfo=timezone(timedelta(hours=3)))


def _site() -> Site:
    deps = nx.DiGraph()
    deps.add_edge("sub", "sq", kind="power", distance_m=300.0)
    assets = [{"id": "sq", "type": "square", "name": "Market Square", "xy": [300.0, 300.0],
               "lonlat": [24.95, 60.17], "capacity": 2000, "area_m2": 40000.0, "polygon": SQUARE},
              {"id": "sub", "type": "substation", "name": "Substation", "xy": [600.0, 0.0],
               "lonlat": [24.96, 60.16], "capacity": 0, "area_m2": 0.0, "polygon": None}]
    drive = drive_line()
    nx.relabel_nodes(drive, {0: 100}, copy=False)
    for n, (x, y) in {100: (300.0, 300.0)}.items():
        drive.nodes[n].update(x=x, y=y)
    units = [{"id": "police-1", "kind": "police", "node": 2, "available": True, "xy": [600.0, 0.0]},
             {"id": "ambulance-1", "kind": "ambulance", "node": 1, "available": True, "xy": [200.0, 0.0]}]
    return Site(assets=assets, dependencies=deps, network=camera_network(), walk=grid(), drive=drive,
                zones={"sq": SQUARE}, camera_ips={}, to_lonlat=lambda xy: [24.9 + xy[0] * 1e-5,
                                                                         60.1 + xy[1] * 1e-5],
                units=units)


def _alert(t, kind, conf, xy, source, **ev):
    return {"t": t, "kind": kind, "conf": conf, "lonlat": None, "xy": xy, "zone": None, "source": source,
            "evidence": ev}


def _lines(path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()]


@pytest.fixture()
def stage(tmp_path):
    st = IncidentStage(_site(), tmp_path, epoch=EPOCH)
    st.density([(0.0, "sq", 800.0)])
    return st


def test_a_shot_and_people_running_from_it_are_one_incident_with_risk_actions_and_cap(stage, tmp_path):
    (a,) = stage.push(_alert(10.0, "gunshot", 0.85, [300.0, 300.0], ["mic-1", "mic-2", "mic-3"], sigma_m=5.0))
    (b,) = stage.push(_alert(13.0, "running", 0.8, [315.0, 310.0], ["cam-a1"], dispersal=True))
    assert a["id"] == b["id"] == "INC-0001" and b["confidence"] > a["confidence"]
    assert b["kind"] == "armed_attack" and b["assets"] == ["sq"]
    risk = b["risk"]
    # 800 people spread over the 200 m square: the 100 m circle round its centre holds pi/4 of them
    assert risk["exposed"] == pytest.approx(800 * 3.14159 / 4, rel=0.02)
    assert risk["R"] == pytest.approx(risk["T"] * risk["V"] * risk["C"], rel=1e-3) and b["priority"] == 1
    kinds = [x["kind"] for x in b["actions"]]
    assert "evacuate" in kinds and "close_inflow" in kinds and kinds.count("dispatch") == 2
    police = next(x for x in b["actions"] if x["kind"] == "dispatch" and x["unit_kind"] == "police")
    assert police["unit"] == "police-1" and police["eta_s"] == pytest.approx(36.0)
    out = stage.close(60.0)
    assert out["errors"] == 0 and out["incidents"] == 1 and out["cap"] >= 1
    changes = _lines(tmp_path / "incidents.jsonl")
    assert [c["t"] for c in changes] == [10.0, 13.0, 60.0] and changes[1]["confidence"] == b["confidence"]
    # nobody acted: at the end the SOP steps past their limits are on the record, once each
    late = [h["step"] for h in changes[-1]["history"] if h["event"] == "sop_late"]
    assert late == ["call_up_cameras"]      # due 30 s after the incident; the next, notify_police, at 70 s
    acts = _lines(tmp_path / "actions.jsonl")
    assert acts and all(x["applied"] is None for x in acts)          # advise: nothing applied
    schema = etree.XMLSchema(etree.parse(str(data_dir() / "standards" / "CAP-v1.2.xsd")))
    caps = sorted((tmp_path / "alerts").glob("*.xml"))
    assert caps and all(schema.validate(etree.parse(str(p))) for p in caps)
    assert b"+03:00" in caps[0].read_bytes()
    cop = json.loads((tmp_path / "cop.geojson").read_text())
    assert validate_geojson(cop) == []
    layers = {f["properties"]["layer"] for f in cop["features"]}
    assert {"incident", "asset", "route"} <= layers
    rows = list(csv.DictReader((tmp_path / "resilience.csv").open()))
    sq = [r for r in rows if r["asset"] == "sq"]
    assert float(sq[0]["q"]) == 1.0 and min(float(r["q"]) for r in sq) == 0.0   # closed by the attack


def test_a_bad_alert_is_counted_and_the_stage_goes_on(stage):
    assert stage.push(_alert(5.0, "gunshot", 0.9, ["a", "b"], ["mic-1"])) == []
    (inc,) = stage.push(_alert(6.0, "gunshot", 0.9, [300.0, 300.0], ["mic-1"]))
    assert inc["id"] == "INC-0001"
    out = stage.close(10.0)
    assert out["errors"] == 1 and out["errors_by_part"] == {"fusion": 1}
    assert "xy" in out["first_errors"]["fusion"]


def test_a_strict_stage_refuses_a_bad_alert(tmp_path):
    st = IncidentStage(_site(), tmp_path, epoch=EPOCH, strict=True)
    with pytest.raises(FusionInputError):
        st.push(_alert(5.0, "gunshot", 0.9, ["a", "b"], ["mic-1"]))


def test_the_unit_board_follows_unit_status_messages(stage):
    stage.observe({"t": 1.0, "topic": "unit/status", "id": "police-1", "kind": "police", "node": 2,
                   "available": False, "status": "en_route", "incident": "INC-0099"})
    (inc,) = stage.push(_alert(10.0, "gunshot", 0.9, [300.0, 300.0], ["mic-1", "mic-2", "mic-3"]))
    police = next(x for x in inc["actions"] if x["kind"] == "dispatch" and x["unit_kind"] == "police")
    assert police["unit"] is None                      # the only police unit is busy elsewhere


def test_a_blinded_area_keeps_its_last_known_crowd(stage):
    stage.density([(10.0, "sq", 400.0)])
    (inc,) = stage.push(_alert(300.0, "gunshot", 0.9, [300.0, 300.0], ["mic-1", "mic-2", "mic-3"]))
    assert inc["risk"]["exposure_basis"] == "last_known"
    assert inc["risk"]["exposed"] == pytest.approx(400 * 3.14159 / 4, rel=0.02)


def test_cap_messages_name_the_place_for_people(stage, tmp_path):
    stage.push(_alert(10.0, "gunshot", 0.9, [300.0, 300.0], ["mic-1", "mic-2", "mic-3"]))
    stage.close(20.0)
    body = next((tmp_path / "alerts").glob("*.xml")).read_text()
    assert "<headline>Armed attack" in body and "Market Square" in body.split("<headline>")[1].split("<")[0]
    assert "<areaDesc>Market Square (zone sq)</areaDesc>" in body


def test_applied_actions_tick_their_sop_steps_and_the_cameras_are_called_up(stage, tmp_path):
    site = _site()
    site.calibrations = {}
    (inc,) = stage.push(_alert(10.0, "gunshot", 0.9, [300.0, 300.0], ["mic-1", "mic-2", "mic-3"]))
    dispatch = next(a for a in inc["actions"] if a["kind"] == "dispatch")
    after = stage.applied(40.0, inc["id"], dispatch)
    step = {s["id"]: s for s in after["sop"]}["notify_police"]
    assert step["status"] == "done" and step["actor"] == "auto" and step["t"] == 40.0
    assert step["late"] is False
    assert stage.applied(41.0, inc["id"], dispatch) is None        # nothing left for it to tick
    st2 = IncidentStage(site, tmp_path / "two", epoch=EPOCH)
    st2.observe({"t": 0.0, "topic": "camera/calibration", "camera_id": "cam-a1", "xy": [310.0, 300.0]})
    (inc2,) = st2.push(_alert(10.0, "gunshot", 0.9, [300.0, 300.0], ["mic-1", "mic-2", "mic-3"]))
    call = {s["id"]: s for s in inc2["sop"]}["call_up_cameras"]
    assert inc2["cameras"] == ["cam-a1"] and call["status"] == "done" and call["note"] == "cam-a1"
