"""Exports written by a second process: the bytes of in-process writing; nothing left on abort or error."""

from __future__ import annotations

import filecmp
from pathlib import Path

import numpy as np
import pytest

from analytics.frames import mot_rows
from analytics.mot import load_mot
from scenarios.engine import run_scenario
from sensors.camera.group import CameraTruth
from sensors.export.bus import Bus, Message
from sensors.export.process import ExportError, ExportProcess
from sensors.export.setup import EXPORT_PROCESS_MIN_FRAMES, exports_mode

SCENARIO = """\
name: exp
city: {synthetic: {kind: corridor, length_m: 60, width_m: 4}}
duration_s: 40
crowd:
  flows:
    - {from: start, to: end, people: 40, depart_s: [0, 10]}
    - {from: end, to: start, people: 20, depart_s: [0, 10]}
sensors:
  cameras:
    list: [{id: c1, at: start, yaw_deg: 90, height_m: 5, fps: 5}, {id: c2, at: end, yaw_deg: 270, fps: 2}]
  acoustic: [{id: m1, at: end}, {id: m2, at: start}]
attacks:
  - {kind: active_assailant, at: end, start_s: 5, approach_m: 1, duration_s: 25, shot_interval_s: 3}
  - {kind: cyber_scan, target: vms, start_s: 5, duration_s: 20}
events:
  - {at_s: 25, sensor: c1, status: frozen}
"""


def _files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


@pytest.mark.parametrize("outputs", [
    "", "outputs: {mot: [c1], camera_frames: all, frames: none, compress: gzip}",
    "outputs: {mot: all, camera_frames: all, frames: parquet}"])
def test_process_and_inline_exports_are_byte_identical(tmp_path, monkeypatch, outputs):
    """Both honour the scenario's ``outputs:`` (the defaults; some cameras' MOT text, gzip; everything)."""
    f = tmp_path / "exp.yaml"
    f.write_text(SCENARIO + outputs + "\n")
    runs = {}
    for mode in ("inline", "process"):
        monkeypatch.setenv("TWIN_EXPORTS", mode)
        runs[mode] = run_scenario(f, out=tmp_path / mode, quiet=True).out_dir
    a, b = runs["inline"], runs["process"]
    assert _files(a) == _files(b)
    names = _files(a)
    if "gzip" in outputs:
        assert "events.jsonl.gz" in names and "sensors/cameras/c1/gt/gt.txt.gz" in names
        assert not [n for n in names if n.startswith(("sensors/cameras/c2", "sensors/frames"))]
        gt = load_mot(a / "sensors/cameras/c1/gt/gt.txt.gz")
    else:
        assert "events.jsonl" in names and "sensors/frames/gt.parquet" in names
        assert ("sensors/cameras/c2/gt/gt.txt" in names) == ("mot: all" in outputs)
        gt = mot_rows(a, "gt", "c1")
    assert len(gt) > 200  # the cameras really saw people
    for name in names:
        assert filecmp.cmp(a / name, b / name, shallow=False), name


def _frame(t: float, frame: int) -> Message:
    det = [{"bbox": [10.0, 20.5, 30.0, 60.25], "cls": "person", "conf": 0.9}]
    return Message(t, "camera/frame", {"camera_id": "c9", "t": t, "frame": frame, "detections": det})


def test_close_writes_files_and_counts_lines(tmp_path):
    exp = ExportProcess(tmp_path, tmp_path / "events.jsonl", with_mot=True)
    bus = Bus()
    exp.subscribe(bus)
    for k in range(1, 601):  # more than one batch
        box = np.array([[11.0, 21.0, 29.0, 59.0]])
        truth = CameraTruth(np.array([7]), box, np.array([1]), np.array([0.8]))
        exp.truth("c9", k, k / 5, truth)
        bus.publish(k / 5, "camera/frame", _frame(k / 5, k).payload)
    paths = exp.close()
    assert exp.lines == 600
    assert len((tmp_path / "events.jsonl").read_text().splitlines()) == 600
    gt = (tmp_path / "sensors/cameras/c9/gt/gt.txt").read_text().splitlines()
    det = (tmp_path / "sensors/cameras/c9/det/det.txt").read_text().splitlines()
    assert gt[0] == "1,7,11,21,29,59,1,1,0.800" and len(gt) == 600
    assert det[-1] == "600,-1,10,20.5,30,60.25,0.900,-1,-1,-1"
    assert tmp_path / "events.jsonl" in paths


def test_abort_leaves_no_files(tmp_path):
    exp = ExportProcess(tmp_path, tmp_path / "events.jsonl", with_mot=True)
    for k in range(1, 400):
        exp.write(_frame(k / 5, k))
    exp.abort()
    assert _files(tmp_path) == []  # not even the hidden temporary files


def test_an_error_in_the_child_is_raised_at_close_and_nothing_is_written(tmp_path):
    exp = ExportProcess(tmp_path, tmp_path / "events.jsonl", with_mot=False)
    exp.write(Message(1.0, "x/y", {"ok": 1}))
    exp.write(Message(2.0, "x/y", {"bad": {1, 2}}))  # a set is not JSON
    with pytest.raises(ExportError, match="not JSON serialisable: set"):
        exp.close()
    assert not (tmp_path / "events.jsonl").exists()


def test_exports_mode(monkeypatch):
    monkeypatch.delenv("TWIN_EXPORTS", raising=False)
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    assert exports_mode(EXPORT_PROCESS_MIN_FRAMES) == "process"
    assert exports_mode(EXPORT_PROCESS_MIN_FRAMES - 1) == "inline"
    monkeypatch.setattr("os.cpu_count", lambda: 1)
    assert exports_mode(1e9) == "inline"
    monkeypatch.setenv("TWIN_EXPORTS", "process")
    assert exports_mode(0) == "process"
    monkeypatch.setenv("TWIN_EXPORTS", "inline")
    assert exports_mode(1e9) == "inline"
