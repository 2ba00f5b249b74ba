"""Golden runs: stored then compared equal; a number moved beyond the tolerance is one diff line, within it
nothing; a missing golden run says how to store it."""

from __future__ import annotations

import json

import pytest

from scenarios.golden import (
    MAX_DIFF_LINES,
    REL_TOL,
    compare_golden,
    golden_dir,
    short_diff,
    update_golden,
)


@pytest.fixture
def run(tmp_path):
    d = tmp_path / "run"
    d.mkdir()
    alerts = [{"t": 30.0, "kind": "brute_force", "conf": 0.8, "source": ["194.8.118.10"], "xy": None,
               "evidence": {"count": 10, "window_s": 300.0}},
              {"t": 58.065, "kind": "gunshot", "conf": 0.9, "source": ["mic-1"],
               "xy": [386411.04, 6672048.44], "evidence": {"count": 1}}]
    (d / "alerts.jsonl").write_text("".join(json.dumps(a) + "\n" for a in alerts))
    inc = {"id": "INC-0001", "kind": "cyber_attack", "confidence": 0.72, "t_first": 30.0, "priority": 4}
    (d / "incidents.jsonl").write_text(json.dumps(inc) + "\n")
    metrics = {"detection": {"false_alarms_per_hour": 2.0, "duration_s": 1800.0,
                             "tracking": {"cam-a": {"mota": 0.6213, "motp": float("nan")}}},
               "analytics": {"messages": 641, "errors": 0}}
    (d / "metrics.json").write_text(json.dumps(metrics))
    return d


def _edit(path, fn) -> None:
    if path.suffix == ".jsonl":
        rows = [json.loads(x) for x in path.read_text().splitlines()]
        fn(rows)
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    else:
        doc = json.loads(path.read_text())
        fn(doc)
        path.write_text(json.dumps(doc))


def test_stored_then_equal(run, tmp_path):
    gold = golden_dir(tmp_path / "golden", "hand", 7)
    assert gold == tmp_path / "golden" / "hand-7"
    assert compare_golden(run, gold) == [f"{gold}: no golden run stored; run check with --update-golden to "
                                         f"store it"]
    update_golden(run, gold)
    assert sorted(p.name for p in gold.iterdir()) == ["alerts.jsonl", "incidents.jsonl", "metrics.json"]
    assert compare_golden(run, gold) == []            # NaN matches NaN


def test_beyond_tolerance_is_a_diff_line_within_is_not(run, tmp_path):
    gold = update_golden(run, tmp_path / "g")
    near = 0.6213 * (1 + 0.5 * REL_TOL)
    _edit(run / "metrics.json", lambda m: m["detection"]["tracking"]["cam-a"].update(mota=near))
    assert compare_golden(run, gold) == []
    _edit(run / "metrics.json", lambda m: m["detection"]["tracking"]["cam-a"].update(mota=0.6214))
    _edit(run / "alerts.jsonl", lambda rows: rows[1]["evidence"].update(count=2))   # an int: exact
    assert compare_golden(run, gold) == [
        "alerts.jsonl: line 2.evidence.count: stored 1 vs now 2",
        "metrics.json: $.detection.tracking.cam-a.mota: stored 0.6213 vs now 0.6214",
    ]


def test_records_keys_and_wall_clock(run, tmp_path):
    gold = update_golden(run, tmp_path / "g")
    _edit(run / "metrics.json", lambda m: m["analytics"].update(wall_s=12.5))      # wall time: not compared
    _edit(run / "incidents.jsonl", lambda rows: rows.append(dict(rows[0], id="INC-0002")))
    _edit(run / "alerts.jsonl", lambda rows: rows[0].pop("xy"))
    assert compare_golden(run, gold) == [
        "alerts.jsonl: line 1.xy: stored null vs now \"<absent>\"",
        "incidents.jsonl: records: stored 1 vs now 2",
    ]


def test_short_diff_keeps_twenty_lines():
    lines = [f"metrics.json: $.x[{i}]: stored 1 vs now 2" for i in range(45)]
    out = short_diff(lines)
    assert len(out) == MAX_DIFF_LINES == 20
    assert out[-1] == "... and 26 more differences" and out[0] == lines[0]
    assert short_diff(lines[:3]) == lines[:3]
