"""Acoustic sensors: arrival = distance / 343 within the jitter, level falls with distance, far mics miss; the
classifier's scores follow the documented per-class distributions, overlap between shots and look-alikes, and
are shared by the microphones hearing one impulse."""

from __future__ import annotations

import numpy as np
import pytest

from agents.world import IMPULSE_CLASSES, Impulse, Targets, WorldView
from sensors.acoustic import (
    EVENT_SD,
    MIC_SD,
    P_ABOVE_HALF,
    SPEED_OF_SOUND,
    ImpulseSignatures,
    Microphone,
    mean_logits,
    received_level_db,
)
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
        assert set(p) == {"sensor_id", "t_arrival", "level_db", "scores", "xy"}
        assert set(p["scores"]) == {"gunshot", "explosion"} and all(0 < v < 1 for v in p["scores"].values())


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


def _logit(p):
    p = np.clip(np.asarray(p, float), 1e-9, 1 - 1e-9)
    return np.log(p / (1 - p))


@pytest.mark.parametrize("cls", IMPULSE_CLASSES)
def test_score_distribution_per_class_is_the_documented_one(cls):
    """At high SNR P(score > 0.5) is P_ABOVE_HALF[cls] and the logits have the documented mean and spread."""
    m = Microphone("m", (20.0, 0.0), rng=np.random.default_rng(3), threshold_db=40.0)
    imps = [Impulse(t=float(k), xy=(0.0, 0.0), cls=cls, level_db=170.0) for k in range(3000)]
    dets = m.hear(imps)
    assert len(dets) == 3000
    for j, name in enumerate(("gunshot", "explosion")):
        s = np.array([d["scores"][name] for d in dets])
        assert abs((s > 0.5).mean() - P_ABOVE_HALF[cls][j]) < 0.025, (cls, name, (s > 0.5).mean())
        z = _logit(s)
        assert abs(np.median(z) - mean_logits(cls)[j]) < 0.15
        assert abs(z.std() - np.hypot(EVENT_SD, MIC_SD)) < 0.15


def test_shots_and_look_alikes_overlap():
    """Some fireworks and backfires score like shots, some shots score like look-alikes."""
    m = Microphone("m", (30.0, 0.0), rng=np.random.default_rng(4))
    score = {c: np.array([d["scores"]["gunshot"] for d in m.hear(
        [Impulse(float(k), (0.0, 0.0), c, 165.0) for k in range(2000)])]) for c in ("gunshot", "fireworks",
                                                                                  "backfire")}
    q10 = np.quantile(score["gunshot"], 0.10)
    assert 0.15 < (score["fireworks"] > q10).mean() < 0.45 and 0.05 < (score["backfire"] > q10).mean() < 0.3
    assert (score["gunshot"] < np.quantile(score["fireworks"], 0.9)).mean() > 0.02


def test_microphones_hearing_one_impulse_share_its_signature_and_low_snr_blurs_it():
    """Two near microphones differ only by their own noise (sd MIC_SD each); one heard 1.4 dB above its
    threshold adds about 1.7 logits of its own."""
    sig = ImpulseSignatures(np.random.default_rng(5))
    kw = {"signatures": sig, "level_sigma_db": 0.0}
    near1, near2 = (Microphone(f"n{k}", (30.0, 10.0 * k), rng=np.random.default_rng(k), **kw) for k in (1, 2))
    far = Microphone("far", (900.0, 0.0), rng=np.random.default_rng(3), threshold_db=95.0, **kw)
    imps = [Impulse(float(k), (0.0, 0.0), "backfire", 160.0, id=f"b{k}") for k in range(1500)]
    z1, z2, zf = (_logit([d["scores"]["gunshot"] for d in m.hear(imps)]) for m in (near1, near2, far))
    assert len(z1) == len(z2) == len(zf) == 1500
    assert np.corrcoef(z1, z2)[0, 1] > 0.85                      # one sound, heard alike by both
    assert abs((z1 - z2).std() - np.sqrt(2) * MIC_SD) < 0.1
    assert (zf - z1).std() > 1.5                                 # near its threshold: less reliable
    lone = Microphone("x", (30.0, 0.0), rng=np.random.default_rng(0)).hear(imps)   # its own signatures
    assert abs(np.corrcoef(z1, _logit([d["scores"]["gunshot"] for d in lone]))[0, 1]) < 0.2


def test_an_unknown_impulse_class_is_heard_as_a_generic_impulse():
    m = Microphone("m", (10.0, 0.0), rng=np.random.default_rng(6))
    dets = m.hear([Impulse(float(k), (0.0, 0.0), "balloon_pop", 140.0) for k in range(2000)])
    assert len(dets) == 2000
    assert abs(np.mean([d["scores"]["gunshot"] > 0.5 for d in dets]) - P_ABOVE_HALF["other"][0]) < 0.02


def test_offline_microphone_reports_nothing_and_bad_input_raises():
    m = Microphone("m", (10.0, 0.0), rng=np.random.default_rng(0))
    m.set_status("offline")
    assert run(m, [Impulse(0.0, (0.0, 0.0), "gunshot", 150.0)], 3.0) == []
    with pytest.raises(SensorError, match="microphone x: xy"):
        Microphone("x", (float("nan"), 0.0), rng=np.random.default_rng(0))
