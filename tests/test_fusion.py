"""Incident fusion: association rules and their reasons, evidence, location, hybrid (cyber-physical)
correlation, contradiction by counters, determinism and JSON output."""

from __future__ import annotations

import json

import networkx as nx
import pytest

from analytics.evidence import combine, simple_mass
from analytics.fusion import Fusion, FusionInputError, FusionParams, FusionParamsError, Gate
from analytics.incidents import IncidentError
from twin.network import attach_cameras, core_network

VMS_IP = "10.10.0.10"


def alert(t, kind, conf=0.8, *, xy=None, source=(), zone=None, **evidence):
    return {"t": float(t), "kind": kind, "conf": conf, "lonlat": None, "xy": None if xy is None else list(xy),
            "zone": zone, "source": list(source), "evidence": evidence}


def gunshot(t, xy, conf=0.9, **ev):
    return alert(t, "gunshot", conf, xy=xy, source=["mic-1", "mic-2", "mic-3"], sigma_m=5.0, **ev)


def running(t, xy, cam="cam-1", conf=0.8):
    return alert(t, "running", conf, xy=xy, source=[cam], dispersal=True)


def net_with(cams):
    g = core_network()
    attach_cameras(g, cams)
    return g


def push_all(f, alerts):
    out = []
    for a in alerts:
        out += f.push(a)
    return out


# -- association ------------------------------------------------------------------------------------------

def test_two_sources_of_one_event_give_one_incident_more_confident_than_either():
    shot, run = gunshot(100.0, (0.0, 0.0)), running(103.0, (20.0, 0.0))
    alone = [Fusion().push(a)[0]["confidence"] for a in (shot, run)]
    f = Fusion()
    push_all(f, [shot, run])
    (inc,) = f.incidents()
    assert inc["kind"] == "armed_attack"
    assert inc["confidence"] > max(alone)
    # Dempster on the two discounted alerts (acoustic 0.85 * 0.9, video 0.8 * 0.8)
    assert inc["confidence"] == pytest.approx(combine([simple_mass(0.9, 0.85), simple_mass(0.8, 0.8)])[0],
                                              abs=1e-4)
    reason = inc["alerts"][1]["reason"]
    assert reason == {"rule": "space_time", "distance_m": 20.0, "dt_s": 3.0}
    assert [a["id"] for a in inc["alerts"]] == ["A1", "A2"]
    assert inc["t_first"] == 100.0 and inc["t_last"] == 103.0
    # the location is the confidence-weighted mean: 20 * 0.8 / (0.9 + 0.8)
    assert inc["xy"] == pytest.approx([20 * 0.8 / 1.7, 0.0], abs=0.01)
    assert 0 < inc["sigma_m"] < 20


def test_two_distant_events_give_two_incidents_and_so_does_the_same_place_much_later():
    f = Fusion()
    push_all(f, [gunshot(100.0, (0.0, 0.0)), gunshot(105.0, (2000.0, 0.0)), gunshot(5000.0, (0.0, 0.0))])
    incs = f.incidents()
    assert [i["id"] for i in incs] == ["INC-0001", "INC-0002", "INC-0003"]
    assert all(len(i["alerts"]) == 1 and i["alerts"][0]["reason"] == {"rule": "first"} for i in incs)
    assert f.active_ids() == ["INC-0003"]  # the first two went idle


def test_repeats_of_one_sensor_do_not_raise_confidence():
    f = Fusion()
    first = f.push(running(10.0, (0.0, 0.0)))[0]["confidence"]
    again = f.push(running(12.0, (3.0, 0.0)))
    assert again[0]["confidence"] == first  # one camera, one opinion (max)
    other = f.push(running(13.0, (4.0, 0.0), cam="cam-2"))
    assert other[0]["confidence"] > first


