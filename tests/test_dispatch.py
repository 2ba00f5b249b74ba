"""Dispatch picks the available unit with the least drive time (not the nearest in a straight line)."""

from __future__ import annotations

import pytest

from analytics.dispatch import DISPATCH_RULES, UNIT_KINDS, check_units, drive_times_to, nearest_units
from analytics.graphgeo import RecommendError
from tests._recgraphs import drive_line

SCENE = (5.0, 0.0)     # 5 m from drive node 0


def _units(**available):
    nodes = {"P-slow": 1, "P-fast": 2, "P-side": 3, "P-away": 4}
    return [{"id": uid, "kind": "police", "node": n, "available": available.get(uid, True)}
            for uid, n in nodes.items()]


def test_the_rules_send_the_units_each_incident_kind_needs():
    # the table that replaced the run's fixed per-alert dispatch (scenarios/response.py until issue #13)
    assert DISPATCH_RULES == {"armed_attack": ("police", "ambulance"),
                              "explosion": ("police", "fire", "ambulance"),
                              "vehicle_attack": ("police", "ambulance"), "suspicious_object": ("police",),
                              "intrusion": ("police",), "crowd_emergency": ("police", "ambulance")}
    assert all(set(kinds) <= set(UNIT_KINDS) for kinds in DISPATCH_RULES.values())


def test_drive_times_follow_travel_time_and_fall_back_to_30_kph():
    dist, _pred = drive_times_to(drive_line(), 0)
    assert dist[1] == 72.0 and dist[2] == 36.0 and dist[3] == pytest.approx(300.0 / (30 / 3.6))
    assert 4 not in dist                        # a one-way street away from the scene


def test_the_quickest_unit_wins_over_the_straight_line_nearest_with_its_exact_eta():
    (res,) = nearest_units(drive_line(), SCENE, _units(), ["police"])
    # P-slow is 200 m away on a 10 km/h lane (72 s); P-fast is 600 m away on a 60 km/h road (36 s);
    # P-side is 300 m at the 30 km/h fallback (36 s): the tie goes to the lower id
    assert res["unit"] == "P-fast" and res["eta_s"] == 36.0 and res["node"] == 2
    assert res["path"] == [2, 0] and res["xy"] == [[600.0, 0.0], [0.0, 0.0]]
    assert res["scene_node"] == 0 and res["scene_offset_m"] == 5.0


def test_an_assigned_or_unavailable_unit_is_not_offered_and_no_unit_twice():
    (res,) = nearest_units(drive_line(), SCENE, _units(), ["police"], exclude={"P-fast"})
    assert res["unit"] == "P-side" and res["eta_s"] == 36.0
    (res,) = nearest_units(drive_line(), SCENE, _units(**{"P-fast": False, "P-side": False}), ["police"])
    assert res["unit"] == "P-slow" and res["eta_s"] == 72.0
    found = nearest_units(drive_line(), SCENE, _units(), ["police"] * 4)
    # the unit on the one-way street cannot come: the fourth police unit asked for is None
    assert [r["unit"] for r in found] == ["P-fast", "P-side", "P-slow", None]
    assert found[3]["eta_s"] is None and found[3]["path"] is None


def test_each_kind_gets_its_own_unit_and_a_missing_kind_none():
    units = _units() + [{"id": "F1", "kind": "fire", "xy": [190.0, 5.0], "available": True}]
    found = nearest_units(drive_line(), SCENE, units, ["police", "fire", "ambulance"])
    assert [(r["kind"], r["unit"], r["eta_s"]) for r in found] == [
        ("police", "P-fast", 36.0), ("fire", "F1", 72.0), ("ambulance", None, None)]
    assert found[1]["node"] == 1            # given by xy: its nearest drive node


@pytest.mark.parametrize(("unit", "field"), [
    ({"kind": "police", "node": 1, "available": True}, "units[0].id"),
    ({"id": "X", "kind": "swat", "node": 1, "available": True}, "units[0].kind"),
    ({"id": "X", "kind": "police", "node": 99, "available": True}, "units[0].node"),
    ({"id": "X", "kind": "police", "node": 1, "available": "yes"}, "units[0].available"),
])
def test_malformed_units_are_refused_naming_the_field(unit, field):
    with pytest.raises(RecommendError, match=field.replace("[", r"\[").replace("]", r"\]")):
        check_units([unit], drive_line())


def test_duplicate_unit_ids_are_refused():
    with pytest.raises(RecommendError, match="duplicate"):
        check_units(_units() + _units(), drive_line())


def test_a_drive_time_tie_goes_to_the_lower_unit_id_whatever_the_input_order():
    units = [{"id": "B-fast", "kind": "police", "node": 2, "available": True},
             {"id": "A-side", "kind": "police", "node": 3, "available": True}]
    for order in (units, units[::-1]):
        (res,) = nearest_units(drive_line(), SCENE, order, ["police"])
        assert res["unit"] == "A-side" and res["eta_s"] == 36.0 and res["path"] == [3, 0]


def test_a_non_finite_travel_time_is_refused():
    g = drive_line()
    g.edges[2, 0, 0]["travel_time"] = float("inf")
    with pytest.raises(RecommendError, match="travel_time"):
        nearest_units(g, SCENE, _units(), ["police"])
