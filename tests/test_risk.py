"""Risk R = T x V x C of incidents and assets, and priority (analytics.risk)."""

import json
import math

import networkx as nx
import numpy as np
import pytest

from analytics.exposure import Exposure
from analytics.resilience import CASCADE
from analytics.risk import (
    CRITICALITY,
    KINDS,
    VULNERABILITY,
    RiskError,
    RiskParams,
    assess,
    asset_risk,
    priority,
)

ZONE = [[0.0, 0.0], [400.0, 0.0], [400.0, 400.0], [0.0, 400.0]]
ASSETS = [
    {"id": "sq", "type": "square", "name": "Square", "xy": [200.0, 200.0], "capacity": 2000},
    {"id": "hosp", "type": "hospital", "name": "Hospital", "xy": [200.0, 200.0], "capacity": 300},
    {"id": "sub", "type": "substation", "name": "Substation", "xy": [200.0, 200.0], "capacity": 2},
    {"id": "st", "type": "station", "name": "Station", "xy": [900.0, 0.0], "capacity": 500},
    {"id": "ww", "type": "water_works", "name": "Water works", "xy": [900.0, 900.0], "capacity": 10},
    {"id": "pol", "type": "police", "name": "Police", "xy": [200.0, 200.0], "capacity": 30},
]


def crowd(people_in_100m=100.0):
    """A zone whose uniform crowd puts ``people_in_100m`` within 100 m of its centre (200, 200)."""
    ex = Exposure({"z": ZONE})
    ex.observe(0.0, "z", people_in_100m * 400.0**2 / (math.pi * 100.0**2))
    return ex


def incident(kind="armed_attack", conf=0.9, assets=("sq",), xy=(200.0, 200.0), **kw):
    return {"id": "INC-0001", "kind": kind, "confidence": conf, "xy": None if xy is None else list(xy),
            "assets": list(assets), "state": "new", **kw}


def test_hospital_scores_higher_consequence_than_a_square_with_the_same_exposure():
    ex = crowd(100.0)
    sq = assess(incident(assets=["sq"]), assets=ASSETS, exposure=ex, t=0.0)
    hosp = assess(incident(assets=["hosp"]), assets=ASSETS, exposure=ex, t=0.0)
    assert sq["exposed"] == hosp["exposed"] == pytest.approx(100.0, rel=1e-3)
    harm = KINDS["armed_attack"].harm
    assert sq["C"] == pytest.approx(harm * 100.0 * CRITICALITY["square"], rel=1e-3)
    assert hosp["C"] == pytest.approx(harm * 100.0 * CRITICALITY["hospital"], rel=1e-3)
    assert hosp["C"] > sq["C"]
    assert sq["V"] == VULNERABILITY["square"] and hosp["V"] == VULNERABILITY["hospital"]


def test_dependents_add_to_consequence_by_capacity_criticality_and_edge_factor():
    """The substation powers the station and the hospital directly and the hospital also through the water
    works: each dependent counts once, by the path that costs it most."""
    g = nx.DiGraph()
    g.add_edges_from([("sub", "st"), ("sub", "hosp"), ("sub", "ww")], kind="power")
    g.add_edge("ww", "hosp", kind="water")
    inc = incident(kind="explosion", conf=0.8, assets=["sub"])
    ex = crowd(10.0)
    alone = assess(inc, assets=ASSETS, exposure=ex, t=0.0)
    fed = assess(inc, assets=ASSETS, dependencies=g, exposure=ex, t=0.0)
    w = RiskParams().service_weight
    f_st = 1 - CASCADE["power"]["*"][1]
    f_ww = 1 - CASCADE["power"]["water_works"][1]
    f_water = 1 - CASCADE["water"]["hospital"][1]
    # the hospital loses 0.4 without power, 0.8 * 0.6 through the water works: the worse path counts
    f_h = max(1 - CASCADE["power"]["hospital"][1], f_ww * f_water)
    assert f_h == pytest.approx(0.48)
    services = w * (500 * CRITICALITY["station"] * f_st + 300 * CRITICALITY["hospital"] * f_h
                    + 10 * CRITICALITY["water_works"] * f_ww)
    assert fed["dependents"] == ["hosp", "st", "ww"]
    assert fed["services"] == pytest.approx(services, abs=1e-4)
    assert fed["C"] == pytest.approx(alone["C"] + KINDS["explosion"].disruption * services, abs=1e-3)
    assert fed["R"] > alone["R"]
    # a two-edge path counts with the product of its factors
    chain = nx.DiGraph([("sub", "ww", {"kind": "power"}), ("ww", "hosp", {"kind": "water"})])
    two = assess(inc, assets=ASSETS, dependencies=chain, exposure=ex, t=0.0)
    expected = w * (10 * CRITICALITY["water_works"] * f_ww + 300 * CRITICALITY["hospital"] * f_ww * f_water)
    assert two["services"] == pytest.approx(expected, abs=1e-4)


def test_risk_and_priority_are_monotone_in_threat():
    ex = crowd(100.0)
    out = [assess(incident(conf=float(c)), assets=ASSETS, exposure=ex, t=0.0) for c in np.linspace(0, 1, 21)]
    rs = [r["R"] for r in out]
    ps = [priority(r) for r in rs]
    assert rs == sorted(rs) and rs[0] == 0.0 and rs[-1] > rs[1]
    assert ps == sorted(ps, reverse=True) and ps[0] == 4 and ps[-1] == 1
    for r in out:
        assert r["R"] == pytest.approx(r["T"] * r["V"] * r["C"], abs=1e-3)


