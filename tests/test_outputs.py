"""The scenario's ``outputs:`` (sensors.export.outputs): each form of a run's camera data scores and replays
the same; the defaults keep what scoring and replay need; bad values are one-line errors."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest
from _corridor import corridor

import run_sim
from analytics.events import iter_jsonl
from analytics.frames import iter_run, mot_rows
from analytics.mot import load_mot
from scenarios.engine import run_scenario
from scenarios.schema import ScenarioError, parse_scenario
from sensors.export.outputs import LEGACY, OutputParams

SCENARIO = corridor("out", """\
  acoustic: [{id: m1, at: end}]
attacks:
  - {kind: bag_leaver, at: start, start_s: 1, approach_m: 1, place_s: 2, remove_after_s: 15}
  - {kind: cyber_dos, target: vms, start_s: 20, duration_s: 10}
""")
FORMS = {"text": "{mot: all, camera_frames: all, frames: none}", "default": "",
         "gzip": "{mot: all, camera_frames: all, frames: parquet, compress: gzip}", "c2": "{mot: [c2]}"}
KINDS = (("det", "det/det.txt"), ("gt", "gt/gt.txt"), ("track", "track/track.txt"))


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("outputs")
    out = {}
    for name, outputs in FORMS.items():
        sc = parse_scenario(SCENARIO + (f"outputs: {outputs}\n" if outputs else ""), filename="out.yaml")
        out[name] = run_scenario(sc, out=root / name, quiet=True).out_dir
    return out


def _files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_each_form_writes_what_it_says(runs):
    cams = [f"sensors/cameras/{c}/{k}" for c in ("c1", "c2") for k in ("det/det.txt", "gt/gt.txt",
                                                                       "seqinfo.ini", "track/track.txt")]
    tables = [f"sensors/frames/{t}.parquet" for t in ("det", "frames", "gt", "track")]
    text, default, gz, c2 = (set(_files(runs[k])) for k in ("text", "default", "gzip", "c2"))
    assert set(cams) <= text and not [f for f in text if f.startswith("sensors/frames")]
    assert set(tables) <= default and not [f for f in default if f.startswith("sensors/cameras")]
    assert {f + ".gz" if f.endswith(".txt") else f for f in cams} | set(tables) <= gz
    assert "events.jsonl.gz" in gz and "events.jsonl" not in gz
    assert {f for f in c2 if f.startswith("sensors/cameras")} == {f for f in cams if "/c2/" in f}
    resolved = parse_scenario((runs["default"] / "scenario.yaml").read_text(), filename="scenario.yaml")
    assert resolved.outputs() == OutputParams() and resolved.data["outputs"]["frames"] == "parquet"


def test_every_form_scores_the_same(runs):
    want = json.loads((runs["text"] / "metrics.json").read_text())
    assert want["detection"]["tracking"]["c1"]["tracks"] == "online"
    assert want["detection"]["tracking"]["c1"]["num_misses"] > 0
    for name in ("default", "gzip", "c2"):
        assert json.loads((runs[name] / "metrics.json").read_text()) == want, name
        for f in ("ground_truth.jsonl", "alerts.jsonl", "crowd_density.csv", "density_estimates.csv"):
            assert (runs[name] / f).read_bytes() == (runs["text"] / f).read_bytes(), (name, f)


def test_every_form_replays_the_same_messages(runs):
    full = list(iter_jsonl(runs["text"] / "events.jsonl"))
    frames = [m for m in full if m["topic"] == "camera/frame"]
    assert len(frames) > 100 and any(m["detections"] for m in frames)
    without = list(iter_jsonl(runs["default"] / "events.jsonl"))
    assert without == [m for m in full if m["topic"] != "camera/frame"]
    assert {m["topic"] for m in without} >= {"camera/calibration", "camera/health", "analytics/alert"}
    for name in ("default", "gzip", "c2"):
        assert list(iter_run(runs[name])) == full, name
    text = gzip.decompress((runs["gzip"] / "events.jsonl.gz").read_bytes())
    assert text == (runs["text"] / "events.jsonl").read_bytes()


def test_tables_hold_the_rows_of_the_mot_text(runs):
    counts = dict.fromkeys(("det", "gt", "track"), 0)
    for cam in ("c1", "c2"):
        for kind, rel in KINDS:
            path = runs["text"] / "sensors" / "cameras" / cam / rel
            want = load_mot(path) if path.stat().st_size else np.empty((0, 10))
            assert np.array_equal(mot_rows(runs["default"], kind, cam), want), (cam, kind)
            packed = runs["gzip"] / "sensors" / "cameras" / cam / (rel + ".gz")
            assert gzip.decompress(packed.read_bytes()) == path.read_bytes()
            counts[kind] += len(want)
    assert counts["gt"] > 1000 and counts["det"] > 500 and counts["track"] > 300


def test_analyze_run_dir_gives_the_alerts_of_the_full_events(runs, tmp_path, capsys):
    assert run_sim.main(["analyze", "--events", str(runs["text"] / "events.jsonl"),
                         "--out", str(tmp_path / "full.jsonl")]) == 0
    assert run_sim.main(["analyze", str(runs["default"]), "--out", str(tmp_path / "tables.jsonl")]) == 0
    assert run_sim.main(["analyze", str(runs["gzip"]), "--out", str(tmp_path / "gz.jsonl")]) == 0
    full = (tmp_path / "full.jsonl").read_text()
    assert full.count("\n") >= 2
    assert (tmp_path / "tables.jsonl").read_text() == full == (tmp_path / "gz.jsonl").read_text()
    capsys.readouterr()
    assert run_sim.main(["analyze", str(tmp_path / "nothing")]) == 2
    assert "nothing/events.jsonl: no such file" in capsys.readouterr().err


def test_bad_outputs_are_one_line_errors_with_file_line_and_field(tmp_path):
    for bad, want in (("{camera_frames: full}",
                       "outputs.camera_frames: must be one of all, none; got 'full'"),
                      ("{mot: 3}", "outputs.mot: must be all, none or a list of camera ids, got a number 3"),
                      ("{compress: zstd}", "outputs.compress: must be one of none, gzip; got 'zstd'"),
                      ("{frames: csv}", "outputs.frames: must be one of parquet, none; got 'csv'")):
        with pytest.raises(ScenarioError) as ei:
            parse_scenario(SCENARIO + f"outputs: {bad}\n", filename="s.yaml")
        assert ei.value.problems == [f"s.yaml:15: {want}"]
    f = tmp_path / "s.yaml"
    f.write_text(SCENARIO + "outputs:\n  mot: [c1, cam-9]\n")
    with pytest.raises(ScenarioError) as ei:
        run_scenario(f, out=tmp_path / "run", quiet=True)
    assert ei.value.problems == [f"{f}:16: outputs.mot[1]: no camera 'cam-9' in this run"]
    assert not (tmp_path / "run").exists()


def test_output_params():
    assert OutputParams().mot_cameras() == frozenset() and LEGACY.mot_cameras() is None
    assert OutputParams(mot=("a", "b")).mot_cameras() == {"a", "b"}
    assert OutputParams(compress="gzip").events_name == "events.jsonl.gz"
    assert LEGACY.events_name == "events.jsonl"
