"""Each attacker kind plays its phases in order, at the times its track implies (Kouvola twin)."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
import shapely

from agents.attackers import ATTACKER_KINDS
from agents.model import ID_BASE
from agents.world import OBJECT, PERSON, VEHICLE
from tests._attack_play import DT, kouvola_site, phases, play, spec


@pytest.fixture(scope="module")
def kouvola():
    return kouvola_site()


def test_every_kind_is_a_short_subclass():
    assert set(ATTACKER_KINDS) == {"loiterer", "bag_leaver", "zone_intruder", "vehicle_rammer",
                                   "active_assailant", "crowd_surge", "bomber"}


def test_loiterer_approaches_circles_for_dwell_and_leaves(kouvola):
    e = spec("loiterer", start_s=4, dwell_s=60, radius_m=6, speed_mps=1.2, approach_m=120)
    model, atk, truth, seen = play(kouvola, e)
    ph = phases(truth, atk)
    assert [p for p, _ in ph] == ["approach", "loiter", "leave", "gone"]
    assert ph[0][1] == 4.0
    walk = atk.legs[0].track.length
    assert 0.75 * 120 <= walk <= 1.25 * 120 + 10          # started about approach_m away along the graph
    assert ph[1][1] - ph[0][1] == pytest.approx(walk / 1.2, abs=1e-6)
    assert ph[2][1] - ph[1][1] == pytest.approx(60 + 6 / 1.2, abs=1e-6)
    # while loitering it stays on its circle round the target
    xy = kouvola[2]
    for t, tg in seen:
        if ph[1][1] + 6 / 1.2 < t < ph[2][1]:
            d = np.hypot(*(tg.xy[tg.ids == atk.tid][0] - xy))
            assert d == pytest.approx(6.0, abs=0.1)
    assert all(atk.tid not in tg.ids for t, tg in seen if t > ph[3][1] + DT)  # gone from the world


def test_bag_leaver_leaves_an_object_that_stays(kouvola):
    e = spec("bag_leaver", start_s=1, place_s=8, speed_mps=1.3, remove_after_s=100)
    model, atk, truth, seen = play(kouvola, e, until=300)
    ph = phases(truth, atk)
    assert [p for p, _ in ph] == ["approach", "place", "leave", "gone"]
    assert ph[1][1] - ph[0][1] == pytest.approx(atk.legs[0].track.length / 1.3, abs=1e-6)
    assert ph[2][1] - ph[1][1] == pytest.approx(8.0)
    placed = [r for r in truth if r["kind"] == "object_placed"]
    removed = [r for r in truth if r["kind"] == "object_removed"]
    assert len(placed) == len(removed) == 1 and placed[0]["t"] == ph[2][1] and placed[0]["by"] == atk.tid
    assert removed[0]["t"] == pytest.approx(placed[0]["t"] + 100)
    oid = placed[0]["id"]
    assert oid >= ID_BASE and oid != atk.tid
    for t, tg in seen:
        present = oid in tg.ids
        assert present == (placed[0]["t"] <= t < removed[0]["t"]), t
        if present:
            i = int(np.flatnonzero(tg.ids == oid)[0])
            assert tg.cls[i] == OBJECT and np.allclose(tg.xy[i], kouvola[2]) and tg.speed[i] == 0
    # the walker is a person target while in the world
    t_mid, tg = next((t, tg) for t, tg in seen if ph[0][1] + 5 < t < ph[1][1])
    assert tg.cls[tg.ids == atk.tid][0] == PERSON


def test_zone_intruder_enter_and_exit_are_stamped_at_the_boundary(kouvola):
    e = spec("zone_intruder", start_s=0, radius_m=25, dwell_s=30, approach_m=150)
    model, atk, truth, seen = play(kouvola, e, until=400)
    ph = phases(truth, atk)
    assert [p for p, _ in ph] == ["approach", "enter", "exit", "gone"]
    zone = shapely.Point(*kouvola[2]).buffer(25)
    recs = {r["phase"]: r for r in truth if r["kind"] == "attack_phase"}
    for p in ("enter", "exit"):
        assert zone.exterior.distance(shapely.Point(recs[p]["xy"])) < 0.3, p
    for t, tg in seen:
        if atk.tid in tg.ids:
            inside = zone.contains(shapely.Point(tg.xy[tg.ids == atk.tid][0]))
            if ph[1][1] + 0.3 < t < ph[2][1] - 0.3:
                assert inside, t
            elif t < ph[1][1] - 0.3 or t > ph[2][1] + 0.3:
                assert not inside, t
    assert ph[2][1] - ph[1][1] >= 30.0


def test_vehicle_rammer_drives_then_hits_the_people_on_its_path(kouvola):
    tw, at, xy = kouvola
    e = spec("vehicle_rammer", start_s=3, approach_m=500, ram_speed_kph=36, ram_m=50, hit_radius_m=1.5)
    model, atk, truth, seen = play(kouvola, e, people=150, until=200)
    ph = phases(truth, atk)
    assert [p for p, _ in ph] == ["drive", "ram", "stopped"]
    # the drive takes exactly the drive graph's travel time
    p = atk.drive_path
    assert ph[1][1] - ph[0][1] == pytest.approx(nx.path_weight(tw.drive, p, "travel_time"), abs=1e-6)
    assert ph[1][1] - ph[0][1] == pytest.approx(
        nx.shortest_path_length(tw.drive, p[0], p[-1], weight="travel_time"), abs=1e-6)
    ram = atk.legs[1].track
    assert ph[2][1] - ph[1][1] == pytest.approx(ram.length / 10.0, abs=1e-6)   # 36 km/h = 10 m/s
    line = shapely.LineString(ram.xy)
    injured = [r for r in truth if r["kind"] == "injured"]
    impacts = [r for r in truth if r["kind"] == "vehicle_impact"]
    assert len(injured) >= 5                                   # a crowd of 150 stands at the target
    assert {r["victim"] for r in impacts} == {r["id"] for r in injured}
    assert len(impacts) == len(injured)
    for r in injured:
        assert line.distance(shapely.Point(r["xy"])) <= 1.5 + 1e-6
        assert ph[1][1] - 1e-6 <= r["t"] <= ph[2][1] + DT
    # a vehicle target while driving and after
    t_drive, tg = next((t, tg) for t, tg in seen if ph[0][1] + 1 < t < ph[1][1])
    assert tg.cls[tg.ids == atk.tid][0] == VEHICLE


def test_active_assailant_shots_are_heard_and_hurt(kouvola):
    e = spec("active_assailant", start_s=2, duration_s=90, shot_interval_s=5, injure_radius_m=2.5,
             hazard_radius_m=60, approach_m=60)
    model, atk, truth, seen = play(kouvola, e, people=150, until=250)
    ph = phases(truth, atk)
    assert [p for p, _ in ph] == ["approach", "attack", "stopped"]
    assert ph[2][1] - ph[1][1] == pytest.approx(90.0)
    shots = [r for r in truth if r["kind"] == "shot"]
    assert 6 <= len(shots) <= 40                                # ~ 90 s / 5 s
    assert shots[0]["t"] == pytest.approx(ph[1][1])            # the first shot opens the attack
    assert all(ph[1][1] - 1e-9 <= s["t"] < ph[2][1] for s in shots)
    imp = model.impulses
    assert [(i.t, i.cls) for i in imp] == [(s["t"], "gunshot") for s in shots]
    assert all(np.allclose(i.xy, s["xy"]) for i, s in zip(imp, shots, strict=True))
    injured = [r for r in truth if r["kind"] == "injured"]
    assert injured
    for r in injured:
        near = [s for s in shots if abs(s["t"] - r["t"]) < 1e-2]
        assert near and min(np.hypot(*(np.array(s["xy"]) - r["xy"])) for s in near) <= 2.5 + 1e-6


def test_crowd_surge_sends_the_people_nearby_running(kouvola):
    tw, at, xy = kouvola
    e = spec("crowd_surge", start_s=20, radius_m=40)
    model, atk, truth, seen = play(kouvola, e, people=120, until=20)
    crowd = model.crowd
    before = crowd.targets()
    d0 = np.hypot(*(before.xy - xy).T)
    t = 20.0
    for _ in range(30):
        model.advance(t, DT)
        t += DT
        truth += model.drain_truth()
    ph = phases(truth, atk)
    assert ph == [("trigger", 20.0)]
    after = crowd.targets()
    common, i0, i1 = np.intersect1d(before.ids, after.ids, return_indices=True)
    near = d0[i0] <= 40
    d1 = np.hypot(*(after.xy[i1] - xy).T)
    assert near.sum() > 20
    assert np.median(d1[near] - d0[i0][near]) > 5.0             # they ran away from it (15 s)
    assert all(atk.tid not in tg.ids for _, tg in seen)         # a trigger, not a visible target
