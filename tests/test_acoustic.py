"""Acoustic sensors: arrival = distance / 343 within the jitter, level falls with distance, far mics miss."""

from __future__ import annotations

import numpy as np
import pytest

from agents.world import Impulse, Targets, WorldView
from sensors.acoustic import CONFUSION, SPEED_OF_SOUND, Microphone, received_level_db
from sensors.base import SensorError


def mics(distances, seed=0, **kw):
    return [Microphone(f"m{k}", (d, 0.0), rng=np.random.default_rng(seed + k), **kw)
            for k, d in enumerate(distances)]


def run(mic: Microphone, impulses: list[Impulse], t_end: float, dt: float = 1.0) -> list[tuple[float, dict]]:
    """Drive a microphone like the engine: impulses are handed over in the first view after they happen."""
    out, t, todo = [], 0.0, sorted(impulses, key=lambda i: i.t)
    while t <= t_end + 1e-9:
        now = [i for i in todo if i.t <= t]
        todo = [i for i in todo if i.t > t]
        for topic, p in mic.measure(WorldView(t, Targets.empty(), now)):
            if topic == "acoustic/detection":
                out.append((t, p))
        t = round(t + dt, 9)
    return out


def test_arrival_times_match_distance_over_343_within_jitter():
    dists = [50.0, 200.0, 400.0, 700.0]
    shot = Impulse(t=10.3, xy=(0.0, 0.0), cls="gunshot", level_db=150.0)
    for m, d in zip(mics(dists), dists, strict=True):
        got = run(m, [shot], 15.0)
        assert len(got) == 1
        t_pub, p = got[0]
        assert abs(p["t_arrival"] - (10.3 + d / SPEED_OF_SOUND)) < 4 * 0.001
        assert t_pub >= p["t_arrival"] and t_pub - p["t_arrival"] < 1.0     # at/after arrival, promptly
        assert set(p) == {"sensor_id", "t_arrival", "cls", "conf", "level_db", "xy"}


def test_jitter_sigma_is_one_millisecond():
    m = Microphone("m", (300.0, 0.0), rng=np.random.default_rng(1), level_sigma_db=0.0)
    shots = [Impulse(t=float(k), xy=(0.0, 0.0), cls="explosion", level_db=170.0) for k in range(400)]
    err = np.array([p["t_arrival"] - round(p["t_arrival"] - 300 / SPEED_OF_SOUND) - 300 / SPEED_OF_SOUND
                    for p in m.hear(shots)])
    assert len(err) == 400 and abs(err.mean()) < 2e-4 and 0.0008 < err.std() < 0.0012


def test_levels_fall_with_distance_and_far_microphones_miss():
    dists = [20.0, 100.0, 400.0, 900.0, 3000.0]
    shot = Impulse(t=0.5, xy=(0.0, 0.0), cls="gunshot", level_db=150.0)
    levels = []
    for m in mics(dists, level_sigma_db=0.0):
        got = run(m, [shot], 12.0)
        levels.append(got[0][1]["level_db"] if got else None)
    assert levels[-1] is None                                # 150 - 69.5 - 15 = 65.5 dB < 85 dB threshold
    assert levels[0] > levels[1] > levels[2] > levels[3] > 85.0
    assert levels[1] == pytest.approx(float(received_level_db(150.0, 100.0)), abs=0.01)   # 150 - 40 - 0.5


def test_detections_wait_until_their_arrival():
    """A shot 1 km away at t=0 reaches the mic at ~2.92 s: nothing before, published at t = 3 s."""
    m = Microphone("m", (1000.0, 0.0), rng=np.random.default_rng(0), threshold_db=60.0)
    shot = Impulse(t=0.0, xy=(0.0, 0.0), cls="gunshot", level_db=150.0)
    got = run(m, [shot], 6.0)
    assert len(got) == 1 and got[0][0] == 3.0 and 2.0 < got[0][1]["t_arrival"] <= 3.0


def test_fireworks_are_sometimes_called_gunshots_with_lower_confidence():
    m = Microphone("m", (50.0, 0.0), rng=np.random.default_rng(2))
    fw = [Impulse(t=float(k), xy=(0.0, 0.0), cls="fireworks", level_db=140.0) for k in range(1000)]
    dets = m.hear(fw)
    called = np.array([d["cls"] == "gunshot" for d in dets])
    assert abs(called.mean() - CONFUSION[2, 0]) < 0.05
    conf = np.array([d["conf"] for d in dets])
    assert conf[called].mean() < conf[~called].mean() - 0.2


def test_offline_microphone_reports_nothing_and_bad_input_raises():
    m = Microphone("m", (10.0, 0.0), rng=np.random.default_rng(0))
    m.set_status("offline")
    assert run(m, [Impulse(0.0, (0.0, 0.0), "gunshot", 150.0)], 3.0) == []
    with pytest.raises(SensorError, match="microphone x: xy"):
        Microphone("x", (float("nan"), 0.0), rng=np.random.default_rng(0))
