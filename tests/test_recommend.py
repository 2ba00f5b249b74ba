"""The rules table turns each incident kind into its documented actions, each with its rule and why."""

from __future__ import annotations

import json
import math
import random
from itertools import pairwise

import numpy as np
import pytest
import shapely

from analytics.crowdcost import specific_flow
from analytics.dispatch import DISPATCH_RULES
from analytics.evacuation import HAZARD_RADIUS_M
from analytics.graphgeo import RecommendError, nearest_node
from analytics.recommend import ACTION_KINDS, HYBRID_RULES, RULES, recommend
from tests._recgraphs import camera_network, grid

PLAZA = [[250.0, 250.0], [350.0, 250.0], [350.0, 350.0], [250.0, 350.0]]   # round walk node 24


def _drive():
    g = grid()
    for *_, d in g.edges(data=True):
        d["travel_time"] = d["length"] / 10.0       # 36 km/h: 10 s per 100 m block
    return g


UNITS = [
    {"id": "P1", "kind": "police", "node": 3, "available": True},       # 3 blocks from node 24: 30 s
    {"id": "P2", "kind": "police", "node": 0, "available": True},       # 6 blocks: 60 s
    {"id": "F1", "kind": "fire", "node": 42, "available": True},
    {"id": "A1", "kind": "ambulance", "node": 48, "available": True},
]


def _incident(kind, **extra):
    inc = {"id": "INC-7", "kind": kind, "state": "new", "priority": 1, "confidence": 0.9,
           "xy": [300.0, 300.0], "lonlat": None, "sigma_m": 0.0, "zone": None, "hosts": [], "hybrid": False,
           "hybrid_reason": None, "alerts": [], "risk": {"exposed": 120.0}}
    inc.update(extra)
    return inc


def _alert(kind, *source):
    return {"id": f"A-{kind}", "t": 10.0, "kind": kind, "source": list(source), "conf": 0.8,
            "reason": {"rule": "first"}}


def _run(inc, **kw):
    args = {"walk": grid(), "drive": _drive(), "network": camera_network(), "units": UNITS,
            "zones": {"plaza": PLAZA}}
    args.update(kw)
    return recommend(inc, **args)


CASES = {
    "explosion": (_incident("explosion"), ["evacuate", "close_inflow", "dispatch", "dispatch", "dispatch"]),
    "armed_attack": (_incident("armed_attack"), ["evacuate", "close_inflow", "dispatch", "dispatch"]),
    "crowd_emergency": (_incident("crowd_emergency", zone="plaza"),
                        ["close_inflow", "evacuate", "dispatch", "dispatch"]),
    "intrusion": (_incident("intrusion"), ["dispatch"]),
    "suspicious_behaviour": (_incident("suspicious_behaviour"), []),
    "cyber_attack": (_incident("cyber_attack", xy=None, alerts=[_alert("port_scan", "10.20.1.11")]),
                     ["isolate_segment"]),
    "dos": (_incident("dos", xy=None, hosts=["10.10.0.10"], alerts=[_alert("dos", "10.10.0.10")]),
            ["failover"]),
    "video_tamper": (_incident("video_tamper", xy=None, alerts=[_alert("stream_loss", "cam-b1")]),
                     ["failover"]),
}


@pytest.mark.parametrize("kind", sorted(CASES))
def test_the_rules_table_gives_the_documented_actions_per_kind(kind):
    inc, expected = CASES[kind]
    actions = _run(inc)
    assert [a["kind"] for a in actions] == expected
    table = dict(RULES[kind])                       # rule name -> action kind
    assert all(table[a["rule"]] == a["kind"] for a in actions)
    assert [a["id"] for a in actions] == [f"ACT-INC-7-{n}" for n in range(1, len(actions) + 1)]
    assert all(a["incident"] == "INC-7" and a["kind"] in ACTION_KINDS for a in actions)
    assert json.loads(json.dumps(actions, allow_nan=False)) == actions      # plain JSON values only


def test_every_incident_kind_has_rules_and_physical_kinds_their_radius_and_units():
    kinds = ("armed_attack", "explosion", "vehicle_attack", "suspicious_object", "intrusion",
             "suspicious_behaviour", "crowd_emergency", "cyber_attack", "dos", "video_tamper")
    assert set(RULES) == set(kinds)
    for kind, rules in RULES.items():
        actions = {a for _r, a in rules}
        assert actions <= set(ACTION_KINDS)
        assert ("evacuate" in actions) == (kind in HAZARD_RADIUS_M)
        assert ("dispatch" in actions) == (kind in DISPATCH_RULES)
    assert [a for _r, a in HYBRID_RULES] == ["isolate_segment", "failover"]


