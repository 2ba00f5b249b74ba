"""JUnit XML of a ``check``: one test suite per scenario, one test case per criterion and seed.

The common JUnit schema (as CI servers read it): ``testsuites`` (name, tests, failures, errors, skipped,
time) > ``testsuite`` (same attributes) > ``testcase`` (classname = the scenario's name, name = the
criterion's name and the seed, time) holding ``failure`` (message = actual against expected) for a failed
criterion or ``skipped`` (message = ``known issue: ...``) for a known failure. A golden-run comparison is one
more test case per seed, ``golden [seed N]``, failing with the short diff.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from pathlib import Path

__all__ = ["junit_xml", "write_junit"]


def _case(suite: ET.Element, classname: str, name: str, time_s: float) -> ET.Element:
    return ET.SubElement(suite, "testcase", classname=classname, name=name, time=f"{time_s:.3f}")


def _suite_cases(suite: ET.Element, name: str, records: list[dict]) -> dict[str, int]:
    counts = {"tests": 0, "failures": 0, "skipped": 0}
    for rec in records:
        results = rec.get("results") or []
        share = float(rec.get("wall_s") or 0.0) / max(len(results), 1)
        for r in results:
            case = _case(suite, name, f"{r['name']} [seed {rec['seed']}]", share)
            counts["tests"] += 1
            if r["status"] == "fail":
                counts["failures"] += 1
                ET.SubElement(case, "failure", message=r["message"], type="criterion").text = (
                    f"{r['name']} ({r['subject']}): {r['message']}; first violation at t = "
                    f"{r['first_violation_t']} s; evidence: {', '.join(r['evidence']) or 'none'}")
            elif r["status"] == "known_failure":
                counts["skipped"] += 1
                ET.SubElement(case, "skipped", message=f"known issue: {r['known_issue']}").text = r["message"]
        gold = rec.get("golden")
        if gold is not None:
            case = _case(suite, name, f"golden [seed {rec['seed']}]", 0.0)
            counts["tests"] += 1
            if gold["diff"]:
                counts["failures"] += 1
                ET.SubElement(case, "failure", message=gold["diff"][0], type="golden").text = \
                    "\n".join(gold["diff"])
    return counts


def junit_xml(records: list[dict], *, name: str = "check") -> ET.ElementTree:
    """The JUnit document of ``check``'s run records (``scenarios.check``)."""
    root = ET.Element("testsuites", name=name)
    by_scenario: dict[str, list[dict]] = {}
    for rec in records:
        by_scenario.setdefault(rec["name"], []).append(rec)
    total = {"tests": 0, "failures": 0, "skipped": 0}
    wall = 0.0
    for scen, recs in by_scenario.items():
        suite = ET.SubElement(root, "testsuite", name=scen)
        counts = _suite_cases(suite, scen, recs)
        t = sum(float(r.get("wall_s") or 0.0) for r in recs)
        wall += t
        suite.attrib.update({k: str(v) for k, v in counts.items()} | {"errors": "0", "time": f"{t:.3f}"})
        for k, v in counts.items():
            total[k] += v
    root.attrib.update({k: str(v) for k, v in total.items()} | {"errors": "0", "time": f"{wall:.3f}"})
    return ET.ElementTree(root)


def write_junit(path: str | os.PathLike, records: list[dict], *, name: str = "check") -> Path:
    """Write the JUnit XML of ``records`` to ``path`` (UTF-8, with an XML declaration)."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    tree = junit_xml(records, name=name)
    ET.indent(tree)
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    tree.write(tmp, encoding="utf-8", xml_declaration=True)
    os.replace(tmp, out)
    return out
