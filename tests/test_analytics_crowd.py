"""Crowd density (Fruin level of service), over-capacity from counters, density jump and counter-flow."""

from __future__ import annotations

import numpy as np
import pytest

from analytics.crowd import CrowdAnomalyDetector, CrowdDensityDetector, fruin_level

ZONE = {"square": [[0, 0], [10, 0], [10, 10], [0, 10]]}  # 100 m²


def test_fruin_levels_at_bounds() -> None:
    d = np.array([0.0, 0.31, 0.3101, 0.43, 0.72, 1.08, 1.5, 2.17, 2.18])
    assert fruin_level(d).tolist() == ["A", "A", "B", "B", "C", "D", "E", "E", "F"]


def crowd_frame(t: float, n: int, rng, cam: str = "c1", vel=None) -> dict:
    """n people at random places (fresh ids each frame, so no motion), or the given positions ``vel``."""
    xy = rng.uniform(0.5, 9.5, (n, 2)) if vel is None else vel
    ids = [f"{cam}:{t}:{i}" for i in range(n)] if vel is None else [f"{cam}:{i}" for i in range(len(xy))]
    return {
        "t": t,
        "topic": "track/frame",
        "camera_id": cam,
        "ids": ids,
        "cls": ["person"] * len(xy),
        "xy": xy,
    }


def test_density_alert_when_level_e_holds() -> None:
    """50 people in 100 m² (level C) is quiet; 150 (1.5 P/m², level E) alerts once after 10 s."""
    rng = np.random.default_rng(0)
    det = CrowdDensityDetector(ZONE)
    alerts = []
    for k in range(100):
        alerts += det.update(crowd_frame(k * 0.2, 50, rng))
    assert alerts == [] and det.estimates["square"][1] == 50
    for k in range(100, 250):
        alerts += det.update(crowd_frame(k * 0.2, 150, rng))
    assert len(alerts) == 1
    ev = alerts[0]["evidence"]
    assert ev["fruin_level"] == "E" and ev["zone"] == "square" and not ev["over_capacity"]
    # the step is at 20 s; the 5 s average passes 108 people (1.08 P/m²) 2.9 s later, then E holds 10 s
    assert 32.8 <= alerts[0]["t"] <= 33.2


def test_counter_over_capacity() -> None:
    det = CrowdDensityDetector(None)
    msg = {
        "t": 60.0,
        "topic": "counter/area",
        "sensor_id": "ctr1",
        "zone": "gate",
        "area_m2": 400.0,
        "capacity": 300,
        "count": 250,
    }
    assert det.update(msg) == []
    alerts = det.update({**msg, "t": 120.0, "count": 320})
    assert len(alerts) == 1 and alerts[0]["evidence"]["over_capacity"] and alerts[0]["conf"] == 0.9
    assert alerts[0]["evidence"]["density_p_m2"] == pytest.approx(0.8) and det.history[-1] == (
        120.0,
        "gate",
        320,
    )


def test_density_jump_and_counter_flow() -> None:
    rng = np.random.default_rng(1)
    dens = CrowdDensityDetector(ZONE)
    anom = CrowdAnomalyDetector(ZONE, dens)
    alerts = []
    for k in range(200):
        n = 20 if k < 100 else 90  # 0.2 -> 0.9 P/m² at 20 s
        m = crowd_frame(k * 0.2, n, rng)
        dens.update(m)
        alerts += anom.update(m)
    jumps = [a for a in alerts if a["evidence"]["reason"] == "density_jump"]
    # step at 20 s; the 5 s average has risen by 0.5 P/m² (70 people) once 5/7 of it is new frames
    assert len(alerts) == 1 and len(jumps) == 1 and 23.4 <= jumps[0]["t"] <= 23.8
    # counter-flow: 12 people walking east, 6 walking west through the zone
    anom = CrowdAnomalyDetector(ZONE, CrowdDensityDetector(ZONE))
    start = np.column_stack([np.full(18, 1.0), np.linspace(1, 9, 18)])
    vel = np.where(np.arange(18)[:, None] < 12, [[1.2, 0.0]], [[-1.2, 0.0]])
    start[12:, 0] = 9.0
    alerts = []
    for k in range(50):
        alerts += anom.update(crowd_frame(k * 0.2, 0, rng, vel=start + vel * k * 0.2))
    assert [a["evidence"]["reason"] for a in alerts] == ["counter_flow"]
    assert 5.4 <= alerts[0]["t"] <= 5.8  # headings known after 0.5 s, then held 5 s
    assert alerts[0]["evidence"]["against_frac"] == pytest.approx(6 / 18, abs=0.01)
    same = np.zeros_like(vel) + [1.2, 0.0]
    quiet = CrowdAnomalyDetector(ZONE, CrowdDensityDetector(ZONE))
    assert [
        a
        for k in range(50)
        for a in quiet.update(crowd_frame(k * 0.2, 0, rng, vel=start * [0, 1] + 1 + same * k * 0.2))
    ] == []


def _leaving(seconds_to_leave: float) -> list[dict]:
    """40 people stand in the square for 60 s, then leave it one by one, evenly over ``seconds_to_leave``."""
    rng = np.random.default_rng(3)
    frames = []
    for k in range(int((60 + seconds_to_leave + 20) / 0.5)):
        t = k * 0.5
        left = int(np.clip((t - 60) / seconds_to_leave * 40, 0, 40))
        frames.append(crowd_frame(t, 40 - left, rng))
    return frames


@pytest.mark.parametrize(("seconds", "alerts"), [(6.0, 1), (120.0, 0)])
def test_sudden_dispersal_vs_a_crowd_breaking_up(seconds: float, alerts: int) -> None:
    """40 people gone in 6 s is one dispersal anomaly at the zone's centre; the same 40 leaving over two
    minutes (a gathering breaking up) is none."""
    dens = CrowdDensityDetector(ZONE)
    det = CrowdAnomalyDetector(ZONE, dens)
    out = []
    for msg in _leaving(seconds):
        dens.update(msg)
        out += det.update(msg)
    assert len(out) == alerts
    if alerts:
        ev = out[0]["evidence"]
        assert ev["reason"] == "dispersal" and ev["zone"] == "square" and ev["from_people"] == 40
        assert out[0]["xy"] == [5.0, 5.0] and 60 < out[0]["t"] < 70
