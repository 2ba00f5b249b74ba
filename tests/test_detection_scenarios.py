"""In the simulator: each attacker kind is detected in its library scenario, and the same scenario without
the attack raises no alert of the kinds that detect it (``scenarios.evaluation.detects``).

Scenarios: ``scenarios/library/helsinki/detect-<kind>.yaml``, one per attack kind (the Senate Square blocks,
the bbox shared with the other Helsinki scenarios so the twin cache is reused); a kind added to the registry
needs its scenario here. The measured times to detect are in ``docs/performance.md``.

The analytics watch only the scenario's declared ``restricted_zones`` (never an attack's own zone), so the
zone-intrusion control keeps its restricted zone and would alert on any passer-by who enters it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from scenarios.engine import run_scenario
from scenarios.evaluation import detects
from scenarios.schema import attack_kinds

LIBRARY = Path(__file__).resolve().parent.parent / "scenarios" / "library" / "helsinki"
KINDS = tuple(attack_kinds())


def _scenario(kind: str) -> tuple[Path, dict]:
    path = LIBRARY / f"detect-{kind}.yaml"
    return path, yaml.safe_load(path.read_text(encoding="utf-8"))


def _alerts(run: Path) -> list[dict]:
    text = (run / "alerts.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@pytest.mark.parametrize("kind", KINDS)
def test_attack_is_detected_in_time(kind: str, tmp_path: Path) -> None:
    path, data = _scenario(kind)
    (within,) = [c["within_s"] for c in data["criteria"] if c.get("detect") == kind]
    assert [a["kind"] for a in data["attacks"]] == [kind]
    res = run_scenario(path, out=tmp_path / "run", quiet=True)
    metrics = json.loads((res.out_dir / "metrics.json").read_text(encoding="utf-8"))
    det = metrics["detection"]
    # no analytics error hides in a normal run (a detector that raised would be counted here)
    assert metrics["analytics"]["errors"] == 0, metrics["analytics"]
    rows = [r for r in det["attacks"] if r["attack"] == kind]
    assert len(rows) == 1, det["attacks"]
    row = rows[0]
    assert row["detected"], (row, det["false_alarms_by_kind"])
    assert 0 <= row["time_to_detect_s"] <= within, row
    assert set(row["alert_kinds"]) <= detects()[kind]
    # alerts of the detecting kinds all belong to the attack (none elsewhere or at other times)
    assert not set(det["false_alarms_by_kind"]) & detects()[kind], det["false_alarms_by_kind"]


@pytest.mark.parametrize("kind", KINDS)
def test_same_scenario_without_the_attack_raises_no_such_alert(kind: str, tmp_path: Path) -> None:
    _, data = _scenario(kind)
    data["attacks"] = []
    data["criteria"] = [c for c in data["criteria"] if "detect" not in c]
    control = tmp_path / f"control-{kind}.yaml"
    control.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    res = run_scenario(control, out=tmp_path / "run", quiet=True)
    truth = (res.out_dir / "ground_truth.jsonl").read_text(encoding="utf-8")
    assert '"attack_phase"' not in truth
    alerts = _alerts(res.out_dir)
    assert res.stats["alerts"] == len(alerts)
    assert [a for a in alerts if a["kind"] in detects()[kind]] == []
