"""Exports written by a second process: the bytes of in-process writing; nothing left on abort or error."""

from __future__ import annotations

import filecmp
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import psutil
import pytest
from _corridor import corridor

from analytics.frames import mot_rows
from analytics.mot import load_mot
from scenarios.engine import run_scenario
from sensors.camera.group import CameraTruth
from sensors.export.bus import Bus, Message
from sensors.export.process import ExportError, ExportProcess
from sensors.export.setup import EXPORT_PROCESS_MIN_FRAMES, exports_mode

ROOT = Path(__file__).resolve().parent.parent

SCENARIO = corridor("exp", """\
  acoustic: [{id: m1, at: end}, {id: m2, at: start}]
attacks:
  - {kind: active_assailant, at: end, start_s: 5, approach_m: 1, duration_s: 25, shot_interval_s: 3}
  - {kind: cyber_scan, target: vms, start_s: 5, duration_s: 20}
events:
  - {at_s: 25, sensor: c1, status: frozen}
""")


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


def _wait_for_children(proc: subprocess.Popen, limit_s: float = 120.0) -> list[psutil.Process]:
    """The child processes of ``proc`` once it has one (the run is still going: it fails otherwise)."""
    run = psutil.Process(proc.pid)
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read().decode()
        kids = run.children(recursive=True)
        if kids:
            return kids
        time.sleep(0.1)
    raise AssertionError(f"no export process within {limit_s} s")


def _alive(procs: list[psutil.Process]) -> list[psutil.Process]:
    out = []
    for p in procs:
        try:
            if p.status() != psutil.STATUS_ZOMBIE:   # an orphan that exited, not yet reaped by init
                out.append(p)
        except psutil.NoSuchProcess:
            pass
    return out


def test_a_run_killed_by_sigkill_leaves_no_export_process(tmp_path):
    """The export child used to hold its own copy of the parent's end of the pipe, so it never saw
    end-of-file and outlived a killed run by hours; now it exits with its parent."""
    scenario = ROOT / "scenarios/library/synthetic/bottleneck-evacuation.yaml"
    cmd = [sys.executable, "run_sim.py", "run", str(scenario), "--duration", "100000", "--quiet",
           "--out", str(tmp_path / "run")]
    env = {**os.environ, "TWIN_EXPORTS": "process"}
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    kids: list[psutil.Process] = []
    try:
        kids = _wait_for_children(proc)
        proc.kill()
        proc.wait()
        deadline = time.monotonic() + 10.0
        while _alive(kids) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _alive(kids) == []
    finally:
        proc.kill()
        for k in _alive(kids):
            k.kill()


POOL = """\
import os, signal, sys
import multiprocessing as mp
from concurrent.futures import ProcessPoolExecutor
from sensors.export.process import ExportProcess

def die(out):
    exp = ExportProcess(out, os.path.join(out, "events.jsonl"), with_mot=False)
    with open(os.path.join(out, "child.pid"), "w") as fh:
        fh.write(str(exp._proc.pid))
    os.kill(os.getpid(), signal.SIGKILL)   # as the OOM killer would: no close, no abort

if __name__ == "__main__":
    with ProcessPoolExecutor(1, mp_context=mp.get_context(sys.argv[2])) as pool:
        try:
            pool.submit(die, sys.argv[1]).result(timeout=60)
        except Exception as exc:
            print(type(exc).__name__)
"""


def _kill_survivor(pid_file: Path) -> None:
    """Kill the export child named in ``pid_file`` if it outlived its parent (the test fails then)."""
    try:
        for k in _alive([psutil.Process(int(pid_file.read_text()))]):
            k.kill()
    except (OSError, ValueError, psutil.NoSuchProcess):
        pass


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_a_pool_sees_its_worker_die_though_the_worker_had_an_export_process(tmp_path, method):
    """The orphaned export child also held the pool's handle on the dead worker (its sentinel pipe,
    inherited), so the pool never saw the worker die and waited for ever."""
    script = tmp_path / "pool.py"
    script.write_text(POOL)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    try:
        out = subprocess.run([sys.executable, str(script), str(tmp_path), method], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=120)
    finally:
        _kill_survivor(tmp_path / "child.pid")
    assert out.stdout.strip() == "BrokenProcessPool", out.stderr
    assert not (tmp_path / "events.jsonl").exists()