def test_same_host_cyber_alerts_merge_and_other_hosts_do_not():
    f = Fusion()
    push_all(f, [
        alert(100.0, "port_scan", source=["203.0.113.5"], src="203.0.113.5", dst=["10.20.1.11"]),
        alert(400.0, "brute_force", source=["203.0.113.5"], src="203.0.113.5", dst=["10.10.0.40"]),
        alert(410.0, "port_scan", source=["198.51.100.7"], src="198.51.100.7", dst=["10.20.1.11"]),
    ])
    a, b = f.incidents()
    assert a["kind"] == "cyber_attack" and a["hosts"] == ["203.0.113.5"] and a["xy"] is None
    assert a["alerts"][1]["reason"] == {"rule": "same_host", "host": "203.0.113.5", "dt_s": 300.0}
    assert b["hosts"] == ["198.51.100.7"] and len(b["alerts"]) == 1


def test_losses_on_one_access_switch_merge_by_segment():
    g = net_with({"cam-a": (10.0, 10.0), "cam-b": (390.0, 390.0), "cam-far": (5000.0, 5000.0)})
    ip = {d["camera_id"]: d["ip"] for _, d in g.nodes(data=True) if d.get("kind") == "camera"}
    assert ip["cam-a"].rsplit(".", 1)[0] == ip["cam-b"].rsplit(".", 1)[0]  # one switch, 537 m apart
    f = Fusion(network=g)
    push_all(f, [alert(50.0, "stream_loss", source=[ip["cam-a"]], dst=ip["cam-a"], src=VMS_IP,
                       via="rtsp_flows"),
                 alert(52.0, "stream_loss", source=["cam-b"], camera_id="cam-b", via="health"),
                 alert(53.0, "stream_loss", source=["cam-far"], camera_id="cam-far", via="health")])
    a, b = f.incidents()
    assert a["kind"] == "video_tamper" and a["hosts"] == sorted([ip["cam-a"], ip["cam-b"]])
    assert a["alerts"][1]["reason"]["rule"] == "same_host"
    assert a["alerts"][1]["reason"]["segment"] == "sw-0001"
    assert b["hosts"] == [ip["cam-far"]]


def test_alerts_without_xy_are_placed_at_their_camera_and_one_camera_is_one_host():
    cams = {"cam-1": {"xy": [100.0, 200.0], "ip": "10.20.1.11", "view": None}}
    f = Fusion(cameras=cams)
    push_all(f, [alert(10.0, "stream_loss", source=["cam-1"], camera_id="cam-1", via="health"),
                 alert(11.0, "stream_loss", source=["10.20.1.11"], dst="10.20.1.11", via="rtsp_flows")])
    (inc,) = f.incidents()
    assert inc["xy"] == [100.0, 200.0] and inc["sigma_m"] > 0
    assert inc["alerts"][1]["reason"]["rule"] == "same_host"
    assert inc["hosts"] == ["10.20.1.11"] and inc["cameras"] == ["cam-1"]


def test_same_asset_merges_beyond_the_space_gate():
    stadium = {"id": "w1", "type": "stadium", "name": "Arena", "xy": [0.0, 0.0], "lonlat": [0, 0],
               "capacity": 10000, "area_m2": 160000.0,
               "polygon": [[-200.0, -200.0], [200.0, -200.0], [200.0, 200.0], [-200.0, 200.0]]}
    f = Fusion(assets=[stadium])
    push_all(f, [alert(10.0, "zone_intrusion", 0.9, xy=(-190.0, -190.0), source=["cam-1"]),
                 alert(40.0, "zone_intrusion", 0.9, xy=(190.0, 190.0), source=["cam-2"])])
    (inc,) = f.incidents()
    assert inc["alerts"][1]["reason"] == {"rule": "same_asset", "asset": "w1", "dt_s": 30.0}
    assert inc["assets"] == ["w1"]


