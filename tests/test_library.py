"""Every shipped scenario (``scenarios/library/**/*.yaml``) is valid and runs, shortened, to a run folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scenarios.engine import run_scenario
from scenarios.schema import load_scenario

LIBRARY = Path(__file__).resolve().parent.parent / "scenarios" / "library"
SCENARIOS = sorted(LIBRARY.rglob("*.yaml"))
SMOKE_S = 10.0


def test_the_library_has_the_default_scenario():
    assert LIBRARY / "helsinki" / "default.yaml" in SCENARIOS and len(SCENARIOS) >= 5


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: str(p.relative_to(LIBRARY)))
def test_scenario_runs(path, tmp_path):
    sc = load_scenario(path)
    assert sc.data["duration_s"] >= 60 and sc.name
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
