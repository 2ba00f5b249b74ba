"""``bomber``: a bag is set down, the bomber walks away, the bag explodes ``fuse_s`` later (Kouvola)."""

from __future__ import annotations

import numpy as np
import pytest

from agents.attackers import ATTACKER_KINDS
from agents.world import OBJECT
from scenarios.detection import attacks_from_truth, score_detection
from scenarios.evaluation import rules
from scenarios.schema import ScenarioError
from tests._attack_play import kouvola_site, phases
from tests._attack_play import play as _play
from tests._attack_play import spec as _spec


@pytest.fixture(scope="module")
def kouvola():
    return kouvola_site()


def spec(**params):
    return _spec("bomber", **params)


def play(site, entry, *, people=0, until=300.0):
    return _play(site, entry, people=people, until=until, crowd_seen=True)


def test_bomber_is_a_registered_kind_scored_by_its_bag_and_its_blast():
    assert "bomber" in ATTACKER_KINDS
    rule = rules()["bomber"]
    assert rule.detected_by == {"abandoned_object", "explosion"} and not rule.cyber
    assert rule.observable_from == "object_placed" and rule.observable_until == "detonation"
    with pytest.raises(ScenarioError, match="fuse_s"):
        spec(fuse_s=0)


def test_the_bag_stays_until_the_blast_which_is_heard_hurts_and_scatters(kouvola):
    tw, at, xy = kouvola
    entry = spec(start_s=2, fuse_s=60, place_s=5, approach_m=40, leave_m=100, injure_radius_m=2,
                 hazard_radius_m=80)
    model, atk, truth, seen = play(kouvola, entry, people=120, until=150)
    ph = phases(truth, atk)
    assert [p for p, _ in ph] == ["approach", "place", "leave", "detonation", "gone"]   # a short fuse
    placed = next(r for r in truth if r["kind"] == "object_placed")
    blast = next(r for r in truth if r["kind"] == "detonation")
    removed = next(r for r in truth if r["kind"] == "object_removed")
    assert placed["t"] == ph[2][1] and placed["by"] == atk.tid
    assert blast["t"] == pytest.approx(placed["t"] + 60) == ph[3][1] and removed["t"] == blast["t"]
    assert removed["reason"] == "detonated" and removed["id"] == placed["id"] == blast["object"]
    assert np.allclose(blast["xy"], xy) and blast["attack_id"] == atk.attack_id
    # the bag is an object target exactly while it is down
    for t, tg, _ in seen:
        assert (placed["id"] in tg.ids) == (placed["t"] <= t < blast["t"]), t
        if placed["id"] in tg.ids:
            assert tg.cls[tg.ids == placed["id"]][0] == OBJECT
    # one explosion impulse at the bag, at the blast
    assert [(i.t, i.cls, i.xy) for i in model.impulses] == [(blast["t"], "explosion", tuple(xy))]
    assert model.impulses[0].level_db == 180.0
    # the people within 2 m were injured at the blast, and nobody else
    injured = [r for r in truth if r["kind"] == "injured"]
    assert injured and blast["injured"] == len(injured)
    assert all(abs(r["t"] - blast["t"]) < 1e-3 and np.hypot(*(np.array(r["xy"]) - xy)) <= 2 + 1e-6
               for r in injured)
    # the crowd within the hazard radius moved away from the bag within 20 s
    i0 = next(i for i, (t, _, _) in enumerate(seen) if t >= blast["t"])
    before, after = seen[i0 - 1][2], seen[i0 + 40][2]
    common, ia, ib = np.intersect1d(before.ids, after.ids, return_indices=True)
    d0 = np.hypot(*(before.xy[ia] - xy).T)
    d1 = np.hypot(*(after.xy[ib] - xy).T)
    near = (d0 <= 80) & ~np.isin(common, [r["id"] for r in injured])
    assert 0 < len(injured) < 100 and near.sum() > 20 and np.median(d1[near] - d0[near]) > 5.0


def test_a_long_fuse_goes_off_after_the_bomber_left_the_world(kouvola):
    model, atk, truth, seen = play(kouvola, spec(start_s=0, fuse_s=200, approach_m=30, leave_m=40), until=260)
    ph = phases(truth, atk)
    assert [p for p, _ in ph] == ["approach", "place", "leave", "gone", "detonation"]
    assert ph[4][1] == pytest.approx(ph[2][1] + 200)
    assert ph[3][1] < ph[4][1]
    assert atk.tid not in seen[-1][1].ids and atk not in set(model.agents)   # removed after the blast
    assert len(model.impulses) == 1 and model.impulses[0].t == ph[4][1]


def _alert(kind, t, xy):
    return {"t": t, "kind": kind, "conf": 0.9, "xy": list(xy), "lonlat": None, "zone": None,
            "source": ["x"], "evidence": {}}


def test_scoring_an_abandoned_bag_or_the_blast_detects_it_a_gunshot_does_not(kouvola):
    tw, at, xy = kouvola
    model, atk, truth, seen = play(kouvola, spec(start_s=0, fuse_s=100, approach_m=30, leave_m=60), until=200)
    placed = next(r["t"] for r in truth if r["kind"] == "object_placed")
    blast = next(r["t"] for r in truth if r["kind"] == "detonation")
    (a,) = attacks_from_truth(truth, rules(), 200.0)
    assert a.kind == "bomber" and a.t_act == placed and a.t_until == pytest.approx(blast + 60)
    alerts = [_alert("gunshot", blast + 1, xy), _alert("explosion", blast + 2, xy + 20),
              _alert("abandoned_object", placed + 70, xy + 80)]
    out = score_detection(truth, alerts, rules(), zones={}, duration_s=200.0)
    (row,) = out["attacks"]
    assert row["detected"] and row["alert_kinds"] == ["explosion"]
    assert row["time_to_detect_s"] == pytest.approx(blast + 2 - placed)
    assert out["false_alarms"] == 2       # the gunshot (wrong kind) and the bag alert 113 m off