def test_dependency_edge_links_an_alert_at_a_provider_to_an_incident_at_its_dependent():
    sub = {"id": "n1", "type": "substation", "xy": [0.0, 0.0], "polygon": None}
    hosp = {"id": "w2", "type": "hospital", "xy": [1500.0, 0.0], "polygon": None}
    school = {"id": "w3", "type": "school", "xy": [-1500.0, 0.0], "polygon": None}
    deps = nx.DiGraph()
    deps.add_edge("n1", "w2", kind="power", distance_m=1500.0)
    f = Fusion(assets=[sub, hosp, school], dependencies=deps)
    push_all(f, [alert(10.0, "zone_intrusion", 0.9, xy=(1510.0, 0.0), source=["cam-h"]),
                 alert(60.0, "zone_intrusion", 0.9, xy=(5.0, 0.0), source=["cam-s"]),
                 alert(70.0, "zone_intrusion", 0.9, xy=(-1500.0, 0.0), source=["cam-x"])])
    a, b = f.incidents()
    assert a["alerts"][1]["reason"] == {"rule": "dependency", "asset": "w2", "edge": ["n1", "w2"],
                                        "dt_s": 50.0}
    assert b["assets"] == ["w3"] and len(b["alerts"]) == 1  # no edge to the school


def test_same_zone_joins_a_counter_alert_without_location():
    f = Fusion()
    push_all(f, [alert(10.0, "crowd_density", 0.9, source=["cnt-sq"], zone="square", people=600.0),
                 alert(20.0, "crowd_anomaly", 0.6, xy=(50.0, 50.0), source=["cam-3"], zone="square",
                       reason="density_jump")])
    (inc,) = f.incidents()
    assert inc["kind"] == "crowd_emergency" and inc["zone"] == "square"
    assert inc["alerts"][1]["reason"] == {"rule": "same_zone", "zone": "square", "dt_s": 10.0}
    assert inc["xy"] == [50.0, 50.0]


def test_kind_follows_the_strongest_evidence_and_its_sop_replaces_the_checklist():
    f = Fusion()
    f.push(running(10.0, (0.0, 0.0)))
    (inc,) = f.push(gunshot(11.0, (10.0, 0.0)))
    assert inc["kind"] == "armed_attack" and inc["priority"] == 1
    assert inc["sop"][0]["id"] == "call_up_cameras" and any(s["id"] == "notify_police" for s in inc["sop"])
    assert {"t": 11.0, "actor": "fusion", "event": "kind_changed", "from": "crowd_emergency",
            "to": "armed_attack"} in inc["history"]


def test_a_fleeing_crowd_is_a_crowd_emergency_and_one_runner_suspicious_behaviour():
    (crowd,) = Fusion().push(running(10.0, (0.0, 0.0)))
    (one,) = Fusion().push(alert(10.0, "running", 0.8, xy=(0.0, 0.0), source=["cam-1"], speed_mps=4.0))
    assert crowd["kind"] == "crowd_emergency" and one["kind"] == "suspicious_behaviour"


def test_cameras_of_an_incident_are_those_whose_view_holds_it_else_those_in_range():
    cams = {"cam-view": {"xy": [0.0, -200.0], "ip": None,
                         "view": [[-20.0, -20.0], [20.0, -20.0], [20.0, 20.0], [-20.0, 20.0]]},
            "cam-near": {"xy": [0.0, 40.0], "ip": None, "view": None},
            "cam-away": {"xy": [30.0, 30.0], "ip": None, "view": [[25.0, 25.0], [60.0, 25.0], [60.0, 60.0]]}}
    f = Fusion(cameras=cams)
    (inc,) = f.push(gunshot(1.0, (0.0, 0.0)))
    assert inc["cameras"] == ["cam-near", "cam-view"]  # nearest first; cam-away looks elsewhere
    (other,) = f.push(gunshot(2.0, (0.0, 1000.0)))
    assert other["cameras"] == []


def test_operator_resolution_closes_association():
    f = Fusion()
    f.push(gunshot(1.0, (0.0, 0.0)))
    f.transition("INC-0001", "acknowledged", 5.0, actor="operator:anna")
    f.transition("INC-0001", "in_progress", 6.0, actor="operator:anna")
    d = f.transition("INC-0001", "resolved", 9.0, actor="operator:anna")
    assert d["state"] == "resolved"
    (new,) = f.push(gunshot(10.0, (0.0, 0.0)))
    assert new["id"] == "INC-0002"
    with pytest.raises(IncidentError):
        f.transition("INC-0002", "closed", 11.0, actor="operator:anna")