def test_priority_thresholds():
    assert [priority(r) for r in (100.0, 5.0, 4.99, 1.0, 0.1, 0.099, 0.0)] == [1, 1, 2, 2, 3, 4, 4]
    assert priority(0.5, thresholds=(10.0, 0.5, 0.1)) == 2
    with pytest.raises(RiskError, match="R"):
        priority(-1.0)
    with pytest.raises(RiskError, match="R"):
        priority(float("nan"))


def test_protection_lowers_vulnerability_and_open_ground_has_the_default():
    ex = crowd(100.0)
    guarded = [dict(a, protection=0.5) if a["id"] == "sq" else a for a in ASSETS]
    r = assess(incident(), assets=guarded, exposure=ex, t=0.0)
    assert r["V"] == pytest.approx(VULNERABILITY["square"] * 0.5)
    open_ground = assess(incident(assets=()), assets=ASSETS, exposure=ex, t=0.0)
    p = RiskParams()
    assert open_ground["asset"] is None and open_ground["dependents"] == []
    assert open_ground["V"] == p.open_space_v and open_ground["criticality"] == p.open_space_criticality


def test_the_highest_risk_asset_of_an_incident_is_reported():
    ex = crowd(100.0)
    r = assess(incident(assets=["sq", "hosp", "pol"]), assets=ASSETS, exposure=ex, t=0.0)
    # hospital: 0.6 * 3.0 beats square 0.9 * 1.0 and police 0.2 * 2.0
    assert r["asset"] == "hosp"


def test_exposure_comes_from_the_point_else_the_zone_estimate_else_the_asset():
    ex = crowd(100.0)
    by_zone = assess(incident(xy=None, zone="z", kind="crowd_emergency"), assets=ASSETS, exposure=ex, t=0.0)
    assert by_zone["exposed"] == pytest.approx(100.0 * 400.0**2 / (math.pi * 100.0**2), rel=1e-3)
    by_asset = assess(incident(xy=None), assets=ASSETS, exposure=ex, t=0.0)
    assert by_asset["exposed"] == pytest.approx(100.0, rel=1e-3)  # round the square's position
    assert assess(incident(), assets=ASSETS, exposure=None, t=0.0)["exposed"] == 0.0


def test_cyber_incidents_have_no_exposed_people_only_lost_services():
    g = nx.DiGraph([("sub", "hosp", {"kind": "power"})])
    r = assess(incident(kind="dos", conf=0.8, assets=["sub"]), assets=ASSETS, dependencies=g,
               exposure=crowd(100.0), t=0.0)
    assert r["exposed"] == 0.0 and r["radius_m"] == 0.0
    assert r["C"] == pytest.approx(KINDS["dos"].disruption * r["services"], abs=1e-4) and r["C"] > 0


def test_an_unlisted_kind_uses_the_other_profile():
    r = assess(incident(kind="door_forced"), assets=ASSETS, exposure=crowd(100.0), t=0.0)
    assert (r["harm"], r["disruption"], r["radius_m"]) == tuple(KINDS["other"][i] for i in (1, 2, 0))


def test_asset_risk_is_the_max_over_open_incidents():
    ex = crowd(100.0)
    incs = [
        incident(conf=0.3, assets=["sq"], id="INC-0001"),
        incident(conf=0.9, assets=["sq", "hosp"], id="INC-0002"),
        incident(conf=1.0, assets=["pol"], id="INC-0003", state="false_alarm"),
    ]
    out = asset_risk(incs, assets=ASSETS, exposure=ex, t=0.0)
    assert set(out) == {"sq", "hosp"}
    assert out["sq"]["incident"] == "INC-0002" and out["hosp"]["incident"] == "INC-0002"
    single = assess(incs[1] | {"assets": ["sq"]}, assets=ASSETS, exposure=ex, t=0.0)
    assert out["sq"]["R"] == single["R"] and out["sq"]["priority"] == priority(single["R"])


def test_risk_dict_is_plain_json_without_nan():
    r = assess(incident(), assets=ASSETS, exposure=crowd(100.0), t=0.0)
    text = json.dumps(r, allow_nan=False)
    assert set(json.loads(text)) >= {"T", "V", "C", "R", "exposed", "exposed_sigma", "criticality",
                                      "dependents", "asset"}


def test_bad_inputs_raise_risk_error():
    with pytest.raises(RiskError, match="confidence"):
        assess(incident(conf=1.5), assets=ASSETS, t=0.0)
    with pytest.raises(RiskError, match="not in the assets table"):
        assess(incident(assets=["ghost"]), assets=ASSETS, t=0.0)
    with pytest.raises(RiskError, match="protection"):
        assess(incident(), assets=[dict(ASSETS[0], protection=2.0)], t=0.0)
    with pytest.raises(RiskError, match="vulnerability"):
        assess(incident(), assets=[dict(ASSETS[0], type="castle")], t=0.0)
    with pytest.raises(RiskError, match="edge kind"):
        gas = nx.DiGraph([("sub", "st", {"kind": "gas"})])
        assess(incident(assets=["sub"]), assets=ASSETS, dependencies=gas, t=0.0)
