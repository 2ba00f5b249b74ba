"""Incident figures of a run folder (scenarios.incident_scoring) on a hand-made run: two gunmen whose shots
fuse into one incident; each is credited only with the CAP messages sent once its own evidence was in, and
only with the people it injured."""

from __future__ import annotations

import json
from pathlib import Path

from scenarios.detection import Rule
from scenarios.incident_scoring import score_incidents

RULES = {"active_assailant": Rule(detected_by=frozenset({"gunshot"}), observable_from="shot",
                                  observable_until=None, grace_s=60.0, act_records=("shot",))}


def _phase(aid: str, tid: int, t: float, xy) -> dict:
    return {"t": t, "kind": "attack_phase", "id": tid, "attack": "active_assailant", "attack_id": aid,
            "phase": "attack", "xy": list(xy), "lonlat": None}


def _records() -> list[dict]:
    out = [_phase("g1", 1, 0.0, (0.0, 0.0)), _phase("g2", 2, 40.0, (30.0, 0.0))]
    out += [{"t": 10.0, "kind": "shot", "id": 1, "attack_id": "g1", "xy": [0.0, 0.0]},
            {"t": 44.0, "kind": "shot", "id": 2, "attack_id": "g2", "xy": [30.0, 0.0]}]
    out += [{"t": 10.0, "kind": "injured", "id": 100 + k, "xy": [1.0, 0.0], "attack_id": "g1"}
            for k in range(3)]
    out += [{"t": 44.0, "kind": "injured", "id": 200, "xy": [31.0, 0.0], "attack_id": "g2"}]
    return sorted(out, key=lambda r: r["t"])


def _alert(t: float, xy) -> dict:
    return {"t": t, "kind": "gunshot", "conf": 0.9, "xy": list(xy), "lonlat": None, "zone": None,
            "source": ["mic-1"], "evidence": {}}


def _run(tmp: Path, cap_t: list[float]) -> dict:
    alerts = [_alert(11.0, (0.5, 0.0)), _alert(45.0, (30.5, 0.0))]
    inc = {"id": "INC-0001", "kind": "armed_attack", "t_first": 11.0, "hybrid": False,
           "alerts": [{"id": "A1", "t": 11.0}, {"id": "A2", "t": 45.0}]}
    (tmp / "incidents.jsonl").write_text(json.dumps({"t": 45.0, **inc}) + "\n")
    (tmp / "fusion.json").write_text(json.dumps({"cap_first_t": {"INC-0001": cap_t[0]},
                                                 "cap_t": {"INC-0001": cap_t}, "cap": len(cap_t)}))
    return score_incidents(tmp, _records(), alerts, RULES, zones={}, duration_s=120.0)


def test_each_attack_gets_the_first_cap_message_after_its_own_evidence(tmp_path: Path) -> None:
    m = _run(tmp_path, [11.0, 47.5])
    rows = {r["id"]: r for r in m["attacks"]}
    assert rows["g1"]["incident"] == rows["g2"]["incident"] == "INC-0001"
    assert rows["g1"]["time_to_cap_s"] == 1.0 and rows["g1"]["evidence_to_cap_s"] == 0.0
    # the Alert at 11 s went out before the second gunman fired: his first CAP message is the Update
    assert rows["g2"]["time_to_cap_s"] == 3.5 and rows["g2"]["evidence_to_cap_s"] == 2.5
    assert all(r["evidence_to_cap_s"] >= 0 for r in rows.values())


def test_no_cap_message_after_the_evidence_is_none(tmp_path: Path) -> None:
    rows = {r["id"]: r for r in _run(tmp_path, [11.0])["attacks"]}
    assert rows["g1"]["evidence_to_cap_s"] == 0.0
    assert rows["g2"]["time_to_cap_s"] is None and rows["g2"]["evidence_to_cap_s"] is None


def test_injured_are_counted_per_attack(tmp_path: Path) -> None:
    out = {o["id"]: o["injured"] for o in _run(tmp_path, [11.0])["outcomes"]}
    assert out == {"g1": 3, "g2": 1}
