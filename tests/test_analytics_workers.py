"""The analytics shared out over worker processes: the in-process alerts, for any number of workers; no
worker outlives its parent."""

from __future__ import annotations

import filecmp
import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from _corridor import corridor

import scenarios.alerting
from analytics.params import AnalyticsParams
from analytics.partition import Partition, PartitionParams, Placement, bundles, camera_groups
from analytics.pipeline import AnalyticsPipeline
from analytics.worker_process import AnalyticsWorkerError
from analytics.workers import WorkerPipeline, WorkersError
from scenarios.engine import run_scenario
from scenarios.schema import ScenarioError, parse_scenario

ROOT = Path(__file__).resolve().parent.parent

#: Two cameras 400 m apart (two camera groups), two microphones, a shooter, a loiterer, a port scan.
LONG = """\
name: long
city: {synthetic: {kind: corridor, length_m: 400, width_m: 6}}
duration_s: 40
crowd:
  flows:
    - {from: start, to: end, people: 40, depart_s: [0, 10]}
    - {from: end, to: start, people: 40, depart_s: [0, 10]}
sensors:
  cameras:
    list: [{id: c1, at: start, yaw_deg: 90, height_m: 5, fps: 5}, {id: c2, at: end, yaw_deg: 270, fps: 2}]
  acoustic: [{id: m1, at: end}, {id: m2, at: start}]
attacks:
  - {kind: active_assailant, at: end, start_s: 5, approach_m: 1, duration_s: 25, shot_interval_s: 3}
  - {kind: loiterer, at: start, start_s: 0, dwell_s: 30, approach_m: 5}
  - {kind: cyber_scan, target: vms, start_s: 5, duration_s: 20}
analytics:
  loitering: {dwell_s: 10}
"""
#: The 60 m corridor: both cameras see the same people (one camera group), a frozen camera.
SHORT = corridor("short", """\
  acoustic: [{id: m1, at: end}, {id: m2, at: start}]
attacks:
  - {kind: active_assailant, at: end, start_s: 5, approach_m: 1, duration_s: 25, shot_interval_s: 3}
  - {kind: cyber_scan, target: vms, start_s: 5, duration_s: 20}
events:
  - {at_s: 25, sensor: c1, status: frozen}
""")


