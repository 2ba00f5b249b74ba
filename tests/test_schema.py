"""The scenario schema: every class of problem is reported as ``file:line: key.path: what``, all at once."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scenarios.schema import ScenarioError, attack_kinds, load_scenario, parse_scenario, schema

REPO = Path(__file__).resolve().parent.parent
CORRIDOR = "city: {synthetic: {kind: corridor, length_m: 40, width_m: 2}}\n"


def problems(text: str) -> list[str]:
    with pytest.raises(ScenarioError) as ei:
        parse_scenario(text, filename="s.yaml")
    assert ei.value.exit_code == 2
    return ei.value.problems


def test_defaults_filled():
    """A minimal file gets every default, and the name from the file."""
    sc = parse_scenario(CORRIDOR, filename="dir/walk.yaml")
    d = sc.data
    assert d["name"] == "walk"
    assert (d["seed"], d["duration_s"], d["dt_s"]) == (0, 600.0, 0.5)
    assert d["start_time"] == "2026-06-01T12:00:00Z"
    assert d["crowd"] == {"population": 0, "flows": [], "gatherings": []}
    assert d["sensors"]["cameras"]["from_osm"] is False and d["sensors"]["acoustic"] == 0
    assert d["response"] == {"policy": "advise", "decision_delay_s": 30.0, "dispatch": []}


def test_attack_parameters_get_their_own_defaults_and_ids():
    sc = parse_scenario(CORRIDOR + "attacks:\n  - {kind: loiterer, at: start}\n"
                        "  - {kind: cyber_dos, target: vms, start_s: 5, mbps: 800}\n", filename="s.yaml")
    lo, dos = sc.data["attacks"]
    assert lo == {"kind": "loiterer", "at": "start", "start_s": 0.0, "dwell_s": 180.0, "radius_m": 8.0,
                  "speed_mps": 1.0, "approach_m": 150.0, "id": "loiterer-0"}
    assert dos["duration_s"] == 300.0 and dos["mbps"] == 800 and dos["id"] == "cyber_dos-1"


@pytest.mark.parametrize("body, expect", [
    ("colour: red\n", "s.yaml:2: colour: unknown key"),
    ("seed: seven\n", "s.yaml:2: seed: must be a whole number"),
    ("duration_s: -3\n", "s.yaml:2: duration_s: must be > 0, got -3"),
    ("dt_s: 0.5\nduration_s: 0.25\n", "s.yaml:2: dt_s: must be smaller than duration_s"),
    ("start_time: yesterday\n", "s.yaml:2: start_time: must be an ISO 8601 time"),
    ("crowd:\n  flows:\n    - {from: start, people: 3}\n", "s.yaml:4: crowd.flows[0].to: is required"),
    ("crowd:\n  gatherings:\n    - {at: start, people: 3, arrive_s: [9, 2]}\n",
     "s.yaml:4: crowd.gatherings[0].arrive_s: must satisfy 0 <= start <= end"),
    ("attacks:\n  - {kind: teleport, at: start}\n", "s.yaml:3: attacks[0].kind: must be one of: loiterer"),
    ("attacks:\n  - kind: loiterer\n    at: start\n    dwell_s: 0\n",
     "s.yaml:5: attacks[0].dwell_s: must be > 0"),
    ("attacks:\n  - {kind: bag_leaver, at: start, start_s: 900}\n",
     "s.yaml:3: attacks[0].start_s: 900 is not before the end of the run (600 s)"),
    ("attacks:\n  - {kind: zone_intruder, at: start, zone: [[24.9, 60.1], [24.9, 60.2]]}\n",
     "s.yaml:3: attacks[0].zone: must be a list of at least 3"),
    ("sensors:\n  cameras:\n    list:\n      - {id: c1}\n", "s.yaml:5: sensors.cameras.list[0]: needs at"),
    ("sensors:\n  acoustic: many\n", "s.yaml:3: sensors.acoustic: must be a number of microphones or a list"),
    ("events:\n  - {at_s: 5, sensor: c1, status: broken}\n", "s.yaml:3: events[0].status: must be one of ok"),
    ("response:\n  dispatch:\n    - {unit: navy, to: end}\n",
     "s.yaml:4: response.dispatch[0].unit: must be one"),
    ("criteria:\n  - {within_s: 30}\n", "s.yaml:3: criteria[0]: needs exactly one of detect"),
    ("criteria:\n  - {exposed_max: 10, injured_max: 2}\n", "s.yaml:3: criteria[0]: needs exactly one of"),
    ("criteria:\n  - {mota_min: 0.5, attack: a1}\n",
     "s.yaml:3: criteria[0].attack: does not go with mota_min"),
    ("criteria:\n  - {detect: loiterer, within_s: 60, acceptable: 30}\n",
     "s.yaml:3: criteria[0].acceptable: must be at least the limit 60"),
    ("criteria:\n  - {idf1_min: 0.5, acceptable: 0.7}\n",
     "s.yaml:3: criteria[0].acceptable: must be at most the limit 0.5"),
    ("criteria:\n  - {incident: riot}\n", "s.yaml:3: criteria[0].incident: must be one of"),
    ("criteria:\n  - {false_alarms_per_hour_max: -1}\n",
     "s.yaml:3: criteria[0].false_alarms_per_hour_max: must be >= 0"),
    ("long: maybe\n", "s.yaml:2: long: must be true or false"),
    ("analytics:\n  workers: 2\n  ground_tracks: {enabled: true}\n",
     "s.yaml:4: analytics.ground_tracks.enabled: cannot be true with analytics.workers"),
    ("seed: 1\nseed: 2\n", "s.yaml:3: seed: duplicate key"),
])
def test_each_problem_class(body, expect):
    """Unknown keys, wrong types, impossible values, missing keys, bad kinds, duplicates: file:line: path."""
    got = problems(CORRIDOR + body)
    assert any(p.startswith(expect) for p in got), got


def test_all_problems_at_once_in_file_order(tmp_path):
    f = tmp_path / "bad.yaml"
    f.write_text(CORRIDOR + "seed: -1\ncrowd: {population: 1.5, colour: red}\nattacks:\n"
                 "  - {kind: loiterer, at: start, bogus: 1}\n")
    with pytest.raises(ScenarioError) as ei:
        load_scenario(f)
    probs = ei.value.problems
    assert len(probs) == 4
    assert [p.split(": ")[0] for p in probs] == [f"{f}:2", f"{f}:3", f"{f}:3", f"{f}:5"]
    assert "seed: must be >= 0, got -1" in probs[0]
    assert "(and 3 more problem(s))" in str(ei.value)


def test_broken_yaml_and_missing_file(tmp_path):
    assert problems("city: [unclosed\n")[0].startswith("s.yaml:2: (yaml):")
    assert problems("")[0] == "s.yaml:1: (top): the file is empty"
    assert problems("- just\n- a list\n")[0].startswith("s.yaml:1: (top): must be a mapping")
    with pytest.raises(ScenarioError, match="no such scenario file"):
        load_scenario(tmp_path / "nope.yaml")


def test_unsafe_yaml_tags_are_refused():
    """The safe loader: no Python objects from a scenario file."""
    got = problems(CORRIDOR + "name: !!python/object/apply:os.system ['true']\n")
    assert "(yaml)" in got[0]


def test_cli_prints_every_problem_and_exits_2(tmp_path):
    f = tmp_path / "bad.yaml"
    f.write_text(CORRIDOR + "seed: -1\nduration_s: zero\n")
    cmd = [sys.executable, str(REPO / "run_sim.py"), "run", str(f), "--out", str(tmp_path / "o")]
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert lines == [f"error: {f}:2: seed: must be >= 0, got -1",
                     f"error: {f}:3: duration_s: must be a number, got text 'zero'"]
    assert "Traceback" not in r.stderr and not (tmp_path / "o").exists()


def test_every_attack_kind_is_declared():
    assert list(attack_kinds()) == ["loiterer", "bag_leaver", "zone_intruder", "vehicle_rammer",
                                    "active_assailant", "crowd_surge", "bomber", "cyber_scan",
                                    "cyber_bruteforce", "cyber_dos", "cyber_beacon", "stream_hijack"]
    assert set(schema().keys) >= {"crowd", "sensors", "attacks", "response", "events", "criteria",
                                  "start_time"}


_scalars = st.fixed_dictionaries({
    "seed": st.integers(0, 2**31), "duration_s": st.floats(10, 1e5), "dt_s": st.sampled_from([0.1, 0.5, 1.0]),
}, optional={
    "crowd": st.fixed_dictionaries({"population": st.integers(0, 10**6)}),
    "attacks": st.lists(st.fixed_dictionaries({
        "kind": st.sampled_from(["loiterer", "bag_leaver", "crowd_surge"]),
        "at": st.sampled_from(["start", "end"]),
        "start_s": st.floats(0, 9)}), max_size=3),
})


@settings(max_examples=40, deadline=None)
@given(_scalars)
def test_resolved_yaml_round_trips(extra):
    """The resolved scenario (scenario.yaml of a run) loads again to the same data."""
    import yaml

    text = CORRIDOR + yaml.safe_dump(extra)
    sc = parse_scenario(text, filename="s.yaml")
    again = parse_scenario(sc.to_yaml(), filename="s.yaml")
    assert again.data == sc.data


_ONE_OF = "s.yaml:3: restricted_zones[0]: a restricted zone needs exactly one"


@pytest.mark.parametrize("body, expect", [
    ("restricted_zones:\n  - {id: r}\n", _ONE_OF),
    ("restricted_zones:\n  - {at: start, zone: [[24.9, 60.1], [24.91, 60.1], [24.9, 60.11]]}\n", _ONE_OF),
    ("restricted_zones:\n  - {at: start, radius_m: 0}\n",
     "s.yaml:3: restricted_zones[0].radius_m: must be > 0"),
])
def test_restricted_zone_problems(body, expect):
    """A restricted zone is a polygon or a place (with a positive radius), never both or neither."""
    got = problems(CORRIDOR + body)
    assert any(p.startswith(expect) for p in got), got
