"""``active_assailant`` with ``weapon: knife``: silent stabs, one victim each; the crowd scatters."""

from __future__ import annotations

import numpy as np
import pytest

from scenarios.detection import score_detection
from scenarios.evaluation import rules
from scenarios.schema import ScenarioError
from tests._attack_play import kouvola_site
from tests._attack_play import play as _play
from tests._attack_play import spec as _spec


@pytest.fixture(scope="module")
def kouvola():
    return kouvola_site()


def spec(**params):
    return _spec("active_assailant", **params)


def play(site, entry, *, people=150, until=150.0):
    model, atk, truth, _ = _play(site, entry, people=people, until=until)
    return model, atk, truth


def test_the_weapon_defaults_to_a_firearm_and_takes_only_the_two_choices():
    assert spec()[1].weapon == "firearm"
    assert spec(weapon="knife")[1].weapon == "knife"
    with pytest.raises(ScenarioError, match="weapon"):
        spec(weapon="sword")


def test_a_knife_stabs_silently_hurts_within_reach_and_the_crowd_flees(kouvola):
    tw, at, xy = kouvola
    model, atk, truth = play(kouvola, spec(weapon="knife", start_s=2, duration_s=60, shot_interval_s=5,
                                           injure_radius_m=1.5, hazard_radius_m=40, approach_m=30))
    ph = [(r["phase"], r["t"]) for r in truth if r["kind"] == "attack_phase"]
    assert [p for p, _ in ph] == ["approach", "attack", "stopped"]
    stabs = [r for r in truth if r["kind"] == "stab"]
    assert 4 <= len(stabs) <= 30 and stabs[0]["t"] == pytest.approx(ph[1][1])
    assert not [r for r in truth if r["kind"] == "shot"] and model.impulses == []   # nothing a mic hears
    injured = [r for r in truth if r["kind"] == "injured"]
    assert len(injured) >= 2 and len({r["id"] for r in injured}) == len(injured)   # nobody is hurt twice
    for s in stabs:        # each stab hurts the one person nearest within reach (or nobody in reach)
        hit = [r for r in injured if abs(r["t"] - s["t"]) < 1e-2]
        assert len(hit) <= 1
        for r in hit:
            assert np.hypot(*(np.array(s["xy"]) - r["xy"])) <= 1.5 + 1e-6
    # the crowd scattered: fewer than a third of the uninjured are still within 20 m of the start
    pos = model.crowd.targets()
    hurt = {r["id"] for r in injured}
    keep = ~np.isin(pos.ids, list(hurt))
    assert np.mean(np.hypot(*(pos.xy[keep] - xy).T) <= 20) < 1 / 3


def _alert(kind, t, xy):
    return {"t": t, "kind": kind, "conf": 0.9, "xy": [float(xy[0]), float(xy[1])], "lonlat": None,
            "zone": None, "source": ["x"], "evidence": {}}


def test_a_knife_attack_opens_its_window_at_the_first_stab_and_is_detected_by_the_crowd(kouvola):
    rule = rules()["active_assailant"]
    assert rule.observable_from == ("shot", "stab") and rule.act_records == ("shot", "stab")
    model, atk, truth = play(kouvola, spec(weapon="knife", start_s=0, duration_s=40, approach_m=20), until=80)
    first = min(r["t"] for r in truth if r["kind"] == "stab")
    stab_xy = next(r["xy"] for r in truth if r["kind"] == "stab")
    alerts = [_alert("running", first - 1, stab_xy), _alert("running", first + 6, stab_xy)]
    out = score_detection(truth, alerts, rules(), zones={}, duration_s=80.0)
    (row,) = out["attacks"]
    assert row["act_t"] == pytest.approx(first) and row["detected"]
    assert row["time_to_detect_s"] == pytest.approx(6.0) and out["false_alarms"] == 1   # before the act
    # a gunshot alert on the stab cannot be the knife's: it is a false alarm, not a detection
    phases = [r for r in truth if r["kind"] == "attack_phase"]
    assert phases and all(r["not_detected_by"] == ["gunshot"] for r in phases)
    out = score_detection(truth, [_alert("gunshot", first + 1, stab_xy)], rules(), zones={}, duration_s=80.0)
    assert not out["attacks"][0]["detected"] and out["false_alarms"] == 1


def test_a_firearm_still_fires_heard_shots(kouvola):
    model, atk, truth = play(kouvola, spec(start_s=0, duration_s=30, approach_m=20), until=60)
    shots = [r for r in truth if r["kind"] == "shot"]
    assert shots and not [r for r in truth if r["kind"] == "stab"]
    assert [i.cls for i in model.impulses] == ["gunshot"] * len(shots)
