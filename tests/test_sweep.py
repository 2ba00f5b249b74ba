"""``run_sim.py sweep``: a 2x2 grid on 2 worker processes gives 4 rows and, resumed, runs nothing new; the
Dask path (a LocalCluster) gives the same rows; lhs/sobol samples keep to their ranges; bad input exits 2
with one line; ``--keep`` removes what it should; a run that raises is recorded as failed and the sweep goes
on. The runs are a tiny Senate Square network (one camera, an SSH brute force from t = 2 s) for 15 s."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from run_sim import main
from scenarios.sweep import SweepParams, plan_sweep, run_sweep
from scenarios.sweep_params import SweepError, parse_param, sample_points
from scenarios.sweep_runs import flatten_numbers, run_key
from scenarios.sweep_sensitivity import eta_squared

TINY = """\
name: sweep-tiny
city: helsinki
bbox: [24.947, 60.1675, 24.9545, 60.1715]
seed: 20
duration_s: 15
start_time: "2026-06-01T06:00:00Z"
sensors:
  cameras:
    list:
      - {id: cam-senate-sw, lonlat: [24.952519, 60.169333], height_m: 6, yaw_deg: 45, fps: 1}
attacks:
  - {kind: cyber_bruteforce, id: vms-ssh, target: vms, start_s: 2, duration_s: 10}