def test_association_looks_only_at_nearby_open_incidents():
    f = Fusion()
    for i in range(20):
        for j in range(20):
            f.push(gunshot(1.0, (i * 3000.0, j * 3000.0)))
    assert len(f.incidents()) == 400
    before = f.compared
    (inc,) = f.push(gunshot(2.0, (30010.0, 30000.0)))
    assert inc["id"] == "INC-0211" and inc["alerts"][1]["reason"]["rule"] == "space_time"
    assert f.compared - before <= 2


# -- hybrid -----------------------------------------------------------------------------------------------

def test_stream_loss_of_a_camera_near_a_later_gunshot_makes_it_hybrid():
    cams = {"cam-sq": {"xy": [50.0, 0.0], "ip": "10.20.1.11", "view": None}}
    f = Fusion(cameras=cams)
    (loss,) = f.push(alert(100.0, "stream_loss", source=["cam-sq"], camera_id="cam-sq", via="health"))
    assert loss["kind"] == "video_tamper" and loss["hybrid"] is False
    (inc,) = f.push(gunshot(160.0, (0.0, 0.0)))
    assert inc["kind"] == "armed_attack" and inc["hybrid"] is True
    assert "cam-sq" in inc["hybrid_reason"] and "A1" in inc["hybrid_reason"]
    assert "60 s before" in inc["hybrid_reason"]
    assert any(h["event"] == "hybrid_changed" for h in inc["history"])


def test_a_loss_after_the_attack_marks_the_open_incident_hybrid_on_arrival():
    cams = {"cam-sq": {"xy": [50.0, 0.0], "ip": None, "view": None}}
    f = Fusion(cameras=cams)
    f.push(gunshot(100.0, (0.0, 0.0)))
    out = f.push(alert(130.0, "camera_tamper", 0.7, source=["cam-sq"]))
    assert [d["id"] for d in out] == ["INC-0001", "INC-0002"]
    assert out[0]["hybrid"] and "30 s after" in out[0]["hybrid_reason"]


def test_dos_on_the_vms_then_an_attack_among_its_cameras_is_hybrid_and_names_the_dos():
    g = net_with({"cam-a": (0.0, 60.0), "cam-b": (400.0, 0.0)})
    f = Fusion(network=g)
    (dos,) = f.push(alert(100.0, "dos", source=[VMS_IP], dst=VMS_IP, src=["198.51.100.9"]))
    assert dos["kind"] == "dos" and dos["hosts"] == [VMS_IP]
    (inc,) = f.push(gunshot(300.0, (0.0, 0.0)))
    assert inc["hybrid"] is True
    assert "INC-0001" in inc["hybrid_reason"] and "cam-a" in inc["hybrid_reason"]
    assert inc["priority"] == 1


def test_a_later_dos_on_a_switch_links_an_open_incident_only_within_the_lag():
    g = net_with({"cam-a": (0.0, 60.0)})
    sw_ip = g.nodes["sw-0001"]["ip"]
    f = Fusion(network=g)
    f.push(alert(100.0, "zone_intrusion", 0.9, xy=(0.0, 0.0), source=["cam-a"]))
    out = f.push(alert(140.0, "dos", source=[sw_ip], dst=sw_ip))
    assert [d["id"] for d in out] == ["INC-0001", "INC-0002"]
    assert out[0]["hybrid"] and "INC-0002" in out[0]["hybrid_reason"]
    f2 = Fusion(network=g)
    f2.push(alert(100.0, "zone_intrusion", 0.9, xy=(0.0, 0.0), source=["cam-a"]))
    out = f2.push(alert(400.0, "dos", source=[sw_ip], dst=sw_ip))  # 300 s after: an effect, not a cover
    assert [d["id"] for d in out] == ["INC-0002"]