def test_an_explosion_gets_its_route_its_closures_and_the_quickest_units_with_why():
    evac, close, *sent = _run(_incident("explosion"))
    assert evac["rule"] == "evacuate_hazard" and evac["nodes"] == [24, 17, 10]
    assert evac["length_m"] == 200.0 and evac["time_s"] == round(200 / 1.34, 1)
    assert evac["hazard"] == {"zone": None, "radius_m": 100.0, "center": [300.0, 300.0]}
    assert evac["why"].startswith(
        "explosion incident INC-7 (confidence 0.90, 120 people exposed): leave the 100 m hazard zone")
    assert [(e["u"], e["v"]) for e in close["edges"]] == [(17, 24), (23, 24), (25, 24), (31, 24)]
    assert close["inflow_pps"] is None and "close the 4 walkways" in close["why"]
    assert [(a["unit_kind"], a["unit"], a["eta_s"]) for a in sent] == [
        ("police", "P1", 30.0), ("fire", "F1", 60.0), ("ambulance", "A1", 60.0)]
    assert sent[0]["path"] == [3, 10, 17, 24] and "ETA 30 s" in sent[0]["why"]


def test_assigned_units_are_not_offered_again_and_cover_their_own_incident():
    units = [dict(UNITS[0], incident="INC-3"), *UNITS[1:]]       # P1 is busy elsewhere
    sent = [a for a in _run(_incident("intrusion"), units=units)]
    assert [(a["unit"], a["eta_s"]) for a in sent] == [("P2", 60.0)]
    units = [dict(UNITS[0], incident="INC-7"), *UNITS[1:]]       # P1 already sent to this incident
    assert _run(_incident("intrusion"), units=units) == []
    units = [dict(u, available=False) for u in UNITS]
    (none,) = _run(_incident("intrusion"), units=units)
    assert none["unit"] is None and "no available police unit" in none["why"]


def test_isolating_a_camera_host_isolates_its_access_switch_and_never_the_attacked_server():
    inc = _incident("cyber_attack", xy=None, hosts=["10.20.1.11", "10.10.0.10"],
                    alerts=[_alert("brute_force", "10.20.1.11")])
    (act,) = _run(inc)
    assert act["target"] == "sw-0001" and act["switch"] == "sw-0001" and act["hosts"] == ["10.20.1.11"]
    assert act["cameras"] == ["cam-a1", "cam-a2"] and act["rule"] == "isolate_compromised"
    assert "sits on access switch sw-0001" in act["why"]


def test_a_dos_on_the_video_server_fails_every_camera_over():
    (act,) = _run(CASES["dos"][0])
    assert act["attacked"] == ["vms"] and act["cameras"] == ["cam-a1", "cam-a2", "cam-b1"]
    assert act["to_backup"] == 3
    assert act["paths"][2]["path"] == ["cam-b1", "sw-0002", "agg-001", "core", "backup"]
    assert "3 cameras record through attacked vms" in act["why"]
    # a DoS on the DNS server records through nothing: no failover
    assert _run(_incident("dos", xy=None, hosts=["10.10.0.31"])) == []


def test_a_hybrid_incident_adds_isolation_and_failover_of_its_cyber_and_video_alerts():
    inc = _incident("armed_attack", hybrid=True, hybrid_reason="cameras lost around it",
                    alerts=[_alert("gunshot", "mic-1"), _alert("stream_loss", "10.20.2.11"),
                            _alert("beaconing", "10.20.1.12")])
    actions = _run(inc)
    assert [a["kind"] for a in actions][-2:] == ["isolate_segment", "failover"]
    iso, fail = actions[-2:]
    assert iso["rule"] == "hybrid_isolate" and iso["target"] == "sw-0001"
    assert fail["rule"] == "hybrid_failover" and fail["cameras"] == ["cam-b1"] and fail["to_backup"] == 1
    assert "hybrid: cameras lost around it" in fail["why"]


