"""The built-in look-alikes together: registered in a fixed order, on by default, each settable and checked
through the scenario, every record they make tagged with their key, the same seed giving the same world, and
their persons counted in the density truth."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from agents.lookalikes import LOOKALIKE_KINDS
from agents.lookalikes.base import Lookalike
from scenarios.engine import run_scenario
from scenarios.schema import ScenarioError, parse_scenario

KEYS = ("road_traffic", "cyclists", "joggers", "stop_waiting", "street_vendors", "luggage",
        "street_furniture", "sounds", "concert_exit")
#: record kinds only look-alikes make
OWN_KINDS = {"left", "kerb_stop", "kerb_stop_end", "waiting", "boarded", "pitch_set_up", "pitch_packed_up",
             "furniture", "furniture_placed", "furniture_removed", "stepped_away", "came_back", "sound",
             "concert_exit"}
SENATE = [24.947, 60.1675, 24.9545, 60.1715]


def test_the_built_in_kinds_in_their_order():
    assert tuple(LOOKALIKE_KINDS)[: len(KEYS)] == KEYS
    ranks = [LOOKALIKE_KINDS[k].rank for k in KEYS]
    assert ranks == sorted(ranks) and all(issubclass(LOOKALIKE_KINDS[k], Lookalike) for k in KEYS)


def test_on_by_default_and_settable():
    sc = parse_scenario("city: helsinki\n", filename="s.yaml")
    specs = sc.lookalikes()
    assert all(specs[k].enabled for k in KEYS)
    sc = parse_scenario("city: helsinki\nlookalikes:\n  joggers: {enabled: false, per_km: 2}\n",
                        filename="s.yaml")
    assert not sc.lookalikes()["joggers"].enabled and sc.lookalikes()["joggers"].per_km == 2


@pytest.mark.parametrize("block, message", [
    ("road_traffic: {van_share: 0.7, bus_share: 0.5}", "van_share + bus_share must be at most 1"),
    ("cyclists: {speed_range: [6, 4]}",
     "lookalikes.cyclists.speed_range: must be [low, high] with low <= high"),
    ("stop_waiting: {approach_m: [1, 2, 3]}", "lookalikes.stop_waiting.approach_m: must be [low, high]"),
    ("luggage: {site_shares: [0, 0, 0]}", "at least one share must be positive"),
    ("sounds: {door_slam_per_km2_h: -1}", "lookalikes.sounds.door_slam_per_km2_h"),
    ("concert_exit: {lonlat: [500, 60]}", "lookalikes.concert_exit.lonlat"),
    ("fireworks: {}", "lookalikes.fireworks"),
])
def test_bad_blocks_are_reported_with_their_line(block, message):
    text = f"city: helsinki\nlookalikes:\n  {block}\n"
    with pytest.raises(ScenarioError) as e:
        parse_scenario(text, filename="s.yaml")
    assert "s.yaml:3" in str(e.value) and message in str(e.value)


def _quiet(tmp_path: Path, seed: int = 2, **looks) -> Path:
    data = {"name": "lookalikes-test", "city": "helsinki", "bbox": SENATE, "seed": seed, "duration_s": 120,
            "crowd": {"population": 100},
            "lookalikes": {"concert_exit": {"at_s": 30, "people": 80, "egress_s": 30},
                           "luggage": {"per_km2_h": 200}, "street_vendors": {"per_hectare": 5},
                           "sounds": {"door_slam_per_km2_h": 3000}, **looks}}
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / f"s{seed}.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return run_scenario(path, out=tmp_path / f"run{seed}", quiet=True, analytics=False, metrics=False).out_dir


def _truth(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "ground_truth.jsonl").read_text().splitlines()]


def test_a_run_holds_every_kind_and_tags_its_records(tmp_path):
    run = _quiet(tmp_path)
    truth = _truth(run)
    keys = {r.get("lookalike") for r in truth}
    assert set(KEYS) <= keys
    assert all(r.get("lookalike") in KEYS for r in truth if r["kind"] in OWN_KINDS)
    assert all(r.get("lookalike") for r in truth if isinstance(r["id"], int) and r["id"] >= 1_000_000_000)
    resolved = yaml.safe_load((run / "scenario.yaml").read_text())
    assert set(resolved["lookalikes"]) >= set(KEYS)
    again = _quiet(tmp_path / "again")
    assert (again / "ground_truth.jsonl").read_bytes() == (run / "ground_truth.jsonl").read_bytes()


def test_disabled_kinds_stay_out(tmp_path):
    off = {k: {"enabled": False} for k in KEYS}
    run = _quiet(tmp_path, **off)
    assert not any(r.get("lookalike") for r in _truth(run))


def test_density_truth_counts_lookalike_persons(tmp_path, helsinki):
    import numpy as np

    from agents.crowd import Crowd
    from agents.model import CityModel
    from tests._lookalikes import params

    crowd = Crowd(helsinki, rng=np.random.default_rng(2))
    model = CityModel(helsinki, rng=np.random.default_rng(1), crowd=crowd)
    look = LOOKALIKE_KINDS["street_vendors"](model, params("street_vendors", per_hectare=20.0),
                                             rng=np.random.default_rng(3))
    look.start(0.0)
    model.lookalikes.append(look)
    zones = {a.id: a.polygon for a in helsinki.assets if a.type == "square" and a.polygon is not None}
    assert sum(model.crowd.counts_in(zones).values()) == 0
    assert sum(model.counts_in(zones).values()) >= 0.5 * len([r for r in model.drain_truth()
                                                               if r["kind"] == "pitch_set_up"])


def test_timed_paths_positions_and_pruning():
    import numpy as np

    from agents.lookalikes.paths import TimedPaths, visit
    from agents.world import PERSON

    tp = TimedPaths(PERSON)
    xy, times = visit(np.array([[0.0, 0.0], [10.0, 0.0]]), (10.0, 0.0), 10.0, 20.0,
                      np.array([[10.0, 0.0], [10.0, 5.0]]), 1.0)
    tp.add(7, xy, times, height=1.7, width=0.5)
    tp.add(8, [[0.0, 0.0], [0.0, 1.0]], [0.0, 1.0], height=1.7, width=0.5)
    assert list(tp.targets(0.0).ids) == [7, 8]
    for t, want, v in [(5.0, (5.0, 0.0), 1.0), (15.0, (10.0, 0.0), 0.0), (22.0, (10.0, 2.0), 1.0)]:
        tg = tp.targets(t)
        assert list(tg.ids) == [7] and np.allclose(tg.xy[0], want) and np.isclose(tg.speed[0], v)
        tp.prune(t)
    assert len(tp) == 1 and len(tp.targets(25.1)) == 0
    with pytest.raises(ValueError):
        tp.add(9, [[0.0, 0.0]], [0.0], height=1.7, width=0.5)