def test_the_same_attack_without_lost_cameras_is_not_hybrid():
    g = net_with({"cam-a": (0.0, 60.0), "cam-far": (3000.0, 0.0)})
    for pre in ([], [alert(100.0, "dos", source=["10.10.0.31"], dst="10.10.0.31")],  # the DNS: no camera
                [alert(100.0, "stream_loss", source=["cam-far"], camera_id="cam-far", via="health")]):
        f = Fusion(network=g)
        push_all(f, pre)
        (inc,) = f.push(gunshot(300.0, (0.0, 0.0)))
        assert inc["hybrid"] is False and inc["hybrid_reason"] is None and inc["cameras"] == ["cam-a"]


def test_a_scan_or_brute_force_on_the_vms_blinds_nothing_so_a_later_attack_is_not_hybrid():
    g = net_with({"cam-a": (0.0, 60.0)})
    atk = "46.29.142.217"
    for pre in (alert(100.0, "brute_force", source=[atk], dst=["vms", VMS_IP], src=atk),
                alert(100.0, "port_scan", source=[atk], dst=[VMS_IP])):
        f = Fusion(network=g)
        f.push(pre)
        (inc,) = f.push(gunshot(200.0, (0.0, 0.0)))
        assert inc["hybrid"] is False, pre["kind"]
    f = Fusion(network=g, params=FusionParams(blinding_kinds=("dos", "brute_force")))
    f.push(alert(100.0, "brute_force", source=["46.29.142.217"], dst=["vms", VMS_IP], src="46.29.142.217"))
    assert f.push(gunshot(200.0, (0.0, 0.0)))[0]["hybrid"] is True    # the rule is the parameter's


def test_a_vms_dos_does_not_make_an_attack_far_from_every_camera_hybrid():
    f = Fusion(network=net_with({"cam-a": (0.0, 60.0)}))
    f.push(alert(100.0, "dos", source=[VMS_IP], dst=VMS_IP))
    (inc,) = f.push(gunshot(200.0, (2000.0, 0.0)))
    assert inc["hybrid"] is False


# -- contradiction ----------------------------------------------------------------------------------------

def test_a_counter_that_sees_no_crowd_lowers_a_video_crowd_claim():
    f = Fusion()
    (inc,) = f.push(alert(10.0, "crowd_anomaly", 0.6, xy=(0.0, 0.0), source=["cam-3"], zone="square",
                          reason="density_jump"))
    before = inc["confidence"]
    assert f.observe({"t": 12.0, "topic": "counter/area", "sensor_id": "cnt-sq", "zone": "square",
                      "count": 150, "area_m2": 400.0}) == []  # a crowd: no contradiction
    (after,) = f.observe({"t": 15.0, "topic": "counter/area", "sensor_id": "cnt-sq", "zone": "square",
                          "count": 5, "area_m2": 400.0})
    assert after["confidence"] < before
    assert after["confidence"] == pytest.approx(
        combine([simple_mass(0.6, 0.8), simple_mass(0.8, 0.9, against=True)])[0], abs=1e-4)
    assert {"t": 15.0, "actor": "fusion", "event": "evidence_added", "source": "cnt-sq", "against": True,
            "conf": 0.8} in after["history"]


def test_a_no_crowd_reading_seen_first_applies_to_the_later_claim_of_its_zone():
    zones = {"square": [[-50.0, -50.0], [50.0, -50.0], [50.0, 50.0], [-50.0, 50.0]]}
    f = Fusion(zones=zones)
    f.observe({"t": 5.0, "topic": "counter/area", "sensor_id": "cnt-sq", "zone": "square", "count": 2,
               "area_m2": 10000.0})
    (inc,) = f.push(running(10.0, (0.0, 0.0)))  # a dispersal the counter contradicts
    assert inc["zone"] == "square"
    assert inc["confidence"] == pytest.approx(
        combine([simple_mass(0.8, 0.8), simple_mass(0.8, 0.9, against=True)])[0], abs=1e-4)
    (shot,) = Fusion(zones=zones).push(gunshot(10.0, (0.0, 0.0)))
    assert shot["confidence"] == pytest.approx(0.765)


# -- output -----------------------------------------------------------------------------------------------