def test_a_crowd_emergency_closes_the_zone_inflow_with_its_flow_and_disperses_round_the_crowd():
    zones = {"plaza": PLAZA, "approach": [[290, 150], [310, 150], [310, 260], [290, 260]]}
    inc = _incident("crowd_emergency", xy=None, zone="plaza")
    actions = _run(inc, zones=zones, densities={"plaza": 3.0, "approach": 1.0})
    close = actions[0]
    assert close["area"]["zone"] == "plaza" and len(close["edges"]) == 4
    assert close["inflow_pps"] == pytest.approx(float(specific_flow(1.0)) * 3.0, abs=1e-3)
    evac = [a for a in actions if a["kind"] == "evacuate"]
    # from node 24 every way out is 200 m; the crowded approach north costs more, so not that way
    assert evac[0]["nodes"][0] == 24 and evac[0]["nodes"][1] != 17 and evac[0]["hazard"]["zone"] == "plaza"


def test_missing_inputs_leave_their_actions_out():
    assert [a["kind"] for a in _run(_incident("explosion"), walk=None)] == ["dispatch"] * 3
    assert [a["kind"] for a in _run(_incident("explosion"), drive=None)] == ["evacuate", "close_inflow"]
    assert _run(CASES["dos"][0], network=None) == []
    assert _run(_incident("explosion", xy=None)) == []


def test_the_output_does_not_depend_on_the_order_of_units():
    inc = _incident("explosion")
    shuffled = UNITS[:]
    random.Random(3).shuffle(shuffled)
    assert _run(inc) == _run(inc, units=shuffled)


@pytest.mark.parametrize(("change", "field"), [
    ({"kind": "alien_landing"}, "incident.kind"),
    ({"confidence": 1.5}, "incident.confidence"),
    ({"id": None}, "incident.id"),
    ({"xy": [float("nan"), 0.0]}, "incident.xy"),
])
def test_malformed_incidents_are_refused_naming_the_field(change, field):
    with pytest.raises(RecommendError, match=field):
        _run({**_incident("explosion"), **change})


def test_on_the_helsinki_twin_routes_and_etas_are_finite_and_plausible(helsinki):
    square = sorted((a for a in helsinki.assets if a.type == "square" and a.polygon is not None),
                    key=lambda a: -a.area_m2)[0]
    station = next(a for a in helsinki.assets if a.type == "fire_station")
    fire_node = nearest_node(helsinki.drive, station.xy)
    units = [{"id": "fire-1", "kind": "fire", "node": fire_node, "available": True},
             {"id": "police-1", "kind": "police", "xy": [385500.0, 6671500.0], "available": True},
             {"id": "amb-1", "kind": "ambulance", "xy": [386400.0, 6673000.0], "available": True}]
    inc = _incident("explosion", xy=list(square.xy), sigma_m=8.0, zone=square.id)
    actions = recommend(inc, walk=helsinki.walk, drive=helsinki.drive, network=helsinki.network, units=units,
                        zones={square.id: square.polygon}, densities={square.id: 1.5})
    json.dumps(actions, allow_nan=False)
    evac = [a for a in actions if a["kind"] == "evacuate"]
    assert 1 <= len(evac) <= 4
    for r in evac:
        assert all(helsinki.walk.has_edge(a, b) for a, b in pairwise(r["nodes"]))
        end = helsinki.walk.nodes[r["safe"]]
        assert math.dist((end["x"], end["y"]), square.xy) >= 108.0 + 50.0 - 1e-6
        assert 50.0 < r["length_m"] < 2000.0
        assert r["length_m"] / 1.34 - 0.1 <= r["time_s"] < 20 * r["length_m"] / 1.34
    sent = [a for a in actions if a["kind"] == "dispatch"]
    assert [a["unit_kind"] for a in sent] == ["police", "fire", "ambulance"]
    top_speed = max(d["speed_kph"] for *_, d in helsinki.drive.edges(data=True)) / 3.6
    for a in sent:
        assert a["unit"] is not None and math.isfinite(a["eta_s"]) and 0.0 <= a["eta_s"] < 900.0
        first, last = helsinki.drive.nodes[a["path"][0]], helsinki.drive.nodes[a["path"][-1]]
        crow = math.dist((first["x"], first["y"]), (last["x"], last["y"]))
        assert a["eta_s"] >= crow / top_speed - 0.1       # no faster than the straight line at top speed
    close = next(a for a in actions if a["kind"] == "close_inflow")
    ring = shapely.Point(square.xy).buffer(108.0)
    assert close["edges"] and all(not ring.contains(shapely.Point(e["xy"][0])) for e in close["edges"])
    assert np.isfinite(close["inflow_pps"])