"""
GRID = ["--param", "crowd.population=0,40", "--param", "attacks.0.rate_per_s=1,3"]
TTD = "detection.per_kind.cyber_bruteforce.median_time_to_detect_s"


@pytest.fixture(scope="module")
def twin_cache(tmp_path_factory):
    """One twin cache for the module, filled here once: the worker processes (they inherit the environment)
    read the tiny twin instead of each building it."""
    path = tmp_path_factory.mktemp("twin-cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TWIN_CACHE", str(path))
        from twin import load_twin

        load_twin("helsinki", bbox=[24.947, 60.1675, 24.9545, 60.1715])
        yield path


@pytest.fixture(autouse=True)
def _shared_twin_cache(twin_cache, monkeypatch):
    monkeypatch.setenv("TWIN_CACHE", str(twin_cache))


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("sweep") / "tiny.yaml"
    path.write_text(TINY, encoding="utf-8")
    return path


def _rows(out: Path) -> list[dict]:
    with open(out / "sweep.csv", newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def pool_sweep(tiny, twin_cache, tmp_path_factory):
    out = tmp_path_factory.mktemp("pool") / "sw"
    rc = main(["sweep", str(tiny), *GRID, "--workers", "2", "--out", str(out), "--quiet"])
    return rc, out


def test_grid_2x2_on_2_workers_gives_4_rows(pool_sweep):
    rc, out = pool_sweep
    assert rc == 0
    rows = _rows(out)
    assert len(rows) == 4
    cols = list(rows[0])
    assert cols[:7] == ["run_key", "seed", "crowd.population", "attacks.0.rate_per_s", "status", "error",
                        "wall_s"]
    assert {(r["crowd.population"], r["attacks.0.rate_per_s"]) for r in rows} == {
        ("0", "1"), ("0", "3"), ("40", "1"), ("40", "3")}
    assert all(r["status"] == "passed" and r["seed"] == "20" for r in rows)
    assert all("nan" not in v.lower() for r in rows for v in r.values())
    # 3 password attempts a second are seen sooner than 1 a second
    ttd = {r["attacks.0.rate_per_s"]: float(r[TTD]) for r in rows}
    assert 0 < ttd["3"] < ttd["1"] < 13
    assert sorted(p.name for p in (out / "runs").iterdir()) == sorted(r["run_key"] for r in rows)
    assert all((out / "runs" / r["run_key"] / "metrics.json").exists() for r in rows)


def test_sensitivity_and_plots(pool_sweep):
    _, out = pool_sweep
    with open(out / "sensitivity.csv", newline="", encoding="utf-8") as fh:
        sens = [r for r in csv.DictReader(fh) if r["metric"] == TTD]
    assert [r["param"] for r in sens] == ["attacks.0.rate_per_s", "crowd.population"]
    assert float(sens[0]["eta2"]) > 0.9 and float(sens[0]["spearman"]) < 0
    pngs = list((out / "plots").glob("*.png"))
    assert any(p.name.startswith(TTD) for p in pngs) and len(pngs) <= 16
    assert all(p.read_bytes()[:4] == b"\x89PNG" for p in pngs)


def test_resumed_sweep_runs_nothing_new(pool_sweep, tiny, capsys):
    _, out = pool_sweep
    before = {p.name: p.stat().st_mtime_ns for p in (out / "records").iterdir()}
    capsys.readouterr()
    assert main(["sweep", str(tiny), *GRID, "--workers", "2", "--out", str(out), "--quiet"]) == 0
    assert "4 runs (0 run now, 4 finished before), 0 failed" in capsys.readouterr().out
    assert {p.name: p.stat().st_mtime_ns for p in (out / "records").iterdir()} == before
    assert len(_rows(out)) == 4


def test_dask_local_cluster_gives_the_same_rows(pool_sweep, tiny, tmp_path):
    _, pool_out = pool_sweep
    out = tmp_path / "dask"
    assert main(["sweep", str(tiny), *GRID, "--dask", "local", "--workers", "2", "--out", str(out),
                 "--quiet"]) == 0
    rows = _rows(out)
    assert [{k: v for k, v in r.items() if k != "wall_s"} for r in rows] == [
        {k: v for k, v in r.items() if k != "wall_s"} for r in _rows(pool_out)]


def test_lhs_and_sobol_give_n_points_within_ranges(tiny, tmp_path):
    params = ["crowd.population=10:50", "attacks.0.rate_per_s=0.5:2.5", "sensors.conditions.light=day,night"]
    sc, _, tasks = plan_sweep(tiny, params, out=tmp_path, p=SweepParams(sample="lhs", n=7, seeds=2))
    points = [t.point for t in tasks[::2]]
    assert len(tasks) == 14 and [t.seed for t in tasks[:2]] == [20, 21]
    pop = [p["crowd.population"] for p in points]
    rate = np.array([p["attacks.0.rate_per_s"] for p in points])
    assert all(isinstance(v, int) and 10 <= v <= 50 for v in pop)
    assert ((rate >= 0.5) & (rate <= 2.5)).all()
    # Latin hypercube: exactly one point in each of the 7 equal strata of a range
    assert sorted(np.floor((rate - 0.5) / 2.0 * 7).astype(int)) == list(range(7))
    assert {p["sensors.conditions.light"] for p in points} == {"day", "night"}
    assert tasks[0].scenario.data["crowd"]["population"] == pop[0]
    sob = sample_points([parse_param(x) for x in params[:2]], sample="sobol", n=8, seed=20)
    assert len(sob) == 8
    assert all(10 <= p["crowd.population"] <= 50 and 0.5 <= p["attacks.0.rate_per_s"] <= 2.5 for p in sob)
    assert sob == sample_points([parse_param(x) for x in params[:2]], sample="sobol", n=8, seed=20)
    assert not tmp_path.joinpath("sweep.json").exists()   # planning writes nothing


@pytest.mark.parametrize("args, says", [
    (["--param", "crowd.populace=1,2"], "--param crowd.populace: the scenario has no 'crowd.populace'"),
    (["--param", "crowd.population=5,-1"], "--param crowd.population=-1: crowd.population: must be >= 0"),
    (["--param", "attacks.0.rate_per_s=0.5:2"], "--param attacks.0.rate_per_s: a range 0.5:2"),
    (["--param", "attacks.3.start_s=1,2"], "--param attacks.3.start_s: the scenario has no 'attacks.3'"),
    (["--param", "crowd.population=1,2", "--keep", "some"], "--keep: must be one of none, failed, all"),
    (["--param", "seed=1,2"], "--param seed: seeds are set by --seeds"),
])
def test_bad_input_exits_2_with_one_line(tiny, tmp_path, capsys, args, says):
    assert main(["sweep", str(tiny), *args, "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: " + says), err
    assert not (tmp_path / "o").exists()


def test_keep_none_leaves_no_run_folder_but_the_rows(tiny, tmp_path):
    p = SweepParams(keep="none", progress=False)
    assert run_sweep(tiny, ["attacks.0.rate_per_s=1"], out=tmp_path, p=p).ran == 1
    # a wider grid runs only the new point
    res = run_sweep(tiny, ["attacks.0.rate_per_s=1,2"], out=tmp_path, p=p)
    assert (res.ran, res.skipped, len(res.records)) == (1, 1, 2)
    assert list((tmp_path / "runs").iterdir()) == []
    rows = _rows(tmp_path)
    assert len(rows) == 2 and all(float(r[TTD]) > 0 for r in rows)


def test_a_run_that_raises_is_recorded_failed_and_the_sweep_goes_on(tiny, tmp_path, capsys):
    assert main(["sweep", str(tiny), "--param", "attacks.0.target=vms,no-such-host", "--keep", "failed",
                 "--out", str(tmp_path), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "2 runs (2 run now, 0 finished before), 1 failed" in out
    rows = {r["attacks.0.target"]: r for r in _rows(tmp_path)}
    assert rows["vms"]["status"] == "passed" and rows["no-such-host"]["status"] == "error"
    assert "no-such-host" in rows["no-such-host"]["error"] and "\n" not in rows["no-such-host"]["error"]
    assert rows["no-such-host"][TTD] == ""
    # keep failed: only the failed run's folder (with its traceback) is left
    assert [p.name for p in (tmp_path / "runs").iterdir()] == [rows["no-such-host"]["run_key"]]
    assert (tmp_path / "runs" / rows["no-such-host"]["run_key"] / "error.txt").exists()


def test_another_scenario_into_the_same_folder_is_refused(pool_sweep, tiny):
    _, out = pool_sweep
    with pytest.raises(SweepError, match="another scenario or duration"):
        run_sweep(tiny, ["crowd.population=0"], out=out, p=SweepParams(duration_s=5.0, progress=False))


def test_helpers():
    assert run_key({"a": 1, "b": 2}, 3) == run_key({"b": 2, "a": 1}, 3) != run_key({"a": 1, "b": 2}, 4)
    assert len(run_key({}, 0)) == 12
    nested = {"a": {"b": [1, {"c": 2.5}], "d": "x", "e": None, "f": True, "g": float("nan")}}
    assert flatten_numbers(nested) == {"a.b.0": 1, "a.b.1.c": 2.5, "a.f": 1}
    y = np.array([1.0, 3.0, 5.0, 7.0])
    # groups {1,3} and {5,7}: between 2*(2-4)^2 + 2*(6-4)^2 = 16 of total 20
    assert eta_squared(y, np.array([0, 0, 1, 1])) == pytest.approx(0.8)
    assert eta_squared(np.ones(4), np.array([0, 0, 1, 1])) == 0.0


def test_a_run_whose_criteria_fail_is_failed_and_its_counts_are_columns(tiny, tmp_path, monkeypatch):
    """criteria.json (written by the engine's criteria stage) decides passed/failed and gives the counts."""
    import json

    import scenarios.engine
    from scenarios.sweep_runs import RunTask, run_one
    from scenarios.sweep_table import write_csv

    def fake_run(sc, *, seed, out, duration_s, quiet):
        out.mkdir(parents=True)
        (out / "metrics.json").write_text(json.dumps({"detection": {"false_alarms_per_hour": 12.5}}))
        passed = seed == 1
        counts = {"pass": 2, "acceptable": 0, "fail": 0 if passed else 1, "known_failure": 0}
        (out / "criteria.json").write_text(json.dumps({"passed": passed, "counts": counts, "results": []}))

    monkeypatch.setattr(scenarios.engine, "run_scenario", fake_run)
    recs = [run_one(RunTask(key=f"k{seed}", seed=seed, point={"a": seed}, scenario=None, out=str(tmp_path),
                            keep="failed")) for seed in (1, 2)]
    assert [r["status"] for r in recs] == ["passed", "failed"]
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["k2"]
    cols = write_csv(tmp_path / "sweep.csv", recs, ["a"])
    assert cols[-5:] == ["detection.false_alarms_per_hour", "criteria.pass", "criteria.acceptable",
                         "criteria.fail", "criteria.known_failure"]
    rows = _rows(tmp_path)
    assert [r["criteria.fail"] for r in rows] == ["0", "1"]
    assert rows[0]["detection.false_alarms_per_hour"] == "12.5"


def test_sensitivity_bins_sampled_ranges():
    """Each sampled point has its own values: grouped by value every parameter would explain everything."""
    from scenarios.sweep_sensitivity import SensitivityParams, sensitivity

    rng = np.random.default_rng(3)
    a, b = rng.permutation(16) / 16, rng.permutation(16) / 16   # a Latin square of 16 points
    rows = [{"a": float(x), "b": float(z), "m": 10 * x + 0.5 * z} for x, z in zip(a, b, strict=True)]
    ranked = sensitivity(rows, ["a", "b"], ["m"], sampled={"a", "b"})
    assert [e.param for e in ranked] == ["a", "b"]
    assert ranked[0].eta2 > 0.8 > 0.5 > ranked[1].eta2 and ranked[0].spearman > 0.9
    by_value = sensitivity(rows, ["a", "b"], ["m"], p=SensitivityParams(bins=16))   # what binning avoids
    assert [e.eta2 for e in by_value] == [1.0, 1.0]