def scenario():
    cams = {"cam-a": {"xy": [0.0, 60.0], "ip": "10.20.1.11", "view": None}}
    return cams, [
        alert(50.0, "stream_loss", source=["cam-a"], camera_id="cam-a", via="health"),
        alert(60.0, "port_scan", source=["203.0.113.5"], dst=["10.20.1.11"]),
        gunshot(100.0, (0.0, 0.0)), running(103.0, (20.0, 0.0)), gunshot(104.0, (900.0, 0.0), conf=0.6),
        alert(110.0, "crowd_anomaly", 0.6, xy=(10.0, 10.0), source=["cam-a"], zone="z1", reason="dispersal"),
        {**alert(120.0, "brute_force", source=["203.0.113.5"], dst=["10.20.1.11"]), "id": "ext-7"},
    ]


def test_same_alerts_give_identical_incidents_and_json_without_nan():
    cams, alerts = scenario()
    runs = []
    for _ in range(2):
        f = Fusion(cameras=cams, to_lonlat=lambda xy: [24.9 + xy[0] * 1e-5, 60.1 + xy[1] * 1e-5])
        pushed = [json.dumps(f.push(a), sort_keys=True, allow_nan=False) for a in alerts]
        runs.append((pushed, json.dumps(f.incidents(), sort_keys=True, allow_nan=False)))
    assert runs[0] == runs[1]
    incs = json.loads(runs[0][1])
    assert [i["kind"] for i in incs] == ["video_tamper", "cyber_attack", "armed_attack", "armed_attack"]
    assert incs[1]["alerts"][1]["id"] == "ext-7" and incs[2]["alerts"][0]["id"] == "A3"
    assert incs[2]["hybrid"] and incs[2]["lonlat"][0] == pytest.approx(24.9 + incs[2]["xy"][0] * 1e-5)
    keys = {"id", "kind", "state", "priority", "confidence", "t_first", "t_last", "t_updated", "xy", "lonlat",
            "sigma_m", "zone", "hosts", "hybrid", "hybrid_reason", "alerts", "assets", "cameras", "risk",
            "actions", "sop", "history"}
    assert all(set(i) == keys for i in incs)


@pytest.mark.parametrize("bad, field", [
    ({"t": float("nan"), "kind": "gunshot", "conf": 0.5}, "t"),
    ({"t": 1.0, "kind": "sneeze", "conf": 0.5}, "kind"),
    ({"t": 1.0, "kind": "gunshot", "conf": 1.5}, "conf"),
    ({"t": 1.0, "kind": "gunshot", "conf": 0.5, "xy": [1.0, float("inf")]}, "xy"),
    ({"t": 1.0, "kind": "gunshot", "conf": 0.5, "source": "mic-1"}, "source"),
])
def test_malformed_alerts_are_refused_with_one_line_naming_the_field(bad, field):
    f = Fusion()
    with pytest.raises(FusionInputError, match=rf"^alert #1: {field} must be") as err:
        f.push(bad)
    assert "\n" not in str(err.value)
    assert f.push(gunshot(1.0, (0.0, 0.0)))[0]["alerts"][0]["id"] == "A1"  # a refused alert takes no number


def test_params_are_checked():
    with pytest.raises(FusionParamsError, match="gates lacks"):
        FusionParams(gates={"armed_attack": Gate(1.0, 1.0)})
    with pytest.raises(FusionParamsError, match="hybrid_radius_m"):
        FusionParams(hybrid_radius_m=float("nan"))


def test_a_frozen_camera_the_context_does_not_know_is_placed_at_its_alert():
    f = Fusion()
    f.push(alert(100.0, "video_frozen", xy=(40.0, 0.0), source=["cam-x"], frozen_s=20.0))
    (inc,) = f.push(gunshot(150.0, (0.0, 0.0)))
    assert inc["hybrid"] and "cam-x (40 m away)" in inc["hybrid_reason"]


def test_incident_lookup_by_id():
    f = Fusion()
    f.push(gunshot(1.0, (0.0, 0.0)))
    assert f.incident("INC-0001").kind == "armed_attack"
    for bad in ("INC-0000", "INC-0002", "INC-0", "nonsense", "XYZ-0001"):
        with pytest.raises(KeyError):
            f.incident(bad)
