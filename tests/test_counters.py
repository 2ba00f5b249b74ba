"""Crowd counters: known crossings give exact in/out counts with error off; zone counts; error and faults."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from _physical_sensors import people

from agents.world import Targets, WorldView
from sensors.base import SensorError
from sensors.counters import AreaCounter, LineCounter


def drive(counter, frames: list[Targets], dt: float = 1.0) -> list[dict]:
    out = []
    for k, tg in enumerate(frames):
        out += [p for _, p in counter.measure(WorldView(k * dt, tg))]
    return out


def walkers(n_north: int, n_south: int, n_miss: int, steps: int = 10) -> list[Targets]:
    """People walking north or south across y = 0 between x = 0 and 10, and some passing beside it."""
    frames = []
    for k in range(steps):
        y = -5.0 + k * 1.2            # crosses y = 0 between k = 4 and k = 5
        xy = ([[1.0 + 0.5 * i, y] for i in range(n_north)] + [[1.0 + 0.5 * i, -y] for i in range(n_south)]
              + [[20.0 + i, y] for i in range(n_miss)])
        frames.append(people(xy))
    return frames


def test_known_crossings_give_exact_in_out_counts_without_error():
    c = LineCounter("l1", (0.0, 0.0), (10.0, 0.0), rng=np.random.default_rng(0), report_s=5.0, error=False)
    msgs = drive(c, walkers(7, 3, 4))
    assert [m["t"] for m in msgs] == [5.0]   # report at t0 + 5 s
    assert msgs[0]["count_in"] == 7 and msgs[0]["count_out"] == 3   # west->east line: northwards is "in"
    assert (c.true_in, c.true_out) == (7, 3)


def test_reversed_line_swaps_in_and_out_and_counts_reset_each_report():
    c = LineCounter("l2", (10.0, 0.0), (0.0, 0.0), rng=np.random.default_rng(0), report_s=3.0, error=False)
    msgs = drive(c, walkers(5, 2, 0, steps=10))
    assert [(m["t"], m["count_in"], m["count_out"]) for m in msgs] == [(3.0, 0, 0), (6.0, 2, 5), (9.0, 0, 0)]


def test_counting_error_misses_about_three_percent():
    c = LineCounter("l3", (0.0, 0.0), (2000.0, 0.0), rng=np.random.default_rng(1), report_s=9.0,
                    max_step_m=30.0)
    frames = [people(np.column_stack([np.linspace(1, 1999, 4000), np.full(4000, -5.0 + 1.2 * k)]))
              for k in range(10)]
    got = drive(c, frames)[0]["count_in"]
    assert c.true_in == 4000
    expect = 4000 * 0.97 * 1.01
    assert abs(got - expect) < 4 * np.sqrt(4000 * 0.04)


def test_area_counter_counts_people_in_zone():
    zone = shapely.box(0, 0, 10, 10)
    c = AreaCounter("a1", zone, rng=np.random.default_rng(0), zone_name="Square", capacity=300, error=False)
    tg = people([[1, 1], [5, 5], [9.9, 9.9], [11, 5], [-1, -1]])
    (topic, p), = c.measure(WorldView(60.0, tg))
    assert topic == "counter/area"
    assert p == {"sensor_id": "a1", "t": 60.0, "count": 3, "area_m2": 100.0, "capacity": 300,
                 "zone": "Square"}


def test_area_counter_error_is_about_five_percent():
    zone = shapely.box(0, 0, 100, 100)
    rng = np.random.default_rng(3)
    c = AreaCounter("a2", zone, rng=rng, zone_name="Z")
    tg = people(rng.uniform(0, 100, (1000, 2)))
    counts = np.array([c.measure(WorldView(k * 60.0, tg))[0][1]["count"] for k in range(200)])
    assert abs(counts.mean() - 1000) < 10 and 35 < counts.std() < 65


def test_faults_and_bad_config():
    zone = shapely.box(0, 0, 10, 10)
    c = AreaCounter("a3", zone, rng=np.random.default_rng(0), error=False)
    assert c.measure(WorldView(0.0, people([[1, 1]])))[0][1]["count"] == 1
    c.set_status("frozen")
    assert c.measure(WorldView(60.0, people([[1, 1], [2, 2]])))[0][1]["count"] == 1
    c.set_status("offline")
    assert c.measure(WorldView(120.0, people([[1, 1]]))) == []
    with pytest.raises(SensorError, match="counter x: line"):
        LineCounter("x", (0, 0), (0, 0), rng=np.random.default_rng(0))
    with pytest.raises(SensorError, match="no area"):
        AreaCounter("y", shapely.Point(0, 0), rng=np.random.default_rng(0), zone_name="pt")
