"""``run_sim.py check``: a passing scenario exits 0 and a failing one (a folder, two seeds, two workers)
exits 1, both with JUnit XML in the common schema; the JSON run records; golden runs stored and differing;
bad input exits 2."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import yaml
from lxml import etree

from run_sim import main

LIBRARY = Path(__file__).resolve().parent.parent / "scenarios" / "library"
BASE = LIBRARY / "helsinki" / "detect-cyber_bruteforce.yaml"
#: The common JUnit schema's elements and attributes (what CI servers read).
SCHEMA = {"testsuites": {"name", "tests", "failures", "errors", "skipped", "time"},
          "testsuite": {"name", "tests", "failures", "errors", "skipped", "time"},
          "testcase": {"classname", "name", "time"}, "failure": {"message", "type"}, "skipped": {"message"}}


#: one twin cache for this module's runs (they mostly cut the same bbox)
pytestmark = pytest.mark.usefixtures("shared_twin_cache")


def _scenario(folder: Path, name: str, criteria: list[dict]) -> Path:
    """The brute-force scenario cut to 45 s (the attack starts at 20 s, detected about 9 s later)."""
    d = yaml.safe_load(BASE.read_text(encoding="utf-8"))
    d.update(name=name, duration_s=45, criteria=criteria)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(d, sort_keys=False), encoding="utf-8")
    return path


def _junit(path: Path) -> etree._Element:
    root = etree.parse(str(path)).getroot()
    for el in root.iter():
        assert el.tag in SCHEMA, el.tag
        assert set(el.attrib) <= SCHEMA[el.tag], (el.tag, el.attrib)
        if el.tag != "skipped" and el.tag != "failure":
            assert set(el.attrib) == SCHEMA[el.tag], (el.tag, el.attrib)
    assert root.tag == "testsuites"
    assert all(s.getparent() is root for s in root.iter("testsuite"))
    assert all(c.getparent().tag == "testsuite" for c in root.iter("testcase"))
    return root


def test_passing_scenario_exits_0_with_junit_json_and_golden(tmp_path, capsys):
    path = _scenario(tmp_path / "sc", "bf-pass", [{"detect": "cyber_bruteforce", "within_s": 60}])
    args = [str(path), "--out", str(tmp_path / "runs"), "--golden", str(tmp_path / "gold")]
    rc = main(["check", *args, "--junit", str(tmp_path / "j.xml"), "--json", str(tmp_path / "r.json"),
               "--update-golden"])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "detect cyber_bruteforce within_s 60" in out and "golden bf-pass seed 20: stored" in out
    root = _junit(tmp_path / "j.xml")
    assert (root.get("tests"), root.get("failures"), root.get("skipped")) == ("2", "0", "0")
    cases = [(c.get("classname"), c.get("name")) for c in root.iter("testcase")]
    assert cases == [("bf-pass", "detect cyber_bruteforce within_s 60 [seed 20]"),
                     ("bf-pass", "golden [seed 20]")]
    [rec] = json.loads((tmp_path / "r.json").read_text())
    assert rec["scenario"] == str(path) and rec["seed"] == 20 and rec["sim_s"] == 45.0
    assert rec["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert rec["code_version"] is None or len(rec["code_version"]) == 40
    assert rec["wall_s"] > 0 and rec["sim_per_wall"] == pytest.approx(45.0 / rec["wall_s"], rel=1e-2)
    [res] = rec["results"]
    assert res["status"] == "pass" and 0 < res["actual"] <= 60 and res["evidence"][0] == "vms-ssh"
    # a stored number moved beyond the tolerance fails the check
    metrics = tmp_path / "gold" / "bf-pass-20" / "metrics.json"
    doc = json.loads(metrics.read_text())
    doc["detection"]["false_alarms"] = 3
    metrics.write_text(json.dumps(doc))
    assert main(["check", *args]) == 1
    out = capsys.readouterr().out
    assert "golden bf-pass seed 20: DIFFERS" in out
    assert "metrics.json: $.detection.false_alarms: stored 3 vs now 0" in out


def test_failing_folder_exits_1_on_two_workers(tmp_path, capsys):
    folder = tmp_path / "sc"
    _scenario(folder, "bf-fail", [{"detect": "cyber_bruteforce", "within_s": 0.5},
                                  {"detect": "cyber_bruteforce", "within_s": 1,
                                   "known_issue": "syslog batches"},
                                  {"false_alarms_per_hour_max": 0, "known_issue": "fixed"}])
    rc = main(["check", str(folder), "--seeds", "2", "--workers", "2", "--out", str(tmp_path / "runs"),
               "--junit", str(tmp_path / "j.xml"), "--json", str(tmp_path / "r.json")])
    out = capsys.readouterr().out
    assert rc == 1, out
    assert "check: 2 runs, 2 failed" in out
    root = _junit(tmp_path / "j.xml")
    assert (root.get("tests"), root.get("failures"), root.get("skipped")) == ("6", "2", "2")
    [fail] = root.iter("testsuite")
    assert (fail.get("name"), fail.get("tests"), fail.get("failures")) == ("bf-fail", "6", "2")
    failures = [c for c in fail.iter("testcase") if c.find("failure") is not None]
    assert [c.get("name") for c in failures] == ["detect cyber_bruteforce within_s 0.5 [seed 20]",
                                                 "detect cyber_bruteforce within_s 0.5 [seed 21]"]
    message = failures[0].find("failure").get("message")
    assert message.startswith("actual ") and message.endswith(" s vs expected <= 0.5")
    skipped = [c.find("skipped").get("message") for c in fail.iter("testcase")
               if c.find("skipped") is not None]
    assert skipped == ["known issue: syslog batches"] * 2
    records = json.loads((tmp_path / "r.json").read_text())
    assert [(r["name"], r["seed"], r["passed"]) for r in records] == [("bf-fail", 20, False),
                                                                       ("bf-fail", 21, False)]
    flagged = records[0]["results"][2]
    assert (flagged["status"], flagged["flag"]) == ("pass", "known issue passes: remove known_issue")


def test_bad_input_exits_2_one_line_per_problem(tmp_path, capsys):
    d = yaml.safe_load(BASE.read_text(encoding="utf-8"))
    d["duration_s"] = -5
    d["criteria"] = [{"detect": "cyber_bruteforce", "within_s": 60, "colour": "red"}]
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(d, sort_keys=False), encoding="utf-8")
    rc = main(["check", str(bad), str(tmp_path / "nowhere.yaml"), "--out", str(tmp_path / "runs")])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2
    assert err[0] == f"error: {tmp_path / 'nowhere.yaml'}: no such file or folder"
    assert len(err) == 4 and all(line.startswith(f"error: {bad}:") for line in err[1:])
    assert any("duration_s" in line for line in err) and any("colour" in line for line in err)
    assert not (tmp_path / "runs").exists()
    (tmp_path / "broken.yaml").write_text("name: [unclosed\n", encoding="utf-8")
    assert main(["check", str(tmp_path / "broken.yaml")]) == 2
    assert capsys.readouterr().err.startswith(f"error: {tmp_path / 'broken.yaml'}:")


def test_run_prints_the_criteria_table_and_still_exits_0(tmp_path, capsys):
    path = _scenario(tmp_path / "sc", "bf-run", [{"detect": "cyber_bruteforce", "within_s": 0.5}])
    assert main(["run", str(path), "--out", str(tmp_path / "run")]) == 0
    out = capsys.readouterr().out.splitlines()
    at = out.index("criteria: 0 pass, 0 acceptable, 1 fail, 0 known failure")
    assert out[at + 1].split() == ["criterion", "actual", "expected", "status"]
    assert out[at + 2].split()[:4] == ["detect", "cyber_bruteforce", "within_s", "0.5"]
    assert out[at + 2].split()[-3:] == ["<=", "0.5", "fail"]
    doc = json.loads((tmp_path / "run" / "criteria.json").read_text())
    assert doc["passed"] is False and doc["results"][0]["first_violation_t"] > 20.5