def _record(text: str, tmp: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[dict, list[tuple], Path]:
    """Run a scenario in process; the pipeline's arguments and every call the run made on it."""
    calls: list[tuple] = []
    made: dict = {}

    class Recorder(AnalyticsPipeline):
        def __init__(self, **kw):
            made.update(kw)
            super().__init__(**kw)

        def push(self, msg):
            calls.append(("push", pickle.dumps(msg)))
            return super().push(msg)

        def drain(self):
            calls.append(("drain",))
            return super().drain()

    monkeypatch.setattr(scenarios.alerting, "AnalyticsPipeline", Recorder)
    path = tmp / "scenario.yaml"
    path.write_text(text)
    out = run_scenario(path, out=tmp / "run", quiet=True).out_dir
    monkeypatch.undo()
    made.pop("batch_frames")
    return made, calls, out


@pytest.fixture(scope="module")
def long_run(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        return _record(LONG, tmp_path_factory.mktemp("long"), mp)


@pytest.fixture(scope="module")
def short_run(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        return _record(SHORT, tmp_path_factory.mktemp("short"), mp)


def _replay(made: dict, calls: list[tuple], workers: int, **kw) -> dict:
    """The alerts (and the rest a run keeps) of the recorded stream, in process or over workers."""
    pipe = (AnalyticsPipeline(batch_frames=True, **made) if workers == 0
            else WorkerPipeline(workers=workers, **made, **kw))
    per_call = [pipe.push(pickle.loads(call[1])) if call[0] == "push" else pipe.drain() for call in calls]
    per_call.append(pipe.flush())
    out = {"alerts": [a for got in per_call for a in got], "per_call": [len(got) for got in per_call],
           "errors": pipe.error_report(), "density": pipe.density_history(),
           "detections": pipe.tracks.detections,
           "tracks": {c: pipe.tracks.mot_rows(c).tolist() for c in pipe.tracks.camera_ids}}
    if workers:
        out["groups"] = [sorted(g.cameras) for g in pipe.partition.groups]
        pipe.close()
        assert all(c is not None and c > 0 for c in pipe.worker_cpu_s)
    return out


@pytest.mark.parametrize("run", ["long_run", "short_run"])
def test_workers_give_the_in_process_alerts_for_1_2_and_3_workers(run, request):
    """The long corridor's stream without its crowd zones (the corridor is one zone, which both cameras see):
    two camera groups; the short one's: one group, whose units the workers share."""
    made, calls, _ = request.getfixturevalue(run)
    if run == "long_run":
        made = {**made, "zones": None}
    ref = _replay(made, calls, 0)
    kinds = {a["kind"] for a in ref["alerts"]}
    assert {"gunshot", "port_scan"} <= kinds and len(ref["alerts"]) >= 9
    assert ref["detections"] > 1000 and sum(len(r) for r in ref["tracks"].values()) > 500
    calls_ref = ref.pop("per_call")
    for n in (1, 2, 3):
        got = _replay(made, calls, n)
        assert got.pop("groups") == ([["c1"], ["c2"]] if run == "long_run" else [["c1", "c2"]])
        assert got.pop("per_call") != calls_ref                # the alerts come with the drains
        assert got == ref, n
    eager = _replay(made, calls, 2, eager=True)               # each alert from the call that made it
    eager.pop("groups")
    assert eager.pop("per_call") == calls_ref and eager == ref


def test_groups_cut_too_small_still_agree_for_any_number_of_workers(short_run):
    """Views 10 m deep (and no crowd zone) cut the short corridor's two cameras apart, though both see its
    people: the alerts may differ from in process, never between 1, 2 and 3 workers."""
    made, calls, _ = short_run
    made = {**made, "zones": None}
    small = PartitionParams(reach_m=10.0, couple_m=0.0)
    runs = [_replay(made, calls, n, partition=small) for n in (1, 2, 3)]
    for r in runs:
        r.pop("per_call")
    assert runs[0]["groups"] == [["c1"], ["c2"]] and len(runs[0]["alerts"]) >= 9
    assert runs[0] == runs[1] == runs[2]


def test_a_run_with_analytics_workers_writes_the_in_process_files(long_run, tmp_path):
    _, _, ref = long_run
    f = tmp_path / "w.yaml"
    f.write_text(LONG.replace("analytics:\n", "analytics:\n  workers: 2\n"))
    out = run_scenario(f, out=tmp_path / "run", quiet=True).out_dir
    names = sorted(str(p.relative_to(ref)) for p in ref.rglob("*") if p.is_file())
    assert names == sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert {"alerts.jsonl", "events.jsonl", "analytics.json", "sensors/frames/track.parquet"} <= set(names)
    for name in names:
        if name != "scenario.yaml":                        # which says analytics.workers: 2
            assert filecmp.cmp(ref / name, out / name, shallow=False), name
    assert len((out / "alerts.jsonl").read_text().splitlines()) == 42


@pytest.mark.parametrize("value", ["-1", "two", "1.5", "true", "100"])
def test_a_bad_workers_value_is_one_schema_line(value):
    with pytest.raises(ScenarioError) as err:
        parse_scenario(LONG.replace("analytics:\n", f"analytics:\n  workers: {value}\n"), filename="s.yaml")
    assert len(err.value.problems) == 1 and "\n" not in str(err.value)
    assert str(err.value).startswith("s.yaml:17: analytics.workers: must be")


def test_workers_default_to_the_in_process_pipeline():
    sc = parse_scenario(LONG)
    assert sc.analytics_workers() == 0 and "workers" not in sc.data["analytics"]
    sc = parse_scenario(LONG.replace("analytics:\n", "analytics:\n  workers: 3\n"))
    assert sc.analytics_workers() == 3 and sc.analytics() == parse_scenario(LONG).analytics()
    with pytest.raises(WorkersError, match="must be a whole number >= 1, got 0"):
        WorkerPipeline(workers=0)


def test_camera_groups_link_near_views_and_shared_zones():
    cams = [{"camera_id": "a", "xy": [0.0, 0.0]}, {"camera_id": "b", "xy": [340.0, 0.0]},
            {"camera_id": "c", "xy": [1000.0, 0.0]}, {"camera_id": "d", "xy": [1500.0, 0.0]},
            {"camera_id": "e"}]
    groups, zones = camera_groups(cams, {}, reach_m=150.0, couple_m=50.0)
    assert groups == [["a", "b"], ["c"], ["d"], ["e"]]        # 340 m <= 2 x 150 + 50; 500 m is not
    square = {"sq": [[1100.0, -10.0], [1400.0, -10.0], [1400.0, 10.0], [1100.0, 10.0]]}
    groups, zones = camera_groups(cams, square, reach_m=150.0, couple_m=50.0)
    assert groups == [["a", "b"], ["c", "d"], ["e"]] and zones == [[], ["sq"], []]


def test_units_do_not_depend_on_the_workers_and_a_big_group_is_spread():
    found, radius = bundles(AnalyticsParams())
    assert radius == 50.0                                      # the vehicle detector's episode radius
    assert ("density", "crowd_anomaly") in [b.names for b in found]
    cams = [{"camera_id": f"k{i}", "xy": [10.0 * i, 0.0]} for i in range(20)]
    cams.append({"camera_id": "far", "xy": [5000.0, 0.0]})
    units = {}
    for n in (1, 2, 4):
        part = Partition(found, couple_m=radius)
        made = part.start(cams) + part.global_units
        units[n] = made
        place = Placement(n)
        place.place(part, made[:-len(part.global_units)], spread=True)
        place.place(part, part.global_units)
        assert sorted(place.host) == sorted(u.index for u in made) == list(range(len(part.units)))
        if n > 1:
            assert len(place.hosts(part.camera_group["k0"])) == n  # the 20 cameras: on every worker
            assert place.hosts(part.camera_group["far"]) == [place.home[part.camera_group["far"]]]
    assert units[1] == units[2] == units[4]


def test_a_worker_that_dies_is_an_error(short_run):
    made, calls, _ = short_run
    pipe = WorkerPipeline(workers=2, **made)
    try:
        for call in calls[:200]:
            if call[0] == "push":
                pipe.push(pickle.loads(call[1]))
        pipe.drain()
        os.kill(pipe.workers[1].pid, signal.SIGKILL)
        pipe.workers[1].proc.join(5)
        for call in calls[200:]:
            if call[0] == "push":
                pipe.push(pickle.loads(call[1]))
        with pytest.raises(AnalyticsWorkerError, match="analytics worker 1 died"):
            pipe.drain()
    finally:
        pipe.kill()


ORPHAN = """\
import sys, threading, time
from analytics.workers import WorkerPipeline

PIPES = []    # kept: a pipeline that is collected closes its pipes, and its workers then exit anyway


def start():
    PIPES.append(WorkerPipeline(workers=2))
    print(" ".join(str(w.pid) for w in PIPES[0].workers), flush=True)

if sys.argv[1] == "thread":    # no parent-death signal then: the workers watch their parent themselves
    t = threading.Thread(target=start)
    t.start()
    t.join()
else:
    start()
time.sleep(600)
"""


def _alive(pids: list[int]) -> list[int]:
    out = []
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                out.append(pid)
        except psutil.NoSuchProcess:
            pass
    return out


@pytest.mark.parametrize("started_in", ["main", "thread"])
def test_workers_exit_when_their_parent_is_killed(tmp_path, started_in):
    script = tmp_path / "parent.py"
    script.write_text(ORPHAN)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, str(script), started_in], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    pids: list[int] = []
    try:
        pids = [int(p) for p in proc.stdout.readline().split()]
        assert len(pids) == 2
        time.sleep(1.5)                          # the workers wait for work, checking on their parent
        assert _alive(pids) == pids
        proc.kill()
        proc.wait()
        deadline = time.monotonic() + 10.0
        while _alive(pids) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _alive(pids) == []
    finally:
        proc.kill()
        for pid in _alive(pids):
            os.kill(pid, signal.SIGKILL)
